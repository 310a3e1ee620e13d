//! Classifies SDK errors into the ports' "try again later" and "rejected" kinds.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Error codes that mean "back off and retry", whatever the service.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "InternalError",
];

/// `(transient, description)` of an SDK error.
pub(crate) fn classify<E, R>(err: &SdkError<E, R>) -> (bool, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = DisplayErrorContext(err).to_string();
    match err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            (TRANSIENT_CODES.contains(&code), text)
        }
        SdkError::ConstructionFailure(_) => (false, text),
        _ => (true, text),
    }
}

/// A vault's view of an SDK failure: transient or not, with the SDK's message (which
/// never holds a secret's value: values travel in request and response bodies only).
pub(crate) fn vault_error<E, R>(err: SdkError<E, R>) -> stravasync_core::ports::VaultError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use stravasync_core::ports::VaultError;
    match classify(&err) {
        (true, text) => VaultError::Unavailable(text),
        (false, text) => VaultError::Rejected(text),
    }
}
