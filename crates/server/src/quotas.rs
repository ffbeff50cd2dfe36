//! Per-account caps on how many resources an account keeps (`quotas.*`):
//! the AWS quota where AWS has one, funnel's own where it bounds only code
//! storage. Checked by the API before a create; a create past the cap gets
//! the service's own error name.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::iam::Caller;
use funnel_store::Store;

/// How many of each an account may keep.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotasConfig {
    pub functions: usize,
    pub layer_versions: usize,
    /// SNS's topics per account.
    pub topics: usize,
    pub subscriptions: usize,
    /// EventBridge's rules per event bus.
    pub rules: usize,
    /// S3's buckets per account.
    pub buckets: usize,
}

impl Default for QuotasConfig {
    fn default() -> Self {
        QuotasConfig {
            functions: 10_000,
            layer_versions: 10_000,
            topics: 100_000,
            subscriptions: 100_000,
            rules: 300,
            buckets: 10_000,
        }
    }
}

/// The caps and what to count them in. Cheap to clone.
#[derive(Clone)]
pub struct Quotas {
    config: QuotasConfig,
    store: Store,
}

impl Quotas {
    pub fn new(config: QuotasConfig, store: Store) -> Quotas {
        Quotas { config, store }
    }

    /// Refuses a new function past `quotas.functions`.
    pub fn function(&self, caller: &Caller) -> Result<()> {
        let held = self
            .store
            .all_functions()?
            .iter()
            .filter(|f| caller.owns(&f.name))
            .count();
        self.check(
            caller,
            held,
            self.config.functions,
            "functions",
            "CodeStorageExceededException",
        )
    }

    /// Refuses a new layer version past `quotas.layer_versions`.
    pub fn layer_version(&self, caller: &Caller) -> Result<()> {
        let held = self
            .store
            .all_layer_versions()?
            .iter()
            .filter(|v| caller.owns(&v.name))
            .count();
        let cap = self.config.layer_versions;
        self.check(
            caller,
            held,
            cap,
            "layer_versions",
            "CodeStorageExceededException",
        )
    }

    /// Refuses a new topic past `quotas.topics`.
    pub fn topic(&self, caller: &Caller) -> Result<()> {
        let held = self.owned_topics(caller)?.len();
        self.check(
            caller,
            held,
            self.config.topics,
            "topics",
            "TopicLimitExceededException",
        )
    }

    /// Refuses a new subscription past `quotas.subscriptions`.
    pub fn subscription(&self, caller: &Caller) -> Result<()> {
        let mut held = 0;
        for topic in self.owned_topics(caller)? {
            held += self.store.subscriptions(&topic)?.len();
        }
        let cap = self.config.subscriptions;
        self.check(
            caller,
            held,
            cap,
            "subscriptions",
            "SubscriptionLimitExceededException",
        )
    }

    /// Refuses a new rule past `quotas.rules`.
    pub fn rule(&self, caller: &Caller) -> Result<()> {
        let held = self
            .store
            .all_rules()?
            .iter()
            .filter(|r| caller.owns(&r.name))
            .count();
        self.check(
            caller,
            held,
            self.config.rules,
            "rules",
            "LimitExceededException",
        )
    }

    /// Refuses a new bucket past `quotas.buckets`.
    pub fn bucket(&self, caller: &Caller) -> Result<()> {
        let held = self
            .store
            .buckets()?
            .iter()
            .filter(|b| caller.owns(&b.name))
            .count();
        self.check(
            caller,
            held,
            self.config.buckets,
            "buckets",
            "TooManyBuckets",
        )
    }

    fn owned_topics(&self, caller: &Caller) -> Result<Vec<String>> {
        Ok(self
            .store
            .topics("", usize::MAX)?
            .into_iter()
            .map(|t| t.name)
            .filter(|name| caller.owns(name))
            .collect())
    }

    fn check(
        &self,
        caller: &Caller,
        held: usize,
        cap: usize,
        what: &str,
        error: &'static str,
    ) -> Result<()> {
        if held < cap {
            return Ok(());
        }
        Err(Error::QuotaExceeded(
            error,
            format!(
                "account {} has {held} {what}, its quota (quotas.{what} = {cap})",
                caller.principal.account_id
            ),
        ))
    }
}
