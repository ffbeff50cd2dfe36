//! # funnel-client — a typed async client for funnel's gRPC API
//!
//! ```no_run
//! # async fn demo() -> Result<(), funnel_client::Error> {
//! use funnel_client::{Client, proto};
//!
//! let client = Client::connect("http://127.0.0.1:7878").await?;
//! let code = std::fs::read("hello.wasm").unwrap();
//! client
//!     .create_function(proto::CreateFunctionRequest {
//!         function_name: "hello".into(),
//!         code: Some(proto::FunctionCode { zip_file: code }),
//!         ..Default::default()
//!     })
//!     .await?;
//! let out = client
//!     .invoke(proto::InvokeRequest {
//!         function_name: "hello".into(),
//!         payload: br#"{"name":"Ada"}"#.to_vec(),
//!         ..Default::default()
//!     })
//!     .await?;
//! println!("{}", String::from_utf8_lossy(&out.payload));
//! # Ok(()) }
//! ```
//!
//! Every method maps to one RPC with the same name; requests and responses
//! are the generated messages in [`proto`] (field names are Lambda's, in
//! snake case). Errors keep the AWS error name ([`Error::error_type`]).

use std::fmt;
use std::sync::Arc;

mod admin;
mod apis;
mod buckets;
mod credentials;
mod events;
mod faults;
mod iam;
mod permissions;
mod recordings;
mod secrets;
mod ssm;
mod topics;
mod traces;
mod urls;

pub use buckets::Object;
pub use credentials::{Credentials, Profile};
pub use events::Target;
pub use traces::TraceHeaders;

use funnel_proto::v1::admin_client::AdminClient;
use funnel_proto::v1::apis_client::ApisClient;
use funnel_proto::v1::async_invocation_client::AsyncInvocationClient;
use funnel_proto::v1::buckets_client::BucketsClient;
use funnel_proto::v1::clock_client::ClockClient;
use funnel_proto::v1::events_client::EventsClient;
use funnel_proto::v1::faults_client::FaultsClient;
use funnel_proto::v1::function_urls_client::FunctionUrlsClient;
use funnel_proto::v1::functions_client::FunctionsClient;
use funnel_proto::v1::iam_client::IamClient;
use funnel_proto::v1::layers_client::LayersClient;
use funnel_proto::v1::logs_client::LogsClient;
use funnel_proto::v1::metrics_client::MetricsClient;
use funnel_proto::v1::permissions_client::PermissionsClient;
use funnel_proto::v1::recordings_client::RecordingsClient;
use funnel_proto::v1::secrets_manager_client::SecretsManagerClient;
use funnel_proto::v1::ssm_client::SsmClient;
use funnel_proto::v1::sts_client::StsClient;
use funnel_proto::v1::topics_client::TopicsClient;
use funnel_proto::v1::traces_client::TracesClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// The generated API messages (`funnel.v1`).
pub use funnel_proto::v1 as proto;
pub use tonic::Code;

/// The metadata key that carries the AWS error name.
const ERROR_TYPE_KEY: &str = "x-amzn-errortype";
/// Matches the server's limit, so large code uploads and 6 MB responses fit.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// `err` and its sources, `: `-separated (a transport error alone says
/// only "transport error").
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A failed call: the gRPC code, the AWS error name when the server gave
/// one (`ResourceNotFoundException`, ...), and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub error_type: Option<String>,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_type {
            Some(error_type) => write!(f, "{error_type}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        let error_type = status
            .metadata()
            .get(ERROR_TYPE_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let message = match &error_type {
            Some(name) => status
                .message()
                .strip_prefix(name.as_str())
                .and_then(|rest| rest.strip_prefix(": "))
                .unwrap_or(status.message())
                .to_string(),
            None => status.message().to_string(),
        };
        Error {
            code: status.code(),
            error_type,
            message,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connection to one funnel server. Cheap to clone (one reference
/// count); clones share the connection.
#[derive(Clone)]
pub struct Client {
    services: Arc<Services>,
}

impl std::ops::Deref for Client {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// The client of each service, over one connection. Nothing of it is
/// public: a [`Client`]'s methods call them.
#[doc(hidden)]
pub struct Services {
    functions: FunctionsClient<Transport>,
    asynchronous: AsyncInvocationClient<Transport>,
    layers: LayersClient<Transport>,
    logs: LogsClient<Transport>,
    metrics: MetricsClient<Transport>,
    permissions: PermissionsClient<Transport>,
    urls: FunctionUrlsClient<Transport>,
    apis: ApisClient<Transport>,
    secrets: SecretsManagerClient<Transport>,
    ssm: SsmClient<Transport>,
    buckets: BucketsClient<Transport>,
    topics: TopicsClient<Transport>,
    events: EventsClient<Transport>,
    clock: ClockClient<Transport>,
    iam: IamClient<Transport>,
    sts: StsClient<Transport>,
    admin: AdminClient<Transport>,
    faults: FaultsClient<Transport>,
    recordings: RecordingsClient<Transport>,
    traces: TracesClient<Transport>,
}

/// The connection, with every call's `authorization` metadata.
type Transport = InterceptedService<Channel, Auth>;

/// Adds `authorization: Bearer <id>:<secret>` to every call.
#[derive(Clone)]
struct Auth(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Auth {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(header) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

impl Client {
    /// Connects to `endpoint`, e.g. `http://127.0.0.1:7878`, with the
    /// credentials (and CA bundle) found as the aws CLI finds them
    /// ([`Profile::discover`]).
    pub async fn connect(endpoint: impl Into<String>) -> Result<Client> {
        let profile = Profile::discover(None).map_err(|message| Error {
            code: Code::Unauthenticated,
            error_type: None,
            message,
        })?;
        Client::connect_profile(endpoint, &profile).await
    }

    /// Connects to `endpoint` with these credentials (none: only health
    /// and reflection will answer).
    pub async fn connect_with(
        endpoint: impl Into<String>,
        credentials: Option<Credentials>,
    ) -> Result<Client> {
        let profile = Profile {
            credentials,
            ..Profile::default()
        };
        Client::connect_profile(endpoint, &profile).await
    }

    /// Connects to `endpoint` with a profile's credentials; an `https`
    /// endpoint is trusted through the profile's `ca_bundle` (PEM), else
    /// through the system's roots. The profile's own `endpoint` is not
    /// used.
    pub async fn connect_profile(endpoint: impl Into<String>, profile: &Profile) -> Result<Client> {
        let endpoint = endpoint.into();
        let header = profile
            .credentials
            .as_ref()
            .map(Credentials::header)
            .transpose()
            .map_err(|message| Error {
                code: Code::Unauthenticated,
                error_type: None,
                message,
            })?;
        let auth = Auth(header);
        let unavailable = |message: String| Error {
            code: Code::Unavailable,
            error_type: None,
            message,
        };
        let mut target = Endpoint::from_shared(endpoint.clone())
            .map_err(|e| unavailable(format!("invalid endpoint {endpoint:?}: {e}")))?;
        if endpoint.starts_with("https://") {
            let tls = match &profile.ca_bundle {
                Some(bundle) => {
                    let pem = std::fs::read(bundle).map_err(|e| {
                        unavailable(format!("reading the CA bundle {}: {e}", bundle.display()))
                    })?;
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                }
                None => ClientTlsConfig::new().with_native_roots(),
            };
            target = target
                .tls_config(tls)
                .map_err(|e| unavailable(format!("TLS for {endpoint}: {e}")))?;
        }
        let channel = target.connect().await.map_err(|e| {
            unavailable(format!(
                "cannot connect to funnel at {endpoint}: {}",
                with_causes(&e)
            ))
        })?;
        Ok(Client {
            services: Arc::new(Services {
                functions: FunctionsClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                asynchronous: AsyncInvocationClient::with_interceptor(
                    channel.clone(),
                    auth.clone(),
                )
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
                layers: LayersClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                logs: LogsClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
                metrics: MetricsClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
                permissions: PermissionsClient::with_interceptor(channel.clone(), auth.clone()),
                urls: FunctionUrlsClient::with_interceptor(channel.clone(), auth.clone()),
                apis: ApisClient::with_interceptor(channel.clone(), auth.clone()),
                secrets: SecretsManagerClient::with_interceptor(channel.clone(), auth.clone()),
                ssm: SsmClient::with_interceptor(channel.clone(), auth.clone()),
                topics: TopicsClient::with_interceptor(channel.clone(), auth.clone()),
                events: EventsClient::with_interceptor(channel.clone(), auth.clone()),
                clock: ClockClient::with_interceptor(channel.clone(), auth.clone()),
                faults: FaultsClient::with_interceptor(channel.clone(), auth.clone()),
                recordings: RecordingsClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                traces: TracesClient::with_interceptor(channel.clone(), auth.clone()),
                iam: IamClient::with_interceptor(channel.clone(), auth.clone()),
                sts: StsClient::with_interceptor(channel.clone(), auth.clone()),
                admin: AdminClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
                buckets: BucketsClient::with_interceptor(channel, auth)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            }),
        })
    }

    pub async fn create_function(
        &self,
        request: proto::CreateFunctionRequest,
    ) -> Result<proto::FunctionConfiguration> {
        Ok(self
            .functions
            .clone()
            .create_function(request)
            .await?
            .into_inner())
    }

    /// `function_name` is a name or an ARN, optionally with `:qualifier`
    /// (`hello:3`, `hello:$LATEST`).
    /// A function's configuration alone (`lambda:GetFunctionConfiguration`).
    pub async fn get_function_configuration(
        &self,
        function_name: &str,
    ) -> Result<proto::FunctionConfiguration> {
        let request = proto::GetFunctionRequest {
            function_name: function_name.into(),
            qualifier: String::new(),
        };
        Ok(self
            .functions
            .clone()
            .get_function_configuration(request)
            .await?
            .into_inner())
    }

    pub async fn get_function(&self, function_name: &str) -> Result<proto::GetFunctionResponse> {
        let request = proto::GetFunctionRequest {
            function_name: function_name.into(),
            qualifier: String::new(),
        };
        Ok(self
            .functions
            .clone()
            .get_function(request)
            .await?
            .into_inner())
    }

    /// The ARN of the function a name (or ARN) names, as triggers and
    /// destinations want it.
    pub async fn function_arn(&self, function_name: &str) -> Result<String> {
        self.get_function(function_name)
            .await?
            .configuration
            .map(|c| c.function_arn)
            .ok_or_else(|| Error {
                code: Code::Internal,
                error_type: None,
                message: format!("the server returned no configuration for {function_name}"),
            })
    }

    /// One page; pass the returned `next_marker` back as `marker`.
    pub async fn list_functions(
        &self,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<proto::ListFunctionsResponse> {
        let request = proto::ListFunctionsRequest {
            marker: marker.into(),
            max_items,
        };
        Ok(self
            .functions
            .clone()
            .list_functions(request)
            .await?
            .into_inner())
    }

    /// Every function, following the pages.
    pub async fn list_all_functions(&self) -> Result<Vec<proto::FunctionConfiguration>> {
        let mut all = Vec::new();
        let mut marker = String::new();
        loop {
            let page = self.list_functions(&marker, None).await?;
            all.extend(page.functions);
            if page.next_marker.is_empty() {
                return Ok(all);
            }
            marker = page.next_marker;
        }
    }

    pub async fn update_function_code(
        &self,
        function_name: &str,
        code: Vec<u8>,
    ) -> Result<proto::FunctionConfiguration> {
        self.update_function_code_with(proto::UpdateFunctionCodeRequest {
            function_name: function_name.into(),
            zip_file: code,
            ..Default::default()
        })
        .await
    }

    /// UpdateFunctionCode with every field of the request (`revision_id`).
    pub async fn update_function_code_with(
        &self,
        request: proto::UpdateFunctionCodeRequest,
    ) -> Result<proto::FunctionConfiguration> {
        Ok(self
            .functions
            .clone()
            .update_function_code(request)
            .await?
            .into_inner())
    }

    pub async fn update_function_configuration(
        &self,
        request: proto::UpdateFunctionConfigurationRequest,
    ) -> Result<proto::FunctionConfiguration> {
        Ok(self
            .functions
            .clone()
            .update_function_configuration(request)
            .await?
            .into_inner())
    }

    /// Retires every execution environment of a function (all its
    /// versions) at once, so the next calls read its secrets anew; returns
    /// how many idle environments were retired.
    pub async fn restart_environments(&self, function_name: &str) -> Result<i32> {
        let request = proto::RestartEnvironmentsRequest {
            function_name: function_name.to_string(),
        };
        Ok(self
            .functions
            .clone()
            .restart_environments(request)
            .await?
            .into_inner()
            .retired)
    }

    /// Deletes the function and all its versions; `name:N` deletes only
    /// version N.
    pub async fn delete_function(&self, function_name: &str) -> Result<()> {
        let request = proto::DeleteFunctionRequest {
            function_name: function_name.into(),
            qualifier: String::new(),
        };
        self.functions.clone().delete_function(request).await?;
        Ok(())
    }

    /// Publishes `$LATEST` as a new version (or returns the newest one if
    /// nothing changed).
    pub async fn publish_version(
        &self,
        request: proto::PublishVersionRequest,
    ) -> Result<proto::FunctionConfiguration> {
        Ok(self
            .functions
            .clone()
            .publish_version(request)
            .await?
            .into_inner())
    }

    /// `$LATEST` and the published versions, one page.
    pub async fn list_versions_by_function(
        &self,
        function_name: &str,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<proto::ListVersionsByFunctionResponse> {
        let request = proto::ListVersionsByFunctionRequest {
            function_name: function_name.into(),
            marker: marker.into(),
            max_items,
        };
        Ok(self
            .functions
            .clone()
            .list_versions_by_function(request)
            .await?
            .into_inner())
    }

    pub async fn create_alias(
        &self,
        request: proto::CreateAliasRequest,
    ) -> Result<proto::AliasConfiguration> {
        Ok(self
            .functions
            .clone()
            .create_alias(request)
            .await?
            .into_inner())
    }

    pub async fn get_alias(
        &self,
        function_name: &str,
        name: &str,
    ) -> Result<proto::AliasConfiguration> {
        let request = proto::GetAliasRequest {
            function_name: function_name.into(),
            name: name.into(),
        };
        Ok(self
            .functions
            .clone()
            .get_alias(request)
            .await?
            .into_inner())
    }

    pub async fn update_alias(
        &self,
        request: proto::UpdateAliasRequest,
    ) -> Result<proto::AliasConfiguration> {
        Ok(self
            .functions
            .clone()
            .update_alias(request)
            .await?
            .into_inner())
    }

    pub async fn delete_alias(&self, function_name: &str, name: &str) -> Result<()> {
        let request = proto::DeleteAliasRequest {
            function_name: function_name.into(),
            name: name.into(),
        };
        self.functions.clone().delete_alias(request).await?;
        Ok(())
    }

    /// One page of a function's aliases.
    pub async fn list_aliases(
        &self,
        request: proto::ListAliasesRequest,
    ) -> Result<proto::ListAliasesResponse> {
        Ok(self
            .functions
            .clone()
            .list_aliases(request)
            .await?
            .into_inner())
    }

    /// Runs a function. A function that fails is still `Ok`: look at
    /// `function_error` ("Handled" / "Unhandled") and the error JSON in
    /// `payload`, as with Lambda.
    /// Reserves concurrency for a function; returns the reservation.
    pub async fn put_function_concurrency(
        &self,
        function_name: &str,
        reserved: i32,
    ) -> Result<i32> {
        let request = proto::PutFunctionConcurrencyRequest {
            function_name: function_name.into(),
            reserved_concurrent_executions: reserved,
        };
        Ok(self
            .functions
            .clone()
            .put_function_concurrency(request)
            .await?
            .into_inner()
            .reserved_concurrent_executions
            .unwrap_or_default())
    }

    /// The function's reserved concurrency, if any.
    pub async fn get_function_concurrency(&self, function_name: &str) -> Result<Option<i32>> {
        let request = proto::GetFunctionConcurrencyRequest {
            function_name: function_name.into(),
        };
        Ok(self
            .functions
            .clone()
            .get_function_concurrency(request)
            .await?
            .into_inner()
            .reserved_concurrent_executions)
    }

    pub async fn delete_function_concurrency(&self, function_name: &str) -> Result<()> {
        let request = proto::GetFunctionConcurrencyRequest {
            function_name: function_name.into(),
        };
        self.functions
            .clone()
            .delete_function_concurrency(request)
            .await?;
        Ok(())
    }

    pub async fn put_provisioned_concurrency_config(
        &self,
        function_name: &str,
        qualifier: &str,
        count: i32,
    ) -> Result<proto::ProvisionedConcurrencyConfig> {
        let request = proto::PutProvisionedConcurrencyConfigRequest {
            function_name: function_name.into(),
            qualifier: qualifier.into(),
            provisioned_concurrent_executions: count,
        };
        Ok(self
            .functions
            .clone()
            .put_provisioned_concurrency_config(request)
            .await?
            .into_inner())
    }

    pub async fn get_provisioned_concurrency_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<proto::ProvisionedConcurrencyConfig> {
        let request = proto::GetProvisionedConcurrencyConfigRequest {
            function_name: function_name.into(),
            qualifier: qualifier.into(),
        };
        Ok(self
            .functions
            .clone()
            .get_provisioned_concurrency_config(request)
            .await?
            .into_inner())
    }

    pub async fn delete_provisioned_concurrency_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<()> {
        let request = proto::GetProvisionedConcurrencyConfigRequest {
            function_name: function_name.into(),
            qualifier: qualifier.into(),
        };
        self.functions
            .clone()
            .delete_provisioned_concurrency_config(request)
            .await?;
        Ok(())
    }

    pub async fn get_account_settings(&self) -> Result<proto::GetAccountSettingsResponse> {
        Ok(self
            .functions
            .clone()
            .get_account_settings(proto::GetAccountSettingsRequest {})
            .await?
            .into_inner())
    }

    /// The server's metrics as OpenMetrics text (one function's series and
    /// the account's, or all when `function_name` is empty).
    pub async fn get_metrics(&self, function_name: &str) -> Result<String> {
        let request = proto::GetMetricsRequest {
            function_name: function_name.into(),
        };
        Ok(self
            .metrics
            .clone()
            .get_metrics(request)
            .await?
            .into_inner()
            .open_metrics)
    }

    /// Sets a function's async settings (unset fields back to defaults).
    pub async fn put_function_event_invoke_config(
        &self,
        request: proto::PutFunctionEventInvokeConfigRequest,
    ) -> Result<proto::FunctionEventInvokeConfig> {
        Ok(self
            .asynchronous
            .clone()
            .put_function_event_invoke_config(request)
            .await?
            .into_inner())
    }

    /// Changes only the given fields of a function's async settings.
    pub async fn update_function_event_invoke_config(
        &self,
        request: proto::PutFunctionEventInvokeConfigRequest,
    ) -> Result<proto::FunctionEventInvokeConfig> {
        Ok(self
            .asynchronous
            .clone()
            .update_function_event_invoke_config(request)
            .await?
            .into_inner())
    }

    pub async fn get_function_event_invoke_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<proto::FunctionEventInvokeConfig> {
        let request = proto::GetFunctionEventInvokeConfigRequest {
            function_name: function_name.into(),
            qualifier: qualifier.into(),
        };
        Ok(self
            .asynchronous
            .clone()
            .get_function_event_invoke_config(request)
            .await?
            .into_inner())
    }

    pub async fn delete_function_event_invoke_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<()> {
        let request = proto::GetFunctionEventInvokeConfigRequest {
            function_name: function_name.into(),
            qualifier: qualifier.into(),
        };
        self.asynchronous
            .clone()
            .delete_function_event_invoke_config(request)
            .await?;
        Ok(())
    }

    /// One page of dead letters (of one function, or all when empty).
    pub async fn list_dead_letters(
        &self,
        function_name: &str,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<proto::ListDeadLettersResponse> {
        let request = proto::ListDeadLettersRequest {
            function_name: function_name.into(),
            marker: marker.into(),
            max_items,
        };
        Ok(self
            .asynchronous
            .clone()
            .list_dead_letters(request)
            .await?
            .into_inner())
    }

    /// Puts dead letters back in the queue (those named, or all); returns
    /// how many.
    pub async fn redrive_dead_letters(
        &self,
        function_name: &str,
        request_ids: Vec<String>,
    ) -> Result<i32> {
        let request = proto::RedriveDeadLettersRequest {
            function_name: function_name.into(),
            request_ids,
        };
        Ok(self
            .asynchronous
            .clone()
            .redrive_dead_letters(request)
            .await?
            .into_inner()
            .redriven)
    }

    /// Deletes a function's dead letters; returns how many.
    pub async fn purge_dead_letters(&self, function_name: &str) -> Result<i32> {
        let request = proto::PurgeDeadLettersRequest {
            function_name: function_name.into(),
        };
        Ok(self
            .asynchronous
            .clone()
            .purge_dead_letters(request)
            .await?
            .into_inner()
            .purged)
    }

    /// Counters of the async path.
    pub async fn get_queue_stats(&self) -> Result<proto::QueueStats> {
        Ok(self
            .asynchronous
            .clone()
            .get_queue_stats(proto::GetQueueStatsRequest {})
            .await?
            .into_inner())
    }

    /// Publishes a zip archive as the layer's next version.
    pub async fn publish_layer_version(
        &self,
        request: proto::PublishLayerVersionRequest,
    ) -> Result<proto::LayerVersion> {
        Ok(self
            .layers
            .clone()
            .publish_layer_version(request)
            .await?
            .into_inner())
    }

    /// `layer_name` is a name or the layer's ARN.
    pub async fn get_layer_version(
        &self,
        layer_name: &str,
        version_number: i64,
    ) -> Result<proto::LayerVersion> {
        let request = proto::GetLayerVersionRequest {
            layer_name: layer_name.into(),
            version_number,
        };
        Ok(self
            .layers
            .clone()
            .get_layer_version(request)
            .await?
            .into_inner())
    }

    pub async fn get_layer_version_by_arn(&self, arn: &str) -> Result<proto::LayerVersion> {
        let request = proto::GetLayerVersionByArnRequest { arn: arn.into() };
        Ok(self
            .layers
            .clone()
            .get_layer_version_by_arn(request)
            .await?
            .into_inner())
    }

    /// One page of layers, each with its newest (matching) version.
    pub async fn list_layers(
        &self,
        request: proto::ListLayersRequest,
    ) -> Result<proto::ListLayersResponse> {
        Ok(self.layers.clone().list_layers(request).await?.into_inner())
    }

    /// One page of a layer's versions, newest first.
    pub async fn list_layer_versions(
        &self,
        request: proto::ListLayerVersionsRequest,
    ) -> Result<proto::ListLayerVersionsResponse> {
        Ok(self
            .layers
            .clone()
            .list_layer_versions(request)
            .await?
            .into_inner())
    }

    pub async fn delete_layer_version(&self, layer_name: &str, version_number: i64) -> Result<()> {
        let request = proto::DeleteLayerVersionRequest {
            layer_name: layer_name.into(),
            version_number,
        };
        self.layers.clone().delete_layer_version(request).await?;
        Ok(())
    }

    /// Shares a layer version with an account (or `*`); returns the
    /// statement (JSON) and the policy's revision.
    pub async fn add_layer_version_permission(
        &self,
        request: proto::AddLayerVersionPermissionRequest,
    ) -> Result<proto::AddLayerVersionPermissionResponse> {
        Ok(self
            .layers
            .clone()
            .add_layer_version_permission(request)
            .await?
            .into_inner())
    }

    pub async fn remove_layer_version_permission(
        &self,
        request: proto::RemoveLayerVersionPermissionRequest,
    ) -> Result<()> {
        self.layers
            .clone()
            .remove_layer_version_permission(request)
            .await?;
        Ok(())
    }

    /// A layer version's policy document and its revision.
    pub async fn get_layer_version_policy(
        &self,
        layer_name: &str,
        version_number: i64,
    ) -> Result<proto::GetLayerVersionPolicyResponse> {
        Ok(self
            .layers
            .clone()
            .get_layer_version_policy(proto::GetLayerVersionPolicyRequest {
                layer_name: layer_name.into(),
                version_number,
            })
            .await?
            .into_inner())
    }

    pub async fn invoke(&self, request: proto::InvokeRequest) -> Result<proto::InvokeResponse> {
        Ok(self.functions.clone().invoke(request).await?.into_inner())
    }

    /// One stream's events (CloudWatch Logs' GetLogEvents).
    pub async fn get_log_events(
        &self,
        request: proto::GetLogEventsRequest,
    ) -> Result<proto::GetLogEventsResponse> {
        Ok(self
            .logs
            .clone()
            .get_log_events(request)
            .await?
            .into_inner())
    }

    /// A log group's events, filtered (CloudWatch Logs' FilterLogEvents).
    pub async fn filter_log_events(
        &self,
        request: proto::FilterLogEventsRequest,
    ) -> Result<proto::FilterLogEventsResponse> {
        Ok(self
            .logs
            .clone()
            .filter_log_events(request)
            .await?
            .into_inner())
    }

    /// A page of the account's log groups (CloudWatch Logs'
    /// DescribeLogGroups).
    pub async fn describe_log_groups(
        &self,
        request: proto::DescribeLogGroupsRequest,
    ) -> Result<proto::DescribeLogGroupsResponse> {
        Ok(self
            .logs
            .clone()
            .describe_log_groups(request)
            .await?
            .into_inner())
    }

    /// A page of a log group's streams (CloudWatch Logs'
    /// DescribeLogStreams).
    pub async fn describe_log_streams(
        &self,
        request: proto::DescribeLogStreamsRequest,
    ) -> Result<proto::DescribeLogStreamsResponse> {
        Ok(self
            .logs
            .clone()
            .describe_log_streams(request)
            .await?
            .into_inner())
    }

    /// Log events as they are written, until the stream is dropped.
    pub async fn start_live_tail(
        &self,
        request: proto::StartLiveTailRequest,
    ) -> Result<tonic::Streaming<proto::LiveTailSessionUpdate>> {
        Ok(self
            .logs
            .clone()
            .start_live_tail(request)
            .await?
            .into_inner())
    }
}

pub use funnel_proto::{json, log_group};
