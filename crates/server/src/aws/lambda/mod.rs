//! Lambda's REST-JSON API (`/2015-03-31/...`) over the `Functions` gRPC
//! handlers: Invoke, GetFunction, GetFunctionConfiguration, ListFunctions.

use funnel_proto::v1 as pb;
use funnel_proto::v1::functions_server::Functions as _;
use funnel_runtime::HttpBody;
use http::{Method, StatusCode};
use serde_json::json;

use super::errors::AwsError;
use super::{Door, Request, respond};

const PREFIX: &str = "/2015-03-31/functions";

/// The operation a method and path name.
enum Operation {
    Invoke(String),
    GetFunction(String),
    GetFunctionConfiguration(String),
    ListFunctions,
}

fn operation(method: &Method, path: &str) -> Option<Operation> {
    let rest = path.strip_prefix(PREFIX)?;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let name = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|n| n.into_owned())
    };
    match (method, segments.as_slice()) {
        (&Method::GET, [""]) => Some(Operation::ListFunctions),
        (&Method::POST, [function, "invocations"]) => name(function).map(Operation::Invoke),
        (&Method::GET, [function]) => name(function).map(Operation::GetFunction),
        (&Method::GET, [function, "configuration"]) => {
            name(function).map(Operation::GetFunctionConfiguration)
        }
        _ => None,
    }
}

/// The first value of query parameter `name`.
fn query(parts: &http::request::Parts, name: &str) -> Option<String> {
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn header(parts: &http::request::Parts, name: &str) -> String {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn json_response(value: serde_json::Value) -> hyper::Response<HttpBody> {
    respond(
        StatusCode::OK,
        &[("content-type", "application/json".into())],
        value.to_string(),
    )
}

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    let Request {
        parts,
        body,
        signer,
        ..
    } = request;
    let functions = &door.inner.services.functions;
    let Some(operation) = operation(&parts.method, parts.uri.path()) else {
        return Err(AwsError::new(
            "UnknownOperationException",
            format!(
                "funnel's Lambda endpoint has no operation at {} {}",
                parts.method,
                parts.uri.path()
            ),
        ));
    };
    let qualifier = query(&parts, "Qualifier").unwrap_or_default();
    match operation {
        Operation::Invoke(function_name) => {
            let message = pb::InvokeRequest {
                function_name,
                qualifier,
                invocation_type: header(&parts, "x-amz-invocation-type"),
                log_type: header(&parts, "x-amz-log-type"),
                client_context: header(&parts, "x-amz-client-context"),
                payload: body.to_vec(),
            };
            let out = door
                .call(&signer, "/funnel.v1.Functions/Invoke", message, |r| {
                    functions.invoke(r)
                })
                .await?;
            let status = u16::try_from(out.status_code)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            let mut headers = vec![
                ("content-type", "application/json".to_string()),
                ("x-amz-executed-version", out.executed_version),
            ];
            if !out.function_error.is_empty() {
                headers.push(("x-amz-function-error", out.function_error));
            }
            if !out.log_result.is_empty() {
                headers.push(("x-amz-log-result", out.log_result));
            }
            Ok(respond(status, &headers, out.payload))
        }
        Operation::GetFunction(function_name) => {
            let message = pb::GetFunctionRequest {
                function_name,
                qualifier,
            };
            let out = door
                .call(&signer, "/funnel.v1.Functions/GetFunction", message, |r| {
                    functions.get_function(r)
                })
                .await?;
            let mut answer = json!({});
            if let Some(config) = &out.configuration {
                answer["Configuration"] = funnel_proto::json::configuration(config);
            }
            if let Some(code) = &out.code {
                answer["Code"] =
                    json!({"RepositoryType": code.repository_type, "Location": code.location});
            }
            Ok(json_response(answer))
        }
        Operation::GetFunctionConfiguration(function_name) => {
            let message = pb::GetFunctionRequest {
                function_name,
                qualifier,
            };
            let out = door
                .call(&signer, "/funnel.v1.Functions/GetFunction", message, |r| {
                    functions.get_function(r)
                })
                .await?;
            let config = out.configuration.unwrap_or_default();
            Ok(json_response(funnel_proto::json::configuration(&config)))
        }
        Operation::ListFunctions => {
            let max_items = match query(&parts, "MaxItems") {
                Some(n) => Some(n.parse().map_err(|_| {
                    AwsError::new(
                        "InvalidParameterValueException",
                        format!("MaxItems must be a number, not {n:?}"),
                    )
                })?),
                None => None,
            };
            let message = pb::ListFunctionsRequest {
                marker: query(&parts, "Marker").unwrap_or_default(),
                max_items,
            };
            let out = door
                .call(
                    &signer,
                    "/funnel.v1.Functions/ListFunctions",
                    message,
                    |r| functions.list_functions(r),
                )
                .await?;
            let mut answer = json!({
                "Functions": out.functions.iter().map(funnel_proto::json::configuration).collect::<Vec<_>>(),
            });
            if !out.next_marker.is_empty() {
                answer["NextMarker"] = json!(out.next_marker);
            }
            Ok(json_response(answer))
        }
    }
}
