//! # funnel-runtime — the wasmtime runtime
//!
//! One engine, compiled code per code hash, and execution environments
//! that run invocations the way Lambda does. The only crate that uses
//! wasmtime.
//!
//! # Layout
//!
//! - `engine`: the `Engine`: component model, async, epoch
//!   interruption, pooling allocator.
//! - `cache`: the compiled-code cache on disk ([`Load`]).
//! - `bounds`: what uploaded code may ask of the compiler, measured before
//!   it compiles ([`measure_code`]), and the compile's deadline.
//! - `calls`: running a call: a warm environment or a cold start (an
//!   instance slot and the memory budget), here then on the guest threads,
//!   the environment back in its pool.
//! - `environment`, `host`: an execution environment and its store state
//!   (WASI context, `/tmp`, limits).
//! - `pool`: warm environments per function version, provisioned ones.
//! - `output`: the guest's stdout/stderr capture.
//! - `threads`: the threads guests run on.
//! - `tmp_folders`: environments' `/tmp` folders, made ahead and given to
//!   a guest when it first takes its preopened directories.
//! - `publish`: the `funnel:function/topics` import, handed to the
//!   [`TopicPublisher`] port the server sets.
//! - [`secrets`]: the `funnel:function/secrets` import, read through the
//!   [`SecretSource`] port the server sets, with each environment's cache.
//! - [`references`]: `{{resolve:ssm:...}}` and
//!   `{{resolve:secretsmanager:...}}` in environment variables, resolved
//!   when an environment starts.
//! - `http`: `wasi:http/incoming-handler` components: a request handed to
//!   a warm environment, its response streamed back ([`HttpCall`],
//!   [`HttpInvocation`]); their outgoing requests refused.
//! - `wasi`: the WASI a guest gets (no `wasi:sockets`; `/tmp` made on
//!   first use).
//! - [`clock`]: the one clock every time-based behaviour runs on.
//! - [`config`]: the `[runtime]` settings ([`RuntimeConfig`]).
//! - `floor` (feature `floor`): bare wasmtime, the benchmark's baseline.
//!
//! It knows nothing about function records, the store or any transport:
//! callers hand it code bytes, an [`EnvironmentConfig`] and a [`Call`] (or
//! an [`HttpCall`] for a `wasi:http` component), and get back an
//! [`Outcome`].

mod bounds;
mod cache;
mod calls;
pub mod clock;
pub mod config;
mod engine;
mod environment;
mod environment_config;
#[cfg(feature = "floor")]
pub mod floor;
mod host;
mod http;
mod output;
mod pool;
mod publish;
pub mod references;
pub mod secrets;
pub use environment_config::{BucketMount, EnvironmentConfig};
mod threads;
mod tmp_folders;
mod wasi;

use std::borrow::Cow;
use std::collections::HashMap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

pub use bounds::{Measure, check as measure_code};
use cache::CodeCache;
pub use cache::{CodeKey, Load};
use engine::{build_engine, spawn_epoch_ticker};
use environment::{Environment, StartError};
pub use environment::{INIT_TIMEOUT, SHUTDOWN_TIMEOUT};
use host::Host;
pub use http::{BoxError, HttpBody, HttpCall, HttpInvocation};
use pool::Pools;
pub use pool::ProvisionedUsage;
pub use publish::{GuestAttribute, GuestPublish, PublishError, PublishFuture, TopicPublisher};
pub use secrets::{Grantee, GuestParameter, GuestSecret, SecretError, SecretFuture, SecretSource};
use threads::GuestThreads;

pub use clock::Clock;
pub use config::RuntimeConfig;

mod bindings {
    wasmtime::component::bindgen!({
        world: "handler",
        path: "../../proto/wit",
        imports: { "funnel:function/topics": async, "funnel:function/secrets": async },
        exports: { default: async },
    });
}

/// Where a granted bucket appears in the guest.
pub fn bucket_guest_path(bucket: &str) -> String {
    format!("/buckets/{bucket}")
}

/// How long a cold start waits for a busy environment to give back memory
/// of the budget before it is throttled, and how often it looks.
const MEMORY_WAIT: Duration = Duration::from_millis(200);
const MEMORY_POLL: Duration = Duration::from_millis(5);

/// What a live environment holds: an instance slot and its memory of the
/// host budget, given back when it is retired.
pub(crate) struct Admission {
    _slot: OwnedSemaphorePermit,
    _memory: OwnedSemaphorePermit,
}

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
    /// One permit per instance slot of the pooling allocator; an
    /// environment holds one for its whole life, idle or busy.
    slots: Arc<Semaphore>,
    /// One permit per MB of the host memory budget; an environment holds
    /// its `MemorySize` for its whole life.
    memory: Arc<Semaphore>,
    memory_budget_mb: u64,
    max_instances: u32,
    pools: Pools,
    clock: Clock,
    idle_timeout: Duration,
    /// Entries an environment's `/tmp` may hold.
    tmp_max_entries: u64,
    /// Handles an environment may hold at once.
    max_handles: usize,
    /// Each environment's /tmp is a folder under here, made ahead.
    tmp_folders: tmp_folders::TmpFolders,
    next_environment: AtomicU64,
    /// Distinguishes this runtime's log streams from an earlier run's.
    instance_key: u64,
    guest_threads: GuestThreads,
    /// Where what a guest prints in its Shutdown phase goes.
    background_output: OutputSink,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Where guests' publishes go; set once the server's topics exist.
    /// Weak: the topics hold this runtime.
    publisher: std::sync::OnceLock<std::sync::Weak<dyn TopicPublisher>>,
    /// Where guests' secrets come from; set once the server's vault is
    /// open. Weak, as the publisher.
    secret_source: std::sync::OnceLock<std::sync::Weak<dyn SecretSource>>,
    /// How long an environment keeps what it read of its secrets.
    secret_cache_ttl: Duration,
}

/// A component compiled, linked and checked against one of the worlds a
/// function may be: ready to instantiate with no further compile or link
/// work.
pub struct Prepared {
    kind: Kind,
}

/// Which world a component exports, found when it is linked.
enum Kind {
    /// `funnel:function/handler`: JSON in, JSON out.
    Handler(bindings::HandlerPre<Host>),
    /// `wasi:http/proxy`: an HTTP request in, a streamed response out.
    Http(wasmtime_wasi_http::p2::bindings::ProxyPre<Host>),
}

impl Prepared {
    /// Whether the component is a `wasi:http/incoming-handler` (served
    /// over HTTP only) rather than a JSON handler.
    pub fn is_http(&self) -> bool {
        matches!(self.kind, Kind::Http(_))
    }
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
    /// Live environments hold the whole host memory budget.
    #[error(
        "starting an environment of {memory_mb} MB would exceed the host memory budget of \
         {budget_mb} MB (runtime.memory_budget_mb)"
    )]
    MemoryBudget { memory_mb: u32, budget_mb: u64 },
    #[error("could not start an instance: {0}")]
    Instantiate(String),
}

/// Compiled-code cache counters since the runtime started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// Receives a guest's output outside an invocation (its Shutdown phase):
/// function name, log stream, bytes.
pub type OutputSink = Arc<dyn Fn(&str, &str, &[u8]) + Send + Sync>;

/// One invocation's inputs.
pub struct Call {
    pub request_id: String,
    pub invoked_function_arn: String,
    pub payload: Vec<u8>,
    pub client_context: Option<String>,
    pub trace_id: Option<String>,
    /// Invocations before this one in its chain of triggers (0 for a
    /// direct invoke); what the guest publishes carries one more.
    pub chain_depth: u32,
}

/// What happened in one invocation.
pub struct Outcome {
    pub result: Result<Vec<u8>, GuestError>,
    /// The guest's stdout and stderr since its last call (including its
    /// `init` output on a cold start), interleaved as written; the tail if it
    /// wrote more than the capacity (`output_dropped` counts the rest).
    pub output: Vec<u8>,
    pub output_dropped: u64,
    /// `Some` on a cold start: instantiation plus the guest's `init`.
    pub init_duration: Option<Duration>,
    pub duration: Duration,
    pub max_memory_used: u64,
    /// The environment's log stream.
    pub log_stream: String,
    /// The call ran in a provisioned environment.
    pub provisioned: bool,
    /// The version has provisioned concurrency but all of it was busy: the
    /// call ran in an on-demand environment.
    pub spillover: bool,
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
    pub fn unhandled(error_type: &str, error_message: String) -> Self {
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
    /// Compiled code is cached in `data_dir/compiled`, environments' /tmp
    /// folders live in `data_dir/environments` (emptied here).
    pub fn new(
        config: &RuntimeConfig,
        data_dir: &std::path::Path,
        clock: Clock,
        background_output: OutputSink,
        code_key: CodeKey,
    ) -> anyhow::Result<Runtime> {
        let cache_dir = data_dir.join("compiled");
        let environments_dir = data_dir.join("environments");
        tmp_folders::clear_environments(data_dir, &environments_dir)?;
        std::fs::create_dir_all(&environments_dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", environments_dir.display()))?;
        let engine = build_engine(config)?;
        let memory_budget_mb = config
            .memory_budget_mb()
            .unwrap_or(u64::MAX)
            .min(Semaphore::MAX_PERMITS as u64);
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e:#}"))?;
        bindings::Handler::add_to_linker::<Host, wasmtime::component::HasSelf<Host>>(
            &mut linker,
            |host| host,
        )
        .map_err(|e| anyhow::anyhow!("linking funnel:function: {e:#}"))?;
        let cache = CodeCache::new(cache_dir.clone(), &engine, code_key, config.compile_timeout)
            .map_err(|e| {
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
                memory: Arc::new(Semaphore::new(memory_budget_mb as usize)),
                memory_budget_mb,
                max_instances: config.max_instances,
                pools: Pools::default(),
                clock,
                idle_timeout: config.idle_timeout,
                tmp_max_entries: config.tmp_max_entries,
                max_handles: config.max_handles,
                tmp_folders: tmp_folders::TmpFolders::new(&environments_dir),
                next_environment: AtomicU64::new(0),
                instance_key: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or_default(),
                guest_threads: GuestThreads::new(config.guest_threads())?,
                background_output,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                publisher: std::sync::OnceLock::new(),
                secret_source: std::sync::OnceLock::new(),
                secret_cache_ttl: config.secret_cache_ttl,
            }),
        })
    }

    /// Where guests' publishes go from now on (once; later calls are
    /// ignored). The runtime keeps a weak reference: the caller keeps
    /// `publisher` alive for as long as guests may publish.
    pub fn set_publisher(&self, publisher: &Arc<dyn TopicPublisher>) {
        let _ = self.inner.publisher.set(Arc::downgrade(publisher));
    }

    /// Where guests' secrets and parameters come from from now on (once;
    /// later calls are ignored). Weak, as [`Runtime::set_publisher`]: the
    /// caller keeps `source` alive.
    pub fn set_secret_source(&self, source: &Arc<dyn SecretSource>) {
        let _ = self.inner.secret_source.set(Arc::downgrade(source));
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
            bounds::check(&code)?;
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
        let pre = if wasi::wants_socket_stubs(component) {
            let mut linker = self.inner.linker.clone();
            wasi::stub_sockets(&mut linker, component)
                .and_then(|()| linker.instantiate_pre(component))
        } else {
            self.inner.linker.instantiate_pre(component)
        };
        let pre = pre.map_err(|e| {
            CodeError::Invalid(format!(
                "the component imports something funnel does not provide (only WASI 0.2 without \
                 wasi:sockets, funnel:function/topics and funnel:function/secrets are available): {e:#}"
            ))
        })?;
        let kind = match bindings::HandlerPre::new(pre.clone()) {
            Ok(handler) => Kind::Handler(handler),
            Err(handler_err) => match wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre) {
                Ok(proxy) => Kind::Http(proxy),
                Err(_) => {
                    return Err(CodeError::Invalid(format!(
                        "the component exports neither the funnel:function/handler world \
                         (handle: func(context, event: list<u8>) -> result<list<u8>, \
                         function-error>) nor wasi:http/incoming-handler@0.2: {handler_err:#}"
                    )));
                }
            },
        };
        Ok(Prepared { kind })
    }

    /// The memory budget's MB not held by a live environment.
    pub fn memory_available_mb(&self) -> u64 {
        self.inner.memory.available_permits() as u64
    }

    /// Keeps `count` provisioned environments of `config`'s function
    /// version warm: starts the missing ones (init runs now, not in a call)
    /// and retires any beyond `count`. Returns each started one's log stream
    /// and init output, for the function's log.
    pub async fn provision(
        &self,
        prepared: &Prepared,
        config: EnvironmentConfig,
        count: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, InvokeError> {
        let plan = self.inner.pools.provision(config, count);
        self.retire(plan.retire);
        let mut started = Vec::with_capacity(plan.start);
        for left in (0..plan.start).rev() {
            match self.start_provisioned(prepared, plan.config.clone()).await {
                Ok(environment) => started.push(environment),
                Err(err) => {
                    // This one and the ones not tried are not coming.
                    for _ in 0..=left {
                        self.inner.pools.lost_provisioned(&plan.config, false);
                    }
                    return Err(err);
                }
            }
        }
        Ok(started)
    }

    /// Starts one provisioned environment and adds it to its version's pool;
    /// returns its log stream and init output.
    async fn start_provisioned(
        &self,
        prepared: &Prepared,
        config: Arc<EnvironmentConfig>,
    ) -> Result<(String, Vec<u8>), InvokeError> {
        let admission = self.admit(config.memory_mb).await?;
        let mut environment = match Environment::start(self, prepared, config, admission).await {
            Ok((environment, _)) => environment,
            Err(StartError::System(why)) => return Err(InvokeError::Instantiate(why)),
            Err(StartError::Guest { error, .. }) => {
                return Err(InvokeError::Instantiate(format!(
                    "the function's init failed: {}: {}",
                    error.error_type, error.error_message
                )));
            }
        };
        environment.provisioned = true;
        environment.last_used = self.inner.clock.now();
        let (output, _) = environment.take_output();
        let started = (environment.log_stream.clone(), output);
        let checkin = self.inner.pools.add_provisioned(environment);
        self.retire(checkin.stale.into_iter().collect());
        if let Some(config) = checkin.replace {
            // Its version restarted while it started: one more, current.
            match self.prepared(&config.code_sha256) {
                Some(prepared) => self.spawn_replacement(&prepared, config),
                None => {
                    self.inner.pools.lost_provisioned(&config, false);
                }
            }
        }
        Ok(started)
    }

    /// Starts a provisioned environment in place of one that trapped or
    /// timed out. Its init output goes to the function's log; if it cannot
    /// start, the version runs with one fewer until provisioned again.
    async fn replace_provisioned(&self, prepared: Arc<Prepared>, config: Arc<EnvironmentConfig>) {
        let function = config.function_name.clone();
        match self.start_provisioned(&prepared, config.clone()).await {
            Ok((stream, output)) => {
                if !output.is_empty() {
                    (self.inner.background_output)(&function, &stream, &output);
                }
                tracing::info!(%function, version = %config.function_version, "replaced a provisioned environment");
            }
            Err(err) => {
                self.inner.pools.lost_provisioned(&config, false);
                tracing::error!(%function, version = %config.function_version, cause = %err, "could not replace a provisioned environment");
            }
        }
    }

    /// A version keeps no provisioned environments any more: retires the
    /// idle ones now, the busy ones become on-demand when they come back.
    pub async fn unprovision(&self, function_name: &str, version: &str) {
        let taken = self.inner.pools.unprovision(function_name, version);
        self.shutdown_all(taken).await;
    }

    /// Every version with provisioned concurrency, and how much is busy.
    pub fn provisioned_usage(&self) -> Vec<ProvisionedUsage> {
        self.inner.pools.provisioned_usage()
    }

    /// Provisioned environments of a version not serving a call now.
    pub fn provisioned_idle(&self, function_name: &str, version: &str) -> usize {
        self.inner.pools.provisioned_idle(function_name, version)
    }

    /// Runs the shutdown hooks of `environments` in the background.
    fn retire(&self, environments: Vec<Environment>) {
        for environment in environments {
            tokio::spawn(environment.shutdown(self.inner.background_output.clone()));
        }
    }

    /// Retires a function's idle environments now and its busy ones when
    /// their calls finish (its code or configuration changed, or it is gone).
    /// `version` limits it to one version's environments.
    pub async fn retire_function(&self, function_name: &str, version: Option<&str>) {
        let retired = self.inner.pools.retire_function(function_name, version);
        self.shutdown_all(retired).await;
    }

    /// Restarts a function's execution environments, every version's: the
    /// idle ones are retired now, the busy ones when their calls finish,
    /// and provisioned ones are started again. The next call of each
    /// version starts afresh: its init runs again, its variables'
    /// references and its secrets are read anew. Returns how many idle
    /// environments were retired.
    pub async fn restart_function(&self, function_name: &str) -> usize {
        let restart = self.inner.pools.restart_function(function_name);
        let retired = restart.retired.len();
        self.shutdown_all(restart.retired).await;
        for config in restart.start {
            match self.prepared(&config.code_sha256) {
                Some(prepared) => self.spawn_replacement(&prepared, config),
                None => {
                    self.inner.pools.lost_provisioned(&config, false);
                }
            }
        }
        retired
    }

    /// Starts a provisioned environment of `config` in the background (one
    /// already counted as live). Boxed: starting one may ask for another.
    fn spawn_replacement(&self, prepared: &Arc<Prepared>, config: Arc<EnvironmentConfig>) {
        let (runtime, prepared) = (self.clone(), prepared.clone());
        let replace: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> =
            Box::pin(async move { runtime.replace_provisioned(prepared, config).await });
        tokio::spawn(replace);
    }

    /// Retires environments idle for longer than the idle timeout (on the
    /// runtime's clock); returns how many.
    pub async fn retire_idle(&self) -> usize {
        let retired = self
            .inner
            .pools
            .take_idle(self.inner.clock.now(), self.inner.idle_timeout);
        let count = retired.len();
        self.shutdown_all(retired).await;
        count
    }

    /// Retires every idle environment (the server is stopping).
    pub async fn retire_all(&self) {
        self.shutdown_all(self.inner.pools.take_all()).await;
    }

    /// How many environments are idle and warm.
    pub fn idle_environments(&self) -> usize {
        self.inner.pools.idle_count()
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Runs shutdown hooks concurrently on the guest threads and waits for
    /// all of them.
    async fn shutdown_all(&self, environments: Vec<Environment>) {
        let tasks: Vec<_> = environments
            .into_iter()
            .map(|environment| {
                let sink = self.inner.background_output.clone();
                self.inner.guest_threads.spawn(environment.shutdown(sink))
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
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
