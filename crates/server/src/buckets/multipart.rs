//! Multipart uploads, as S3 has them: create an upload, upload numbered
//! parts (each replacing any part of its number), then complete it from a
//! list of parts — or abort it.
//!
//! Parts live outside every bucket's folder, in `<data dir>/multipart/<upload
//! id>/<part number>`, so no watcher sees them and a folder never shows
//! half an upload. The upload's record and each part's MD5 and size live in
//! the store: an upload survives a restart. Completing writes the object as
//! PutObject does (a temporary file in the bucket's folder, synced, renamed
//! under the bucket's lock, the index updated) with S3's multipart ETag,
//! and fires exactly one `ObjectCreated:CompleteMultipartUpload`.
//!
//! One lock per upload: a part is put in place, the upload completed or
//! aborted, one at a time; it is taken before the bucket's lock, never
//! after.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use cap_fs_ext::OpenOptionsFollowExt as _;
use md5::{Digest as _, Md5};
use tokio::io::AsyncReadExt as _;

use super::objects::{Upload, check_key};
use super::{Buckets, TEMP_PREFIX};
use crate::error::{Error, Result};
use funnel_store::{PartRecord, UploadRecord};

/// S3's smallest part (all but the last), largest part, highest part
/// number, and largest object made of parts.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
pub const MAX_PART_NUMBER: i32 = 10_000;
pub const MAX_MULTIPART_BYTES: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// An uploaded part, as ListParts gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub number: u32,
    /// MD5 hex, unquoted.
    pub etag: String,
    pub size: u64,
    pub last_modified_ns: i64,
}

/// A page of ListParts.
#[derive(Debug, Clone)]
pub struct PartsPage {
    pub upload: UploadRecord,
    pub parts: Vec<PartInfo>,
    pub is_truncated: bool,
}

/// A page of ListMultipartUploads, in key order (then by age).
#[derive(Debug, Clone)]
pub struct UploadsPage {
    pub uploads: Vec<UploadRecord>,
    pub is_truncated: bool,
}

fn no_such_upload(upload_id: &str) -> Error {
    Error::NoSuchUpload(format!(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may \
         have been aborted or completed: {upload_id}"
    ))
}

/// S3's ETag of an object made of parts: the MD5 of the parts' binary
/// MD5s, then `-<part count>`.
pub fn multipart_etag(part_etags: &[&str]) -> String {
    let mut hasher = Md5::new();
    for etag in part_etags {
        hasher.update(hex::decode(etag).unwrap_or_default());
    }
    format!("{}-{}", hex::encode(hasher.finalize()), part_etags.len())
}

/// An ETag as a client sends it back: quoted or not, any case.
fn bare(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

impl Buckets {
    /// Upload ids are funnel's own (32 hex digits): anything else names no
    /// upload, and never a path.
    fn upload_dir(&self, upload_id: &str) -> Result<std::path::PathBuf> {
        if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(no_such_upload(upload_id));
        }
        Ok(self.inner.multipart.join(upload_id))
    }

    fn upload_lock(&self, upload_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.inner
            .upload_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(upload_id.to_string())
            .or_default()
            .clone()
    }

    /// The upload `upload_id` of `key` in `bucket`, in progress.
    fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRecord> {
        self.bucket(bucket)?;
        self.upload_dir(upload_id)?;
        match self.inner.store.get_upload(bucket, upload_id)? {
            Some(record) if record.key == key => Ok(record),
            _ => Err(no_such_upload(upload_id)),
        }
    }

    /// CreateMultipartUpload: a new upload of `key`, by `initiator` (a
    /// user's ARN) of account `owner`, for an object carrying `attributes`.
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        (initiator, owner): (&str, &str),
        attributes: super::attributes::Attributes,
    ) -> Result<UploadRecord> {
        self.bucket(bucket)?;
        check_key(key)?;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.upload_dir(&upload_id)?;
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::Service(format!("making the upload's folder {}: {e}", dir.display()))
        })?;
        let record = UploadRecord {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
            initiated_ns: chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            initiator: initiator.to_string(),
            owner: owner.to_string(),
            content_type: attributes.content_type,
            metadata: attributes.metadata,
        };
        self.inner.store.put_upload(&record)?;
        self.inner.store.flush_async().await?;
        tracing::info!(bucket, key, upload_id = %record.upload_id, "created multipart upload");
        Ok(record)
    }

    /// Starts an UploadPart: a temporary file in the upload's folder.
    pub async fn begin_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
    ) -> Result<Upload> {
        if !(1..=MAX_PART_NUMBER).contains(&part_number) {
            return Err(Error::InvalidArgument(format!(
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive \
                 ({part_number} given)"
            )));
        }
        self.upload(bucket, key, upload_id)?;
        let dir = cap_std::fs::Dir::open_ambient_dir(
            self.upload_dir(upload_id)?,
            cap_std::ambient_authority(),
        )
        .map_err(|_| no_such_upload(upload_id))?;
        let temp = format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let mut options = cap_std::fs::OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .follow(cap_fs_ext::FollowSymlinks::No);
        let file = dir
            .open_with(&temp, &options)
            .map_err(|e| Error::Service(format!("creating a part of upload {upload_id}: {e}")))?;
        Ok(Upload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            dir,
            temp,
            file: Some(tokio::fs::File::from_std(file.into_std())),
            hasher: Md5::new(),
            size: 0,
            limit: MAX_PART_BYTES,
            // A part carries none; its upload does.
            attributes: Default::default(),
        })
    }

    /// Completes an UploadPart: the part is made durable and put in place
    /// of any earlier part of its number.
    pub async fn finish_part(
        &self,
        mut part: Upload,
        upload_id: &str,
        part_number: i32,
    ) -> Result<PartInfo> {
        let etag = part.close().await?;
        let number = part_number.unsigned_abs();
        let name = number.to_string();
        let lock = self.upload_lock(upload_id);
        let _held = lock.lock().await;
        // Completed or aborted meanwhile: the part goes with it.
        if self.upload(&part.bucket, &part.key, upload_id).is_err() {
            let _ = part.dir.remove_file(&part.temp);
            return Err(no_such_upload(upload_id));
        }
        if let Err(e) = part.dir.rename(&part.temp, &part.dir, &name) {
            let _ = part.dir.remove_file(&part.temp);
            return Err(Error::Service(format!(
                "storing part {number} of upload {upload_id}: {e}"
            )));
        }
        if self.inner.store.power_durability() {
            part.dir
                .open(".")
                .and_then(|folder| folder.into_std().sync_all())
                .map_err(|e| Error::Service(format!("storing part {number}: {e}")))?;
        }
        let record = PartRecord {
            etag,
            size: part.size,
            // The file's time, as an object's LastModified is.
            last_modified_ns: super::confined::fingerprint_in(&part.dir, &name)
                .map_or(0, |f| f.mtime_ns),
        };
        self.inner.store.put_part(upload_id, number, &record)?;
        self.inner.store.flush_async().await?;
        Ok(PartInfo {
            number,
            etag: record.etag,
            size: record.size,
            last_modified_ns: record.last_modified_ns,
        })
    }

    /// CompleteMultipartUpload of the parts `listed` (number, ETag), with
    /// S3's checks; the object, with its multipart ETag.
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[(i32, String)],
    ) -> Result<super::objects::ObjectInfo> {
        let lock = self.upload_lock(upload_id);
        let _held = lock.lock().await;
        let record = self.upload(bucket, key, upload_id)?;
        if listed.is_empty() {
            return Err(Error::MalformedXml(
                "The XML you provided was not well-formed or did not validate against our \
                 published schema: CompleteMultipartUpload lists no part"
                    .into(),
            ));
        }
        if listed.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(Error::InvalidPartOrder(
                "The list of parts was not in ascending order. The parts list must be specified \
                 in order by part number."
                    .into(),
            ));
        }
        let stored: BTreeMap<u32, PartRecord> =
            self.inner.store.parts(upload_id)?.into_iter().collect();
        let mut parts = Vec::with_capacity(listed.len());
        for (number, etag) in listed {
            match u32::try_from(*number).ok().and_then(|n| stored.get(&n)) {
                Some(part) if part.etag == bare(etag) => parts.push((*number as u32, part)),
                _ => {
                    return Err(Error::InvalidPart(format!(
                        "One or more of the specified parts could not be found. The part may \
                         not have been uploaded, or the specified entity tag may not match the \
                         part's entity tag: part {number}, ETag {etag}"
                    )));
                }
            }
        }
        if let Some((number, part)) = parts[..parts.len() - 1]
            .iter()
            .find(|(_, part)| part.size < MIN_PART_BYTES)
        {
            return Err(Error::EntityTooSmall(format!(
                "Your proposed upload is smaller than the minimum allowed object size: part \
                 {number} is {} bytes; every part but the last must be at least {MIN_PART_BYTES}",
                part.size
            )));
        }

        let folder = cap_std::fs::Dir::open_ambient_dir(
            self.upload_dir(upload_id)?,
            cap_std::ambient_authority(),
        )
        .map_err(|e| Error::Service(format!("opening upload {upload_id}: {e}")))?;
        let mut object = self.begin_put(bucket, key).await?;
        object.limit = MAX_MULTIPART_BYTES;
        object.describe(super::attributes::Attributes::of_upload(&record));
        let mut buffer = vec![0; 256 * 1024];
        for (number, part) in &parts {
            let mut file = folder
                .open(number.to_string())
                .map(|f| tokio::fs::File::from_std(f.into_std()))
                .map_err(|e| {
                    Error::InvalidPart(format!("part {number} of upload {upload_id} is gone: {e}"))
                })?;
            let mut read_total = 0;
            loop {
                let read = file
                    .read(&mut buffer)
                    .await
                    .map_err(|e| Error::Service(format!("reading part {number}: {e}")))?;
                if read == 0 {
                    break;
                }
                read_total += read as u64;
                object.write(&buffer[..read]).await?;
            }
            if read_total != part.size {
                return Err(Error::InvalidPart(format!(
                    "part {number} of upload {upload_id} changed on disk: {read_total} bytes, \
                     {} uploaded",
                    part.size
                )));
            }
        }
        let etags: Vec<&str> = parts.iter().map(|(_, p)| p.etag.as_str()).collect();
        let etag = multipart_etag(&etags);
        let info = self
            .finish(object, "ObjectCreated:CompleteMultipartUpload", Some(etag))
            .await?;
        self.forget_upload(bucket, upload_id).await?;
        tracing::info!(
            bucket,
            key,
            upload_id,
            parts = parts.len(),
            "completed multipart upload"
        );
        Ok(info)
    }

    /// AbortMultipartUpload: the upload and its parts are discarded.
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        let lock = self.upload_lock(upload_id);
        let _held = lock.lock().await;
        self.upload(bucket, key, upload_id)?;
        self.forget_upload(bucket, upload_id).await?;
        tracing::info!(bucket, key, upload_id, "aborted multipart upload");
        Ok(())
    }

    /// Discards every upload of a bucket that is gone (called after
    /// DeleteBucket, outside the bucket's lock).
    pub(super) async fn abort_uploads_of(&self, bucket: &str) -> Result<()> {
        for upload in self.inner.store.uploads(Some(bucket))? {
            let lock = self.upload_lock(&upload.upload_id);
            let _held = lock.lock().await;
            self.forget_upload(bucket, &upload.upload_id).await?;
        }
        Ok(())
    }

    /// Forgets an upload (its lock held): the record, then the parts.
    async fn forget_upload(&self, bucket: &str, upload_id: &str) -> Result<()> {
        self.inner.store.remove_upload(bucket, upload_id)?;
        self.inner.store.flush_async().await?;
        let dir = self.upload_dir(upload_id)?;
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(upload_id, cause = %e, "removing a finished upload's parts");
        }
        self.inner
            .upload_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(upload_id);
        Ok(())
    }

    /// ListParts: up to `max_parts` parts numbered above `after`.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        max_parts: usize,
    ) -> Result<PartsPage> {
        let upload = self.upload(bucket, key, upload_id)?;
        let mut parts: Vec<PartInfo> = self
            .inner
            .store
            .parts(upload_id)?
            .into_iter()
            .filter(|(number, _)| *number > after)
            .map(|(number, part)| PartInfo {
                number,
                etag: part.etag,
                size: part.size,
                last_modified_ns: part.last_modified_ns,
            })
            .collect();
        let is_truncated = parts.len() > max_parts;
        parts.truncate(max_parts);
        Ok(PartsPage {
            upload,
            parts,
            is_truncated,
        })
    }

    /// ListMultipartUploads: up to `max_uploads` uploads whose keys start
    /// with `prefix`, after the upload (`key_marker`, `upload_id_marker`)
    /// — or after every upload of `key_marker` when no id is given.
    pub fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        (key_marker, upload_id_marker): (&str, &str),
        max_uploads: usize,
    ) -> Result<UploadsPage> {
        self.bucket(bucket)?;
        let mut uploads: Vec<UploadRecord> = self
            .inner
            .store
            .uploads(Some(bucket))?
            .into_iter()
            .filter(|u| u.key.starts_with(prefix))
            .collect();
        uploads.sort_by(|a, b| {
            (&a.key, a.initiated_ns, &a.upload_id).cmp(&(&b.key, b.initiated_ns, &b.upload_id))
        });
        let past_key = |u: &UploadRecord| u.key.as_str() > key_marker;
        let start = match (key_marker, upload_id_marker) {
            ("", _) => 0,
            (_, "") => uploads.iter().position(past_key).unwrap_or(uploads.len()),
            (_, id) => match uploads
                .iter()
                .position(|u| u.key == key_marker && u.upload_id == id)
            {
                Some(at) => at + 1,
                None => uploads.iter().position(past_key).unwrap_or(uploads.len()),
            },
        };
        let mut uploads = uploads.split_off(start);
        let is_truncated = uploads.len() > max_uploads;
        uploads.truncate(max_uploads);
        Ok(UploadsPage {
            uploads,
            is_truncated,
        })
    }
}

/// At startup: removes what no upload in progress owns — folders under
/// `multipart` (an upload completed or aborted by a funnel that stopped
/// before removing them, or created by one that stopped before recording
/// it), temporary files of parts never finished, uploads of buckets that
/// are gone, and their part records.
pub(super) fn sweep(store: &funnel_store::Store, multipart: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    std::fs::create_dir_all(multipart)
        .with_context(|| format!("making the uploads folder {}", multipart.display()))?;
    let mut live = HashSet::new();
    for upload in store.uploads(None)? {
        if store.get_bucket(&upload.bucket)?.is_some() {
            live.insert(upload.upload_id);
        } else {
            store.remove_upload(&upload.bucket, &upload.upload_id)?;
        }
    }
    store.forget_orphan_parts()?;
    let entries = std::fs::read_dir(multipart)
        .with_context(|| format!("reading the uploads folder {}", multipart.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !live.contains(&name) {
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            continue;
        }
        for part in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            if part.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(part.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_etag_is_s3s() {
        // Two parts: "a" * 5 MiB's MD5 and "b"'s, as S3 (and boto's docs) compute it.
        let a = hex::encode(Md5::digest(vec![b'a'; 5 * 1024 * 1024]));
        let b = hex::encode(Md5::digest(b"b"));
        let mut both = hex::decode(&a).unwrap();
        both.extend(hex::decode(&b).unwrap());
        let expected = format!("{}-2", hex::encode(Md5::digest(&both)));
        assert_eq!(multipart_etag(&[&a, &b]), expected);
        assert_eq!(bare("\"ABCdef\""), "abcdef");
    }
}
