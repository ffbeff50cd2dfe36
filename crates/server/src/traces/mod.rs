//! Tracing (X-Ray's model on OpenTelemetry's wire): one trace across every
//! trigger hop. Owns the trace context and its formats (`context`), the
//! sampling decision (`sampler`), spans as they are timed ([`Span`]) and
//! the writer that stores finished spans off the hot path (`writer`) and
//! hands them to the OTLP exporter (`export`). Named `traces` because the
//! `tracing` crate is the server's own logging.
//!
//! Spans are recorded by funnel itself, not through the OpenTelemetry
//! SDK: the embedded store is the default sink and OTLP one more, so a
//! span is a plain [`funnel_store::SpanRecord`] converted to OTLP's protos
//! only at export. An unsampled call carries `None` and pays one check.

pub(crate) mod context;
mod export;
pub(crate) mod sampler;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use funnel_runtime::Clock;
use funnel_store::{SpanRecord, Store};

pub(crate) use context::{Incoming, TraceContext};
use sampler::Sampler;

tokio::task_local! {
    /// The trace the current request's work runs in, for the doors deep
    /// below it (a `PutObject`'s bucket event, a publish).
    static CURRENT: Option<TraceContext>;
}

/// Runs `work` with `trace` as the current trace.
pub(crate) async fn within<F: std::future::Future>(
    trace: Option<TraceContext>,
    work: F,
) -> F::Output {
    CURRENT.scope(trace, work).await
}

/// The current trace, set by [`within`].
pub(crate) fn current() -> Option<TraceContext> {
    CURRENT.try_with(|trace| *trace).ok().flatten()
}

/// The server's tracer (cheap to clone).
#[derive(Clone)]
pub struct Tracer {
    inner: Arc<Inner>,
}

struct Inner {
    sampler: Sampler,
    clock: Clock,
    /// The home account (function keys outside it name their own).
    home: String,
    writer: writer::Handle,
    dropped: AtomicU64,
    /// On a virtual clock, real time since the tracer started is added
    /// to span times: work takes real time while the clock stands still,
    /// and a waterfall must still show it in order.
    real_base: Option<Instant>,
}

/// What the tracer is set up with.
pub(crate) struct Settings {
    pub sample_rate: f64,
    pub reservoir_per_second: u32,
    pub max_age: std::time::Duration,
    pub max_bytes: u64,
    pub otlp_endpoint: Option<String>,
}

impl Tracer {
    /// Starts the writer (and the exporter, with an endpoint).
    pub(crate) fn start(store: Store, clock: Clock, home: &str, settings: Settings) -> Tracer {
        let exporter = settings
            .otlp_endpoint
            .as_deref()
            .map(|endpoint| export::start(endpoint.to_string()));
        let writer = writer::start(
            store,
            clock.clone(),
            settings.max_age,
            settings.max_bytes,
            exporter,
        );
        Tracer {
            inner: Arc::new(Inner {
                sampler: Sampler::new(
                    settings.sample_rate,
                    settings.reservoir_per_second,
                    clock.clone(),
                ),
                clock: clock.clone(),
                home: home.to_string(),
                writer,
                dropped: AtomicU64::new(0),
                real_base: clock.is_manual().then(Instant::now),
            }),
        }
    }

    /// Whether anything is recorded (a sample rate above 0).
    pub(crate) fn enabled(&self) -> bool {
        self.inner.sampler.enabled()
    }

    /// The context a request runs in: the caller's (its sampling decision
    /// honoured, or made here when it left it open), or a new trace when
    /// the sampler picks one. `None`: nothing of this request is traced.
    /// `incoming` reads the caller's headers: only when tracing is on.
    pub(crate) fn begin(
        &self,
        incoming: impl FnOnce() -> Option<Incoming>,
    ) -> Option<TraceContext> {
        if !self.enabled() {
            return None;
        }
        match incoming() {
            Some(incoming) => Some(TraceContext {
                trace_id: incoming.trace_id,
                parent_id: incoming.parent_id,
                sampled: incoming
                    .sampled
                    .unwrap_or_else(|| self.inner.sampler.sample()),
            }),
            None => self.new_trace(),
        }
    }

    /// A new trace, when the sampler picks one (a folder write, a
    /// schedule's fire).
    pub(crate) fn new_trace(&self) -> Option<TraceContext> {
        if !self.inner.sampler.sample() {
            return None;
        }
        let mut trace_id = [0; 16];
        // X-Ray's root starts with the epoch seconds.
        let seconds = (self.inner.clock.wall_ms().max(0) / 1000) as u32;
        trace_id[..4].copy_from_slice(&seconds.to_be_bytes());
        trace_id[4..12].copy_from_slice(&sampler::random_u64().to_be_bytes());
        trace_id[12..].copy_from_slice(&sampler::random_u64().to_be_bytes()[..4]);
        Some(TraceContext {
            trace_id,
            parent_id: [0; 8],
            sampled: true,
        })
    }

    /// A span starting now under `parent`, when its trace is sampled.
    /// `function` is a function's key (or empty).
    pub(crate) fn span(
        &self,
        parent: Option<&TraceContext>,
        name: &str,
        function: &str,
    ) -> Option<Span> {
        let parent = parent.filter(|p| p.sampled)?;
        Some(self.span_at(parent, name, function, self.now_us()))
    }

    /// A span under a sampled `parent` that started at `start_us`.
    pub(crate) fn span_at(
        &self,
        parent: &TraceContext,
        name: &str,
        function: &str,
        start_us: i64,
    ) -> Span {
        let id = loop {
            let id = sampler::random_u64().to_be_bytes();
            if id != [0; 8] {
                break id;
            }
        };
        let (account, name_in_account) = match crate::tenancy::split(function) {
            (Some(account), name) => (account.to_string(), name.to_string()),
            (None, name) => (self.inner.home.clone(), name.to_string()),
        };
        Span {
            context: parent.child_of(id),
            record: SpanRecord {
                trace_id: hex::encode(parent.trace_id),
                span_id: hex::encode(id),
                parent_id: if parent.parent_id == [0; 8] {
                    String::new()
                } else {
                    hex::encode(parent.parent_id)
                },
                name: name.to_string(),
                account,
                start_us,
                duration_us: 0,
                function: name_in_account,
                error: String::new(),
                attributes: Vec::new(),
            },
            started: Instant::now(),
        }
    }

    /// Wall time on the server's clock, in µs (plus real time since the
    /// tracer started, on a virtual clock).
    pub(crate) fn now_us(&self) -> i64 {
        let wall = self
            .inner
            .clock
            .wall()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        wall + self
            .inner
            .real_base
            .map_or(0, |base| base.elapsed().as_micros() as i64)
    }

    /// The clock's wall time alone, in µs.
    pub(crate) fn wall_us(&self) -> i64 {
        self.inner
            .clock
            .wall()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64)
    }

    /// Ends `span` now (its duration in real time since it started).
    pub(crate) fn end(&self, mut span: Span) {
        span.record.duration_us = span.started.elapsed().as_micros() as u64;
        self.record(span.record);
    }

    /// Stores `span` as it is (its duration already set).
    pub(crate) fn end_as_is(&self, span: Span) {
        self.record(span.record);
    }

    fn record(&self, record: SpanRecord) {
        if !self.inner.writer.push(record) {
            let dropped = self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Once, then every thousandth: a flood must not flood the log.
            if dropped % 1000 == 1 {
                tracing::warn!(dropped, "the span writer is behind: spans were not kept");
            }
        }
    }

    /// Waits until every span recorded before it is stored.
    pub(crate) async fn sync(&self) {
        self.inner.writer.sync().await;
    }

    /// Stores what is pending and stops the writer (at shutdown).
    pub(crate) async fn close(&self) {
        self.inner.writer.close().await;
    }
}

/// A span being timed. Dropped without [`Tracer::end`], it is not recorded.
pub(crate) struct Span {
    context: TraceContext,
    pub record: SpanRecord,
    started: Instant,
}

impl Span {
    /// The context of this span's children.
    pub fn context(&self) -> TraceContext {
        self.context
    }

    pub fn attr(&mut self, key: &str, value: impl ToString) {
        self.record
            .attributes
            .push((key.to_string(), value.to_string()));
    }

    pub fn fail(&mut self, error: &str) {
        self.record.error = error.to_string();
    }

    pub fn start_us(&self) -> i64 {
        self.record.start_us
    }

    /// Real time since it started.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}
