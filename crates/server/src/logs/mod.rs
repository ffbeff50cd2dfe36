//! Function logs, the CloudWatch Logs analog: a log group per function
//! (`/aws/lambda/<name>`), a log stream per execution environment, one event
//! per line. Events are stored in sled, bounded by a retention (age and
//! bytes per group), and can be read back, filtered, or tailed live.
//!
//! Recording never blocks an invocation: lines go to one writer task over a
//! bounded queue (a full queue drops the lines and counts them), which
//! batches them into the store and publishes them to live tails. Readers
//! first wait for the writer to catch up, so a caller sees its own calls'
//! logs.

mod format;
mod pattern;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

pub use format::{invocation_log, tail};

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
use funnel_store::{LogEvent, LogRecord, LogScan, Store, log_event_id};

/// Invocations' logs waiting to be written.
const QUEUE: usize = 4096;
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

enum Command {
    Append { group: String, record: LogRecord },
    Sync(oneshot::Sender<()>),
    Prune(oneshot::Sender<usize>),
    Close(oneshot::Sender<()>),
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Logs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Clock,
    commands: mpsc::Sender<Command>,
    live: broadcast::Sender<Arc<Record>>,
    dropped: Arc<AtomicU64>,
}

/// What the writer task holds: no command sender, so the task ends when
/// the last [`Logs`] handle is dropped (and the store with it).
struct Writer {
    store: Store,
    clock: Clock,
    live: broadcast::Sender<Arc<Record>>,
    dropped: Arc<AtomicU64>,
    retention: Retention,
}

impl Logs {
    /// Starts the writer task (on the current tokio runtime).
    pub fn start(store: Store, clock: Clock, retention: Retention) -> Logs {
        let (commands, queue) = mpsc::channel(QUEUE);
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            store: store.clone(),
            clock: clock.clone(),
            live: live.clone(),
            dropped: dropped.clone(),
            retention,
        };
        // The writer gets a thread of its own: storing is synchronous sled
        // work that must not take an API worker from requests.
        let spawned = std::thread::Builder::new()
            .name("funnel-logs".into())
            .spawn(move || write(writer, queue));
        if let Err(err) = spawned {
            tracing::error!(cause = %err, "cannot start the log writer; log lines will be dropped");
        }
        Logs {
            inner: Arc::new(Inner {
                store,
                clock,
                commands,
                live,
                dropped,
            }),
        }
    }

    /// Records `log` (lines of text) as events of `group`/`stream`, stamped
    /// now. Never waits: if the writer is too far behind, the lines are
    /// dropped and counted.
    pub fn record(&self, group: &str, stream: &str, log: &[u8]) {
        let now = self.inner.clock.wall_ms();
        let lines: Vec<String> = String::from_utf8_lossy(log)
            .lines()
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            return;
        }
        let count = lines.len() as u64;
        let command = Command::Append {
            group: group.to_string(),
            record: LogRecord {
                stream: stream.to_string(),
                timestamp: now,
                ingestion_time: now,
                lines,
            },
        };
        if self.inner.commands.try_send(command).is_err() {
            let dropped = self.inner.dropped.fetch_add(count, Ordering::Relaxed) + count;
            tracing::warn!(group, dropped, "log writer is behind; dropped log lines");
        }
    }

    /// Log lines dropped because the writer was behind, since start.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Waits until everything recorded so far is stored.
    pub async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.commands.send(Command::Sync(done)).await.is_ok() {
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
            store.scan_log_events(&group_owned, &scan)
        })
        .await
        .map_err(|e| Error::Service(format!("reading logs: {e}")))?;
        let (found, next) = scanned?;
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
    /// many events were deleted.
    pub async fn enforce_retention(&self) -> usize {
        let (done, wait) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Prune(done))
            .await
            .is_err()
        {
            return 0;
        }
        wait.await.unwrap_or(0)
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Writes what is queued and stops the writer (the server is stopping);
    /// lines recorded afterwards are dropped and counted.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.commands.send(Command::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The writer: batches appends into the store, publishes them live, and
/// applies the retention when asked. The only task that writes logs.
fn write(inner: Writer, mut queue: mpsc::Receiver<Command>) {
    while let Some(command) = queue.blocking_recv() {
        let mut pending = Vec::new();
        let mut other = None;
        match command {
            Command::Append { group, record } => pending.push((group, record)),
            command => other = Some(command),
        }
        // Batch whatever else is already queued, up to the next non-append.
        while other.is_none() && pending.len() < 1024 {
            match queue.try_recv() {
                Ok(Command::Append { group, record }) => pending.push((group, record)),
                Ok(command) => other = Some(command),
                Err(_) => break,
            }
        }
        append(&inner, pending);
        match other {
            None => {}
            Some(Command::Close(done)) => {
                queue.close();
                let mut rest = Vec::new();
                while let Ok(command) = queue.try_recv() {
                    if let Command::Append { group, record } = command {
                        rest.push((group, record));
                    }
                }
                append(&inner, rest);
                drop(inner);
                let _ = done.send(());
                return;
            }
            Some(Command::Sync(done)) => {
                let _ = done.send(());
            }
            Some(Command::Prune(done)) => {
                let _ = done.send(prune(&inner));
            }
            Some(Command::Append { .. }) => unreachable!("appends are batched above"),
        }
    }
}

/// Stores records, one batch per group, and publishes their lines live.
fn append(inner: &Writer, pending: Vec<(String, LogRecord)>) {
    let mut by_group: std::collections::HashMap<String, Vec<LogRecord>> =
        std::collections::HashMap::new();
    for (group, record) in pending {
        by_group.entry(group).or_default().push(record);
    }
    for (group, records) in by_group {
        match inner.store.append_log_records(&group, &records) {
            Ok(ids) => {
                if inner.live.receiver_count() == 0 {
                    continue;
                }
                for (record_id, record) in ids.iter().zip(records) {
                    for (index, message) in record.lines.into_iter().enumerate() {
                        let _ = inner.live.send(Arc::new(Record {
                            group: group.clone(),
                            id: log_event_id(record_id, index),
                            stream: record.stream.clone(),
                            timestamp: record.timestamp,
                            ingestion_time: record.ingestion_time,
                            message,
                        }));
                    }
                }
            }
            Err(err) => {
                let lines: usize = records.iter().map(|r| r.lines.len()).sum();
                inner.dropped.fetch_add(lines as u64, Ordering::Relaxed);
                tracing::error!(group, cause = %err, "could not store log events");
            }
        }
    }
}

fn prune(inner: &Writer) -> usize {
    let retention = inner.retention;
    let before = inner.clock.wall_ms() - retention.max_age.as_millis() as i64;
    let groups = match inner.store.log_groups() {
        Ok(groups) => groups,
        Err(err) => {
            tracing::error!(cause = %err, "could not list log groups");
            return 0;
        }
    };
    let mut removed = 0;
    for (group, _) in groups {
        match inner
            .store
            .prune_log_events(&group, before, retention.max_group_bytes)
        {
            Ok(n) => removed += n,
            Err(err) => tracing::error!(group, cause = %err, "could not apply log retention"),
        }
    }
    if removed > 0 {
        tracing::debug!(removed, "log retention deleted events");
    }
    removed
}
