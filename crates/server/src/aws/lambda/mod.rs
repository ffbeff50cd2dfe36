//! Lambda's REST-JSON API (`/2015-03-31/functions/...`, `/2018-10-31/layers`,
//! `/2019-09-25/.../event-invoke-config`, `/2021-10-31/.../url`, ...) over
//! the gRPC handlers of `Functions`, `Permissions`, `AsyncInvocation`,
//! `Layers` and `FunctionUrls`.
//!
//! This module owns the routing (method and path to [`Operation`]) and the
//! request plumbing ([`Call`]: query, headers, the JSON body); each concern's
//! module turns one operation's wire shapes into the gRPC message and the
//! answer back into Lambda's JSON ([`funnel_proto::json`]). Nothing here
//! decides anything a gRPC handler decides: validation, authorization and
//! behaviour stay there. A field the proto lacks is ignored when that is
//! harmless and refused ([`Call::body`]) when ignoring it would change what
//! the call means.

mod aliases;
mod async_config;
mod concurrency;
mod functions;
mod layers;
mod policy;
mod urls;

use bytes::Bytes;
use funnel_runtime::HttpBody;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::AwsError;
use super::{Door, Request, Signer, respond};

/// A function as the path names it (a name, or an ARN, percent-decoded).
type Function = String;
/// A layer as the path names it (a name or its ARN).
type Layer = String;

/// The operation a method and path name.
enum Operation {
    CreateFunction,
    ListFunctions,
    GetFunction(Function),
    GetFunctionConfiguration(Function),
    UpdateFunctionCode(Function),
    UpdateFunctionConfiguration(Function),
    DeleteFunction(Function),
    Invoke(Function),
    PublishVersion(Function),
    ListVersionsByFunction(Function),
    CreateAlias(Function),
    ListAliases(Function),
    GetAlias(Function, String),
    UpdateAlias(Function, String),
    DeleteAlias(Function, String),
    AddPermission(Function),
    GetPolicy(Function),
    RemovePermission(Function, String),
    PutFunctionConcurrency(Function),
    GetFunctionConcurrency(Function),
    DeleteFunctionConcurrency(Function),
    PutProvisionedConcurrencyConfig(Function),
    GetProvisionedConcurrencyConfig(Function),
    DeleteProvisionedConcurrencyConfig(Function),
    GetAccountSettings,
    PutFunctionEventInvokeConfig(Function),
    UpdateFunctionEventInvokeConfig(Function),
    GetFunctionEventInvokeConfig(Function),
    DeleteFunctionEventInvokeConfig(Function),
    PublishLayerVersion(Layer),
    ListLayers,
    GetLayerVersionByArn,
    ListLayerVersions(Layer),
    GetLayerVersion(Layer, i64),
    DeleteLayerVersion(Layer, i64),
    AddLayerVersionPermission(Layer, i64),
    GetLayerVersionPolicy(Layer, i64),
    RemoveLayerVersionPermission(Layer, i64, String),
    CreateFunctionUrlConfig(Function),
    GetFunctionUrlConfig(Function),
    UpdateFunctionUrlConfig(Function),
    DeleteFunctionUrlConfig(Function),
    ListFunctionUrlConfigs(Function),
}

/// A path segment, percent-decoded.
fn decoded(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The operation at `method` `path` (with `query` to tell ListLayers from
/// GetLayerVersionByArn), as botocore's Lambda model places each one.
fn operation(method: &Method, path: &str, query: Option<&str>) -> Option<Operation> {
    use Operation as O;
    let raw: Vec<&str> = path.trim_matches('/').split('/').collect();
    let segments: Vec<String> = raw.iter().map(|s| decoded(s)).collect::<Option<_>>()?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let f = |s: &str| s.to_string();
    let version = |s: &str| s.parse::<i64>().ok();
    let op = match (method.as_str(), segments.as_slice()) {
        // 2015-03-31: functions, versions, aliases, policies, Invoke.
        ("POST", ["2015-03-31", "functions"]) => O::CreateFunction,
        ("GET", ["2015-03-31", "functions"]) => O::ListFunctions,
        ("GET", ["2015-03-31", "functions", name]) => O::GetFunction(f(name)),
        ("DELETE", ["2015-03-31", "functions", name]) => O::DeleteFunction(f(name)),
        ("GET", ["2015-03-31", "functions", name, "configuration"]) => {
            O::GetFunctionConfiguration(f(name))
        }
        ("PUT", ["2015-03-31", "functions", name, "configuration"]) => {
            O::UpdateFunctionConfiguration(f(name))
        }
        ("PUT", ["2015-03-31", "functions", name, "code"]) => O::UpdateFunctionCode(f(name)),
        ("POST", ["2015-03-31", "functions", name, "invocations"]) => O::Invoke(f(name)),
        ("POST", ["2015-03-31", "functions", name, "versions"]) => O::PublishVersion(f(name)),
        ("GET", ["2015-03-31", "functions", name, "versions"]) => {
            O::ListVersionsByFunction(f(name))
        }
        ("POST", ["2015-03-31", "functions", name, "aliases"]) => O::CreateAlias(f(name)),
        ("GET", ["2015-03-31", "functions", name, "aliases"]) => O::ListAliases(f(name)),
        ("GET", ["2015-03-31", "functions", name, "aliases", alias]) => {
            O::GetAlias(f(name), f(alias))
        }
        ("PUT", ["2015-03-31", "functions", name, "aliases", alias]) => {
            O::UpdateAlias(f(name), f(alias))
        }
        ("DELETE", ["2015-03-31", "functions", name, "aliases", alias]) => {
            O::DeleteAlias(f(name), f(alias))
        }
        ("POST", ["2015-03-31", "functions", name, "policy"]) => O::AddPermission(f(name)),
        ("GET", ["2015-03-31", "functions", name, "policy"]) => O::GetPolicy(f(name)),
        ("DELETE", ["2015-03-31", "functions", name, "policy", statement]) => {
            O::RemovePermission(f(name), f(statement))
        }
        // Concurrency: Put and Delete kept their 2017 path, Get is 2019's.
        ("PUT", ["2017-10-31", "functions", name, "concurrency"]) => {
            O::PutFunctionConcurrency(f(name))
        }
        ("DELETE", ["2017-10-31", "functions", name, "concurrency"]) => {
            O::DeleteFunctionConcurrency(f(name))
        }
        ("GET", ["2019-09-30", "functions", name, "concurrency"]) => {
            O::GetFunctionConcurrency(f(name))
        }
        ("PUT", ["2019-09-30", "functions", name, "provisioned-concurrency"]) => {
            O::PutProvisionedConcurrencyConfig(f(name))
        }
        ("GET", ["2019-09-30", "functions", name, "provisioned-concurrency"]) => {
            O::GetProvisionedConcurrencyConfig(f(name))
        }
        ("DELETE", ["2019-09-30", "functions", name, "provisioned-concurrency"]) => {
            O::DeleteProvisionedConcurrencyConfig(f(name))
        }
        ("GET", ["2016-08-19", "account-settings"]) => O::GetAccountSettings,
        // Asynchronous invocation settings.
        ("PUT", ["2019-09-25", "functions", name, "event-invoke-config"]) => {
            O::PutFunctionEventInvokeConfig(f(name))
        }
        ("POST", ["2019-09-25", "functions", name, "event-invoke-config"]) => {
            O::UpdateFunctionEventInvokeConfig(f(name))
        }
        ("GET", ["2019-09-25", "functions", name, "event-invoke-config"]) => {
            O::GetFunctionEventInvokeConfig(f(name))
        }
        ("DELETE", ["2019-09-25", "functions", name, "event-invoke-config"]) => {
            O::DeleteFunctionEventInvokeConfig(f(name))
        }
        // Layers.
        ("GET", ["2018-10-31", "layers"]) => {
            let find = query.and_then(|q| {
                form_urlencoded::parse(q.as_bytes()).find_map(|(k, v)| (k == "find").then_some(v))
            });
            match find.as_deref() {
                Some("LayerVersion") => O::GetLayerVersionByArn,
                _ => O::ListLayers,
            }
        }
        ("POST", ["2018-10-31", "layers", layer, "versions"]) => O::PublishLayerVersion(f(layer)),
        ("GET", ["2018-10-31", "layers", layer, "versions"]) => O::ListLayerVersions(f(layer)),
        ("GET", ["2018-10-31", "layers", layer, "versions", n]) => {
            O::GetLayerVersion(f(layer), version(n)?)
        }
        ("DELETE", ["2018-10-31", "layers", layer, "versions", n]) => {
            O::DeleteLayerVersion(f(layer), version(n)?)
        }
        ("POST", ["2018-10-31", "layers", layer, "versions", n, "policy"]) => {
            O::AddLayerVersionPermission(f(layer), version(n)?)
        }
        ("GET", ["2018-10-31", "layers", layer, "versions", n, "policy"]) => {
            O::GetLayerVersionPolicy(f(layer), version(n)?)
        }
        (
            "DELETE",
            [
                "2018-10-31",
                "layers",
                layer,
                "versions",
                n,
                "policy",
                statement,
            ],
        ) => O::RemoveLayerVersionPermission(f(layer), version(n)?, f(statement)),
        // Function URLs.
        ("POST", ["2021-10-31", "functions", name, "url"]) => O::CreateFunctionUrlConfig(f(name)),
        ("GET", ["2021-10-31", "functions", name, "url"]) => O::GetFunctionUrlConfig(f(name)),
        ("PUT", ["2021-10-31", "functions", name, "url"]) => O::UpdateFunctionUrlConfig(f(name)),
        ("DELETE", ["2021-10-31", "functions", name, "url"]) => O::DeleteFunctionUrlConfig(f(name)),
        ("GET", ["2021-10-31", "functions", name, "urls"]) => O::ListFunctionUrlConfigs(f(name)),
        _ => return None,
    };
    Some(op)
}

/// One request on its way to a gRPC handler.
struct Call<'a> {
    door: &'a Door,
    signer: &'a Signer,
    parts: &'a http::request::Parts,
    body: &'a Bytes,
}

impl Call<'_> {
    /// The services the operations run on.
    fn services(&self) -> &crate::api::Services {
        &self.door.inner.services
    }

    /// Runs the gRPC handler `method` (at `path`, which names its IAM
    /// action) as the signer: see [`Door::call`].
    async fn grpc<Req, Res, Fut>(
        &self,
        path: &str,
        message: Req,
        method: impl FnOnce(tonic::Request<Req>) -> Fut,
    ) -> Result<Res, AwsError>
    where
        Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
    {
        self.door.call(self.signer, path, message, method).await
    }

    /// The first value of query parameter `name`.
    fn query(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.parts.uri.query()?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Query parameter `name`, empty when absent (the proto's "unset").
    fn query_or_empty(&self, name: &str) -> String {
        self.query(name).unwrap_or_default()
    }

    /// Query parameter `name` as a number.
    fn query_number(&self, name: &str) -> Result<Option<i32>, AwsError> {
        match self.query(name) {
            Some(n) => n
                .parse()
                .map(Some)
                .map_err(|_| invalid(format!("{name} must be a number, not {n:?}"))),
            None => Ok(None),
        }
    }

    fn header(&self, name: &str) -> String {
        self.parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// Refuses query parameter `name` when given: the proto has no place
    /// for it and ignoring it would change what the call means.
    fn refuse_query(&self, name: &str, why: &str) -> Result<(), AwsError> {
        match self.query(name) {
            Some(v) if !v.is_empty() => Err(unsupported(name, why)),
            _ => Ok(()),
        }
    }

    /// The JSON body as `T` (an empty body is `{}`). A member named in
    /// `refused` (with why) that is given with a value is refused with
    /// InvalidParameterValueException; members `T` lacks are otherwise
    /// ignored, as harmless.
    fn body<T: DeserializeOwned>(&self, refused: &[(&str, &str)]) -> Result<T, AwsError> {
        let value: Value = if self.body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(self.body).map_err(|e| {
                AwsError::new(
                    "InvalidRequestContentException",
                    format!("the request body is not JSON: {e}"),
                )
            })?
        };
        for (name, why) in refused {
            if value.get(name).is_some_and(|v| !is_empty(v)) {
                return Err(unsupported(name, why));
            }
        }
        serde_json::from_value(value).map_err(|e| {
            AwsError::new(
                "InvalidRequestContentException",
                format!("the request body is not this operation's JSON: {e}"),
            )
        })
    }
}

/// Whether a member carries no setting (null, false, "", [], or an object
/// of such): what a client sends for "not given".
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.values().all(is_empty),
        Value::Number(_) => false,
    }
}

fn invalid(message: String) -> AwsError {
    AwsError::new("InvalidParameterValueException", message)
}

fn unsupported(name: &str, why: &str) -> AwsError {
    invalid(format!("funnel does not support {name}: {why}"))
}

/// A blob member (base64 in Lambda's JSON).
fn blob(name: &str, text: &str) -> Result<Vec<u8>, AwsError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| {
            AwsError::new(
                "InvalidRequestContentException",
                format!("{name} is not base64: {e}"),
            )
        })
}

fn json_response(status: StatusCode, value: &Value) -> hyper::Response<HttpBody> {
    respond(
        status,
        &[("content-type", "application/json".into())],
        value.to_string(),
    )
}

fn ok(value: &Value) -> hyper::Response<HttpBody> {
    json_response(StatusCode::OK, value)
}

fn created(value: &Value) -> hyper::Response<HttpBody> {
    json_response(StatusCode::CREATED, value)
}

fn no_content() -> hyper::Response<HttpBody> {
    respond(StatusCode::NO_CONTENT, &[], Bytes::new())
}

pub async fn handle(door: &Door, request: Request) -> Result<hyper::Response<HttpBody>, AwsError> {
    let Request {
        parts,
        body,
        signer,
        ..
    } = request;
    let Some(operation) = operation(&parts.method, parts.uri.path(), parts.uri.query()) else {
        return Err(AwsError::new(
            "UnknownOperationException",
            format!(
                "funnel's Lambda endpoint has no operation at {} {}",
                parts.method,
                parts.uri.path()
            ),
        ));
    };
    let call = Call {
        door,
        signer: &signer,
        parts: &parts,
        body: &body,
    };
    use Operation as O;
    match operation {
        O::CreateFunction => functions::create(&call).await,
        O::ListFunctions => functions::list(&call).await,
        O::GetFunction(name) => functions::get(&call, name).await,
        O::GetFunctionConfiguration(name) => functions::get_configuration(&call, name).await,
        O::UpdateFunctionCode(name) => functions::update_code(&call, name).await,
        O::UpdateFunctionConfiguration(name) => functions::update_configuration(&call, name).await,
        O::DeleteFunction(name) => functions::delete(&call, name).await,
        O::Invoke(name) => functions::invoke(&call, name).await,
        O::PublishVersion(name) => functions::publish_version(&call, name).await,
        O::ListVersionsByFunction(name) => functions::list_versions(&call, name).await,
        O::CreateAlias(name) => aliases::create(&call, name).await,
        O::ListAliases(name) => aliases::list(&call, name).await,
        O::GetAlias(name, alias) => aliases::get(&call, name, alias).await,
        O::UpdateAlias(name, alias) => aliases::update(&call, name, alias).await,
        O::DeleteAlias(name, alias) => aliases::delete(&call, name, alias).await,
        O::AddPermission(name) => policy::add(&call, name).await,
        O::GetPolicy(name) => policy::get(&call, name).await,
        O::RemovePermission(name, statement) => policy::remove(&call, name, statement).await,
        O::PutFunctionConcurrency(name) => concurrency::put(&call, name).await,
        O::GetFunctionConcurrency(name) => concurrency::get(&call, name).await,
        O::DeleteFunctionConcurrency(name) => concurrency::delete(&call, name).await,
        O::PutProvisionedConcurrencyConfig(name) => concurrency::put_provisioned(&call, name).await,
        O::GetProvisionedConcurrencyConfig(name) => concurrency::get_provisioned(&call, name).await,
        O::DeleteProvisionedConcurrencyConfig(name) => {
            concurrency::delete_provisioned(&call, name).await
        }
        O::GetAccountSettings => concurrency::account_settings(&call).await,
        O::PutFunctionEventInvokeConfig(name) => async_config::put(&call, name, false).await,
        O::UpdateFunctionEventInvokeConfig(name) => async_config::put(&call, name, true).await,
        O::GetFunctionEventInvokeConfig(name) => async_config::get(&call, name).await,
        O::DeleteFunctionEventInvokeConfig(name) => async_config::delete(&call, name).await,
        O::PublishLayerVersion(layer) => layers::publish(&call, layer).await,
        O::ListLayers => layers::list(&call).await,
        O::GetLayerVersionByArn => layers::get_by_arn(&call).await,
        O::ListLayerVersions(layer) => layers::list_versions(&call, layer).await,
        O::GetLayerVersion(layer, n) => layers::get(&call, layer, n).await,
        O::DeleteLayerVersion(layer, n) => layers::delete(&call, layer, n).await,
        O::AddLayerVersionPermission(layer, n) => layers::add_permission(&call, layer, n).await,
        O::GetLayerVersionPolicy(layer, n) => layers::get_policy(&call, layer, n).await,
        O::RemoveLayerVersionPermission(layer, n, statement) => {
            layers::remove_permission(&call, layer, n, statement).await
        }
        O::CreateFunctionUrlConfig(name) => urls::create(&call, name).await,
        O::GetFunctionUrlConfig(name) => urls::get(&call, name).await,
        O::UpdateFunctionUrlConfig(name) => urls::update(&call, name).await,
        O::DeleteFunctionUrlConfig(name) => urls::delete(&call, name).await,
        O::ListFunctionUrlConfigs(name) => urls::list(&call, name).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(method: &str, path: &str) -> Option<&'static str> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        operation(&method, path, query).map(|op| match op {
            Operation::GetFunctionConcurrency(_) => "GetFunctionConcurrency",
            Operation::PutFunctionConcurrency(_) => "PutFunctionConcurrency",
            Operation::GetLayerVersionByArn => "GetLayerVersionByArn",
            Operation::ListLayers => "ListLayers",
            Operation::GetLayerVersion(layer, 3) if layer.contains(':') => "GetLayerVersion(arn)",
            Operation::RemovePermission(_, s) if s == "s1" => "RemovePermission",
            Operation::ListFunctionUrlConfigs(_) => "ListFunctionUrlConfigs",
            Operation::GetFunction(name) if name.ends_with(":hello") => "GetFunction(arn)",
            _ => "other",
        })
    }

    #[test]
    fn operations_sit_at_botocores_paths() {
        assert_eq!(
            named("GET", "/2019-09-30/functions/f/concurrency"),
            Some("GetFunctionConcurrency")
        );
        assert_eq!(
            named("PUT", "/2017-10-31/functions/f/concurrency"),
            Some("PutFunctionConcurrency")
        );
        // Get's path is 2019's; the 2017 one is not Get.
        assert_eq!(named("GET", "/2017-10-31/functions/f/concurrency"), None);
        assert_eq!(
            named("GET", "/2018-10-31/layers?find=LayerVersion&Arn=x"),
            Some("GetLayerVersionByArn")
        );
        assert_eq!(named("GET", "/2018-10-31/layers"), Some("ListLayers"));
        assert_eq!(
            named(
                "GET",
                "/2018-10-31/layers/arn%3Afunnel%3Alambda%3Alocal%3A0%3Alayer%3Alib/versions/3"
            ),
            Some("GetLayerVersion(arn)")
        );
        assert_eq!(named("GET", "/2018-10-31/layers/lib/versions/three"), None);
        assert_eq!(
            named("DELETE", "/2015-03-31/functions/f/policy/s1"),
            Some("RemovePermission")
        );
        assert_eq!(
            named("GET", "/2021-10-31/functions/f/urls"),
            Some("ListFunctionUrlConfigs")
        );
        assert_eq!(
            named(
                "GET",
                "/2015-03-31/functions/arn%3Afunnel%3Alambda%3Alocal%3A000000000000%3Afunction%3Ahello"
            ),
            Some("GetFunction(arn)")
        );
        assert_eq!(named("PATCH", "/2015-03-31/functions/f"), None);
        assert_eq!(named("GET", "/2015-03-31/functions/f/nothing"), None);
    }

    #[test]
    fn empty_members_are_not_settings() {
        assert!(is_empty(
            &serde_json::json!({"SubnetIds": [], "SecurityGroupIds": []})
        ));
        assert!(!is_empty(&serde_json::json!({"SubnetIds": ["subnet-1"]})));
        assert!(!is_empty(&serde_json::json!({"DryRun": true})));
    }
}
