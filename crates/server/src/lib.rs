//! # funnel-server — the funnel daemon, as a library
//!
//! A self-hosted, Lambda-style function platform: functions are WebAssembly
//! components run in isolated wasmtime instances ([`funnel_runtime`]); state
//! lives in one embedded sled database ([`funnel_store`]). This crate is the
//! control plane, the doors, the router, dispatch and the gRPC API; the
//! `funnel` binary is a thin CLI over it and over `funnel-client`.
//!
//! # Layout
//!
//! - `config`: the server's configuration, validated before anything starts.
//! - `serve`: running a server: the API, the background tasks under one
//!   guard, the ordered drain at shutdown.
//! - `tls`: the API port's certificate (given, or self-signed into the data
//!   dir) and the rule that a non-loopback listener needs TLS.
//! - `connections`: the API port's connection cap.
//! - [`backup`]: a backup of a running server, and a data dir rebuilt
//!   from one.
//! - `disk`: the free-disk floor below which calls that write are refused.
//! - `concurrency`: the account's concurrency gate: reserved concurrency
//!   (floor and cap), the unreserved pool, throttle reasons.
//! - `error`: the API's typed errors, each with its AWS error name.
//! - `function`: Lambda's limits and naming rules; ARNs (`Naming`), the
//!   `Destination` an ARN names, paging.
//! - `tenancy`: accounts as tenants: resource keys (`<account>:<name>`
//!   outside the home account) and back to names.
//! - `iam`: who is calling and what they may do: users, access keys
//!   (sealed by the master key), identity policies, the authentication
//!   layer in front of every service, each method's IAM action, accounts
//!   and cross-account resource policies.
//!
//! The control plane, one service per concept, each handed to what uses it:
//!
//! - `registry`: the `Registry` of function records (create, get, list,
//!   update, delete), published versions, aliases with weighted routing,
//!   reserved concurrency; how a name and qualifier resolve to a record.
//! - `layers`: the `Layers` service: layer versions, their archives checked
//!   and unpacked once, and the merged read-only `/opt` of a layer list.
//! - `policies`: the `Policies` service: resource policies (statements,
//!   Lambda's JSON, the check a trigger's event must pass), reached by the
//!   registry only through the `Targets` port it implements.
//! - `invoke_config`: the `InvokeConfigs` service:
//!   `FunctionEventInvokeConfig` (retries, age, destinations).
//! - `quotas`: per-account caps on functions, layer versions, topics,
//!   subscriptions, rules and buckets.
//! - `grants`: what a guest is granted (buckets, topics) and the guard
//!   against trigger loops.
//! - `secrets`: the `Vault`: Secrets Manager's secrets and Parameter
//!   Store's parameters per account, sealed under each account's data key
//!   (itself sealed by the master key).
//! - `secret_access`: what a guest may read of its account's secrets and
//!   parameters (`SecretAccess`), checked at every read, and the bridge
//!   from the runtime's `funnel:function/secrets` to the vault.
//!
//! Doors, routing and running:
//!
//! - `invocation`: the direct `Invoke` request (`Invocation`).
//! - `router`: trigger events to functions: the resource-policy check,
//!   then the durable async queue; refused events logged and counted.
//! - `queue`: the durable async queue: group-committed accepts and the
//!   scheduler that hands due events to bounded deliveries.
//! - `dispatch`: running an invocation and shaping Lambda's response; async
//!   deliveries with Lambda's retries, maximum age, destinations, dead
//!   letters; provisioned concurrency.
//! - `buckets`: S3-style buckets over folders: the object API, notification
//!   configurations, S3's event JSON, and the watcher with its object index;
//!   folders confined to the bucket roots, keys resolved beneath them
//!   without following links.
//! - `topics`: SNS-style topics: subscriptions with filter policies,
//!   publishes fanned out durably to async invocations with SNS's event; the
//!   guest's `funnel:function/topics` import.
//! - `schedules`: EventBridge-style rules: schedule expressions (rate and
//!   AWS's six-field cron, fire times by croner), targets, the Scheduled
//!   Event, and the firing loop (at most once per time, across restarts).
//! - `faults`: faults injected on purpose (`funnel fault put`): kept,
//!   matched to calls, decided by a seeded generator; the dispatcher acts
//!   on them where the real failure would happen.
//! - `recordings`: recordings (`funnel record start`): which calls they
//!   take, the entry each call writes, the JSON Lines form, and the
//!   replay that sends a recording's events again through their doors.
//! - `timekeeper`: the virtual clock's driver: moves time forward one
//!   due time at a time and lets what is due run before moving on.
//! - `logs`: function logs (CloudWatch Logs analog): START/END/REPORT
//!   formatting, storage with retention, reads, filters, live tails.
//! - `traces`: tracing in X-Ray's shape: trace contexts (W3C
//!   `traceparent`, `X-Amzn-Trace-Id`), sampling, spans stored off the hot
//!   path (`funnel traces`) and exported over OTLP.
//! - `metrics`: Lambda's metrics per function and account, as OpenMetrics
//!   text on `/metrics` and over gRPC.
//! - `urls`: function URLs (`CreateFunctionUrlConfig` family): a function
//!   or alias given an address on the HTTP listener.
//! - `apis`: routes (API Gateway HTTP API's `CreateRoute` family), one
//!   implicit API per account; route keys parsed and matched, the
//!   matching table the HTTP door reads.
//! - `http`: the HTTP door (hyper): function URLs and routes, Lambda's
//!   payload format 2.0 and 1.0 events, answers shaped by Lambda's rules,
//!   CORS, AuthType NONE/FUNNEL, TLS; `wasi:http` components served their
//!   request streamed (`dispatch` runs them under the same gate and logs).
//! - `listen`: serving HTTP/1.1 for the doors that speak it: connection
//!   cap, header timeout, TLS, the drain at shutdown.
//! - `aws`: the AWS-compatible endpoint: SigV4 verified against the access
//!   keys, each service's wire protocol adapted onto the same gRPC
//!   handlers (Lambda's REST-JSON, SNS's and STS's query protocol, JSON 1.1
//!   for EventBridge and Logs, S3's REST-XML with streamed, verified
//!   bodies).
//! - `api`: tonic services; typed errors become `tonic::Status` only here.
//!
//! Only what another crate uses is `pub`: [`Server`], [`Config`], [`Clock`],
//! the handles tests and the bench read ([`AsyncQueue`], [`Gate`], [`Logs`],
//! [`Metrics`]), [`Schedule`] (stack files check expressions) and the
//! default limits. [`Server::open`] validates and loads everything;
//! [`Server::serve`] takes the listener and the shutdown signal; [`run`]
//! does both.

mod api;
mod apis;
mod aws;
mod backend;
pub mod backup;
mod buckets;
mod concurrency;
pub mod config;
mod connections;
mod disk;
mod dispatch;
mod error;
mod faults;
mod function;
#[cfg(test)]
mod fuzz;
mod grants;
mod http;
mod iam;
mod invocation;
mod invoke_config;
mod layers;
mod listen;
mod logs;
mod metrics;
mod policies;
mod queue;
mod quotas;
mod recordings;
mod registry;
mod router;
mod schedules;
mod secret_access;
mod secrets;
mod serve;
mod tenancy;
mod timekeeper;
mod tls;
mod topics;
mod traces;
mod urls;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

pub use backend::{EventQueue, FireClaims, TopicMessages};
pub use concurrency::Gate;
pub use config::Config;
pub use function::{DEFAULT_EPHEMERAL_STORAGE_MB, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S};
pub use funnel_runtime::Clock;
pub use iam::seal::{Rotation as MasterKeyRotation, rotate as rotate_master_key};
pub use logs::Logs;
pub use metrics::{Metrics, serve_http as serve_metrics};
pub use queue::AsyncQueue;
pub use schedules::Schedule;
pub use serve::run;

use function::Naming;
use funnel_runtime::{CacheStats, Runtime};
use funnel_store::Store;
use invoke_config::InvokeConfigs;
use layers::Layers;
use policies::Policies;
use registry::Registry;

/// The operator's credentials, in the data dir (aws CLI's INI shape).
pub const CREDENTIALS_FILE: &str = "credentials";

/// The label of the key compiled-code files are authenticated with.
const COMPILED_CODE_KEY: &str = "funnel compiled-code MAC v1";

/// A funnel server, opened and ready to serve.
pub struct Server {
    config: Config,
    store: Store,
    runtime: Runtime,
    functions: Registry,
    layers: Layers,
    policies: Policies,
    configs: InvokeConfigs,
    logs: Logs,
    queue: AsyncQueue,
    metrics: metrics::Metrics,
    buckets: buckets::Buckets,
    topics: topics::Topics,
    schedules: schedules::Schedules,
    identities: iam::Identities,
    vault: secrets::Vault,
    urls: urls::FunctionUrls,
    apis: apis::Apis,
    /// Spans: sampled, stored, exported.
    tracer: traces::Tracer,
    /// The HTTP door's listener, when it has one.
    http_listener: Option<tokio::net::TcpListener>,
    aws_listener: Option<tokio::net::TcpListener>,
    /// The API port's certificate, when it serves TLS.
    tls: Option<tls::Tls>,
    /// What guests publish through; the runtime holds it weakly (the
    /// topics hold the runtime), so the server's drop ends both.
    _publisher: Arc<dyn funnel_runtime::TopicPublisher>,
    /// What guests read their secrets through (held weakly by the
    /// runtime, as the publisher).
    _secret_source: Arc<dyn funnel_runtime::SecretSource>,
}

impl Server {
    /// Validates `config`, opens the database, starts the engine and loads
    /// every function's code (from the compiled-code cache when possible).
    pub async fn open(config: Config) -> anyhow::Result<Server> {
        Server::open_with_clock(config, Clock::system()).await
    }

    /// [`Server::open`] with the clock that housekeeping (idle retirement)
    /// runs on; tests pass a manual one.
    pub async fn open_with_clock(config: Config, clock: Clock) -> anyhow::Result<Server> {
        config.validate().context("invalid configuration")?;
        create_private_dir(&config.data_dir)?;
        let tls = tls::Tls::load(&config.tls, &config.data_dir).context("setting up TLS")?;
        let db_dir = config.data_dir.join("db");
        let started = Instant::now();
        let (store, migrated) = tokio::task::spawn_blocking({
            let db_dir = db_dir.clone();
            move || funnel_store::open_migrated(&db_dir)
        })
        .await?
        .with_context(|| format!("opening the database in {}", db_dir.display()))?;
        for step in migrated {
            tracing::info!(step, "migrated the data dir");
        }
        // Checked against the store before anything is written with it.
        let master_key =
            iam::seal::open(&config.data_dir, config.master_key_file.as_deref(), &store)?;
        let vault = secrets::Vault::new(
            store.clone(),
            master_key.clone(),
            &config.region,
            clock.clone(),
        );
        store.set_power_durability(config.store.durability == config::Durability::Power);
        let logs = Logs::start(store.clone(), clock.clone(), config.logs.retention());
        let shutdown_output: funnel_runtime::OutputSink = {
            let logs = logs.clone();
            Arc::new(move |function: &str, stream: &str, output: &[u8]| {
                logs.record(&logs::log_group(function), stream, output)
            })
        };
        // The async queue, its topic messages and the schedule-fire claims
        // live in sled (`backend`): the seam a second backend plugs into.
        let queue = AsyncQueue::start(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            clock.clone(),
            config.queue_workers(),
            config.queue.caps(),
        );
        let runtime = Runtime::new(
            &config.runtime,
            &config.data_dir,
            clock.clone(),
            shutdown_output,
            funnel_runtime::CodeKey::new(master_key.derive(COMPILED_CODE_KEY)),
        )?;
        let naming = Naming::home(&config.region, &config.account_id);
        let tracer = traces::Tracer::start(
            store.clone(),
            clock.clone(),
            &config.account_id,
            traces::Settings {
                sample_rate: config.tracing.sample_rate,
                reservoir_per_second: config.tracing.reservoir_per_second,
                max_age: config.tracing.retention,
                max_bytes: config.tracing.max_mb * 1024 * 1024,
                otlp_endpoint: config.tracing.otlp_endpoint.clone(),
            },
        );
        let layers = Layers::new(
            store.clone(),
            naming,
            layers::LayerViews::new(&config.data_dir).context("creating the layers folder")?,
        );
        let functions = Registry::new(
            store.clone(),
            runtime.clone(),
            config.runtime.max_memory_mb,
            layers.clone(),
            concurrency::Gate::new(
                config.concurrency.account_limit,
                config.runtime.share_limit(),
            ),
        );
        let policies = Policies::new(
            store.clone(),
            layers.naming().clone(),
            functions.policy_cache(),
            Arc::new(functions.clone()),
            functions.code_lock().clone(),
        );
        let configs = InvokeConfigs::new(functions.clone(), store.clone());
        let loaded = functions.load_all().await.context("loading functions")?;
        let metrics = metrics::Metrics::new(
            functions.gate().clone(),
            queue.clone(),
            runtime.clone(),
            store.clone(),
        );
        let router = router::Router::new(
            functions.clone(),
            policies.clone(),
            queue.clone(),
            metrics.clone(),
            tracer.clone(),
        );
        let buckets = buckets::Buckets::new(
            store.clone(),
            &config.data_dir,
            &config.buckets.roots,
            router.clone(),
            functions.naming().clone(),
            clock.clone(),
        )
        .context("setting up the bucket roots")?;
        let schedules = schedules::Schedules::new(
            store.clone(),
            Arc::new(store.clone()),
            router.clone(),
            functions.naming().clone(),
            clock.clone(),
        );
        let topics = topics::Topics::new(
            store.clone(),
            router,
            functions.naming().clone(),
            clock.clone(),
        );
        let identities = iam::Identities::open(
            store.clone(),
            master_key,
            functions.naming().clone(),
            clock.clone(),
        )
        .context("opening the identities")?;
        identities.set_resource_policies(Arc::new(policies::ResourcePolicies {
            functions: policies.clone(),
            layers: layers.clone(),
        }));
        let publisher: Arc<dyn funnel_runtime::TopicPublisher> = Arc::new(topics.clone());
        runtime.set_publisher(&publisher);
        let secret_source: Arc<dyn funnel_runtime::SecretSource> = Arc::new(
            secret_access::VaultReader::new(vault.clone(), functions.naming().clone()),
        );
        runtime.set_secret_source(&secret_source);
        let urls = urls::FunctionUrls::new(
            store.clone(),
            functions.clone(),
            config.http.public_url.clone(),
        );
        let apis = apis::Apis::new(
            store.clone(),
            functions.clone(),
            config.http.public_url.clone(),
        )?;
        tracing::info!(
            data_dir = %config.data_dir.display(),
            functions = loaded,
            queued_events = store.queue_depth(),
            quarantined = store.quarantined_total(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "opened"
        );
        Ok(Server {
            config,
            store,
            runtime,
            functions,
            layers,
            policies,
            configs,
            logs,
            queue,
            metrics,
            buckets,
            topics,
            schedules,
            identities,
            vault,
            urls,
            apis,
            tracer,
            http_listener: None,
            aws_listener: None,
            tls,
            _publisher: publisher,
            _secret_source: secret_source,
        })
    }

    /// Serves the HTTP door (function URLs) on `listener` too, from
    /// [`Server::serve`] on, with the API port's TLS when it has it.
    /// Refuses a non-loopback address without TLS unless `insecure_listen`.
    pub fn with_http_listener(
        mut self,
        listener: tokio::net::TcpListener,
    ) -> anyhow::Result<Server> {
        let addr = listener.local_addr()?;
        self.config.check_http_listener(addr)?;
        if self.config.http.public_url.is_none() {
            let reachable = match addr.ip() {
                ip if ip.is_unspecified() => {
                    std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
                }
                _ => addr,
            };
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            self.urls.set_base(format!("{scheme}://{reachable}"));
            self.apis.set_base(format!("{scheme}://{reachable}"));
        }
        self.http_listener = Some(listener);
        Ok(self)
    }

    /// Serves the AWS-compatible endpoint (SigV4; the aws CLI and SDKs) on
    /// `listener` too, with the API port's TLS when it has it. Refuses a
    /// non-loopback address without TLS unless `insecure_listen`.
    pub fn with_aws_listener(
        mut self,
        listener: tokio::net::TcpListener,
    ) -> anyhow::Result<Server> {
        self.config.check_aws_listener(listener.local_addr()?)?;
        self.aws_listener = Some(listener);
        Ok(self)
    }

    /// The topics (a cheap handle).
    pub fn topics(&self) -> topics::Topics {
        self.topics.clone()
    }

    /// The schedule rules (a cheap handle).
    pub fn schedules(&self) -> schedules::Schedules {
        self.schedules.clone()
    }

    /// The secrets and parameters (a cheap handle).
    pub fn vault(&self) -> secrets::Vault {
        self.vault.clone()
    }

    /// The buckets (a cheap handle).
    pub fn buckets(&self) -> buckets::Buckets {
        self.buckets.clone()
    }

    /// The metrics (a cheap handle).
    pub fn metrics(&self) -> metrics::Metrics {
        self.metrics.clone()
    }

    /// The concurrency gate (a cheap handle): what is running.
    pub fn concurrency(&self) -> concurrency::Gate {
        self.functions.gate().clone()
    }

    /// The async queue (a cheap handle): its counters, for tests and the
    /// benchmark.
    pub fn queue(&self) -> AsyncQueue {
        self.queue.clone()
    }

    /// Compiled-code cache hits and misses since this server opened.
    pub fn cache_stats(&self) -> CacheStats {
        self.runtime.cache_stats()
    }

    /// The runtime (a cheap handle): its environments and clock, for
    /// housekeeping and tests.
    pub fn runtime(&self) -> Runtime {
        self.runtime.clone()
    }

    /// The log store (a cheap handle).
    pub fn logs(&self) -> Logs {
        self.logs.clone()
    }
}

/// Creates the data dir readable by its owner only (0700), or narrows an
/// existing one to that: it holds the master key, sealed secrets and
/// compiled code.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating the data dir {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making the data dir {} private (0700)", dir.display()))?;
            tracing::info!(data_dir = %dir.display(), "made the data dir private (0700)");
        }
    }
    Ok(())
}

/// Replaces `path` with `text`, readable by the owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
