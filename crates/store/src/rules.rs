//! Schedule rules (EventBridge-style) with their targets, and the time each
//! last fired.

use serde::{Deserialize, Serialize};

use super::{Result, Store, decode, encode};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRecord {
    pub name: String,
    /// `rate(...)` or `cron(...)`, as given.
    pub schedule_expression: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    #[serde(default)]
    pub description: String,
    /// A rate counts its periods from here (wall ms): when the rule was
    /// created or its expression last changed.
    pub anchor_ms: i64,
    /// Fires only after this (wall ms): when the rule was last enabled.
    /// Times while it was disabled are never fired.
    pub enabled_ms: i64,
    /// At start, fire up to this many of the times missed while the
    /// server was down (0: none, as EventBridge).
    #[serde(default)]
    pub catch_up: u32,
    #[serde(default)]
    pub targets: Vec<RuleTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTarget {
    pub id: String,
    /// A function ARN (a qualifier allowed).
    pub arn: String,
    /// Constant JSON sent instead of the Scheduled Event.
    #[serde(default)]
    pub input: Option<String>,
}

impl Store {
    pub fn get_rule(&self, name: &str) -> Result<Option<RuleRecord>> {
        self.rules.get(name)?.map(|v| decode(name, &v)).transpose()
    }

    pub fn put_rule(&self, record: &RuleRecord) -> Result<()> {
        self.rules.insert(record.name.as_bytes(), encode(record))?;
        Ok(())
    }

    /// Removes a rule and its fire record.
    pub fn delete_rule(&self, name: &str) -> Result<bool> {
        self.rule_fires.remove(name)?;
        Ok(self.rules.remove(name)?.is_some())
    }

    /// Rules whose names start with `prefix` and sort after `after`, at
    /// most `limit`, in name order.
    pub fn rules_with_prefix(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<RuleRecord>> {
        self.rules
            .scan_prefix(prefix)
            .filter(|entry| {
                entry
                    .as_ref()
                    .map_or(true, |(key, _)| key.as_ref() > after.as_bytes())
            })
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                decode(&String::from_utf8_lossy(&key), &value)
            })
            .collect()
    }

    /// Every rule, in name order.
    pub fn all_rules(&self) -> Result<Vec<RuleRecord>> {
        self.rules
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                decode(&String::from_utf8_lossy(&key), &value)
            })
            .collect()
    }

    /// The scheduled time (wall ms) `name` last fired for.
    pub fn last_fire(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.rule_fires.get(name)?.and_then(|v| {
            let bytes: [u8; 8] = v.as_ref().try_into().ok()?;
            Some(i64::from_be_bytes(bytes))
        }))
    }

    /// Records that `name` fired for `scheduled_ms` (not flushed: the
    /// fire's queued events are written after it and flushed with it, so
    /// no recovered state has the events without the mark).
    pub fn set_last_fire(&self, name: &str, scheduled_ms: i64) -> Result<()> {
        self.rule_fires
            .insert(name, scheduled_ms.to_be_bytes().as_slice())?;
        Ok(())
    }
}
