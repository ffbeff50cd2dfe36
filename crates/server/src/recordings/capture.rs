//! The capture of calls: which recordings a call belongs to (one atomic
//! read when none is active), and the entry its outcome writes — a new
//! one, or for a later attempt of an async event (or a replayed event)
//! the entry its first attempt made.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use funnel_store::{RecordingEntry, RecordingRecord};

use super::{Active, Door, Origin, Recordings, Stats};
use crate::dispatch::InvokeResult;
use crate::error::{Error, Result};

/// A call some recording is capturing, until it finishes.
pub(crate) struct Capture {
    /// Recordings that get a new entry.
    pub(super) new: Vec<String>,
    /// Entries (recording, sequence) an earlier attempt or a replay made.
    existing: Vec<(String, u64)>,
    entry: RecordingEntry,
}

impl Recordings {
    /// The recordings a call of `function` (a key) that came by `origin`
    /// belongs to, with a copy of its payload; `None` (after one atomic
    /// read, when no recording is active) for most calls.
    pub(crate) fn begin(
        &self,
        function: &str,
        qualifier: Option<&str>,
        origin: &Origin,
        request_id: &str,
        payload: &[u8],
    ) -> Option<Capture> {
        if !self.inner.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut existing = if origin.asynchronous {
            self.inner
                .store
                .recording_requests(request_id)
                .unwrap_or_else(|err| {
                    tracing::warn!(cause = %err, "recordings: the request index could not be read");
                    Vec::new()
                })
        } else {
            Vec::new()
        };
        if let Some(replay) = &origin.replay {
            existing.push(replay.clone());
        }
        let new: Vec<String> = self
            .active()
            .values()
            .filter(|a| a.record.state == "recording")
            .filter(|a| !existing.iter().any(|(key, _)| *key == a.record.key))
            .filter(|a| self.wants(&a.record, function, origin.door))
            .map(|a| a.record.key.clone())
            .collect();
        if new.is_empty() && existing.is_empty() {
            return None;
        }
        let invocation = if origin.asynchronous {
            "Event"
        } else {
            "RequestResponse"
        };
        Some(Capture {
            new,
            existing,
            entry: RecordingEntry {
                seq: 0,
                at_ms: origin
                    .received_ms
                    .unwrap_or_else(|| self.inner.clock.wall_ms()),
                door: origin.door.as_str().into(),
                invocation: invocation.into(),
                function: crate::tenancy::name(function).to_string(),
                qualifier: qualifier.unwrap_or_default().to_string(),
                request_id: request_id.to_string(),
                payload: String::from_utf8_lossy(payload).into_owned(),
                status: "pending".into(),
                version: String::new(),
                function_error: String::new(),
                error_type: String::new(),
                response: String::new(),
                duration_us: 0,
                billed_ms: 0,
                cold: false,
                attempts: origin.attempt,
            },
        })
    }

    fn wants(&self, record: &RecordingRecord, function: &str, door: Door) -> bool {
        let function_ok = if record.functions.is_empty() {
            crate::tenancy::belongs(&self.inner.home, &record.account, function)
        } else {
            record.functions.iter().any(|f| f == function)
        };
        function_ok
            && (record.triggers.is_empty() || record.triggers.iter().any(|t| t == door.as_str()))
    }

    /// Writes the outcome of a captured call to its recordings' entries.
    /// A failure to write is logged, never the call's failure.
    pub(crate) fn finish(
        &self,
        capture: Capture,
        result: &Result<InvokeResult>,
        stats: Option<Stats>,
    ) {
        if let Err(Error::ShuttingDown(_)) = result {
            // Not an outcome: the event runs again after the restart.
            return;
        }
        let Capture {
            new,
            existing,
            mut entry,
        } = capture;
        outcome(&mut entry, result, stats);
        if let Err(err) = self.write(new, existing, entry) {
            tracing::warn!(cause = %err, "recordings: an entry could not be written");
        }
    }

    fn write(
        &self,
        new: Vec<String>,
        existing: Vec<(String, u64)>,
        entry: RecordingEntry,
    ) -> Result<()> {
        let store = &self.inner.store;
        let mut active = self.active();
        for (key, seq) in existing {
            let Some(old) = store.recording_entry(&key, seq)? else {
                continue;
            };
            let updated = RecordingEntry {
                seq,
                at_ms: old.at_ms,
                door: old.door.clone(),
                invocation: old.invocation.clone(),
                qualifier: old.qualifier.clone(),
                request_id: old.request_id.clone(),
                payload: old.payload.clone(),
                ..entry.clone()
            };
            store.put_recording_entry(&key, &updated, false)?;
            // The response's bytes count from now (a retry's replace
            // the attempt before's).
            let grown = |bytes: u64| {
                bytes
                    .saturating_sub(old.size())
                    .saturating_add(updated.size())
            };
            match active.get_mut(&key) {
                Some(recording) => {
                    recording.record.bytes = grown(recording.record.bytes);
                    store.update_recording(&recording.record)?;
                }
                None => {
                    if let Some(mut record) = store.recording(&key)? {
                        record.bytes = grown(record.bytes);
                        store.update_recording(&record)?;
                    }
                }
            }
            if old.status == "pending"
                && let Some(replay) = active.get_mut(&key)
            {
                replay.pending = replay.pending.saturating_sub(1);
                if replay.pending == 0 && !replay.sending {
                    self.settled(&mut active, &key)?;
                }
            }
        }
        for key in new {
            let Some(recording) = active.get_mut(&key) else {
                continue;
            };
            let record = &mut recording.record;
            if record.events >= record.max_events
                || record.bytes.saturating_add(entry.size()) > record.max_bytes
            {
                record.state = "full".into();
                record.stopped_ms = self.inner.clock.wall_ms();
                store.put_recording(record)?;
                tracing::warn!(recording = %key, events = record.events, bytes = record.bytes, "recording full: it stopped");
                active.remove(&key);
                continue;
            }
            let written = RecordingEntry {
                seq: record.next_seq,
                ..entry.clone()
            };
            record.next_seq += 1;
            record.events += 1;
            record.bytes += written.size();
            let asynchronous = written.invocation == "Event";
            store.put_recording_entry(&key, &written, asynchronous)?;
            store.update_recording(record)?;
        }
        self.arm(&active);
        Ok(())
    }

    /// A replay whose every entry has its outcome: it is done.
    pub(super) fn settled(&self, active: &mut HashMap<String, Active>, key: &str) -> Result<()> {
        if let Some(mut done) = active.remove(key) {
            done.record.state = "stopped".into();
            done.record.stopped_ms = self.inner.clock.wall_ms();
            self.inner.store.put_recording(&done.record)?;
            tracing::info!(recording = %key, "replay settled");
        }
        Ok(())
    }
}

/// Fills in `entry`'s outcome from a finished call.
fn outcome(entry: &mut RecordingEntry, result: &Result<InvokeResult>, stats: Option<Stats>) {
    if let Some(stats) = stats {
        entry.version = stats.version;
        entry.duration_us = u64::try_from(stats.duration.as_micros()).unwrap_or(u64::MAX);
        entry.billed_ms = entry.duration_us.div_ceil(1000).max(1);
        entry.cold = stats.cold;
    }
    match result {
        Ok(result) => {
            entry.response = String::from_utf8_lossy(&result.payload).into_owned();
            entry.version = result.executed_version.clone();
            match result.function_error {
                None => entry.status = "ok".into(),
                Some(label) => {
                    entry.status = "error".into();
                    entry.function_error = label.into();
                    entry.error_type = serde_json::from_slice::<serde_json::Value>(&result.payload)
                        .ok()
                        .and_then(|body| body["errorType"].as_str().map(str::to_string))
                        .unwrap_or_default();
                }
            }
        }
        Err(err) => {
            entry.status = match err {
                Error::Throttled { .. } => "throttled",
                _ => "error",
            }
            .into();
            entry.error_type = err.aws_name().into();
            entry.response = serde_json::json!({
                "errorType": err.aws_name(),
                "errorMessage": err.to_string(),
            })
            .to_string();
        }
    }
}
