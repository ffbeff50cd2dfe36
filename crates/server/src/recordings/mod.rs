//! Recordings (`funnel record start`): every event that reaches the
//! chosen functions, by the chosen doors, with its outcome, kept in
//! funnel-store's recording trees for replay ([`replay`]) and diff. This
//! module owns the recordings, which of them a call belongs to, and the
//! entry a finished call writes; the dispatcher asks it once per call
//! (`dispatch::Dispatcher::run`), and a call with no recording active
//! costs one atomic read. It must not run guests or touch the queue
//! (the replay, which does, goes through the dispatcher and the queue).
//!
//! An async event is one entry however often it runs: its retries update
//! the entry's outcome and attempt count (found again by request id).
//! A recording is bounded by its event count and its payload and response
//! bytes; when the next event would pass either, the recording stops
//! itself (state `full`) and keeps what it has.

mod capture;
pub mod format;
pub mod replay;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use funnel_runtime::Clock;
use funnel_store::{QueuedEvent, RecordingEntry, RecordingRecord, Store};

use crate::error::{Error, Result};

/// A recording's event bound when none is given.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000;
/// A recording's byte bound (payloads and responses) when none is given.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// The largest bounds a caller may ask for.
const MAX_MAX_EVENTS: u64 = 1_000_000;
const MAX_MAX_BYTES: u64 = 1024 * 1024 * 1024;
/// Recordings one account may have at once.
const MAX_RECORDINGS: usize = 100;

/// How an event reached its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    S3,
    Sns,
    Schedule,
    Invoke,
    Http,
}

impl Door {
    pub fn parse(text: &str) -> Result<Door> {
        Ok(match text {
            "s3" => Door::S3,
            "sns" => Door::Sns,
            "schedule" => Door::Schedule,
            "invoke" => Door::Invoke,
            "http" => Door::Http,
            other => {
                return Err(Error::InvalidParameterValue(format!(
                    "trigger {other:?} is invalid: it must be s3, sns, schedule, invoke or http"
                )));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Door::S3 => "s3",
            Door::Sns => "sns",
            Door::Schedule => "schedule",
            Door::Invoke => "invoke",
            Door::Http => "http",
        }
    }

    /// The door of a trigger's service principal.
    pub fn of_service(service: &str) -> Door {
        match service {
            crate::buckets::S3_PRINCIPAL => Door::S3,
            crate::topics::SNS_PRINCIPAL => Door::Sns,
            crate::schedules::EVENTS_PRINCIPAL => Door::Schedule,
            _ => Door::Invoke,
        }
    }

    /// Whether its events are async (queued, retried) by nature.
    fn queued(self) -> bool {
        matches!(self, Door::S3 | Door::Sns | Door::Schedule)
    }
}

/// Where a call comes from, as a recording sees it.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub door: Door,
    /// An async event (queued, with Lambda's retries).
    pub asynchronous: bool,
    /// When the event reached funnel (wall ms); `None`: as the call starts.
    pub received_ms: Option<i64>,
    /// This call's attempt at the event (1 for the first).
    pub attempt: u32,
    /// The replay entry (recording key, sequence) this call is for.
    pub replay: Option<(String, u64)>,
}

impl Origin {
    /// A synchronous call through `door`.
    pub fn sync(door: Door) -> Origin {
        Origin {
            door,
            asynchronous: false,
            received_ms: None,
            attempt: 1,
            replay: None,
        }
    }

    /// A delivery of a queued event.
    pub fn queued(event: &QueuedEvent) -> Origin {
        let door = match event.source.as_str() {
            "" => Door::Invoke,
            source => Door::parse(source).unwrap_or(Door::Invoke),
        };
        Origin {
            door,
            asynchronous: true,
            received_ms: Some(event.received_ms),
            attempt: event.invoke_count + 1,
            replay: None,
        }
    }
}

/// What a finished call reports besides Lambda's result.
pub(crate) struct Stats {
    pub version: String,
    pub duration: std::time::Duration,
    pub cold: bool,
}

/// The recordings. Cheap to clone.
#[derive(Clone)]
pub struct Recordings {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Clock,
    /// The server's home account (function keys there are bare names).
    home: String,
    /// Recordings taking events, and replays whose outcomes are still
    /// coming in, by key.
    active: Mutex<HashMap<String, Active>>,
    /// Whether `active` has any: a call with none reads this flag only.
    armed: AtomicBool,
}

struct Active {
    record: RecordingRecord,
    /// A replay's entries not run yet.
    pending: u64,
    /// A replay still sending events.
    sending: bool,
}

/// A recording as a caller asks for it (function names already keys).
pub struct Spec {
    pub account: String,
    pub name: String,
    pub functions: Vec<String>,
    pub triggers: Vec<String>,
    pub max_events: u64,
    pub max_bytes: u64,
}

impl Recordings {
    /// Loads the stored recordings; those recording go on recording.
    pub fn open(store: Store, clock: Clock, home: String) -> Result<Recordings> {
        let mut active = HashMap::new();
        for record in store.recordings()? {
            let pending = match record.state.as_str() {
                "recording" => 0,
                "replaying" => store
                    .recording_entries(&record.key, 0, usize::MAX)?
                    .iter()
                    .filter(|e| e.status == "pending")
                    .count() as u64,
                _ => continue,
            };
            active.insert(
                record.key.clone(),
                Active {
                    record,
                    pending,
                    sending: false,
                },
            );
        }
        Ok(Recordings {
            inner: Arc::new(Inner {
                store,
                clock,
                home,
                armed: AtomicBool::new(!active.is_empty()),
                active: Mutex::new(active),
            }),
        })
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.inner.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the flag in step with `active` (called under its lock).
    fn arm(&self, active: &HashMap<String, Active>) {
        self.inner
            .armed
            .store(!active.is_empty(), Ordering::Release);
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The key of `name` in `account`.
    pub fn key(&self, account: &str, name: &str) -> String {
        crate::tenancy::key(&self.inner.home, account, name)
    }

    /// Starts a recording; it takes events from the next call on.
    pub fn start(&self, spec: Spec) -> Result<RecordingRecord> {
        check_name(&spec.name)?;
        let mut triggers = Vec::new();
        for trigger in &spec.triggers {
            let door = Door::parse(trigger)?.as_str().to_string();
            if !triggers.contains(&door) {
                triggers.push(door);
            }
        }
        let max_events = bound(
            "MaxEvents",
            spec.max_events,
            DEFAULT_MAX_EVENTS,
            MAX_MAX_EVENTS,
        )?;
        let max_bytes = bound("MaxBytes", spec.max_bytes, DEFAULT_MAX_BYTES, MAX_MAX_BYTES)?;
        let record = RecordingRecord {
            key: self.key(&spec.account, &spec.name),
            account: spec.account,
            functions: spec.functions,
            triggers,
            state: "recording".into(),
            started_ms: self.inner.clock.wall_ms(),
            stopped_ms: 0,
            events: 0,
            bytes: 0,
            max_events,
            max_bytes,
            origin: String::new(),
            next_seq: 1,
        };
        let mut active = self.active();
        self.create(&record)?;
        active.insert(
            record.key.clone(),
            Active {
                record: record.clone(),
                pending: 0,
                sending: false,
            },
        );
        self.arm(&active);
        tracing::info!(recording = %record.key, functions = ?record.functions, triggers = ?record.triggers, "recording started");
        Ok(record)
    }

    /// Stores a new recording, refused when the name is taken or the
    /// account has its maximum.
    fn create(&self, record: &RecordingRecord) -> Result<()> {
        let store = &self.inner.store;
        if store.recording(&record.key)?.is_some() {
            return Err(Error::ResourceConflict(format!(
                "a recording named {} already exists (funnel record delete it, or pick another name)",
                crate::tenancy::name(&record.key)
            )));
        }
        let owned = store
            .recordings()?
            .iter()
            .filter(|r| r.account == record.account)
            .count();
        if owned >= MAX_RECORDINGS {
            return Err(Error::LimitExceeded(format!(
                "an account may have at most {MAX_RECORDINGS} recordings; delete some first"
            )));
        }
        store.put_recording(record)?;
        Ok(())
    }

    /// A recording of `account`, or `ResourceNotFoundException`.
    pub fn get(&self, account: &str, name: &str) -> Result<RecordingRecord> {
        let key = self.key(account, name);
        if let Some(active) = self.active().get(&key) {
            return Ok(active.record.clone());
        }
        self.inner
            .store
            .recording(&key)?
            .ok_or_else(|| Error::ResourceNotFound(format!("Recording not found: {name}")))
    }

    /// The recordings of `account`, oldest first.
    pub fn list(&self, account: &str) -> Result<Vec<RecordingRecord>> {
        let active = self.active();
        let mut list: Vec<RecordingRecord> = self
            .inner
            .store
            .recordings()?
            .into_iter()
            .filter(|r| r.account == account)
            .map(|r| active.get(&r.key).map_or(r, |a| a.record.clone()))
            .collect();
        list.sort_by(|a, b| (a.started_ms, &a.key).cmp(&(b.started_ms, &b.key)));
        Ok(list)
    }

    /// Stops a recording: it takes no more events. Stopping one already
    /// stopped changes nothing.
    pub fn stop(&self, account: &str, name: &str) -> Result<RecordingRecord> {
        let key = self.key(account, name);
        let mut active = self.active();
        let recording = active
            .get(&key)
            .is_some_and(|a| a.record.state == "recording");
        // Stopped, full, or a replay (which stops by itself): as it is.
        let Some(mut stopped) = recording.then(|| active.remove(&key)).flatten() else {
            drop(active);
            return self.get(account, name);
        };
        self.arm(&active);
        stopped.record.state = "stopped".into();
        stopped.record.stopped_ms = self.inner.clock.wall_ms();
        self.inner.store.put_recording(&stopped.record)?;
        tracing::info!(recording = %key, events = stopped.record.events, "recording stopped");
        Ok(stopped.record)
    }

    /// Deletes a recording and its entries.
    pub fn delete(&self, account: &str, name: &str) -> Result<()> {
        let key = self.key(account, name);
        let mut active = self.active();
        if active.get(&key).is_some_and(|a| a.sending) {
            return Err(Error::ResourceConflict(format!(
                "recording {name} is being written by a replay; delete it once the replay ends"
            )));
        }
        active.remove(&key);
        self.arm(&active);
        drop(active);
        match self.inner.store.delete_recording(&key)? {
            Some(_) => Ok(()),
            None => Err(Error::ResourceNotFound(format!(
                "Recording not found: {name}"
            ))),
        }
    }

    /// Up to `limit` entries of a recording from sequence `from`.
    pub fn entries(
        &self,
        account: &str,
        name: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordingEntry>> {
        let record = self.get(account, name)?;
        Ok(self
            .inner
            .store
            .recording_entries(&record.key, from, limit)?)
    }

    /// A new, stopped recording of `entries` (`funnel record import`).
    pub fn import(
        &self,
        account: &str,
        name: &str,
        entries: Vec<RecordingEntry>,
    ) -> Result<RecordingRecord> {
        check_name(name)?;
        let bytes: u64 = entries.iter().map(RecordingEntry::size).sum();
        let now = self.inner.clock.wall_ms();
        let mut record = RecordingRecord {
            key: self.key(account, name),
            account: account.to_string(),
            functions: Vec::new(),
            triggers: Vec::new(),
            state: "stopped".into(),
            started_ms: now,
            stopped_ms: now,
            events: entries.len() as u64,
            bytes,
            max_events: DEFAULT_MAX_EVENTS.max(entries.len() as u64),
            max_bytes: DEFAULT_MAX_BYTES.max(bytes),
            origin: "import".into(),
            next_seq: entries.last().map_or(1, |e| e.seq + 1),
        };
        let _active = self.active();
        self.create(&record)?;
        for entry in &entries {
            self.inner
                .store
                .put_recording_entry(&record.key, entry, false)?;
        }
        record.state = "stopped".into();
        self.inner.store.put_recording(&record)?;
        Ok(record)
    }
}

/// A recording's name: 1 to 128 letters, digits, `-`, `_` and `.`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameterValue(format!(
            "recording name {name:?} is invalid: 1 to 128 letters, digits, '-', '_' and '.'"
        )))
    }
}

fn bound(what: &str, given: u64, default: u64, max: u64) -> Result<u64> {
    match given {
        0 => Ok(default),
        n if n <= max => Ok(n),
        n => Err(Error::InvalidParameterValue(format!(
            "{what} {n} is invalid: at most {max}"
        ))),
    }
}

#[cfg(test)]
use crate::dispatch::InvokeResult;
#[cfg(test)]
mod tests;
