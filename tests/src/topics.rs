//! Helpers for tests of topics: subscribing, publishing, and reading what
//! the recorder guest received.

use std::collections::HashMap;

use funnel_client::proto;

use crate::{TestServer, eventually};

pub async fn allow_sns(server: &TestServer, function: &str, topic_arn: &str) {
    server
        .allow(function, "sns", "sns.amazonaws.com", topic_arn)
        .await;
}

pub async fn subscribe(
    server: &TestServer,
    topic_arn: &str,
    function: &str,
    policy: Option<&str>,
) -> String {
    let mut attributes = HashMap::new();
    if let Some(policy) = policy {
        attributes.insert("FilterPolicy".to_string(), policy.to_string());
    }
    server
        .client
        .subscribe(proto::SubscribeRequest {
            topic_arn: topic_arn.into(),
            protocol: "lambda".into(),
            endpoint: format!("arn:funnel:lambda:local:000000000000:function:{function}"),
            attributes,
            ..Default::default()
        })
        .await
        .expect("subscribe")
}

pub fn string_attr(value: &str) -> proto::MessageAttributeValue {
    proto::MessageAttributeValue {
        data_type: "String".into(),
        string_value: Some(value.into()),
        binary_value: None,
    }
}

pub fn number_attr(value: &str) -> proto::MessageAttributeValue {
    proto::MessageAttributeValue {
        data_type: "Number".into(),
        string_value: Some(value.into()),
        binary_value: None,
    }
}

pub async fn publish(
    server: &TestServer,
    topic_arn: &str,
    message: &str,
    attrs: &[(&str, proto::MessageAttributeValue)],
) -> String {
    server
        .client
        .publish(proto::PublishRequest {
            topic_arn: topic_arn.into(),
            message: message.into(),
            subject: Some("Order update".into()),
            message_attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        })
        .await
        .expect("publish")
}

/// The SNS events `function` has logged, as raw JSON.
pub async fn received(server: &TestServer, function: &str) -> Vec<serde_json::Value> {
    server
        .log_messages(function)
        .await
        .into_iter()
        .filter_map(|e| {
            let json = e.message.trim_end().strip_prefix("record: ")?.to_string();
            serde_json::from_str(&json).ok()
        })
        .collect()
}

pub fn messages(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e["Records"][0]["Sns"]["Message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

pub async fn wait_for_message(
    server: &TestServer,
    function: &str,
    message: &str,
) -> serde_json::Value {
    eventually(&format!("{message} at {function}"), || async {
        received(server, function)
            .await
            .into_iter()
            .find(|e| e["Records"][0]["Sns"]["Message"] == message)
    })
    .await
}
