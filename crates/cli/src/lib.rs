//! The `stravasync` command line: the library half, so tests and benchmarks call the
//! same code as the binary.

pub mod demo;
pub mod local;
pub mod metrics_report;
pub mod pmc_csv;

/// An error caused by the input (a file, a flag, a value): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        InputError(message.into())
    }
}

/// Reads a file; a missing or unreadable file is an input error naming the path.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|e| InputError(format!("{}: {e}", path.display())))
}
