//! The event a JSON handler gets for an HTTP request: Lambda's payload
//! format 2.0, as function URLs and HTTP APIs send it.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// What the event is made of, besides the request itself.
pub struct Context<'a> {
    pub request_id: &'a str,
    pub account_id: &'a str,
    /// The URL id (or the API's id).
    pub api_id: &'a str,
    pub domain_name: &'a str,
    pub domain_prefix: &'a str,
    /// `$default` for a URL; `GET /users/{id}` for a route.
    pub route_key: &'a str,
    /// The path below the URL's (or API's) root, from `/`.
    pub raw_path: &'a str,
    pub source_ip: &'a str,
    pub path_parameters: Option<&'a BTreeMap<String, String>>,
    /// `requestContext.authorizer` (an access key's caller), if any.
    pub authorizer: Option<Value>,
    pub now: SystemTime,
}

/// The 2.0 event of `request` (whose body is `body`).
pub fn v2(request: &http::request::Parts, body: &[u8], context: &Context<'_>) -> Value {
    let raw_query = request.uri.query().unwrap_or_default();
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        if name == http::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            continue;
        }
        // Names are lower-case already (the http crate keeps them so).
        match headers.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(value.into_owned()));
            }
        }
    }
    let user_agent = request
        .headers
        .get(http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let epoch = context.now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let time = chrono::DateTime::<chrono::Utc>::from(context.now)
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let mut event = json!({
        "version": "2.0",
        "routeKey": context.route_key,
        "rawPath": context.raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "domainName": context.domain_name,
            "domainPrefix": context.domain_prefix,
            "http": {
                "method": request.method.as_str(),
                "path": context.raw_path,
                "protocol": protocol(request.version),
                "sourceIp": context.source_ip,
                "userAgent": user_agent,
            },
            "requestId": context.request_id,
            "routeKey": context.route_key,
            "stage": "$default",
            "time": time,
            "timeEpoch": epoch.as_millis() as u64,
        },
        "isBase64Encoded": false,
    });
    let fields = event.as_object_mut().expect("an object");
    if !cookies.is_empty() {
        fields.insert("cookies".into(), Value::Array(cookies));
    }
    if !raw_query.is_empty() {
        fields.insert("queryStringParameters".into(), query_parameters(raw_query));
    }
    if let Some(parameters) = context.path_parameters {
        fields.insert("pathParameters".into(), json!(parameters));
    }
    if let Some(authorizer) = &context.authorizer {
        fields["requestContext"]
            .as_object_mut()
            .expect("an object")
            .insert("authorizer".into(), authorizer.clone());
    }
    if let Some((text, encoded)) = body_field(request, body) {
        fields.insert("body".into(), Value::String(text));
        fields.insert("isBase64Encoded".into(), Value::Bool(encoded));
    }
    event
}

/// The event's `body` and `isBase64Encoded`: text when it is UTF-8 of a
/// textual type, else base64; `None` for an empty body.
pub(super) fn body_field(request: &http::request::Parts, body: &[u8]) -> Option<(String, bool)> {
    if body.is_empty() {
        return None;
    }
    let content_type = request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Some(match std::str::from_utf8(body) {
        Ok(text) if is_textual(content_type) => (text.to_string(), false),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
    })
}

/// `a=1&a=2&b=x%20y` → `{"a": "1,2", "b": "x y"}`, as Lambda joins them.
fn query_parameters(raw: &str) -> Value {
    let mut parameters = Map::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        match parameters.get_mut(name.as_ref()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                parameters.insert(name.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    Value::Object(parameters)
}

pub(super) fn protocol(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Whether a body of this content type travels as text (else base64).
fn is_textual(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("/json")
        || essence.ends_with("+json")
        || essence.ends_with("/xml")
        || essence.ends_with("+xml")
        || essence == "application/javascript"
        || essence == "application/x-www-form-urlencoded"
        || essence == "application/graphql"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(request: http::Request<()>) -> http::request::Parts {
        request.into_parts().0
    }

    fn context<'a>(raw_path: &'a str) -> Context<'a> {
        Context {
            request_id: "id",
            account_id: "123456789012",
            api_id: "abcdefghijklmnopqrstuvwxyz012345",
            domain_name: "127.0.0.1:7879",
            domain_prefix: "abcdefghijklmnopqrstuvwxyz012345",
            route_key: "$default",
            raw_path,
            source_ip: "123.123.123.123",
            path_parameters: None,
            authorizer: None,
            now: UNIX_EPOCH + std::time::Duration::from_millis(1_583_348_638_390),
        }
    }

    /// AWS's documented function URL request, field by field.
    #[test]
    fn the_documented_example() {
        let request =
            http::Request::post("/my/path?parameter1=value1&parameter1=value2&parameter2=value")
                .header("header1", "value1")
                .header("header2", "value1")
                .header("header2", "value2")
                .header("cookie", "cookie1; cookie2")
                .header("user-agent", "agent")
                .header("content-type", "text/plain")
                .body(())
                .unwrap();
        let event = v2(&parts(request), b"Hello from client!", &context("/my/path"));
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "$default");
        assert_eq!(event["rawPath"], "/my/path");
        assert_eq!(
            event["rawQueryString"],
            "parameter1=value1&parameter1=value2&parameter2=value"
        );
        assert_eq!(event["cookies"], json!(["cookie1", "cookie2"]));
        assert_eq!(event["headers"]["header1"], "value1");
        assert_eq!(event["headers"]["header2"], "value1,value2");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(
            event["queryStringParameters"],
            json!({"parameter1": "value1,value2", "parameter2": "value"})
        );
        let context = &event["requestContext"];
        assert_eq!(context["accountId"], "123456789012");
        assert_eq!(context["http"]["method"], "POST");
        assert_eq!(context["http"]["path"], "/my/path");
        assert_eq!(context["http"]["protocol"], "HTTP/1.1");
        assert_eq!(context["http"]["sourceIp"], "123.123.123.123");
        assert_eq!(context["http"]["userAgent"], "agent");
        assert_eq!(context["stage"], "$default");
        assert_eq!(context["time"], "04/Mar/2020:19:03:58 +0000");
        assert_eq!(context["timeEpoch"], 1_583_348_638_390u64);
        assert_eq!(event["body"], "Hello from client!");
        assert_eq!(event["isBase64Encoded"], false);
    }

    /// AWS's documented HTTP API (route) request: the route key and path
    /// parameters, and a handler's `aws_lambda_events` type reads it.
    #[test]
    fn the_documented_route_example() {
        let request = http::Request::post("/my/path?parameter1=value1&parameter1=value2")
            .header("header2", "value1")
            .header("header2", "value2")
            .header("user-agent", "agent")
            .body(())
            .unwrap();
        let parameters = BTreeMap::from([("parameter1".to_string(), "value1".to_string())]);
        let mut context = context("/my/path");
        context.route_key = "POST /my/{parameter1}";
        context.api_id = "api-id";
        context.domain_name = "id.execute-api.us-east-1.amazonaws.com";
        context.domain_prefix = "id";
        context.path_parameters = Some(&parameters);
        let event = v2(&parts(request), b"Hello from Lambda", &context);
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "POST /my/{parameter1}");
        assert_eq!(event["rawPath"], "/my/path");
        assert_eq!(event["headers"]["header2"], "value1,value2");
        assert_eq!(event["pathParameters"], json!({"parameter1": "value1"}));
        let c = &event["requestContext"];
        assert_eq!(c["apiId"], "api-id");
        assert_eq!(c["domainName"], "id.execute-api.us-east-1.amazonaws.com");
        assert_eq!(c["domainPrefix"], "id");
        assert_eq!(c["routeKey"], "POST /my/{parameter1}");
        assert_eq!(c["stage"], "$default");
        assert_eq!(event["body"], "Hello from Lambda");
        let parsed: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
            serde_json::from_value(event).expect("an ApiGatewayV2httpRequest");
        assert_eq!(parsed.route_key.as_deref(), Some("POST /my/{parameter1}"));
        assert_eq!(parsed.path_parameters["parameter1"], "value1");
        assert_eq!(
            parsed.query_string_parameters.all("parameter1"),
            Some(vec!["value1", "value2"])
        );
    }

    #[test]
    fn binary_bodies_are_base64_and_empty_parts_are_left_out() {
        let request = http::Request::put("/")
            .header("content-type", "image/png")
            .body(())
            .unwrap();
        let event = v2(&parts(request), &[0x89, b'P', b'N', b'G'], &context("/"));
        assert_eq!(event["body"], "iVBORw==");
        assert_eq!(event["isBase64Encoded"], true);
        let request = http::Request::get("/").body(()).unwrap();
        let event = v2(&parts(request), b"", &context("/"));
        for absent in ["body", "cookies", "queryStringParameters", "pathParameters"] {
            assert!(event.get(absent).is_none(), "{absent} is set: {event}");
        }
        assert_eq!(event["rawQueryString"], "");
        // Not UTF-8, whatever the type says.
        let request = http::Request::post("/")
            .header("content-type", "text/plain")
            .body(())
            .unwrap();
        assert_eq!(
            v2(&parts(request), &[0xff], &context("/"))["isBase64Encoded"],
            true
        );
    }
}
