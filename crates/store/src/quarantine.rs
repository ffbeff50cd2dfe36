//! Records that do not decode are set aside, not fatal: one is moved from
//! its tree to `quarantine` (tree name, NUL, its key → [`Quarantined`],
//! with the error and its bytes), logged once, counted, and everything
//! else keeps working.
//!
//! [`Store::open`] sweeps every tree of records (all but the logs, which
//! may be large: a log record that does not decode is set aside when a
//! read meets it), so a bad record never stops a start and nothing above
//! the store meets one; the async queue also sets aside what it cannot
//! read when it comes due.

use std::sync::atomic::Ordering;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Queued;
use super::queue::decode_entry;
use super::{
    AccessKeyRecord, AccountRecord, AliasRecord, BucketRecord, DeadLetter, EventInvokeConfig,
    FunctionRecord, LayerVersionRecord, ObjectEntry, Result, RuleRecord, Store, SubscriptionRecord,
    TopicRecord, UserRecord, decode, encode,
};

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

/// How a tree's values are checked; a good one's invocations (a queue
/// entry's, to count the queue; 1 elsewhere).
enum Shape {
    Json(fn(&[u8]) -> Result<(), String>),
    /// A u64, big-endian.
    Counter,
    /// A log group's size (u64), then its creation time (i64) unless it
    /// was written before groups kept one.
    LogGroup,
    /// An async-queue entry (an event, or a tagged group).
    Queue,
}

fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<T>(bytes)
        .map(|_| ())
        .map_err(|err| err.to_string())
}

impl Shape {
    fn check(&self, value: &[u8]) -> Result<i64, String> {
        match self {
            Shape::Json(check) => check(value).map(|()| 1),
            Shape::Counter if value.len() == 8 => Ok(1),
            Shape::Counter => Err(format!(
                "expected an 8-byte big-endian number, found {} bytes",
                value.len()
            )),
            Shape::LogGroup if value.len() == 8 || value.len() == 16 => Ok(1),
            Shape::LogGroup => Err(format!(
                "expected an 8-byte size and an 8-byte creation time, found {} bytes",
                value.len()
            )),
            Shape::Queue => match decode_entry(value) {
                Ok(Queued::Group(group)) => Ok(group.targets.len() as i64),
                Ok(Queued::Event(_)) => Ok(1),
                Err(e) => Err(e.to_string()),
            },
        }
    }
}

impl Store {
    /// The trees the open sweep checks, each with the shape of its values.
    fn swept(&self) -> Vec<(&sled::Tree, &'static str, Shape)> {
        vec![
            (
                &self.functions,
                "functions",
                Shape::Json(json::<FunctionRecord>),
            ),
            (
                &self.versions,
                "versions",
                Shape::Json(json::<FunctionRecord>),
            ),
            (&self.aliases, "aliases", Shape::Json(json::<AliasRecord>)),
            (
                &self.layers,
                "layers",
                Shape::Json(json::<LayerVersionRecord>),
            ),
            (&self.layer_names, "layer_names", Shape::Counter),
            (&self.log_groups, "log_groups", Shape::LogGroup),
            (&self.queue, "queue", Shape::Queue),
            (
                &self.dead_letters,
                "dead_letters",
                Shape::Json(json::<DeadLetter>),
            ),
            (
                &self.event_invoke_configs,
                "event_invoke_configs",
                Shape::Json(json::<EventInvokeConfig>),
            ),
            (
                &self.function_concurrency,
                "function_concurrency",
                Shape::Counter,
            ),
            (&self.provisioned, "provisioned", Shape::Counter),
            (
                &self.policies,
                "policies",
                Shape::Json(json::<serde_json::Value>),
            ),
            (&self.buckets, "buckets", Shape::Json(json::<BucketRecord>)),
            (&self.objects, "objects", Shape::Json(json::<ObjectEntry>)),
            (&self.topics, "topics", Shape::Json(json::<TopicRecord>)),
            (
                &self.subscriptions,
                "subscriptions",
                Shape::Json(json::<SubscriptionRecord>),
            ),
            (&self.rules, "rules", Shape::Json(json::<RuleRecord>)),
            (&self.rule_fires, "rule_fires", Shape::Counter),
            (
                &self.accounts,
                "accounts",
                Shape::Json(json::<AccountRecord>),
            ),
            (&self.users, "users", Shape::Json(json::<UserRecord>)),
            (
                &self.access_keys,
                "access_keys",
                Shape::Json(json::<AccessKeyRecord>),
            ),
            (
                &self.function_urls,
                "function_urls",
                Shape::Json(json::<crate::FunctionUrlRecord>),
            ),
            (
                &self.url_ids,
                "url_ids",
                Shape::Json(json::<crate::UrlTarget>),
            ),
            (
                &self.routes,
                "routes",
                Shape::Json(json::<crate::RouteRecord>),
            ),
            (
                &self.data_keys,
                "data_keys",
                Shape::Json(json::<crate::DataKeyRecord>),
            ),
            (
                &self.secrets,
                "secrets",
                Shape::Json(json::<crate::SecretRecord>),
            ),
            (
                &self.secret_versions,
                "secret_versions",
                Shape::Json(json::<crate::SecretVersionRecord>),
            ),
            (
                &self.parameters,
                "parameters",
                Shape::Json(json::<crate::ParameterRecord>),
            ),
        ]
    }

    /// Sets aside every record of the swept trees that does not decode
    /// and counts the queue's invocations as it reads it (run by
    /// [`Store::open`]); returns how many were set aside.
    pub(crate) fn sweep(&self) -> Result<usize> {
        let mut moved = 0;
        for (tree, name, shape) in self.swept() {
            let mut bad = Vec::new();
            let mut good = 0;
            for entry in tree.iter() {
                let (key, value) = entry?;
                match shape.check(&value) {
                    Ok(invocations) => good += invocations,
                    Err(error) => bad.push((key, value, error)),
                }
            }
            for (key, value, error) in bad {
                self.quarantine(tree, name, &key, &value, &error)?;
                moved += 1;
            }
            if matches!(shape, Shape::Queue) {
                self.queued.store(good, Ordering::Relaxed);
            }
        }
        Ok(moved)
    }

    /// Moves `key` of `tree` (named `tree_name`) to the quarantine, with
    /// why it could not be read, and logs it.
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
        tracing::warn!(
            tree = tree_name,
            key = %String::from_utf8_lossy(key),
            error = %record.error,
            "a record that does not decode was set aside (funnel admin quarantine list)"
        );
        self.quarantine
            .insert(quarantine_key(tree_name, key), encode(&record))?;
        tree.remove(key)?;
        // A queue entry that does not decode counts as one invocation
        // (the sweep counts only good ones and sets the count after).
        if tree_name == "queue" {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        self.quarantined_total.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Every record set aside, oldest tree first.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        self.quarantine
            .iter()
            .values()
            .map(|value| decode("quarantine", &value?))
            .collect()
    }

    /// Deletes a record set aside (its tree, and its key in hex); returns
    /// whether there was one.
    pub fn drop_quarantined(&self, tree: &str, key_hex: &str) -> Result<bool> {
        let Ok(key) = hex::decode(key_hex) else {
            return Ok(false);
        };
        Ok(self
            .quarantine
            .remove(quarantine_key(tree, &key))?
            .is_some())
    }

    /// Writes `value` under `key` of the tree named `tree` as it is,
    /// decoded or not: for tests that corrupt a data dir on purpose.
    #[doc(hidden)]
    pub fn insert_raw(&self, tree: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.db.open_tree(tree)?.insert(key, value)?;
        Ok(())
    }

    /// The names of the trees the open sweep checks.
    pub fn swept_trees(&self) -> Vec<&'static str> {
        self.swept().into_iter().map(|(_, name, _)| name).collect()
    }

    /// Records set aside since this handle was opened (the open sweep's
    /// included): `funnel_records_quarantined_total`.
    pub fn quarantined_total(&self) -> u64 {
        self.quarantined_total.load(Ordering::Relaxed)
    }
}

fn quarantine_key(tree: &str, key: &[u8]) -> Vec<u8> {
    let mut quarantine_key = tree.as_bytes().to_vec();
    quarantine_key.push(0);
    quarantine_key.extend_from_slice(key);
    quarantine_key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_record_in_any_tree_is_set_aside_at_open_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let store = Store::open(&db).unwrap();
        let names = store.swept_trees();
        for name in &names {
            store
                .insert_raw(name, b"bad", b"\xff not a record")
                .unwrap();
        }
        store.set_reserved_concurrency("kept", Some(3)).unwrap();
        store.flush().unwrap();
        drop(store);

        let store = Store::open(&db).unwrap();
        let set_aside = store.quarantined().unwrap();
        let mut trees: Vec<&str> = set_aside.iter().map(|q| q.tree.as_str()).collect();
        trees.sort();
        let mut expected = names.clone();
        expected.sort();
        assert_eq!(trees, expected);
        assert_eq!(store.quarantined_total(), names.len() as u64);
        assert!(set_aside.iter().all(|q| q.key == hex::encode(b"bad")));
        assert_eq!(
            store.reserved_concurrency().unwrap(),
            [("kept".to_string(), 3)]
        );
        assert_eq!(store.queue_depth(), 0);

        // Dropping one removes it for good; an unknown key is no error.
        assert!(
            store
                .drop_quarantined("functions", &hex::encode(b"bad"))
                .unwrap()
        );
        assert!(
            !store
                .drop_quarantined("functions", &hex::encode(b"bad"))
                .unwrap()
        );
        assert!(!store.drop_quarantined("functions", "zz").unwrap());
        assert_eq!(store.quarantined().unwrap().len(), names.len() - 1);
        drop(store);
        // Nothing is set aside twice.
        let store = Store::open(&db).unwrap();
        assert_eq!(store.quarantined_total(), 0);
    }

    #[test]
    fn a_bad_log_record_is_set_aside_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let record = |line: &str| crate::LogRecord {
            stream: "s".into(),
            timestamp: 1,
            ingestion_time: 1,
            lines: vec![line.into()],
        };
        store.append_log_records("g", &[record("one")]).unwrap();
        let mut key = b"g\0".to_vec();
        key.extend_from_slice(&2i64.to_be_bytes());
        key.extend_from_slice(&0u64.to_be_bytes());
        store.insert_raw("logs", &key, b"{").unwrap();
        store.append_log_records("g", &[record("two")]).unwrap();
        let scan = crate::LogScan {
            start_ms: 0,
            end_ms: i64::MAX,
            after: None,
            from_head: true,
            limit: 10,
            keep: &|_| true,
        };
        let (events, _) = store.scan_log_events("g", &scan).unwrap();
        let lines: Vec<&str> = events.iter().map(|e| e.event.message.as_str()).collect();
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(store.quarantined().unwrap()[0].tree, "logs");
    }
}
