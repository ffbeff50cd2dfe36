//! Recordings (`funnel record start`): the events that reached chosen
//! functions and what came of them, kept for replay and diff. Three
//! trees, opened on first use:
//!
//! - `recordings`: recording key → [`RecordingRecord`]
//! - `recording_entries`: recording key, NUL, sequence (u64,
//!   big-endian) → [`RecordingEntry`], so one recording reads in order
//! - `recording_requests`: request id, NUL, recording key → sequence
//!   (u64, big-endian): where a later attempt of an async event (a retry,
//!   or a replayed event's delivery) writes its outcome
//!
//! Not in exports: like logs, a recording holds payloads, and payloads
//! stay on the server that saw them (`funnel record export` is the way
//! out, for a caller allowed to read them).

use serde::{Deserialize, Serialize};

use super::{Result, Store, decode, encode, read_u64};

const RECORDINGS: &str = "recordings";
const ENTRIES: &str = "recording_entries";
const REQUESTS: &str = "recording_requests";

/// One recording, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingRecord {
    /// The recording's key (its name, account-scoped as every resource).
    pub key: String,
    /// The account that owns it (12 digits).
    pub account: String,
    /// Function keys it records; empty for every function of the account.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Doors it records (`s3`, `sns`, `schedule`, `invoke`, `http`);
    /// empty for all.
    #[serde(default)]
    pub triggers: Vec<String>,
    /// `recording`, `stopped`, `full` (stopped by its bounds) or
    /// `replaying` (a replay's outcomes still coming in).
    pub state: String,
    pub started_ms: i64,
    #[serde(default)]
    pub stopped_ms: i64,
    /// Entries it holds, and their payload and response bytes.
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub bytes: u64,
    pub max_events: u64,
    pub max_bytes: u64,
    /// Where it came from: empty for live traffic, `import`, or
    /// `replay of <recording> to <function>`.
    #[serde(default)]
    pub origin: String,
    /// The sequence number the next entry gets.
    #[serde(default)]
    pub next_seq: u64,
}

/// One event of a recording and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingEntry {
    pub seq: u64,
    /// When the event reached funnel (wall ms on the server's clock).
    pub at_ms: i64,
    /// `s3`, `sns`, `schedule`, `invoke` or `http`.
    pub door: String,
    /// `RequestResponse` (sync) or `Event` (async, with retries).
    pub invocation: String,
    /// The function's name (not its key).
    pub function: String,
    /// The qualifier the event targeted (empty for unqualified).
    #[serde(default)]
    pub qualifier: String,
    pub request_id: String,
    /// The event, exactly as the function got it.
    pub payload: String,
    /// `ok`, `error`, `throttled`, or `pending` (not run yet).
    pub status: String,
    /// The version that ran.
    #[serde(default)]
    pub version: String,
    /// `Handled` or `Unhandled` for a function error.
    #[serde(default)]
    pub function_error: String,
    #[serde(default)]
    pub error_type: String,
    /// What the function returned (its error JSON for a function error).
    #[serde(default)]
    pub response: String,
    #[serde(default)]
    pub duration_us: u64,
    #[serde(default)]
    pub billed_ms: u64,
    #[serde(default)]
    pub cold: bool,
    /// Times it ran (an async event's retries count here).
    #[serde(default)]
    pub attempts: u32,
}

impl RecordingEntry {
    /// What it counts against its recording's byte bound.
    pub fn size(&self) -> u64 {
        (self.payload.len() + self.response.len()) as u64
    }
}

fn entry_key(recording: &str, seq: u64) -> Vec<u8> {
    let mut key = recording.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn request_key(request_id: &str, recording: &str) -> Vec<u8> {
    let mut key = request_id.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(recording.as_bytes());
    key
}

impl Store {
    /// Stores `record` under its key (replacing it) and flushes.
    pub fn put_recording(&self, record: &RecordingRecord) -> Result<()> {
        self.db
            .open_tree(RECORDINGS)?
            .insert(record.key.as_bytes(), encode(record))?;
        self.flush()
    }

    /// Stores `record` without a flush (its counters, with each entry).
    pub fn update_recording(&self, record: &RecordingRecord) -> Result<()> {
        self.db
            .open_tree(RECORDINGS)?
            .insert(record.key.as_bytes(), encode(record))?;
        Ok(())
    }

    pub fn recording(&self, key: &str) -> Result<Option<RecordingRecord>> {
        self.db
            .open_tree(RECORDINGS)?
            .get(key.as_bytes())?
            .map(|value| decode(key, &value))
            .transpose()
    }

    /// Every recording, by key. A record that does not decode is skipped.
    pub fn recordings(&self) -> Result<Vec<RecordingRecord>> {
        let mut all = Vec::new();
        for entry in self.db.open_tree(RECORDINGS)?.iter() {
            let (key, value) = entry?;
            match decode(&String::from_utf8_lossy(&key), &value) {
                Ok(record) => all.push(record),
                Err(err) => tracing::warn!(cause = %err, "a recording does not decode"),
            }
        }
        Ok(all)
    }

    /// Writes one entry of `recording` (not flushed: entries are data,
    /// made durable by the next flush, as log events are). With
    /// `request`, a later attempt of the same request id finds it.
    pub fn put_recording_entry(
        &self,
        recording: &str,
        entry: &RecordingEntry,
        request: bool,
    ) -> Result<()> {
        self.db
            .open_tree(ENTRIES)?
            .insert(entry_key(recording, entry.seq), encode(entry))?;
        if request {
            self.db.open_tree(REQUESTS)?.insert(
                request_key(&entry.request_id, recording),
                &entry.seq.to_be_bytes(),
            )?;
        }
        Ok(())
    }

    pub fn recording_entry(&self, recording: &str, seq: u64) -> Result<Option<RecordingEntry>> {
        self.db
            .open_tree(ENTRIES)?
            .get(entry_key(recording, seq))?
            .map(|value| decode(recording, &value))
            .transpose()
    }

    /// Up to `limit` entries of `recording` with a sequence from `from`,
    /// in order.
    pub fn recording_entries(
        &self,
        recording: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordingEntry>> {
        let tree = self.db.open_tree(ENTRIES)?;
        let end = entry_key(recording, u64::MAX);
        let mut entries = Vec::new();
        for item in tree.range(entry_key(recording, from)..=end).take(limit) {
            let (key, value) = item?;
            entries.push(decode(&String::from_utf8_lossy(&key), &value)?);
        }
        Ok(entries)
    }

    /// The recordings (key, sequence) an earlier attempt of `request_id`
    /// wrote an entry to.
    pub fn recording_requests(&self, request_id: &str) -> Result<Vec<(String, u64)>> {
        let mut prefix = request_id.as_bytes().to_vec();
        prefix.push(0);
        let mut found = Vec::new();
        for item in self.db.open_tree(REQUESTS)?.scan_prefix(&prefix) {
            let (key, value) = item?;
            let recording = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            found.push((recording, read_u64(&value)));
        }
        Ok(found)
    }

    /// Removes a recording, its entries and their request index, and
    /// flushes; returns it, if there was one.
    pub fn delete_recording(&self, key: &str) -> Result<Option<RecordingRecord>> {
        let old = self.db.open_tree(RECORDINGS)?.remove(key.as_bytes())?;
        let entries = self.db.open_tree(ENTRIES)?;
        let requests = self.db.open_tree(REQUESTS)?;
        let mut prefix = key.as_bytes().to_vec();
        prefix.push(0);
        for item in entries.scan_prefix(&prefix) {
            let (entry_key, value) = item?;
            if let Ok(entry) = decode::<RecordingEntry>(key, &value) {
                requests.remove(request_key(&entry.request_id, key))?;
            }
            entries.remove(entry_key)?;
        }
        self.flush()?;
        old.map(|old| decode(key, &old)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, request_id: &str) -> RecordingEntry {
        RecordingEntry {
            seq,
            at_ms: 1_000 + seq as i64,
            door: "invoke".into(),
            invocation: "RequestResponse".into(),
            function: "hello".into(),
            qualifier: String::new(),
            request_id: request_id.into(),
            payload: r#"{"name":"ada"}"#.into(),
            status: "ok".into(),
            version: "$LATEST".into(),
            function_error: String::new(),
            error_type: String::new(),
            response: r#"{"message":"Hello, ada!"}"#.into(),
            duration_us: 1_500,
            billed_ms: 2,
            cold: seq == 1,
            attempts: 1,
        }
    }

    #[test]
    fn entries_read_in_order_and_go_with_their_recording() {
        let dir = tempfile::tempdir().unwrap();
        let record = RecordingRecord {
            key: "morning".into(),
            account: "000000000000".into(),
            functions: vec!["hello".into()],
            triggers: Vec::new(),
            state: "recording".into(),
            started_ms: 1,
            stopped_ms: 0,
            events: 0,
            bytes: 0,
            max_events: 10,
            max_bytes: 1_000,
            origin: String::new(),
            next_seq: 1,
        };
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_recording(&record).unwrap();
            // Written out of order: read back by sequence (300 sorts
            // after 2 only big-endian).
            for seq in [300, 2, 1] {
                store
                    .put_recording_entry("morning", &entry(seq, &format!("r{seq}")), seq == 2)
                    .unwrap();
            }
            store
                .put_recording_entry("morning-2", &entry(1, "other"), false)
                .unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.recordings().unwrap(), vec![record.clone()]);
        let seqs: Vec<u64> = store
            .recording_entries("morning", 0, 10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 300]);
        assert_eq!(store.recording_entries("morning", 2, 1).unwrap()[0].seq, 2);
        assert_eq!(
            store.recording_requests("r2").unwrap(),
            vec![("morning".to_string(), 2)]
        );
        assert_eq!(store.delete_recording("morning").unwrap(), Some(record));
        assert!(
            store
                .recording_entries("morning", 0, 10)
                .unwrap()
                .is_empty()
        );
        assert!(store.recording_requests("r2").unwrap().is_empty());
        assert_eq!(
            store.recording_entries("morning-2", 0, 10).unwrap().len(),
            1
        );
        assert_eq!(store.delete_recording("morning").unwrap(), None);
    }
}
