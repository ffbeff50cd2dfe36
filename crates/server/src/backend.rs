//! Seams for a second backend: the durable async queue ([`EventQueue`]),
//! the topic messages it holds once for all their subscribers
//! ([`TopicMessages`]) and the schedule-fire claims ([`FireClaims`]) are
//! reached only through these traits. sled ([`funnel_store::Store`]) is the
//! first implementation, below.
//!
//! The scale-out plan is NATS JetStream: a work-queue stream per account
//! with one durable pull consumer per function for [`EventQueue`], subjects
//! for [`TopicMessages`], and message-id dedup (`rule@time`) for
//! [`FireClaims`]. Such a backend implements these traits; dispatch, the
//! doors and the API do not change.
//!
//! Contract for every implementation: a write is not acknowledged to anyone
//! until [`EventQueue::flush`] after it returned; an event leaves the queue
//! only through `ack`, `requeue`, `dead_letter` or an `ack_and_enqueue*`
//! (each atomic), so a crash at any point redelivers it.

use std::future::Future;
use std::pin::Pin;

use funnel_store::{DeadLetter, QueueKey, Queued, QueuedEvent, QueuedGroup, Slot, Store};

use crate::error::Result;

/// A future a backend returns (boxed: the traits are used as objects).
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// The durable queue of async invocations, and their dead letters.
pub trait EventQueue: Send + Sync {
    /// Writes `event`, due at `due_ms` (wall ms); durable after the next
    /// [`EventQueue::flush`].
    fn enqueue(&self, due_ms: i64, event: &QueuedEvent) -> Result<()>;
    /// Writes `events` atomically: all or none.
    fn enqueue_all(&self, due_ms: i64, events: &[QueuedEvent]) -> Result<()>;
    /// Up to `limit` entries due at or before `now_ms`, earliest first.
    fn due_events(&self, now_ms: i64, limit: usize) -> Result<Vec<(QueueKey, Queued)>>;
    /// Whether the event at `slot` is still queued (not yet acknowledged).
    fn is_queued(&self, slot: &Slot) -> bool;
    /// When the earliest entry is due, if any.
    fn next_due_ms(&self) -> Result<Option<i64>>;
    /// How many invocations are queued.
    fn depth(&self) -> usize;
    /// How many invocations each function has queued (a scan).
    fn queued_by_function(&self) -> Result<std::collections::HashMap<String, u64>>;
    /// Removes a delivered event (one of its own; group members go through
    /// [`TopicMessages::remove_members`]).
    fn ack(&self, slot: &Slot) -> Result<()>;
    /// Moves the event at `slot` to `due_ms`, as `event` (a retry).
    fn requeue(&self, slot: &Slot, due_ms: i64, event: &QueuedEvent) -> Result<()>;
    /// Removes the event at `slot` and queues `next` (a destination).
    fn ack_and_enqueue(&self, slot: &Slot, due_ms: i64, next: &QueuedEvent) -> Result<()>;
    /// Moves the event at `slot` to the dead letters.
    fn dead_letter(&self, slot: &Slot, letter: &DeadLetter) -> Result<()>;
    /// Dead letters (of one function, or all), after key `after`.
    fn dead_letters(
        &self,
        function_name: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, DeadLetter)>>;
    /// Queues the dead letters `ids` of `function_name` again.
    fn redrive(
        &self,
        function_name: &str,
        ids: &[String],
        due_ms: i64,
        received_ms: i64,
    ) -> Result<usize>;
    /// Deletes every dead letter of `function_name`.
    fn purge_dead_letters(&self, function_name: &str) -> Result<usize>;
    /// Deletes the dead letters that failed before `before_ms`.
    fn expire_dead_letters(&self, before_ms: i64) -> Result<usize>;
    /// Makes every write made before the call durable.
    fn flush(&self) -> BackendFuture<'_, ()>;
}

/// Topic messages: one stored message and the subscribers it still goes to.
pub trait TopicMessages: Send + Sync {
    /// Writes `groups` (each one message for several functions) atomically.
    fn enqueue_groups(&self, due_ms: i64, groups: &[QueuedGroup]) -> Result<()>;
    /// Takes delivered `members` out of the group at `key` (the group goes
    /// with its last member).
    fn remove_members(&self, key: &[u8], members: &[&str]) -> Result<()>;
    /// Removes the event at `slot` and queues `group` (a destination topic).
    fn ack_and_enqueue_group(&self, slot: &Slot, due_ms: i64, group: &QueuedGroup) -> Result<()>;
}

/// Which scheduled time each rule last fired for: the claim that makes a
/// time fire at most once, across restarts.
pub trait FireClaims: Send + Sync {
    /// The scheduled time `rule` last fired for (wall ms).
    fn last_fire(&self, rule: &str) -> Result<Option<i64>>;
    /// Claims `scheduled_ms` for `rule` before its invocations are queued.
    /// The claim is durable with the queue's next flush (sled: one store);
    /// a backend where the two are apart makes it durable itself.
    fn claim(&self, rule: &str, scheduled_ms: i64) -> Result<()>;
}

impl EventQueue for Store {
    fn enqueue(&self, due_ms: i64, event: &QueuedEvent) -> Result<()> {
        Store::enqueue(self, due_ms, event)?;
        Ok(())
    }

    fn enqueue_all(&self, due_ms: i64, events: &[QueuedEvent]) -> Result<()> {
        Ok(Store::enqueue_all(self, due_ms, events)?)
    }

    fn due_events(&self, now_ms: i64, limit: usize) -> Result<Vec<(QueueKey, Queued)>> {
        Ok(Store::due_events(self, now_ms, limit)?)
    }

    fn is_queued(&self, slot: &Slot) -> bool {
        Store::is_queued(self, slot)
    }

    fn next_due_ms(&self) -> Result<Option<i64>> {
        Ok(Store::next_due_ms(self)?)
    }

    fn depth(&self) -> usize {
        Store::queue_depth(self)
    }

    fn queued_by_function(&self) -> Result<std::collections::HashMap<String, u64>> {
        Ok(Store::queued_by_function(self)?)
    }

    fn ack(&self, slot: &Slot) -> Result<()> {
        Ok(Store::ack(self, slot)?)
    }

    fn requeue(&self, slot: &Slot, due_ms: i64, event: &QueuedEvent) -> Result<()> {
        Ok(Store::requeue(self, slot, due_ms, event)?)
    }

    fn ack_and_enqueue(&self, slot: &Slot, due_ms: i64, next: &QueuedEvent) -> Result<()> {
        Ok(Store::ack_and_enqueue(self, slot, due_ms, next)?)
    }

    fn dead_letter(&self, slot: &Slot, letter: &DeadLetter) -> Result<()> {
        Ok(Store::dead_letter(self, slot, letter)?)
    }

    fn dead_letters(
        &self,
        function_name: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, DeadLetter)>> {
        Ok(Store::dead_letters(self, function_name, after, limit)?)
    }

    fn redrive(
        &self,
        function_name: &str,
        ids: &[String],
        due_ms: i64,
        received_ms: i64,
    ) -> Result<usize> {
        Ok(Store::redrive(
            self,
            function_name,
            ids,
            due_ms,
            received_ms,
        )?)
    }

    fn purge_dead_letters(&self, function_name: &str) -> Result<usize> {
        Ok(Store::purge_dead_letters(self, function_name)?)
    }

    fn expire_dead_letters(&self, before_ms: i64) -> Result<usize> {
        Ok(Store::expire_dead_letters(self, before_ms)?)
    }

    fn flush(&self) -> BackendFuture<'_, ()> {
        Box::pin(async move { Ok(self.flush_async().await?) })
    }
}

impl TopicMessages for Store {
    fn enqueue_groups(&self, due_ms: i64, groups: &[QueuedGroup]) -> Result<()> {
        Ok(Store::enqueue_groups(self, due_ms, groups)?)
    }

    fn remove_members(&self, key: &[u8], members: &[&str]) -> Result<()> {
        Ok(Store::remove_members(self, key, members)?)
    }

    fn ack_and_enqueue_group(&self, slot: &Slot, due_ms: i64, group: &QueuedGroup) -> Result<()> {
        Ok(Store::ack_and_enqueue_group(self, slot, due_ms, group)?)
    }
}

impl FireClaims for Store {
    fn last_fire(&self, rule: &str) -> Result<Option<i64>> {
        Ok(Store::last_fire(self, rule)?)
    }

    fn claim(&self, rule: &str, scheduled_ms: i64) -> Result<()> {
        Ok(Store::set_last_fire(self, rule, scheduled_ms)?)
    }
}
