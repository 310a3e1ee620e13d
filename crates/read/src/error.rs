//! Why a slice of the read side could not be answered.

use stravasync_core::json::FieldError;
use stravasync_core::ports::StoreError;

/// Why a slice could not be answered. The API maps each to a status; the CLI to its exit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// The request is wrong; the error names the field.
    #[error(transparent)]
    Bad(#[from] FieldError),
    /// Nothing of that name is stored for this athlete.
    #[error("{0}")]
    NotFound(String),
    /// The store could not be read (`what`: which read).
    #[error("{what} unavailable: {error}")]
    Unavailable { what: &'static str, error: StoreError },
    /// A stored item does not decode.
    #[error("{0}")]
    Damaged(String),
    /// The change was made from a version someone has since changed (the athlete's words).
    #[error("{0}")]
    Conflict(String),
}
