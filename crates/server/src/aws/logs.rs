//! CloudWatch Logs' JSON 1.1 API (`X-Amz-Target: Logs_20140328.<Operation>`):
//! GetLogEvents and FilterLogEvents over the `Logs` gRPC handlers;
//! DescribeLogGroups and DescribeLogStreams composed from gRPC calls,
//! since the `Logs` service has no listing of its own yet:
//!
//! - a log group is a function's (`/aws/lambda/<FunctionName>`), so
//!   DescribeLogGroups lists the caller's functions (`Functions/ListFunctions`,
//!   authorized as `lambda:ListFunctions`);
//! - a log stream is what a group's events name, so DescribeLogStreams reads
//!   the group's events (`Logs/FilterLogEvents`, as `logs:FilterLogEvents`)
//!   and reports each stream's first and last.
//!
//! Both give what they know and leave out what they do not (`creationTime`
//! of a group, `storedBytes`).

use std::collections::BTreeMap;

use funnel_proto::v1 as pb;
use funnel_proto::v1::functions_server::Functions as _;
use funnel_proto::v1::logs_server::Logs as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::AwsError;
use super::json11::{self, put};
use super::{Door, Request, Signer};

const TARGET_PREFIX: &str = "Logs_20140328";

const OPERATIONS: &str = "GetLogEvents, FilterLogEvents, DescribeLogGroups, DescribeLogStreams";

/// CloudWatch's default and largest page of groups or streams.
const DESCRIBE_LIMIT: usize = 50;

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
    let operation = json11::operation(&request, TARGET_PREFIX)?;
    if !OPERATIONS.split(", ").any(|o| o == operation) {
        return Err(unknown(operation));
    }
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
            let log_group_name = group(&input)?;
            let mut log_stream_names = input.log_stream_names;
            if !input.log_stream_name_prefix.is_empty() {
                if !log_stream_names.is_empty() {
                    return Err(AwsError::new(
                        "InvalidParameterException",
                        "logStreamNames and logStreamNamePrefix cannot both be given",
                    ));
                }
                log_stream_names = streams(door, signer, &log_group_name)
                    .await?
                    .into_keys()
                    .filter(|s| s.starts_with(&input.log_stream_name_prefix))
                    .collect();
                if log_stream_names.is_empty() {
                    return Ok(json11::answer(json!({"events": []})));
                }
            }
            let message = pb::FilterLogEventsRequest {
                log_group_name,
                log_stream_names,
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
        other => return Err(unknown(other)),
    };
    Ok(json11::answer(answer))
}

fn unknown(operation: &str) -> AwsError {
    AwsError::new(
        "UnknownOperationException",
        format!(
            "funnel's CloudWatch Logs endpoint does not implement {operation} (it has {OPERATIONS})"
        ),
    )
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

/// A page size (1 to 50; 50 when not given).
fn describe_limit(limit: Option<i32>) -> Result<usize, AwsError> {
    match limit {
        None => Ok(DESCRIBE_LIMIT),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=DESCRIBE_LIMIT).contains(n))
            .ok_or_else(|| invalid(format!("limit {n} is out of range: 1 to {DESCRIBE_LIMIT}"))),
    }
}

/// The page of `items` after `token` (the number already given), and the
/// token for the next.
fn page<T>(items: Vec<T>, token: &str, limit: usize) -> Result<(Vec<T>, String), AwsError> {
    let skip = if token.is_empty() {
        0
    } else {
        token
            .parse::<usize>()
            .map_err(|_| invalid(format!("nextToken {token:?} is not valid")))?
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(skip).take(limit).collect();
    let next = if skip + page.len() < total {
        (skip + page.len()).to_string()
    } else {
        String::new()
    };
    Ok((page, next))
}

/// The caller's functions' log groups.
async fn describe_log_groups(
    door: &Door,
    signer: &Signer,
    input: Input,
) -> Result<Value, AwsError> {
    let limit = describe_limit(input.limit)?;
    let (prefix, pattern) = (&input.log_group_name_prefix, &input.log_group_name_pattern);
    if !prefix.is_empty() && !pattern.is_empty() {
        return Err(invalid(
            "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.",
        ));
    }
    let functions = &door.inner.services.functions;
    let mut groups = BTreeMap::new();
    let mut marker = String::new();
    loop {
        let message = pb::ListFunctionsRequest {
            marker: std::mem::take(&mut marker),
            max_items: None,
        };
        let out = door
            .call(signer, "/funnel.v1.Functions/ListFunctions", message, |r| {
                functions.list_functions(r)
            })
            .await?;
        for function in out.functions {
            let name = funnel_proto::log_group(&function.function_name);
            let wanted = name.starts_with(prefix.as_str())
                && name.to_lowercase().contains(&pattern.to_lowercase());
            if wanted {
                let arn = group_arn(&function.function_arn, &name);
                groups.insert(name, arn);
            }
        }
        if out.next_marker.is_empty() {
            break;
        }
        marker = out.next_marker;
    }
    let (groups, next) = page(groups.into_iter().collect(), &input.next_token, limit)?;
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(name, arn)| {
            let mut group = json!({"logGroupName": name, "metricFilterCount": 0});
            if let Some(arn) = arn {
                group["arn"] = json!(format!("{arn}:*"));
                group["logGroupArn"] = json!(arn);
            }
            group
        })
        .collect();
    let mut answer = json!({ "logGroups": groups });
    put(&mut answer, "nextToken", &next);
    Ok(answer)
}

/// `arn:<partition>:logs:<region>:<account>:log-group:<group>`, from the
/// function's ARN.
fn group_arn(function_arn: &str, group: &str) -> Option<String> {
    let parts: Vec<&str> = function_arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, _, region, account, _] => Some(format!(
            "arn:{partition}:logs:{region}:{account}:log-group:{group}"
        )),
        _ => None,
    }
}

/// What a group's events say about one stream.
#[derive(Clone, Copy)]
struct Stream {
    first_event: i64,
    last_event: i64,
    first_ingestion: i64,
    last_ingestion: i64,
}

/// The streams of `group`, from its events.
async fn streams(
    door: &Door,
    signer: &Signer,
    group: &str,
) -> Result<BTreeMap<String, Stream>, AwsError> {
    let logs = &door.inner.services.logs;
    let mut streams: BTreeMap<String, Stream> = BTreeMap::new();
    let mut next_token = String::new();
    loop {
        let message = pb::FilterLogEventsRequest {
            log_group_name: group.to_string(),
            next_token: std::mem::take(&mut next_token),
            ..Default::default()
        };
        let out = door
            .call(signer, "/funnel.v1.Logs/FilterLogEvents", message, |r| {
                logs.filter_log_events(r)
            })
            .await?;
        for event in out.events {
            let seen = Stream {
                first_event: event.timestamp,
                last_event: event.timestamp,
                first_ingestion: event.ingestion_time,
                last_ingestion: event.ingestion_time,
            };
            streams
                .entry(event.log_stream_name)
                .and_modify(|s| {
                    s.first_event = s.first_event.min(seen.first_event);
                    s.last_event = s.last_event.max(seen.last_event);
                    s.first_ingestion = s.first_ingestion.min(seen.first_ingestion);
                    s.last_ingestion = s.last_ingestion.max(seen.last_ingestion);
                })
                .or_insert(seen);
        }
        if out.next_token.is_empty() {
            return Ok(streams);
        }
        next_token = out.next_token;
    }
}

async fn describe_log_streams(
    door: &Door,
    signer: &Signer,
    input: Input,
) -> Result<Value, AwsError> {
    let limit = describe_limit(input.limit)?;
    let by_time = match input.order_by.as_str() {
        "" | "LogStreamName" => false,
        "LastEventTime" => true,
        other => {
            return Err(invalid(format!(
                "orderBy {other:?} is not LogStreamName or LastEventTime"
            )));
        }
    };
    let prefix = &input.log_stream_name_prefix;
    if by_time && !prefix.is_empty() {
        return Err(invalid(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let group = group(&input)?;
    let mut found: Vec<(String, Stream)> = streams(door, signer, &group)
        .await?
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix.as_str()))
        .collect();
    if by_time {
        found.sort_by_key(|(name, s)| (s.last_event, name.clone()));
    }
    if input.descending {
        found.reverse();
    }
    let (found, next) = page(found, &input.next_token, limit)?;
    let streams: Vec<Value> = found
        .into_iter()
        .map(|(name, s)| {
            json!({
                "logStreamName": name,
                "creationTime": s.first_ingestion,
                "firstEventTimestamp": s.first_event,
                "lastEventTimestamp": s.last_event,
                "lastIngestionTime": s.last_ingestion,
            })
        })
        .collect();
    let mut answer = json!({ "logStreams": streams });
    put(&mut answer, "nextToken", &next);
    Ok(answer)
}
