//! EventBridge's JSON 1.1 API (`X-Amz-Target: AWSEvents.<Operation>`) over
//! the `Events` gRPC handlers: PutRule, DescribeRule, ListRules,
//! EnableRule, DisableRule, DeleteRule, PutTargets, RemoveTargets,
//! ListTargetsByRule.
//!
//! funnel's rules are schedules on the default bus, and its targets are
//! functions with an optional constant `Input`: an `EventPattern`, another
//! bus or a target field funnel cannot honour (InputPath, RetryPolicy, ...)
//! is refused by name rather than dropped. `RoleArn`, `Tags` and `Force`
//! have no meaning here and are ignored.

use funnel_proto::v1 as pb;
use funnel_proto::v1::events_server::Events as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::AwsError;
use super::json11::{self, put};
use super::{Door, Request};

const TARGET_PREFIX: &str = "AWSEvents";

const OPERATIONS: &str = "PutRule, DescribeRule, ListRules, EnableRule, DisableRule, \
     DeleteRule, PutTargets, RemoveTargets, ListTargetsByRule";

/// The members of a rule-naming input (`Name` or `Rule`, with its bus).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RuleInput {
    name: String,
    rule: String,
    event_bus_name: Option<String>,
    // PutRule
    schedule_expression: String,
    event_pattern: Option<String>,
    state: String,
    description: String,
    // ListRules, ListTargetsByRule
    name_prefix: String,
    next_token: String,
    limit: i32,
    // PutTargets, RemoveTargets
    targets: Vec<TargetInput>,
    ids: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TargetInput {
    id: String,
    arn: String,
    input: Option<String>,
    #[serde(rename = "RoleArn")]
    _role_arn: Option<String>,
    /// What funnel's targets cannot do.
    #[serde(flatten)]
    other: serde_json::Map<String, Value>,
}

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    serve(door, request)
        .await
        .map_err(json11::client_error_status)
}

async fn serve(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    let operation = json11::served(&request, (TARGET_PREFIX, "EventBridge"), OPERATIONS)?;
    let input: RuleInput = json11::input(&request)?;
    default_bus(input.event_bus_name.as_deref())?;
    let events = &door.inner.services.events;
    let signer = &request.signer;
    let answer = match operation {
        "PutRule" => {
            if input.event_pattern.is_some() {
                return Err(AwsError::new(
                    "ValidationException",
                    "funnel's rules are schedules: EventPattern is not supported (give ScheduleExpression)",
                ));
            }
            let message = pb::PutRuleRequest {
                name: input.name,
                schedule_expression: input.schedule_expression,
                state: input.state,
                description: input.description,
                catch_up: 0,
            };
            let out = door
                .call(signer, "/funnel.v1.Events/PutRule", message, |r| {
                    events.put_rule(r)
                })
                .await?;
            json!({"RuleArn": out.rule_arn})
        }
        "DescribeRule" => {
            let message = pb::DescribeRuleRequest { name: input.name };
            let out = door
                .call(signer, "/funnel.v1.Events/DescribeRule", message, |r| {
                    events.describe_rule(r)
                })
                .await?;
            let mut rule = rule(pb::Rule {
                name: out.name,
                arn: out.arn,
                schedule_expression: out.schedule_expression,
                state: out.state,
                description: out.description,
                event_bus_name: out.event_bus_name,
            });
            put(&mut rule, "CreatedBy", &out.created_by);
            rule
        }
        "ListRules" => {
            let message = pb::ListRulesRequest {
                name_prefix: input.name_prefix,
                next_token: input.next_token,
                limit: input.limit,
            };
            let out = door
                .call(signer, "/funnel.v1.Events/ListRules", message, |r| {
                    events.list_rules(r)
                })
                .await?;
            let mut answer = json!({"Rules": out.rules.into_iter().map(rule).collect::<Vec<_>>()});
            put(&mut answer, "NextToken", &out.next_token);
            answer
        }
        "EnableRule" => {
            let message = pb::EnableRuleRequest { name: input.name };
            door.call(signer, "/funnel.v1.Events/EnableRule", message, |r| {
                events.enable_rule(r)
            })
            .await?;
            json!({})
        }
        "DisableRule" => {
            let message = pb::DisableRuleRequest { name: input.name };
            door.call(signer, "/funnel.v1.Events/DisableRule", message, |r| {
                events.disable_rule(r)
            })
            .await?;
            json!({})
        }
        "DeleteRule" => {
            let message = pb::DeleteRuleRequest { name: input.name };
            door.call(signer, "/funnel.v1.Events/DeleteRule", message, |r| {
                events.delete_rule(r)
            })
            .await?;
            json!({})
        }
        "PutTargets" => {
            let targets = input
                .targets
                .into_iter()
                .map(target)
                .collect::<Result<_, _>>()?;
            let message = pb::PutTargetsRequest {
                rule: input.rule,
                targets,
            };
            let out = door
                .call(signer, "/funnel.v1.Events/PutTargets", message, |r| {
                    events.put_targets(r)
                })
                .await?;
            failed(out.failed_entry_count, &out.failed_entries)
        }
        "RemoveTargets" => {
            let message = pb::RemoveTargetsRequest {
                rule: input.rule,
                ids: input.ids,
            };
            let out = door
                .call(signer, "/funnel.v1.Events/RemoveTargets", message, |r| {
                    events.remove_targets(r)
                })
                .await?;
            failed(out.failed_entry_count, &out.failed_entries)
        }
        "ListTargetsByRule" => {
            let message = pb::ListTargetsByRuleRequest {
                rule: input.rule,
                next_token: input.next_token,
                limit: input.limit,
            };
            let out = door
                .call(
                    signer,
                    "/funnel.v1.Events/ListTargetsByRule",
                    message,
                    |r| events.list_targets_by_rule(r),
                )
                .await?;
            let targets: Vec<Value> = out
                .targets
                .into_iter()
                .map(|t| {
                    let mut target = json!({"Id": t.id, "Arn": t.arn});
                    if let Some(input) = t.input {
                        target["Input"] = json!(input);
                    }
                    target
                })
                .collect();
            let mut answer = json!({ "Targets": targets });
            put(&mut answer, "NextToken", &out.next_token);
            answer
        }
        other => return Err(json11::unknown("EventBridge", other, OPERATIONS)),
    };
    Ok(json11::answer(answer))
}

/// funnel has one bus per account, the default one.
fn default_bus(name: Option<&str>) -> Result<(), AwsError> {
    match name {
        None | Some("" | "default") => Ok(()),
        Some(arn) if arn.starts_with("arn:") && arn.ends_with(":event-bus/default") => Ok(()),
        Some(other) => Err(AwsError::new(
            "ResourceNotFoundException",
            format!("Event bus {other} does not exist (funnel's rules are on the default bus)."),
        )),
    }
}

fn rule(r: pb::Rule) -> Value {
    let mut rule = json!({"Name": r.name, "Arn": r.arn, "State": r.state});
    put(&mut rule, "ScheduleExpression", &r.schedule_expression);
    put(&mut rule, "Description", &r.description);
    put(&mut rule, "EventBusName", &r.event_bus_name);
    rule
}

fn target(t: TargetInput) -> Result<pb::Target, AwsError> {
    if !t.other.is_empty() {
        let names: Vec<&str> = t.other.keys().map(String::as_str).collect();
        return Err(AwsError::new(
            "ValidationException",
            format!(
                "target {}: funnel's targets are functions with an optional Input; {} not supported",
                t.id,
                names.join(", ")
            ),
        ));
    }
    Ok(pb::Target {
        id: t.id,
        arn: t.arn,
        input: t.input,
    })
}

fn failed(count: i32, entries: &[pb::FailedEntry]) -> Value {
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({"TargetId": e.target_id, "ErrorCode": e.error_code, "ErrorMessage": e.error_message})
        })
        .collect();
    json!({"FailedEntryCount": count, "FailedEntries": entries})
}
