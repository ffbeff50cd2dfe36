//! The log writer: one thread that stores what invocations record, in
//! batches, publishes it to live tails, and applies the retention.
//!
//! Recording is a push onto a shared queue under a lock, nothing more: the
//! writer is woken only when it sleeps with nothing to do. Once woken, it
//! lets appends gather for [`LINGER`] before it stores them, so a busy
//! server writes one chunk per log group every few milliseconds rather than
//! one record per invocation, and its invocations do not pay a thread
//! wake-up each. A control (sync, prune, close) ends the wait at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};

use super::Record;
use funnel_runtime::Clock;
use funnel_store::{LogRecord, Store, log_event_id};

/// How long appends gather before they are stored. A crash loses at most
/// this much of the newest log lines, on top of what sled had not yet
/// flushed; never an acknowledged event.
pub(super) const LINGER: Duration = Duration::from_millis(5);
/// Invocations' logs waiting to be written; past it lines are dropped and
/// counted.
const QUEUE: usize = 16_384;

/// One invocation's (or one Shutdown phase's) log, as recorded.
struct Append {
    group: String,
    stream: String,
    log: Vec<u8>,
    /// When it was recorded (milliseconds since the Unix epoch).
    at: i64,
}

pub(super) enum Control {
    Sync(oneshot::Sender<()>),
    Prune(oneshot::Sender<usize>),
    Close(oneshot::Sender<()>),
}

#[derive(Default)]
struct Pending {
    appends: Vec<Append>,
    controls: Vec<Control>,
    /// The writer sleeps with nothing to do: the next append wakes it.
    idle: bool,
    /// Closed, or every handle is gone: nothing more is taken.
    closed: bool,
}

/// What [`super::Logs`] handles push to and the writer takes from.
pub(super) struct Queue {
    pending: Mutex<Pending>,
    wake: Condvar,
    clock: Clock,
    dropped: AtomicU64,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `log` for `group`/`stream`, stamped now. Never waits; when the
    /// queue is full or closed the lines are dropped and counted.
    pub(super) fn record(&self, group: &str, stream: &str, log: &[u8]) {
        if log.is_empty() {
            return;
        }
        // Copied before the lock is taken: it is held for the push alone.
        let mut append = Append {
            group: group.to_string(),
            stream: stream.to_string(),
            log: log.to_vec(),
            at: 0,
        };
        let mut pending = self.lock();
        if pending.closed || pending.appends.len() >= QUEUE {
            drop(pending);
            let count = String::from_utf8_lossy(log).lines().count() as u64;
            let dropped = self.dropped.fetch_add(count, Ordering::Relaxed) + count;
            tracing::warn!(group, dropped, "log writer is behind; dropped log lines");
            return;
        }
        // Stamped under the lock: the queue is in time order.
        append.at = self.clock.wall_ms();
        pending.appends.push(append);
        let wake = std::mem::take(&mut pending.idle);
        drop(pending);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Hands `control` to the writer; false if it has stopped.
    pub(super) fn control(&self, control: Control) -> bool {
        let mut pending = self.lock();
        if pending.closed {
            return false;
        }
        pending.controls.push(control);
        drop(pending);
        self.wake.notify_one();
        true
    }

    /// No more appends or controls are taken; the writer stores what is
    /// queued and stops.
    pub(super) fn shut(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits for appends or controls (or the close), lets appends gather
    /// for [`LINGER`] unless a control is waiting, and takes them all.
    fn take(&self) -> (Vec<Append>, Vec<Control>, bool) {
        let mut pending = self.lock();
        while pending.appends.is_empty() && pending.controls.is_empty() && !pending.closed {
            pending.idle = true;
            pending = self.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
        }
        pending.idle = false;
        if pending.controls.is_empty() && !pending.closed {
            pending = self
                .wake
                .wait_timeout_while(pending, LINGER, |p| p.controls.is_empty() && !p.closed)
                .map(|(pending, _)| pending)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        (
            std::mem::take(&mut pending.appends),
            std::mem::take(&mut pending.controls),
            pending.closed,
        )
    }
}

/// What the writer thread holds.
pub(super) struct Writer {
    pub store: Store,
    pub clock: Clock,
    pub live: broadcast::Sender<Arc<Record>>,
    pub retention: super::Retention,
}

/// A queue for handles to record into, and its writer on a thread of its
/// own: storing is synchronous sled work that must not take an API worker
/// from requests.
pub(super) fn start(writer: Writer) -> Arc<Queue> {
    let queue = Arc::new(Queue {
        pending: Mutex::default(),
        wake: Condvar::new(),
        clock: writer.clock.clone(),
        dropped: AtomicU64::new(0),
    });
    let taken = queue.clone();
    let spawned = std::thread::Builder::new()
        .name("funnel-logs".into())
        .spawn(move || write(&writer, &taken));
    if let Err(err) = spawned {
        tracing::error!(cause = %err, "cannot start the log writer; log lines will be dropped");
        queue.shut();
    }
    queue
}

/// The writer's loop: stores what was recorded, then answers the controls
/// that came with it (a sync after the appends it follows).
fn write(writer: &Writer, queue: &Queue) {
    loop {
        let (appends, controls, closed) = queue.take();
        append(writer, queue, appends);
        let mut closing = Vec::new();
        for control in controls {
            match control {
                Control::Sync(done) => {
                    let _ = done.send(());
                }
                Control::Prune(done) => {
                    let _ = done.send(prune(writer));
                }
                Control::Close(done) => {
                    queue.shut();
                    closing.push(done);
                }
            }
        }
        if closed || !closing.is_empty() {
            // Whatever came in before the close.
            let (rest, controls, _) = queue.take();
            append(writer, queue, rest);
            drop(controls);
            for done in closing {
                let _ = done.send(());
            }
            return;
        }
    }
}

/// Stores appends, one chunk per group, and publishes their lines live.
fn append(writer: &Writer, queue: &Queue, appends: Vec<Append>) {
    let mut by_group: HashMap<String, Vec<LogRecord>> = HashMap::new();
    for Append {
        group,
        stream,
        log,
        at,
    } in appends
    {
        let lines: Vec<String> = String::from_utf8_lossy(&log)
            .lines()
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            continue;
        }
        by_group.entry(group).or_default().push(LogRecord {
            stream,
            timestamp: at,
            ingestion_time: at,
            lines,
        });
    }
    for (group, records) in by_group {
        match writer.store.append_log_records(&group, &records) {
            Ok(placed) => {
                if writer.live.receiver_count() == 0 {
                    continue;
                }
                for ((chunk, first), record) in placed.iter().zip(records) {
                    for (index, message) in record.lines.into_iter().enumerate() {
                        let _ = writer.live.send(Arc::new(Record {
                            group: group.clone(),
                            id: log_event_id(chunk, first + index),
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
                queue.dropped.fetch_add(lines as u64, Ordering::Relaxed);
                tracing::error!(group, cause = %err, "could not store log events");
            }
        }
    }
}

/// Applies the retention to every group; returns how many chunks went.
fn prune(writer: &Writer) -> usize {
    let retention = writer.retention;
    let before = writer.clock.wall_ms() - retention.max_age.as_millis() as i64;
    let groups = match writer.store.log_groups() {
        Ok(groups) => groups,
        Err(err) => {
            tracing::error!(cause = %err, "could not list log groups");
            return 0;
        }
    };
    let mut removed = 0;
    for funnel_store::LogGroupEntry { group, .. } in groups {
        match writer
            .store
            .prune_log_events(&group, before, retention.max_group_bytes)
        {
            Ok(n) => removed += n,
            Err(err) => tracing::error!(group, cause = %err, "could not apply log retention"),
        }
    }
    if removed > 0 {
        tracing::debug!(removed, "log retention deleted chunks");
    }
    removed
}
