//! The object API over a bucket's folder: put (streamed to a temporary
//! name, then renamed, so nobody sees half an object), get, head, delete and
//! ListObjectsV2; and the mapping between object keys and files.

use std::path::Path;

use cap_fs_ext::OpenOptionsFollowExt as _;

use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use super::attributes::Attributes;
use super::confined::{Folder, fingerprint_in};
use super::range::ByteRange;
use super::{Buckets, TEMP_PREFIX};
use crate::error::{Error, Result};
use funnel_store::ObjectEntry;

/// S3's longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// S3's largest single PUT.
pub const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// An object's metadata, as HeadObject gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// MD5 hex, unquoted.
    pub etag: String,
    /// ns since the epoch.
    pub last_modified_ns: i64,
    pub attributes: Attributes,
}

/// One page of ListObjectsV2.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub contents: Vec<ObjectInfo>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or prefix of this page, when truncated.
    pub next_continuation_token: String,
}

/// What ListObjectsV2 asks for.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub prefix: String,
    pub delimiter: String,
    pub max_keys: usize,
    pub continuation_token: String,
    pub start_after: String,
}

/// Whether a file name is somebody's temporary file, never an object:
/// funnel's uploads in progress, and the usual editor and download leftovers
/// (vim's `.swp`/`.swx`/`.swo`/`4913`/`~`, emacs's `.#x` and `#x#`, gedit's
/// `.goutputstream-*`, browsers' `.crdownload` and `.part`).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
        || name.starts_with(".#")
        || name.starts_with(".goutputstream-")
        || (name.starts_with('#') && name.ends_with('#') && name.len() > 1)
        || name.ends_with('~')
        || name == "4913"
        || [".swp", ".swx", ".swo", ".crdownload", ".part"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Checks that `key` can be a file: S3's length limit, and segments that
/// are names (not empty, `.` or `..`) and not temporary names.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Error::InvalidArgument(format!(
            "an object key must be 1 to {MAX_KEY_BYTES} bytes long ({} given)",
            key.len()
        )));
    }
    for segment in key.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\0') {
            return Err(Error::InvalidArgument(format!(
                "object key {key:?} cannot be a file: funnel stores objects as files, so a key's \
                 '/'-separated parts may not be empty, '.' or '..'"
            )));
        }
    }
    let name = key.rsplit('/').next().unwrap_or(key);
    if is_temporary(name) {
        return Err(Error::InvalidArgument(format!(
            "object key {key:?} has a temporary file's name, which buckets ignore"
        )));
    }
    Ok(())
}

/// The key of the file at `path` in the bucket folder `root`, if it can be one.
pub fn path_key(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let key = parts?.join("/");
    (!key.is_empty()).then_some(key)
}

/// MD5 of `key`'s content in `folder` (S3's ETag of a single PUT), off the
/// async threads.
pub async fn md5_of(folder: &Folder, key: &str) -> std::io::Result<String> {
    let (folder, key) = (folder.clone(), key.to_string());
    tokio::task::spawn_blocking(move || folder.md5(&key))
        .await
        .map_err(std::io::Error::other)?
}

/// A bucket's folder, opened for an operation.
pub fn folder_of(record: &funnel_store::BucketRecord) -> Result<Folder> {
    Folder::open(Path::new(&record.path)).map_err(|e| {
        Error::Service(format!(
            "opening bucket {}'s folder {}: {e}",
            record.name, record.path
        ))
    })
}

/// An upload in progress: bytes go to a temporary file in the bucket's
/// folder (or, for a multipart upload's part, in the upload's folder);
/// [`Buckets::finish_put`] renames it into place. Dropped unfinished, it
/// removes its file.
pub struct Upload {
    pub(super) bucket: String,
    pub(super) key: String,
    /// The folder the object goes in, and the temporary file's name there.
    pub(super) dir: cap_std::fs::Dir,
    pub(super) temp: String,
    pub(super) file: Option<tokio::fs::File>,
    pub(super) hasher: Md5,
    pub(super) size: u64,
    /// The most bytes it may take.
    pub(super) limit: u64,
    /// What the object will carry besides its bytes.
    pub(super) attributes: Attributes,
}

impl Upload {
    /// Sets the object's media type and user metadata.
    pub fn describe(&mut self, attributes: Attributes) {
        self.attributes = attributes;
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.size += bytes.len() as u64;
        if self.size > self.limit {
            return Err(Error::EntityTooLarge(format!(
                "Your proposed upload exceeds the maximum allowed size ({} bytes)",
                self.limit
            )));
        }
        self.hasher.update(bytes);
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Service("the upload is finished".into()))?;
        file.write_all(bytes)
            .await
            .map_err(|e| Error::Service(format!("writing object {}: {e}", self.key)))
    }
}

impl Upload {
    /// Makes the temporary file durable and closes it; its MD5, hex. From
    /// here on the caller puts the file in place or removes it.
    pub(super) async fn close(&mut self) -> Result<String> {
        if let Some(mut file) = self.file.take() {
            let synced = async {
                file.flush().await?;
                file.sync_all().await
            }
            .await;
            if let Err(e) = synced {
                let _ = self.dir.remove_file(&self.temp);
                return Err(Error::Service(format!("writing object {}: {e}", self.key)));
            }
        }
        Ok(hex::encode(std::mem::take(&mut self.hasher).finalize()))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = self.dir.remove_file(&self.temp);
        }
    }
}

impl Buckets {
    /// Starts a PutObject: checks the bucket and key, opens a temporary file.
    pub async fn begin_put(&self, bucket: &str, key: &str) -> Result<Upload> {
        let record = self.bucket(bucket)?;
        check_key(key)?;
        let folder = folder_of(&record)?;
        // A segment that is a file or a link is "not a directory".
        let parent = folder.parent(key, true).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotADirectory {
                Error::InvalidArgument(format!(
                    "object key {key:?} cannot be stored: a folder on its path is an object \
                     (a file) or a symlink"
                ))
            } else {
                Error::Service(format!("creating the folders of {key:?}: {e}"))
            }
        })?;
        let temp = format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let mut options = cap_std::fs::OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .follow(cap_fs_ext::FollowSymlinks::No);
        let file = parent
            .dir
            .open_with(&temp, &options)
            .map_err(|e| Error::Service(format!("creating a temporary file for {key:?}: {e}")))?;
        Ok(Upload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            dir: parent.dir,
            temp,
            file: Some(tokio::fs::File::from_std(file.into_std())),
            hasher: Md5::new(),
            size: 0,
            limit: MAX_OBJECT_BYTES,
            attributes: Attributes::default(),
        })
    }

    /// Completes a PutObject: the file is made durable and renamed into
    /// place, and its one `ObjectCreated:Put` event is queued (the watcher,
    /// seeing the rename, finds the index already up to date).
    pub async fn finish_put(&self, upload: Upload) -> Result<ObjectInfo> {
        self.finish(upload, "ObjectCreated:Put", None).await
    }

    /// Puts an upload's file in place as [`Buckets::finish_put`] does,
    /// firing `event_name` (a copy's, a multipart upload's) once; `etag`
    /// replaces the content's MD5 (a multipart upload's ETag).
    pub(super) async fn finish(
        &self,
        mut upload: Upload,
        event_name: &str,
        etag: Option<String>,
    ) -> Result<ObjectInfo> {
        let record = self.bucket(&upload.bucket)?;
        let name = upload
            .key
            .rsplit('/')
            .next()
            .unwrap_or(&upload.key)
            .to_string();
        let md5 = upload.close().await?;
        let etag = etag.unwrap_or(md5);
        let lock = self.lock(&record.name);
        let _held = lock.lock().await;
        // Renamed within the folder opened at the start: a link put in
        // place of one of its parents since then is not followed.
        if let Err(e) = upload.dir.rename(&upload.temp, &upload.dir, &name) {
            let _ = upload.dir.remove_file(&upload.temp);
            return Err(Error::Service(format!(
                "storing object {}: {e}",
                upload.key
            )));
        }
        if self.inner.store.power_durability() {
            // The rename itself, through a power cut.
            let synced = upload
                .dir
                .open(".")
                .and_then(|folder| folder.into_std().sync_all());
            if let Err(e) = synced {
                return Err(Error::Service(format!(
                    "storing object {}: {e}",
                    upload.key
                )));
            }
        }
        let now = fingerprint_in(&upload.dir, &name).ok_or_else(|| {
            Error::Service(format!("object {} vanished after its upload", upload.key))
        })?;
        let entry = ObjectEntry {
            size: now.size,
            mtime_ns: now.mtime_ns,
            inode: now.inode,
            etag: etag.clone(),
            sequencer: self.inner.store.next_sequencer()?,
            content_type: std::mem::take(&mut upload.attributes.content_type),
            metadata: std::mem::take(&mut upload.attributes.metadata),
        };
        self.fire(
            &record,
            event_name,
            &upload.key,
            Some(&entry),
            &entry.sequencer,
        )
        .await?;
        self.inner
            .store
            .put_object_entry(&record.name, &upload.key, &entry)?;
        Ok(ObjectInfo {
            key: upload.key.clone(),
            size: now.size,
            etag,
            last_modified_ns: now.mtime_ns,
            attributes: Attributes::of_entry(&entry),
        })
    }

    /// HeadObject: the object's size, ETag and time (`NoSuchKey` if none).
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo> {
        let record = self.bucket(bucket)?;
        check_key(key)?;
        self.head_in(&folder_of(&record)?, bucket, key).await
    }

    async fn head_in(&self, folder: &Folder, bucket: &str, key: &str) -> Result<ObjectInfo> {
        let now = folder.fingerprint(key).ok_or_else(|| no_such_key(key))?;
        // The index's word holds while the file is the one it describes; a
        // file changed behind its back has its content hashed and no type.
        let (etag, attributes) = match self.inner.store.get_object_entry(bucket, key)? {
            Some(entry) if now.matches(&entry) => (
                entry.etag,
                Attributes {
                    content_type: entry.content_type,
                    metadata: entry.metadata,
                },
            ),
            _ => (
                md5_of(folder, key).await.map_err(|_| no_such_key(key))?,
                Attributes::default(),
            ),
        };
        Ok(ObjectInfo {
            key: key.to_string(),
            size: now.size,
            etag,
            last_modified_ns: now.mtime_ns,
            attributes,
        })
    }

    /// GetObject: the metadata, the range `range` (a `Range` header) asks
    /// for, and the file open at its first byte.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: &str,
    ) -> Result<(ObjectInfo, Option<ByteRange>, tokio::fs::File)> {
        let record = self.bucket(bucket)?;
        check_key(key)?;
        let folder = folder_of(&record)?;
        let info = self.head_in(&folder, bucket, key).await?;
        let range = super::range::parse(range, info.size)?;
        let mut file = folder.open_file(key).map_err(|_| no_such_key(key))?;
        if let Some(range) = range {
            use std::io::Seek as _;
            file.seek(std::io::SeekFrom::Start(range.first))
                .map_err(|e| Error::Service(format!("reading object {key}: {e}")))?;
        }
        Ok((info, range, tokio::fs::File::from_std(file)))
    }

    /// DeleteObject: removes the file and fires its one
    /// `ObjectRemoved:Delete`. Deleting a missing key succeeds, as in S3.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let record = self.bucket(bucket)?;
        check_key(key)?;
        let folder = folder_of(&record)?;
        let lock = self.lock(&record.name);
        let _held = lock.lock().await;
        match folder.remove_file(key) {
            Ok(_) => {}
            // A folder on the way is missing, a file or a link: no object.
            Err(e) if e.kind() != std::io::ErrorKind::PermissionDenied => {}
            Err(e) => return Err(Error::Service(format!("deleting object {key}: {e}"))),
        }
        // The file is gone: the index catches up, with the event first.
        self.reconcile_locked(&record, key).await
    }

    /// ListObjectsV2, in key order.
    pub async fn list_objects(&self, bucket: &str, request: &ListRequest) -> Result<Listing> {
        self.bucket(bucket)?;
        let (store, bucket, request) = (
            self.inner.store.clone(),
            bucket.to_string(),
            request.clone(),
        );
        tokio::task::spawn_blocking(move || list_from_index(&store, &bucket, &request))
            .await
            .map_err(|e| Error::Service(format!("listing: {e}")))?
    }
}

/// A page of ListObjectsV2, from the object index (kept by the watcher and
/// every put and delete): a range read of one page, never a walk of the
/// folder. A prefix that `delimiter` rolls up is stepped over in one seek.
fn list_from_index(
    store: &funnel_store::Store,
    bucket: &str,
    request: &ListRequest,
) -> Result<Listing> {
    let max_keys = match request.max_keys {
        0 => 1000,
        n => n.min(1000),
    };
    let mut after = request
        .continuation_token
        .as_str()
        .max(request.start_after.as_str())
        .as_bytes()
        .to_vec();
    let mut listing = Listing::default();
    let mut count = 0;
    'pages: loop {
        let mut stepped_over = false;
        for entry in store.object_entries_after(bucket, &request.prefix, &after) {
            let (key, entry) = entry?;
            let rest = &key[request.prefix.len()..];
            let common = (!request.delimiter.is_empty())
                .then(|| rest.find(&request.delimiter))
                .flatten()
                .map(|at| {
                    format!(
                        "{}{}",
                        request.prefix,
                        &rest[..at + request.delimiter.len()]
                    )
                });
            if count == max_keys {
                listing.is_truncated = true;
                break 'pages;
            }
            count += 1;
            match common {
                Some(prefix) => {
                    listing.next_continuation_token = format!("{prefix}\u{10FFFF}");
                    after = listing.next_continuation_token.as_bytes().to_vec();
                    listing.common_prefixes.push(prefix);
                    stepped_over = true;
                    break;
                }
                None => {
                    listing.next_continuation_token = key.clone();
                    listing.contents.push(ObjectInfo {
                        key,
                        size: entry.size,
                        last_modified_ns: entry.mtime_ns,
                        attributes: Attributes::of_entry(&entry),
                        etag: entry.etag,
                    });
                }
            }
        }
        if !stepped_over {
            break;
        }
    }
    if !listing.is_truncated {
        listing.next_continuation_token.clear();
    }
    Ok(listing)
}

fn no_such_key(key: &str) -> Error {
    Error::NoSuchKey(format!("The specified key does not exist: {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_files_and_back() {
        let root = Path::new("/b");
        assert!(check_key("a/b c.txt").is_ok());
        assert_eq!(
            path_key(root, Path::new("/b/a/b c.txt")).as_deref(),
            Some("a/b c.txt")
        );
        for bad in ["", "a//b", "../x", "a/./b", "/abs", "x/", ".funnel-tmp-1"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn editor_leftovers_are_temporary() {
        for name in [
            ".a.txt.swp",
            "a.txt~",
            ".#a.txt",
            "#a.txt#",
            "4913",
            "x.crdownload",
            ".funnel-tmp-ab",
        ] {
            assert!(is_temporary(name), "{name}");
        }
        for name in ["a.txt", "photo.jpg", "#", "notes.swp.txt"] {
            assert!(!is_temporary(name), "{name}");
        }
    }
}
