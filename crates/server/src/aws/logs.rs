//! CloudWatch Logs' JSON 1.1 API (`X-Amz-Target: Logs_20140328.<Operation>`):
//! GetLogEvents, FilterLogEvents, DescribeLogGroups and DescribeLogStreams,
//! each over its `Logs` gRPC handler.

use funnel_proto::v1 as pb;
use funnel_proto::v1::logs_server::Logs as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::AwsError;
use super::json11::{self, put};
use super::{Door, Request, Signer};

const TARGET_PREFIX: &str = "Logs_20140328";

const OPERATIONS: &str = "GetLogEvents, FilterLogEvents, DescribeLogGroups, DescribeLogStreams";

/// The members of the four operations' inputs.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Input {
    log_group_name: String,
    log_group_identifier: String,
    log_stream_name: String,
    log_stream_names: Vec<String>,
    log_stream_name_prefix: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: String,
    next_token: String,
    limit: Option<i32>,
    start_from_head: bool,
    log_group_name_prefix: String,
    log_group_name_pattern: String,
    order_by: String,
    descending: bool,
}

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    serve(door, request).await.map_err(|mut err| {
        // CloudWatch Logs' name for a bad value.
        if err.code == "InvalidParameterValueException" {
            err.code = "InvalidParameterException".into();
        }
        json11::client_error_status(err)
    })
}

async fn serve(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    let operation = json11::served(&request, (TARGET_PREFIX, "CloudWatch Logs"), OPERATIONS)?;
    let input: Input = json11::input(&request)?;
    let signer = &request.signer;
    let logs = &door.inner.services.logs;
    let answer = match operation {
        "GetLogEvents" => {
            let message = pb::GetLogEventsRequest {
                log_group_name: group(&input)?,
                log_stream_name: input.log_stream_name,
                start_time: input.start_time,
                end_time: input.end_time,
                limit: input.limit,
                next_token: input.next_token,
                start_from_head: input.start_from_head,
            };
            let out = door
                .call(signer, "/funnel.v1.Logs/GetLogEvents", message, |r| {
                    logs.get_log_events(r)
                })
                .await?;
            let events: Vec<Value> = out
                .events
                .iter()
                .map(|e| {
                    json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time})
                })
                .collect();
            let mut answer = json!({ "events": events });
            put(&mut answer, "nextForwardToken", &out.next_forward_token);
            answer
        }
        "FilterLogEvents" => {
            let message = pb::FilterLogEventsRequest {
                log_group_name: group(&input)?,
                log_stream_names: input.log_stream_names,
                log_stream_name_prefix: input.log_stream_name_prefix,
                start_time: input.start_time,
                end_time: input.end_time,
                filter_pattern: input.filter_pattern,
                limit: input.limit,
                next_token: input.next_token,
            };
            let out = door
                .call(signer, "/funnel.v1.Logs/FilterLogEvents", message, |r| {
                    logs.filter_log_events(r)
                })
                .await?;
            let events: Vec<Value> = out
                .events
                .iter()
                .map(|e| {
                    json!({
                        "logStreamName": e.log_stream_name,
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingestion_time,
                        "eventId": e.event_id,
                    })
                })
                .collect();
            let mut answer = json!({ "events": events });
            put(&mut answer, "nextToken", &out.next_token);
            answer
        }
        "DescribeLogGroups" => describe_log_groups(door, signer, input).await?,
        "DescribeLogStreams" => describe_log_streams(door, signer, input).await?,
        other => return Err(json11::unknown("CloudWatch Logs", other, OPERATIONS)),
    };
    Ok(json11::answer(answer))
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", message)
}

/// The group `logGroupName` or `logGroupIdentifier` (a name or an ARN)
/// names; not both.
fn group(input: &Input) -> Result<String, AwsError> {
    match (
        input.log_group_name.as_str(),
        input.log_group_identifier.as_str(),
    ) {
        (name, "") => Ok(name.to_string()),
        ("", identifier) => Ok(match identifier.split_once(":log-group:") {
            Some((_, name)) => name.trim_end_matches(":*").to_string(),
            None => identifier.to_string(),
        }),
        _ => Err(invalid(
            "LogGroupName and LogGroupIdentifier are mutually exclusive parameters.",
        )),
    }
}

async fn describe_log_groups(
    door: &Door,
    signer: &Signer,
    input: Input,
) -> Result<Value, AwsError> {
    let message = pb::DescribeLogGroupsRequest {
        log_group_name_prefix: input.log_group_name_prefix,
        log_group_name_pattern: input.log_group_name_pattern,
        next_token: input.next_token,
        limit: input.limit,
    };
    let logs = &door.inner.services.logs;
    let out = door
        .call(signer, "/funnel.v1.Logs/DescribeLogGroups", message, |r| {
            logs.describe_log_groups(r)
        })
        .await?;
    Ok(funnel_proto::json::log_groups(&out))
}

async fn describe_log_streams(
    door: &Door,
    signer: &Signer,
    input: Input,
) -> Result<Value, AwsError> {
    let message = pb::DescribeLogStreamsRequest {
        log_group_name: input.log_group_name,
        log_group_identifier: input.log_group_identifier,
        log_stream_name_prefix: input.log_stream_name_prefix,
        order_by: input.order_by,
        descending: input.descending,
        next_token: input.next_token,
        limit: input.limit,
    };
    let logs = &door.inner.services.logs;
    let out = door
        .call(signer, "/funnel.v1.Logs/DescribeLogStreams", message, |r| {
            logs.describe_log_streams(r)
        })
        .await?;
    Ok(funnel_proto::json::log_streams(&out))
}
