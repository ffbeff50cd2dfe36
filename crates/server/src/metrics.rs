//! Per-function and account metrics, with Lambda's names (in Prometheus
//! style: `funnel_invocations_total{function="..."}` is Lambda's
//! `Invocations`), served as OpenMetrics text on an HTTP `/metrics`
//! endpoint and over gRPC. Built on the Prometheus project's own Rust
//! client; one registry per server.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::concurrency::Gate;
use crate::queue::AsyncQueue;
use funnel_runtime::Runtime;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabel {
    pub function: String,
}

/// A published version with provisioned concurrency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabel {
    pub function: String,
    pub version: String,
}

/// A trigger event that was not run, and why.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabel {
    pub function: String,
    pub source: String,
    pub reason: String,
}

/// An injected fault that acted (`funnel fault put`), and its kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabel {
    pub function: String,
    pub kind: String,
}

type PerFunction<M> = Family<FunctionLabel, M>;
type PerVersion<M> = Family<VersionLabel, M>;
type Histograms = Family<FunctionLabel, Histogram, fn() -> Histogram>;

/// Handles on one function's series (each shares its value with the
/// family's).
struct CallSeries {
    invocations: Counter,
    duration: Histogram,
    concurrent: Gauge,
}

fn ms_buckets() -> Histogram {
    // 0.1 ms to ~15 min.
    Histogram::new(exponential_buckets(0.1, 2.0, 24))
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    /// Each function's series that every call touches, looked up once.
    calls: std::sync::RwLock<std::collections::HashMap<String, Arc<CallSeries>>>,
    registry: Registry,
    invocations: PerFunction<Counter>,
    errors: PerFunction<Counter>,
    throttles: PerFunction<Counter>,
    cold_starts: PerFunction<Counter>,
    duration: Histograms,
    init_duration: Histograms,
    concurrent: PerFunction<Gauge>,
    provisioned_invocations: PerFunction<Counter>,
    spillover_invocations: PerFunction<Counter>,
    provisioned_concurrent: PerVersion<Gauge>,
    provisioned_utilization: PerVersion<Gauge<f64, AtomicU64>>,
    async_received: PerFunction<Counter>,
    async_dropped: PerFunction<Counter>,
    recursive_dropped: PerFunction<Counter>,
    async_age: Histograms,
    dead_letter_errors: PerFunction<Counter>,
    destination_failures: PerFunction<Counter>,
    trigger_refused: Family<RefusedLabel, Counter>,
    injected_faults: Family<FaultLabel, Counter>,
    account_concurrent: Gauge,
    unreserved_concurrent: Gauge,
    queue_depth: Gauge,
    quarantined: Counter,
    gate: Gate,
    store: funnel_store::Store,
    queue: AsyncQueue,
    runtime: Runtime,
}

/// What happened in one invocation that ran.
pub struct Ran<'a> {
    pub function: &'a str,
    pub failed: bool,
    pub duration: Duration,
    pub init_duration: Option<Duration>,
    /// It ran in a provisioned environment.
    pub provisioned: bool,
    /// Its version's provisioned environments were all busy.
    pub spillover: bool,
}

impl Metrics {
    pub fn new(
        gate: Gate,
        queue: AsyncQueue,
        runtime: Runtime,
        store: funnel_store::Store,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("funnel");
        macro_rules! family {
            ($name:literal, $help:literal) => {{
                let family = PerFunction::default();
                registry.register($name, $help, family.clone());
                family
            }};
        }
        macro_rules! histograms {
            ($name:literal, $help:literal) => {{
                let family: Histograms = Family::new_with_constructor(ms_buckets);
                registry.register($name, $help, family.clone());
                family
            }};
        }
        let invocations = family!(
            "invocations",
            "Lambda's Invocations: calls that ran (throttled calls excluded)"
        );
        let errors = family!(
            "errors",
            "Lambda's Errors: invocations that ended in a function error"
        );
        let throttles = family!(
            "throttles",
            "Lambda's Throttles: calls refused by a concurrency limit"
        );
        let cold_starts = family!(
            "cold_starts",
            "Invocations that started a new execution environment"
        );
        let duration = histograms!("duration_milliseconds", "Lambda's Duration, in ms");
        let init_duration = histograms!(
            "init_duration_milliseconds",
            "Init Duration of cold starts, in ms"
        );
        let concurrent = family!(
            "concurrent_executions",
            "Lambda's ConcurrentExecutions, per function"
        );
        let provisioned_invocations = family!(
            "provisioned_concurrency_invocations",
            "Lambda's ProvisionedConcurrencyInvocations: invocations served by provisioned environments"
        );
        let spillover_invocations = family!(
            "provisioned_concurrency_spillover_invocations",
            "Lambda's ProvisionedConcurrencySpilloverInvocations: invocations of a version with \
             provisioned concurrency that ran on-demand because all of it was busy"
        );
        let provisioned_concurrent = PerVersion::<Gauge>::default();
        registry.register(
            "provisioned_concurrent_executions",
            "Lambda's ProvisionedConcurrentExecutions: provisioned environments serving a call",
            provisioned_concurrent.clone(),
        );
        let provisioned_utilization = PerVersion::<Gauge<f64, AtomicU64>>::default();
        registry.register(
            "provisioned_concurrency_utilization",
            "Lambda's ProvisionedConcurrencyUtilization: provisioned concurrent executions \
             divided by the provisioned concurrency configured (0 to 1)",
            provisioned_utilization.clone(),
        );
        let async_received = family!("async_events_received", "Lambda's AsyncEventsReceived");
        let async_dropped = family!(
            "async_events_dropped",
            "Lambda's AsyncEventsDropped: events that never succeeded (sent to OnFailure or the dead letters)"
        );
        let recursive_dropped = family!(
            "recursive_invocations_dropped",
            "Lambda's RecursiveInvocationsDropped: invocations stopped because their chain of \
             triggers had run 16 invocations already (a loop)"
        );
        let async_age = histograms!(
            "async_event_age_milliseconds",
            "Lambda's AsyncEventAge at each delivery attempt, in ms"
        );
        let dead_letter_errors = family!(
            "dead_letter_errors",
            "Lambda's DeadLetterErrors: events that could not be stored as dead letters"
        );
        let destination_failures = family!(
            "destination_delivery_failures",
            "Lambda's DestinationDeliveryFailures"
        );
        let trigger_refused = Family::<RefusedLabel, Counter>::default();
        registry.register(
            "trigger_events_refused",
            "Trigger events (bucket, topic, schedule) not run: reason AccessDenied (the function's \
             resource policy does not allow the source) or FunctionNotFound",
            trigger_refused.clone(),
        );
        let injected_faults = Family::<FaultLabel, Counter>::default();
        registry.register(
            "injected_faults",
            "Outcomes made on purpose by an injected fault (funnel fault put), by kind: error, \
             timeout, throttle, latency, init-error; they count in Lambda's metrics too",
            injected_faults.clone(),
        );
        let account_concurrent = Gauge::default();
        registry.register(
            "account_concurrent_executions",
            "Lambda's ConcurrentExecutions, account-wide",
            account_concurrent.clone(),
        );
        let unreserved_concurrent = Gauge::default();
        registry.register(
            "unreserved_concurrent_executions",
            "Lambda's UnreservedConcurrentExecutions",
            unreserved_concurrent.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "async_queue_depth",
            "Events in the async queue (due or waiting for a retry)",
            queue_depth.clone(),
        );
        let quarantined = Counter::default();
        registry.register(
            "records_quarantined",
            "Stored records that did not decode, set aside since the server started \
             (funnel admin quarantine list)",
            quarantined.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                calls: Default::default(),
                registry,
                invocations,
                errors,
                throttles,
                cold_starts,
                duration,
                init_duration,
                concurrent,
                provisioned_invocations,
                spillover_invocations,
                provisioned_concurrent,
                provisioned_utilization,
                async_received,
                async_dropped,
                recursive_dropped,
                async_age,
                dead_letter_errors,
                destination_failures,
                trigger_refused,
                injected_faults,
                account_concurrent,
                unreserved_concurrent,
                queue_depth,
                quarantined,
                gate,
                store,
                queue,
                runtime,
            }),
        }
    }

    /// `function`'s series that every call touches: from the families the
    /// first time, then from a map read without allocating.
    fn call_series(&self, function: &str) -> Arc<CallSeries> {
        let m = &self.inner;
        if let Some(found) = m
            .calls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(function)
        {
            return found.clone();
        }
        let label = Self::label(function);
        let series = Arc::new(CallSeries {
            invocations: m.invocations.get_or_create(&label).clone(),
            duration: m.duration.get_or_create(&label).clone(),
            concurrent: m.concurrent.get_or_create(&label).clone(),
        });
        m.calls
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(function.to_string())
            .or_insert(series)
            .clone()
    }

    fn label(function: &str) -> FunctionLabel {
        FunctionLabel {
            function: function.to_string(),
        }
    }

    pub fn ran(&self, ran: Ran<'_>) {
        let series = self.call_series(ran.function);
        series.invocations.inc();
        series.duration.observe(ran.duration.as_secs_f64() * 1e3);
        if !(ran.failed || ran.provisioned || ran.spillover || ran.init_duration.is_some()) {
            return;
        }
        let label = Self::label(ran.function);
        let m = &self.inner;
        if ran.failed {
            m.errors.get_or_create(&label).inc();
        }
        if ran.provisioned {
            m.provisioned_invocations.get_or_create(&label).inc();
        }
        if ran.spillover {
            m.spillover_invocations.get_or_create(&label).inc();
        }
        if let Some(init) = ran.init_duration {
            m.cold_starts.get_or_create(&label).inc();
            m.init_duration
                .get_or_create(&label)
                .observe(init.as_secs_f64() * 1e3);
        }
    }

    pub fn throttled(&self, function: &str) {
        self.inner
            .throttles
            .get_or_create(&Self::label(function))
            .inc();
    }

    /// An injected fault of `kind` acted on a call of `function`.
    pub fn injected_fault(&self, function: &str, kind: &str) {
        self.inner
            .injected_faults
            .get_or_create(&FaultLabel {
                function: function.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    /// One more (or, with `-1`, one fewer) invocation of `function` running.
    pub fn running(&self, function: &str, delta: i64) {
        self.call_series(function).concurrent.inc_by(delta);
    }

    pub fn async_received(&self, function: &str) {
        self.inner
            .async_received
            .get_or_create(&Self::label(function))
            .inc();
    }

    pub fn async_attempt(&self, function: &str, age: Duration) {
        self.inner
            .async_age
            .get_or_create(&Self::label(function))
            .observe(age.as_secs_f64() * 1e3);
    }

    pub fn async_dropped(&self, function: &str) {
        self.inner
            .async_dropped
            .get_or_create(&Self::label(function))
            .inc();
    }

    pub fn recursive_dropped(&self, function: &str) {
        self.inner
            .recursive_dropped
            .get_or_create(&Self::label(function))
            .inc();
    }

    pub fn dead_letter_error(&self, function: &str) {
        self.inner
            .dead_letter_errors
            .get_or_create(&Self::label(function))
            .inc();
    }

    pub fn destination_failure(&self, function: &str) {
        self.inner
            .destination_failures
            .get_or_create(&Self::label(function))
            .inc();
    }

    pub fn trigger_refused(&self, function: &str, source: &str, reason: &str) {
        self.inner
            .trigger_refused
            .get_or_create(&RefusedLabel {
                function: function.to_string(),
                source: source.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Everything, as OpenMetrics text (what Prometheus scrapes).
    pub fn render(&self) -> String {
        let m = &self.inner;
        let usage = m.gate.usage();
        m.account_concurrent.set(i64::from(usage.running));
        m.unreserved_concurrent
            .set(i64::from(usage.unreserved_limit));
        m.queue_depth.set(m.queue.stats().depth as i64);
        m.quarantined.inner().fetch_max(
            m.store.quarantined_total(),
            std::sync::atomic::Ordering::Relaxed,
        );
        // Versions whose provisioned concurrency is gone drop out.
        m.provisioned_concurrent.clear();
        m.provisioned_utilization.clear();
        for usage in m.runtime.provisioned_usage() {
            let label = VersionLabel {
                function: usage.function_name,
                version: usage.version,
            };
            m.provisioned_concurrent
                .get_or_create(&label)
                .set(usage.busy as i64);
            m.provisioned_utilization
                .get_or_create(&label)
                .set(usage.busy as f64 / usage.wanted as f64);
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &m.registry);
        text
    }
}

/// The OpenMetrics content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `GET /metrics` on `listener` until `stop`.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    token: Option<String>,
    stop: tokio_util::sync::CancellationToken,
) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::{Response, StatusCode};

    // Scrapers are few: at most this many connections at once, none of
    // them idle for long (a request's head must come within
    // HEADER_TIMEOUT, one request per connection, a connection lives
    // CONNECTION_LIFETIME at most), so idle sockets cannot hold the
    // endpoint.
    const CONNECTIONS: usize = 16;
    const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
    const CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);
    // An accept that fails (out of file descriptors) is retried after a
    // pause, not in a busy loop.
    const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);
    let connections = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(cause = %err, "/metrics cannot accept a connection");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let metrics = metrics.clone();
        let expected = token.as_ref().map(|token| format!("Bearer {token}"));
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            let presented = request
                .headers()
                .get(hyper::header::AUTHORIZATION)
                .map(|value| value.as_bytes());
            let allowed = expected.as_ref().is_none_or(|expected| {
                presented.is_some_and(|presented| {
                    bool::from(subtle::ConstantTimeEq::ct_eq(
                        expected.as_bytes(),
                        presented,
                    ))
                })
            });
            let response = if !allowed {
                Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(hyper::header::WWW_AUTHENTICATE, "Bearer")
                    .body(Full::new(Bytes::from_static(
                        b"unauthorized: send Authorization: Bearer <the --metrics-token>\n",
                    )))
            } else if request.uri().path() == "/metrics" {
                Response::builder()
                    .header("content-type", CONTENT_TYPE)
                    .body(Full::new(Bytes::from(metrics.render())))
            } else {
                Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Full::new(Bytes::from_static(b"not found: try /metrics\n")))
            };
            async move { response }
        });
        let stop = stop.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = tokio::time::timeout(CONNECTION_LIFETIME, connection) => {}
                () = stop.cancelled() => {}
            }
            drop(permit);
        });
    }
}
