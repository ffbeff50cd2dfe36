//! The state of a funnel install, in one embedded sled database.
//!
//! This is the only module that imports sled: everything else sees [`Store`],
//! a handle that is cheap to clone, and plain records. Trees:
//!
//! - `functions`: function name → [`FunctionRecord`] (JSON)
//! - `code`: lowercase hex SHA-256 → the component bytes (content-addressed,
//!   shared by every function with the same code)
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
}

fn default_ephemeral_storage() -> u32 {
    512
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    functions: sled::Tree,
    code: sled::Tree,
}

impl Store {
    /// Opens (or creates) the database under `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        let db = sled::Config::new().path(dir).open()?;
        Ok(Store {
            functions: db.open_tree("functions")?,
            code: db.open_tree("code")?,
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
        for record in self.functions.iter().values() {
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
