//! `[function.event_invoke_config]` in a stack file: how the function's
//! asynchronous calls (bucket notifications, topics, schedules, `invoke
//! --invocation-type Event`) are retried and where their outcomes go —
//! Lambda's PutFunctionEventInvokeConfig.
//!
//! ```toml
//! [function.event_invoke_config]
//! maximum_retry_attempts = 0                 # 0-2 (default 2)
//! maximum_event_age_in_seconds = 3600        # 60-21600 (default 21600)
//! on_failure = { topic = "image-failures" }  # a topic or function of the stack...
//! # on_success = "arn:funnel:lambda:…"       # ...or any destination ARN
//! ```
//!
//! Deploying puts the config when it differs from the function's current
//! one (a key left out means Lambda's default); nothing otherwise.

use anyhow::Context as _;
use funnel_client::{Client, proto};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeConfigSpec {
    pub maximum_retry_attempts: Option<i32>,
    pub maximum_event_age_in_seconds: Option<i32>,
    pub on_success: Option<DestinationSpec>,
    pub on_failure: Option<DestinationSpec>,
}

/// A destination: a topic or function by name, or an ARN.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum DestinationSpec {
    Arn(String),
    Topic { topic: String },
    Function { function: String },
}

impl DestinationSpec {
    async fn arn(&self, client: &Client) -> anyhow::Result<String> {
        match self {
            DestinationSpec::Arn(arn) => Ok(arn.clone()),
            DestinationSpec::Function { function } => client
                .function_arn(function)
                .await
                .with_context(|| format!("destination function {function}")),
            DestinationSpec::Topic { topic } => client
                .list_all_topics()
                .await?
                .into_iter()
                .find(|arn| arn.rsplit(':').next() == Some(topic.as_str()))
                .with_context(|| {
                    format!("destination topic {topic:?} is not a topic (declare it in [[topic]])")
                }),
        }
    }
}

/// Puts `function`'s event invoke config unless it is already as `spec`
/// says; returns what happened.
pub async fn deploy_invoke_config(
    client: &Client,
    function: &str,
    spec: &InvokeConfigSpec,
) -> anyhow::Result<(String, String)> {
    let on_success = match &spec.on_success {
        Some(d) => Some(d.arn(client).await?),
        None => None,
    };
    let on_failure = match &spec.on_failure {
        Some(d) => Some(d.arn(client).await?),
        None => None,
    };
    let destination_config =
        (on_success.is_some() || on_failure.is_some()).then(|| proto::DestinationConfig {
            on_success: on_success.map(|destination| proto::OnSuccess { destination }),
            on_failure: on_failure.map(|destination| proto::OnFailure { destination }),
        });
    let request = proto::PutFunctionEventInvokeConfigRequest {
        function_name: function.into(),
        qualifier: String::new(),
        maximum_retry_attempts: spec.maximum_retry_attempts,
        maximum_event_age_in_seconds: spec.maximum_event_age_in_seconds,
        destination_config,
    };
    let label = format!("event invoke config {function}");
    let existed = match client.get_function_event_invoke_config(function, "").await {
        Ok(current) => {
            if same(&current, &request) {
                return Ok((label, "unchanged".into()));
            }
            true
        }
        Err(err) if err.error_type.as_deref() == Some("ResourceNotFoundException") => false,
        Err(err) => return Err(err.into()),
    };
    client.put_function_event_invoke_config(request).await?;
    let change = if existed { "updated" } else { "created" };
    Ok((label, change.into()))
}

/// Whether the stored config is what the request would store: unset
/// numbers are Lambda's defaults, and no destination equals an empty one.
fn same(
    current: &proto::FunctionEventInvokeConfig,
    wanted: &proto::PutFunctionEventInvokeConfigRequest,
) -> bool {
    let retries = |n: Option<i32>| n.unwrap_or(2);
    let age = |n: Option<i32>| n.unwrap_or(21_600);
    let destinations = |d: Option<&proto::DestinationConfig>| {
        let d = d.cloned().unwrap_or_default();
        (
            d.on_success.map(|s| s.destination).unwrap_or_default(),
            d.on_failure.map(|f| f.destination).unwrap_or_default(),
        )
    };
    retries(current.maximum_retry_attempts) == retries(wanted.maximum_retry_attempts)
        && age(current.maximum_event_age_in_seconds) == age(wanted.maximum_event_age_in_seconds)
        && destinations(current.destination_config.as_ref())
            == destinations(wanted.destination_config.as_ref())
}
