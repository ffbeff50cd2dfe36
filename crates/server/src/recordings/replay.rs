//! Replaying a recording (`funnel replay NAME --to FUNCTION`): each
//! recorded event is sent again to one target through the door semantics
//! it came by — an async event (a bucket's, a topic's, a schedule's, an
//! async `Invoke`) goes through the durable queue with its retries and
//! destinations, a sync one through the dispatcher — and the new outcomes
//! are written to a new recording whose entries keep the original
//! sequence numbers, so two recordings compare event by event.
//!
//! Timing: `fast` sends as soon as a place among `concurrency` is free;
//! `original` keeps the recorded spacing (divided by `speed`) on the real
//! clock; `virtual` moves a virtual clock to each event's time (the
//! timekeeper runs everything due on the way, rule fires included) and
//! sends it there, one at a time, in order.

use std::sync::Arc;

use funnel_store::{QueuedEvent, RecordingEntry, RecordingRecord};
use tokio::sync::Semaphore;

use super::{Active, Door, Origin, Recordings};
use crate::dispatch::{Dispatcher, RunCall};
use crate::error::{Error, Result};
use crate::queue::AsyncQueue;
use crate::registry::Registry;
use crate::timekeeper::Timekeeper;

/// How a replay spaces its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Original,
    Fast,
    Virtual,
}

impl Timing {
    pub fn parse(text: &str) -> Result<Timing> {
        Ok(match text {
            "" | "fast" => Timing::Fast,
            "original" => Timing::Original,
            "virtual" => Timing::Virtual,
            other => {
                return Err(Error::InvalidParameterValue(format!(
                    "timing {other:?} is invalid: it must be original, fast or virtual"
                )));
            }
        })
    }
}

/// A replay as a caller asks for it.
pub struct ReplaySpec {
    pub account: String,
    /// The recording to replay.
    pub source: String,
    /// The target: a function name or ARN, and a qualifier.
    pub function: String,
    pub qualifier: String,
    pub timing: Timing,
    /// How many times faster than recorded (`original`, `virtual`).
    pub speed: f64,
    /// Sync events in flight at once (`fast`).
    pub concurrency: usize,
    /// The new recording's name; `<source>-replay-<n>` when empty.
    pub name: String,
}

/// Runs replays. Cheap to clone.
#[derive(Clone)]
pub struct Replayer {
    recordings: Recordings,
    dispatcher: Dispatcher,
    functions: Registry,
    queue: AsyncQueue,
    timekeeper: Timekeeper,
}

impl Replayer {
    pub fn new(
        recordings: Recordings,
        dispatcher: Dispatcher,
        functions: Registry,
        queue: AsyncQueue,
        timekeeper: Timekeeper,
    ) -> Replayer {
        Replayer {
            recordings,
            dispatcher,
            functions,
            queue,
            timekeeper,
        }
    }

    /// Replays a recording; returns the new recording once every event
    /// is sent (and, on the virtual clock, has run its first attempt).
    pub async fn replay(&self, spec: ReplaySpec) -> Result<RecordingRecord> {
        let manual = self.timekeeper.clock().is_manual();
        match spec.timing {
            Timing::Virtual if !manual => {
                return Err(Error::PreconditionFailed(
                    "--timing virtual needs a server on the virtual clock (funnel up --clock \
                     virtual)"
                        .into(),
                ));
            }
            Timing::Original if manual => {
                return Err(Error::PreconditionFailed(
                    "--timing original waits on the real clock, and this server's clock is \
                     virtual: use --timing virtual"
                        .into(),
                ));
            }
            _ => {}
        }
        if !(spec.speed.is_finite() && spec.speed > 0.0) {
            return Err(Error::InvalidParameterValue(format!(
                "speed {} is invalid: it must be above 0",
                spec.speed
            )));
        }
        let source = self.recordings.get(&spec.account, &spec.source)?;
        let mut entries = self
            .recordings
            .store()
            .recording_entries(&source.key, 0, usize::MAX)?;
        if entries.is_empty() {
            return Err(Error::InvalidParameterValue(format!(
                "recording {} has no events to replay",
                spec.source
            )));
        }
        entries.sort_by_key(|e| (e.at_ms, e.seq));
        // The target must exist now (each event resolves it again, as an
        // alias's weights would).
        let (target, _) = self.functions.lookup(&spec.function, &spec.qualifier)?;
        let name = if spec.name.is_empty() {
            self.free_name(&spec.account, &spec.source)?
        } else {
            spec.name.clone()
        };
        super::check_name(&name)?;
        let target_text = match &target.qualifier {
            Some(q) => format!("{}:{q}", crate::tenancy::name(&target.name)),
            None => crate::tenancy::name(&target.name).to_string(),
        };
        let now = self.timekeeper.clock().wall_ms();
        let record = RecordingRecord {
            key: self.recordings.key(&spec.account, &name),
            account: spec.account.clone(),
            functions: vec![target.name.clone()],
            triggers: Vec::new(),
            state: "replaying".into(),
            started_ms: now,
            stopped_ms: 0,
            events: 0,
            bytes: 0,
            max_events: source.max_events.max(entries.len() as u64),
            max_bytes: source.max_bytes.max(entries.iter().map(|e| e.size()).sum()),
            origin: format!("replay of {} to {target_text}", spec.source),
            next_seq: 1,
        };
        self.recordings.start_replay(&record)?;
        tracing::info!(recording = %record.key, source = %source.key, target = %target_text, events = entries.len(), "replay started");
        let account = spec.account.clone();
        // Its own task: a caller that stops waiting (the API's request
        // timeout ends a long `original` replay's call) does not leave
        // the replay half sent and its recording replaying for ever.
        let this = self.clone();
        let key = record.key.clone();
        let sending = tokio::spawn(async move {
            let sent = this.send_all(&spec, &key, &entries).await;
            this.recordings.replay_sent(&key)?;
            sent?;
            if spec.timing == Timing::Virtual {
                // Let what the last event queued run its first attempt.
                let now = this.timekeeper.clock().wall_ms();
                this.timekeeper.advance_to(now).await?;
            }
            Ok::<(), Error>(())
        });
        sending
            .await
            .map_err(|err| Error::Service(format!("the replay's task failed: {err}")))??;
        self.recordings.get(&account, &name)
    }

    /// `<source>-replay-<n>` for the first n not taken.
    fn free_name(&self, account: &str, source: &str) -> Result<String> {
        let taken: Vec<String> = self
            .recordings
            .list(account)?
            .into_iter()
            .map(|r| crate::tenancy::name(&r.key).to_string())
            .collect();
        Ok((1..)
            .map(|n| format!("{source}-replay-{n}"))
            .find(|name| !taken.contains(name))
            .unwrap_or_default())
    }

    async fn send_all(
        &self,
        spec: &ReplaySpec,
        key: &str,
        entries: &[RecordingEntry],
    ) -> Result<()> {
        let clock = self.timekeeper.clock().clone();
        let first_ms = entries[0].at_ms;
        let start_ms = clock.wall_ms();
        let due = |entry: &RecordingEntry| {
            let offset = (entry.at_ms - first_ms).max(0) as f64 / spec.speed;
            start_ms.saturating_add(offset as i64)
        };
        let places = Arc::new(Semaphore::new(match spec.timing {
            Timing::Virtual => 1,
            _ => spec.concurrency.max(1),
        }));
        let mut running = tokio::task::JoinSet::new();
        for entry in entries {
            match spec.timing {
                Timing::Virtual => {
                    self.timekeeper
                        .advance_to(due(entry).max(clock.wall_ms()))
                        .await?;
                }
                Timing::Original => clock.sleep_until_wall_ms(due(entry)).await,
                Timing::Fast => {}
            }
            let permit = places
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| Error::Service("replay stopped".into()))?;
            let send = self.clone().send(
                spec.function.clone(),
                spec.qualifier.clone(),
                key.to_string(),
                entry.clone(),
            );
            if spec.timing == Timing::Virtual {
                send.await?;
                drop(permit);
            } else {
                running.spawn(async move {
                    let sent = send.await;
                    drop(permit);
                    sent
                });
            }
        }
        while let Some(joined) = running.join_next().await {
            joined.map_err(|err| {
                Error::Service(format!("a replayed event's task failed: {err}"))
            })??;
        }
        Ok(())
    }

    /// Sends one event: its pending entry first, then the event by its
    /// door's semantics.
    async fn send(
        self,
        function: String,
        qualifier: String,
        key: String,
        original: RecordingEntry,
    ) -> Result<()> {
        let (target, record) = self.functions.lookup(&function, &qualifier)?;
        let door = Door::parse(&original.door).unwrap_or(Door::Invoke);
        let asynchronous = original.invocation == "Event" || door.queued();
        let entry = RecordingEntry {
            seq: original.seq,
            at_ms: self.timekeeper.clock().wall_ms(),
            door: door.as_str().into(),
            invocation: if asynchronous {
                "Event"
            } else {
                "RequestResponse"
            }
            .into(),
            function: crate::tenancy::name(&target.name).to_string(),
            qualifier: target.qualifier.clone().unwrap_or_default(),
            request_id: uuid::Uuid::new_v4().to_string(),
            payload: original.payload,
            status: "pending".into(),
            version: String::new(),
            function_error: String::new(),
            error_type: String::new(),
            response: String::new(),
            duration_us: 0,
            billed_ms: 0,
            cold: false,
            attempts: 0,
        };
        self.recordings.replay_entry(&key, &entry, asynchronous)?;
        if asynchronous {
            let event = QueuedEvent {
                source: match door {
                    Door::Invoke | Door::Http => String::new(),
                    door => door.as_str().into(),
                },
                ..QueuedEvent::new(
                    entry.request_id,
                    target.name.clone(),
                    entry.qualifier,
                    entry.payload,
                    None,
                )
            };
            self.queue.check_room(&[target.name.as_str()]).await?;
            self.queue.accept(event).await?;
            return Ok(());
        }
        let call = RunCall {
            request_id: entry.request_id,
            payload: entry.payload.into_bytes(),
            client_context: None,
            chain_depth: 0,
            tail: false,
            origin: Origin {
                door,
                asynchronous: false,
                received_ms: Some(entry.at_ms),
                attempt: 1,
                replay: Some((key, entry.seq)),
            },
            // A replayed call starts its own trace (when sampled).
            trace: None,
        };
        // The outcome (an error included) is the entry's; it is no
        // reason to stop the replay.
        let _ = self.dispatcher.run(&target, &record, call).await;
        Ok(())
    }
}

impl Recordings {
    /// Stores a replay's new recording, taking outcomes from now on.
    fn start_replay(&self, record: &RecordingRecord) -> Result<()> {
        let mut active = self.active();
        self.create(record)?;
        active.insert(
            record.key.clone(),
            Active {
                record: record.clone(),
                pending: 0,
                sending: true,
            },
        );
        self.arm(&active);
        Ok(())
    }

    /// Writes a replayed event's pending entry (found again by its
    /// request id when an async one runs).
    fn replay_entry(&self, key: &str, entry: &RecordingEntry, asynchronous: bool) -> Result<()> {
        let mut active = self.active();
        let Some(replay) = active.get_mut(key) else {
            return Err(Error::ResourceConflict(format!(
                "recording {} was deleted during its replay",
                crate::tenancy::name(key)
            )));
        };
        replay.pending += 1;
        let record = &mut replay.record;
        record.events += 1;
        record.bytes += entry.size();
        record.next_seq = record.next_seq.max(entry.seq + 1);
        self.store().put_recording_entry(key, entry, asynchronous)?;
        self.store().update_recording(record)?;
        Ok(())
    }

    /// A replay has sent every event: once the last outcome is in, it is
    /// done.
    fn replay_sent(&self, key: &str) -> Result<()> {
        let mut active = self.active();
        let settled = match active.get_mut(key) {
            Some(replay) => {
                replay.sending = false;
                self.store().put_recording(&replay.record)?;
                replay.pending == 0
            }
            None => false,
        };
        if settled {
            self.settled(&mut active, key)?;
        }
        self.arm(&active);
        Ok(())
    }
}
