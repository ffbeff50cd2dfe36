//! Parameter Store's JSON 1.1 API (`X-Amz-Target: AmazonSSM.<Operation>`)
//! over `funnel.v1.Ssm`: each operation is its gRPC handler, run as the
//! signer; this module only translates. Times are epoch seconds, as AWS's.

use funnel_proto::v1 as pb;
use funnel_proto::v1::ssm_server::Ssm as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::AwsError;
use super::json11::{self, Tag, put};
use super::secretsmanager::seconds;
use super::{Door, Request};

const TARGET_PREFIX: &str = "AmazonSSM";

const OPERATIONS: &str = "PutParameter, GetParameter, GetParameters, GetParametersByPath, \
                          DeleteParameter, DescribeParameters";

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StringFilter {
    key: String,
    option: String,
    values: Vec<String>,
}

/// The members of the operations' inputs.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Input {
    name: String,
    names: Vec<String>,
    description: String,
    value: String,
    #[serde(rename = "Type")]
    kind: String,
    overwrite: bool,
    tags: Vec<Tag>,
    tier: String,
    data_type: String,
    with_decryption: bool,
    path: String,
    recursive: bool,
    max_results: Option<i32>,
    next_token: String,
    parameter_filters: Vec<StringFilter>,
}

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    serve(door, request)
        .await
        .map_err(json11::client_error_status)
}

async fn serve(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    let operation = json11::served(&request, (TARGET_PREFIX, "SSM"), OPERATIONS)?;
    let input: Input = json11::input(&request)?;
    let signer = &request.signer;
    let ssm = &door.inner.services.ssm;
    let path = format!("/funnel.v1.Ssm/{operation}");
    let answer = match operation {
        "PutParameter" => {
            let message = pb::PutParameterRequest {
                name: input.name,
                description: input.description,
                value: input.value,
                r#type: input.kind,
                overwrite: input.overwrite,
                tags: json11::tags(input.tags),
                tier: input.tier,
                data_type: input.data_type,
            };
            let out = door
                .call(signer, &path, message, |r| ssm.put_parameter(r))
                .await?;
            let mut answer = json!({"Version": out.version});
            put(&mut answer, "Tier", &out.tier);
            answer
        }
        "GetParameter" => {
            let message = pb::GetParameterRequest {
                name: input.name,
                with_decryption: input.with_decryption,
            };
            let out = door
                .call(signer, &path, message, |r| ssm.get_parameter(r))
                .await?;
            json!({"Parameter": out.parameter.as_ref().map(parameter)})
        }
        "GetParameters" => {
            let message = pb::GetParametersRequest {
                names: input.names,
                with_decryption: input.with_decryption,
            };
            let out = door
                .call(signer, &path, message, |r| ssm.get_parameters(r))
                .await?;
            json!({
                "Parameters": out.parameters.iter().map(parameter).collect::<Vec<_>>(),
                "InvalidParameters": out.invalid_parameters,
            })
        }
        "GetParametersByPath" => {
            let message = pb::GetParametersByPathRequest {
                path: input.path,
                recursive: input.recursive,
                with_decryption: input.with_decryption,
                max_results: input.max_results,
                next_token: input.next_token,
            };
            let out = door
                .call(signer, &path, message, |r| ssm.get_parameters_by_path(r))
                .await?;
            let mut answer =
                json!({"Parameters": out.parameters.iter().map(parameter).collect::<Vec<_>>()});
            put(&mut answer, "NextToken", &out.next_token);
            answer
        }
        "DeleteParameter" => {
            let message = pb::DeleteParameterRequest { name: input.name };
            door.call(signer, &path, message, |r| ssm.delete_parameter(r))
                .await?;
            json!({})
        }
        "DescribeParameters" => {
            let message = pb::DescribeParametersRequest {
                parameter_filters: input
                    .parameter_filters
                    .into_iter()
                    .map(|f| pb::ParameterStringFilter {
                        key: f.key,
                        option: f.option,
                        values: f.values,
                    })
                    .collect(),
                max_results: input.max_results,
                next_token: input.next_token,
            };
            let out = door
                .call(signer, &path, message, |r| ssm.describe_parameters(r))
                .await?;
            let parameters: Vec<Value> = out
                .parameters
                .iter()
                .map(|p| {
                    let mut entry = json!({
                        "Name": p.name,
                        "ARN": p.arn,
                        "Type": p.r#type,
                        "LastModifiedDate": seconds(p.last_modified_date),
                        "Version": p.version,
                    });
                    for (name, value) in [
                        ("KeyId", &p.key_id),
                        ("LastModifiedUser", &p.last_modified_user),
                        ("Description", &p.description),
                        ("Tier", &p.tier),
                        ("DataType", &p.data_type),
                    ] {
                        put(&mut entry, name, value);
                    }
                    entry
                })
                .collect();
            let mut answer = json!({ "Parameters": parameters });
            put(&mut answer, "NextToken", &out.next_token);
            answer
        }
        other => return Err(json11::unknown("SSM", other, OPERATIONS)),
    };
    Ok(json11::answer(answer))
}

fn parameter(p: &pb::Parameter) -> Value {
    let mut entry = json!({
        "Name": p.name,
        "Type": p.r#type,
        "Value": p.value,
        "Version": p.version,
        "LastModifiedDate": seconds(p.last_modified_date),
        "ARN": p.arn,
    });
    put(&mut entry, "Selector", &p.selector);
    put(&mut entry, "DataType", &p.data_type);
    entry
}
