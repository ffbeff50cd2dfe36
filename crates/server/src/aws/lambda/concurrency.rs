//! Concurrency: reserved (Put/Get/DeleteFunctionConcurrency), provisioned
//! (Put/Get/DeleteProvisionedConcurrencyConfig), and GetAccountSettings.

use funnel_proto::json;
use funnel_proto::v1 as pb;
use funnel_proto::v1::functions_server::Functions as _;
use funnel_runtime::HttpBody;
use http::StatusCode;
use serde::Deserialize;

use super::{AwsError, Call, json_response, no_content, ok};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutConcurrency {
    reserved_concurrent_executions: i32,
}

pub async fn put(call: &Call<'_>, function_name: String) -> Answer {
    let body: PutConcurrency = call.body(&[])?;
    let message = pb::PutFunctionConcurrencyRequest {
        function_name,
        reserved_concurrent_executions: body.reserved_concurrent_executions,
    };
    let functions = &call.services().functions;
    let out = call
        .grpc(
            "/funnel.v1.Functions/PutFunctionConcurrency",
            message,
            |r| functions.put_function_concurrency(r),
        )
        .await?;
    Ok(ok(&json::concurrency(&out)))
}

pub async fn get(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetFunctionConcurrencyRequest { function_name };
    let functions = &call.services().functions;
    let out = call
        .grpc(
            "/funnel.v1.Functions/GetFunctionConcurrency",
            message,
            |r| functions.get_function_concurrency(r),
        )
        .await?;
    Ok(ok(&json::concurrency(&out)))
}

pub async fn delete(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetFunctionConcurrencyRequest { function_name };
    let functions = &call.services().functions;
    call.grpc(
        "/funnel.v1.Functions/DeleteFunctionConcurrency",
        message,
        |r| functions.delete_function_concurrency(r),
    )
    .await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutProvisioned {
    provisioned_concurrent_executions: i32,
}

pub async fn put_provisioned(call: &Call<'_>, function_name: String) -> Answer {
    let body: PutProvisioned = call.body(&[])?;
    let message = pb::PutProvisionedConcurrencyConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
        provisioned_concurrent_executions: body.provisioned_concurrent_executions,
    };
    let functions = &call.services().functions;
    let out = call
        .grpc(
            "/funnel.v1.Functions/PutProvisionedConcurrencyConfig",
            message,
            |r| functions.put_provisioned_concurrency_config(r),
        )
        .await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json::provisioned_concurrency(&out),
    ))
}

pub async fn get_provisioned(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetProvisionedConcurrencyConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let functions = &call.services().functions;
    let out = call
        .grpc(
            "/funnel.v1.Functions/GetProvisionedConcurrencyConfig",
            message,
            |r| functions.get_provisioned_concurrency_config(r),
        )
        .await?;
    Ok(ok(&json::provisioned_concurrency(&out)))
}

pub async fn delete_provisioned(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetProvisionedConcurrencyConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let functions = &call.services().functions;
    call.grpc(
        "/funnel.v1.Functions/DeleteProvisionedConcurrencyConfig",
        message,
        |r| functions.delete_provisioned_concurrency_config(r),
    )
    .await?;
    Ok(no_content())
}

pub async fn account_settings(call: &Call<'_>) -> Answer {
    let functions = &call.services().functions;
    let out = call
        .grpc(
            "/funnel.v1.Functions/GetAccountSettings",
            pb::GetAccountSettingsRequest {},
            |r| functions.get_account_settings(r),
        )
        .await?;
    Ok(ok(&json::account_settings(&out)))
}
