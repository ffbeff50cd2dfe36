//! The gRPC surface: tonic service implementations only. Requests become
//! calls on the domain handles; typed errors become `tonic::Status` here
//! and nowhere else.

mod admin;
mod apis;
mod async_invocation;
mod buckets;
mod events;
mod faults;
mod functions;
mod iam;
mod layers;
mod logs;
mod metrics;
mod permissions;
mod recordings;
mod secrets;
mod ssm;
mod topics;
mod traces;
mod urls;

pub use admin::AdminService;
pub use apis::ApisService;
pub use async_invocation::AsyncService;
pub use buckets::BucketsService;
pub use events::{ClockService, EventsService};
pub use faults::FaultsService;
pub use functions::FunctionsService;
pub use iam::{IamService, StsService};
pub use layers::LayersService;
pub use logs::LogsService;
pub use metrics::MetricsService;
pub use permissions::PermissionsService;
pub use recordings::RecordingsService;
pub use secrets::SecretsManagerService;
pub use ssm::SsmService;
pub use topics::TopicsService;
pub use traces::TracesService;
pub use urls::FunctionUrlsService;

use std::sync::Arc;

use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::error::Error;

/// Every gRPC handler, made once: the API port serves them ([`Services::routes`])
/// and the AWS endpoint calls the same instances.
#[derive(Clone)]
pub struct Services {
    pub functions: Arc<FunctionsService>,
    pub layers: Arc<LayersService>,
    pub asynchronous: Arc<AsyncService>,
    pub metrics: Arc<MetricsService>,
    pub permissions: Arc<PermissionsService>,
    pub buckets: Arc<BucketsService>,
    pub topics: Arc<TopicsService>,
    pub events: Arc<EventsService>,
    pub clock: Arc<ClockService>,
    pub iam: Arc<IamService>,
    pub urls: Arc<FunctionUrlsService>,
    pub apis: Arc<ApisService>,
    pub secrets: Arc<SecretsManagerService>,
    pub ssm: Arc<SsmService>,
    pub sts: Arc<StsService>,
    pub admin: Arc<AdminService>,
    pub logs: Arc<LogsService>,
    pub faults: Arc<FaultsService>,
    pub recordings: Arc<RecordingsService>,
    pub traces: Arc<TracesService>,
}

impl Services {
    /// The gRPC routes of every service (health and reflection aside).
    pub fn routes(&self) -> tonic::service::Routes {
        use funnel_proto::v1::{
            admin_server::AdminServer, apis_server::ApisServer,
            async_invocation_server::AsyncInvocationServer, buckets_server::BucketsServer,
            clock_server::ClockServer, events_server::EventsServer, faults_server::FaultsServer,
            function_urls_server::FunctionUrlsServer, functions_server::FunctionsServer,
            iam_server::IamServer, layers_server::LayersServer, logs_server::LogsServer,
            metrics_server::MetricsServer, permissions_server::PermissionsServer,
            sts_server::StsServer, topics_server::TopicsServer,
        };
        use funnel_proto::v1::{
            recordings_server::RecordingsServer, secrets_manager_server::SecretsManagerServer,
            ssm_server::SsmServer, traces_server::TracesServer,
        };
        tonic::service::Routes::new(
            FunctionsServer::from_arc(self.functions.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            LayersServer::from_arc(self.layers.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(AsyncInvocationServer::from_arc(self.asynchronous.clone()))
        .add_service(MetricsServer::from_arc(self.metrics.clone()))
        .add_service(PermissionsServer::from_arc(self.permissions.clone()))
        .add_service(
            BucketsServer::from_arc(self.buckets.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(TopicsServer::from_arc(self.topics.clone()))
        .add_service(EventsServer::from_arc(self.events.clone()))
        .add_service(ClockServer::from_arc(self.clock.clone()))
        .add_service(IamServer::from_arc(self.iam.clone()))
        .add_service(FunctionUrlsServer::from_arc(self.urls.clone()))
        .add_service(ApisServer::from_arc(self.apis.clone()))
        .add_service(SecretsManagerServer::from_arc(self.secrets.clone()))
        .add_service(SsmServer::from_arc(self.ssm.clone()))
        .add_service(StsServer::from_arc(self.sts.clone()))
        .add_service(AdminServer::from_arc(self.admin.clone()))
        .add_service(LogsServer::from_arc(self.logs.clone()))
        .add_service(FaultsServer::from_arc(self.faults.clone()))
        .add_service(
            RecordingsServer::from_arc(self.recordings.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(TracesServer::from_arc(self.traces.clone()))
    }
}

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
            | Error::MalformedXml(_)
            | Error::InvalidRequest(_)
            | Error::EntityTooLarge(_)
            | Error::MetadataTooLarge(_)
            | Error::EntityTooSmall(_)
            | Error::InvalidPart(_)
            | Error::InvalidPartOrder(_)
            | Error::InvalidParameter(_)
            | Error::BatchRequest(..)
            | Error::Validation(_)
            | Error::BadRequest(_)
            | Error::MalformedPolicyDocument(_) => Code::InvalidArgument,
            Error::ResourceConflict(_)
            | Error::Conflict(_)
            | Error::BucketAlreadyOwnedByYou(_)
            | Error::EntityAlreadyExists(_)
            | Error::ResourceExists(_)
            | Error::ParameterAlreadyExists(_) => Code::AlreadyExists,
            Error::PreconditionFailed(_)
            | Error::BucketNotEmpty(_)
            | Error::DeleteConflict(_)
            | Error::UnmodifiableEntity(_)
            | Error::InvalidRequestState(_) => Code::FailedPrecondition,
            Error::MissingAuthenticationToken(_) | Error::UnrecognizedClient(_) => {
                Code::Unauthenticated
            }
            Error::AccessDenied(_) => Code::PermissionDenied,
            Error::InvalidRange(_) => Code::OutOfRange,
            Error::ResourceNotFound(_)
            | Error::ProvisionedConcurrencyConfigNotFound(_)
            | Error::NoSuchBucket(_)
            | Error::NoSuchKey(_)
            | Error::NoSuchUpload(_)
            | Error::NotFound(_)
            | Error::NoSuchEntity(_)
            | Error::ParameterNotFound(_)
            | Error::ParameterVersionNotFound(_) => Code::NotFound,
            Error::Throttled { .. }
            | Error::LimitExceeded(_)
            | Error::Throttling(_)
            | Error::QuotaExceeded(..) => Code::ResourceExhausted,
            Error::Service(_) | Error::DecryptionFailure(_) => Code::Internal,
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
