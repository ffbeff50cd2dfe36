//! # funnel-store — the state of a funnel install, in one embedded sled database
//!
//! The only crate that uses sled: everything else sees [`Store`], a handle
//! that is cheap to clone, and plain records. It knows nothing of the
//! server's types. Trees:
//!
//! - `functions`: function name → [`FunctionRecord`] of `$LATEST` (JSON)
//! - `versions`: function name, NUL, version (u32, big-endian) → the
//!   immutable [`FunctionRecord`] of a published version
//! - `aliases`: function name, NUL, alias name → [`AliasRecord`]
//! - `code`: lowercase hex SHA-256 → the component bytes (content-addressed,
//!   shared by every function with the same code)
//! - `logs`: log group, NUL, timestamp (ms, big-endian), sequence → one log
//!   event (JSON); ordered by time within a group
//! - `log_groups`: log group → the bytes its events take (u64), then when
//!   it was created (ms, i64; groups from before it was kept have none)
//! - `layers`: layer name, NUL, version (u32, big-endian) →
//!   [`LayerVersionRecord`]
//! - `layer_names`: layer name → the last version number handed out
//! - `layer_content`: lowercase hex SHA-256 → a layer's zip archive, kept
//!   while a layer version or a function uses it
//! - `queue`: due time (wall ms, big-endian), sequence → [`QueuedEvent`], an
//!   accepted async invocation
//! - `dead_letters`: function name, NUL, sequence → [`DeadLetter`]
//! - `event_invoke_configs`: function name, NUL, qualifier →
//!   [`EventInvokeConfig`]
//! - `function_concurrency`: function name → reserved concurrency (u32,
//!   big-endian)
//! - `provisioned`: function name, NUL, qualifier → provisioned concurrency
//!   (u32, big-endian)
//! - `policies`: function name, NUL, qualifier (empty for the function) →
//!   its resource policy, the JSON document Lambda returns
//! - `buckets`: bucket name → [`BucketRecord`] (its folder and notifications)
//! - `objects`: bucket name, NUL, object key → [`ObjectEntry`], what the
//!   watcher last saw of the file
//! - `uploads`: bucket name, NUL, upload id → [`UploadRecord`], a
//!   multipart upload in progress (not in exports: its parts' files are
//!   not in a backup)
//! - `parts`: upload id, NUL, part number (u32, big-endian) →
//!   [`PartRecord`], an uploaded part's MD5 and size (not in exports)
//! - `topics`: topic name → [`TopicRecord`]
//! - `subscriptions`: topic name, NUL, subscription id →
//!   [`SubscriptionRecord`]
//! - `rules`: rule name → [`RuleRecord`] (its schedule and targets)
//! - `rule_fires`: rule name → the scheduled time it last fired for (wall
//!   ms, big-endian)
//! - `accounts`: account id → [`AccountRecord`]
//! - `users`: account id, NUL, user name → [`UserRecord`] (with its
//!   identity policies)
//! - `access_keys`: access key id → [`AccessKeyRecord`] (the secret sealed)
//! - `function_urls`: function name, NUL, alias (empty for the function) →
//!   [`FunctionUrlRecord`]
//! - `url_ids`: URL id → [`UrlTarget`], the function URL it is
//! - `routes`: account id, NUL, route key → [`RouteRecord`] (an account's
//!   API routes)
//! - `data_keys`: account id → [`DataKeyRecord`], the account's data key
//!   sealed by the master key
//! - `secrets`: account id, NUL, secret name → [`SecretRecord`]
//! - `secret_versions`: account id, NUL, secret name, NUL, version id →
//!   [`SecretVersionRecord`] (the value sealed by the account's data key)
//! - `parameters`: account id, NUL, parameter name, NUL, version (u64,
//!   big-endian) → [`ParameterRecord`] (a SecureString's value sealed)
//! - `meta`: `schema_version` → the schema version (u64, big-endian; see
//!   [`open_migrated`]); `master_key_id` → the id of the master key that
//!   sealed the access keys and data keys
//! - `faults`: fault id → [`FaultRecord`], a fault the dispatcher injects
//!   (not in exports)
//! - `recordings`, `recording_entries`, `recording_requests`: recorded
//!   events and their outcomes (see [`RecordingRecord`]; not in exports)
//! - `span_chunks_2`, `trace_chunks_2`: trace spans in chunks, and each
//!   chunk's per-trace summaries (see `traces`; not in exports)
//! - `quarantine`: tree name, NUL, key → [`Quarantined`], a record that
//!   did not decode, set aside
//!
//! Durability: sled 0.34's `flush` writes and waits for the data
//! (`sync_file_range`: it survives a killed process) but does not flush
//! the disk's cache; a power loss may lose the last writes. With
//! [`Store::set_power_durability`] every flush also fsyncs sled's files and
//! their folder, so what was flushed survives a power cut, at a cost the
//! benchmark measures. Control-plane writes flush before they are
//! acknowledged.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod buckets;
mod export;
mod faults;
#[cfg(feature = "floor")]
pub mod floor;
mod identity;
mod layers;
mod logs;
mod policies;
mod quarantine;
mod queue;
mod recordings;
mod releases;
mod routes;
mod rules;
mod schema;
mod secrets;
mod topics;
mod traces;
mod urls;

pub use buckets::{BucketRecord, NotificationRecord, ObjectEntry, PartRecord, UploadRecord};
pub use faults::FaultRecord;
pub use identity::{AccessKeyRecord, AccountRecord, UserRecord};
pub use layers::LayerVersionRecord;
pub use quarantine::Quarantined;
pub use queue::{
    DeadLetter, EventInvokeConfig, GroupTarget, QueueKey, Queued, QueuedEvent, QueuedGroup, Slot,
    due_ms_of,
};
pub use recordings::{RecordingEntry, RecordingRecord};
pub use routes::RouteRecord;
pub use rules::{RuleRecord, RuleTarget};
pub use schema::{SCHEMA_VERSION, open_migrated};
pub use secrets::{DataKeyRecord, ParameterRecord, SecretRecord, SecretVersionRecord, TagRecord};
pub use topics::{SubscriptionRecord, TopicRecord};
pub use traces::{
    AttrValue, Child, ChunkHead, SpanOut, SpanRecord, TraceSummary, child_id, decode_spans,
    encode_span,
};
pub use urls::{CorsRecord, FunctionUrlRecord, UrlTarget};

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
    /// The data dir was written by a newer funnel.
    #[error(
        "the data dir is at schema version {found}, newer than this funnel's {supported}: \
         open it with the funnel that wrote it"
    )]
    Newer { found: u32, supported: u32 },
    /// An update named a RevisionId that is no longer the record's.
    #[error("revision {given} of {key} is stale")]
    StaleRevision { key: String, given: String },
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
    /// Changes with every write of the record: the token of optimistic
    /// concurrency (`RevisionId`).
    #[serde(default)]
    pub revision_id: String,
    /// The layer versions the function runs with, in order.
    #[serde(default)]
    pub layers: Vec<LayerRef>,
    /// Buckets the guest sees at `/buckets/<name>`: `read` or `read-write`.
    #[serde(default)]
    pub bucket_access: BTreeMap<String, String>,
    /// Topics the guest may publish to (names).
    #[serde(default)]
    pub topic_access: Vec<String>,
    /// Secrets and parameters the guest may read: names, and prefixes
    /// ending in `*` (never their values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_access: Vec<String>,
    /// What the code was written in (Lambda's `Runtime`), when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub runtime: String,
    /// The handler the code was built for (Lambda's `Handler`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub handler: String,
}

/// A layer version a function uses, with what the function needs of it
/// even after the layer version itself is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// The layer version ARN.
    pub arn: String,
    /// Hex SHA-256 of the archive: the key of its content.
    pub content_sha256: String,
    /// The archive's size in bytes (Lambda's layer `CodeSize`).
    pub code_size: u64,
    /// The unpacked size in bytes.
    pub unpacked_size: u64,
}

/// A fresh `RevisionId`.
pub fn new_revision_id() -> String {
    uuid::Uuid::new_v4().to_string()
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
    #[serde(default)]
    pub revision_id: String,
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

/// A log group as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupEntry {
    pub group: String,
    /// What its events take in the store.
    pub stored_bytes: u64,
    /// Milliseconds since the Unix epoch.
    pub creation_time: i64,
}

/// A log stream as listed: what its events say of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamEntry {
    pub stream: String,
    /// Its first event's ingestion.
    pub creation_time: i64,
    pub first_event_timestamp: i64,
    pub last_event_timestamp: i64,
    pub last_ingestion_time: i64,
    /// Its events' message bytes.
    pub stored_bytes: u64,
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

/// sled's page cache. Its default (1 GiB) lets a long queue or a big log
/// group live in memory; the queue must live on disk.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    functions: sled::Tree,
    code: sled::Tree,
    versions: sled::Tree,
    aliases: sled::Tree,
    logs: sled::Tree,
    log_groups: sled::Tree,
    layers: sled::Tree,
    layer_names: sled::Tree,
    layer_content: sled::Tree,
    queue: sled::Tree,
    dead_letters: sled::Tree,
    event_invoke_configs: sled::Tree,
    function_concurrency: sled::Tree,
    provisioned: sled::Tree,
    policies: sled::Tree,
    buckets: sled::Tree,
    objects: sled::Tree,
    uploads: sled::Tree,
    parts: sled::Tree,
    topics: sled::Tree,
    subscriptions: sled::Tree,
    rules: sled::Tree,
    rule_fires: sled::Tree,
    accounts: sled::Tree,
    users: sled::Tree,
    access_keys: sled::Tree,
    function_urls: sled::Tree,
    url_ids: sled::Tree,
    routes: sled::Tree,
    data_keys: sled::Tree,
    secrets: sled::Tree,
    secret_versions: sled::Tree,
    parameters: sled::Tree,
    meta: sled::Tree,
    quarantine: sled::Tree,
    /// Invocations in the queue, counted at open and kept by every write.
    queued: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Records set aside since the open (see `quarantine`).
    quarantined_total: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Held (read) by a redrive, (written) by an export while it reads
    /// the queue and the dead letters (see `export`).
    moves: std::sync::Arc<std::sync::RwLock<()>>,
    /// The database's folder, and whether a flush also fsyncs its files.
    dir: std::sync::Arc<std::path::PathBuf>,
    power: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How long [`Store::open`] waits for a database another handle is
/// letting go of.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether sled refused to open because the file lock is held (sled 0.34
/// reports it as an `Other` error whose text names the lock).
fn is_locked(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::WouldBlock
        || err.to_string().contains("could not acquire lock")
}

impl Store {
    /// Opens (or creates) the database under `dir`, setting aside any
    /// record that does not decode (see `quarantine`).
    ///
    /// sled locks the database file while a handle lives, and lets go of
    /// it a moment after the last handle is dropped (its background writes
    /// finish first): a reopen right after a close, as a restart in the
    /// same process does, waits for that, up to [`LOCK_WAIT`]. Past it,
    /// the database is in use by someone else.
    pub fn open(dir: &Path) -> Result<Store> {
        let started = std::time::Instant::now();
        let db = loop {
            match sled::Config::new()
                .path(dir)
                .cache_capacity(CACHE_BYTES)
                .open()
            {
                Err(sled::Error::Io(err)) if is_locked(&err) => {
                    if started.elapsed() >= LOCK_WAIT {
                        return Err(StoreError::Db(sled::Error::Io(std::io::Error::new(
                            err.kind(),
                            format!("{err} (is another funnel using this data dir?)"),
                        ))));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                opened => break opened?,
            }
        };
        let store = Store {
            functions: db.open_tree("functions")?,
            code: db.open_tree("code")?,
            versions: db.open_tree("versions")?,
            aliases: db.open_tree("aliases")?,
            logs: db.open_tree("logs")?,
            log_groups: db.open_tree("log_groups")?,
            layers: db.open_tree("layers")?,
            layer_names: db.open_tree("layer_names")?,
            layer_content: db.open_tree("layer_content")?,
            queue: db.open_tree("queue")?,
            dead_letters: db.open_tree("dead_letters")?,
            event_invoke_configs: db.open_tree("event_invoke_configs")?,
            function_concurrency: db.open_tree("function_concurrency")?,
            provisioned: db.open_tree("provisioned")?,
            policies: db.open_tree("policies")?,
            buckets: db.open_tree("buckets")?,
            objects: db.open_tree("objects")?,
            uploads: db.open_tree("uploads")?,
            parts: db.open_tree("parts")?,
            topics: db.open_tree("topics")?,
            subscriptions: db.open_tree("subscriptions")?,
            rules: db.open_tree("rules")?,
            rule_fires: db.open_tree("rule_fires")?,
            accounts: db.open_tree("accounts")?,
            users: db.open_tree("users")?,
            access_keys: db.open_tree("access_keys")?,
            function_urls: db.open_tree("function_urls")?,
            url_ids: db.open_tree("url_ids")?,
            routes: db.open_tree("routes")?,
            data_keys: db.open_tree("data_keys")?,
            secrets: db.open_tree("secrets")?,
            secret_versions: db.open_tree("secret_versions")?,
            parameters: db.open_tree("parameters")?,
            meta: db.open_tree("meta")?,
            quarantine: db.open_tree("quarantine")?,
            // Counted by the sweep below.
            queued: Default::default(),
            quarantined_total: Default::default(),
            moves: Default::default(),
            dir: std::sync::Arc::new(dir.to_path_buf()),
            power: Default::default(),
            db,
        };
        store.sweep()?;
        Ok(store)
    }

    /// Makes every write so far durable (see the module docs for how far).
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        self.sync_if_power()
    }

    pub async fn flush_async(&self) -> Result<()> {
        self.db.flush_async().await?;
        self.sync_if_power()
    }

    /// From now on, every flush also fsyncs sled's files and folder
    /// (`store.durability = "power"`).
    pub fn set_power_durability(&self, on: bool) {
        self.power.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether flushes fsync (see [`Store::set_power_durability`]).
    pub fn power_durability(&self) -> bool {
        self.power.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn sync_if_power(&self) -> Result<()> {
        if !self.power.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let sync = |path: &Path| std::fs::File::open(path).and_then(|f| f.sync_all());
        for name in ["db", "conf"] {
            let path = self.dir.join(name);
            if path.exists() {
                sync(&path).map_err(sled::Error::Io)?;
            }
        }
        let blobs = self.dir.join("blobs");
        if blobs.is_dir() {
            sync(&blobs).map_err(sled::Error::Io)?;
        }
        sync(&self.dir).map_err(sled::Error::Io)?;
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
        page(&self.functions, after, limit)
    }

    /// Every stored function, in name order.
    pub fn all_functions(&self) -> Result<Vec<FunctionRecord>> {
        self.list_functions(None, usize::MAX)
    }

    /// Applies `change` to the stored record atomically (retrying if another
    /// writer got in first), gives it a new revision, and returns the old and
    /// the new record. With `expected_revision`, fails with `StaleRevision`
    /// unless the stored record still has that revision.
    pub fn update_function(
        &self,
        name: &str,
        expected_revision: Option<&str>,
        mut change: impl FnMut(&mut FunctionRecord),
    ) -> Result<(FunctionRecord, FunctionRecord)> {
        loop {
            let current = self
                .functions
                .get(name)?
                .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
            let old: FunctionRecord = decode(name, &current)?;
            if let Some(given) = expected_revision
                && given != old.revision_id
            {
                return Err(StoreError::StaleRevision {
                    key: name.to_string(),
                    given: given.to_string(),
                });
            }
            let mut new = old.clone();
            change(&mut new);
            new.revision_id = new_revision_id();
            let swapped =
                self.functions
                    .compare_and_swap(name, Some(&current), Some(encode(&new)))?;
            if swapped.is_ok() {
                return Ok((old, new));
            }
        }
    }

    /// Sets (`Some`) or removes a function's reserved concurrency.
    pub fn set_reserved_concurrency(&self, name: &str, reserved: Option<u32>) -> Result<()> {
        match reserved {
            Some(n) => self
                .function_concurrency
                .insert(name, &u64::from(n).to_be_bytes())
                .map(|_| ())?,
            None => self.function_concurrency.remove(name).map(|_| ())?,
        }
        Ok(())
    }

    /// Sets (`Some`) or removes the provisioned concurrency of a function's
    /// version or alias.
    pub fn set_provisioned(&self, name: &str, qualifier: &str, count: Option<u32>) -> Result<()> {
        let mut key = name.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(qualifier.as_bytes());
        match count {
            Some(n) => self
                .provisioned
                .insert(key, &u64::from(n).to_be_bytes())
                .map(|_| ())?,
            None => self.provisioned.remove(key).map(|_| ())?,
        }
        Ok(())
    }

    /// Every provisioned concurrency config: (function, qualifier, count).
    pub fn provisioned(&self) -> Result<Vec<(String, String, u32)>> {
        self.provisioned
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                let text = String::from_utf8_lossy(&key).into_owned();
                let (name, qualifier) = text.split_once('\0').unwrap_or((&text, ""));
                Ok((
                    name.to_string(),
                    qualifier.to_string(),
                    read_u64(&value) as u32,
                ))
            })
            .collect()
    }

    /// Every function's reserved concurrency.
    pub fn reserved_concurrency(&self) -> Result<Vec<(String, u32)>> {
        self.function_concurrency
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                let name = String::from_utf8_lossy(&key).into_owned();
                Ok((name, read_u64(&value) as u32))
            })
            .collect()
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

/// Up to `limit` records of `tree` whose keys sort after `after`, in key
/// order.
fn page<T: for<'de> Deserialize<'de>>(
    tree: &sled::Tree,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<T>> {
    let range = match after {
        Some(after) => tree.range::<&[u8], _>((
            std::ops::Bound::Excluded(after.as_bytes()),
            std::ops::Bound::Unbounded,
        )),
        None => tree.iter(),
    };
    range
        .take(limit)
        .map(|entry| {
            let (key, value) = entry?;
            decode(&String::from_utf8_lossy(&key), &value)
        })
        .collect()
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

fn read_u64(bytes: &[u8]) -> u64 {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}
