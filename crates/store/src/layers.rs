//! Layer versions and their archives.

use serde::{Deserialize, Serialize};

use super::{FunctionRecord, Result, Store, StoreError, decode, encode};

/// A published layer version: immutable once written, but for its
/// permission policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerVersionRecord {
    pub name: String,
    pub version: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub compatible_runtimes: Vec<String>,
    #[serde(default)]
    pub license_info: String,
    /// ISO 8601, as Lambda formats `CreatedDate`.
    pub created_date: String,
    /// Hex SHA-256 of the archive: the key of its bytes in `layer_content`
    /// and the name of its unpacked folder.
    pub content_sha256: String,
    /// The archive's size in bytes.
    pub code_size: u64,
    /// The size of its files, unpacked.
    pub unpacked_size: u64,
    /// `AddLayerVersionPermission`'s statements: the policy document
    /// Lambda returns, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl Store {
    /// Stores `record` as the layer's next version (numbers are never
    /// reused, even after versions are deleted) and returns it numbered.
    pub fn publish_layer_version(
        &self,
        mut record: LayerVersionRecord,
        zip: &[u8],
    ) -> Result<LayerVersionRecord> {
        if !self.layer_content.contains_key(&record.content_sha256)? {
            self.layer_content.insert(&record.content_sha256, zip)?;
        }
        let last = self
            .layer_names
            .update_and_fetch(&record.name, |old| {
                let next = old.map_or(0, super::read_u64) + 1;
                Some(next.to_be_bytes().to_vec())
            })?
            .map_or(1, |v| super::read_u64(&v));
        record.version = u32::try_from(last).unwrap_or(u32::MAX);
        self.layers
            .insert(layer_key(&record.name, record.version), encode(&record))?;
        Ok(record)
    }

    pub fn get_layer_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<LayerVersionRecord>> {
        self.layers
            .get(layer_key(name, version))?
            .map(|value| decode(name, &value))
            .transpose()
    }

    /// Replaces a layer version's policy (`None` removes it); the version
    /// must exist.
    pub fn set_layer_version_policy(
        &self,
        name: &str,
        version: u32,
        policy: Option<&str>,
    ) -> Result<()> {
        let key = layer_key(name, version);
        let mut record: LayerVersionRecord = self
            .layers
            .get(&key)?
            .map(|value| decode(name, &value))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("{name}:{version}")))?;
        record.policy = policy.map(str::to_string);
        self.layers.insert(key, encode(&record))?;
        Ok(())
    }

    /// A layer's versions, oldest first.
    pub fn layer_versions(&self, name: &str) -> Result<Vec<LayerVersionRecord>> {
        self.layers
            .scan_prefix(layer_prefix(name))
            .values()
            .map(|value| decode(name, &value?))
            .collect()
    }

    /// Every layer version, by layer name and then version.
    pub fn all_layer_versions(&self) -> Result<Vec<LayerVersionRecord>> {
        self.layers
            .iter()
            .values()
            .map(|value| decode("layers", &value?))
            .collect()
    }

    /// Removes one layer version's record (not its content: see
    /// [`Store::remove_layer_content_if_unused`]); returns it.
    pub fn delete_layer_version(&self, name: &str, version: u32) -> Result<LayerVersionRecord> {
        let value = self
            .layers
            .remove(layer_key(name, version))?
            .ok_or_else(|| StoreError::NotFound(format!("{name}:{version}")))?;
        decode(name, &value)
    }

    /// A layer archive's bytes.
    pub fn get_layer_content(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.layer_content.get(sha256)?.map(|bytes| bytes.to_vec()))
    }

    /// Removes an archive unless a layer version or a function (any of its
    /// versions) still uses it. Returns whether it was removed.
    pub fn remove_layer_content_if_unused(&self, sha256: &str) -> Result<bool> {
        for record in self.layers.iter().values() {
            let record: LayerVersionRecord = decode("layers", &record?)?;
            if record.content_sha256 == sha256 {
                return Ok(false);
            }
        }
        for record in self
            .functions
            .iter()
            .values()
            .chain(self.versions.iter().values())
        {
            let record: FunctionRecord = decode("functions", &record?)?;
            if record.layers.iter().any(|l| l.content_sha256 == sha256) {
                return Ok(false);
            }
        }
        Ok(self.layer_content.remove(sha256)?.is_some())
    }

    /// The hashes of every stored archive.
    pub fn layer_content_hashes(&self) -> Result<Vec<String>> {
        self.layer_content
            .iter()
            .keys()
            .map(|key| Ok(String::from_utf8_lossy(&key?).into_owned()))
            .collect()
    }
}

fn layer_prefix(name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    key
}

fn layer_key(name: &str, version: u32) -> Vec<u8> {
    let mut key = layer_prefix(name);
    key.extend_from_slice(&version.to_be_bytes());
    key
}
