//! `funnel topic …`.

use std::collections::HashMap;

use anyhow::Context as _;
use clap::Subcommand;
use funnel_client::{Client, proto};
use serde_json::json;

use super::print_json;

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic (an existing one is returned as it is); prints its ARN.
    Create { name: String },
    /// Delete a topic and its subscriptions.
    Delete { topic: String },
    /// List topic ARNs.
    List,
    /// List a topic's subscriptions.
    Subscriptions { topic: String },
    /// Deliver the topic's messages to a function (it also needs
    /// permission: funnel function add-permission F --statement-id ID
    /// --principal sns.amazonaws.com --source-arn TOPIC_ARN).
    Subscribe {
        topic: String,
        #[arg(long)]
        function: String,
        /// An SNS filter policy (JSON).
        #[arg(long)]
        filter_policy: Option<String>,
        #[arg(long, value_parser = ["MessageAttributes", "MessageBody"])]
        filter_policy_scope: Option<String>,
    },
    /// Remove a subscription (by its ARN).
    Unsubscribe { subscription_arn: String },
    /// Publish a message; prints its MessageId once it is durable.
    Publish {
        topic: String,
        #[arg(long)]
        message: String,
        #[arg(long)]
        subject: Option<String>,
        /// A message attribute NAME=VALUE, optionally NAME=VALUE:Type
        /// (String, Number, String.Array; String by default). Repeat for more.
        #[arg(long = "attr")]
        attributes: Vec<String>,
    },
}

/// `NAME=VALUE[:Type]`.
fn attribute(text: &str) -> anyhow::Result<(String, proto::MessageAttributeValue)> {
    let (name, rest) = text
        .split_once('=')
        .with_context(|| format!("--attr {text:?}: expected NAME=VALUE[:Type]"))?;
    let (value, data_type) = match rest.rsplit_once(':') {
        Some((value, kind)) if ["String", "Number", "String.Array", "Binary"].contains(&kind) => {
            (value, kind)
        }
        _ => (rest, "String"),
    };
    let mut attribute = proto::MessageAttributeValue {
        data_type: data_type.into(),
        string_value: Some(value.into()),
        binary_value: None,
    };
    if data_type == "Binary" {
        attribute.string_value = None;
        attribute.binary_value = Some(value.as_bytes().to_vec());
    }
    Ok((name.to_string(), attribute))
}

pub async fn topic(client: &Client, command: TopicCommand) -> anyhow::Result<()> {
    match command {
        TopicCommand::Create { name } => {
            let topic_arn = client.create_topic(&name).await?;
            print_json(&json!({ "TopicArn": topic_arn }))
        }
        TopicCommand::Delete { topic } => Ok(client.delete_topic(&topic).await?),
        TopicCommand::List => {
            let arns = client.list_all_topics().await?;
            print_json(
                &json!({"Topics": arns.iter().map(|a| json!({"TopicArn": a})).collect::<Vec<_>>()}),
            )
        }
        TopicCommand::Subscriptions { topic } => {
            let subscriptions = client.list_subscriptions_by_topic(&topic).await?;
            print_json(
                &json!({"Subscriptions": subscriptions.iter().map(|s| json!({
                "SubscriptionArn": s.subscription_arn, "Protocol": s.protocol,
                "Endpoint": s.endpoint, "TopicArn": s.topic_arn,
            })).collect::<Vec<_>>()}),
            )
        }
        TopicCommand::Subscribe {
            topic,
            function,
            filter_policy,
            filter_policy_scope,
        } => {
            let endpoint = client.function_arn(&function).await?;
            let mut attributes = HashMap::new();
            if let Some(policy) = filter_policy {
                attributes.insert("FilterPolicy".to_string(), policy);
            }
            if let Some(scope) = filter_policy_scope {
                attributes.insert("FilterPolicyScope".to_string(), scope);
            }
            let arn = client
                .subscribe(proto::SubscribeRequest {
                    topic_arn: topic,
                    protocol: "lambda".into(),
                    endpoint,
                    attributes,
                    return_subscription_arn: true,
                })
                .await?;
            print_json(&json!({ "SubscriptionArn": arn }))
        }
        TopicCommand::Unsubscribe { subscription_arn } => {
            Ok(client.unsubscribe(&subscription_arn).await?)
        }
        TopicCommand::Publish {
            topic,
            message,
            subject,
            attributes,
        } => {
            let message_attributes = attributes
                .iter()
                .map(|a| attribute(a))
                .collect::<anyhow::Result<_>>()?;
            let message_id = client
                .publish(proto::PublishRequest {
                    topic_arn: topic,
                    message,
                    subject,
                    message_attributes,
                })
                .await?;
            print_json(&json!({ "MessageId": message_id }))
        }
    }
}
