//! Buckets, their notification configurations, and the object index: what
//! the bucket watcher last saw of every file, so that a rescan fires events
//! only for what changed. And multipart uploads in progress: each upload's
//! record and its parts' (the parts' bytes are files the server keeps
//! outside the store).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, decode, encode};

/// A bucket: a folder, and who hears about its objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRecord {
    pub name: String,
    /// The folder, absolute.
    pub path: String,
    /// funnel made the folder (under the data dir) and removes it with the
    /// bucket; a folder the user named is left in place.
    pub owned: bool,
    /// ISO 8601.
    pub creation_date: String,
    #[serde(default)]
    pub notifications: Vec<NotificationRecord>,
}

/// One `LambdaFunctionConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRecord {
    pub id: String,
    pub function_arn: String,
    /// As given: `s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`, ...
    pub events: Vec<String>,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
}

/// What the watcher last saw of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// The file's inode: a file replaced by a rename is a new object even
    /// with the same size and time.
    pub inode: u64,
    /// MD5 of the content, lowercase hex.
    pub etag: String,
    pub sequencer: String,
    /// The media type its writer gave (empty: none given).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_type: String,
    /// S3's user metadata (`x-amz-meta-*`), names lowercased.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub bucket: String,
    /// The object it makes.
    pub key: String,
    pub upload_id: String,
    /// When it was created, ns since the epoch.
    pub initiated_ns: i64,
    /// Who created it: a user's ARN.
    pub initiator: String,
    /// The account it belongs to.
    pub owner: String,
    /// The object's media type and user metadata, as `ObjectEntry`'s.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_type: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// One uploaded part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    /// MD5 of the part, lowercase hex.
    pub etag: String,
    pub size: u64,
    /// ns since the epoch.
    pub last_modified_ns: i64,
}

fn part_key(upload_id: &str, number: u32) -> Vec<u8> {
    let mut k = upload_id.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&number.to_be_bytes());
    k
}

fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = bucket.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

impl Store {
    /// Inserts a new bucket; `AlreadyExists` if the name is taken.
    pub fn create_bucket(&self, record: &BucketRecord) -> Result<()> {
        self.buckets
            .compare_and_swap(
                record.name.as_bytes(),
                None as Option<&[u8]>,
                Some(encode(record)),
            )?
            .map_err(|_| StoreError::AlreadyExists(record.name.clone()))
    }

    pub fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        self.buckets
            .get(name)?
            .map(|v| decode(name, &v))
            .transpose()
    }

    pub fn put_bucket(&self, record: &BucketRecord) -> Result<()> {
        self.buckets
            .insert(record.name.as_bytes(), encode(record))?;
        Ok(())
    }

    /// Every bucket, in name order.
    pub fn buckets(&self) -> Result<Vec<BucketRecord>> {
        self.buckets
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                decode(&String::from_utf8_lossy(&key), &value)
            })
            .collect()
    }

    /// Removes a bucket and its object index.
    pub fn delete_bucket(&self, name: &str) -> Result<()> {
        for key in self.objects.scan_prefix(object_key(name, "")).keys() {
            self.objects.remove(key?)?;
        }
        self.buckets.remove(name)?;
        Ok(())
    }

    pub fn get_object_entry(&self, bucket: &str, key: &str) -> Result<Option<ObjectEntry>> {
        self.objects
            .get(object_key(bucket, key))?
            .map(|v| decode(key, &v))
            .transpose()
    }

    pub fn put_object_entry(&self, bucket: &str, key: &str, entry: &ObjectEntry) -> Result<()> {
        self.objects
            .insert(object_key(bucket, key), encode(entry))?;
        Ok(())
    }

    pub fn remove_object_entry(&self, bucket: &str, key: &str) -> Result<()> {
        self.objects.remove(object_key(bucket, key))?;
        Ok(())
    }

    /// The indexed keys of `bucket` that start with `prefix`, in order.
    pub fn object_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        let skip = bucket.len() + 1;
        self.objects
            .scan_prefix(object_key(bucket, prefix))
            .keys()
            .map(|key| Ok(String::from_utf8_lossy(&key?[skip..]).into_owned()))
            .collect()
    }

    /// The index's entries of `bucket` whose keys start with `prefix` and
    /// sort after `after` (bytes of a key, or past one), in key order.
    pub fn object_entries_after<'a>(
        &'a self,
        bucket: &str,
        prefix: &str,
        after: &[u8],
    ) -> impl Iterator<Item = Result<(String, ObjectEntry)>> + 'a {
        use std::ops::Bound;
        let start = object_key(bucket, prefix);
        let mut past = object_key(bucket, "");
        past.extend_from_slice(after);
        let lower = if past >= start {
            Bound::Excluded(past)
        } else {
            Bound::Included(start.clone())
        };
        let skip = bucket.len() + 1;
        self.objects
            .range::<Vec<u8>, _>((lower, Bound::Unbounded))
            .take_while(move |entry| entry.as_ref().map_or(true, |(k, _)| k.starts_with(&start)))
            .map(move |entry| {
                let (key, value) = entry?;
                let key = String::from_utf8_lossy(&key[skip..]).into_owned();
                let entry = decode(&key, &value)?;
                Ok((key, entry))
            })
    }

    pub fn put_upload(&self, record: &UploadRecord) -> Result<()> {
        self.uploads.insert(
            object_key(&record.bucket, &record.upload_id),
            encode(record),
        )?;
        Ok(())
    }

    pub fn get_upload(&self, bucket: &str, upload_id: &str) -> Result<Option<UploadRecord>> {
        self.uploads
            .get(object_key(bucket, upload_id))?
            .map(|v| decode(upload_id, &v))
            .transpose()
    }

    /// The uploads in progress of `bucket` (or of every bucket, for `None`),
    /// in no particular order.
    pub fn uploads(&self, bucket: Option<&str>) -> Result<Vec<UploadRecord>> {
        let prefix = bucket.map(|b| object_key(b, "")).unwrap_or_default();
        self.uploads
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                decode(&String::from_utf8_lossy(&key), &value)
            })
            .collect()
    }

    /// Records part `number` of an upload, replacing one of that number.
    pub fn put_part(&self, upload_id: &str, number: u32, part: &PartRecord) -> Result<()> {
        self.parts
            .insert(part_key(upload_id, number), encode(part))?;
        Ok(())
    }

    /// The parts of an upload, by number.
    pub fn parts(&self, upload_id: &str) -> Result<Vec<(u32, PartRecord)>> {
        let mut prefix = upload_id.as_bytes().to_vec();
        prefix.push(0);
        let skip = prefix.len();
        self.parts
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                let number = key[skip..]
                    .try_into()
                    .map(u32::from_be_bytes)
                    .unwrap_or_default();
                Ok((number, decode(upload_id, &value)?))
            })
            .collect()
    }

    /// Forgets an upload and its parts (the upload first: parts without it
    /// are never read, and [`Store::forget_orphan_parts`] removes them).
    pub fn remove_upload(&self, bucket: &str, upload_id: &str) -> Result<()> {
        self.uploads.remove(object_key(bucket, upload_id))?;
        let mut prefix = upload_id.as_bytes().to_vec();
        prefix.push(0);
        for key in self.parts.scan_prefix(prefix).keys() {
            self.parts.remove(key?)?;
        }
        Ok(())
    }

    /// Removes the parts of uploads that are no longer in progress (left
    /// by a stop half way through [`Store::remove_upload`]).
    pub fn forget_orphan_parts(&self) -> Result<()> {
        let live: std::collections::HashSet<String> = self
            .uploads(None)?
            .into_iter()
            .map(|u| u.upload_id)
            .collect();
        for key in self.parts.iter().keys() {
            let key = key?;
            let id = key.split(|b| *b == 0).next().unwrap_or_default();
            if !live.contains(&*String::from_utf8_lossy(id)) {
                self.parts.remove(key)?;
            }
        }
        Ok(())
    }

    /// A fresh S3 `sequencer`: increasing, 16 uppercase hex digits.
    pub fn next_sequencer(&self) -> Result<String> {
        Ok(format!("{:016X}", self.db.generate_id()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_and_their_parts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let upload = |bucket: &str, id: &str| UploadRecord {
            bucket: bucket.into(),
            key: "k".into(),
            upload_id: id.into(),
            initiated_ns: 1,
            initiator: "arn:funnel:iam::000000000000:user/operator".into(),
            owner: "000000000000".into(),
            content_type: String::new(),
            metadata: BTreeMap::new(),
        };
        let part = |etag: &str| PartRecord {
            etag: etag.into(),
            size: 5,
            last_modified_ns: 2,
        };
        store.put_upload(&upload("bk", "u1")).unwrap();
        store.put_upload(&upload("bk", "u2")).unwrap();
        store.put_upload(&upload("other", "u3")).unwrap();
        assert_eq!(
            store.get_upload("bk", "u1").unwrap(),
            Some(upload("bk", "u1"))
        );
        assert_eq!(store.get_upload("other", "u1").unwrap(), None);
        assert_eq!(store.uploads(Some("bk")).unwrap().len(), 2);
        assert_eq!(store.uploads(None).unwrap().len(), 3);
        // Numbers in order, 256 after 2; a part again replaces it.
        for (n, etag) in [(256, "c"), (2, "b"), (1, "x"), (1, "a")] {
            store.put_part("u1", n, &part(etag)).unwrap();
        }
        store.put_part("u2", 1, &part("z")).unwrap();
        let parts = store.parts("u1").unwrap();
        let numbers: Vec<(u32, &str)> = parts.iter().map(|(n, p)| (*n, p.etag.as_str())).collect();
        assert_eq!(numbers, [(1, "a"), (2, "b"), (256, "c")]);

        store.remove_upload("bk", "u1").unwrap();
        assert_eq!(store.get_upload("bk", "u1").unwrap(), None);
        assert!(store.parts("u1").unwrap().is_empty());
        assert_eq!(store.parts("u2").unwrap().len(), 1);
        // A part left of an upload that is gone.
        store.put_part("u9", 1, &part("o")).unwrap();
        store.forget_orphan_parts().unwrap();
        assert!(store.parts("u9").unwrap().is_empty());
        assert_eq!(store.parts("u2").unwrap().len(), 1);
    }

    #[test]
    fn entries_after_a_key_within_a_prefix_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let entry = ObjectEntry {
            size: 1,
            mtime_ns: 0,
            inode: 0,
            etag: "e".into(),
            sequencer: String::new(),
            content_type: String::new(),
            metadata: BTreeMap::new(),
        };
        for key in ["a/1", "a/2", "a/b/3", "b/1", "c"] {
            store.put_object_entry("bk", key, &entry).unwrap();
        }
        store.put_object_entry("other", "a/9", &entry).unwrap();
        let keys = |prefix: &str, after: &[u8]| -> Vec<String> {
            store
                .object_entries_after("bk", prefix, after)
                .map(|e| e.unwrap().0)
                .collect()
        };
        assert_eq!(keys("", b""), ["a/1", "a/2", "a/b/3", "b/1", "c"]);
        assert_eq!(keys("a/", b""), ["a/1", "a/2", "a/b/3"]);
        assert_eq!(keys("a/", b"a/1"), ["a/2", "a/b/3"]);
        // Past a whole prefix: the step a delimiter's roll-up takes.
        assert_eq!(keys("", "a/\u{10FFFF}".as_bytes()), ["b/1", "c"]);
        assert_eq!(keys("b", b"zzz"), Vec::<String>::new());
    }
}
