//! Topics and their subscriptions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, decode, encode};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub name: String,
    /// Settable attributes (`DisplayName`, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub topic: String,
    /// The last part of the subscription ARN.
    pub id: String,
    /// `lambda`.
    pub protocol: String,
    /// A function ARN.
    pub endpoint: String,
    /// The policy's JSON text, if any.
    #[serde(default)]
    pub filter_policy: Option<String>,
    /// `MessageAttributes` (the default) or `MessageBody`.
    #[serde(default = "default_scope")]
    pub filter_policy_scope: String,
}

fn default_scope() -> String {
    "MessageAttributes".into()
}

fn sub_key(topic: &str, id: &str) -> Vec<u8> {
    let mut key = topic.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

impl Store {
    /// Creates a topic unless it exists; returns the stored one either way.
    pub fn create_topic(&self, record: &TopicRecord) -> Result<TopicRecord> {
        match self.topics.compare_and_swap(
            record.name.as_bytes(),
            None as Option<&[u8]>,
            Some(encode(record)),
        )? {
            Ok(()) => Ok(record.clone()),
            Err(existing) => decode(
                &record.name,
                &existing
                    .current
                    .ok_or_else(|| StoreError::NotFound(record.name.clone()))?,
            ),
        }
    }

    pub fn get_topic(&self, name: &str) -> Result<Option<TopicRecord>> {
        self.topics.get(name)?.map(|v| decode(name, &v)).transpose()
    }

    pub fn put_topic(&self, record: &TopicRecord) -> Result<()> {
        self.topics.insert(record.name.as_bytes(), encode(record))?;
        Ok(())
    }

    /// Topics whose names sort after `after`, at most `limit`.
    pub fn topics(&self, after: &str, limit: usize) -> Result<Vec<TopicRecord>> {
        super::page(&self.topics, (!after.is_empty()).then_some(after), limit)
    }

    /// Removes a topic and its subscriptions.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        for key in self.subscriptions.scan_prefix(sub_key(name, "")).keys() {
            self.subscriptions.remove(key?)?;
        }
        self.topics.remove(name)?;
        Ok(())
    }

    pub fn put_subscription(&self, record: &SubscriptionRecord) -> Result<()> {
        self.subscriptions
            .insert(sub_key(&record.topic, &record.id), encode(record))?;
        Ok(())
    }

    pub fn get_subscription(&self, topic: &str, id: &str) -> Result<Option<SubscriptionRecord>> {
        self.subscriptions
            .get(sub_key(topic, id))?
            .map(|v| decode(id, &v))
            .transpose()
    }

    pub fn delete_subscription(&self, topic: &str, id: &str) -> Result<bool> {
        Ok(self.subscriptions.remove(sub_key(topic, id))?.is_some())
    }

    /// A topic's subscriptions, in id order.
    pub fn subscriptions(&self, topic: &str) -> Result<Vec<SubscriptionRecord>> {
        self.subscriptions
            .scan_prefix(sub_key(topic, ""))
            .values()
            .map(|v| decode(topic, &v?))
            .collect()
    }
}
