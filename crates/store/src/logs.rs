//! Log events: appended in chunks, scanned by time, pruned by age and size.
//!
//! A chunk is the records one append writes to a group (an invocation's
//! lines are one record), stored as one value: a JSON array of records,
//! keyed by the group, its first record's time and a fresh id. One store
//! write per group per append instead of one per invocation is what keeps
//! logging off the cost of a call. A chunk spans at most [`CHUNK_SPAN_MS`]
//! and [`CHUNK_LINES`] lines, so an event's id (its chunk's key and its line
//! within the chunk) fits in 18 bytes and a time range is found by keys.
//! Values written before chunks (one record, a JSON object) read as a
//! chunk of one.

use super::{
    LogEvent, LogGroupEntry, LogRecord, LogScan, LogStreamEntry, Result, Store, StoredLogEvent,
    decode, encode, log_event_id, read_u64,
};

/// The longest time between a chunk's first and last record.
pub const CHUNK_SPAN_MS: i64 = 1_000;
/// The most lines a chunk holds (a line's index within it is 16 bits); a
/// single record with more is a chunk of its own.
pub const CHUNK_LINES: usize = 1 << 16;

impl Store {
    /// Appends records to a log group, in order, as chunks (not flushed:
    /// logs ride on the next flush). Returns where each record went: its
    /// chunk's id and the index of its first line within the chunk (line
    /// `n` of the record is event `log_event_id(chunk, first + n)`).
    pub fn append_log_records(
        &self,
        group: &str,
        records: &[LogRecord],
    ) -> Result<Vec<(String, usize)>> {
        let prefix = log_prefix(group);
        let mut bytes = 0u64;
        let mut placed = Vec::with_capacity(records.len());
        let mut rest = records;
        while let Some(first) = rest.first() {
            let first_at = first.timestamp.max(0);
            let mut lines = 0;
            let mut taken = 0;
            for record in rest {
                let at = record.timestamp.max(0);
                let fits = lines + record.lines.len() <= CHUNK_LINES
                    && (first_at..=first_at + CHUNK_SPAN_MS).contains(&at);
                if taken > 0 && !fits {
                    break;
                }
                lines += record.lines.len();
                taken += 1;
            }
            let (chunk, after) = rest.split_at(taken);
            rest = after;
            let mut key = prefix.clone();
            key.extend_from_slice(&(first_at as u64).to_be_bytes());
            key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
            let id = hex::encode(&key[prefix.len()..]);
            let mut line = 0;
            for record in chunk {
                placed.push((id.clone(), line));
                line += record.lines.len();
            }
            let value = encode(&chunk);
            bytes += (key.len() + value.len()) as u64;
            self.logs.insert(key, value)?;
        }
        // A new group is created now, at its first record's ingestion.
        let created = records.first().map_or(0, |r| r.ingestion_time);
        self.log_groups.update_and_fetch(group, |old| {
            let size = old.map_or(0, read_u64) + bytes;
            let mut value = size.to_be_bytes().to_vec();
            match old {
                Some(old) => value.extend_from_slice(old.get(8..).unwrap_or_default()),
                None => value.extend_from_slice(&created.to_be_bytes()),
            }
            Some(value)
        })?;
        Ok(placed)
    }

    /// Events of `group` between the scan's times that it keeps, up to its
    /// limit; and the id to resume after, if there may be more.
    pub fn scan_log_events(
        &self,
        group: &str,
        scan: &LogScan<'_>,
    ) -> Result<(Vec<StoredLogEvent>, Option<String>)> {
        use std::ops::Bound;
        let prefix = log_prefix(group);
        let key_at = |suffix: &[u8]| {
            let mut key = prefix.clone();
            key.extend_from_slice(suffix);
            key
        };
        let time_key = |ms: i64| key_at(&(ms.max(0) as u64).to_be_bytes());
        // A cursor: a record key and the line within it to resume after.
        let cursor = scan
            .after
            .and_then(|id| hex::decode(id).ok())
            .filter(|raw| raw.len() == 18)
            .map(|raw| {
                (
                    key_at(&raw[..16]),
                    u16::from_be_bytes([raw[16], raw[17]]) as usize,
                )
            });
        // A chunk's key holds its first record's time; its records are up
        // to CHUNK_SPAN_MS later.
        let mut lower = Bound::Included(time_key(scan.start_ms.saturating_sub(CHUNK_SPAN_MS)));
        let mut upper = Bound::Excluded(time_key(scan.end_ms.saturating_add(1)));
        if let Some((key, _)) = &cursor {
            if scan.from_head {
                lower = Bound::Included(key.clone());
            } else {
                upper = Bound::Included(key.clone());
            }
        }
        let range = self.logs.range::<Vec<u8>, _>((lower, upper));
        let entries: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            if scan.from_head {
                Box::new(range)
            } else {
                Box::new(range.rev())
            };
        let in_range = |at: i64| (scan.start_ms..=scan.end_ms).contains(&at);
        let mut found = Vec::new();
        let mut last = None;
        'chunks: for entry in entries {
            let (key, value) = entry?;
            let chunk_id = hex::encode(&key[prefix.len()..]);
            let records = match decode_chunk(group, &value) {
                Ok(records) => records,
                Err(err) => {
                    self.quarantine(&self.logs, "logs", &key, &value, &err)?;
                    continue;
                }
            };
            // Every line of the chunk, with its index within the chunk.
            let mut lines: Vec<(usize, &LogRecord, &String)> = Vec::new();
            let mut index = 0;
            for record in &records {
                for line in &record.lines {
                    if in_range(record.timestamp) {
                        lines.push((index, record, line));
                    }
                    index += 1;
                }
            }
            if !scan.from_head {
                lines.reverse();
            }
            for (index, record, line) in lines {
                if let Some((cursor_key, cursor_line)) = &cursor
                    && cursor_key.as_slice() == &*key
                    && (scan.from_head && index <= *cursor_line
                        || !scan.from_head && index >= *cursor_line)
                {
                    continue;
                }
                let id = log_event_id(&chunk_id, index);
                last = Some(id.clone());
                let event = LogEvent {
                    stream: record.stream.clone(),
                    timestamp: record.timestamp,
                    ingestion_time: record.ingestion_time,
                    message: line.clone(),
                };
                if (scan.keep)(&event) {
                    found.push(StoredLogEvent { id, event });
                    if found.len() == scan.limit {
                        break 'chunks;
                    }
                }
            }
        }
        let next = if found.len() == scan.limit {
            last
        } else {
            None
        };
        if !scan.from_head {
            found.reverse();
        }
        Ok((found, next))
    }

    /// Every log group, in key order: the bytes its events take and when
    /// it was created.
    pub fn log_groups(&self) -> Result<Vec<LogGroupEntry>> {
        self.log_groups
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                self.log_group_entry(String::from_utf8_lossy(&key).into_owned(), &value)
            })
            .collect()
    }

    /// One log group, if it exists.
    pub fn log_group(&self, group: &str) -> Result<Option<LogGroupEntry>> {
        match self.log_groups.get(group)? {
            Some(value) => Ok(Some(self.log_group_entry(group.to_string(), &value)?)),
            None => Ok(None),
        }
    }

    fn log_group_entry(&self, group: String, value: &[u8]) -> Result<LogGroupEntry> {
        let creation_time = match value.get(8..16) {
            Some(created) => read_u64(created) as i64,
            // Written before groups kept it: their oldest chunk's.
            None => self.oldest_log_chunk(&group)?.unwrap_or(0),
        };
        Ok(LogGroupEntry {
            group,
            stored_bytes: read_u64(value),
            creation_time,
        })
    }

    /// The time of `group`'s oldest chunk, if it has one.
    fn oldest_log_chunk(&self, group: &str) -> Result<Option<i64>> {
        let prefix = log_prefix(group);
        Ok(match self.logs.scan_prefix(&prefix).next() {
            Some(entry) => entry?
                .0
                .get(prefix.len()..prefix.len() + 8)
                .map(|b| read_u64(b) as i64),
            None => None,
        })
    }

    /// Every stream of `group` that has events, in name order, from one
    /// read of its chunks.
    pub fn log_streams(&self, group: &str) -> Result<Vec<LogStreamEntry>> {
        let mut streams: std::collections::BTreeMap<String, LogStreamEntry> =
            std::collections::BTreeMap::new();
        for entry in self.logs.scan_prefix(log_prefix(group)) {
            let (key, value) = entry?;
            let records = match decode_chunk(group, &value) {
                Ok(records) => records,
                Err(err) => {
                    self.quarantine(&self.logs, "logs", &key, &value, &err)?;
                    continue;
                }
            };
            for record in records {
                let bytes: u64 = record.lines.iter().map(|l| l.len() as u64).sum();
                let stream =
                    streams
                        .entry(record.stream.clone())
                        .or_insert_with(|| LogStreamEntry {
                            stream: record.stream.clone(),
                            creation_time: record.ingestion_time,
                            first_event_timestamp: record.timestamp,
                            last_event_timestamp: record.timestamp,
                            last_ingestion_time: record.ingestion_time,
                            stored_bytes: 0,
                        });
                stream.creation_time = stream.creation_time.min(record.ingestion_time);
                stream.first_event_timestamp = stream.first_event_timestamp.min(record.timestamp);
                stream.last_event_timestamp = stream.last_event_timestamp.max(record.timestamp);
                stream.last_ingestion_time = stream.last_ingestion_time.max(record.ingestion_time);
                stream.stored_bytes += bytes;
            }
        }
        Ok(streams.into_values().collect())
    }

    /// Deletes `group`'s chunks older than `before_ms` (all of whose
    /// records are: a chunk may outlive its age by [`CHUNK_SPAN_MS`]), then
    /// its oldest until it takes at most `max_bytes`. Returns how many
    /// chunks were deleted.
    pub fn prune_log_events(&self, group: &str, before_ms: i64, max_bytes: u64) -> Result<usize> {
        let prefix = log_prefix(group);
        let mut size = self.log_groups.get(group)?.map_or(0, |v| read_u64(&v));
        let mut removed = 0;
        for entry in self.logs.scan_prefix(&prefix) {
            let (key, value) = entry?;
            let at = key
                .get(prefix.len()..prefix.len() + 8)
                .map_or(0, |b| read_u64(b) as i64);
            // A chunk goes for its age once its last record may be old.
            if at.saturating_add(CHUNK_SPAN_MS) >= before_ms && size <= max_bytes {
                break;
            }
            self.logs.remove(&key)?;
            size = size.saturating_sub((key.len() + value.len()) as u64);
            removed += 1;
        }
        if removed > 0 {
            self.log_groups.update_and_fetch(group, |old| {
                let mut value = size.to_be_bytes().to_vec();
                value.extend_from_slice(old.and_then(|old| old.get(8..)).unwrap_or_default());
                Some(value)
            })?;
        }
        Ok(removed)
    }
}

/// A stored chunk: an array of records, or (written before chunks) one.
fn decode_chunk(group: &str, value: &[u8]) -> Result<Vec<LogRecord>> {
    if value.first() == Some(&b'[') {
        decode(group, value)
    } else {
        decode(group, value).map(|record| vec![record])
    }
}

fn log_prefix(group: &str) -> Vec<u8> {
    let mut key = group.as_bytes().to_vec();
    key.push(0);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: i64, lines: &[&str]) -> LogRecord {
        LogRecord {
            stream: "s".into(),
            timestamp: at,
            ingestion_time: at,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn read(store: &Store, start_ms: i64, end_ms: i64, after: Option<&str>) -> Vec<StoredLogEvent> {
        let scan = LogScan {
            start_ms,
            end_ms,
            after,
            from_head: true,
            limit: 2,
            keep: &|_| true,
        };
        store.scan_log_events("g", &scan).unwrap().0
    }

    #[test]
    fn chunks_split_by_span_and_read_by_the_time_of_each_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let placed = store
            .append_log_records(
                "g",
                &[
                    record(10_000, &["a", "b"]),
                    record(10_500, &["c"]),
                    record(10_000 + CHUNK_SPAN_MS + 1, &["d"]),
                ],
            )
            .unwrap();
        // The first two share a chunk, lines numbered across it; the third
        // is past the span.
        assert_eq!(placed[0].0, placed[1].0);
        assert_eq!((placed[0].1, placed[1].1), (0, 2));
        assert_ne!(placed[2].0, placed[0].0);
        assert_eq!(placed[2].1, 0);

        // A time range keeps the records in it, not whole chunks.
        let messages = |events: &[StoredLogEvent]| -> Vec<String> {
            events.iter().map(|e| e.event.message.clone()).collect()
        };
        assert_eq!(messages(&read(&store, 10_400, 10_600, None)), ["c"]);
        // Paging resumes after a line within a chunk and goes on to the next.
        let first = read(&store, 0, i64::MAX, None);
        assert_eq!(messages(&first), ["a", "b"]);
        assert_eq!(first[1].id, log_event_id(&placed[0].0, 1));
        let second = read(&store, 0, i64::MAX, Some(&first[1].id));
        assert_eq!(messages(&second), ["c", "d"]);
    }

    #[test]
    fn a_group_keeps_its_creation_time_and_lists_its_streams() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        store
            .append_log_records("g", &[record(1_000, &["a"])])
            .unwrap();
        let mut other = record(50_000, &["bb", "ccc"]);
        other.stream = "t".into();
        store
            .append_log_records("g", &[record(40_000, &["d"]), other])
            .unwrap();
        let group = store.log_group("g").unwrap().unwrap();
        assert_eq!(group.creation_time, 1_000);
        // Pruning the oldest chunk keeps the group's creation time.
        assert_eq!(store.prune_log_events("g", 20_000, u64::MAX).unwrap(), 1);
        let pruned = store.log_group("g").unwrap().unwrap();
        assert_eq!(pruned.creation_time, 1_000);
        assert!(pruned.stored_bytes < group.stored_bytes);
        let streams = store.log_streams("g").unwrap();
        let summary: Vec<_> = streams
            .iter()
            .map(|s| {
                (
                    s.stream.as_str(),
                    s.first_event_timestamp,
                    s.last_event_timestamp,
                    s.stored_bytes,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [("s", 40_000, 40_000, 1), ("t", 50_000, 50_000, 5)]
        );
        // The open sweep takes a group with its creation time as sound.
        drop(store);
        let store = Store::open(&dir.path().join("db")).unwrap();
        assert!(store.quarantined().unwrap().is_empty());
        assert_eq!(store.log_group("g").unwrap().unwrap(), pruned);
        // A group written before it kept its creation time: its oldest chunk's.
        store
            .insert_raw("log_groups", b"g", &7u64.to_be_bytes())
            .unwrap();
        assert_eq!(store.log_group("g").unwrap().unwrap().creation_time, 40_000);
        assert_eq!(store.log_groups().unwrap().len(), 1);
    }

    #[test]
    fn a_record_stored_before_chunks_reads_as_a_chunk_of_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let mut key = log_prefix("g");
        key.extend_from_slice(&5u64.to_be_bytes());
        key.extend_from_slice(&1u64.to_be_bytes());
        store
            .insert_raw("logs", &key, &encode(&record(5, &["old"])))
            .unwrap();
        store
            .append_log_records("g", &[record(6, &["new"])])
            .unwrap();
        let events = read(&store, 0, i64::MAX, None);
        let messages: Vec<&str> = events.iter().map(|e| e.event.message.as_str()).collect();
        assert_eq!(messages, ["old", "new"]);
    }
}
