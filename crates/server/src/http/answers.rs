//! The door's own answers: a refusal, a failure, a finished invocation
//! shaped by Lambda's rules, and what is sent back (whole or streamed).

use funnel_runtime::HttpBody;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use super::response::{self, Answer, Format};
use crate::dispatch::InvokeResult;
use crate::error::Error;
use crate::function::MAX_SYNC_PAYLOAD_BYTES;

/// Why an invocation did not run, as an HTTP answer.
pub(super) fn refused(err: Error) -> Answer {
    match err {
        Error::Throttled {
            reason,
            retry_after_seconds,
        } => {
            let mut answer = Answer::message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            answer.headers.push((
                http::header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds),
            ));
            answer.headers.push(error_type("TooManyRequestsException"));
            if let Ok(reason) = HeaderValue::try_from(reason) {
                answer
                    .headers
                    .push((http::HeaderName::from_static("x-amzn-reason"), reason));
            }
            answer
        }
        Error::ShuttingDown(_) => {
            Answer::message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Error::ResourceNotFound(_) => not_found(),
        err => failed(&err),
    }
}

/// What the door sends back: an answer made whole, or a component's
/// response streaming as it is written.
pub(super) enum Reply {
    Buffered(Answer),
    Streamed(http::Response<HttpBody>),
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Reply {
        Reply::Buffered(answer)
    }
}

impl Reply {
    /// A URL's CORS headers, in place of any the function set.
    pub(super) fn set_cors(&mut self, cors: Vec<(http::HeaderName, HeaderValue)>) {
        let is_cors = |name: &http::HeaderName| name.as_str().starts_with("access-control-");
        match self {
            Reply::Buffered(answer) => {
                answer.headers.retain(|(name, _)| !is_cors(name));
                answer.headers.extend(cors);
            }
            Reply::Streamed(response) => {
                let headers = response.headers_mut();
                let set: Vec<_> = headers.keys().filter(|n| is_cors(n)).cloned().collect();
                for name in set {
                    headers.remove(name);
                }
                for (name, value) in cors {
                    headers.append(name, value);
                }
            }
        }
    }
}

/// A finished invocation as an HTTP answer: the function's response, or
/// 502 (it failed or answered something that is not a response), or 504
/// (it timed out).
pub(super) fn shape(function: &str, result: InvokeResult, format: Format) -> Answer {
    let Some(kind) = result.function_error else {
        return match response::from_payload(result.payload, format) {
            Ok(answer) => answer,
            Err(response::Malformed(why)) => {
                tracing::info!(function, request_id = %result.request_id, why, "the function's answer is not a valid HTTP response");
                let mut answer = internal_error(StatusCode::BAD_GATEWAY);
                answer.headers.push(error_type("Function.ResponseInvalid"));
                answer
            }
        };
    };
    let error_name = serde_json::from_slice::<serde_json::Value>(&result.payload)
        .ok()
        .and_then(|v| v["errorType"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut answer = if error_name == "Sandbox.Timedout" {
        Answer::message(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out")
    } else {
        internal_error(StatusCode::BAD_GATEWAY)
    };
    answer.headers.push((
        http::HeaderName::from_static("x-amz-function-error"),
        HeaderValue::from_static(kind),
    ));
    answer
}

pub(super) fn not_found() -> Answer {
    Answer::message(StatusCode::NOT_FOUND, "Not Found")
}

pub(super) fn too_large() -> Answer {
    let mut answer = Answer::message(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "Request must be smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
        ),
    );
    answer.headers.push(error_type("RequestTooLargeException"));
    answer
}

/// Lambda's answer to a URL request it refuses: 403 `{"Message":"Forbidden"}`,
/// with why in `x-amzn-ErrorType`.
pub(super) fn forbidden(why: &'static str) -> Answer {
    let mut answer = Answer::json(StatusCode::FORBIDDEN, &json!({"Message": "Forbidden"}));
    answer.headers.push(error_type(why));
    answer
}

pub(super) fn internal_error(status: StatusCode) -> Answer {
    Answer::message(status, "Internal Server Error")
}

/// Something on funnel's side failed: a 500 naming the error type.
pub(super) fn failed(err: &Error) -> Answer {
    tracing::warn!(cause = %err, "an HTTP request failed");
    let mut answer = internal_error(StatusCode::INTERNAL_SERVER_ERROR);
    answer.headers.push(error_type(err.aws_name()));
    answer
}

pub(super) fn error_type(name: &str) -> (http::HeaderName, HeaderValue) {
    (
        http::HeaderName::from_static("x-amzn-errortype"),
        HeaderValue::try_from(name).unwrap_or(HeaderValue::from_static("ServiceException")),
    )
}
