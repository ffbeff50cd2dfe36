//! What a JSON handler's answer becomes, by Lambda's rules for function
//! URLs and HTTP APIs. Payload format 2.0: an object with `statusCode`
//! gives the status, `headers`, `cookies` and `body`; any other JSON is a
//! 200 `application/json` with that JSON as its body. Payload format 1.0
//! (routes that ask for it): the answer must be an object with a valid
//! `statusCode` (else a 502), with `headers`, `multiValueHeaders` and
//! `body`.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value;

/// An HTTP answer, before the door adds its own headers.
#[derive(Debug)]
pub struct Answer {
    pub status: http::StatusCode,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: Bytes,
}

impl Answer {
    /// A JSON body with `content-type: application/json`.
    pub fn json(status: http::StatusCode, body: &Value) -> Answer {
        Answer {
            status,
            headers: vec![(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from(body.to_string()),
        }
    }

    /// The response, with a body of the door's type.
    pub fn into_response(self) -> http::Response<funnel_runtime::HttpBody> {
        use http_body_util::BodyExt as _;
        let body = http_body_util::Full::new(self.body)
            .map_err(|never| match never {})
            .boxed_unsync();
        let mut response = http::Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }

    /// `{"message": "<message>"}`, API Gateway's error body.
    pub fn message(status: http::StatusCode, message: &str) -> Answer {
        Answer::json(status, &serde_json::json!({ "message": message }))
    }
}

/// The payload format of the event sent, which sets the answer's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    V2,
    V1,
}

/// Why a handler's answer is not a valid HTTP response (a 502).
#[derive(Debug)]
pub struct Malformed(pub String);

/// The HTTP response a handler's `payload` (its JSON result) asks for.
pub fn from_payload(payload: Vec<u8>, format: Format) -> Result<Answer, Malformed> {
    let value: Value = serde_json::from_slice(&payload)
        .map_err(|e| Malformed(format!("the function's answer is not JSON: {e}")))?;
    let mut fields = match value {
        Value::Object(fields) if fields.contains_key("statusCode") => fields,
        _ if format == Format::V1 => {
            return Err(Malformed(
                "payload format 1.0 needs an object with statusCode".into(),
            ));
        }
        _ => return Ok(plain(payload)),
    };
    let status = fields.remove("statusCode").unwrap_or_default();
    let status = status
        .as_u64()
        .and_then(|code| u16::try_from(code).ok())
        .and_then(|code| http::StatusCode::from_u16(code).ok())
        .filter(|code| (100..=599).contains(&code.as_u16()))
        .ok_or_else(|| Malformed(format!("statusCode {status} is not an HTTP status")))?;
    let mut headers = Vec::new();
    let mut content_type = false;
    match fields.remove("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (name, value) in given {
                let value = match value {
                    Value::String(text) => text,
                    Value::Null => continue,
                    other => other.to_string(),
                };
                let name = http::HeaderName::try_from(name.as_str())
                    .map_err(|_| Malformed(format!("{name:?} is not a header name")))?;
                let value = http::HeaderValue::try_from(value.as_str())
                    .map_err(|_| Malformed(format!("the value of header {name} is not valid")))?;
                content_type |= name == http::header::CONTENT_TYPE;
                headers.push((name, value));
            }
        }
        Some(other) => return Err(Malformed(format!("headers must be an object, not {other}"))),
    }
    if format == Format::V1 {
        match fields.remove("multiValueHeaders") {
            None | Some(Value::Null) => {}
            Some(Value::Object(given)) => {
                for (name, values) in given {
                    let Value::Array(values) = values else {
                        return Err(Malformed(format!(
                            "multiValueHeaders.{name} must be an array, not {values}"
                        )));
                    };
                    let name = http::HeaderName::try_from(name.as_str())
                        .map_err(|_| Malformed(format!("{name:?} is not a header name")))?;
                    // A name in both maps: multiValueHeaders wins, as API Gateway.
                    headers.retain(|(n, _)| *n != name);
                    for value in values {
                        let value = match value {
                            Value::String(text) => text,
                            other => other.to_string(),
                        };
                        let value = http::HeaderValue::try_from(value.as_str()).map_err(|_| {
                            Malformed(format!("the value of header {name} is not valid"))
                        })?;
                        content_type |= name == http::header::CONTENT_TYPE;
                        headers.push((name.clone(), value));
                    }
                }
            }
            Some(other) => {
                return Err(Malformed(format!(
                    "multiValueHeaders must be an object, not {other}"
                )));
            }
        }
    }
    match fields.remove("cookies").filter(|_| format == Format::V2) {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for cookie in cookies {
                let Value::String(cookie) = cookie else {
                    return Err(Malformed(format!("cookie {cookie} is not a string")));
                };
                let value = http::HeaderValue::try_from(cookie.as_str())
                    .map_err(|_| Malformed(format!("cookie {cookie:?} is not a valid header")))?;
                headers.push((http::header::SET_COOKIE, value));
            }
        }
        Some(other) => return Err(Malformed(format!("cookies must be an array, not {other}"))),
    }
    let base64 = match fields.remove("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => flag,
        Some(other) => {
            return Err(Malformed(format!(
                "isBase64Encoded must be a boolean, not {other}"
            )));
        }
    };
    let body = match fields.remove("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if base64 => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|e| Malformed(format!("the body is not valid base64: {e}")))?,
        ),
        Some(Value::String(text)) => Bytes::from(text),
        Some(other) => Bytes::from(other.to_string()),
    };
    if !content_type {
        headers.push((
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        ));
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn plain(payload: Vec<u8>) -> Answer {
    Answer {
        status: http::StatusCode::OK,
        headers: vec![(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )],
        body: Bytes::from(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Answer {
        from_payload(json.as_bytes().to_vec(), Format::V2).expect("a valid answer")
    }

    fn header<'a>(answer: &'a Answer, name: &str) -> Vec<&'a str> {
        answer
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn a_status_object_is_the_response() {
        let a = answer(
            r#"{"statusCode": 201, "headers": {"x-custom": "yes", "content-type": "text/plain"},
                "cookies": ["a=1", "b=2; Secure"], "body": "made"}"#,
        );
        assert_eq!(a.status, 201);
        assert_eq!(header(&a, "x-custom"), ["yes"]);
        assert_eq!(header(&a, "content-type"), ["text/plain"]);
        assert_eq!(header(&a, "set-cookie"), ["a=1", "b=2; Secure"]);
        assert_eq!(a.body, "made");
        let a = answer(r#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}"#);
        assert_eq!(a.body, "hi");
        assert_eq!(header(&a, "content-type"), ["application/json"]);
    }

    #[test]
    fn any_other_json_is_a_200_with_that_json() {
        for json in [r#"{"message":"hi"}"#, r#""hello""#, "[1,2]", "42"] {
            let a = answer(json);
            assert_eq!(a.status, 200);
            assert_eq!(a.body, json);
            assert_eq!(header(&a, "content-type"), ["application/json"]);
        }
    }

    #[test]
    fn a_malformed_answer_is_named() {
        for (json, why) in [
            (r#"{"statusCode": "ok"}"#, "statusCode"),
            (r#"{"statusCode": 99}"#, "statusCode"),
            (r#"{"statusCode": 200, "headers": []}"#, "headers"),
            (
                r#"{"statusCode": 200, "headers": {"bad name": "x"}}"#,
                "header name",
            ),
            (r#"{"statusCode": 200, "cookies": [1]}"#, "cookie"),
            (
                r#"{"statusCode": 200, "body": "!!", "isBase64Encoded": true}"#,
                "base64",
            ),
            ("not json", "not JSON"),
        ] {
            let err = from_payload(json.as_bytes().to_vec(), Format::V2).unwrap_err();
            assert!(err.0.contains(why), "{json}: {}", err.0);
        }
    }

    #[test]
    fn format_1_0_needs_a_status_and_reads_multi_value_headers() {
        for json in [
            r#"{"message":"hi"}"#,
            r#""hello""#,
            "42",
            r#"{"statusCode": "200"}"#,
        ] {
            let err = from_payload(json.as_bytes().to_vec(), Format::V1).unwrap_err();
            assert!(err.0.contains("statusCode"), "{json}: {}", err.0);
        }
        let a = from_payload(
            br#"{"statusCode": 201, "headers": {"x-a": "1", "x-b": "1"},
                 "multiValueHeaders": {"x-b": ["2", "3"]}, "body": "made",
                 "cookies": ["ignored=1"]}"#
                .to_vec(),
            Format::V1,
        )
        .unwrap();
        assert_eq!(a.status, 201);
        assert_eq!(header(&a, "x-a"), ["1"]);
        assert_eq!(header(&a, "x-b"), ["2", "3"]);
        assert!(header(&a, "set-cookie").is_empty());
        assert_eq!(a.body, "made");
        let err = from_payload(
            br#"{"statusCode": 200, "multiValueHeaders": {"x": "1"}}"#.to_vec(),
            Format::V1,
        )
        .unwrap_err();
        assert!(err.0.contains("multiValueHeaders.x"), "{}", err.0);
    }
}
