//! The gRPC surface: tonic service implementations only. Requests become
//! calls on the domain handles; typed errors become `tonic::Status` here
//! and nowhere else.

mod admin;
mod apis;
mod async_invocation;
mod buckets;
mod events;
mod functions;
mod iam;
mod layers;
mod logs;
mod metrics;
mod permissions;
mod topics;
mod urls;

pub use admin::AdminService;
pub use apis::ApisService;
pub use async_invocation::AsyncService;
pub use buckets::BucketsService;
pub use events::{ClockService, EventsService};
pub use functions::FunctionsService;
pub use iam::{IamService, StsService};
pub use layers::LayersService;
pub use logs::LogsService;
pub use metrics::MetricsService;
pub use permissions::PermissionsService;
pub use topics::TopicsService;
pub use urls::FunctionUrlsService;

use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::error::Error;

/// The metadata key that carries the AWS error name, as Lambda's
/// `x-amzn-ErrorType` header.
pub const ERROR_TYPE_KEY: &str = "x-amzn-errortype";
/// A throttle's Reason (`ConcurrentInvocationLimitExceeded`, ...).
pub const REASON_KEY: &str = "x-amzn-reason";
/// Seconds to wait before retrying a throttled call.
pub const RETRY_AFTER_KEY: &str = "retry-after";

/// The largest message the server accepts: room for a 50 MB component or
/// a payload over the 6 MB limit (which gets a named error, not a
/// transport error).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        use tonic::Code;
        let code = match &err {
            Error::InvalidParameterValue(_)
            | Error::InvalidRequestContent(_)
            | Error::RequestTooLarge(_)
            | Error::PolicyLengthExceeded(_)
            | Error::InvalidBucketName(_)
            | Error::InvalidArgument(_)
            | Error::InvalidParameter(_)
            | Error::BatchRequest(..)
            | Error::Validation(_)
            | Error::BadRequest(_)
            | Error::MalformedPolicyDocument(_) => Code::InvalidArgument,
            Error::ResourceConflict(_)
            | Error::Conflict(_)
            | Error::BucketAlreadyOwnedByYou(_)
            | Error::EntityAlreadyExists(_) => Code::AlreadyExists,
            Error::PreconditionFailed(_)
            | Error::BucketNotEmpty(_)
            | Error::DeleteConflict(_)
            | Error::UnmodifiableEntity(_) => Code::FailedPrecondition,
            Error::MissingAuthenticationToken(_) | Error::UnrecognizedClient(_) => {
                Code::Unauthenticated
            }
            Error::AccessDenied(_) => Code::PermissionDenied,
            Error::ResourceNotFound(_)
            | Error::ProvisionedConcurrencyConfigNotFound(_)
            | Error::NoSuchBucket(_)
            | Error::NoSuchKey(_)
            | Error::NotFound(_)
            | Error::NoSuchEntity(_) => Code::NotFound,
            Error::Throttled { .. }
            | Error::LimitExceeded(_)
            | Error::Throttling(_)
            | Error::QuotaExceeded(..) => Code::ResourceExhausted,
            Error::Service(_) => Code::Internal,
            Error::ShuttingDown(_) => Code::Unavailable,
        };
        if code == Code::Internal {
            tracing::error!(cause = %err, "request failed");
        }
        let mut status = Status::new(code, err.to_string());
        status
            .metadata_mut()
            .insert(ERROR_TYPE_KEY, MetadataValue::from_static(err.aws_name()));
        if let Error::Throttled {
            reason,
            retry_after_seconds,
        } = &err
        {
            let metadata = status.metadata_mut();
            metadata.insert(REASON_KEY, MetadataValue::from_static(reason));
            metadata.insert(RETRY_AFTER_KEY, MetadataValue::from(*retry_after_seconds));
        }
        status
    }
}
