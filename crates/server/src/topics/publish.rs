//! Publish and PublishBatch: validate as SNS does, match each subscription's
//! filter policy, and queue one invocation per match — every invocation of
//! a request in one atomic, durable write, acknowledged after it.
//!
//! A message is stored once for all its subscriptions (a queue group: the
//! message and, per matching subscription, a request id and the function);
//! each delivery builds its SNS event from it ([`render`]). Writing one
//! entry per publish instead of one per subscription is what lets a
//! publish to ten subscribers cost about as much as a publish to one.

use std::collections::{BTreeMap, BTreeSet};

use super::event::{self, MessageAttribute};
use super::{SNS_PRINCIPAL, Topics, filter, parsed_filter};
use crate::error::{Error, Result};
use crate::policies::Caller;
use funnel_store::{QueuedGroup, SubscriptionRecord, TopicRecord};

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
        self.publish_in_chain(topic_arn, message, subject, attributes, 0)
            .await
    }

    /// Publish, by an invocation that had `chain_depth` invocations before
    /// it in its chain of triggers (its subscribers' are one more).
    pub async fn publish_in_chain(
        &self,
        topic_arn: &str,
        message: &str,
        subject: Option<&str>,
        attributes: &BTreeMap<String, MessageAttribute>,
        chain_depth: u32,
    ) -> Result<Published> {
        let (message_id, mut group) = self.prepare(topic_arn, message, subject, attributes)?;
        group.chain_depth = chain_depth;
        let deliveries = group.targets.len();
        let request_ids: Vec<String> = group.targets.iter().map(|t| t.request_id.clone()).collect();
        // The message carries the publisher's trace (`AWSTraceHeader`).
        let tracer = self.router.tracer().clone();
        let parent = crate::traces::current();
        let mut span = tracer.span(parent.as_ref(), "sns publish", "");
        if let Some(span) = &mut span {
            if let Some(account) = crate::tenancy::arn_account(topic_arn) {
                span.set_account(account);
            }
            span.attr("topic", topic_arn);
            span.attr("message_id", &message_id);
            span.attr("deliveries", deliveries);
        }
        group.trace = span
            .as_ref()
            .map(|s| s.context())
            .or(parent)
            .map(|c| c.xray());
        let accepted = self.router.accept_groups(vec![group]).await;
        if let Some(mut span) = span {
            if let Err(err) = &accepted {
                span.fail(err.aws_name());
            }
            tracer.end(span);
        }
        accepted?;
        for request_id in request_ids {
            tracing::debug!(%message_id, %request_id, "topic message queued");
        }
        Ok(Published {
            message_id,
            deliveries,
        })
    }

    /// Validates a message and builds its fan-out without queueing it:
    /// the MessageId and the group to queue (with no targets when no
    /// subscription wants it; a destination queues it together with
    /// removing the event it reports on).
    pub fn prepare(
        &self,
        topic_arn: &str,
        message: &str,
        subject: Option<&str>,
        attributes: &BTreeMap<String, MessageAttribute>,
    ) -> Result<(String, QueuedGroup)> {
        let topic = self.topic(topic_arn)?;
        event::validate_publish(message, subject, attributes).map_err(Error::InvalidParameter)?;
        let subscribers = self.subscribers(&topic)?;
        let message_id = uuid::Uuid::new_v4().to_string();
        let group = self.fan_out(
            &topic,
            &subscribers,
            &message_id,
            message,
            subject,
            attributes,
        )?;
        Ok((message_id, group))
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
        let (mut done, mut failed, mut groups) = (Vec::new(), Vec::new(), Vec::new());
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
            groups.push(self.fan_out(
                &topic,
                &subscribers,
                &message_id,
                &entry.message,
                subject,
                &entry.attributes,
            )?);
            done.push((entry.id, message_id));
        }
        // One `sns publish` span for the batch; every message carries it.
        let tracer = self.router.tracer().clone();
        let parent = crate::traces::current();
        let mut span = tracer.span(parent.as_ref(), "sns publish", "");
        if let Some(span) = &mut span {
            if let Some(account) = crate::tenancy::arn_account(topic_arn) {
                span.set_account(account);
            }
            span.attr("topic", topic_arn);
            span.attr("messages", done.len());
        }
        let trace = span
            .as_ref()
            .map(|s| s.context())
            .or(parent)
            .map(|c| c.xray());
        if trace.is_some() {
            for group in &mut groups {
                group.trace.clone_from(&trace);
            }
        }
        let accepted = self.router.accept_groups(groups).await;
        if let Some(mut span) = span {
            if let Err(err) = &accepted {
                span.fail(err.aws_name());
            }
            tracer.end(span);
        }
        accepted?;
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

    /// The message as a group with one target per subscription that wants
    /// it and may receive it.
    fn fan_out(
        &self,
        topic: &TopicRecord,
        subscribers: &Subscribers,
        message_id: &str,
        message: &str,
        subject: Option<&str>,
        attributes: &BTreeMap<String, MessageAttribute>,
    ) -> Result<QueuedGroup> {
        let topic_arn = self.topic_arn(&topic.name);
        let caller = Caller {
            service: SNS_PRINCIPAL,
            source_arn: &topic_arn,
            source_account: self.naming.account_of(&topic.name),
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
        let stored = StoredMessage {
            message_id: message_id.to_string(),
            topic_arn: topic_arn.clone(),
            subject: subject.map(str::to_string),
            message: message.to_string(),
            timestamp_ms: self.clock.wall_ms(),
            attributes: attributes.clone(),
            region: self.naming.region.clone(),
        };
        let mut targets = Vec::new();
        for (subscription, policy) in subscribers {
            if policy
                .as_ref()
                .is_some_and(|p| !p.matches(&for_filter, message))
            {
                continue;
            }
            if let Ok(mut target) = self.router.target(caller, &subscription.endpoint)? {
                target.variant = subscription.id.clone();
                targets.push(target);
            }
        }
        Ok(QueuedGroup {
            // Plain structs of strings and numbers always serialize.
            shared: serde_json::to_string(&stored).unwrap_or_default(),
            received_ms: 0,
            targets,
            chain_depth: 0,
            trace: None,
        })
    }
}

/// A published message as its queue group keeps it, once for all its
/// subscriptions.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredMessage {
    message_id: String,
    topic_arn: String,
    subject: Option<String>,
    message: String,
    timestamp_ms: i64,
    attributes: BTreeMap<String, MessageAttribute>,
    region: String,
}

/// SNS's Lambda event for one subscription of a stored message (a queue
/// group's `shared` text and a target's subscription id).
pub fn render(shared: &str, subscription_id: &str) -> String {
    let stored: StoredMessage = match serde_json::from_str(shared) {
        Ok(stored) => stored,
        Err(err) => {
            // Only a damaged store gets here; the function sees what is left.
            tracing::error!(cause = %err, "a queued topic message does not parse");
            return shared.to_string();
        }
    };
    let subscription_arn = &format!("{}:{subscription_id}", stored.topic_arn);
    let unsubscribe_url = format!(
        "https://sns.{}.funnel.invalid/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
        stored.region
    );
    let signing_cert_url = format!(
        "https://sns.{}.funnel.invalid/SimpleNotificationService-funnel.pem",
        stored.region
    );
    event::lambda_event(&event::Notification {
        subscription_arn,
        message_id: &stored.message_id,
        topic_arn: &stored.topic_arn,
        subject: stored.subject.as_deref(),
        message: &stored.message,
        timestamp_ms: stored.timestamp_ms,
        attributes: &stored.attributes,
        unsubscribe_url: &unsubscribe_url,
        signing_cert_url: &signing_cert_url,
    })
    .to_string()
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
