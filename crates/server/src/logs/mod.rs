//! Function logs, the CloudWatch Logs analog: a log group per function
//! (`/aws/lambda/<name>`), a log stream per execution environment, one event
//! per line. Events are stored in sled, bounded by a retention (age and
//! bytes per group), and can be read back, filtered, or tailed live.
//!
//! Recording never blocks an invocation: lines go onto a bounded queue (a
//! full queue drops the lines and counts them) that one writer thread
//! stores in batches and publishes to live tails (`writer`). Readers first
//! wait for the writer to catch up, so a caller sees its own calls' logs.
//! Groups and streams are listed by `listing`.

mod format;
mod listing;
mod pattern;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};

pub use format::{invocation_log, tail};
pub use listing::{GroupListing, StreamListing};

/// The key of a function's log group, from the function's key:
/// `/aws/lambda/<name>`, in the function's account.
pub fn log_group(function: &str) -> String {
    match crate::tenancy::split(function) {
        (Some(account), name) => format!("{account}:{}", funnel_proto::log_group(name)),
        (None, name) => funnel_proto::log_group(name),
    }
}
pub use pattern::Pattern;

use crate::error::{Error, Result};
use funnel_runtime::Clock;
use funnel_store::{LogEvent, LogScan, Store};
use writer::{Control, Queue};

/// Live-tail subscribers that fall this far behind miss events.
const LIVE_BUFFER: usize = 4096;
/// The most events one read returns, as CloudWatch.
pub const MAX_EVENTS: usize = 10_000;

/// How long logs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Duration,
    pub max_group_bytes: u64,
}

/// A log event as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub group: String,
    /// Orders events within a group; a read resumes after one.
    pub id: String,
    pub stream: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

/// What to read from one group.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only these streams (all when empty).
    pub streams: Vec<String>,
    /// Only streams whose names start with this.
    pub stream_prefix: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub pattern: String,
    pub limit: Option<usize>,
    /// Resume after this event id (a previous read's next token).
    pub after: Option<String>,
    /// Oldest first; otherwise the newest `limit` events (still returned
    /// oldest first).
    pub from_head: bool,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Logs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Clock,
    queue: Arc<Queue>,
    live: broadcast::Sender<Arc<Record>>,
    retention: Retention,
}

impl Drop for Inner {
    /// The last handle is gone: the writer stores what is queued and stops.
    fn drop(&mut self) {
        self.queue.shut();
    }
}

impl Logs {
    /// Starts the writer thread.
    pub fn start(store: Store, clock: Clock, retention: Retention) -> Logs {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let queue = writer::start(writer::Writer {
            store: store.clone(),
            clock: clock.clone(),
            live: live.clone(),
            retention,
        });
        Logs {
            inner: Arc::new(Inner {
                store,
                clock,
                queue,
                live,
                retention,
            }),
        }
    }

    /// Records `log` (lines of text) as events of `group`/`stream`, stamped
    /// now. Never waits: if the writer is too far behind, the lines are
    /// dropped and counted.
    pub fn record(&self, group: &str, stream: &str, log: &[u8]) {
        self.inner.queue.record(group, stream, log);
    }

    /// Log lines dropped because the writer was behind, since start.
    pub fn dropped(&self) -> u64 {
        self.inner.queue.dropped()
    }

    /// Waits until everything recorded so far is stored.
    pub async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.queue.control(Control::Sync(done)) {
            let _ = wait.await;
        }
    }

    /// Reads events of `group`; returns them and the token to read on from
    /// (when there may be more).
    pub async fn read(&self, group: &str, query: &Query) -> Result<(Vec<Record>, Option<String>)> {
        let limit = match query.limit {
            None => MAX_EVENTS,
            Some(n) if (1..=MAX_EVENTS).contains(&n) => n,
            Some(n) => {
                return Err(Error::InvalidParameterValue(format!(
                    "limit {n} is out of range: it must be between 1 and {MAX_EVENTS}"
                )));
            }
        };
        if let Some(token) = &query.after
            && hex::decode(token).map_or(true, |raw| raw.len() != 18)
        {
            return Err(Error::InvalidParameterValue(format!(
                "nextToken {token:?} is not valid"
            )));
        }
        self.sync().await;
        let store = self.inner.store.clone();
        let (group_owned, query) = (group.to_string(), query.clone());
        let scanned = tokio::task::spawn_blocking(move || {
            let pattern = Pattern::parse(&query.pattern);
            let keep = |event: &LogEvent| {
                (query.streams.is_empty() || query.streams.contains(&event.stream))
                    && event.stream.starts_with(&query.stream_prefix)
                    && pattern.matches(&event.message)
            };
            let scan = LogScan {
                start_ms: query.start_ms.unwrap_or(0),
                end_ms: query.end_ms.unwrap_or(i64::MAX),
                after: query.after.as_deref(),
                from_head: query.from_head,
                limit,
                keep: &keep,
            };
            let scanned = store.scan_log_events(&group_owned, &scan)?;
            // Nothing found: as CloudWatch, a group that was never made
            // (its function never logged) is not found, not empty.
            let exists = !scanned.0.is_empty() || store.log_group(&group_owned)?.is_some();
            Ok::<_, Error>((scanned, exists))
        })
        .await
        .map_err(|e| Error::Service(format!("reading logs: {e}")))?;
        let ((found, next), exists) = scanned?;
        if !exists {
            return Err(Error::ResourceNotFound(format!(
                "The specified log group does not exist: {}",
                crate::tenancy::name(group)
            )));
        }
        let events = found
            .into_iter()
            .map(|stored| Record {
                group: group.to_string(),
                id: stored.id,
                stream: stored.event.stream,
                timestamp: stored.event.timestamp,
                ingestion_time: stored.event.ingestion_time,
                message: stored.event.message,
            })
            .collect();
        Ok((events, next))
    }

    /// Events as they are stored, for live tails.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.inner.live.subscribe()
    }

    /// Applies the retention now (it also runs periodically); returns how
    /// many chunks of events were deleted.
    pub async fn enforce_retention(&self) -> usize {
        let (done, wait) = oneshot::channel();
        if !self.inner.queue.control(Control::Prune(done)) {
            return 0;
        }
        wait.await.unwrap_or(0)
    }

    /// How long events are kept.
    pub fn retention(&self) -> Retention {
        self.inner.retention
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Writes what is queued and stops the writer (the server is stopping);
    /// lines recorded afterwards are dropped and counted.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.queue.control(Control::Close(done)) {
            let _ = wait.await;
        }
    }
}
