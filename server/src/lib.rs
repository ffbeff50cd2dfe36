//! # funnel-server — the funnel daemon, as a library
//!
//! A self-hosted, Lambda-style function platform: functions are WebAssembly
//! components run in isolated wasmtime instances; state lives in one
//! embedded sled database. `main.rs` is a thin CLI over this crate.
//!
//! # Layout
//!
//! - [`config`]: the server's configuration, validated before anything starts.
//! - [`clock`]: the one clock every time-based behaviour runs on: the
//!   system's, a manual (virtual) one, or a sped-up one for the bench.
//! - [`concurrency`]: the account's concurrency gate: reserved concurrency
//!   (floor and cap), the unreserved pool, throttle reasons.
//! - [`error`]: the API's typed errors, each with its AWS error name.
//! - [`function`]: Lambda's limits and naming rules; function ARNs.
//! - [`functions`]: the control plane (create/get/list/update/delete).
//! - [`versions`]: published versions (immutable snapshots of `$LATEST`).
//! - [`aliases`]: aliases with weighted routing between two versions.
//! - [`reserved`]: reserved concurrency on the control plane.
//! - [`policy`]: resource policies (who may invoke a function): statements,
//!   Lambda's JSON, the check a trigger's event must pass;
//!   [`permissions`]: AddPermission/RemovePermission/GetPolicy on the
//!   control plane.
//! - [`layers`]: layer versions; checking and unpacking their archives once;
//!   the merged, read-only `/opt` of a function's layers.
//! - [`event`]: the one request shape every door produces.
//! - [`router`]: trigger events to functions: the resource-policy check,
//!   then the durable async queue; refused events logged and counted.
//! - [`topics`]: SNS-style topics: subscriptions with filter policies,
//!   publishes fanned out durably to async invocations with SNS's event.
//! - [`schedules`]: EventBridge-style rules: schedule expressions (rate and
//!   AWS's six-field cron), targets, the Scheduled Event, and the firing
//!   loop on the server's clock (at most once per time, across restarts).
//! - [`timekeeper`]: the virtual clock's driver: moves time forward one
//!   due time at a time and lets what is due run before moving on.
//! - [`topic_access`]: topics granted to a function's guest, and the
//!   publisher behind the guest's `funnel:function/topics` import.
//! - [`bucket_access`]: buckets granted to a function's guest, and the
//!   guard against trigger loops.
//! - [`buckets`]: S3-style buckets over folders: the object API, notification
//!   configurations, S3's event JSON, and the watcher with its object index.
//! - [`dispatch`]: running an invocation and shaping Lambda's response; the
//!   durable async queue (group-committed accepts, bounded deliveries,
//!   Lambda's retries, maximum age, destinations, dead letters).
//! - [`event_config`]: `FunctionEventInvokeConfig` (retries, age,
//!   destinations per function and qualifier).
//! - [`runtime`]: wasmtime — engine, compiled-code cache, execution
//!   environments (warm pools, init/shutdown), limits.
//! - [`logs`]: function logs (CloudWatch Logs analog): START/END/REPORT
//!   formatting, storage with retention, reads, filters, live tails.
//! - [`metrics`]: Lambda's metrics per function and account, as OpenMetrics
//!   text on `/metrics` and over gRPC.
//! - [`store`]: sled behind one cheap handle; the only module that imports sled
//!   (functions, versions, aliases, layers, logs, code, the async queue —
//!   events, and groups holding a topic message once for its subscribers —
//!   and dead letters, policies, buckets and their object index, topics and
//!   subscriptions, rules and when each last fired).
//! - [`api`]: tonic services; typed errors become `tonic::Status` only here.
//! - [`cli`]: the `funnel` command line (every verb is a client call).
//! - [`stack`]: `funnel.toml` stack files and idempotent deploys.
//! - [`guest_build`]: building `wasm-functions/` crates for wasm32-wasip2.
//! - [`packaging`]: `funnel build`: a source folder (a Python handler, a
//!   Rust crate) as a component, with the packagers installed on first use.
//!
//! [`Server::open`] validates and loads everything; [`Server::serve`] takes
//! the listener and the shutdown signal; [`run`] does both.

pub mod aliases;
pub mod api;
pub mod bucket_access;
pub mod buckets;
pub mod cli;
pub mod clock;
pub mod concurrency;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod event;
pub mod event_config;
pub mod function;
pub mod functions;
pub mod guest_build;
pub mod layers;
pub mod logs;
pub mod metrics;
pub mod packaging;
pub mod permissions;
pub mod policy;
pub mod reserved;
pub mod router;
pub mod runtime;
pub mod schedules;
pub mod stack;
pub mod store;
pub mod timekeeper;
pub mod topic_access;
pub mod topics;
pub mod versions;

use std::future::Future;
use std::time::Instant;

use anyhow::Context as _;
use tokio::net::TcpListener;

pub use clock::Clock;
pub use config::Config;

use std::sync::Arc;

use dispatch::{AsyncQueue, Dispatcher};
use function::Naming;
use functions::Functions;
use logs::Logs;
use runtime::{CacheStats, Runtime};
use store::Store;

/// How long stopped calls get to send their answer after the grace ran out.
const ABORT_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// A funnel server, opened and ready to serve.
pub struct Server {
    config: Config,
    store: Store,
    runtime: Runtime,
    functions: Functions,
    logs: Logs,
    queue: AsyncQueue,
    metrics: metrics::Metrics,
    buckets: buckets::Buckets,
    topics: topics::Topics,
    schedules: schedules::Schedules,
    /// What guests publish through; the runtime holds it weakly (the
    /// topics hold the runtime), so the server's drop ends both.
    _publisher: std::sync::Arc<dyn runtime::TopicPublisher>,
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
        let db_dir = config.data_dir.join("db");
        let started = Instant::now();
        let store = tokio::task::spawn_blocking({
            let db_dir = db_dir.clone();
            move || Store::open(&db_dir)
        })
        .await?
        .with_context(|| format!("opening the database in {}", db_dir.display()))?;
        let logs = Logs::start(store.clone(), clock.clone(), config.logs.retention());
        let shutdown_output: runtime::OutputSink = {
            let logs = logs.clone();
            Arc::new(move |function: &str, stream: &str, output: &[u8]| {
                logs.record(&logs::log_group(function), stream, output)
            })
        };
        let queue = AsyncQueue::start(store.clone(), clock.clone(), config.queue_workers());
        let runtime = Runtime::new(
            &config.runtime,
            &config.data_dir,
            clock.clone(),
            shutdown_output,
        )?;
        let naming = Naming {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
        };
        let functions = Functions::new(
            store.clone(),
            runtime.clone(),
            naming,
            config.runtime.max_memory_mb,
            layers::LayerViews::new(&config.data_dir).context("creating the layers folder")?,
            concurrency::Gate::new(config.concurrency.account_limit),
        );
        let loaded = functions.load_all().await.context("loading functions")?;
        let metrics = metrics::Metrics::new(functions.gate.clone(), queue.clone(), runtime.clone());
        let router = router::Router::new(functions.clone(), queue.clone(), metrics.clone());
        let buckets = buckets::Buckets::new(
            store.clone(),
            &config.data_dir,
            router.clone(),
            functions.naming().clone(),
            clock.clone(),
        );
        let schedules = schedules::Schedules::new(
            store.clone(),
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
        let publisher: std::sync::Arc<dyn runtime::TopicPublisher> =
            std::sync::Arc::new(topics.clone());
        runtime.set_publisher(&publisher);
        tracing::info!(
            data_dir = %config.data_dir.display(),
            functions = loaded,
            queued_events = store.queue_depth(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "opened"
        );
        Ok(Server {
            config,
            store,
            runtime,
            functions,
            logs,
            queue,
            metrics,
            buckets,
            topics,
            schedules,
            _publisher: publisher,
        })
    }

    /// The topics (a cheap handle).
    pub fn topics(&self) -> topics::Topics {
        self.topics.clone()
    }

    /// The schedule rules (a cheap handle).
    pub fn schedules(&self) -> schedules::Schedules {
        self.schedules.clone()
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
        self.functions.gate.clone()
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

    /// Serves the API on `listener` until `shutdown` completes; then stops
    /// accepting, lets in-flight calls finish (up to the configured grace)
    /// and flushes the database.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        use funnel_proto::v1::functions_server::FunctionsServer;

        let addr = listener.local_addr()?;
        let abort = tokio_util::sync::CancellationToken::new();
        let dispatcher = Dispatcher::new(
            self.functions.clone(),
            self.runtime.clone(),
            self.logs.clone(),
            self.queue.clone(),
            self.metrics.clone(),
            self.topics.clone(),
            abort.clone(),
        );
        dispatcher.provision_stored();
        let deliveries_stop = tokio_util::sync::CancellationToken::new();
        let stopped_at = Arc::new(std::sync::OnceLock::<Instant>::new());
        let deliveries = dispatcher.start_deliveries(deliveries_stop.clone());
        let async_server = funnel_proto::v1::async_invocation_server::AsyncInvocationServer::new(
            api::AsyncService::new(self.functions.clone(), self.queue.clone()),
        );
        let metrics_server = funnel_proto::v1::metrics_server::MetricsServer::new(
            api::MetricsService::new(self.metrics.clone()),
        );
        let permissions_server = funnel_proto::v1::permissions_server::PermissionsServer::new(
            api::PermissionsService::new(self.functions.clone()),
        );
        let buckets_server = funnel_proto::v1::buckets_server::BucketsServer::new(
            api::BucketsService::new(self.buckets.clone()),
        )
        .max_decoding_message_size(api::MAX_MESSAGE_BYTES);
        let topics_server = funnel_proto::v1::topics_server::TopicsServer::new(
            api::TopicsService::new(self.topics.clone()),
        );
        let events_server = funnel_proto::v1::events_server::EventsServer::new(
            api::EventsService::new(self.schedules.clone()),
        );
        let clock_server = funnel_proto::v1::clock_server::ClockServer::new(
            api::ClockService::new(timekeeper::Timekeeper::new(
                self.queue.clock().clone(),
                self.schedules.clone(),
                self.queue.clone(),
                self.runtime.clone(),
            )),
        );
        // Rules fire, and bucket events keep coming, until the server
        // stops taking requests.
        let firing = tokio::spawn(self.schedules.clone().run(deliveries_stop.clone()));
        let watching = self
            .buckets
            .start_watching(deliveries_stop.clone())
            .context("watching the buckets' folders")?;
        if let Some(addr) = self.config.metrics.listen {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening for /metrics on {addr}"))?;
            let bound = listener.local_addr()?;
            tracing::info!("metrics at http://{bound}/metrics");
            tokio::spawn(metrics::serve_http(
                listener,
                self.metrics.clone(),
                deliveries_stop.clone(),
            ));
        }
        let service = api::FunctionsService::new(self.functions.clone(), dispatcher);
        let functions_server = FunctionsServer::new(service)
            .max_decoding_message_size(api::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(api::MAX_MESSAGE_BYTES);

        let layers_server = funnel_proto::v1::layers_server::LayersServer::new(
            api::LayersService::new(self.functions.clone()),
        )
        .max_decoding_message_size(api::MAX_MESSAGE_BYTES);

        let (health, health_server) = tonic_health::server::health_reporter();
        health
            .set_serving::<FunctionsServer<api::FunctionsService>>()
            .await;
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(funnel_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        let stop = tokio_util::sync::CancellationToken::new();
        // Live tails end when the server stops, so they never hold shutdown.
        let logs_server = funnel_proto::v1::logs_server::LogsServer::new(api::LogsService::new(
            self.logs.clone(),
            stop.clone(),
        ));
        tokio::spawn({
            let stop = stop.clone();
            let deliveries_stop = deliveries_stop.clone();
            let stopped_at = stopped_at.clone();
            async move {
                shutdown.await;
                let _ = stopped_at.set(Instant::now());
                stop.cancel();
                deliveries_stop.cancel();
            }
        });

        let server = tonic::transport::Server::builder()
            .add_service(health_server)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(functions_server)
            .add_service(layers_server)
            .add_service(async_server)
            .add_service(metrics_server)
            .add_service(permissions_server)
            .add_service(buckets_server)
            .add_service(topics_server)
            .add_service(events_server)
            .add_service(clock_server)
            .add_service(logs_server)
            .serve_with_incoming_shutdown(
                // No Nagle: a response written in pieces must not wait for
                // the client's delayed ACK (~40 ms a call).
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                stop.clone().cancelled_owned(),
            );
        tracing::info!(%addr, "serving");
        let mut server = tokio::spawn(server);
        let reaper = tokio::spawn(housekeeping(
            self.runtime.clone(),
            self.logs.clone(),
            stop.clone(),
        ));

        let grace = self.config.shutdown_grace;
        let served = tokio::select! {
            served = &mut server => served,
            () = async { stop.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "in-flight calls did not finish in time; stopping them");
                // Stopped calls answer at once; give them a moment to do so.
                abort.cancel();
                match tokio::time::timeout(ABORT_DRAIN, &mut server).await {
                    Ok(served) => served,
                    Err(_) => {
                        server.abort();
                        server.await
                    }
                }
            }
        };
        health
            .set_not_serving::<FunctionsServer<api::FunctionsService>>()
            .await;
        // Async deliveries get what is left of the grace; events they do
        // not finish stay queued for the next start.
        deliveries_stop.cancel();
        let _ = deliveries.await;
        let _ = watching.await;
        let _ = firing.await;
        let since = stopped_at
            .get()
            .map_or(std::time::Duration::ZERO, |at| at.elapsed());
        let left = grace.saturating_sub(since);
        if tokio::time::timeout(left, self.queue.drain())
            .await
            .is_err()
        {
            tracing::warn!("async deliveries did not finish in time; stopping them");
            abort.cancel();
            let _ = tokio::time::timeout(ABORT_DRAIN, self.queue.drain()).await;
        }
        reaper.abort();
        let _ = reaper.await;
        // Every call has finished or been stopped: run the idle
        // environments' shutdown hooks before the process goes, then
        // write the last log lines.
        self.runtime.retire_all().await;
        self.logs.close().await;
        self.queue.close().await;
        self.store
            .flush_async()
            .await
            .context("flushing the database")?;
        tracing::info!("stopped");
        match served {
            Ok(result) => result.context("serving"),
            Err(join) if join.is_cancelled() => Ok(()),
            Err(join) => Err(anyhow::anyhow!("server task failed: {join}")),
        }
    }
}

/// How often idle environments are looked for (real time; whether one is
/// idle long enough is decided on the runtime's clock).
const REAP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How many reap intervals pass between log retention runs.
const RETENTION_EVERY: u32 = 60;

/// Retires idle environments and applies the log retention, until `stop`.
async fn housekeeping(runtime: Runtime, logs: Logs, stop: tokio_util::sync::CancellationToken) {
    for round in 1u32.. {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(REAP_INTERVAL) => {}
        }
        let retired = runtime.retire_idle().await;
        if retired > 0 {
            tracing::debug!(retired, "retired idle environments");
        }
        if round % RETENTION_EVERY == 0 {
            logs.enforce_retention().await;
        }
    }
}

/// Opens a server with `config` and serves on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Server::open(config).await?.serve(listener, shutdown).await
}
