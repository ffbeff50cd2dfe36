//! One execution environment: a store and instance of one function version,
//! with its own /tmp, serving one invocation at a time. Starting one is the
//! cold start (instantiate from prepared code, then the guest's `init`);
//! reusing one is a warm start. A trap or timeout poisons it, and it is
//! retired at once; a healthy one is retired with its `shutdown` hook.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::UpdateDeadline;

use super::bindings::{self, funnel::function::types as wit};
use super::host::{Host, Imports};
use super::output::GuestOutput;
use super::publish;
use super::references;
use super::secrets::{Grantee, Secrets};
use super::{
    Admission, Call, EnvironmentConfig, ErrorKind, GuestError, MAX_RESPONSE_BYTES, Prepared,
    Runtime,
};

/// Lambda's bound on the Init phase.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Lambda's bound on the Shutdown phase (about 500 ms).
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(500);
/// How far past a deadline the outer bound fires when a guest is stuck in a
/// host call (the epoch callback stops computing guests within a tick).
const HARD_STOP_SLACK: Duration = Duration::from_millis(50);

/// `pending`, stopped after `bound`. The timer is armed only when the
/// first poll does not finish it: a call that ends without yielding (the
/// common, short one) pays no timer. The bound then counts from that first
/// yield, at most an epoch tick late: the hard stop is a backstop behind
/// the epoch deadline, which counts from the call's start.
async fn bounded<F: Future>(
    bound: Duration,
    pending: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut pending = std::pin::pin!(pending);
    match poll_once(&mut pending).await {
        std::task::Poll::Ready(output) => Ok(output),
        std::task::Poll::Pending => tokio::time::timeout(bound, pending).await,
    }
}

/// Polls `future` once, here, and says whether that finished it.
pub(crate) async fn poll_once<F: Future + Unpin>(future: &mut F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *future).poll(cx)))
        .await
}

/// The most guest output kept per invocation (the tail is kept).
const OUTPUT_CAPACITY: usize = 256 * 1024;

pub struct Environment {
    pub config: Arc<EnvironmentConfig>,
    /// Lambda's log stream name for this environment.
    pub log_stream: String,
    store: wasmtime::Store<Host>,
    exports: Exports,
    output: GuestOutput,
    /// When it last finished a call, on the runtime's clock.
    pub last_used: Duration,
    pub invocations: u64,
    /// Started ahead of time for provisioned concurrency: kept warm, never
    /// retired for idleness or to free a slot.
    pub provisioned: bool,
    _admission: Admission,
}

/// What the instance exports: which kind of call it serves.
enum Exports {
    Handler(bindings::Handler),
    Http(wasmtime_wasi_http::p2::bindings::Proxy),
}

/// What a call did, and whether the environment can serve again.
pub struct Called {
    pub result: Result<Vec<u8>, GuestError>,
    pub duration: Duration,
    /// The guest trapped or ran out of time: its state is not to be trusted.
    pub poisoned: bool,
}

/// Why an environment could not start.
pub enum StartError {
    /// funnel could not set it up (no /tmp, no instance slot memory...).
    System(String),
    /// The guest's start or `init` failed: the invocation fails with this.
    Guest {
        error: GuestError,
        output: Vec<u8>,
        init_duration: Duration,
        log_stream: String,
    },
}

impl Environment {
    /// The cold start: a fresh instance (zeroed memory, empty /tmp), then the
    /// guest's `init`, bounded by [`INIT_TIMEOUT`]. Returns the environment
    /// and its Init Duration.
    pub async fn start(
        runtime: &Runtime,
        prepared: &Prepared,
        config: Arc<EnvironmentConfig>,
        admission: Admission,
    ) -> Result<(Environment, Duration), StartError> {
        let started = Instant::now();
        let inner = &runtime.inner;
        let id = inner
            .next_environment
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log_stream = format!(
            "{}/[{}]{:016x}{:016x}",
            chrono::Utc::now().format("%Y/%m/%d"),
            config.function_version,
            inner.instance_key,
            id
        );
        let mut secrets = Secrets::new(
            inner.secret_source.get().cloned(),
            Grantee {
                function_name: config.function_name.clone(),
                granted: config.secret_access.clone().into(),
            },
            inner.clock.clone(),
            inner.secret_cache_ttl,
        );
        // References in the variables are resolved now, for this
        // environment only (through its cache); an ungranted or missing
        // one fails the start, and with it the invocation.
        let resolving = references::resolve(&config.environment, &mut secrets);
        let mut environment = match tokio::time::timeout(INIT_TIMEOUT, resolving).await {
            Ok(Ok(environment)) => environment,
            Ok(Err(err)) => {
                return Err(StartError::Guest {
                    error: GuestError::unhandled(&err.code, err.message),
                    output: Vec::new(),
                    init_duration: started.elapsed(),
                    log_stream,
                });
            }
            Err(_) => {
                return Err(StartError::Guest {
                    error: init_timed_out(),
                    output: Vec::new(),
                    init_duration: started.elapsed(),
                    log_stream,
                });
            }
        };
        environment.push(("AWS_LAMBDA_LOG_STREAM_NAME".into(), log_stream.clone()));
        let output = GuestOutput::new(OUTPUT_CAPACITY);
        let host = Host::new(
            &config,
            &environment,
            output.clone(),
            inner.tmp_folders.clone(),
            Imports {
                publishing: publish::Publishing {
                    publisher: inner.publisher.get().cloned(),
                    function_name: config.function_name.clone(),
                    granted: config.topics.clone().into(),
                },
                secrets,
            },
            inner.tmp_max_entries,
            inner.max_handles,
        )
        .map_err(|e| StartError::System(format!("{e:#}")))?;
        let mut store = wasmtime::Store::new(&inner.engine, host);
        store.limiter(|host| &mut host.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut store| {
            let host = store.data_mut();
            if Instant::now() >= host.deadline {
                host.timed_out = true;
                Ok(UpdateDeadline::Interrupt)
            } else if host.tmp.tick() {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store.data_mut().deadline = started + INIT_TIMEOUT;

        let guest_failure = |output: &GuestOutput, error: GuestError| StartError::Guest {
            error,
            output: output.take().0,
            init_duration: started.elapsed(),
            log_stream: log_stream.clone(),
        };
        let bound = INIT_TIMEOUT + HARD_STOP_SLACK;
        let instantiated = async {
            match &prepared.kind {
                super::Kind::Handler(pre) => pre
                    .instantiate_async(&mut store)
                    .await
                    .map(Exports::Handler),
                super::Kind::Http(pre) => {
                    pre.instantiate_async(&mut store).await.map(Exports::Http)
                }
            }
        };
        let exports = match tokio::time::timeout(bound, instantiated).await {
            Ok(Ok(exports)) => exports,
            Ok(Err(err)) if !store.data().timed_out && !store.data().limits.denied => {
                let err = format!("{err:#}");
                // The usual cause once the pool is large: the kernel's
                // cap on memory mappings, not memory.
                let hint = if err.contains("os error 12") {
                    " (if memory is not short, the kernel's vm.max_map_count may be: each \
                         live environment takes a few memory mappings)"
                } else {
                    ""
                };
                // (InvokeError::Instantiate says "could not start an instance".)
                return Err(StartError::System(format!("{err}{hint}")));
            }
            Ok(Err(err)) => {
                let error = init_failure(store.data(), err);
                return Err(guest_failure(&output, error));
            }
            Err(_) => return Err(guest_failure(&output, init_timed_out())),
        };
        // A wasi:http component has no init: its Init is the instantiation.
        if let Exports::Handler(handler) = &exports {
            let remaining = bound.saturating_sub(started.elapsed());
            match tokio::time::timeout(remaining, handler.call_init(&mut store)).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(err))) => {
                    let error = GuestError::unhandled(&err.error_type, err.error_message);
                    return Err(guest_failure(&output, error));
                }
                Ok(Err(err)) => {
                    let error = init_failure(store.data(), err);
                    return Err(guest_failure(&output, error));
                }
                Err(_) => return Err(guest_failure(&output, init_timed_out())),
            }
        }
        let init_duration = started.elapsed();
        Ok((
            Environment {
                config,
                log_stream,
                store,
                exports,
                output,
                last_used: Duration::ZERO,
                invocations: 0,
                provisioned: false,
                _admission: admission,
            },
            init_duration,
        ))
    }

    /// Starts the clock on a call: its deadline, from now.
    fn begin(&mut self, timeout: Duration) -> Instant {
        let started = Instant::now();
        self.store.data_mut().deadline = started + timeout;
        // Count epoch ticks from now: a deadline left over from an earlier
        // call would interrupt this one at its first check.
        self.store.set_epoch_deadline(1);
        self.invocations += 1;
        started
    }

    /// Runs one invocation, bounded by the function's timeout.
    pub async fn call(&mut self, call: Call) -> Called {
        let timeout = self.config.timeout;
        if !matches!(self.exports, Exports::Handler(_)) {
            return wrong_entrypoint(
                &call.request_id,
                "the function is a wasi:http component: it is called over HTTP (its function \
                 URL or a route), not with an event",
            );
        }
        let started = self.begin(timeout);
        self.store.data_mut().chain_depth = call.chain_depth;
        self.store.data_mut().trace_id.clone_from(&call.trace_id);
        let deadline_ms = (SystemTime::now() + timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let context = wit::Context {
            request_id: call.request_id.clone(),
            // Another account's function is keyed `<account>:<name>` (no
            // function name holds a ':'): the guest sees its name.
            function_name: self
                .config
                .function_name
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string(),
            function_version: self.config.function_version.clone(),
            invoked_function_arn: call.invoked_function_arn,
            memory_limit_in_mb: self.config.memory_mb,
            deadline_ms,
            trace_id: call.trace_id,
            client_context: call.client_context,
        };
        let Exports::Handler(handler) = &self.exports else {
            unreachable!("checked above");
        };
        let pending = handler.call_handle(&mut self.store, &context, &call.payload);
        let outcome = bounded(timeout + HARD_STOP_SLACK, pending).await;
        let duration = started.elapsed();
        if let Some(over) = self.over_tmp(&call.request_id, duration) {
            return over;
        }
        let (result, poisoned) = match outcome {
            Ok(Ok(Ok(response))) if response.len() > MAX_RESPONSE_BYTES => (
                Err(GuestError::unhandled(
                    "Function.ResponseSizeTooLarge",
                    format!(
                        "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                    ),
                )),
                false,
            ),
            Ok(Ok(Ok(response))) => (Ok(response), false),
            Ok(Ok(Err(err))) => (
                Err(GuestError {
                    kind: ErrorKind::Handled,
                    error_type: err.error_type,
                    error_message: err.error_message,
                }),
                false,
            ),
            Ok(Err(err)) => (Err(self.classify(&call.request_id, err)), true),
            Err(_) => (Err(timed_out(&call.request_id, timeout)), true),
        };
        Called {
            result,
            duration,
            poisoned,
        }
    }

    /// Writes since the last check count too: a call that leaves /tmp over
    /// its cap fails, even if it returned.
    fn over_tmp(&mut self, request_id: &str, duration: Duration) -> Option<Called> {
        if !self.store.data_mut().tmp.check() {
            return None;
        }
        Some(Called {
            result: Err(tmp_exceeded(
                request_id,
                self.config.ephemeral_storage_mb,
                self.store.data().tmp.max_entries,
            )),
            duration,
            poisoned: true,
        })
    }

    /// Hands one HTTP request to a `wasi:http` component, bounded by the
    /// function's timeout. The response goes to `respond` as soon as the
    /// guest sets it (its body streams from then on); this returns when
    /// the guest's `handle` does.
    pub async fn call_http(
        &mut self,
        call: crate::HttpCall,
        respond: tokio::sync::oneshot::Sender<Result<http::Response<crate::HttpBody>, String>>,
    ) -> Called {
        if !matches!(self.exports, Exports::Http(_)) {
            return wrong_entrypoint(
                &call.request_id,
                "the function is a JSON handler, not a wasi:http component",
            );
        }
        let timeout = self.config.timeout;
        let started = self.begin(timeout);
        let resources =
            crate::http::request_resources(self.store.data_mut(), call.request, respond);
        let (request, outparam, set) = match resources {
            Ok(resources) => resources,
            Err(err) => {
                return Called {
                    result: Err(GuestError::unhandled(
                        "Runtime.InvalidRequest",
                        format!("RequestId: {} Error: {err:#}", call.request_id),
                    )),
                    duration: started.elapsed(),
                    poisoned: false,
                };
            }
        };
        let Exports::Http(proxy) = &self.exports else {
            unreachable!("checked above");
        };
        let pending =
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut self.store, request, outparam);
        let outcome = bounded(timeout + HARD_STOP_SLACK, pending).await;
        let duration = started.elapsed();
        if let Some(over) = self.over_tmp(&call.request_id, duration) {
            return over;
        }
        let (result, poisoned) = match outcome {
            Ok(Ok(())) if set.load(std::sync::atomic::Ordering::Acquire) => (Ok(Vec::new()), false),
            Ok(Ok(())) => (Err(crate::http::no_response(&call.request_id)), false),
            Ok(Err(err)) => (Err(self.classify(&call.request_id, err)), true),
            Err(_) => (Err(timed_out(&call.request_id, timeout)), true),
        };
        Called {
            result,
            duration,
            poisoned,
        }
    }

    /// The guest's output since the last take, and how many bytes of it were
    /// dropped for space.
    pub fn take_output(&self) -> (Vec<u8>, u64) {
        self.output.take()
    }

    /// Lambda's Max Memory Used: this environment's linear-memory high water.
    pub fn max_memory_used(&self) -> u64 {
        self.store.data().limits.peak as u64
    }

    /// The Shutdown phase, bounded by [`SHUTDOWN_TIMEOUT`]; what the guest
    /// prints goes to `sink`. Then the environment, its instance slot and
    /// its /tmp are gone.
    pub async fn shutdown(mut self, sink: super::OutputSink) {
        self.store.data_mut().deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        self.store.set_epoch_deadline(1);
        // A wasi:http component has no shutdown hook.
        if let Exports::Handler(handler) = &self.exports {
            let pending = handler.call_shutdown(&mut self.store);
            match tokio::time::timeout(SHUTDOWN_TIMEOUT + HARD_STOP_SLACK, pending).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::debug!(
                    function = %self.config.function_name, cause = %format!("{err:#}"),
                    "shutdown hook failed"
                ),
                Err(_) => {
                    tracing::debug!(function = %self.config.function_name, "shutdown hook timed out")
                }
            }
        }
        let (output, _) = self.output.take();
        if !output.is_empty() {
            sink(&self.config.function_name, &self.log_stream, &output);
        }
    }

    /// Names a trap the way Lambda names the matching failure.
    fn classify(&self, request_id: &str, err: wasmtime::Error) -> GuestError {
        let host = self.store.data();
        if host.timed_out {
            return timed_out(request_id, self.config.timeout);
        }
        if host.limits.denied {
            return out_of_memory(request_id, self.config.memory_mb);
        }
        if host.tmp.exceeded {
            return tmp_exceeded(
                request_id,
                self.config.ephemeral_storage_mb,
                host.tmp.max_entries,
            );
        }
        exit_error(request_id, err)
    }
}

/// A call of the kind the component does not serve: it fails, and the
/// environment stays as it was.
fn wrong_entrypoint(request_id: &str, why: &str) -> Called {
    Called {
        result: Err(GuestError::unhandled(
            "Runtime.InvalidEntrypoint",
            format!("RequestId: {request_id} Error: {why}"),
        )),
        duration: Duration::ZERO,
        poisoned: false,
    }
}

fn timed_out(request_id: &str, timeout: Duration) -> GuestError {
    GuestError::unhandled(
        "Sandbox.Timedout",
        format!(
            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        ),
    )
}

fn tmp_exceeded(request_id: &str, storage_mb: u32, max_entries: u64) -> GuestError {
    GuestError::unhandled(
        "Runtime.EphemeralStorageExceeded",
        format!(
            "RequestId: {request_id} Error: /tmp exceeded the function's ephemeral storage of {storage_mb} MB or {max_entries} files"
        ),
    )
}

fn init_timed_out() -> GuestError {
    GuestError::unhandled(
        "Sandbox.Timedout",
        format!(
            "Init phase timed out after {:.2} seconds",
            INIT_TIMEOUT.as_secs_f64()
        ),
    )
}

fn out_of_memory(request_id: &str, memory_mb: u32) -> GuestError {
    GuestError::unhandled(
        "Runtime.OutOfMemory",
        format!(
            "RequestId: {request_id} Error: Runtime exited with error: memory limit of {memory_mb} MB exceeded"
        ),
    )
}

/// A failure while starting the instance or running `init`.
fn init_failure(host: &Host, err: wasmtime::Error) -> GuestError {
    if host.timed_out {
        return init_timed_out();
    }
    if host.limits.denied {
        return GuestError::unhandled(
            "Runtime.OutOfMemory",
            format!(
                "Init phase: memory limit of {} MB exceeded",
                host.limits.limit / (1024 * 1024)
            ),
        );
    }
    if host.tmp.exceeded {
        return GuestError::unhandled(
            "Runtime.EphemeralStorageExceeded",
            format!(
                "Init phase: /tmp exceeded its ephemeral storage of {} bytes or {} files",
                host.tmp.limit, host.tmp.max_entries
            ),
        );
    }
    let mut error = exit_error("init", err);
    error.error_type = "Runtime.InitError".into();
    error
}

fn exit_error(request_id: &str, err: wasmtime::Error) -> GuestError {
    // The handle cap (`ResourceTable`'s capacity): the guest's own failure.
    if err
        .chain()
        .any(|cause| cause.to_string() == "resource table has no free keys")
    {
        return GuestError::unhandled(
            "Runtime.TooManyOpenFiles",
            format!(
                "RequestId: {request_id} Error: the function holds too many open files, \
                 streams and handles (runtime.max_handles)"
            ),
        );
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return GuestError::unhandled(
            "Runtime.ExitError",
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: exit status {}",
                exit.0
            ),
        );
    }
    let cause = match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => "stack overflow (call stack exhausted)".to_string(),
        Some(trap) => trap.to_string(),
        None => format!("{err:#}"),
    };
    GuestError::unhandled(
        "Runtime.ExitError",
        format!("RequestId: {request_id} Error: Runtime exited with error: {cause}"),
    )
}
