//! Tracing (X-Ray's model on OpenTelemetry's wire): one trace across every
//! trigger hop. Owns the trace context and its formats (`context`), the
//! sampling decision (`sampler`), spans as they are timed ([`Span`]) and
//! the writer that stores finished spans off the hot path (`writer`) and
//! hands them to the OTLP exporter (`export`). Named `traces` because the
//! `tracing` crate is the server's own logging.
//!
//! Spans are recorded by funnel itself, not through the OpenTelemetry
//! SDK: the embedded store is the default sink and OTLP one more. A
//! finished span is encoded on the spot into the writer's buffer (no
//! allocation, no message per span), stored as encoded, and converted to
//! OTLP's protos only at export. An unsampled call carries `None` and pays
//! one check.

pub(crate) mod context;
mod export;
pub(crate) mod sampler;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use funnel_runtime::Clock;
use funnel_store::{AttrValue, Child, SpanOut, Store};

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
    home: u64,
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

/// The trace a request runs in, as [`Tracer::begin_told`] found it.
#[derive(Default)]
pub(crate) struct Begun {
    pub trace: Option<TraceContext>,
    /// The caller sent the context (and is told the trace back).
    pub from_caller: bool,
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
                home: account_number(home),
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
        self.begin_told(incoming).trace
    }

    /// [`Tracer::begin`], and whether the caller sent the context: only
    /// such a caller is told the trace back (a caller that sent none did
    /// not ask, and answer headers cost every call of it).
    pub(crate) fn begin_told(&self, incoming: impl FnOnce() -> Option<Incoming>) -> Begun {
        if !self.enabled() {
            return Begun::default();
        }
        match incoming() {
            Some(incoming) => Begun {
                trace: Some(TraceContext {
                    trace_id: incoming.trace_id,
                    parent_id: incoming.parent_id,
                    sampled: incoming
                        .sampled
                        .unwrap_or_else(|| self.inner.sampler.sample()),
                }),
                from_caller: true,
            },
            None => Begun {
                trace: self.new_trace(),
                from_caller: false,
            },
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
        name: &'static str,
        function: &str,
    ) -> Option<Span> {
        let parent = parent.filter(|p| p.sampled)?;
        Some(self.span_at(parent, name, function, self.now_us()))
    }

    /// A span under a sampled `parent` that started at `start_us`.
    pub(crate) fn span_at(
        &self,
        parent: &TraceContext,
        name: &'static str,
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
            (Some(account), name) => (account_number(account), name),
            (None, name) => (self.inner.home, name),
        };
        Span {
            context: parent.child_of(id),
            parent_id: parent.parent_id,
            name,
            account,
            start_us,
            duration_us: 0,
            function: name_in_account.to_string(),
            error: String::new(),
            attributes: Vec::new(),
            children: Vec::new(),
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
        span.duration_us = span.started.elapsed().as_micros() as u64;
        self.record(&span);
    }

    /// Stores `span` as it is (its duration already set).
    pub(crate) fn end_as_is(&self, span: Span) {
        self.record(&span);
    }

    fn record(&self, span: &Span) {
        let out = SpanOut {
            trace_id: span.context.trace_id,
            span_id: span.context.parent_id,
            parent_id: span.parent_id,
            name: span.name,
            account: span.account,
            start_us: span.start_us,
            duration_us: span.duration_us,
            function: &span.function,
            error: &span.error,
            attributes: &span.attributes,
            children: &span.children,
        };
        if !self.inner.writer.push(&out) {
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

/// An account id as spans keep it: its 12 digits as a number (0 for
/// anything else, which no account id is).
pub(crate) fn account_number(account: &str) -> u64 {
    if crate::tenancy::is_account_id(account) {
        account.parse().unwrap_or(0)
    } else {
        0
    }
}

/// A span being timed. Dropped without [`Tracer::end`], it is not recorded.
pub(crate) struct Span {
    /// Its trace, and its own id as its children's parent.
    context: TraceContext,
    parent_id: [u8; 8],
    name: &'static str,
    /// See [`account_number`].
    pub account: u64,
    start_us: i64,
    pub duration_us: u64,
    /// The function's name in its account; empty when it is no function's.
    function: String,
    /// The error's type; empty while it has not failed.
    pub error: String,
    attributes: Vec<(&'static str, AttrValue)>,
    /// Phases stored with it and read back as its children.
    children: Vec<Child>,
    started: Instant,
}

impl Span {
    /// The context of this span's children.
    pub fn context(&self) -> TraceContext {
        self.context
    }

    pub fn attr(&mut self, key: &'static str, value: impl Into<Attr>) {
        self.attributes.push((key, value.into().0));
    }

    /// A phase of this span (`Init`, `Invocation`, `Overhead`): a child
    /// span that shares its account and, when `failed`, its error. Stored
    /// inside this span, so it costs no span of its own.
    pub fn phase(&mut self, name: &'static str, start_us: i64, duration_us: u64, failed: bool) {
        self.children.push(Child {
            name,
            start_us,
            duration_us,
            failed,
        });
    }

    pub fn fail(&mut self, error: &str) {
        error.clone_into(&mut self.error);
    }

    /// The account whose work it is (a 12-digit id).
    pub fn set_account(&mut self, account: &str) {
        self.account = account_number(account);
    }

    pub fn start_us(&self) -> i64 {
        self.start_us
    }

    /// Real time since it started.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// What [`Span::attr`] takes: text, a number or a flag.
pub(crate) struct Attr(AttrValue);

impl From<&str> for Attr {
    fn from(value: &str) -> Attr {
        Attr(AttrValue::Str(value.to_string()))
    }
}

impl From<&String> for Attr {
    fn from(value: &String) -> Attr {
        Attr(AttrValue::Str(value.clone()))
    }
}

impl From<String> for Attr {
    fn from(value: String) -> Attr {
        Attr(AttrValue::Str(value))
    }
}

impl From<bool> for Attr {
    fn from(value: bool) -> Attr {
        Attr(AttrValue::Bool(value))
    }
}

macro_rules! int_attr {
    ($($t:ty),*) => {$(
        impl From<$t> for Attr {
            fn from(value: $t) -> Attr {
                Attr(AttrValue::Int(i64::try_from(value).unwrap_or(i64::MAX)))
            }
        }
    )*};
}

int_attr!(u16, u32, u64, u128, usize, i64);
