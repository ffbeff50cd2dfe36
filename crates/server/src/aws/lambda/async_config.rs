//! Asynchronous invocation settings: Put/Update/Get/DeleteFunctionEventInvokeConfig.

use funnel_proto::json;
use funnel_proto::v1 as pb;
use funnel_proto::v1::async_invocation_server::AsyncInvocation as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;

use super::{AwsError, Call, no_content, ok};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Destination {
    destination: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct DestinationConfig {
    on_success: Option<Destination>,
    on_failure: Option<Destination>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PutConfig {
    maximum_retry_attempts: Option<i32>,
    maximum_event_age_in_seconds: Option<i32>,
    destination_config: Option<DestinationConfig>,
}

/// PutFunctionEventInvokeConfig (`update` false: unset fields go back to
/// their defaults) or UpdateFunctionEventInvokeConfig (only those given).
pub async fn put(call: &Call<'_>, function_name: String, update: bool) -> Answer {
    let body: PutConfig = call.body(&[])?;
    let message = pb::PutFunctionEventInvokeConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
        maximum_retry_attempts: body.maximum_retry_attempts,
        maximum_event_age_in_seconds: body.maximum_event_age_in_seconds,
        destination_config: body.destination_config.map(|d| pb::DestinationConfig {
            on_success: d.on_success.map(|s| pb::OnSuccess {
                destination: s.destination,
            }),
            on_failure: d.on_failure.map(|f| pb::OnFailure {
                destination: f.destination,
            }),
        }),
    };
    let service = &call.services().asynchronous;
    let config = if update {
        call.grpc(
            "/funnel.v1.AsyncInvocation/UpdateFunctionEventInvokeConfig",
            message,
            |r| service.update_function_event_invoke_config(r),
        )
        .await?
    } else {
        call.grpc(
            "/funnel.v1.AsyncInvocation/PutFunctionEventInvokeConfig",
            message,
            |r| service.put_function_event_invoke_config(r),
        )
        .await?
    };
    Ok(ok(&wire(&config)))
}

pub async fn get(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetFunctionEventInvokeConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let service = &call.services().asynchronous;
    let config = call
        .grpc(
            "/funnel.v1.AsyncInvocation/GetFunctionEventInvokeConfig",
            message,
            |r| service.get_function_event_invoke_config(r),
        )
        .await?;
    Ok(ok(&wire(&config)))
}

pub async fn delete(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetFunctionEventInvokeConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let service = &call.services().asynchronous;
    call.grpc(
        "/funnel.v1.AsyncInvocation/DeleteFunctionEventInvokeConfig",
        message,
        |r| service.delete_function_event_invoke_config(r),
    )
    .await?;
    Ok(no_content())
}

/// The config as Lambda sends it: `LastModified` is a timestamp member,
/// epoch seconds on the wire (funnel keeps ISO 8601 text).
fn wire(config: &pb::FunctionEventInvokeConfig) -> serde_json::Value {
    let mut out = json::event_invoke_config(config);
    if let Ok(at) =
        chrono::DateTime::parse_from_str(&config.last_modified, "%Y-%m-%dT%H:%M:%S%.3f%z")
    {
        out["LastModified"] = serde_json::json!(at.timestamp_millis() as f64 / 1000.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_modified_goes_out_as_epoch_seconds() {
        let config = pb::FunctionEventInvokeConfig {
            last_modified: "2026-11-26T17:40:32.123+0000".into(),
            ..Default::default()
        };
        assert_eq!(wire(&config)["LastModified"], 1795714832.123);
    }
}
