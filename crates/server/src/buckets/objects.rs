//! The object API over a bucket's folder: put (streamed to a temporary
//! name, then renamed, so nobody sees half an object), get, head, delete and
//! ListObjectsV2; and the mapping between object keys and files.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use super::{Buckets, Fingerprint, TEMP_PREFIX};
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

/// The file of `key` in the bucket folder `root`.
pub fn key_path(root: &Path, key: &str) -> Result<PathBuf> {
    check_key(key)?;
    Ok(key
        .split('/')
        .fold(root.to_path_buf(), |path, s| path.join(s)))
}

/// The key of the file at `path` in the bucket folder `root`, if it can be one.
pub fn path_key(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let key = parts?.join("/");
    (!key.is_empty()).then_some(key)
}

/// Every object key under `dir` (its regular files, temporary names
/// skipped), relative to it, sorted.
pub fn walk(dir: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let key = format!("{prefix}{name}");
            if kind.is_dir() {
                stack.push((entry.path(), format!("{key}/")));
            } else if kind.is_file() && check_key(&key).is_ok() {
                keys.push(key);
            }
        }
    }
    keys.sort();
    keys
}

/// MD5 of a file's content, lowercase hex (S3's ETag of a single PUT).
pub async fn md5_file(path: PathBuf) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Md5::new();
        std::io::copy(&mut file, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// An upload in progress: bytes go to a temporary file in the bucket's
/// folder; [`Buckets::finish_put`] renames it into place. Dropped
/// unfinished, it removes its file.
pub struct Upload {
    bucket: String,
    key: String,
    temp: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Md5,
    size: u64,
}

impl Upload {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.size += bytes.len() as u64;
        if self.size > MAX_OBJECT_BYTES {
            return Err(Error::InvalidArgument(format!(
                "EntityTooLarge: Your proposed upload exceeds the maximum allowed size ({MAX_OBJECT_BYTES} bytes)"
            )));
        }
        self.hasher.update(bytes);
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Service("the upload is finished".into()))?;
        file.write_all(bytes)
            .await
            .map_err(|e| Error::Service(format!("writing {}: {e}", self.temp.display())))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

impl Buckets {
    /// Starts a PutObject: checks the bucket and key, opens a temporary file.
    pub async fn begin_put(&self, bucket: &str, key: &str) -> Result<Upload> {
        let record = self.bucket(bucket)?;
        let root = PathBuf::from(&record.path);
        let path = key_path(&root, key)?;
        let parent = path.parent().unwrap_or(&root).to_path_buf();
        if parent.is_file() {
            return Err(Error::InvalidArgument(format!(
                "object key {key:?} cannot be stored: {} is an object, not a folder",
                parent.display()
            )));
        }
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| Error::Service(format!("creating {}: {e}", parent.display())))?;
        let temp = parent.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| Error::Service(format!("creating {}: {e}", temp.display())))?;
        Ok(Upload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            temp,
            file: Some(file),
            hasher: Md5::new(),
            size: 0,
        })
    }

    /// Completes a PutObject: the file is made durable and renamed into
    /// place, and its one `ObjectCreated:Put` event is queued (the watcher,
    /// seeing the rename, finds the index already up to date).
    pub async fn finish_put(&self, mut upload: Upload) -> Result<ObjectInfo> {
        let record = self.bucket(&upload.bucket)?;
        let path = key_path(Path::new(&record.path), &upload.key)?;
        if let Some(mut file) = upload.file.take() {
            let synced = async {
                file.flush().await?;
                file.sync_all().await
            }
            .await;
            if let Err(e) = synced {
                let _ = std::fs::remove_file(&upload.temp);
                return Err(Error::Service(format!(
                    "writing {}: {e}",
                    upload.temp.display()
                )));
            }
        }
        let etag = hex::encode(std::mem::take(&mut upload.hasher).finalize());
        let lock = self.lock(&record.name);
        let _held = lock.lock().await;
        if let Err(e) = tokio::fs::rename(&upload.temp, &path).await {
            let _ = std::fs::remove_file(&upload.temp);
            return Err(Error::Service(format!("storing {}: {e}", path.display())));
        }
        let now = Fingerprint::of(&path).ok_or_else(|| {
            Error::Service(format!("{} vanished after its upload", path.display()))
        })?;
        let entry = ObjectEntry {
            size: now.size,
            mtime_ns: now.mtime_ns,
            inode: now.inode,
            etag: etag.clone(),
            sequencer: self.inner.store.next_sequencer()?,
        };
        self.fire(
            &record,
            "ObjectCreated:Put",
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
        })
    }

    /// HeadObject: the object's size, ETag and time (`NoSuchKey` if none).
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo> {
        let record = self.bucket(bucket)?;
        let path = key_path(Path::new(&record.path), key)?;
        let now = Fingerprint::of(&path).ok_or_else(|| no_such_key(key))?;
        let etag = match self.inner.store.get_object_entry(bucket, key)? {
            Some(entry) if now.matches(&entry) => entry.etag,
            _ => md5_file(path).await.map_err(|_| no_such_key(key))?,
        };
        Ok(ObjectInfo {
            key: key.to_string(),
            size: now.size,
            etag,
            last_modified_ns: now.mtime_ns,
        })
    }

    /// GetObject: the metadata and the open file.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(ObjectInfo, tokio::fs::File)> {
        let info = self.head_object(bucket, key).await?;
        let record = self.bucket(bucket)?;
        let path = key_path(Path::new(&record.path), key)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| no_such_key(key))?;
        Ok((info, file))
    }

    /// DeleteObject: removes the file and fires its one
    /// `ObjectRemoved:Delete`. Deleting a missing key succeeds, as in S3.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let record = self.bucket(bucket)?;
        let path = key_path(Path::new(&record.path), key)?;
        let lock = self.lock(&record.name);
        let _held = lock.lock().await;
        if Fingerprint::of(&path).is_some() {
            std::fs::remove_file(&path)
                .map_err(|e| Error::Service(format!("deleting {}: {e}", path.display())))?;
            remove_empty_parents(Path::new(&record.path), &path);
        }
        // The file is gone: the index catches up, with the event first.
        self.reconcile_locked(&record, key).await
    }

    /// ListObjectsV2, in key order.
    pub async fn list_objects(&self, bucket: &str, request: &ListRequest) -> Result<Listing> {
        let record = self.bucket(bucket)?;
        let root = PathBuf::from(&record.path);
        let max_keys = match request.max_keys {
            0 => 1000,
            n => n.min(1000),
        };
        let after = request
            .continuation_token
            .as_str()
            .max(request.start_after.as_str());
        let mut listing = Listing::default();
        let mut count = 0;
        for key in walk(&root) {
            if !key.starts_with(&request.prefix) || key.as_str() <= after {
                continue;
            }
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
            if let Some(prefix) = &common
                && listing.common_prefixes.last() == Some(prefix)
            {
                continue;
            }
            if count == max_keys {
                listing.is_truncated = true;
                break;
            }
            count += 1;
            match common {
                Some(prefix) => {
                    listing.next_continuation_token = format!("{prefix}\u{10FFFF}");
                    listing.common_prefixes.push(prefix);
                }
                None => {
                    let info = match self.head_object(bucket, &key).await {
                        Ok(info) => info,
                        // Removed while listing.
                        Err(_) => continue,
                    };
                    listing.next_continuation_token = key.clone();
                    listing.contents.push(info);
                }
            }
        }
        if !listing.is_truncated {
            listing.next_continuation_token.clear();
        }
        Ok(listing)
    }
}

fn no_such_key(key: &str) -> Error {
    Error::NoSuchKey(format!("The specified key does not exist: {key}"))
}

/// Removes the folders left empty between a deleted file and the bucket root.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_files_and_back() {
        let root = Path::new("/b");
        assert_eq!(
            key_path(root, "a/b c.txt").unwrap(),
            Path::new("/b/a/b c.txt")
        );
        assert_eq!(
            path_key(root, Path::new("/b/a/b c.txt")).as_deref(),
            Some("a/b c.txt")
        );
        for bad in ["", "a//b", "../x", "a/./b", "/abs", "x/", ".funnel-tmp-1"] {
            assert!(key_path(root, bad).is_err(), "{bad:?}");
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
