//! Secrets Manager's JSON 1.1 API (`X-Amz-Target: secretsmanager.<Operation>`)
//! over `funnel.v1.SecretsManager`: each operation is its gRPC handler, run
//! as the signer (the same IAM actions, the same errors); this module only
//! translates. Times are epoch seconds, binary values base64, as AWS's.

use base64::Engine as _;
use funnel_proto::v1 as pb;
use funnel_proto::v1::secrets_manager_server::SecretsManager as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::errors::AwsError;
use super::json11::{self, Tag, put};
use super::{Door, Request};

const TARGET_PREFIX: &str = "secretsmanager";

const OPERATIONS: &str = "CreateSecret, PutSecretValue, GetSecretValue, DescribeSecret, \
                          ListSecrets, UpdateSecretVersionStage, DeleteSecret, RestoreSecret";

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Filter {
    key: String,
    values: Vec<String>,
}

/// The members of the operations' inputs.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Input {
    name: String,
    description: String,
    secret_id: String,
    secret_string: Option<String>,
    /// Base64, as JSON carries a blob.
    secret_binary: Option<String>,
    tags: Vec<Tag>,
    client_request_token: String,
    version_stages: Vec<String>,
    version_id: String,
    version_stage: String,
    include_planned_deletion: bool,
    max_results: Option<i32>,
    next_token: String,
    filters: Vec<Filter>,
    remove_from_version_id: String,
    move_to_version_id: String,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: bool,
}

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    serve(door, request)
        .await
        .map_err(json11::client_error_status)
}

async fn serve(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    let operation = json11::served(&request, (TARGET_PREFIX, "Secrets Manager"), OPERATIONS)?;
    let input: Input = json11::input(&request)?;
    let signer = &request.signer;
    let secrets = &door.inner.services.secrets;
    let path = format!("/funnel.v1.SecretsManager/{operation}");
    let answer = match operation {
        "CreateSecret" => {
            let message = pb::CreateSecretRequest {
                name: input.name,
                description: input.description,
                secret_string: input.secret_string,
                secret_binary: binary(input.secret_binary)?,
                tags: json11::tags(input.tags),
                client_request_token: input.client_request_token,
            };
            let out = door
                .call(signer, &path, message, |r| secrets.create_secret(r))
                .await?;
            let mut answer = json!({"ARN": out.arn, "Name": out.name});
            put(&mut answer, "VersionId", &out.version_id);
            answer
        }
        "PutSecretValue" => {
            let message = pb::PutSecretValueRequest {
                secret_id: input.secret_id,
                client_request_token: input.client_request_token,
                secret_string: input.secret_string,
                secret_binary: binary(input.secret_binary)?,
                version_stages: input.version_stages,
            };
            let out = door
                .call(signer, &path, message, |r| secrets.put_secret_value(r))
                .await?;
            json!({
                "ARN": out.arn,
                "Name": out.name,
                "VersionId": out.version_id,
                "VersionStages": out.version_stages,
            })
        }
        "GetSecretValue" => {
            let message = pb::GetSecretValueRequest {
                secret_id: input.secret_id,
                version_id: input.version_id,
                version_stage: input.version_stage,
            };
            let out = door
                .call(signer, &path, message, |r| secrets.get_secret_value(r))
                .await?;
            let mut answer = json!({
                "ARN": out.arn,
                "Name": out.name,
                "VersionId": out.version_id,
                "VersionStages": out.version_stages,
                "CreatedDate": seconds(out.created_date),
            });
            if let Some(text) = out.secret_string {
                answer["SecretString"] = Value::String(text);
            }
            if let Some(bytes) = out.secret_binary {
                answer["SecretBinary"] =
                    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
            }
            answer
        }
        "DescribeSecret" => {
            let message = pb::DescribeSecretRequest {
                secret_id: input.secret_id,
            };
            let out = door
                .call(signer, &path, message, |r| secrets.describe_secret(r))
                .await?;
            let mut answer = json!({
                "ARN": out.arn,
                "Name": out.name,
                "CreatedDate": seconds(out.created_date),
                "LastChangedDate": seconds(out.last_changed_date),
                "Tags": tags_json(&out.tags),
                "VersionIdsToStages": stages_json(&out.version_ids_to_stages),
            });
            put(&mut answer, "Description", &out.description);
            if let Some(deleted) = out.deleted_date {
                answer["DeletedDate"] = seconds(deleted);
            }
            answer
        }
        "ListSecrets" => {
            let message = pb::ListSecretsRequest {
                include_planned_deletion: input.include_planned_deletion,
                max_results: input.max_results,
                next_token: input.next_token,
                filters: input
                    .filters
                    .into_iter()
                    .map(|f| pb::Filter {
                        key: f.key,
                        values: f.values,
                    })
                    .collect(),
            };
            let out = door
                .call(signer, &path, message, |r| secrets.list_secrets(r))
                .await?;
            let list: Vec<Value> = out
                .secret_list
                .iter()
                .map(|s| {
                    let mut entry = json!({
                        "ARN": s.arn,
                        "Name": s.name,
                        "CreatedDate": seconds(s.created_date),
                        "LastChangedDate": seconds(s.last_changed_date),
                        "Tags": tags_json(&s.tags),
                        "SecretVersionsToStages": stages_json(&s.secret_versions_to_stages),
                    });
                    put(&mut entry, "Description", &s.description);
                    if let Some(deleted) = s.deleted_date {
                        entry["DeletedDate"] = seconds(deleted);
                    }
                    entry
                })
                .collect();
            let mut answer = json!({ "SecretList": list });
            put(&mut answer, "NextToken", &out.next_token);
            answer
        }
        "UpdateSecretVersionStage" => {
            let message = pb::UpdateSecretVersionStageRequest {
                secret_id: input.secret_id,
                version_stage: input.version_stage,
                remove_from_version_id: input.remove_from_version_id,
                move_to_version_id: input.move_to_version_id,
            };
            let out = door
                .call(signer, &path, message, |r| {
                    secrets.update_secret_version_stage(r)
                })
                .await?;
            json!({"ARN": out.arn, "Name": out.name})
        }
        "DeleteSecret" => {
            let message = pb::DeleteSecretRequest {
                secret_id: input.secret_id,
                recovery_window_in_days: input.recovery_window_in_days,
                force_delete_without_recovery: input.force_delete_without_recovery,
            };
            let out = door
                .call(signer, &path, message, |r| secrets.delete_secret(r))
                .await?;
            json!({
                "ARN": out.arn,
                "Name": out.name,
                "DeletionDate": seconds(out.deletion_date),
            })
        }
        "RestoreSecret" => {
            let message = pb::RestoreSecretRequest {
                secret_id: input.secret_id,
            };
            let out = door
                .call(signer, &path, message, |r| secrets.restore_secret(r))
                .await?;
            json!({"ARN": out.arn, "Name": out.name})
        }
        other => return Err(json11::unknown("Secrets Manager", other, OPERATIONS)),
    };
    Ok(json11::answer(answer))
}

/// A JSON blob (base64) as bytes.
fn binary(value: Option<String>) -> Result<Option<Vec<u8>>, AwsError> {
    value
        .map(|text| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|err| {
                    AwsError::new(
                        "SerializationException",
                        format!("SecretBinary is not base64: {err}"),
                    )
                })
        })
        .transpose()
}

fn tags_json(tags: &[pb::Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

fn stages_json(stages: &std::collections::HashMap<String, pb::VersionStages>) -> Value {
    let map: Map<String, Value> = stages
        .iter()
        .map(|(id, s)| (id.clone(), json!(s.stages)))
        .collect();
    Value::Object(map)
}

/// Milliseconds as JSON 1.1's timestamp: epoch seconds.
pub(super) fn seconds(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}
