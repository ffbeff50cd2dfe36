//! Records that do not decode are set aside, not fatal: one is moved from
//! its tree to `quarantine` (tree name, NUL, its key → [`Quarantined`],
//! with the error and its bytes), and everything else keeps working. So
//! far the async queue quarantines (an undecodable event at its head would
//! otherwise stop every delivery); the other trees still refuse to read.

use serde::{Deserialize, Serialize};

use super::{Result, Store, decode, encode};

/// A record set aside: where it was, why, and its bytes (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub tree: String,
    /// The record's key, hex.
    pub key: String,
    pub error: String,
    /// The record's bytes, hex.
    pub bytes: String,
}

impl Store {
    /// Moves `key` of `tree` (named `tree_name`) to the quarantine, with
    /// why it could not be read.
    pub(crate) fn quarantine(
        &self,
        tree: &sled::Tree,
        tree_name: &str,
        key: &[u8],
        value: &[u8],
        error: &dyn std::fmt::Display,
    ) -> Result<()> {
        let record = Quarantined {
            tree: tree_name.to_string(),
            key: hex::encode(key),
            error: error.to_string(),
            bytes: hex::encode(value),
        };
        let mut quarantine_key = tree_name.as_bytes().to_vec();
        quarantine_key.push(0);
        quarantine_key.extend_from_slice(key);
        self.quarantine.insert(quarantine_key, encode(&record))?;
        tree.remove(key)?;
        Ok(())
    }

    /// Every record set aside.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        self.quarantine
            .iter()
            .values()
            .map(|value| decode("quarantine", &value?))
            .collect()
    }
}
