//! The async invocation queue, the dead-letter store, and the functions'
//! event invoke configs.
//!
//! Queue keys are the time an event is due (wall ms, big-endian) and a
//! sequence number, so events sort by due time and the dispatcher reads the
//! due ones from the front. Moving an event (a retry, a dead letter, a
//! destination) writes the new place and removes the old one in one atomic
//! step, so a crash leaves it in one place or the other, never nowhere.

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
        }
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

impl Store {
    /// Adds an event, due at `due_ms` (not flushed: the caller decides
    /// when it must be durable).
    pub fn enqueue(&self, due_ms: i64, event: &QueuedEvent) -> Result<QueueKey> {
        let key = queue_key(due_ms, self.db.generate_id()?);
        self.queue.insert(&key, encode(event))?;
        Ok(key)
    }

    /// Queues every event in one atomic write: all or none (a topic's
    /// fan-out of one publish).
    pub fn enqueue_all(&self, due_ms: i64, events: &[QueuedEvent]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for event in events {
            batch.insert(queue_key(due_ms, self.db.generate_id()?), encode(event));
        }
        self.queue.apply_batch(batch)?;
        Ok(())
    }

    /// Up to `limit` events due at or before `now_ms`, oldest due first.
    pub fn due_events(&self, now_ms: i64, limit: usize) -> Result<Vec<(QueueKey, QueuedEvent)>> {
        let end = queue_key(now_ms, u64::MAX);
        self.queue
            .range(..=end)
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                Ok((key.to_vec(), decode("queue", &value)?))
            })
            .collect()
    }

    /// Whether an event is (still) at `key`.
    pub fn is_queued(&self, key: &[u8]) -> bool {
        self.queue.contains_key(key).unwrap_or(false)
    }

    /// When the earliest queued event is due.
    pub fn next_due_ms(&self) -> Result<Option<i64>> {
        Ok(self.queue.first()?.map(|(key, _)| due_ms_of(&key)))
    }

    /// Events in the queue (due or not).
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    /// Removes a delivered event.
    pub fn ack(&self, key: &[u8]) -> Result<()> {
        self.queue.remove(key)?;
        Ok(())
    }

    /// Moves an event to a new due time (a retry), atomically.
    pub fn requeue(&self, key: &[u8], due_ms: i64, event: &QueuedEvent) -> Result<()> {
        let new_key = queue_key(due_ms, self.db.generate_id()?);
        let mut batch = sled::Batch::default();
        batch.insert(new_key, encode(event));
        batch.remove(key);
        self.queue.apply_batch(batch)?;
        Ok(())
    }

    /// Removes a finished event and queues its follow-up (a destination's
    /// record) in one atomic step.
    pub fn ack_and_enqueue(&self, key: &[u8], due_ms: i64, next: &QueuedEvent) -> Result<()> {
        self.requeue(key, due_ms, next)
    }

    /// Removes a finished event and queues its follow-ups (a topic
    /// destination's fan-out) in one atomic step.
    pub fn ack_and_enqueue_all(&self, key: &[u8], due_ms: i64, next: &[QueuedEvent]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for event in next {
            batch.insert(queue_key(due_ms, self.db.generate_id()?), encode(event));
        }
        batch.remove(key);
        self.queue.apply_batch(batch)?;
        Ok(())
    }

    /// Moves an event from the queue to the dead-letter store, atomically.
    pub fn dead_letter(&self, key: &[u8], letter: &DeadLetter) -> Result<()> {
        let letter_key = letter_key(&letter.event.function_name, self.db.generate_id()?);
        let value = encode(letter);
        (&self.queue, &self.dead_letters)
            .transaction(|(queue, letters)| {
                queue.remove(key)?;
                letters.insert(letter_key.as_slice(), value.as_slice())?;
                Ok(())
            })
            .map_err(aborted)
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
            moved += 1;
        }
        Ok(moved)
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
