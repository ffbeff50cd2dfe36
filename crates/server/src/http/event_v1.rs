//! The event a route of payload format 1.0 sends: API Gateway's REST
//! proxy shape (`resource`, `path`, `httpMethod`, `multiValueHeaders`,
//! ...), as HTTP APIs send it for `PayloadFormatVersion 1.0`.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use serde_json::{Map, Value, json};

use super::event::{Context, body_field, protocol};
use crate::apis::key::RouteKey;

/// The 1.0 event of `request` (whose body is `body`). Repeated headers
/// and query parameters are all in the `multiValue…` maps; the
/// single-value maps hold the last one, as API Gateway does.
pub fn v1(request: &http::request::Parts, body: &[u8], context: &Context<'_>) -> Value {
    let mut multi_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &request.headers {
        multi_headers
            .entry(name.as_str().to_string())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let mut multi_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let raw_query = request.uri.query().unwrap_or_default();
    for (name, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        multi_query
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let last = |multi: &BTreeMap<String, Vec<String>>| -> Value {
        if multi.is_empty() {
            return Value::Null;
        }
        Value::Object(
            multi
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), Value::String(v.last()?.clone()))))
                .collect::<Map<_, _>>(),
        )
    };
    let multi = |multi: &BTreeMap<String, Vec<String>>| -> Value {
        if multi.is_empty() {
            Value::Null
        } else {
            json!(multi)
        }
    };
    let user_agent = request
        .headers
        .get(http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let epoch = context.now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let time = chrono::DateTime::<chrono::Utc>::from(context.now)
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let resource = RouteKey::resource(context.route_key);
    let method = request.method.as_str();
    let (body, encoded) = match body_field(request, body) {
        Some((text, encoded)) => (Value::String(text), encoded),
        None => (Value::Null, false),
    };
    json!({
        "version": "1.0",
        "resource": resource,
        "path": context.raw_path,
        "httpMethod": method,
        "headers": last(&multi_headers),
        "multiValueHeaders": multi(&multi_headers),
        "queryStringParameters": last(&multi_query),
        "multiValueQueryStringParameters": multi(&multi_query),
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "authorizer": {"claims": null, "scopes": null},
            "domainName": context.domain_name,
            "domainPrefix": context.domain_prefix,
            "extendedRequestId": context.request_id,
            "httpMethod": method,
            "identity": {
                "accessKey": null,
                "accountId": null,
                "caller": null,
                "cognitoAuthenticationProvider": null,
                "cognitoAuthenticationType": null,
                "cognitoIdentityId": null,
                "cognitoIdentityPoolId": null,
                "principalOrgId": null,
                "sourceIp": context.source_ip,
                "user": null,
                "userAgent": user_agent,
                "userArn": null,
            },
            "path": context.raw_path,
            "protocol": protocol(request.version),
            "requestId": context.request_id,
            "requestTime": time,
            "requestTimeEpoch": epoch.as_millis() as u64,
            "resourceId": null,
            "resourcePath": resource,
            "stage": "$default",
        },
        "pathParameters": context.path_parameters.filter(|p| !p.is_empty()).map(|p| json!(p)),
        "stageVariables": null,
        "body": body,
        "isBase64Encoded": encoded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(
        route_key: &'a str,
        raw_path: &'a str,
        path_parameters: Option<&'a BTreeMap<String, String>>,
    ) -> Context<'a> {
        Context {
            request_id: "id=",
            account_id: "123456789012",
            api_id: "id",
            domain_name: "id.execute-api.us-east-1.amazonaws.com",
            domain_prefix: "id",
            route_key,
            raw_path,
            source_ip: "192.0.2.1",
            path_parameters,
            authorizer: None,
            now: UNIX_EPOCH + std::time::Duration::from_millis(1_583_349_317_135),
        }
    }

    /// AWS's documented format 1.0 request ("Working with AWS Lambda proxy
    /// integrations for HTTP APIs"), field by field. Where a name repeats,
    /// the single-value maps hold the last value (API Gateway's rule).
    #[test]
    fn the_documented_example() {
        let request =
            http::Request::get("/my/path?parameter1=value1&parameter1=value2&parameter2=value")
                .header("header1", "value1")
                .header("header2", "value1")
                .header("header2", "value2")
                .header("user-agent", "user-agent")
                .header("content-type", "text/plain")
                .body(())
                .unwrap()
                .into_parts()
                .0;
        let event = v1(
            &request,
            b"Hello from Lambda!",
            &context("GET /my/path", "/my/path", None),
        );
        assert_eq!(event["version"], "1.0");
        assert_eq!(event["resource"], "/my/path");
        assert_eq!(event["path"], "/my/path");
        assert_eq!(event["httpMethod"], "GET");
        assert_eq!(event["headers"]["header1"], "value1");
        assert_eq!(event["headers"]["header2"], "value2");
        assert_eq!(event["multiValueHeaders"]["header1"], json!(["value1"]));
        assert_eq!(
            event["multiValueHeaders"]["header2"],
            json!(["value1", "value2"])
        );
        assert_eq!(
            event["queryStringParameters"],
            json!({"parameter1": "value2", "parameter2": "value"})
        );
        assert_eq!(
            event["multiValueQueryStringParameters"],
            json!({"parameter1": ["value1", "value2"], "parameter2": ["value"]})
        );
        let c = &event["requestContext"];
        assert_eq!(c["accountId"], "123456789012");
        assert_eq!(c["apiId"], "id");
        assert_eq!(c["authorizer"], json!({"claims": null, "scopes": null}));
        assert_eq!(c["domainName"], "id.execute-api.us-east-1.amazonaws.com");
        assert_eq!(c["domainPrefix"], "id");
        assert_eq!(c["extendedRequestId"], "id=");
        assert_eq!(c["httpMethod"], "GET");
        for absent in [
            "accessKey",
            "accountId",
            "caller",
            "cognitoAuthenticationProvider",
            "cognitoAuthenticationType",
            "cognitoIdentityId",
            "cognitoIdentityPoolId",
            "principalOrgId",
            "user",
            "userArn",
        ] {
            assert_eq!(c["identity"][absent], Value::Null, "{absent}");
        }
        assert_eq!(c["identity"]["sourceIp"], "192.0.2.1");
        assert_eq!(c["identity"]["userAgent"], "user-agent");
        assert_eq!(c["path"], "/my/path");
        assert_eq!(c["protocol"], "HTTP/1.1");
        assert_eq!(c["requestId"], "id=");
        assert_eq!(c["requestTime"], "04/Mar/2020:19:15:17 +0000");
        assert_eq!(c["requestTimeEpoch"], 1_583_349_317_135u64);
        assert_eq!(c["resourcePath"], "/my/path");
        assert_eq!(c["stage"], "$default");
        assert_eq!(event["pathParameters"], Value::Null);
        assert_eq!(event["stageVariables"], Value::Null);
        assert_eq!(event["body"], "Hello from Lambda!");
        assert_eq!(event["isBase64Encoded"], false);
    }

    /// A handler written against `aws_lambda_events` reads the event.
    #[test]
    fn aws_lambda_events_reads_it() {
        use aws_lambda_events::apigw::ApiGatewayProxyRequest;
        let parameters = BTreeMap::from([("id".to_string(), "42".to_string())]);
        let request = http::Request::post("/users/42?x=1&x=2")
            .header("content-type", "image/png")
            .header("cookie", "a=1")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let event = v1(
            &request,
            &[0x89, b'P'],
            &context("POST /users/{id}", "/users/42", Some(&parameters)),
        );
        let parsed: ApiGatewayProxyRequest =
            serde_json::from_value(event.clone()).expect("an ApiGatewayProxyRequest");
        assert_eq!(parsed.resource.as_deref(), Some("/users/{id}"));
        assert_eq!(parsed.path.as_deref(), Some("/users/42"));
        assert_eq!(parsed.http_method, http::Method::POST);
        assert_eq!(parsed.path_parameters["id"], "42");
        assert_eq!(
            parsed.multi_value_query_string_parameters.all("x"),
            Some(vec!["1", "2"])
        );
        assert_eq!(parsed.headers["cookie"], "a=1");
        assert!(parsed.is_base64_encoded);
        assert_eq!(parsed.body.as_deref(), Some("iVA="));
        assert_eq!(parsed.request_context.request_time_epoch, 1_583_349_317_135);
        assert_eq!(
            parsed.request_context.identity.source_ip.as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(
            parsed.request_context.resource_path.as_deref(),
            Some("/users/{id}")
        );
        // Nothing repeated and nothing sent: null, as API Gateway.
        let bare = http::Request::get("/").body(()).unwrap().into_parts().0;
        let event = v1(&bare, b"", &context("$default", "/", None));
        assert_eq!(event["resource"], "$default");
        assert_eq!(event["queryStringParameters"], Value::Null);
        assert_eq!(event["body"], Value::Null);
    }
}
