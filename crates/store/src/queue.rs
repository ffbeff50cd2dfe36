//! The async invocation queue, the dead-letter store, and the functions'
//! event invoke configs.
//!
//! Queue keys are the time an event is due (wall ms, big-endian) and a
//! sequence number, so events sort by due time and the dispatcher reads the
//! due ones from the front. Moving an event (a retry, a dead letter, a
//! destination) writes the new place and removes the old one in one atomic
//! step, so a crash leaves it in one place or the other, never nowhere.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use sled::Transactional as _;

use super::{Result, Store, StoreError, decode, encode};

/// An accepted asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// Kept across retries, as Lambda does.
    pub request_id: String,
    pub function_name: String,
    /// As the caller gave it (`""` for unqualified): an alias is resolved
    /// when the event runs.
    #[serde(default)]
    pub qualifier: String,
    /// The event, JSON text.
    pub payload: String,
    #[serde(default)]
    pub client_context: Option<String>,
    /// When it was accepted (wall ms): its age counts from here.
    pub received_ms: i64,
    /// Times the function ran for it.
    #[serde(default)]
    pub invoke_count: u32,
    /// Function errors so far (each may be followed by a retry).
    #[serde(default)]
    pub function_errors: u32,
    /// Throttles and system errors so far (for the backoff).
    #[serde(default)]
    pub system_retries: u32,
    /// Invocations before this one in its chain of triggers (a function
    /// publishing to a topic whose subscriber publishes ...): Lambda's
    /// recursive loop detection stops a chain at 16.
    #[serde(default)]
    pub chain_depth: u32,
    /// The door it came in by (`s3`, `sns`, `schedule`; empty for an
    /// async `Invoke`), for recordings.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The trace it continues, as X-Ray's header (`Root=…;Parent=…;
    /// Sampled=…`, SNS's `AWSTraceHeader`); `None` when not traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

impl QueuedEvent {
    /// A new event, not yet accepted (the queue stamps `received_ms`).
    pub fn new(
        request_id: String,
        function_name: String,
        qualifier: String,
        payload: String,
        client_context: Option<String>,
    ) -> QueuedEvent {
        QueuedEvent {
            request_id,
            function_name,
            qualifier,
            payload,
            client_context,
            received_ms: 0,
            invoke_count: 0,
            function_errors: 0,
            system_retries: 0,
            chain_depth: 0,
            source: String::new(),
            trace: None,
        }
    }
}

/// One message for several functions (a topic's fan-out), queued as one
/// entry: each target's payload is built from `shared` when it is
/// delivered. A target leaves the group when its delivery finishes, or
/// becomes an event of its own when it is retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedGroup {
    /// What every target's payload is built from (a topic's message).
    pub shared: String,
    /// When it was accepted (wall ms): its age counts from here.
    pub received_ms: i64,
    pub targets: Vec<GroupTarget>,
    /// As [`QueuedEvent::chain_depth`], for every target.
    #[serde(default)]
    pub chain_depth: u32,
    /// The message's `AWSTraceHeader` system attribute: the trace its
    /// deliveries continue (as [`QueuedEvent::trace`]).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// One function a group is for. Short field names: a group is written
/// with every publish, and its bytes are most of what a flush writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupTarget {
    #[serde(rename = "r")]
    pub request_id: String,
    #[serde(rename = "f")]
    pub function_name: String,
    #[serde(rename = "q", default, skip_serializing_if = "String::is_empty")]
    pub qualifier: String,
    /// What sets this target's payload apart (its subscription's id).
    #[serde(rename = "v")]
    pub variant: String,
}

impl QueuedGroup {
    /// `target` as an event of its own, with `payload` built for it.
    pub fn event(&self, target: &GroupTarget, payload: String) -> QueuedEvent {
        QueuedEvent {
            received_ms: self.received_ms,
            chain_depth: self.chain_depth,
            // A group is a topic's fan-out.
            source: "sns".into(),
            trace: self.trace.clone(),
            ..QueuedEvent::new(
                target.request_id.clone(),
                target.function_name.clone(),
                target.qualifier.clone(),
                payload,
                None,
            )
        }
    }
}

/// A queue entry: one event, or a group of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    Event(QueuedEvent),
    Group(QueuedGroup),
}

/// A group entry's value starts with this byte; an event's JSON with `{`.
const GROUP_TAG: u8 = b'G';

/// Where one event sits: its queue entry and, in a group, its request id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slot {
    pub key: QueueKey,
    pub member: Option<String>,
}

impl Slot {
    pub fn event(key: QueueKey) -> Slot {
        Slot { key, member: None }
    }
}

/// An event that ran out of retries or age with nowhere else to go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event: QueuedEvent,
    /// `RetriesExhausted`, `EventAgeExceeded`, or `FunctionNotFound`.
    pub condition: String,
    #[serde(default)]
    pub error_type: String,
    #[serde(default)]
    pub error_message: String,
    pub failed_ms: i64,
}

/// Lambda's `FunctionEventInvokeConfig` for one function and qualifier.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    pub function_name: String,
    /// `$LATEST`, a version number, or an alias.
    pub qualifier: String,
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_in_seconds: Option<u32>,
    /// Function ARNs.
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub last_modified: String,
}

/// Where an event sits in the queue.
pub type QueueKey = Vec<u8>;

fn queue_key(due_ms: i64, seq: u64) -> QueueKey {
    let mut key = Vec::with_capacity(16);
    key.extend_from_slice(&(due_ms.max(0) as u64).to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The due time in a queue key.
pub fn due_ms_of(key: &[u8]) -> i64 {
    super::read_u64(key) as i64
}

fn letter_key(function_name: &str, seq: u64) -> Vec<u8> {
    let mut key = function_name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn config_key(function_name: &str, qualifier: &str) -> Vec<u8> {
    let mut key = function_name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(qualifier.as_bytes());
    key
}

fn aborted(err: sled::transaction::TransactionError<StoreError>) -> StoreError {
    match err {
        sled::transaction::TransactionError::Abort(err) => err,
        sled::transaction::TransactionError::Storage(err) => StoreError::Db(err),
    }
}

/// What follows taking an event out of the queue, in the same step.
enum Then<'a> {
    Nothing,
    Event(i64, &'a QueuedEvent),
    Group(i64, &'a QueuedGroup),
    Letter(&'a DeadLetter),
}

/// Removes the event at `slot` inside a transaction; whether it was there.
fn remove_from(
    queue: &sled::transaction::TransactionalTree,
    slot: &Slot,
) -> sled::transaction::ConflictableTransactionResult<bool, StoreError> {
    let Some(member) = &slot.member else {
        return Ok(queue.remove(slot.key.as_slice())?.is_some());
    };
    let Some(value) = queue.get(slot.key.as_slice())? else {
        return Ok(false);
    };
    let Queued::Group(mut group) =
        decode_entry(&value).map_err(sled::transaction::ConflictableTransactionError::Abort)?
    else {
        return Ok(false);
    };
    let before = group.targets.len();
    group.targets.retain(|t| &t.request_id != member);
    if group.targets.is_empty() {
        queue.remove(slot.key.as_slice())?;
    } else {
        queue.insert(slot.key.as_slice(), encode_group(&group))?;
    }
    Ok(group.targets.len() < before)
}

fn encode_group(group: &QueuedGroup) -> Vec<u8> {
    let mut value = vec![GROUP_TAG];
    value.extend(encode(group));
    value
}

pub(crate) fn decode_entry(value: &[u8]) -> Result<Queued> {
    match value.split_first() {
        Some((&GROUP_TAG, rest)) => Ok(Queued::Group(decode("queue", rest)?)),
        _ => Ok(Queued::Event(decode("queue", value)?)),
    }
}

impl Store {
    /// Adds an event, due at `due_ms` (not flushed: the caller decides
    /// when it must be durable).
    pub fn enqueue(&self, due_ms: i64, event: &QueuedEvent) -> Result<QueueKey> {
        let key = queue_key(due_ms, self.db.generate_id()?);
        self.queue.insert(&key, encode(event))?;
        self.queued.fetch_add(1, Ordering::Relaxed);
        Ok(key)
    }

    /// Queues every event in one atomic write: all or none.
    pub fn enqueue_all(&self, due_ms: i64, events: &[QueuedEvent]) -> Result<()> {
        // One is a plain insert: a batch takes sled's process-wide write
        // lock (see `enqueue_groups`).
        if let [event] = events {
            return self.enqueue(due_ms, event).map(|_| ());
        }
        let mut batch = sled::Batch::default();
        for event in events {
            batch.insert(queue_key(due_ms, self.db.generate_id()?), encode(event));
        }
        self.queue.apply_batch(batch)?;
        self.queued
            .fetch_add(events.len() as i64, Ordering::Relaxed);
        Ok(())
    }

    /// Queues every group in one atomic write: all or none (a
    /// PublishBatch's messages, each fanned out to its subscriptions).
    ///
    /// One group (a Publish) is a plain insert: a sled batch takes a
    /// process-wide write lock that waits for every running write and
    /// flush, which halved the publish rate.
    pub fn enqueue_groups(&self, due_ms: i64, groups: &[QueuedGroup]) -> Result<()> {
        let targets: usize = groups.iter().map(|g| g.targets.len()).sum();
        if let [group] = groups {
            let key = queue_key(due_ms, self.db.generate_id()?);
            self.queue.insert(key, encode_group(group))?;
            self.queued.fetch_add(targets as i64, Ordering::Relaxed);
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for group in groups {
            batch.insert(
                queue_key(due_ms, self.db.generate_id()?),
                encode_group(group),
            );
        }
        self.queue.apply_batch(batch)?;
        self.queued.fetch_add(targets as i64, Ordering::Relaxed);
        Ok(())
    }

    /// Up to `limit` entries due at or before `now_ms`, oldest due first.
    /// Up to `limit` events due by `now_ms`, earliest first. One that does
    /// not decode is quarantined and skipped: it never stops the rest.
    pub fn due_events(&self, now_ms: i64, limit: usize) -> Result<Vec<(QueueKey, Queued)>> {
        let end = queue_key(now_ms, u64::MAX);
        let mut due = Vec::new();
        for entry in self.queue.range(..=end) {
            if due.len() == limit {
                break;
            }
            let (key, value) = entry?;
            match decode_entry(&value) {
                Ok(queued) => due.push((key.to_vec(), queued)),
                Err(err) => {
                    self.quarantine(&self.queue, "queue", &key, &value, &err)?;
                }
            }
        }
        Ok(due)
    }

    /// Whether the event at `slot` is (still) queued.
    pub fn is_queued(&self, slot: &Slot) -> bool {
        let Ok(Some(value)) = self.queue.get(&slot.key) else {
            return false;
        };
        match (&slot.member, decode_entry(&value)) {
            (None, Ok(Queued::Event(_))) => true,
            (Some(member), Ok(Queued::Group(group))) => {
                group.targets.iter().any(|t| &t.request_id == member)
            }
            _ => false,
        }
    }

    /// When the earliest queued event is due.
    pub fn next_due_ms(&self) -> Result<Option<i64>> {
        Ok(self.queue.first()?.map(|(key, _)| due_ms_of(&key)))
    }

    /// Invocations in the queue (due or not; each target of a group counts).
    pub fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed).max(0) as usize
    }

    /// How many invocations each function has queued (a scan of the whole
    /// queue: for the depth caps, when the queue is deep). A group counts
    /// once for each of its targets' functions.
    pub fn queued_by_function(&self) -> Result<std::collections::HashMap<String, u64>> {
        /// An event's function, without keeping the rest.
        #[derive(Deserialize)]
        struct Head {
            function_name: String,
        }
        #[derive(Deserialize)]
        struct GroupHead {
            targets: Vec<Head>,
        }
        let mut counts = std::collections::HashMap::new();
        for value in self.queue.iter().values() {
            let value = value?;
            let functions = match value.split_first() {
                Some((&GROUP_TAG, rest)) => match serde_json::from_slice::<GroupHead>(rest) {
                    Ok(group) => group.targets,
                    Err(_) => continue,
                },
                _ => match serde_json::from_slice::<Head>(&value) {
                    Ok(head) => vec![head],
                    Err(_) => continue,
                },
            };
            for head in functions {
                *counts.entry(head.function_name).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }

    /// Removes several delivered members of the group at `key` in one
    /// write (the group goes with its last). A compare-and-swap on the one
    /// key, retried if the group changed underneath: unlike a transaction
    /// it does not take sled's process-wide write lock.
    pub fn remove_members(&self, key: &[u8], members: &[&str]) -> Result<()> {
        let mut current = self.queue.get(key)?;
        loop {
            let Some(value) = &current else { return Ok(()) };
            let Queued::Group(mut group) = decode_entry(value)? else {
                return Ok(());
            };
            let before = group.targets.len();
            group
                .targets
                .retain(|t| !members.contains(&t.request_id.as_str()));
            let removed = before - group.targets.len();
            if removed == 0 {
                return Ok(());
            }
            let next = (!group.targets.is_empty()).then(|| encode_group(&group));
            match self.queue.compare_and_swap(key, current.as_ref(), next)? {
                Ok(()) => {
                    self.queued.fetch_sub(removed as i64, Ordering::Relaxed);
                    return Ok(());
                }
                Err(conflict) => current = conflict.current,
            }
        }
    }

    /// Removes a delivered event.
    pub fn ack(&self, slot: &Slot) -> Result<()> {
        self.take_out(slot, Then::Nothing)
    }

    /// Moves an event to a new due time (a retry), atomically. A group's
    /// member leaves its group and is queued on its own.
    pub fn requeue(&self, slot: &Slot, due_ms: i64, event: &QueuedEvent) -> Result<()> {
        self.take_out(slot, Then::Event(due_ms, event))
    }

    /// Removes a finished event and queues its follow-up (a destination's
    /// record) in one atomic step.
    pub fn ack_and_enqueue(&self, slot: &Slot, due_ms: i64, next: &QueuedEvent) -> Result<()> {
        self.take_out(slot, Then::Event(due_ms, next))
    }

    /// Removes a finished event and queues its follow-ups (a topic
    /// destination's fan-out) in one atomic step.
    pub fn ack_and_enqueue_group(
        &self,
        slot: &Slot,
        due_ms: i64,
        next: &QueuedGroup,
    ) -> Result<()> {
        self.take_out(slot, Then::Group(due_ms, next))
    }

    /// Moves an event from the queue to the dead-letter store, atomically.
    pub fn dead_letter(&self, slot: &Slot, letter: &DeadLetter) -> Result<()> {
        self.take_out(slot, Then::Letter(letter))
    }

    /// Takes the event at `slot` out of the queue and does `then`, in one
    /// atomic step. An event of its own is a key to remove; a group's
    /// member is removed from its group (the group goes with its last).
    fn take_out(&self, slot: &Slot, then: Then<'_>) -> Result<()> {
        let (added, follow_up) = match then {
            Then::Nothing => (0, None),
            Then::Event(due_ms, event) => (
                1,
                Some((
                    false,
                    queue_key(due_ms, self.db.generate_id()?),
                    encode(event),
                )),
            ),
            Then::Group(due_ms, group) => (
                group.targets.len() as i64,
                Some((
                    false,
                    queue_key(due_ms, self.db.generate_id()?),
                    encode_group(group),
                )),
            ),
            Then::Letter(letter) => (
                0,
                Some((
                    true,
                    letter_key(&letter.event.function_name, self.db.generate_id()?),
                    encode(letter),
                )),
            ),
        };
        let removed = match (&slot.member, &follow_up) {
            // The common cases, without a transaction's reads.
            (None, None) => i64::from(self.queue.remove(&slot.key)?.is_some()),
            (None, Some((false, key, value))) => {
                let mut batch = sled::Batch::default();
                batch.insert(key.as_slice(), value.as_slice());
                batch.remove(slot.key.as_slice());
                self.queue.apply_batch(batch)?;
                1
            }
            _ => (&self.queue, &self.dead_letters)
                .transaction(|(queue, letters)| {
                    let removed = remove_from(queue, slot)?;
                    match &follow_up {
                        Some((true, key, value)) => {
                            letters.insert(key.as_slice(), value.as_slice())?;
                        }
                        Some((false, key, value)) => {
                            queue.insert(key.as_slice(), value.as_slice())?;
                        }
                        None => {}
                    }
                    Ok(i64::from(removed))
                })
                .map_err(aborted)?,
        };
        self.queued.fetch_add(added - removed, Ordering::Relaxed);
        Ok(())
    }

    /// Dead letters (of one function, or all), after `after` (a key from
    /// a previous page, hex), up to `limit`; with each its key in hex.
    pub fn dead_letters(
        &self,
        function_name: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, DeadLetter)>> {
        let prefix = function_name.map(|f| letter_key(f, 0)[..f.len() + 1].to_vec());
        let start = match after.and_then(|a| hex::decode(a).ok()) {
            Some(mut key) => {
                key.push(0);
                key
            }
            None => prefix.clone().unwrap_or_default(),
        };
        self.dead_letters
            .range(start..)
            .take_while(|entry| match (entry, &prefix) {
                (Ok((key, _)), Some(prefix)) => key.starts_with(prefix),
                _ => true,
            })
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                Ok((hex::encode(&key), decode("dead_letters", &value)?))
            })
            .collect()
    }

    /// Moves a function's dead letters (those with the given request ids,
    /// or all) back into the queue, due at `due_ms` and with a fresh age
    /// and retry count, atomically per letter. Returns how many.
    pub fn redrive(
        &self,
        function_name: &str,
        ids: &[String],
        due_ms: i64,
        received_ms: i64,
    ) -> Result<usize> {
        let _moving = self.moves.read().unwrap_or_else(|e| e.into_inner());
        let mut moved = 0;
        for (key, letter) in self.dead_letters(Some(function_name), None, usize::MAX)? {
            if !ids.is_empty() && !ids.contains(&letter.event.request_id) {
                continue;
            }
            let key = hex::decode(&key).unwrap_or_default();
            let event = QueuedEvent {
                received_ms,
                invoke_count: 0,
                function_errors: 0,
                system_retries: 0,
                ..letter.event
            };
            let queue_key = queue_key(due_ms, self.db.generate_id()?);
            let value = encode(&event);
            (&self.queue, &self.dead_letters)
                .transaction(|(queue, letters)| {
                    letters.remove(key.as_slice())?;
                    queue.insert(queue_key.as_slice(), value.as_slice())?;
                    Ok(())
                })
                .map_err(aborted)?;
            self.queued.fetch_add(1, Ordering::Relaxed);
            moved += 1;
        }
        Ok(moved)
    }

    /// Deletes the dead letters that failed before `before_ms` (wall ms);
    /// returns how many.
    pub fn expire_dead_letters(&self, before_ms: i64) -> Result<usize> {
        let mut expired = 0;
        for entry in self.dead_letters.iter() {
            let (key, value) = entry?;
            let Ok(letter) = decode::<DeadLetter>("dead_letters", &value) else {
                continue;
            };
            if letter.failed_ms < before_ms {
                self.dead_letters.remove(key)?;
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Deletes a function's dead letters; returns how many.
    pub fn purge_dead_letters(&self, function_name: &str) -> Result<usize> {
        let mut purged = 0;
        for key in self
            .dead_letters
            .scan_prefix(&letter_key(function_name, 0)[..function_name.len() + 1])
            .keys()
        {
            self.dead_letters.remove(key?)?;
            purged += 1;
        }
        Ok(purged)
    }

    pub fn put_event_invoke_config(&self, config: &EventInvokeConfig) -> Result<()> {
        self.event_invoke_configs.insert(
            config_key(&config.function_name, &config.qualifier),
            encode(config),
        )?;
        Ok(())
    }

    pub fn get_event_invoke_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>> {
        self.event_invoke_configs
            .get(config_key(function_name, qualifier))?
            .map(|value| decode(function_name, &value))
            .transpose()
    }

    /// Removes one config (or, with `None`, every config of the function);
    /// returns whether there was any.
    pub fn delete_event_invoke_config(
        &self,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<bool> {
        match qualifier {
            Some(q) => Ok(self
                .event_invoke_configs
                .remove(config_key(function_name, q))?
                .is_some()),
            None => {
                let mut any = false;
                for key in self
                    .event_invoke_configs
                    .scan_prefix(config_key(function_name, ""))
                    .keys()
                {
                    self.event_invoke_configs.remove(key?)?;
                    any = true;
                }
                Ok(any)
            }
        }
    }
}

#[cfg(test)]
mod tests;
