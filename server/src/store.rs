//! The state of a funnel install, in one embedded sled database.
//!
//! This is the only module that imports sled: everything else sees [`Store`],
//! a handle that is cheap to clone, and plain records. Trees:
//!
//! - `functions`: function name → [`FunctionRecord`] of `$LATEST` (JSON)
//! - `versions`: function name, NUL, version (u32, big-endian) → the
//!   immutable [`FunctionRecord`] of a published version
//! - `aliases`: function name, NUL, alias name → [`AliasRecord`]
//! - `code`: lowercase hex SHA-256 → the component bytes (content-addressed,
//!   shared by every function with the same code)
//! - `logs`: log group, NUL, timestamp (ms, big-endian), sequence → one log
//!   event (JSON); ordered by time within a group
//! - `log_groups`: log group → the bytes its events take
//!
//! Durability: sled 0.34's `flush` writes and waits for the data (it survives
//! a killed process) but does not flush the disk cache; a power loss may lose
//! the last writes. Control-plane writes flush before they are acknowledged.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    #[error("corrupt record {key:?}: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A function's `$LATEST` configuration, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub memory_size: u32,
    pub timeout: u32,
    #[serde(default = "default_ephemeral_storage")]
    pub ephemeral_storage: u32,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Lowercase hex SHA-256 of the component: the key of its bytes in `code`.
    pub code_sha256: String,
    pub code_size: u64,
    /// ISO 8601, as Lambda formats `LastModified`.
    pub last_modified: String,
    /// `$LATEST`, or the number of a published version.
    #[serde(default = "latest")]
    pub version: String,
    /// On `$LATEST`: the last version number handed out (numbers are never
    /// reused, even after a version is deleted).
    #[serde(default)]
    pub last_version: u32,
}

/// An alias: a name for a version, optionally sending a share of its
/// invocations to one more version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub function_name: String,
    pub name: String,
    pub function_version: String,
    #[serde(default)]
    pub description: String,
    /// (version, weight 0..=1) that gets that share of the invocations.
    #[serde(default)]
    pub additional_version: Option<(String, f64)>,
}

fn latest() -> String {
    "$LATEST".into()
}

fn default_ephemeral_storage() -> u32 {
    512
}

/// Lines of a function's log written together (one invocation's, or one
/// Shutdown phase's): stored as one record, read back as one event per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    #[serde(rename = "s")]
    pub stream: String,
    /// Milliseconds since the Unix epoch.
    #[serde(rename = "t")]
    pub timestamp: i64,
    #[serde(rename = "i")]
    pub ingestion_time: i64,
    #[serde(rename = "m")]
    pub lines: Vec<String>,
}

/// One line of a function's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub stream: String,
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

/// A log event and its id: its record's key and its line number, in hex,
/// so ids sort in log order (and serve as cursors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogEvent {
    pub id: String,
    pub event: LogEvent,
}

/// The id of line `index` of the record whose id is `record_id`.
pub fn log_event_id(record_id: &str, index: usize) -> String {
    format!("{record_id}{index:04x}")
}

/// Which events of a group to read.
pub struct LogScan<'a> {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Resume after this event id.
    pub after: Option<&'a str>,
    /// Oldest first (or newest first, then returned oldest first).
    pub from_head: bool,
    pub limit: usize,
    pub keep: &'a dyn Fn(&LogEvent) -> bool,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    functions: sled::Tree,
    code: sled::Tree,
    versions: sled::Tree,
    aliases: sled::Tree,
    logs: sled::Tree,
    log_groups: sled::Tree,
}

impl Store {
    /// Opens (or creates) the database under `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        let db = sled::Config::new().path(dir).open()?;
        Ok(Store {
            functions: db.open_tree("functions")?,
            code: db.open_tree("code")?,
            versions: db.open_tree("versions")?,
            aliases: db.open_tree("aliases")?,
            logs: db.open_tree("logs")?,
            log_groups: db.open_tree("log_groups")?,
            db,
        })
    }

    /// Makes every write so far durable (see the module docs for how far).
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub async fn flush_async(&self) -> Result<()> {
        self.db.flush_async().await?;
        Ok(())
    }

    pub fn put_code(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        if !self.code.contains_key(sha256)? {
            self.code.insert(sha256, bytes)?;
        }
        Ok(())
    }

    pub fn get_code(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.code.get(sha256)?.map(|bytes| bytes.to_vec()))
    }

    /// Removes the code blob unless some function still uses it. Returns
    /// whether it was removed.
    pub fn remove_code_if_unused(&self, sha256: &str) -> Result<bool> {
        for record in self
            .functions
            .iter()
            .values()
            .chain(self.versions.iter().values())
        {
            let record: FunctionRecord = decode("functions", &record?)?;
            if record.code_sha256 == sha256 {
                return Ok(false);
            }
        }
        Ok(self.code.remove(sha256)?.is_some())
    }

    /// Inserts a new function; fails with `AlreadyExists` if the name is taken.
    pub fn create_function(&self, record: &FunctionRecord) -> Result<()> {
        let value = encode(record);
        self.functions
            .compare_and_swap(record.name.as_bytes(), None as Option<&[u8]>, Some(value))?
            .map_err(|_| StoreError::AlreadyExists(record.name.clone()))
    }

    pub fn get_function(&self, name: &str) -> Result<Option<FunctionRecord>> {
        self.functions
            .get(name)?
            .map(|value| decode(name, &value))
            .transpose()
    }

    /// Up to `limit` functions whose names sort after `after`, in name order.
    pub fn list_functions(&self, after: Option<&str>, limit: usize) -> Result<Vec<FunctionRecord>> {
        let range = match after {
            Some(after) => self.functions.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_bytes()),
                std::ops::Bound::Unbounded,
            )),
            None => self.functions.iter(),
        };
        range
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                decode(&String::from_utf8_lossy(&key), &value)
            })
            .collect()
    }

    /// Every stored function, in name order.
    pub fn all_functions(&self) -> Result<Vec<FunctionRecord>> {
        self.list_functions(None, usize::MAX)
    }

    /// Applies `change` to the stored record atomically (retrying if another
    /// writer got in first) and returns the old and the new record.
    pub fn update_function(
        &self,
        name: &str,
        mut change: impl FnMut(&mut FunctionRecord),
    ) -> Result<(FunctionRecord, FunctionRecord)> {
        loop {
            let current = self
                .functions
                .get(name)?
                .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
            let old: FunctionRecord = decode(name, &current)?;
            let mut new = old.clone();
            change(&mut new);
            let swapped =
                self.functions
                    .compare_and_swap(name, Some(&current), Some(encode(&new)))?;
            if swapped.is_ok() {
                return Ok((old, new));
            }
        }
    }

    /// Removes a function; returns its last record.
    pub fn delete_function(&self, name: &str) -> Result<FunctionRecord> {
        let value = self
            .functions
            .remove(name)?
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        decode(name, &value)
    }
}

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
            let record: LogRecord = decode(group, &value)?;
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

fn read_u64(bytes: &[u8]) -> u64 {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

impl Store {
    /// Stores a published version (its `version` field is its number).
    pub fn put_version(&self, record: &FunctionRecord) -> Result<()> {
        let number: u32 = record.version.parse().unwrap_or(0);
        self.versions
            .insert(version_key(&record.name, number), encode(record))?;
        Ok(())
    }

    pub fn get_version(&self, name: &str, number: u32) -> Result<Option<FunctionRecord>> {
        self.versions
            .get(version_key(name, number))?
            .map(|value| decode(name, &value))
            .transpose()
    }

    /// A function's published versions, in number order.
    pub fn versions(&self, name: &str) -> Result<Vec<FunctionRecord>> {
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(0);
        self.versions
            .scan_prefix(prefix)
            .values()
            .map(|value| decode(name, &value?))
            .collect()
    }

    /// Removes one published version; returns it.
    pub fn delete_version(&self, name: &str, number: u32) -> Result<FunctionRecord> {
        let value = self
            .versions
            .remove(version_key(name, number))?
            .ok_or_else(|| StoreError::NotFound(format!("{name}:{number}")))?;
        decode(name, &value)
    }
}

impl Store {
    /// Inserts a new alias; fails with `AlreadyExists` if the name is taken.
    pub fn create_alias(&self, alias: &AliasRecord) -> Result<()> {
        self.aliases
            .compare_and_swap(
                alias_key(&alias.function_name, &alias.name),
                None as Option<&[u8]>,
                Some(encode(alias)),
            )?
            .map_err(|_| StoreError::AlreadyExists(alias.name.clone()))
    }

    /// Replaces an existing alias; fails with `NotFound` if there is none.
    pub fn put_alias(&self, alias: &AliasRecord) -> Result<()> {
        let key = alias_key(&alias.function_name, &alias.name);
        if !self.aliases.contains_key(&key)? {
            return Err(StoreError::NotFound(alias.name.clone()));
        }
        self.aliases.insert(key, encode(alias))?;
        Ok(())
    }

    pub fn get_alias(&self, function_name: &str, name: &str) -> Result<Option<AliasRecord>> {
        self.aliases
            .get(alias_key(function_name, name))?
            .map(|value| decode(name, &value))
            .transpose()
    }

    /// A function's aliases, in name order.
    pub fn aliases(&self, function_name: &str) -> Result<Vec<AliasRecord>> {
        self.aliases
            .scan_prefix(alias_key(function_name, ""))
            .values()
            .map(|value| decode(function_name, &value?))
            .collect()
    }

    pub fn delete_alias(&self, function_name: &str, name: &str) -> Result<AliasRecord> {
        let value = self
            .aliases
            .remove(alias_key(function_name, name))?
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        decode(name, &value)
    }
}

fn alias_key(function_name: &str, name: &str) -> Vec<u8> {
    let mut key = function_name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

fn version_key(name: &str, number: u32) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain structs of strings and numbers to JSON cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: key.to_string(),
        source,
    })
}
