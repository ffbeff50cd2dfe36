//! `[[topic]]` in a stack file: topics, the functions subscribed to them
//! (with filter policies), and the permissions those functions need.
//!
//! ```toml
//! [[topic]]
//! name = "orders"
//!
//! [[topic.subscription]]
//! function = "topic-logger"
//! filter_policy = '{"kind": ["order"]}'     # optional, SNS's JSON
//! # filter_policy_scope = "MessageBody"     # MessageAttributes by default
//! ```
//!
//! Deploying creates the topic (or finds it), adds the statement each
//! function's policy needs (Sid `sns-<topic>`), subscribes it, and updates
//! a subscription whose filter policy changed; nothing when all is in place.

use std::collections::HashMap;

use anyhow::Context as _;
use funnel_client::{Client, proto};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    #[serde(default, rename = "subscription")]
    pub subscriptions: Vec<SubscriptionSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub function: String,
    pub filter_policy: Option<String>,
    pub filter_policy_scope: Option<String>,
}

/// Deploys one topic; returns what changed.
pub async fn deploy_topic(
    client: &Client,
    spec: &TopicSpec,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut changes = Vec::new();
    let existed = client
        .list_all_topics()
        .await?
        .iter()
        .any(|arn| arn.rsplit(':').next() == Some(spec.name.as_str()));
    let topic_arn = client.create_topic(&spec.name).await?;
    changes.push((
        format!("topic {}", spec.name),
        if existed { "unchanged" } else { "created" }.into(),
    ));
    let sid = format!("sns-{}", spec.name);
    let current = client.list_subscriptions_by_topic(&topic_arn).await?;
    for s in &spec.subscriptions {
        let endpoint = client
            .function_arn(&s.function)
            .await
            .with_context(|| format!("function {} of topic {}", s.function, spec.name))?;
        changes.extend(
            super::ensure_permission(client, &s.function, &sid, "sns.amazonaws.com", &topic_arn)
                .await?,
        );
        let wanted_policy = s.filter_policy.clone().unwrap_or_default();
        let wanted_scope = s
            .filter_policy_scope
            .clone()
            .unwrap_or_else(|| "MessageAttributes".into());
        let label = format!("subscription {} → {}", spec.name, s.function);
        match current.iter().find(|c| c.endpoint == endpoint) {
            Some(existing) => {
                let attributes = client
                    .get_subscription_attributes(&existing.subscription_arn)
                    .await?;
                let policy = attributes.get("FilterPolicy").cloned().unwrap_or_default();
                let scope = attributes
                    .get("FilterPolicyScope")
                    .cloned()
                    .unwrap_or_else(|| "MessageAttributes".into());
                if policy == wanted_policy && scope == wanted_scope {
                    changes.push((label, "unchanged".into()));
                    continue;
                }
                let arn = &existing.subscription_arn;
                client
                    .set_subscription_attributes(arn, "FilterPolicyScope", &wanted_scope)
                    .await?;
                client
                    .set_subscription_attributes(arn, "FilterPolicy", &wanted_policy)
                    .await?;
                changes.push((label, "updated".into()));
            }
            None => {
                let mut attributes = HashMap::new();
                if !wanted_policy.is_empty() {
                    attributes.insert("FilterPolicy".to_string(), wanted_policy);
                }
                attributes.insert("FilterPolicyScope".to_string(), wanted_scope);
                client
                    .subscribe(proto::SubscribeRequest {
                        topic_arn: topic_arn.clone(),
                        protocol: "lambda".into(),
                        endpoint,
                        attributes,
                        return_subscription_arn: true,
                    })
                    .await?;
                changes.push((label, "created".into()));
            }
        }
    }
    Ok(changes)
}
