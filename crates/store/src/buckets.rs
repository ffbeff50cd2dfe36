//! Buckets, their notification configurations, and the object index: what
//! the bucket watcher last saw of every file, so that a rescan fires events
//! only for what changed.

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

    /// A fresh S3 `sequencer`: increasing, 16 uppercase hex digits.
    pub fn next_sequencer(&self) -> Result<String> {
        Ok(format!("{:016X}", self.db.generate_id()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
