//! Injected faults (`funnel fault put`): what the dispatcher makes fail on
//! purpose. Kept in the `faults` tree, opened on first use, so an
//! experiment survives a restart. Not in exports: a fault is an
//! experiment's setting, not the install's state.

use serde::{Deserialize, Serialize};

use super::{Result, Store, decode, encode};

const TREE: &str = "faults";

/// One fault, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// `f-` and 12 hex digits.
    pub id: String,
    /// The account that put it (12 digits).
    pub account: String,
    /// The function's key.
    pub function: String,
    /// An alias or version; empty for every call of the function.
    #[serde(default)]
    pub qualifier: String,
    /// `error`, `timeout`, `throttle`, `latency` or `init-error`.
    pub kind: String,
    /// The share of eligible calls it hits, 0 to 1.
    pub rate: f64,
    #[serde(default)]
    pub error_type: String,
    #[serde(default)]
    pub latency_ms: u64,
    /// Wall ms on the server's clock after which it no longer acts; 0
    /// for never.
    #[serde(default)]
    pub until_ms: i64,
    /// The seed of its decisions, when they are to be reproducible.
    #[serde(default)]
    pub seed: Option<u64>,
    pub created_ms: i64,
}

impl Store {
    /// Stores `record` under its id (replacing one of the same id) and
    /// flushes.
    pub fn put_fault(&self, record: &FaultRecord) -> Result<()> {
        self.db
            .open_tree(TREE)?
            .insert(record.id.as_bytes(), encode(record))?;
        self.flush()
    }

    /// Every fault, by id. A record that does not decode is skipped.
    pub fn faults(&self) -> Result<Vec<FaultRecord>> {
        let mut all = Vec::new();
        for entry in self.db.open_tree(TREE)?.iter() {
            let (key, value) = entry?;
            match decode(&String::from_utf8_lossy(&key), &value) {
                Ok(record) => all.push(record),
                Err(err) => tracing::warn!(cause = %err, "a fault record does not decode"),
            }
        }
        Ok(all)
    }

    /// Removes a fault and flushes; returns it, if there was one.
    pub fn delete_fault(&self, id: &str) -> Result<Option<FaultRecord>> {
        let old = self.db.open_tree(TREE)?.remove(id.as_bytes())?;
        self.flush()?;
        old.map(|old| decode(id, &old)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let record = FaultRecord {
            id: "f-000000000001".into(),
            account: "000000000000".into(),
            function: "thumbs".into(),
            qualifier: String::new(),
            kind: "error".into(),
            rate: 0.5,
            error_type: "InjectedFault".into(),
            latency_ms: 0,
            until_ms: 0,
            seed: Some(7),
            created_ms: 1,
        };
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_fault(&record).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.faults().unwrap(), vec![record.clone()]);
        assert_eq!(store.delete_fault(&record.id).unwrap(), Some(record));
        assert!(store.faults().unwrap().is_empty());
        assert_eq!(store.delete_fault("f-000000000001").unwrap(), None);
    }
}
