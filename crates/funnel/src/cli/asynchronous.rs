//! Async verbs: `funnel function put-event-invoke-config|...` and
//! `funnel dlq list|redrive|purge`.

use clap::{Args, Subcommand};
use funnel_client::{Client, json, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Args)]
pub struct EventInvokeArgs {
    pub name: String,
    /// $LATEST (default), a version number, or an alias.
    #[arg(long)]
    pub qualifier: Option<String>,
    /// Retries after a function error, 0-2 (default 2).
    #[arg(long)]
    pub maximum_retry_attempts: Option<i32>,
    /// How old an event may get before it is given up, 60-21600 s.
    #[arg(long)]
    pub maximum_event_age_in_seconds: Option<i32>,
    /// As `aws lambda`: '{"OnSuccess":{"Destination":ARN},"OnFailure":{"Destination":ARN}}'.
    #[arg(long)]
    pub destination_config: Option<String>,
    /// Shorthand for the OnSuccess destination (a function ARN).
    #[arg(long)]
    pub on_success: Option<String>,
    /// Shorthand for the OnFailure destination (a function ARN).
    #[arg(long)]
    pub on_failure: Option<String>,
}

impl EventInvokeArgs {
    fn request(self) -> anyhow::Result<proto::PutFunctionEventInvokeConfigRequest> {
        let mut on_success = self.on_success;
        let mut on_failure = self.on_failure;
        if let Some(text) = &self.destination_config {
            let config: Value = serde_json::from_str(text)
                .map_err(|e| anyhow::anyhow!("--destination-config is not JSON: {e}"))?;
            let destination = |key: &str| config[key]["Destination"].as_str().map(str::to_string);
            on_success = on_success.or_else(|| destination("OnSuccess"));
            on_failure = on_failure.or_else(|| destination("OnFailure"));
        }
        let destination_config =
            (on_success.is_some() || on_failure.is_some()).then(|| proto::DestinationConfig {
                on_success: on_success.map(|destination| proto::OnSuccess { destination }),
                on_failure: on_failure.map(|destination| proto::OnFailure { destination }),
            });
        Ok(proto::PutFunctionEventInvokeConfigRequest {
            function_name: self.name,
            qualifier: self.qualifier.unwrap_or_default(),
            maximum_retry_attempts: self.maximum_retry_attempts,
            maximum_event_age_in_seconds: self.maximum_event_age_in_seconds,
            destination_config,
        })
    }
}

pub(super) async fn put_event_invoke_config(
    client: &Client,
    args: EventInvokeArgs,
    replace: bool,
) -> anyhow::Result<()> {
    let request = args.request()?;
    let config = if replace {
        client.put_function_event_invoke_config(request).await?
    } else {
        client.update_function_event_invoke_config(request).await?
    };
    print_json(&json::event_invoke_config(&config))
}

pub(super) async fn get_event_invoke_config(
    client: &Client,
    name: &str,
    qualifier: Option<String>,
) -> anyhow::Result<()> {
    let config = client
        .get_function_event_invoke_config(name, &qualifier.unwrap_or_default())
        .await?;
    print_json(&json::event_invoke_config(&config))
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters (of one function, or all).
    List { name: Option<String> },
    /// Put a function's dead letters back in the queue (all, or --id ...).
    Redrive {
        name: String,
        /// A request id to redrive (repeat for more).
        #[arg(long = "id")]
        ids: Vec<String>,
    },
    /// Delete a function's dead letters.
    Purge { name: String },
}

pub(super) async fn dlq(client: &Client, command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List { name } => {
            let name = name.unwrap_or_default();
            let mut letters = Vec::new();
            let mut marker = String::new();
            loop {
                let page = client.list_dead_letters(&name, &marker, None).await?;
                letters.extend(page.dead_letters.iter().map(|l| {
                    let payload = serde_json::from_slice::<Value>(&l.payload)
                        .unwrap_or_else(|_| json!(String::from_utf8_lossy(&l.payload)));
                    json!({
                        "RequestId": l.request_id,
                        "FunctionName": l.function_name,
                        "Qualifier": l.qualifier,
                        "Condition": l.condition,
                        "ApproximateInvokeCount": l.approximate_invoke_count,
                        "ErrorType": l.error_type,
                        "ErrorMessage": l.error_message,
                        "Payload": payload,
                        "ReceivedTime": l.received_time,
                        "FailedTime": l.failed_time,
                    })
                }));
                if page.next_marker.is_empty() {
                    break;
                }
                marker = page.next_marker;
            }
            print_json(&json!({ "DeadLetters": letters }))
        }
        DlqCommand::Redrive { name, ids } => {
            let redriven = client.redrive_dead_letters(&name, ids).await?;
            print_json(&json!({ "Redriven": redriven }))
        }
        DlqCommand::Purge { name } => {
            let purged = client.purge_dead_letters(&name).await?;
            print_json(&json!({ "Purged": purged }))
        }
    }
}
