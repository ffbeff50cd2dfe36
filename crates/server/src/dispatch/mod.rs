//! Running invocations. The synchronous path goes from a resolved function
//! to the caller's result: validate the request as Lambda does, take the
//! function's prepared code, run it in the runtime, and turn the outcome into
//! Lambda's response (payload or error JSON, `FunctionError`, log tail).
//! Asynchronous events are written to the durable queue (`crate::queue`) and
//! delivered later by its workers ([`delivery`]) through the same path,
//! with Lambda's retries, maximum age, destinations and dead letters.

mod delivery;
mod http;
mod injected;
mod provisioned;
mod traced;

pub(crate) use http::HttpRun;
pub use provisioned::ProvisionedView;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::function::{FunctionRef, MAX_ASYNC_PAYLOAD_BYTES, MAX_SYNC_PAYLOAD_BYTES};
use crate::invocation;
use crate::logs::{self, Logs};
use crate::queue::AsyncQueue;
use crate::registry::Registry;
use funnel_runtime::{Call, EnvironmentConfig, ErrorKind, InvokeError, Runtime};
use funnel_store::FunctionRecord;

/// Longest client context Lambda accepts (base64 characters).
const MAX_CLIENT_CONTEXT: usize = 3_583;

/// What `Invoke` returns, in Lambda's terms.
#[derive(Debug)]
pub struct InvokeResult {
    pub status_code: i32,
    /// `Some("Handled")` or `Some("Unhandled")` when the function failed.
    pub function_error: Option<&'static str>,
    /// Base64 of the log's tail, when asked for.
    pub log_result: Option<String>,
    pub payload: Vec<u8>,
    pub executed_version: String,
    pub request_id: String,
}

/// What a dispatcher runs with (handles, each cheap to clone).
pub struct Parts {
    pub functions: Registry,
    pub store: funnel_store::Store,
    pub gate: crate::concurrency::Gate,
    pub runtime: Runtime,
    pub logs: Logs,
    pub queue: AsyncQueue,
    pub metrics: crate::metrics::Metrics,
    pub topics: crate::topics::Topics,
    pub configs: crate::invoke_config::InvokeConfigs,
    pub faults: crate::faults::Faults,
    pub recordings: crate::recordings::Recordings,
    pub tracer: crate::traces::Tracer,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    functions: Registry,
    /// Provisioned concurrency configs and bucket folders are read here.
    store: funnel_store::Store,
    /// The account's concurrency gate.
    gate: crate::concurrency::Gate,
    runtime: Runtime,
    logs: Logs,
    queue: AsyncQueue,
    metrics: crate::metrics::Metrics,
    /// Provisioned concurrency: what each config has reached.
    provisioned: provisioned::States,
    /// Topics, as async destinations.
    topics: crate::topics::Topics,
    /// Retries, event age and destinations per function and qualifier.
    configs: crate::invoke_config::InvokeConfigs,
    /// Faults injected on purpose (`funnel fault put`), acted on in `run`.
    faults: crate::faults::Faults,
    /// Recordings (`funnel record start`), told of each call in `run`.
    recordings: crate::recordings::Recordings,
    /// Spans of the calls whose traces are sampled.
    tracer: crate::traces::Tracer,
    /// Cancelled when shutdown's grace has run out: running guests are
    /// stopped and their callers told why.
    abort: CancellationToken,
    /// Environment configs already built, per function key: a warm call
    /// hands the runtime the same `Arc` as the last one.
    configs_built: Arc<Mutex<HashMap<String, Vec<BuiltConfig>>>>,
}

/// An environment config and the record it was built from.
struct BuiltConfig {
    record: Arc<FunctionRecord>,
    config: Arc<EnvironmentConfig>,
}

/// Versions of one function whose configs are kept.
const BUILT_PER_FUNCTION: usize = 8;

/// One invocation for [`Dispatcher::run`].
pub(crate) struct RunCall {
    pub request_id: String,
    pub payload: Vec<u8>,
    pub client_context: Option<String>,
    /// Invocations before this one in its chain of triggers.
    pub chain_depth: u32,
    /// Build the log tail (`LogType=Tail`).
    pub tail: bool,
    /// Its door, for recordings.
    pub origin: crate::recordings::Origin,
    /// The trace it runs in (`None`: not traced).
    pub trace: Option<crate::traces::TraceContext>,
}

impl Dispatcher {
    pub fn new(parts: Parts, abort: CancellationToken) -> Self {
        let Parts {
            functions,
            store,
            gate,
            runtime,
            logs,
            queue,
            metrics,
            topics,
            configs,
            faults,
            recordings,
            tracer,
        } = parts;
        Dispatcher {
            functions,
            store,
            gate,
            runtime,
            logs,
            queue,
            metrics,
            provisioned: provisioned::States::default(),
            topics,
            configs,
            faults,
            recordings,
            tracer,
            abort,
            configs_built: Arc::default(),
        }
    }

    /// `Invoke`: validates the request as Lambda does, then runs it
    /// (RequestResponse), queues it durably (Event), or stops there (DryRun).
    pub async fn invoke(&self, event: invocation::Invocation) -> Result<InvokeResult> {
        let kind = invocation::InvocationType::parse(&event.invocation_type)?;
        let tail = invocation::parse_log_type(&event.log_type)?;
        let limit = match kind {
            invocation::InvocationType::Event => MAX_ASYNC_PAYLOAD_BYTES,
            _ => MAX_SYNC_PAYLOAD_BYTES,
        };
        if event.payload.len() > limit {
            let operation = match kind {
                invocation::InvocationType::Event => "InvokeAsync",
                _ => "InvokeFunction",
            };
            return Err(Error::RequestTooLarge(format!(
                "Request must be smaller than {limit} bytes for the {operation} operation"
            )));
        }
        let payload = if event.payload.is_empty() {
            b"{}".to_vec()
        } else {
            serde_json::from_slice::<serde::de::IgnoredAny>(&event.payload).map_err(|err| {
                Error::InvalidRequestContent(format!(
                    "Could not parse request body into json: {err}"
                ))
            })?;
            event.payload
        };
        let client_context = decode_client_context(&event.client_context)?;
        let (target, record) = self
            .functions
            .lookup(&event.function_name, &event.qualifier)?;

        match kind {
            invocation::InvocationType::DryRun => {
                self.functions.prepared(&record).await?;
                Ok(InvokeResult {
                    status_code: 204,
                    function_error: None,
                    log_result: None,
                    payload: Vec::new(),
                    executed_version: record.version.clone(),
                    request_id: String::new(),
                })
            }
            invocation::InvocationType::Event => {
                let request_id = uuid::Uuid::new_v4().to_string();
                let mut queued = funnel_store::QueuedEvent::new(
                    request_id.clone(),
                    target.name.clone(),
                    target.qualifier.clone().unwrap_or_default(),
                    // Checked to be JSON above, and JSON is UTF-8.
                    String::from_utf8_lossy(&payload).into_owned(),
                    client_context,
                );
                queued.trace = event.trace.map(|trace| trace.xray());
                self.queue.check_room(&[target.name.as_str()]).await?;
                self.queue.accept(queued).await?;
                self.metrics.async_received(&target.name);
                Ok(InvokeResult {
                    status_code: 202,
                    function_error: None,
                    log_result: None,
                    payload: Vec::new(),
                    executed_version: String::new(),
                    request_id,
                })
            }
            invocation::InvocationType::RequestResponse => {
                let request_id = uuid::Uuid::new_v4().to_string();
                let call = RunCall {
                    request_id,
                    payload,
                    client_context,
                    chain_depth: 0,
                    tail,
                    origin: crate::recordings::Origin::sync(crate::recordings::Door::Invoke),
                    trace: event.trace,
                };
                self.run(&target, &record, call).await
            }
        }
    }

    /// Runs one invocation of a resolved function in an execution
    /// environment, records its log, and shapes Lambda's result (with the
    /// log tail in `log_result` when `tail` asks for it: only then is it
    /// built). A recording that wants the call gets its outcome.
    pub(crate) async fn run(
        &self,
        target: &FunctionRef,
        record: &Arc<FunctionRecord>,
        call: RunCall,
    ) -> Result<InvokeResult> {
        let capture = self.recordings.begin(
            &record.name,
            target.qualifier.as_deref(),
            &call.origin,
            &call.request_id,
            &call.payload,
        );
        let Some(capture) = capture else {
            return self.run_call(target, record, call, None).await;
        };
        let mut stats = None;
        let result = self.run_call(target, record, call, Some(&mut stats)).await;
        self.recordings.finish(capture, &result, stats);
        result
    }

    async fn run_call(
        &self,
        target: &FunctionRef,
        record: &Arc<FunctionRecord>,
        call: RunCall,
        // Filled in for a recording only: nothing is built otherwise.
        stats: Option<&mut Option<crate::recordings::Stats>>,
    ) -> Result<InvokeResult> {
        let RunCall {
            request_id,
            payload,
            client_context,
            chain_depth,
            tail,
            origin: _,
            trace,
        } = call;
        let mut traced =
            traced::InvokeTrace::start(&self.tracer, trace.as_ref(), record, &request_id);
        let injected =
            self.faults
                .decide(&record.name, target.qualifier.as_deref(), &record.version);
        if let Some(hit) = &injected.throttle {
            // As the gate's throttle: the call never starts.
            self.mark_injected(record, hit);
            self.metrics.throttled(&record.name);
            return Err(Error::Throttled {
                reason: crate::concurrency::Throttle::ConcurrentInvocationLimitExceeded.reason(),
                retry_after_seconds: 1,
            });
        }
        let prepared = self.functions.prepared(record).await?;
        let _permit = self.admit(record)?;
        let _running = Running {
            metrics: &self.metrics,
            function: &record.name,
        };
        let stopped = || {
            tracing::warn!(function = %record.name, request_id = %request_id, "stopped by shutdown");
            Err(Error::ShuttingDown(format!(
                "the server is shutting down; invocation {request_id} was stopped"
            )))
        };
        if let Some(hit) = &injected.latency {
            // The call starts late, holding its place in the concurrency.
            tokio::select! {
                () = self.faults.delay(hit.latency_ms) => {}
                () = self.abort.cancelled() => return stopped(),
            }
        }
        if let Some(hit) = &injected.failure {
            let outcome = self
                .injected_failure(record, &request_id, hit, injected.latency.as_ref())
                .await;
            return self.settle(record, request_id, Ok(outcome), tail, stats);
        }
        let naming = self.functions.naming();
        let config = self.shared_environment_config(record);
        let call = Call {
            request_id: request_id.clone(),
            invoked_function_arn: naming.function_arn(&record.name, target.qualifier.as_deref()),
            payload,
            client_context,
            trace_id: traced.guest_trace_id(trace.as_ref()),
            chain_depth,
        };

        let mut outcome = tokio::select! {
            outcome = self.runtime.invoke(&prepared, config, call) => outcome,
            () = self.abort.cancelled() => return stopped(),
        };
        traced.returned(&outcome);
        if let (Some(hit), Ok(outcome)) = (&injected.latency, &mut outcome) {
            self.metrics.injected_fault(&record.name, hit.kind.as_str());
            outcome.output.splice(0..0, hit.log_line().into_bytes());
            outcome.duration += std::time::Duration::from_millis(hit.latency_ms);
        }
        let result = self.settle(record, request_id, outcome, tail, stats);
        traced.finish(&self.tracer, &result);
        result
    }

    /// A place for one invocation of `record` in the account's concurrency
    /// (counted as running from now), or Lambda's throttle.
    fn admit(&self, record: &FunctionRecord) -> Result<crate::concurrency::Permit> {
        let permit = self.gate.try_acquire(&record.name).map_err(|throttle| {
            self.metrics.throttled(&record.name);
            Error::Throttled {
                reason: throttle.reason(),
                retry_after_seconds: 1,
            }
        })?;
        self.metrics.running(&record.name, 1);
        Ok(permit)
    }

    /// A finished invocation in Lambda's terms: its metrics and log
    /// recorded, a refusal to start named as Lambda names it.
    fn settle(
        &self,
        record: &FunctionRecord,
        request_id: String,
        outcome: std::result::Result<funnel_runtime::Outcome, InvokeError>,
        tail: bool,
        stats: Option<&mut Option<crate::recordings::Stats>>,
    ) -> Result<InvokeResult> {
        if let (Some(stats), Ok(outcome)) = (stats, &outcome) {
            *stats = Some(crate::recordings::Stats {
                version: record.version.clone(),
                duration: outcome.duration,
                cold: outcome.init_duration.is_some(),
            });
        }
        self.recorder().settle(record, request_id, outcome, tail)
    }

    /// What records finished invocations (cheap to clone).
    fn recorder(&self) -> Recorder {
        Recorder {
            metrics: self.metrics.clone(),
            logs: self.logs.clone(),
        }
    }
}

impl Dispatcher {
    /// What the environments of `record` are, built once per record: the
    /// registry hands out one `Arc` per record until the function changes.
    /// A function granted buckets is built each time (a bucket deleted
    /// since the grant must disappear from its next environment).
    fn shared_environment_config(&self, record: &Arc<FunctionRecord>) -> Arc<EnvironmentConfig> {
        if !record.bucket_access.is_empty() {
            return Arc::new(self.environment_config(record));
        }
        let mut built = self.configs_built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = built
            .get(&record.name)
            .and_then(|versions| versions.iter().find(|b| Arc::ptr_eq(&b.record, record)))
        {
            return found.config.clone();
        }
        let config = Arc::new(self.environment_config(record));
        let versions = built.entry(record.name.clone()).or_default();
        versions.retain(|b| b.record.version != record.version);
        if versions.len() >= BUILT_PER_FUNCTION {
            versions.remove(0);
        }
        versions.push(BuiltConfig {
            record: record.clone(),
            config: config.clone(),
        });
        config
    }

    /// What the environments of `record` are.
    fn environment_config(&self, record: &FunctionRecord) -> EnvironmentConfig {
        let mut config = environment_config(record, &self.functions.naming().region);
        config.opt_dir = self.functions.layers().view_path(&record.layers);
        config.buckets = record
            .bucket_access
            .iter()
            .filter_map(|(name, mode)| {
                // A bucket deleted since the grant is simply not there.
                let key = crate::grants::bucket_key(self.functions.naming(), &record.name, name);
                let bucket = self.store.get_bucket(&key).ok()??;
                Some(funnel_runtime::BucketMount {
                    name: name.clone(),
                    path: bucket.path.into(),
                    writable: mode == crate::grants::READ_WRITE,
                })
            })
            .collect();
        config
    }
}

/// Records finished invocations: their metrics and logs.
#[derive(Clone)]
pub(crate) struct Recorder {
    metrics: crate::metrics::Metrics,
    logs: Logs,
}

impl Recorder {
    /// A finished invocation in Lambda's terms: its metrics and log
    /// recorded, a refusal to start named as Lambda names it.
    fn settle(
        &self,
        record: &FunctionRecord,
        request_id: String,
        outcome: std::result::Result<funnel_runtime::Outcome, InvokeError>,
        tail: bool,
    ) -> Result<InvokeResult> {
        let outcome = outcome.map_err(|err| match err {
            InvokeError::Busy(slots) => {
                self.metrics.throttled(&record.name);
                tracing::debug!(slots, "every instance slot is busy");
                Error::Throttled {
                    reason: crate::concurrency::Throttle::ConcurrentInvocationLimitExceeded
                        .reason(),
                    retry_after_seconds: 1,
                }
            }
            InvokeError::MemoryBudget { .. } => {
                self.metrics.throttled(&record.name);
                tracing::warn!(function = %record.name, cause = %err, "throttled");
                Error::Throttled {
                    reason: crate::concurrency::Throttle::HostMemoryBudgetExceeded.reason(),
                    retry_after_seconds: 1,
                }
            }
            InvokeError::Instantiate(why) => Error::Service(why),
        })?;

        self.metrics.ran(crate::metrics::Ran {
            function: &record.name,
            failed: outcome.result.is_err(),
            duration: outcome.duration,
            init_duration: outcome.init_duration,
            provisioned: outcome.provisioned,
            spillover: outcome.spillover,
        });
        let log = logs::invocation_log(&request_id, &record.version, record.memory_size, &outcome);
        self.logs
            .record(&logs::log_group(&record.name), &outcome.log_stream, &log);
        let (payload, function_error) = match outcome.result {
            Ok(response) => (response, None),
            Err(err) => {
                let label = match err.kind {
                    ErrorKind::Handled => "Handled",
                    ErrorKind::Unhandled => "Unhandled",
                };
                tracing::info!(function = %record.name, request_id = %request_id, error_type = %err.error_type, function_error = label, "function failed");
                let body = serde_json::json!({
                    "errorType": err.error_type,
                    "errorMessage": err.error_message,
                });
                (body.to_string().into_bytes(), Some(label))
            }
        };
        Ok(InvokeResult {
            status_code: 200,
            function_error,
            log_result: tail
                .then(|| base64::engine::general_purpose::STANDARD.encode(logs::tail(&log))),
            payload,
            executed_version: record.version.clone(),
            request_id,
        })
    }
}

/// Counts an invocation as running until dropped.
struct Running<'a> {
    metrics: &'a crate::metrics::Metrics,
    function: &'a str,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.metrics.running(self.function, -1);
    }
}

/// What the environments of `record` are: its code, limits and variables,
/// plus the runtime variables Lambda sets.
fn environment_config(record: &FunctionRecord, region: &str) -> EnvironmentConfig {
    let mut environment: Vec<(String, String)> = record
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    environment.extend([
        // The guest sees its name; the key stays the server's.
        (
            "AWS_LAMBDA_FUNCTION_NAME".into(),
            crate::tenancy::name(&record.name).to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), record.version.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            record.memory_size.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            funnel_proto::log_group(crate::tenancy::name(&record.name)),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
        ("AWS_REGION".into(), region.to_string()),
        ("AWS_DEFAULT_REGION".into(), region.to_string()),
        ("TZ".into(), ":UTC".into()),
    ]);
    EnvironmentConfig {
        function_name: record.name.clone(),
        function_version: record.version.clone(),
        code_sha256: record.code_sha256.clone(),
        memory_mb: record.memory_size,
        timeout: std::time::Duration::from_secs(record.timeout.into()),
        ephemeral_storage_mb: record.ephemeral_storage,
        environment,
        opt_dir: None,
        buckets: Vec::new(),
        topics: record.topic_access.clone(),
        secret_access: record.secret_access.clone(),
    }
}

/// Lambda takes the client context as base64 of a JSON object.
fn decode_client_context(encoded: &str) -> Result<Option<String>> {
    if encoded.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        Error::InvalidRequestContent(
            "Client context must be a valid Base64-encoded JSON object.".into(),
        )
    };
    if encoded.len() > MAX_CLIENT_CONTEXT {
        return Err(Error::InvalidParameterValue(format!(
            "ClientContext is {} characters long: at most {MAX_CLIENT_CONTEXT} are allowed",
            encoded.len()
        )));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(Some(text)),
        _ => Err(invalid()),
    }
}
