//! Running a [`Server`]: the API on its listener, and the background work
//! (async deliveries, rule firing, bucket watching, `/metrics`,
//! housekeeping) until the shutdown signal; then a drain in order.
//!
//! Everything that can fail is done before anything starts. Every
//! background task is spawned on one [`TaskTracker`] under one
//! [`CancellationToken`] whose drop guard lives as long as `serve`: every
//! exit path (an early error, a panic, the future being dropped) stops
//! what was started.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use funnel_proto::v1::functions_server::FunctionsServer;
use funnel_runtime::Runtime;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::dispatch::{self, Dispatcher};
use crate::logs::Logs;
use crate::{Server, api, metrics, timekeeper};

/// How long stopped calls get to send their answer after the grace ran out.
const ABORT_DRAIN: Duration = Duration::from_secs(1);

/// How often idle environments are looked for (real time; whether one is
/// idle long enough is decided on the runtime's clock).
const REAP_INTERVAL: Duration = Duration::from_secs(1);

/// How many reap intervals pass between log retention runs.
const RETENTION_EVERY: u32 = 60;

/// The background tasks of a running server: spawned on one tracker, all
/// stopped by one token (directly or through a child token).
struct Background {
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Background {
    /// Stops every task and waits for them to end.
    async fn stop(&self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Server {
    /// Serves the API on `listener` until `shutdown` completes; then stops
    /// accepting, lets in-flight calls finish (up to the configured grace)
    /// and flushes the database. If it cannot start, it stops what it
    /// started and releases the data dir before returning the error.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let background = Background {
            stop: CancellationToken::new(),
            tracker: TaskTracker::new(),
        };
        let _stop_on_exit = background.stop.clone().drop_guard();
        let doors = Doors {
            http: self.http_listener.take(),
            aws: self.aws_listener.take(),
        };
        let served = self.run(&background, listener, doors, shutdown).await;
        background.stop().await;
        // Every call has finished or been stopped: run the idle
        // environments' shutdown hooks before the process goes, then
        // write the last log lines.
        self.runtime.retire_all().await;
        self.logs.close().await;
        self.tracer.close().await;
        self.queue.close().await;
        self.store
            .flush_async()
            .await
            .context("flushing the database")?;
        tracing::info!("stopped");
        served
    }

    async fn run(
        &self,
        background: &Background,
        listener: TcpListener,
        doors: Doors,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = listener.local_addr()?;
        // Everything that can fail, before anything starts.
        self.check_listener(addr)?;
        let metrics_listener = match self.config.metrics.listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listening for /metrics on {addr}"))?;
                let bound = listener.local_addr()?;
                Some((listener, bound))
            }
            None => None,
        };
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(funnel_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;
        // Calls still running when the grace runs out are stopped with this.
        let abort = background.stop.child_token();
        // Stops the API: set by the shutdown signal.
        let stop = background.stop.child_token();
        // Stops async deliveries, rule firing, bucket watching and
        // /metrics: set with `stop`, waited for after the API drained.
        let deliveries_stop = background.stop.child_token();
        let stopped_at = Arc::new(OnceLock::<Instant>::new());

        let faults = crate::faults::Faults::open(self.store.clone(), self.queue.clock().clone())
            .context("loading the injected faults")?;
        let recordings = crate::recordings::Recordings::open(
            self.store.clone(),
            self.queue.clock().clone(),
            self.functions.naming().home.clone(),
        )
        .context("loading the recordings")?;
        let dispatcher = Dispatcher::new(
            dispatch::Parts {
                functions: self.functions.clone(),
                store: self.store.clone(),
                gate: self.functions.gate().clone(),
                runtime: self.runtime.clone(),
                logs: self.logs.clone(),
                queue: self.queue.clone(),
                metrics: self.metrics.clone(),
                topics: self.topics.clone(),
                configs: self.configs.clone(),
                faults: faults.clone(),
                recordings: recordings.clone(),
                tracer: self.tracer.clone(),
            },
            abort.clone(),
        );
        // Bucket events keep coming until the server stops taking requests
        // (the watch is the last step that can fail).
        let watching = self
            .buckets
            .start_watching(deliveries_stop.clone())
            .context("watching the buckets' folders")?;
        dispatcher.provision_stored();
        let deliveries = dispatcher.start_deliveries(deliveries_stop.clone());
        // Rules fire until the server stops taking requests.
        let firing = tokio::spawn(self.schedules.clone().run(deliveries_stop.clone()));
        // The three are joined below, in order; the tracker holds them too
        // so that an exit path that skips the join still waits for them.
        let joined = background.tracker.spawn(async move {
            let _ = deliveries.await;
            let _ = watching.await;
            let _ = firing.await;
        });
        if let Some((listener, bound)) = metrics_listener {
            tracing::info!("metrics at http://{bound}/metrics");
            background.tracker.spawn(metrics::serve_http(
                listener,
                self.metrics.clone(),
                self.config.metrics.token.clone(),
                deliveries_stop.clone(),
            ));
        }

        let (health, health_server) = tonic_health::server::health_reporter();
        health
            .set_serving::<FunctionsServer<api::FunctionsService>>()
            .await;
        let services = self.services(dispatcher.clone(), faults, recordings, stop.clone());
        if let Some(listener) = doors.aws {
            let door = crate::aws::Door::new(crate::aws::Parts {
                identities: self.identities.clone(),
                services: services.clone(),
                config: self.config.http.clone(),
                tls: self.tls.as_ref().map(|tls| tls.rustls.clone()),
                disk: crate::disk::DiskFloor::new(
                    &self.config.data_dir,
                    self.config.store.min_free_mb,
                ),
            });
            tracing::info!(addr = %listener.local_addr()?, "serving the AWS-compatible endpoint");
            background.tracker.spawn(door.serve(listener, stop.clone()));
        }
        if let Some(listener) = doors.http {
            let door = crate::http::HttpDoor::new(crate::http::Parts {
                urls: self.urls.clone(),
                apis: self.apis.clone(),
                policies: self.policies.clone(),
                identities: self.identities.clone(),
                functions: self.functions.clone(),
                dispatcher: dispatcher.clone(),
                clock: self.queue.clock().clone(),
                config: self.config.http.clone(),
                tls: self.tls.as_ref().map(|tls| tls.rustls.clone()),
            });
            tracing::info!(addr = %listener.local_addr()?, "serving HTTP (function URLs and routes)");
            background.tracker.spawn(door.serve(listener, stop.clone()));
        }
        let routes = services
            .routes()
            .add_service(health_server)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        background.tracker.spawn({
            let stop = stop.clone();
            let deliveries_stop = deliveries_stop.clone();
            let stopped_at = stopped_at.clone();
            async move {
                tokio::select! {
                    () = shutdown => {}
                    // The server ended on its own (an error): nothing to wait for.
                    () = stop.cancelled() => {}
                }
                let _ = stopped_at.set(Instant::now());
                stop.cancel();
                deliveries_stop.cancel();
            }
        });
        let api = self.config.api;
        let mut builder = tonic::transport::Server::builder()
            .max_concurrent_streams(Some(api.max_concurrent_streams))
            .timeout(api.request_timeout)
            .http2_keepalive_interval(Some(api.keepalive_interval))
            .http2_keepalive_timeout(Some(api.keepalive_timeout))
            .tcp_keepalive(Some(api.keepalive_interval));
        if let Some(tls) = &self.tls {
            builder = builder
                .tls_config(tonic::transport::ServerTlsConfig::new().identity(tls.identity.clone()))
                .context("configuring TLS")?;
        }
        let server = builder
            .layer(crate::iam::AuthLayer::new(
                self.identities.clone(),
                self.tls.is_some(),
                crate::disk::DiskFloor::new(&self.config.data_dir, self.config.store.min_free_mb),
            ))
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                // No Nagle: a response written in pieces must not wait for
                // the client's delayed ACK (~40 ms a call).
                crate::connections::limit(
                    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                    api.max_connections,
                ),
                stop.clone().cancelled_owned(),
            );
        tracing::info!(%addr, "serving");
        let mut server = background.tracker.spawn(server);
        background.tracker.spawn(housekeeping(
            self.runtime.clone(),
            self.logs.clone(),
            self.queue.clone(),
            self.config.dlq.retention,
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
        stop.cancel();
        health
            .set_not_serving::<FunctionsServer<api::FunctionsService>>()
            .await;
        // Async deliveries get what is left of the grace; events they do
        // not finish stay queued for the next start.
        deliveries_stop.cancel();
        let _ = joined.await;
        let since = stopped_at.get().map_or(Duration::ZERO, |at| at.elapsed());
        let left = grace.saturating_sub(since);
        if tokio::time::timeout(left, self.queue.drain())
            .await
            .is_err()
        {
            tracing::warn!("async deliveries did not finish in time; stopping them");
            abort.cancel();
            let _ = tokio::time::timeout(ABORT_DRAIN, self.queue.drain()).await;
        }
        match served {
            Ok(result) => result.context("serving"),
            Err(join) if join.is_cancelled() => Ok(()),
            Err(join) => Err(anyhow::anyhow!("server task failed: {join}")),
        }
    }

    /// The gRPC handlers, made once: the API port serves them, and the AWS
    /// endpoint calls the same instances.
    fn services(
        &self,
        dispatcher: Dispatcher,
        faults: crate::faults::Faults,
        recordings: crate::recordings::Recordings,
        stop: CancellationToken,
    ) -> api::Services {
        let quotas = crate::quotas::Quotas::new(self.config.quotas, self.store.clone());
        let timekeeper = timekeeper::Timekeeper::new(
            self.queue.clock().clone(),
            self.schedules.clone(),
            self.queue.clone(),
            self.runtime.clone(),
        );
        let replayer = crate::recordings::replay::Replayer::new(
            recordings.clone(),
            dispatcher.clone(),
            self.functions.clone(),
            self.queue.clone(),
            timekeeper.clone(),
        );
        api::Services {
            functions: Arc::new(api::FunctionsService::new(
                self.functions.clone(),
                dispatcher,
                quotas.clone(),
            )),
            layers: Arc::new(api::LayersService::new(self.layers.clone(), quotas.clone())),
            asynchronous: Arc::new(api::AsyncService::new(
                self.configs.clone(),
                self.queue.clone(),
            )),
            metrics: Arc::new(api::MetricsService::new(self.metrics.clone())),
            permissions: Arc::new(api::PermissionsService::new(self.policies.clone())),
            buckets: Arc::new(api::BucketsService::new(
                self.buckets.clone(),
                quotas.clone(),
            )),
            topics: Arc::new(api::TopicsService::new(self.topics.clone(), quotas.clone())),
            events: Arc::new(api::EventsService::new(self.schedules.clone(), quotas)),
            clock: Arc::new(api::ClockService::new(timekeeper)),
            iam: Arc::new(api::IamService::new(self.identities.clone())),
            urls: Arc::new(api::FunctionUrlsService::new(self.urls.clone())),
            apis: Arc::new(api::ApisService::new(self.apis.clone())),
            sts: Arc::new(api::StsService),
            secrets: Arc::new(api::SecretsManagerService::new(self.vault.clone())),
            ssm: Arc::new(api::SsmService::new(self.vault.clone())),
            admin: Arc::new(api::AdminService::new(
                self.store.clone(),
                self.config.data_dir.clone(),
                crate::iam::seal::MasterKey::path(
                    &self.config.data_dir,
                    self.config.master_key_file.as_deref(),
                ),
            )),
            // Live tails end when the server stops, so they never hold shutdown.
            logs: Arc::new(api::LogsService::new(self.logs.clone(), stop)),
            faults: Arc::new(api::FaultsService::new(faults, self.functions.clone())),
            recordings: Arc::new(api::RecordingsService::new(
                recordings,
                replayer,
                self.functions.clone(),
            )),
            traces: Arc::new(api::TracesService::new(
                self.tracer.clone(),
                self.store.clone(),
            )),
        }
    }
}

impl Server {
    /// Writes the operator's profile to the data dir's credentials file,
    /// with `addr` (a listener's) as the endpoint clients reach: call it
    /// once the listener is bound, before telling anyone the server is up.
    /// Returns the file's path.
    pub fn write_credentials(
        &self,
        addr: std::net::SocketAddr,
    ) -> anyhow::Result<std::path::PathBuf> {
        // Never hand out an endpoint that `serve` will refuse.
        self.check_listener(addr)?;
        let path = self.config.data_dir.join(crate::CREDENTIALS_FILE);
        let written = self.identities.write_credentials(
            &path,
            &self.endpoint(addr),
            self.tls.as_ref().and_then(|tls| tls.ca_bundle.as_deref()),
        )?;
        if !written {
            tracing::warn!("the operator has no active access key: no credentials file written");
        }
        Ok(path)
    }
}

impl Server {
    /// The URL a client on this machine reaches a listener on `addr` at:
    /// `https` when the port serves TLS; an unspecified address
    /// (`0.0.0.0`) is reached through loopback.
    pub fn endpoint(&self, addr: std::net::SocketAddr) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let reachable = match addr.ip() {
            ip if ip.is_unspecified() => {
                std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
            }
            _ => addr,
        };
        format!("{scheme}://{reachable}")
    }

    /// The CA bundle clients must trust, when funnel made the certificate.
    pub fn ca_bundle(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().and_then(|tls| tls.ca_bundle.as_deref())
    }

    /// Refuses a non-loopback listener without TLS (unless
    /// `insecure_listen`).
    fn check_listener(&self, addr: std::net::SocketAddr) -> anyhow::Result<()> {
        self.config.check_listener(addr)
    }
}

/// Retires idle environments and applies the log and dead-letter
/// retentions, until `stop`.
async fn housekeeping(
    runtime: Runtime,
    logs: Logs,
    queue: crate::AsyncQueue,
    dlq_retention: Duration,
    stop: CancellationToken,
) {
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
            let queue = queue.clone();
            let _ =
                tokio::task::spawn_blocking(move || queue.expire_dead_letters(dlq_retention)).await;
        }
    }
}

/// Opens a server with `config` and serves on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    config: crate::Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let server = Server::open(config).await?;
    server.write_credentials(listener.local_addr()?)?;
    server.serve(listener, shutdown).await
}

/// The listeners of the doors besides the API port.
struct Doors {
    http: Option<TcpListener>,
    aws: Option<TcpListener>,
}
