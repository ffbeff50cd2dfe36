//! Topics: SNS-style publish/subscribe. A publish is validated as SNS does,
//! matched against every subscription's filter policy ([`filter`]), and
//! each match becomes one async invocation carrying SNS's Lambda event
//! ([`event`]) — all of one publish queued in one atomic, durable write
//! before the publish is acknowledged. Delivery then has the async path's
//! retries, maximum age and destinations. A subscription whose function's
//! resource policy does not let `sns.amazonaws.com` invoke it for the
//! topic gets nothing; the refusal is logged and counted.

pub mod event;
pub mod filter;
mod guest;
mod publish;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::function::Naming;
use crate::router::Router;
use funnel_runtime::Clock;
use funnel_store::{Store, SubscriptionRecord, TopicRecord};

pub use publish::{BatchEntry, render};

/// The service principal topic deliveries come from.
pub const SNS_PRINCIPAL: &str = "sns.amazonaws.com";

/// Attributes a topic may be created or updated with.
const TOPIC_ATTRIBUTES: &[&str] = &[
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "SignatureVersion",
    "TracingConfig",
];

/// ListTopics and ListSubscriptionsByTopic pages.
const PAGE: usize = 100;

/// Cheap to clone.
#[derive(Clone)]
pub struct Topics {
    store: Store,
    router: Router,
    pub(crate) naming: Naming,
    clock: Clock,
    cache: std::sync::Arc<std::sync::Mutex<SubscriberCache>>,
}

/// Each topic's subscribers with parsed filter policies, as publishes need
/// them; cleared by every change to a topic or subscription.
#[derive(Default)]
struct SubscriberCache {
    topics: std::collections::HashMap<String, std::sync::Arc<publish::Subscribers>>,
    /// Bumped by every clear: a read that started before one is not kept.
    generation: u64,
}

impl Topics {
    pub fn new(store: Store, router: Router, naming: Naming, clock: Clock) -> Topics {
        Topics {
            store,
            router,
            naming,
            clock,
            cache: Default::default(),
        }
    }

    /// Forgets the cached subscribers (a topic or subscription changed).
    fn changed(&self) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.topics.clear();
        cache.generation += 1;
    }

    /// The tracer (a publish's span).
    pub fn tracer(&self) -> &crate::traces::Tracer {
        self.router.tracer()
    }

    pub fn topic_arn(&self, name: &str) -> String {
        self.naming.topic_arn(name)
    }

    /// The topic named by an ARN (or, as the CLI allows, a bare name).
    pub fn topic(&self, arn_or_name: &str) -> Result<TopicRecord> {
        let name = self
            .naming
            .topic_name(arn_or_name)
            .map_err(Error::InvalidParameter)?;
        self.store
            .get_topic(&name)?
            .ok_or_else(|| Error::NotFound("Topic does not exist".into()))
    }

    /// Creates the topic `name` (a key); an existing one with the same
    /// attributes is returned as it is, as SNS does.
    pub async fn create_topic(
        &self,
        name: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<String> {
        if !crate::function::valid_topic_name(crate::tenancy::name(name)) {
            return Err(Error::InvalidParameter(
                crate::function::INVALID_TOPIC_NAME.into(),
            ));
        }
        if name.ends_with(".fifo") || attributes.get("FifoTopic").is_some_and(|v| v == "true") {
            return Err(Error::InvalidParameter(
                "Invalid parameter: FifoTopic: funnel has standard topics only".into(),
            ));
        }
        check_topic_attributes(attributes.keys().map(String::as_str))?;
        let record = TopicRecord {
            name: name.to_string(),
            attributes,
        };
        let stored = self.store.create_topic(&record)?;
        if stored.attributes != record.attributes && !record.attributes.is_empty() {
            return Err(Error::InvalidParameter(
                "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
                    .into(),
            ));
        }
        self.changed();
        self.store.flush_async().await?;
        Ok(self.topic_arn(name))
    }

    pub async fn delete_topic(&self, topic_arn: &str) -> Result<()> {
        // Deleting a missing topic succeeds, as in SNS.
        let Ok(topic) = self.topic(topic_arn) else {
            return Ok(());
        };
        self.store.delete_topic(&topic.name)?;
        self.changed();
        self.store.flush_async().await?;
        Ok(())
    }

    /// A page of topic ARNs and the token of the next one.
    /// A page of the topics `owns` (keys of one account): their ARNs and
    /// the next token (a key of the same account).
    pub fn list_topics(
        &self,
        next_token: &str,
        owns: impl Fn(&str) -> bool,
    ) -> Result<(Vec<String>, String)> {
        const BATCH: usize = 256;
        let mut page = Vec::new();
        let mut after = next_token.to_string();
        loop {
            let batch = self.store.topics(&after, BATCH)?;
            let done = batch.len() < BATCH;
            after = batch.last().map(|t| t.name.clone()).unwrap_or_default();
            page.extend(batch.into_iter().filter(|t| owns(&t.name)));
            if done || page.len() > PAGE {
                break;
            }
        }
        let more = page.len() > PAGE;
        let names: Vec<String> = page.into_iter().take(PAGE).map(|t| t.name).collect();
        let next = if more {
            names.last().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        Ok((names.iter().map(|n| self.topic_arn(n)).collect(), next))
    }

    pub fn get_topic_attributes(&self, topic_arn: &str) -> Result<BTreeMap<String, String>> {
        let topic = self.topic(topic_arn)?;
        let subscriptions = self.store.subscriptions(&topic.name)?.len();
        let mut attributes = topic.attributes.clone();
        attributes.insert("TopicArn".into(), self.topic_arn(&topic.name));
        attributes.insert(
            "Owner".into(),
            self.naming.account_of(&topic.name).to_string(),
        );
        attributes
            .entry("DisplayName".into())
            .or_insert_with(String::new);
        attributes.insert("SubscriptionsConfirmed".into(), subscriptions.to_string());
        attributes.insert("SubscriptionsPending".into(), "0".into());
        attributes.insert("SubscriptionsDeleted".into(), "0".into());
        Ok(attributes)
    }

    pub async fn set_topic_attributes(
        &self,
        topic_arn: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        let mut topic = self.topic(topic_arn)?;
        check_topic_attributes([name].into_iter())?;
        topic.attributes.insert(name.to_string(), value.to_string());
        self.store.put_topic(&topic)?;
        self.changed();
        self.store.flush_async().await?;
        Ok(())
    }

    /// Subscribes a function; subscribing it again with the same attributes
    /// returns the same subscription, as SNS does.
    pub async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String> {
        let topic = self.topic(topic_arn)?;
        if protocol != "lambda" {
            return Err(Error::InvalidParameter(format!(
                "Invalid parameter: Protocol {protocol:?}: funnel delivers to functions (lambda)"
            )));
        }
        let function = self.router.registry().resolve(endpoint, "").map_err(|e| {
            Error::InvalidParameter(format!("Invalid parameter: Endpoint: {}", e.message()))
        })?;
        let endpoint = self
            .naming
            .function_arn(&function.name, function.qualifier.as_deref());
        let mut record = SubscriptionRecord {
            topic: topic.name.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            protocol: protocol.to_string(),
            endpoint,
            filter_policy: None,
            filter_policy_scope: "MessageAttributes".into(),
        };
        let reworded = |err: Error| match err {
            Error::InvalidParameter(m) => Error::InvalidParameter(filter::for_subscribe(&m)),
            other => other,
        };
        for (name, value) in attributes {
            apply_subscription_attribute(&mut record, name, value).map_err(reworded)?;
        }
        check_filter(&record).map_err(reworded)?;
        if let Some(existing) = self
            .store
            .subscriptions(&topic.name)?
            .into_iter()
            .find(|s| s.endpoint == record.endpoint && s.protocol == record.protocol)
        {
            let same = existing.filter_policy == record.filter_policy
                && existing.filter_policy_scope == record.filter_policy_scope;
            if !same && !attributes.is_empty() {
                return Err(Error::InvalidParameter(
                    "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
                        .into(),
                ));
            }
            return Ok(self.subscription_arn(&existing));
        }
        self.store.put_subscription(&record)?;
        self.changed();
        self.store.flush_async().await?;
        Ok(self.subscription_arn(&record))
    }

    pub fn subscription_arn(&self, record: &SubscriptionRecord) -> String {
        format!("{}:{}", self.topic_arn(&record.topic), record.id)
    }

    /// The subscription a subscription ARN names.
    fn subscription(&self, arn: &str) -> Result<SubscriptionRecord> {
        let (topic_arn, id) = arn.rsplit_once(':').ok_or_else(|| {
            Error::InvalidParameter(format!("Invalid parameter: SubscriptionArn {arn:?}"))
        })?;
        let topic = self.topic(topic_arn)?;
        self.store
            .get_subscription(&topic.name, id)?
            .ok_or_else(|| Error::NotFound("Subscription does not exist".into()))
    }

    pub async fn unsubscribe(&self, subscription_arn: &str) -> Result<()> {
        let subscription = self.subscription(subscription_arn)?;
        self.store
            .delete_subscription(&subscription.topic, &subscription.id)?;
        self.changed();
        self.store.flush_async().await?;
        Ok(())
    }

    /// A page of a topic's subscriptions (ids after `next_token`).
    pub fn list_subscriptions(
        &self,
        topic_arn: &str,
        next_token: &str,
    ) -> Result<(Vec<SubscriptionRecord>, String)> {
        let topic = self.topic(topic_arn)?;
        let all: Vec<_> = self
            .store
            .subscriptions(&topic.name)?
            .into_iter()
            .filter(|s| next_token.is_empty() || s.id.as_str() > next_token)
            .collect();
        let more = all.len() > PAGE;
        let page: Vec<_> = all.into_iter().take(PAGE).collect();
        let next = if more {
            page.last().map(|s| s.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok((page, next))
    }

    pub fn get_subscription_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let s = self.subscription(arn)?;
        let mut attributes = BTreeMap::from([
            ("SubscriptionArn".to_string(), self.subscription_arn(&s)),
            ("TopicArn".into(), self.topic_arn(&s.topic)),
            ("Protocol".into(), s.protocol.clone()),
            ("Endpoint".into(), s.endpoint.clone()),
            ("Owner".into(), self.naming.account_of(&s.topic).to_string()),
            ("PendingConfirmation".into(), "false".into()),
            ("ConfirmationWasAuthenticated".into(), "true".into()),
            // SNS lists it for every protocol; a Lambda subscriber always
            // gets the JSON envelope.
            ("RawMessageDelivery".into(), "false".into()),
            ("FilterPolicyScope".into(), s.filter_policy_scope.clone()),
        ]);
        if let Some(policy) = &s.filter_policy {
            attributes.insert("FilterPolicy".into(), policy.clone());
        }
        Ok(attributes)
    }

    pub async fn set_subscription_attributes(
        &self,
        arn: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        let mut s = self.subscription(arn)?;
        apply_subscription_attribute(&mut s, name, value)?;
        check_filter(&s)?;
        self.store.put_subscription(&s)?;
        self.changed();
        self.store.flush_async().await?;
        Ok(())
    }
}

fn check_topic_attributes<'a>(mut names: impl Iterator<Item = &'a str>) -> Result<()> {
    match names.find(|n| !TOPIC_ATTRIBUTES.contains(n)) {
        Some(name) => Err(Error::InvalidParameter(format!(
            "Invalid parameter: AttributeName {name:?} (one of {})",
            TOPIC_ATTRIBUTES.join(", ")
        ))),
        None => Ok(()),
    }
}

fn apply_subscription_attribute(s: &mut SubscriptionRecord, name: &str, value: &str) -> Result<()> {
    match name {
        "FilterPolicy" => s.filter_policy = (!value.is_empty()).then(|| value.to_string()),
        "FilterPolicyScope" => {
            if value != "MessageAttributes" && value != "MessageBody" {
                return Err(Error::InvalidParameter(format!(
                    "Invalid parameter: FilterPolicyScope: Invalid value [{value}]. Please use either \
                     MessageBody or MessageAttributes"
                )));
            }
            s.filter_policy_scope = value.to_string();
        }
        other => {
            return Err(Error::InvalidParameter(format!(
                "Invalid parameter: AttributeName {other:?}: a lambda subscription takes FilterPolicy \
                 and FilterPolicyScope"
            )));
        }
    }
    Ok(())
}

fn scope(s: &SubscriptionRecord) -> filter::Scope {
    if s.filter_policy_scope == "MessageBody" {
        filter::Scope::MessageBody
    } else {
        filter::Scope::MessageAttributes
    }
}

/// The subscription's filter policy, parsed (`None` when it has none).
fn parsed_filter(s: &SubscriptionRecord) -> Result<Option<filter::FilterPolicy>> {
    s.filter_policy
        .as_deref()
        .map(|json| filter::FilterPolicy::parse(json, scope(s)).map_err(Error::InvalidParameter))
        .transpose()
}

fn check_filter(s: &SubscriptionRecord) -> Result<()> {
    parsed_filter(s).map(|_| ())
}
