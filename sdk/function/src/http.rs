//! HTTP events for JSON handlers behind a function URL or a route: the
//! request as Lambda sends it ([`HttpRequest`], payload format 2.0, the
//! default; [`ProxyRequest`], 1.0, for routes made with
//! `--payload-format-version 1.0`) and the response to return
//! ([`HttpResponse`], [`ProxyResponse`]).
//!
//! ```ignore
//! use funnel_function::http::{HttpRequest, HttpResponse};
//! use funnel_function::{Context, Error};
//!
//! fn greet(request: HttpRequest, _ctx: Context) -> Result<HttpResponse, Error> {
//!     let name = request.path_parameter("name").unwrap_or("world");
//!     Ok(HttpResponse::text(200, format!("Hello, {name}!")))
//! }
//!
//! funnel_function::handler!(greet);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// A map that may be `null` in the event (1.0 sends `null` for none).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Payload format 2.0: what a function URL, or a route, sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpRequest {
    pub version: String,
    /// `$default` for a URL; the route's key (`GET /users/{id}`) for a route.
    pub route_key: String,
    /// The path below the URL's (or API's) root.
    pub raw_path: String,
    pub raw_query_string: String,
    #[serde(deserialize_with = "nullable")]
    pub cookies: Vec<String>,
    /// Lower-case names; repeated headers joined with commas.
    #[serde(deserialize_with = "nullable")]
    pub headers: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub query_string_parameters: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub path_parameters: BTreeMap<String, String>,
    pub request_context: RequestContext,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

/// 2.0's `requestContext`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestContext {
    pub account_id: String,
    pub api_id: String,
    pub domain_name: String,
    pub domain_prefix: String,
    pub http: RequestHttp,
    pub request_id: String,
    pub route_key: String,
    pub stage: String,
    pub time: String,
    pub time_epoch: i64,
}

/// 2.0's `requestContext.http`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestHttp {
    pub method: String,
    pub path: String,
    pub protocol: String,
    pub source_ip: String,
    pub user_agent: String,
}

impl HttpRequest {
    pub fn method(&self) -> &str {
        &self.request_context.http.method
    }

    /// A header's value (names are matched without regard to case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A query parameter's value (repeated ones joined with commas).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_string_parameters.get(name).map(String::as_str)
    }

    /// A path parameter of the route (`{id}`, or `proxy` for `{proxy+}`).
    pub fn path_parameter(&self, name: &str) -> Option<&str> {
        self.path_parameters.get(name).map(String::as_str)
    }

    /// The body's bytes (base64 decoded when it came that way).
    pub fn body_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        body_bytes(self.body.as_deref(), self.is_base64_encoded)
    }

    /// The body, parsed as JSON into `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::Error> {
        serde_json::from_slice(&self.body_bytes()?)
            .map_err(|e| crate::Error::new("InvalidRequestBody", e.to_string()))
    }
}

fn body_bytes(body: Option<&str>, base64: bool) -> Result<Vec<u8>, crate::Error> {
    let body = body.unwrap_or_default();
    if base64 {
        decode_base64(body)
            .ok_or_else(|| crate::Error::new("InvalidRequestBody", "the body is not valid base64"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// The response for payload format 2.0 (and for a function URL).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    /// One `set-cookie` header each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl HttpResponse {
    /// An empty response with `status`.
    pub fn new(status: u16) -> HttpResponse {
        HttpResponse {
            status_code: status,
            headers: BTreeMap::new(),
            cookies: Vec::new(),
            body: String::new(),
            is_base64_encoded: false,
        }
    }

    /// `text/plain` `body`.
    pub fn text(status: u16, body: impl Into<String>) -> HttpResponse {
        let mut response = HttpResponse::new(status).header("content-type", "text/plain");
        response.body = body.into();
        response
    }

    /// `application/json` of `value`.
    pub fn json(status: u16, value: &impl Serialize) -> HttpResponse {
        let mut response = HttpResponse::new(status).header("content-type", "application/json");
        response.body = serde_json::to_string(value).unwrap_or_default();
        response
    }

    /// Bytes (sent base64 encoded, decoded by funnel) of `content_type`.
    pub fn binary(status: u16, content_type: &str, bytes: &[u8]) -> HttpResponse {
        let mut response = HttpResponse::new(status).header("content-type", content_type);
        response.body = encode_base64(bytes);
        response.is_base64_encoded = true;
        response
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> HttpResponse {
        self.headers.insert(name.to_ascii_lowercase(), value.into());
        self
    }

    /// A `set-cookie` (`"id=7; Path=/; Secure"`).
    pub fn cookie(mut self, cookie: impl Into<String>) -> HttpResponse {
        self.cookies.push(cookie.into());
        self
    }
}

/// Payload format 1.0: API Gateway's REST proxy event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProxyRequest {
    pub version: String,
    /// The route's path (`/users/{id}`).
    pub resource: String,
    pub path: String,
    pub http_method: String,
    /// The last value of each header.
    #[serde(deserialize_with = "nullable")]
    pub headers: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub multi_value_headers: BTreeMap<String, Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    pub query_string_parameters: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub multi_value_query_string_parameters: BTreeMap<String, Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    pub path_parameters: BTreeMap<String, String>,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

impl ProxyRequest {
    /// A header's value (names are matched without regard to case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path_parameter(&self, name: &str) -> Option<&str> {
        self.path_parameters.get(name).map(String::as_str)
    }

    /// The body's bytes (base64 decoded when it came that way).
    pub fn body_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        body_bytes(self.body.as_deref(), self.is_base64_encoded)
    }
}

/// The response for payload format 1.0 (`statusCode` is required).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub multi_value_headers: BTreeMap<String, Vec<String>>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl ProxyResponse {
    /// `text/plain` `body`.
    pub fn text(status: u16, body: impl Into<String>) -> ProxyResponse {
        ProxyResponse {
            status_code: status,
            headers: BTreeMap::from([("content-type".to_string(), "text/plain".to_string())]),
            multi_value_headers: BTreeMap::new(),
            body: body.into(),
            is_base64_encoded: false,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> ProxyResponse {
        self.headers.insert(name.to_ascii_lowercase(), value.into());
        self
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (what Lambda's events use).
fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == byte)? as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for bytes in [&b""[..], b"h", b"hi", b"hi!", &[0, 159, 146, 150, 255]] {
            let text = encode_base64(bytes);
            assert_eq!(decode_base64(&text).as_deref(), Some(bytes), "{text}");
        }
        assert_eq!(encode_base64(b"hi"), "aGk=");
        assert_eq!(decode_base64("AJ+Slg==").unwrap(), [0, 159, 146, 150]);
        assert!(decode_base64("!!").is_none());
    }

    #[test]
    fn events_of_either_format_read_with_nulls() {
        let v2: HttpRequest = serde_json::from_str(
            r#"{"version":"2.0","routeKey":"GET /hello/{name}","rawPath":"/hello/Ada",
                "rawQueryString":"","headers":{"x-a":"1"},"pathParameters":{"name":"Ada"},
                "requestContext":{"http":{"method":"GET","path":"/hello/Ada"}},
                "isBase64Encoded":true,"body":"aGk="}"#,
        )
        .unwrap();
        assert_eq!(v2.path_parameter("name"), Some("Ada"));
        assert_eq!(v2.header("X-A"), Some("1"));
        assert_eq!(v2.method(), "GET");
        assert_eq!(v2.body_bytes().unwrap(), b"hi");
        let v1: ProxyRequest = serde_json::from_str(
            r#"{"resource":"/hello/{name}","path":"/hello/Ada","httpMethod":"GET",
                "headers":null,"multiValueHeaders":null,"queryStringParameters":null,
                "pathParameters":{"name":"Ada"},"body":null,"isBase64Encoded":false}"#,
        )
        .unwrap();
        assert_eq!(v1.path_parameter("name"), Some("Ada"));
        assert!(v1.headers.is_empty());
        let answer = serde_json::to_value(HttpResponse::text(201, "made").cookie("a=1")).unwrap();
        assert_eq!(answer["statusCode"], 201);
        assert_eq!(answer["headers"]["content-type"], "text/plain");
        assert_eq!(answer["cookies"][0], "a=1");
    }
}
