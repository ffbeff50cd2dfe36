//! Buckets: S3-style object events from plain folders.
//!
//! A bucket is a folder — under the data dir, or one the user names — and an
//! object key is a file's path relative to it, with `/` separators. Objects
//! come and go through the object API ([`objects`]) or through anything that
//! writes the folder (a person, a tool, a function granted the bucket); the
//! watcher ([`watcher`]) sees the latter. Either way one path,
//! [`Buckets::reconcile`], compares the file with the object index in sled
//! (what was last seen: size, time, inode, MD5) and fires S3's notification
//! ([`event`]) to each matching configuration ([`notifications`]) through the
//! router, durably, before it updates the index. So an event is never lost:
//! after a crash or a watch overflow a rescan finds what the index has not
//! seen yet; and never doubled: a file the index already knows fires nothing.

pub mod attributes;
pub mod confined;
pub mod copy;
pub mod event;
pub mod multipart;
pub mod notifications;
pub mod objects;
pub mod range;
pub mod roots;
pub mod watcher;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::function::Naming;
use crate::policies::Caller;
use crate::router::{Routed, Router};
use funnel_runtime::Clock;
use funnel_store::{BucketRecord, ObjectEntry, Store, StoreError};

/// The service principal bucket events come from.
pub const S3_PRINCIPAL: &str = "s3.amazonaws.com";

/// The prefix of funnel's own temporary files (an upload in progress).
pub const TEMP_PREFIX: &str = ".funnel-tmp-";

/// A file found by a scan (not announced by its close) that changed less
/// than this long ago may still be being written: it is looked at again
/// once it has been quiet this long.
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Cheap to clone.
#[derive(Clone)]
pub struct Buckets {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Where buckets without a named folder live.
    root: PathBuf,
    /// Where any bucket may live.
    roots: roots::Roots,
    router: Router,
    naming: Naming,
    clock: Clock,
    /// One lock per bucket: an object's file, its index entry and its
    /// events change together.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Tells the watcher about buckets created and deleted.
    watch: Mutex<Option<Arc<watcher::Handle>>>,
    /// Where multipart uploads keep their parts (see [`multipart`]), and
    /// one lock per upload.
    multipart: PathBuf,
    upload_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What the index says of a file, measured from the filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

impl Fingerprint {
    fn matches(&self, entry: &ObjectEntry) -> bool {
        self.size == entry.size && self.mtime_ns == entry.mtime_ns && self.inode == entry.inode
    }
}

impl Buckets {
    pub fn new(
        store: Store,
        data_dir: &Path,
        roots: &[PathBuf],
        router: Router,
        naming: Naming,
        clock: Clock,
    ) -> anyhow::Result<Buckets> {
        let roots = roots::Roots::new(data_dir, &data_dir.join("buckets"), roots)?;
        // Absolute: a bucket's folder must not depend on the working
        // directory the server was started in.
        let root = roots.own().to_path_buf();
        relocate_owned(&store, &root)?;
        let multipart = std::path::absolute(data_dir)?.join("multipart");
        multipart::sweep(&store, &multipart)?;
        Ok(Buckets {
            inner: Arc::new(Inner {
                store,
                root,
                roots,
                router,
                naming,
                clock,
                locks: Mutex::default(),
                watch: Mutex::default(),
                multipart,
                upload_locks: Mutex::default(),
            }),
        })
    }

    /// Creates a bucket over `path` (an existing folder under a bucket
    /// root), or over a new folder under the data dir.
    pub async fn create_bucket(&self, name: &str, path: Option<&Path>) -> Result<BucketRecord> {
        // The key: the name, in its account.
        check_bucket_name(crate::tenancy::name(name))?;
        let (path, owned) = match path {
            Some(path) => {
                let path = std::fs::canonicalize(path).map_err(|e| {
                    Error::InvalidArgument(format!(
                        "the bucket's folder {} cannot be used: {e}",
                        path.display()
                    ))
                })?;
                if !path.is_dir() {
                    return Err(Error::InvalidArgument(format!(
                        "the bucket's folder {} is not a folder",
                        path.display()
                    )));
                }
                self.inner.roots.check(&path)?;
                (path, false)
            }
            None => (self.inner.root.join(name), true),
        };
        for other in self.inner.store.buckets()? {
            let other_path = Path::new(&other.path);
            if other.name != name && (path.starts_with(other_path) || other_path.starts_with(&path))
            {
                return Err(Error::InvalidArgument(format!(
                    "the folder {} overlaps bucket {}'s ({}): a file must belong to one bucket",
                    path.display(),
                    other.name,
                    other.path
                )));
            }
        }
        if owned {
            std::fs::create_dir_all(&path).map_err(|e| {
                Error::Service(format!(
                    "creating the bucket's folder {}: {e}",
                    path.display()
                ))
            })?;
        }
        let record = BucketRecord {
            name: name.to_string(),
            path: path.to_string_lossy().into_owned(),
            owned,
            creation_date: crate::function::now_lambda_format(),
            notifications: Vec::new(),
        };
        match self.inner.store.create_bucket(&record) {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(Error::BucketAlreadyOwnedByYou(format!(
                    "Your previous request to create the named bucket succeeded and you already own it: {name}"
                )));
            }
            Err(err) => return Err(err.into()),
        }
        self.inner.store.flush_async().await?;
        // What is already in a user's folder is indexed, not announced: no
        // configuration can hear of it yet.
        self.index_silently(&record).await?;
        let watched = record.clone();
        self.tell_watcher(move |w| w.watch(&watched)).await;
        tracing::info!(bucket = name, path = %record.path, "created bucket");
        Ok(record)
    }

    /// Deletes an empty bucket (S3's `BucketNotEmpty` otherwise). A folder
    /// funnel made is removed; a folder the user named stays. Multipart
    /// uploads in progress do not count, and are discarded with the bucket
    /// (as S3 does).
    pub async fn delete_bucket(&self, name: &str) -> Result<()> {
        self.delete_bucket_record(name).await?;
        self.abort_uploads_of(name).await?;
        tracing::info!(bucket = name, "deleted bucket");
        Ok(())
    }

    async fn delete_bucket_record(&self, name: &str) -> Result<()> {
        let record = self.bucket(name)?;
        let lock = self.lock(name);
        let _held = lock.lock().await;
        let path = PathBuf::from(&record.path);
        if !objects::folder_of(&record)?
            .walk_blocking("")
            .await
            .is_empty()
        {
            return Err(Error::BucketNotEmpty(format!(
                "The bucket you tried to delete is not empty: {name}"
            )));
        }
        let unwatched = record.clone();
        self.tell_watcher(move |w| w.unwatch(&unwatched)).await;
        self.inner.store.delete_bucket(name)?;
        self.inner.store.flush_async().await?;
        if record.owned {
            let _ = std::fs::remove_dir_all(&path);
        }
        Ok(())
    }

    pub fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        Ok(self.inner.store.buckets()?)
    }

    /// The bucket `name` (`NoSuchBucket` if there is none).
    pub fn bucket(&self, name: &str) -> Result<BucketRecord> {
        self.inner.store.get_bucket(name)?.ok_or_else(|| {
            Error::NoSuchBucket(format!("The specified bucket does not exist: {name}"))
        })
    }

    fn lock(&self, bucket: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.inner
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(bucket.to_string())
            .or_default()
            .clone()
    }

    /// Brings the index entry of `key` in line with its file, firing
    /// `ObjectCreated:Put` for a new or changed file and
    /// `ObjectRemoved:Delete` for a removed one — each event durably queued
    /// before the index changes. An unchanged file fires nothing.
    pub async fn reconcile(&self, bucket: &BucketRecord, key: &str) -> Result<()> {
        let lock = self.lock(&bucket.name);
        let _held = lock.lock().await;
        self.reconcile_locked(bucket, key).await
    }

    async fn reconcile_locked(&self, bucket: &BucketRecord, key: &str) -> Result<()> {
        let store = &self.inner.store;
        objects::check_key(key)?;
        let folder = objects::folder_of(bucket)?;
        let indexed = store.get_object_entry(&bucket.name, key)?;
        match (folder.fingerprint(key), indexed) {
            (Some(now), Some(entry)) if now.matches(&entry) => Ok(()),
            (Some(now), _) => {
                let etag = match objects::md5_of(&folder, key).await {
                    Ok(etag) => etag,
                    // Gone or unreadable meanwhile: its own event comes.
                    Err(_) => return Ok(()),
                };
                if folder.fingerprint(key) != Some(now) {
                    // Written again while we read it; its next close fires.
                    return Ok(());
                }
                let entry = ObjectEntry {
                    size: now.size,
                    mtime_ns: now.mtime_ns,
                    inode: now.inode,
                    etag,
                    sequencer: store.next_sequencer()?,
                    // Written to the folder, not through the API: no type.
                    content_type: String::new(),
                    metadata: Default::default(),
                };
                self.fire(
                    bucket,
                    "ObjectCreated:Put",
                    key,
                    Some(&entry),
                    &entry.sequencer,
                )
                .await?;
                store.put_object_entry(&bucket.name, key, &entry)?;
                Ok(())
            }
            (None, Some(_)) => {
                let sequencer = store.next_sequencer()?;
                self.fire(bucket, "ObjectRemoved:Delete", key, None, &sequencer)
                    .await?;
                store.remove_object_entry(&bucket.name, key)?;
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Reconciles `rel` (a key, or a folder's path relative to the bucket)
    /// and everything under it, on the filesystem or in the index. Files
    /// written in the last [`SETTLE`] are left for later: a scan cannot
    /// tell a finished file from one still being written (a folder created
    /// and filled at once, a writer busy while funnel starts), so they are
    /// reconciled once quiet — or sooner, by their own close event.
    pub async fn reconcile_tree(&self, bucket: &BucketRecord, rel: &str) -> Result<()> {
        let folder = objects::folder_of(bucket)?;
        let mut keys: Vec<String> = Vec::new();
        if rel.is_empty() {
            keys.extend(folder.walk_blocking("").await);
            keys.extend(self.inner.store.object_keys(&bucket.name, "")?);
        } else {
            keys.push(rel.to_string());
            keys.extend(
                self.inner
                    .store
                    .object_keys(&bucket.name, &format!("{rel}/"))?,
            );
            if objects::check_key(rel).is_ok() {
                keys.extend(
                    folder
                        .walk_blocking(rel)
                        .await
                        .into_iter()
                        .map(|sub| format!("{rel}/{sub}")),
                );
            }
        }
        keys.sort();
        keys.dedup();
        for key in keys {
            if objects::check_key(&key).is_err() {
                continue;
            }
            // The path the event named is finished (renamed in, or gone);
            // what a walk finds may not be.
            if key != rel
                && let Some(quiet_in) = settling(&folder, &key)
            {
                self.reconcile_later(bucket.name.clone(), key, quiet_in);
                continue;
            }
            self.reconcile(bucket, &key).await?;
        }
        Ok(())
    }

    /// Reconciles `key` after `delay` (filesystem time, so real time), or
    /// later again if it is still changing.
    fn reconcile_later(&self, bucket: String, key: String, delay: std::time::Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut delay = delay;
            loop {
                tokio::time::sleep(delay).await;
                let Ok(record) = this.bucket(&bucket) else {
                    return;
                };
                let Ok(folder) = objects::folder_of(&record) else {
                    return;
                };
                match settling(&folder, &key) {
                    Some(more) => delay = more,
                    None => {
                        if let Err(err) = this.reconcile(&record, &key).await {
                            tracing::error!(bucket, key, cause = %err, "bucket event not queued");
                        }
                        return;
                    }
                }
            }
        });
    }

    /// Compares every bucket's folder with the index (at startup, and after
    /// the watch lost events).
    pub async fn rescan_all(&self) {
        let buckets = match self.inner.store.buckets() {
            Ok(buckets) => buckets,
            Err(err) => {
                tracing::error!(cause = %err, "listing buckets for a rescan");
                return;
            }
        };
        for bucket in buckets {
            self.rescan(&bucket).await;
        }
    }

    pub async fn rescan(&self, bucket: &BucketRecord) {
        let started = std::time::Instant::now();
        match self.reconcile_tree(bucket, "").await {
            Ok(()) => tracing::info!(
                bucket = %bucket.name,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "rescanned bucket"
            ),
            Err(err) => tracing::error!(bucket = %bucket.name, cause = %err, "rescanning bucket"),
        }
    }

    /// Indexes the files already in a new bucket's folder without events.
    async fn index_silently(&self, bucket: &BucketRecord) -> Result<()> {
        let folder = objects::folder_of(bucket)?;
        for key in folder.walk_blocking("").await {
            let Some(now) = folder.fingerprint(&key) else {
                continue;
            };
            let Ok(etag) = objects::md5_of(&folder, &key).await else {
                continue;
            };
            let entry = ObjectEntry {
                size: now.size,
                mtime_ns: now.mtime_ns,
                inode: now.inode,
                etag,
                sequencer: self.inner.store.next_sequencer()?,
                content_type: String::new(),
                metadata: Default::default(),
            };
            self.inner
                .store
                .put_object_entry(&bucket.name, &key, &entry)?;
        }
        Ok(())
    }

    /// Sends the event to every configuration of `bucket` that wants it.
    async fn fire(
        &self,
        bucket: &BucketRecord,
        event_name: &str,
        key: &str,
        entry: Option<&ObjectEntry>,
        sequencer: &str,
    ) -> Result<()> {
        let source_arn = event::bucket_arn(&bucket.name);
        let naming = &self.inner.naming;
        let owner = naming.account_of(&bucket.name);
        if !bucket
            .notifications
            .iter()
            .any(|c| notifications::wants(c, event_name, key))
        {
            return Ok(());
        }
        // A PutObject's event continues its writer's trace; a folder
        // write starts one.
        let tracer = self.inner.router.tracer().clone();
        let trace = crate::traces::current().or_else(|| tracer.new_trace());
        let mut span = tracer.span(trace.as_ref(), "s3 event", "");
        if let Some(span) = &mut span {
            span.set_account(owner);
            span.attr("bucket", crate::tenancy::name(&bucket.name));
            span.attr("key", key);
            span.attr("event", event_name);
        }
        let hop = span.as_ref().map(|s| s.context()).or(trace);
        let caller = Caller {
            service: S3_PRINCIPAL,
            source_arn: &source_arn,
            source_account: owner,
        };
        for config in bucket
            .notifications
            .iter()
            .filter(|c| notifications::wants(c, event_name, key))
        {
            let request_id = format!("{:016X}", rand_u64());
            let document = event::notification(&event::ObjectEvent {
                event_name,
                bucket: &bucket.name,
                key,
                size: entry.map(|e| e.size),
                etag: entry.map(|e| e.etag.as_str()),
                sequencer,
                event_time_ms: self.inner.clock.wall_ms(),
                configuration_id: &config.id,
                region: &naming.region,
                account_id: owner,
                request_id: &request_id,
            });
            let routed = crate::traces::within(
                hop,
                self.inner
                    .router
                    .queue(caller, &config.function_arn, document.to_string()),
            )
            .await?;
            if let Routed::Queued(id) = routed {
                tracing::debug!(bucket = %bucket.name, key, event_name, function = %config.function_arn, request_id = %id, "bucket event queued");
            }
        }
        if let Some(span) = span {
            tracer.end(span);
        }
        Ok(())
    }

    /// The tracer (a `PutObject` request's span).
    pub fn tracer(&self) -> &crate::traces::Tracer {
        self.inner.router.tracer()
    }

    /// Tells the watcher (once it runs) about a bucket created or deleted.
    /// On a blocking thread: a recursive watch of a big folder adds a
    /// watch per subfolder.
    async fn tell_watcher(&self, tell: impl FnOnce(&watcher::Handle) + Send + 'static) {
        let handle = self
            .inner
            .watch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || tell(&handle)).await;
        }
    }
}

/// Points each bucket funnel made at its folder under `root`: a data dir
/// that was moved (or was given as a relative path by an earlier funnel)
/// keeps its buckets.
fn relocate_owned(store: &Store, root: &Path) -> anyhow::Result<()> {
    for mut bucket in store.buckets()? {
        let folder = root.join(&bucket.name);
        if bucket.owned && Path::new(&bucket.path) != folder {
            tracing::info!(bucket = %bucket.name, from = %bucket.path, to = %folder.display(), "the bucket's folder moved with the data dir");
            bucket.path = folder.to_string_lossy().into_owned();
            store.put_bucket(&bucket)?;
        }
    }
    Ok(())
}

/// How long until the file of `key` has been unchanged for [`SETTLE`],
/// if it changed more recently than that.
fn settling(folder: &confined::Folder, key: &str) -> Option<std::time::Duration> {
    let modified = std::time::UNIX_EPOCH
        + std::time::Duration::from_nanos(u64::try_from(folder.fingerprint(key)?.mtime_ns).ok()?);
    let age = std::time::SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    (age < SETTLE).then(|| SETTLE - age)
}

fn rand_u64() -> u64 {
    let id = uuid::Uuid::new_v4();
    let bytes = id.as_bytes();
    u64::from_be_bytes(bytes[..8].try_into().unwrap_or([0; 8]))
}

/// S3's bucket naming rules.
pub fn check_bucket_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::InvalidBucketName(format!(
            "The specified bucket is not valid: {name:?} {why}"
        )))
    };
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return bad("may hold only lowercase letters, digits, '-' and '.'");
    }
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge(name.as_bytes()[0]) || !edge(name.as_bytes()[name.len() - 1]) {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return bad("may not hold two adjacent periods");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("may not be formatted as an IP address");
    }
    if name.starts_with("xn--") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return bad("uses a reserved prefix or suffix");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3() {
        for good in ["photos", "my.bucket-1", "abc", &"a".repeat(63)] {
            assert!(check_bucket_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Photos",
            "-photos",
            "photos-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "has space",
            &"a".repeat(64),
        ] {
            let err = check_bucket_name(bad).unwrap_err();
            assert_eq!(err.aws_name(), "InvalidBucketName", "{bad}");
        }
    }
}
