//! The errors a caller of the function API can get, each carrying the AWS
//! error name that Lambda gives the same mistake. `api/` turns them into
//! `tonic::Status` (and nothing else builds a Status).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of range or malformed, or the code is not a
    /// component of our world.
    #[error("InvalidParameterValueException: {0}")]
    InvalidParameterValue(String),
    /// The payload is not JSON.
    #[error("InvalidRequestContentException: {0}")]
    InvalidRequestContent(String),
    #[error("ResourceConflictException: {0}")]
    ResourceConflict(String),
    /// A condition the caller set (a code hash, a revision) no longer holds.
    #[error("PreconditionFailedException: {0}")]
    PreconditionFailed(String),
    #[error("ResourceNotFoundException: {0}")]
    ResourceNotFound(String),
    #[error("ProvisionedConcurrencyConfigNotFoundException: {0}")]
    ProvisionedConcurrencyConfigNotFound(String),
    #[error("RequestTooLargeException: {0}")]
    RequestTooLarge(String),
    /// A concurrency limit was reached: Lambda's throttle, with its Reason.
    #[error(
        "TooManyRequestsException: Rate Exceeded. (Reason: {reason}, retryAfterSeconds: {retry_after_seconds})"
    )]
    Throttled {
        reason: &'static str,
        retry_after_seconds: u32,
    },
    /// Something broke on our side; the message says what.
    #[error("ServiceException: {0}")]
    Service(String),
    /// The server stopped the call because it is shutting down.
    #[error("ServiceException: {0}")]
    ShuttingDown(String),
}

impl Error {
    /// The AWS error name, e.g. `ResourceNotFoundException`.
    pub fn aws_name(&self) -> &'static str {
        match self {
            Error::InvalidParameterValue(_) => "InvalidParameterValueException",
            Error::InvalidRequestContent(_) => "InvalidRequestContentException",
            Error::ResourceConflict(_) => "ResourceConflictException",
            Error::PreconditionFailed(_) => "PreconditionFailedException",
            Error::ResourceNotFound(_) => "ResourceNotFoundException",
            Error::ProvisionedConcurrencyConfigNotFound(_) => {
                "ProvisionedConcurrencyConfigNotFoundException"
            }
            Error::RequestTooLarge(_) => "RequestTooLargeException",
            Error::Throttled { .. } => "TooManyRequestsException",
            Error::Service(_) | Error::ShuttingDown(_) => "ServiceException",
        }
    }

    /// The message without the AWS name.
    pub fn message(&self) -> &str {
        match self {
            Error::Throttled { .. } => "Rate Exceeded.",
            Error::InvalidParameterValue(m)
            | Error::InvalidRequestContent(m)
            | Error::ResourceConflict(m)
            | Error::PreconditionFailed(m)
            | Error::ResourceNotFound(m)
            | Error::ProvisionedConcurrencyConfigNotFound(m)
            | Error::RequestTooLarge(m)
            | Error::Service(m)
            | Error::ShuttingDown(m) => m,
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        Error::Service(err.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
