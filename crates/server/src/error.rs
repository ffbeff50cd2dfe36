//! The errors a caller of the function API can get, each carrying the AWS
//! error name that Lambda gives the same mistake. `api/` turns them into
//! `tonic::Status` (and nothing else builds a Status).

use funnel_store::StoreError;

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
    /// A resource policy would grow past 20 KB.
    #[error("PolicyLengthExceededException: {0}")]
    PolicyLengthExceeded(String),
    /// A concurrency limit was reached: Lambda's throttle, with its Reason.
    #[error(
        "TooManyRequestsException: Rate Exceeded. (Reason: {reason}, retryAfterSeconds: {retry_after_seconds})"
    )]
    Throttled {
        reason: &'static str,
        retry_after_seconds: u32,
    },
    /// S3's errors, for buckets and objects.
    #[error("NoSuchBucket: {0}")]
    NoSuchBucket(String),
    #[error("NoSuchKey: {0}")]
    NoSuchKey(String),
    #[error("BucketNotEmpty: {0}")]
    BucketNotEmpty(String),
    #[error("BucketAlreadyOwnedByYou: {0}")]
    BucketAlreadyOwnedByYou(String),
    #[error("InvalidBucketName: {0}")]
    InvalidBucketName(String),
    /// S3's generic bad-parameter error (e.g. a notification configuration
    /// that does not validate).
    #[error("InvalidArgument: {0}")]
    InvalidArgument(String),
    /// A `Range` that starts past the object's end (HTTP 416).
    #[error("InvalidRange: {0}")]
    InvalidRange(String),
    /// A request body S3 would not parse or accept (a DeleteObjects of no
    /// key or of more than 1000).
    #[error("MalformedXML: {0}")]
    MalformedXml(String),
    /// A request S3 refuses as a whole (a copy of an object onto itself
    /// that changes nothing, a copy source over 5 GiB).
    #[error("InvalidRequest: {0}")]
    InvalidRequest(String),
    /// An object or part over S3's size limit.
    #[error("EntityTooLarge: {0}")]
    EntityTooLarge(String),
    /// An object's user metadata over S3's 2 KB.
    #[error("MetadataTooLarge: {0}")]
    MetadataTooLarge(String),
    /// Multipart uploads: a part but the last under 5 MiB, a listed part
    /// not uploaded (or not with that ETag), parts out of order, an upload
    /// that is not in progress (HTTP 404).
    #[error("EntityTooSmall: {0}")]
    EntityTooSmall(String),
    #[error("InvalidPart: {0}")]
    InvalidPart(String),
    #[error("InvalidPartOrder: {0}")]
    InvalidPartOrder(String),
    #[error("NoSuchUpload: {0}")]
    NoSuchUpload(String),
    /// SNS's errors, for topics and subscriptions.
    #[error("NotFoundException: {0}")]
    NotFound(String),
    #[error("InvalidParameterException: {0}")]
    InvalidParameter(String),
    /// A PublishBatch request as a whole is wrong: SNS's error name
    /// (`TooManyEntriesInBatchRequestException`, ...) and message.
    #[error("{0}: {1}")]
    BatchRequest(&'static str, String),
    /// EventBridge's errors, for rules and targets.
    #[error("ValidationException: {0}")]
    Validation(String),
    #[error("LimitExceededException: {0}")]
    LimitExceeded(String),
    /// An account's quota (`quotas.*`): the service's error name and the
    /// message.
    #[error("{0}: {1}")]
    QuotaExceeded(&'static str, String),
    /// API Gateway's errors, for routes.
    #[error("BadRequestException: {0}")]
    BadRequest(String),
    #[error("ConflictException: {0}")]
    Conflict(String),
    /// IAM's and STS's errors: who the caller is, what it may do, and
    /// users, keys and identity policies.
    #[error("MissingAuthenticationTokenException: {0}")]
    MissingAuthenticationToken(String),
    #[error("UnrecognizedClientException: {0}")]
    UnrecognizedClient(String),
    #[error("AccessDeniedException: {0}")]
    AccessDenied(String),
    #[error("ThrottlingException: {0}")]
    Throttling(String),
    #[error("NoSuchEntityException: {0}")]
    NoSuchEntity(String),
    #[error("EntityAlreadyExistsException: {0}")]
    EntityAlreadyExists(String),
    #[error("DeleteConflictException: {0}")]
    DeleteConflict(String),
    #[error("UnmodifiableEntityException: {0}")]
    UnmodifiableEntity(String),
    #[error("MalformedPolicyDocumentException: {0}")]
    MalformedPolicyDocument(String),
    /// Secrets Manager's and Parameter Store's errors (besides
    /// `ResourceNotFoundException`, `InvalidParameterException` and
    /// `ValidationException`). A secret or parameter of that name exists.
    #[error("ResourceExistsException: {0}")]
    ResourceExists(String),
    /// The secret's state forbids the call (it waits for deletion).
    #[error("InvalidRequestException: {0}")]
    InvalidRequestState(String),
    /// A sealed value did not open (another key, or tampered with).
    #[error("DecryptionFailure: {0}")]
    DecryptionFailure(String),
    #[error("ParameterNotFound: {0}")]
    ParameterNotFound(String),
    #[error("ParameterVersionNotFound: {0}")]
    ParameterVersionNotFound(String),
    #[error("ParameterAlreadyExists: {0}")]
    ParameterAlreadyExists(String),
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
            Error::PolicyLengthExceeded(_) => "PolicyLengthExceededException",
            Error::NoSuchBucket(_) => "NoSuchBucket",
            Error::NoSuchKey(_) => "NoSuchKey",
            Error::BucketNotEmpty(_) => "BucketNotEmpty",
            Error::BucketAlreadyOwnedByYou(_) => "BucketAlreadyOwnedByYou",
            Error::InvalidBucketName(_) => "InvalidBucketName",
            Error::InvalidArgument(_) => "InvalidArgument",
            Error::InvalidRange(_) => "InvalidRange",
            Error::MalformedXml(_) => "MalformedXML",
            Error::InvalidRequest(_) => "InvalidRequest",
            Error::EntityTooLarge(_) => "EntityTooLarge",
            Error::MetadataTooLarge(_) => "MetadataTooLarge",
            Error::EntityTooSmall(_) => "EntityTooSmall",
            Error::InvalidPart(_) => "InvalidPart",
            Error::InvalidPartOrder(_) => "InvalidPartOrder",
            Error::NoSuchUpload(_) => "NoSuchUpload",
            Error::NotFound(_) => "NotFoundException",
            Error::InvalidParameter(_) => "InvalidParameterException",
            Error::BatchRequest(name, _) | Error::QuotaExceeded(name, _) => name,
            Error::Validation(_) => "ValidationException",
            Error::LimitExceeded(_) => "LimitExceededException",
            Error::BadRequest(_) => "BadRequestException",
            Error::Conflict(_) => "ConflictException",
            Error::Throttled { .. } => "TooManyRequestsException",
            Error::MissingAuthenticationToken(_) => "MissingAuthenticationTokenException",
            Error::UnrecognizedClient(_) => "UnrecognizedClientException",
            Error::AccessDenied(_) => "AccessDeniedException",
            Error::Throttling(_) => "ThrottlingException",
            Error::NoSuchEntity(_) => "NoSuchEntityException",
            Error::EntityAlreadyExists(_) => "EntityAlreadyExistsException",
            Error::DeleteConflict(_) => "DeleteConflictException",
            Error::UnmodifiableEntity(_) => "UnmodifiableEntityException",
            Error::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            Error::ResourceExists(_) => "ResourceExistsException",
            Error::InvalidRequestState(_) => "InvalidRequestException",
            Error::DecryptionFailure(_) => "DecryptionFailure",
            Error::ParameterNotFound(_) => "ParameterNotFound",
            Error::ParameterVersionNotFound(_) => "ParameterVersionNotFound",
            Error::ParameterAlreadyExists(_) => "ParameterAlreadyExists",
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
            | Error::PolicyLengthExceeded(m)
            | Error::NoSuchBucket(m)
            | Error::NoSuchKey(m)
            | Error::BucketNotEmpty(m)
            | Error::BucketAlreadyOwnedByYou(m)
            | Error::InvalidBucketName(m)
            | Error::InvalidArgument(m)
            | Error::InvalidRange(m)
            | Error::MalformedXml(m)
            | Error::InvalidRequest(m)
            | Error::EntityTooLarge(m)
            | Error::MetadataTooLarge(m)
            | Error::EntityTooSmall(m)
            | Error::InvalidPart(m)
            | Error::InvalidPartOrder(m)
            | Error::NoSuchUpload(m)
            | Error::NotFound(m)
            | Error::InvalidParameter(m)
            | Error::BatchRequest(_, m)
            | Error::QuotaExceeded(_, m)
            | Error::Validation(m)
            | Error::LimitExceeded(m)
            | Error::BadRequest(m)
            | Error::Conflict(m)
            | Error::MissingAuthenticationToken(m)
            | Error::UnrecognizedClient(m)
            | Error::AccessDenied(m)
            | Error::Throttling(m)
            | Error::NoSuchEntity(m)
            | Error::EntityAlreadyExists(m)
            | Error::DeleteConflict(m)
            | Error::UnmodifiableEntity(m)
            | Error::MalformedPolicyDocument(m)
            | Error::ResourceExists(m)
            | Error::InvalidRequestState(m)
            | Error::DecryptionFailure(m)
            | Error::ParameterNotFound(m)
            | Error::ParameterVersionNotFound(m)
            | Error::ParameterAlreadyExists(m)
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
