//! The wasmtime runtime: one engine, compiled code per code hash, and running
//! one invocation in a fresh, isolated instance.
//!
//! Owns everything wasmtime: the `Engine` (component model, async, epoch
//! interruption, pooling allocator), the WASI linker, the compiled-code cache
//! ([`cache`]) and the guest's output capture ([`output`]). It knows nothing
//! about functions, names or the store: callers hand it code bytes and an
//! [`Invocation`], and get back an [`Outcome`].

mod cache;
mod host;
mod output;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig, UpdateDeadline};

use cache::CodeCache;
pub use cache::Load;
use host::Host;
use output::GuestOutput;

use crate::config::RuntimeConfig;

mod bindings {
    wasmtime::component::bindgen!({
        world: "handler",
        path: "../proto/wit",
        exports: { default: async },
    });
}

use bindings::funnel::function::types as wit;

/// How often the engine's epoch ticks: the granularity of timeouts and of
/// a running guest yielding to other tasks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The most guest output kept per invocation (the tail is kept).
const OUTPUT_CAPACITY: usize = 256 * 1024;

/// The largest response a function may return, as Lambda's sync limit.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Cheap to clone; all clones share one engine and one cache.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<Host>,
    cache: CodeCache,
    prepared: Mutex<HashMap<String, Arc<Prepared>>>,
    /// One permit per instance slot of the pooling allocator.
    slots: Arc<Semaphore>,
    max_instances: u32,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A component compiled, linked and checked against our world: ready to
/// instantiate with no further compile or link work.
pub struct Prepared {
    pre: bindings::HandlerPre<Host>,
}

/// Why code cannot become a function.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The bytes are not a component of the `funnel:function/handler` world.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Internal(String),
}

/// Why an invocation could not start. (A guest that fails is an
/// [`Outcome`], not an error.)
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("all {0} execution slots are busy")]
    Busy(u32),
    #[error("could not start an instance: {0}")]
    Instantiate(String),
}

/// Compiled-code cache counters since the runtime started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// One call of a guest's `handle`.
pub struct Invocation {
    pub request_id: String,
    pub function_name: String,
    pub function_version: String,
    pub invoked_function_arn: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub environment: Vec<(String, String)>,
    pub payload: Vec<u8>,
    pub client_context: Option<String>,
    pub trace_id: Option<String>,
}

/// What happened in one invocation.
pub struct Outcome {
    pub result: Result<Vec<u8>, GuestError>,
    /// The guest's stdout and stderr, interleaved as written (the tail, if
    /// it wrote more than the capacity; `output_dropped` counts the rest).
    pub output: Vec<u8>,
    pub output_dropped: u64,
    /// Instantiation (the cold start), then the call.
    pub init_duration: Duration,
    pub duration: Duration,
    pub max_memory_used: u64,
}

/// Whether the guest returned the error itself or was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Handled,
    Unhandled,
}

/// Lambda's `{"errorType": ..., "errorMessage": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestError {
    pub kind: ErrorKind,
    pub error_type: String,
    pub error_message: String,
}

impl GuestError {
    fn unhandled(error_type: &str, error_message: String) -> Self {
        GuestError {
            kind: ErrorKind::Unhandled,
            error_type: error_type.to_string(),
            error_message,
        }
    }
}

impl Runtime {
    /// Builds the engine and reserves the instance pool. Fails if the
    /// operating system refuses the pool's address-space reservation.
    pub fn new(config: &RuntimeConfig, cache_dir: std::path::PathBuf) -> anyhow::Result<Runtime> {
        let engine = build_engine(config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("linking WASI: {e:#}"))?;
        let cache = CodeCache::new(cache_dir.clone(), &engine).map_err(|e| {
            anyhow::anyhow!(
                "creating the compiled-code cache {}: {e}",
                cache_dir.display()
            )
        })?;
        spawn_epoch_ticker(&engine)?;
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                prepared: Mutex::new(HashMap::new()),
                slots: Arc::new(Semaphore::new(config.max_instances as usize)),
                max_instances: config.max_instances,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            }),
        })
    }

    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
        }
    }

    /// The prepared code for `sha256`: compiled, linked and checked against
    /// our world. Loads compiled code from the cache, or compiles `code()`
    /// on a miss (and caches it once it has passed the checks). Blocking:
    /// call from a blocking thread.
    pub fn prepare<'a>(
        &self,
        sha256: &str,
        code: impl FnOnce() -> Result<Cow<'a, [u8]>, CodeError>,
    ) -> Result<Arc<Prepared>, CodeError> {
        if let Some(prepared) = self.prepared(sha256) {
            return Ok(prepared);
        }
        let started = Instant::now();
        let (component, load) = self.inner.cache.load(&self.inner.engine, sha256, || {
            let code = code()?;
            check_header(&code)?;
            Ok(code)
        })?;
        let prepared = Arc::new(self.link(&component)?);
        let counter = match load {
            Load::Hit => &self.inner.hits,
            Load::Miss => {
                self.inner.cache.store(sha256, &component);
                &self.inner.misses
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            code_sha256 = sha256,
            cache = if load == Load::Hit { "hit" } else { "miss" },
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "loaded function code"
        );
        self.lock_prepared()
            .insert(sha256.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// Already-prepared code for `sha256`, if any.
    pub fn prepared(&self, sha256: &str) -> Option<Arc<Prepared>> {
        self.lock_prepared().get(sha256).cloned()
    }

    /// Forgets `sha256`'s prepared and compiled code (no function uses it).
    pub fn forget(&self, sha256: &str) {
        self.lock_prepared().remove(sha256);
        self.inner.cache.remove(sha256);
    }

    fn lock_prepared(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Prepared>>> {
        self.inner
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn link(&self, component: &Component) -> Result<Prepared, CodeError> {
        let pre = self.inner.linker.instantiate_pre(component).map_err(|e| {
            CodeError::Invalid(format!(
                "the component imports something funnel does not provide (only WASI 0.2 is available): {e:#}"
            ))
        })?;
        let pre = bindings::HandlerPre::new(pre).map_err(|e| {
            CodeError::Invalid(format!(
                "the component does not export the funnel:function/handler world \
                 (handle: func(context, event: list<u8>) -> result<list<u8>, function-error>): {e:#}"
            ))
        })?;
        Ok(Prepared { pre })
    }

    /// Runs one invocation in a fresh instance, bounded by the invocation's
    /// memory and timeout.
    pub async fn invoke(
        &self,
        prepared: &Prepared,
        invocation: Invocation,
    ) -> Result<Outcome, InvokeError> {
        let _slot = self
            .inner
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| InvokeError::Busy(self.inner.max_instances))?;

        let output = GuestOutput::new(OUTPUT_CAPACITY);
        let memory_bytes = invocation.memory_mb as usize * 1024 * 1024;
        let host = Host::new(&invocation.environment, output.clone(), memory_bytes);
        let mut store = wasmtime::Store::new(&self.inner.engine, host);
        store.limiter(|host| &mut host.limits);

        let started = Instant::now();
        let deadline = started + invocation.timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut store| {
            if Instant::now() >= deadline {
                store.data_mut().timed_out = true;
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });

        let deadline_ms = (SystemTime::now() + invocation.timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let context = wit::Context {
            request_id: invocation.request_id.clone(),
            function_name: invocation.function_name,
            function_version: invocation.function_version,
            invoked_function_arn: invocation.invoked_function_arn,
            memory_limit_in_mb: invocation.memory_mb,
            deadline_ms,
            trace_id: invocation.trace_id,
            client_context: invocation.client_context,
        };

        // The epoch callback stops a guest that computes past its deadline;
        // this outer bound also stops one that waits in a host call.
        let hard_stop = invocation.timeout + EPOCH_TICK * 5;
        let handler =
            match tokio::time::timeout(hard_stop, prepared.pre.instantiate_async(&mut store)).await
            {
                Ok(Ok(handler)) => handler,
                Ok(Err(err)) if !store.data().timed_out && !store.data().limits.denied => {
                    return Err(InvokeError::Instantiate(format!("{err:#}")));
                }
                // A guest whose start function runs out of time or memory fails
                // like any other call.
                Ok(Err(err)) => {
                    let result = Err(classify(
                        store.data(),
                        &invocation.request_id,
                        invocation.timeout,
                        err,
                    ));
                    return Ok(finish(store, &output, result, started, started.elapsed()));
                }
                Err(_) => {
                    let result = Err(timed_out(&invocation.request_id, invocation.timeout));
                    return Ok(finish(store, &output, result, started, started.elapsed()));
                }
            };
        let init_duration = started.elapsed();

        let call = handler.call_handle(&mut store, &context, &invocation.payload);
        let result = match tokio::time::timeout(hard_stop.saturating_sub(init_duration), call).await
        {
            Ok(Ok(Ok(response))) if response.len() > MAX_RESPONSE_BYTES => {
                Err(GuestError::unhandled(
                    "Function.ResponseSizeTooLarge",
                    format!(
                        "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                    ),
                ))
            }
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(err))) => Err(GuestError {
                kind: ErrorKind::Handled,
                error_type: err.error_type,
                error_message: err.error_message,
            }),
            Ok(Err(err)) => Err(classify(
                store.data(),
                &invocation.request_id,
                invocation.timeout,
                err,
            )),
            Err(_) => Err(timed_out(&invocation.request_id, invocation.timeout)),
        };
        Ok(finish(store, &output, result, started, init_duration))
    }
}

fn finish(
    store: wasmtime::Store<Host>,
    output: &GuestOutput,
    result: Result<Vec<u8>, GuestError>,
    started: Instant,
    init_duration: Duration,
) -> Outcome {
    let max_memory_used = store.data().limits.peak as u64;
    drop(store);
    let (output, output_dropped) = output.take();
    Outcome {
        result,
        output,
        output_dropped,
        duration: started.elapsed().saturating_sub(init_duration),
        init_duration,
        max_memory_used,
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

/// Names a trap the way Lambda names the matching failure.
fn classify(host: &Host, request_id: &str, timeout: Duration, err: wasmtime::Error) -> GuestError {
    if host.timed_out {
        return timed_out(request_id, timeout);
    }
    if host.limits.denied {
        return GuestError::unhandled(
            "Runtime.OutOfMemory",
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: memory limit of {} MB exceeded",
                host.limits.limit / (1024 * 1024)
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
        Some(trap) => trap.to_string(),
        None => format!("{err:#}"),
    };
    GuestError::unhandled(
        "Runtime.ExitError",
        format!("RequestId: {request_id} Error: Runtime exited with error: {cause}"),
    )
}

fn check_header(code: &[u8]) -> Result<(), CodeError> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_VERSION: &[u8] = &[1, 0, 0, 0];
    if code.is_empty() {
        return Err(CodeError::Invalid("the code is empty".into()));
    }
    if !code.starts_with(MAGIC) {
        return Err(CodeError::Invalid(
            "the code is not WebAssembly (it does not start with \\0asm)".into(),
        ));
    }
    if code.get(4..8) == Some(CORE_VERSION) {
        return Err(CodeError::Invalid(
            "the code is a core WebAssembly module, not a component: build it for \
             wasm32-wasip2 (or wrap it with `wasm-tools component new`)"
                .into(),
        ));
    }
    Ok(())
}

fn build_engine(config: &RuntimeConfig) -> anyhow::Result<Engine> {
    let instances = config.max_instances;
    let max_memory = config.max_memory_mb as usize * 1024 * 1024;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(16))
        .max_core_instances_per_component(64)
        .total_memories(instances.saturating_mul(2))
        .max_memories_per_component(4)
        .total_tables(instances.saturating_mul(16))
        .max_tables_per_component(64)
        .total_stacks(instances)
        .max_memory_size(max_memory);

    // Reserve at least 4 GiB per memory so bounds checks compile away, and
    // enough for the largest MemorySize allowed.
    let reservation = (max_memory as u64).max(4 << 30);
    let mut wasm = wasmtime::Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .memory_reservation(reservation)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm).map_err(|e| {
        anyhow::anyhow!(
            "starting the wasm engine with a pool of {instances} instances of up to {} MB each \
             (lower runtime.max_instances or runtime.max_memory_mb if the system refused the \
             address-space reservation): {e:#}",
            config.max_memory_mb
        )
    })
}

/// Ticks the engine's epoch until the engine is dropped. Without it no
/// guest could be interrupted, so failing to start it fails the runtime.
fn spawn_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("funnel-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map_err(|e| anyhow::anyhow!("starting the epoch ticker thread: {e}"))?;
    Ok(())
}
