//! Log events: appended per invocation, scanned by time, pruned by age and size.

use super::{
    LogEvent, LogRecord, LogScan, Result, Store, StoredLogEvent, decode, encode, log_event_id,
    read_u64,
};

impl Store {
    /// Appends records to a log group (not flushed: logs ride on the next
    /// flush); returns their record ids. Plain inserts, not a sled batch:
    /// measured here, a batch costs ~60 µs more per record, and appends
    /// need no atomicity across records.
    pub fn append_log_records(&self, group: &str, records: &[LogRecord]) -> Result<Vec<String>> {
        let prefix_len = log_prefix(group).len();
        let mut bytes = 0u64;
        let mut ids = Vec::with_capacity(records.len());
        for record in records {
            let mut key = log_prefix(group);
            key.extend_from_slice(&(record.timestamp.max(0) as u64).to_be_bytes());
            key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
            ids.push(hex::encode(&key[prefix_len..]));
            let value = encode(record);
            bytes += (key.len() + value.len()) as u64;
            self.logs.insert(key, value)?;
        }
        self.log_groups.update_and_fetch(group, |old| {
            let old = old.map_or(0, read_u64);
            Some((old + bytes).to_be_bytes().to_vec())
        })?;
        Ok(ids)
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
        let mut lower = Bound::Included(time_key(scan.start_ms));
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
        let mut found = Vec::new();
        let mut last = None;
        'records: for entry in entries {
            let (key, value) = entry?;
            let record_id = hex::encode(&key[prefix.len()..]);
            let record: LogRecord = match decode(group, &value) {
                Ok(record) => record,
                Err(err) => {
                    self.quarantine(&self.logs, "logs", &key, &value, &err)?;
                    continue;
                }
            };
            let mut lines: Vec<(usize, &String)> = record.lines.iter().enumerate().collect();
            if !scan.from_head {
                lines.reverse();
            }
            for (index, line) in lines {
                if let Some((cursor_key, cursor_line)) = &cursor
                    && cursor_key.as_slice() == &*key
                    && (scan.from_head && index <= *cursor_line
                        || !scan.from_head && index >= *cursor_line)
                {
                    continue;
                }
                let id = log_event_id(&record_id, index);
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
                        break 'records;
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

    /// Every log group and the bytes it takes.
    pub fn log_groups(&self) -> Result<Vec<(String, u64)>> {
        self.log_groups
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                Ok((String::from_utf8_lossy(&key).into_owned(), read_u64(&value)))
            })
            .collect()
    }

    /// Deletes `group`'s records older than `before_ms`, then its oldest
    /// until it takes at most `max_bytes`. Returns how many were deleted.
    pub fn prune_log_events(&self, group: &str, before_ms: i64, max_bytes: u64) -> Result<usize> {
        let prefix = log_prefix(group);
        let mut size = self.log_groups.get(group)?.map_or(0, |v| read_u64(&v));
        let mut removed = 0;
        for entry in self.logs.scan_prefix(&prefix) {
            let (key, value) = entry?;
            let at = key
                .get(prefix.len()..prefix.len() + 8)
                .map_or(0, |b| read_u64(b) as i64);
            if at >= before_ms && size <= max_bytes {
                break;
            }
            self.logs.remove(&key)?;
            size = size.saturating_sub((key.len() + value.len()) as u64);
            removed += 1;
        }
        if removed > 0 {
            self.log_groups.insert(group, &size.to_be_bytes())?;
        }
        Ok(removed)
    }
}

fn log_prefix(group: &str) -> Vec<u8> {
    let mut key = group.as_bytes().to_vec();
    key.push(0);
    key
}
