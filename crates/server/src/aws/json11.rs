//! The JSON 1.1 protocol's framing, for the adapters that speak it
//! ([`super::events`], [`super::logs`], [`super::secretsmanager`],
//! [`super::ssm`]): the operation named in
//! `X-Amz-Target` (`<prefix>.<Operation>`), the input one JSON object in
//! the body, the answer one JSON object as `application/x-amz-json-1.1`.

use funnel_runtime::HttpBody;
use http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::errors::AwsError;
use super::{Request, respond};

/// The operation `X-Amz-Target` names for the service whose target
/// prefix is `prefix` (`AWSEvents`, `Logs_20140328`).
pub fn operation<'a>(request: &'a Request, prefix: &str) -> Result<&'a str, AwsError> {
    let target = request
        .parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match target.split_once('.') {
        Some((p, operation)) if p == prefix && !operation.is_empty() => Ok(operation),
        _ => Err(AwsError::new(
            "UnknownOperationException",
            format!("X-Amz-Target {target:?} names no {prefix} operation"),
        )),
    }
}

/// As [`operation`], which must be one of `operations` (a `, `-separated
/// list) that `service` (`(target prefix, name)`) serves.
pub fn served<'a>(
    request: &'a Request,
    (prefix, service): (&str, &str),
    operations: &str,
) -> Result<&'a str, AwsError> {
    let operation = self::operation(request, prefix)?;
    if operations.split(", ").any(|o| o == operation) {
        Ok(operation)
    } else {
        Err(unknown(service, operation, operations))
    }
}

/// The body as `T` (an empty body is `{}`).
pub fn input<T: DeserializeOwned>(request: &Request) -> Result<T, AwsError> {
    let body: &[u8] = if request.body.is_empty() {
        b"{}"
    } else {
        &request.body
    };
    serde_json::from_slice(body).map_err(|err| {
        AwsError::new(
            "SerializationException",
            format!("the request body is not the operation's input: {err}"),
        )
    })
}

pub fn answer(value: serde_json::Value) -> hyper::Response<HttpBody> {
    respond(
        StatusCode::OK,
        &[("content-type", "application/x-amz-json-1.1".into())],
        value.to_string(),
    )
}

/// EventBridge and CloudWatch Logs answer every client error with 400
/// (`ResourceNotFoundException` too), whatever other services use.
pub fn client_error_status(mut err: AwsError) -> AwsError {
    if err.status.is_client_error() {
        err.status = StatusCode::BAD_REQUEST;
    }
    err
}

/// Adds `name: value` to `object` unless `value` is empty (AWS leaves
/// out the members it has no value for).
/// An operation `service` does not implement; `operations` lists those it
/// does.
pub fn unknown(service: &str, operation: &str, operations: &str) -> AwsError {
    AwsError::new(
        "UnknownOperationException",
        format!("funnel's {service} endpoint does not implement {operation} (it has {operations})"),
    )
}

pub fn put(object: &mut serde_json::Value, name: &str, value: &str) {
    if !value.is_empty() {
        object[name] = serde_json::Value::String(value.to_string());
    }
}

/// A tag as the JSON 1.1 services take it (`{"Key": …, "Value": …}`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tag {
    key: String,
    value: String,
}

/// Tags as funnel's API takes them.
pub fn tags(tags: Vec<Tag>) -> Vec<funnel_proto::v1::Tag> {
    tags.into_iter()
        .map(|t| funnel_proto::v1::Tag {
            key: t.key,
            value: t.value,
        })
        .collect()
}
