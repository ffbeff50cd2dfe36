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

    /// A fresh S3 `sequencer`: increasing, 16 uppercase hex digits.
    pub fn next_sequencer(&self) -> Result<String> {
        Ok(format!("{:016X}", self.db.generate_id()?))
    }
}
