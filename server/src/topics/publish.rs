//! Publish and PublishBatch: validate as SNS does, match each subscription's
//! filter policy, and queue one invocation per match — every invocation of
//! a request in one atomic, durable write, acknowledged after it.

use std::collections::{BTreeMap, BTreeSet};

use super::event::{self, MessageAttribute};
use super::{SNS_PRINCIPAL, Topics, filter, parsed_filter};
use crate::error::{Error, Result};
use crate::policy::Caller;
use crate::store::{QueuedEvent, SubscriptionRecord, TopicRecord};

/// SNS's most entries in one PublishBatch.
pub const MAX_BATCH: usize = 10;
/// SNS's limit on a whole PublishBatch request.
pub const MAX_BATCH_BYTES: usize = 262_144;

/// What Publish answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub message_id: String,
    /// Subscriptions that will be invoked.
    pub deliveries: usize,
}

/// One PublishBatch entry.
#[derive(Debug, Clone, Default)]
pub struct BatchEntry {
    pub id: String,
    pub message: String,
    pub subject: Option<String>,
    pub attributes: BTreeMap<String, MessageAttribute>,
}

/// An entry that was not published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

/// A topic's subscriptions with their parsed filter policies.
pub(super) type Subscribers = Vec<(SubscriptionRecord, Option<filter::FilterPolicy>)>;

impl Topics {
    pub async fn publish(
        &self,
        topic_arn: &str,
        message: &str,
        subject: Option<&str>,
        attributes: &BTreeMap<String, MessageAttribute>,
    ) -> Result<Published> {
        let (message_id, events) = self.prepare(topic_arn, message, subject, attributes)?;
        let deliveries = events.len();
        let request_ids: Vec<String> = events.iter().map(|e| e.request_id.clone()).collect();
        self.router.accept_all(events).await?;
        for request_id in request_ids {
            tracing::debug!(%message_id, %request_id, "topic message queued");
        }
        Ok(Published {
            message_id,
            deliveries,
        })
    }

    /// Validates a message and builds its fan-out without queueing it:
    /// the MessageId and the invocations to queue (a destination queues
    /// them together with removing the event it reports on).
    pub fn prepare(
        &self,
        topic_arn: &str,
        message: &str,
        subject: Option<&str>,
        attributes: &BTreeMap<String, MessageAttribute>,
    ) -> Result<(String, Vec<QueuedEvent>)> {
        let topic = self.topic(topic_arn)?;
        event::validate_publish(message, subject, attributes).map_err(Error::InvalidParameter)?;
        let subscribers = self.subscribers(&topic)?;
        let message_id = uuid::Uuid::new_v4().to_string();
        let events = self.fan_out(
            &topic,
            &subscribers,
            &message_id,
            message,
            subject,
            attributes,
        )?;
        Ok((message_id, events))
    }

    /// Publishes each valid entry; returns `(Id, MessageId)` of those and
    /// the failures (an invalid entry does not stop the others).
    pub async fn publish_batch(
        &self,
        topic_arn: &str,
        entries: Vec<BatchEntry>,
    ) -> Result<(Vec<(String, String)>, Vec<BatchFailure>)> {
        let topic = self.topic(topic_arn)?;
        check_batch(&entries)?;
        let subscribers = self.subscribers(&topic)?;
        let (mut done, mut failed, mut events) = (Vec::new(), Vec::new(), Vec::new());
        for entry in entries {
            let subject = entry.subject.as_deref();
            if let Err(why) = event::validate_publish(&entry.message, subject, &entry.attributes) {
                failed.push(BatchFailure {
                    id: entry.id,
                    code: "InvalidParameter".into(),
                    message: why,
                    sender_fault: true,
                });
                continue;
            }
            let message_id = uuid::Uuid::new_v4().to_string();
            events.extend(self.fan_out(
                &topic,
                &subscribers,
                &message_id,
                &entry.message,
                subject,
                &entry.attributes,
            )?);
            done.push((entry.id, message_id));
        }
        self.router.accept_all(events).await?;
        Ok((done, failed))
    }

    /// The topic's subscriptions with parsed filter policies, from the
    /// cache (every subscription change clears it).
    fn subscribers(&self, topic: &TopicRecord) -> Result<std::sync::Arc<Subscribers>> {
        let generation = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(found) = cache.topics.get(&topic.name) {
                return Ok(found.clone());
            }
            cache.generation
        };
        let subscribers: Subscribers = self
            .store
            .subscriptions(&topic.name)?
            .into_iter()
            .map(|s| {
                let policy = parsed_filter(&s)?;
                Ok((s, policy))
            })
            .collect::<Result<_>>()?;
        let subscribers = std::sync::Arc::new(subscribers);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.generation == generation {
            cache.topics.insert(topic.name.clone(), subscribers.clone());
        }
        Ok(subscribers)
    }

    /// One queued invocation per subscription that wants the message and
    /// may receive it.
    fn fan_out(
        &self,
        topic: &TopicRecord,
        subscribers: &Subscribers,
        message_id: &str,
        message: &str,
        subject: Option<&str>,
        attributes: &BTreeMap<String, MessageAttribute>,
    ) -> Result<Vec<QueuedEvent>> {
        let topic_arn = self.topic_arn(&topic.name);
        let caller = Caller {
            service: SNS_PRINCIPAL,
            source_arn: &topic_arn,
            source_account: &self.naming.account_id,
        };
        let for_filter: BTreeMap<String, filter::Attribute> = attributes
            .iter()
            .map(|(name, a)| {
                let value = match (&a.string_value, &a.binary_value) {
                    (Some(text), _) => text.clone(),
                    (None, Some(bytes)) => {
                        use base64::Engine as _;
                        base64::engine::general_purpose::STANDARD.encode(bytes)
                    }
                    (None, None) => String::new(),
                };
                (
                    name.clone(),
                    filter::Attribute {
                        data_type: a.data_type.clone(),
                        value,
                    },
                )
            })
            .collect();
        let timestamp_ms = self.clock.wall_ms();
        let mut events = Vec::new();
        for (subscription, policy) in subscribers {
            if policy
                .as_ref()
                .is_some_and(|p| !p.matches(&for_filter, message))
            {
                continue;
            }
            let subscription_arn = self.subscription_arn(subscription);
            let unsubscribe_url = format!(
                "https://sns.{}.funnel.invalid/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
                self.naming.region
            );
            let signing_cert_url = format!(
                "https://sns.{}.funnel.invalid/SimpleNotificationService-funnel.pem",
                self.naming.region
            );
            let payload = event::lambda_event(&event::Notification {
                subscription_arn: &subscription_arn,
                message_id,
                topic_arn: &topic_arn,
                subject,
                message,
                timestamp_ms,
                attributes,
                unsubscribe_url: &unsubscribe_url,
                signing_cert_url: &signing_cert_url,
            });
            if let Ok(event) =
                self.router
                    .route(caller, &subscription.endpoint, payload.to_string())?
            {
                events.push(event);
            }
        }
        Ok(events)
    }
}

fn check_batch(entries: &[BatchEntry]) -> Result<()> {
    if entries.is_empty() {
        return Err(Error::BatchRequest(
            "EmptyBatchRequestException",
            "The batch request doesn't contain any entries.".into(),
        ));
    }
    if entries.len() > MAX_BATCH {
        return Err(Error::BatchRequest(
            "TooManyEntriesInBatchRequestException",
            format!("The batch request contains more entries than permissible ({MAX_BATCH})."),
        ));
    }
    let mut ids = BTreeSet::new();
    for entry in entries {
        let valid = !entry.id.is_empty()
            && entry.id.len() <= 80
            && entry
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(Error::BatchRequest(
                "InvalidBatchEntryIdException",
                format!(
                    "The Id of a batch entry in a batch request doesn't abide by the specification: {:?}",
                    entry.id
                ),
            ));
        }
        if !ids.insert(entry.id.as_str()) {
            return Err(Error::BatchRequest(
                "BatchEntryIdsNotDistinctException",
                format!(
                    "Two or more batch entries in the request have the same Id: {}",
                    entry.id
                ),
            ));
        }
    }
    let size: usize = entries
        .iter()
        .map(|e| {
            e.message.len()
                + e.attributes
                    .iter()
                    .map(|(n, a)| {
                        n.len()
                            + a.data_type.len()
                            + a.string_value.as_ref().map_or(0, String::len)
                            + a.binary_value.as_ref().map_or(0, Vec::len)
                    })
                    .sum::<usize>()
        })
        .sum();
    if size > MAX_BATCH_BYTES {
        return Err(Error::BatchRequest(
            "BatchRequestTooLongException",
            format!(
                "The length of all the messages put together is more than the limit ({MAX_BATCH_BYTES} bytes)."
            ),
        ));
    }
    Ok(())
}
