//! The durable async queue: accepting events with group-committed flushes,
//! and the scheduler that hands due events to a bounded set of delivery
//! tasks.
//!
//! Accepting writes the event to sled and waits for a flush before
//! answering; concurrent accepts share one flush (the committer takes every
//! waiting request, flushes once, and answers them all), so durability
//! costs one flush per batch, not per event. The scheduler reads due events
//! from the front of the queue (keys sort by due time) and starts one
//! delivery per free permit; an event stays in the queue until its delivery
//! acknowledges, retries, dead-letters or forwards it, so a crash at any
//! point redelivers it (at least once).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

mod caps;

pub use caps::QueueCaps;

use crate::backend::{EventQueue, TopicMessages};
use crate::error::{Error, Result};
use funnel_runtime::Clock;
use funnel_store::{GroupTarget, Queued, QueuedEvent, QueuedGroup, Slot};

/// Events read from the queue per scan.
const SCAN_BATCH: usize = 256;
/// How long the scheduler sleeps at most without news (real time), in case
/// an enqueue's wake-up was missed.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Cheap to clone.
#[derive(Clone)]
pub struct AsyncQueue {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where events wait (sled today; see `crate::backend`).
    events: Arc<dyn EventQueue>,
    /// Topic messages, held once for all their subscribers.
    messages: Arc<dyn TopicMessages>,
    clock: Clock,
    /// Accepts waiting for their write to be flushed.
    commits: mpsc::Sender<oneshot::Sender<Result<(), String>>>,
    /// New or rescheduled events: the scheduler looks again.
    wake: Notify,
    /// Events being delivered, so a scan does not start them twice.
    in_flight: Mutex<HashSet<Slot>>,
    /// One permit per concurrent delivery.
    permits: Arc<Semaphore>,
    workers: usize,
    stats: Stats,
    /// Group members' acknowledgements waiting to be written.
    acks: mpsc::Sender<(Slot, oneshot::Sender<Result<(), String>>)>,
    /// Stops the committer and the acker (which hold handles on the store).
    closed: CancellationToken,
    committer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    acker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    caps: QueueCaps,
    /// What the queue held per function when it was last counted.
    census: Mutex<Option<caps::Census>>,
    /// A census is being taken.
    census_running: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Stats {
    received: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    throttled: AtomicU64,
    dead_lettered: AtomicU64,
    destination_failures: AtomicU64,
    /// Shared with the committer.
    flushes: Arc<AtomicU64>,
    /// Shared with the committer: time spent in those flushes.
    flush_micros: Arc<AtomicU64>,
}

/// Counters of the async path since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub received: u64,
    /// Deliveries that ran to completion (success or a final failure).
    pub delivered: u64,
    /// Retries after a function error.
    pub retried: u64,
    /// Retries after a throttle or system error.
    pub throttled: u64,
    /// Events that went to the dead-letter store.
    pub dead_lettered: u64,
    pub destination_failures: u64,
    /// Flushes made for accepts (each covers a batch of them).
    pub flushes: u64,
    /// Time spent in those flushes, in microseconds.
    pub flush_micros: u64,
    pub depth: u64,
}

pub(super) enum Counter {
    Delivered,
    Retried,
    Throttled,
    DeadLettered,
    DestinationFailure,
}

impl AsyncQueue {
    /// Starts the group committer; `workers` bounds concurrent deliveries
    /// (0 accepts events but never delivers them).
    pub fn start(
        events: Arc<dyn EventQueue>,
        messages: Arc<dyn TopicMessages>,
        clock: Clock,
        workers: usize,
        caps: QueueCaps,
    ) -> AsyncQueue {
        let (commits, requests) = mpsc::channel(4096);
        let stats = Stats::default();
        let closed = CancellationToken::new();
        let committer = tokio::spawn(commit_batches(
            events.clone(),
            requests,
            (stats.flushes.clone(), stats.flush_micros.clone()),
            closed.clone(),
        ));
        let (acks, ack_requests) = mpsc::channel(4096);
        let acker = tokio::spawn(apply_acks(messages.clone(), ack_requests, closed.clone()));
        AsyncQueue {
            inner: Arc::new(Inner {
                events,
                messages,
                clock,
                commits,
                wake: Notify::new(),
                in_flight: Mutex::default(),
                permits: Arc::new(Semaphore::new(workers)),
                workers,
                stats,
                closed,
                committer: Mutex::new(Some(committer)),
                acks,
                acker: Mutex::new(Some(acker)),
                caps,
                census: Mutex::new(None),
                census_running: Default::default(),
            }),
        }
    }

    /// The events' backend.
    pub fn events(&self) -> &dyn EventQueue {
        &*self.inner.events
    }

    /// The topic messages' backend.
    pub fn messages(&self) -> &dyn TopicMessages {
        &*self.inner.messages
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Deletes the dead letters older than `retention` on the queue's
    /// clock (as SQS drops messages past its retention); returns how many.
    pub fn expire_dead_letters(&self, retention: std::time::Duration) -> usize {
        let before = self
            .inner
            .clock
            .wall_ms()
            .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        match self.events().expire_dead_letters(before) {
            Ok(expired) => {
                if expired > 0 {
                    tracing::info!(expired, "expired dead letters");
                }
                expired
            }
            Err(err) => {
                tracing::error!(cause = %err, "could not expire dead letters");
                0
            }
        }
    }

    /// Writes an event and returns once it is durable.
    pub async fn accept(&self, mut event: QueuedEvent) -> Result<()> {
        let now = self.inner.clock.wall_ms();
        event.received_ms = now;
        self.inner.events.enqueue(now, &event)?;
        self.durable().await?;
        self.accepted(1);
        Ok(())
    }

    /// Accepts several events at once, atomically (all are queued or none),
    /// answering once they are durable.
    pub async fn accept_all(&self, mut events: Vec<QueuedEvent>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.write_all(&mut events)?;
        self.durable().await?;
        self.accepted(events.len());
        Ok(())
    }

    /// As [`AsyncQueue::accept_all`], but deliveries may start before the
    /// flush that makes the events durable (it still answers after it):
    /// for events a crash may lose but must not repeat — a schedule's
    /// fire, whose time is not fired again after a restart.
    pub async fn accept_all_eagerly(&self, mut events: Vec<QueuedEvent>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.write_all(&mut events)?;
        self.accepted(events.len());
        self.durable().await
    }

    /// Stamps `events` as received now and writes them, atomically (not
    /// yet durable).
    fn write_all(&self, events: &mut [QueuedEvent]) -> Result<()> {
        let now = self.inner.clock.wall_ms();
        for event in events.iter_mut() {
            event.received_ms = now;
        }
        self.inner.events.enqueue_all(now, events)
    }

    /// Counts `invocations` accepted and tells the scheduler.
    fn accepted(&self, invocations: usize) {
        self.inner
            .stats
            .received
            .fetch_add(invocations as u64, Ordering::Relaxed);
        self.inner.wake.notify_one();
    }

    /// Waits until every write made before this call is flushed, sharing
    /// the flush with every other waiter.
    pub async fn durable(&self) -> Result<()> {
        let (done, flushed) = oneshot::channel();
        let lost = || Error::Service("the queue's committer has stopped".into());
        self.inner.commits.send(done).await.map_err(|_| lost())?;
        flushed
            .await
            .map_err(|_| lost())?
            .map_err(|why| Error::Service(format!("flushing the queue: {why}")))
    }

    /// When the next queued event is due (wall ms), if any.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.inner.events.next_due_ms().ok().flatten()
    }

    /// Whether no delivery is running and none is due at `now_ms` (always,
    /// when this queue does not deliver).
    pub fn idle_at(&self, now_ms: i64) -> bool {
        if self.inner.workers == 0 {
            return true;
        }
        let running = !self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        !running && self.next_due_ms().is_none_or(|at| at > now_ms)
    }

    /// Tells the scheduler to look at the queue again.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub fn stats(&self) -> QueueStats {
        let s = &self.inner.stats;
        QueueStats {
            received: s.received.load(Ordering::Relaxed),
            delivered: s.delivered.load(Ordering::Relaxed),
            retried: s.retried.load(Ordering::Relaxed),
            throttled: s.throttled.load(Ordering::Relaxed),
            dead_lettered: s.dead_lettered.load(Ordering::Relaxed),
            destination_failures: s.destination_failures.load(Ordering::Relaxed),
            flushes: s.flushes.load(Ordering::Relaxed),
            flush_micros: s.flush_micros.load(Ordering::Relaxed),
            depth: self.inner.events.depth() as u64,
        }
    }

    pub(super) fn count(&self, counter: Counter) {
        let s = &self.inner.stats;
        let cell = match counter {
            Counter::Delivered => &s.delivered,
            Counter::Retried => &s.retried,
            Counter::Throttled => &s.throttled,
            Counter::DeadLettered => &s.dead_lettered,
            Counter::DestinationFailure => &s.destination_failures,
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes a delivered event. A group's members finishing together
    /// are taken out of their group in one write.
    pub(super) async fn ack(&self, slot: &Slot) -> Result<()> {
        if slot.member.is_none() {
            return self.inner.events.ack(slot);
        }
        let (done, acked) = oneshot::channel();
        let lost = || Error::Service("the queue's acker has stopped".into());
        self.inner
            .acks
            .send((slot.clone(), done))
            .await
            .map_err(|_| lost())?;
        acked
            .await
            .map_err(|_| lost())?
            .map_err(|why| Error::Service(format!("acknowledging a delivery: {why}")))
    }

    /// Marks a delivery finished (after its event was moved or removed).
    pub(super) fn finish(&self, slot: &Slot) {
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(slot);
    }

    /// Accepts groups (each one message for several functions) at once,
    /// atomically, answering once they are durable.
    pub async fn accept_groups(&self, mut groups: Vec<QueuedGroup>) -> Result<()> {
        groups.retain(|g| !g.targets.is_empty());
        if groups.is_empty() {
            return Ok(());
        }
        let now = self.inner.clock.wall_ms();
        for group in &mut groups {
            group.received_ms = now;
        }
        self.inner.messages.enqueue_groups(now, &groups)?;
        self.durable().await?;
        self.accepted(groups.iter().map(|g| g.targets.len()).sum());
        Ok(())
    }

    /// Stops accepting: later accepts fail, and the committer lets go of
    /// the store. Call after the last delivery finished.
    pub async fn close(&self) {
        self.inner.closed.cancel();
        let committer = self
            .inner
            .committer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(committer) = committer {
            let _ = committer.await;
        }
        let acker = self
            .inner
            .acker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(acker) = acker {
            let _ = acker.await;
        }
    }

    /// Waits for every running delivery to finish.
    pub async fn drain(&self) {
        let all = u32::try_from(self.inner.workers).unwrap_or(u32::MAX);
        if all > 0 {
            let _ = self.inner.permits.acquire_many(all).await;
        }
    }

    /// Hands due events to deliveries until `stop`; each delivery holds a
    /// permit, so at most `workers` run at once. A group's targets are
    /// delivered one by one, each with the payload `render` builds for it.
    pub async fn schedule(
        &self,
        deliver: impl Fn(Slot, QueuedEvent, tokio::sync::OwnedSemaphorePermit) + Send,
        render: impl Fn(&QueuedGroup, &GroupTarget) -> String + Send,
        stop: CancellationToken,
    ) {
        if self.inner.workers == 0 {
            return;
        }
        let inner = &self.inner;
        loop {
            if stop.is_cancelled() {
                return;
            }
            let now = inner.clock.wall_ms();
            let due = match inner.events.due_events(now, SCAN_BATCH + inner.workers) {
                Ok(due) => due,
                Err(err) => {
                    tracing::error!(cause = %err, "reading the async queue");
                    Vec::new()
                }
            };
            let mut started = 0;
            for (key, entry) in due {
                let pending: Vec<Pending<'_>> = match &entry {
                    Queued::Event(event) => vec![Pending::Event(event)],
                    Queued::Group(group) => group
                        .targets
                        .iter()
                        .map(|target| Pending::Member(group, target))
                        .collect(),
                };
                for pending in pending {
                    let slot = match pending {
                        Pending::Event(_) => Slot::event(key.clone()),
                        Pending::Member(_, target) => Slot {
                            key: key.clone(),
                            member: Some(target.request_id.clone()),
                        },
                    };
                    // The scan is a snapshot: an event delivered since (and
                    // released by its delivery) must not start again.
                    if !self.claim(&slot) {
                        continue;
                    }
                    if !inner.events.is_queued(&slot) {
                        self.finish(&slot);
                        continue;
                    }
                    let permit = tokio::select! {
                        permit = inner.permits.clone().acquire_owned() => permit,
                        () = stop.cancelled() => {
                            self.finish(&slot);
                            return;
                        }
                    };
                    let Ok(permit) = permit else { return };
                    let event = match pending {
                        Pending::Event(event) => event.clone(),
                        Pending::Member(group, target) => {
                            group.event(target, render(group, target))
                        }
                    };
                    deliver(slot, event, permit);
                    started += 1;
                }
            }
            if started > 0 {
                continue;
            }
            // Nothing new to start: wait for an enqueue, the next due time,
            // a delivery to finish, or the poll interval.
            let next_due = inner.events.next_due_ms().ok().flatten();
            let wake = inner.wake.notified();
            tokio::select! {
                () = stop.cancelled() => return,
                () = wake => {}
                () = async {
                    match next_due {
                        Some(at) if at > now => inner.clock.sleep_until_wall_ms(at).await,
                        // Due already but in flight: look again shortly.
                        Some(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                        None => std::future::pending().await,
                    }
                } => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }

    fn claim(&self, slot: &Slot) -> bool {
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(slot.clone())
    }
}

/// One event a scan found: queued on its own, or a group's member.
#[derive(Clone, Copy)]
enum Pending<'a> {
    Event(&'a QueuedEvent),
    Member(&'a QueuedGroup, &'a GroupTarget),
}

/// The acker: takes every group member acknowledged since it last looked
/// out of its group, one write per group.
async fn apply_acks(
    messages: Arc<dyn TopicMessages>,
    mut requests: mpsc::Receiver<(Slot, oneshot::Sender<Result<(), String>>)>,
    closed: CancellationToken,
) {
    let mut waiting = Vec::new();
    while next_batch(&mut requests, &closed, &mut waiting).await {
        let mut groups: std::collections::HashMap<&[u8], Vec<&str>> = Default::default();
        for (slot, _) in &waiting {
            if let Some(member) = &slot.member {
                groups.entry(&slot.key).or_default().push(member);
            }
        }
        let results: std::collections::HashMap<Vec<u8>, Result<(), String>> = groups
            .into_iter()
            .map(|(key, members)| {
                let written = messages
                    .remove_members(key, &members)
                    .map_err(|e| e.to_string());
                (key.to_vec(), written)
            })
            .collect();
        for (slot, done) in waiting.drain(..) {
            let result = results.get(&slot.key).cloned().unwrap_or(Ok(()));
            let _ = done.send(result);
        }
    }
    refuse_rest(requests, |(_, done)| done);
}

/// The group committer: one flush for every accept waiting when it starts.
async fn commit_batches(
    events: Arc<dyn EventQueue>,
    mut requests: mpsc::Receiver<oneshot::Sender<Result<(), String>>>,
    (flushes, flush_micros): (Arc<AtomicU64>, Arc<AtomicU64>),
    closed: CancellationToken,
) {
    let mut waiting = Vec::new();
    while next_batch(&mut requests, &closed, &mut waiting).await {
        let started = std::time::Instant::now();
        let flushed = events.flush().await.map_err(|e| e.to_string());
        flushes.fetch_add(1, Ordering::Relaxed);
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        flush_micros.fetch_add(took, Ordering::Relaxed);
        for done in waiting.drain(..) {
            let _ = done.send(flushed.clone());
        }
    }
    // Accepts still waiting are refused (their writes may or may not be
    // flushed by the server's last flush; the callers were not told yes).
    refuse_rest(requests, |done| done);
}

/// Waits for a request, then takes every request already waiting behind it
/// (after one yield, so those a step behind join too) into `waiting`.
/// False once `closed` or every sender is gone.
async fn next_batch<T>(
    requests: &mut mpsc::Receiver<T>,
    closed: &CancellationToken,
    waiting: &mut Vec<T>,
) -> bool {
    let first = tokio::select! {
        first = requests.recv() => first,
        () = closed.cancelled() => None,
    };
    let Some(first) = first else { return false };
    waiting.push(first);
    tokio::task::yield_now().await;
    while let Ok(more) = requests.try_recv() {
        waiting.push(more);
    }
    true
}

/// Answers every request still queued with the shutdown error.
fn refuse_rest<T>(
    mut requests: mpsc::Receiver<T>,
    answer: impl Fn(T) -> oneshot::Sender<Result<(), String>>,
) {
    requests.close();
    while let Ok(request) = requests.try_recv() {
        let _ = answer(request).send(Err("the server is shutting down".into()));
    }
}

impl std::fmt::Debug for AsyncQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncQueue")
            .field("workers", &self.inner.workers)
            .finish()
    }
}
