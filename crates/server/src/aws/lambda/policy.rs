//! A function's resource-based policy: AddPermission, RemovePermission,
//! GetPolicy.

use funnel_proto::json;
use funnel_proto::v1 as pb;
use funnel_proto::v1::permissions_server::Permissions as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;
use serde_json::json;

use super::{AwsError, Call, created, no_content, ok};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AddPermission {
    statement_id: String,
    action: String,
    principal: String,
    source_arn: String,
    source_account: String,
    function_url_auth_type: String,
}

/// Conditions funnel's statements cannot carry: dropping one would allow
/// more than the caller asked for.
const REFUSED: &[(&str, &str)] = &[
    (
        "PrincipalOrgID",
        "statements cannot be limited to an organization",
    ),
    ("EventSourceToken", "there are no Alexa event sources"),
    (
        "InvokedViaFunctionUrl",
        "statements cannot be limited to calls through a function URL",
    ),
    ("RevisionId", "the policy cannot be updated conditionally"),
];

pub async fn add(call: &Call<'_>, function_name: String) -> Answer {
    let body: AddPermission = call.body(REFUSED)?;
    let message = pb::AddPermissionRequest {
        function_name,
        statement_id: body.statement_id,
        action: body.action,
        principal: body.principal,
        source_arn: body.source_arn,
        source_account: body.source_account,
        qualifier: call.query_or_empty("Qualifier"),
        function_url_auth_type: body.function_url_auth_type,
    };
    let permissions = &call.services().permissions;
    let added = call
        .grpc("/funnel.v1.Permissions/AddPermission", message, |r| {
            permissions.add_permission(r)
        })
        .await?;
    // Lambda answers with the statement as a JSON string.
    Ok(created(&json!({"Statement": added.statement})))
}

pub async fn get(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetPolicyRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let permissions = &call.services().permissions;
    let policy = call
        .grpc("/funnel.v1.Permissions/GetPolicy", message, |r| {
            permissions.get_policy(r)
        })
        .await?;
    Ok(ok(&json::policy(&policy)))
}

pub async fn remove(call: &Call<'_>, function_name: String, statement_id: String) -> Answer {
    call.refuse_query("RevisionId", "the policy cannot be updated conditionally")?;
    let message = pb::RemovePermissionRequest {
        function_name,
        statement_id,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let permissions = &call.services().permissions;
    call.grpc("/funnel.v1.Permissions/RemovePermission", message, |r| {
        permissions.remove_permission(r)
    })
    .await?;
    Ok(no_content())
}
