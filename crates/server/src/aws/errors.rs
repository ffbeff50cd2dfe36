//! Errors as each AWS wire protocol writes them: Lambda's REST-JSON
//! (`x-amzn-ErrorType` and `{"Type", "message"}`), the query protocol's
//! XML `ErrorResponse` (STS, SNS), JSON 1.1's `{"__type", "message"}`.
//! The HTTP status comes from the error's AWS name, as AWS documents it.

use http::StatusCode;

use super::sigv4::SigError;
use crate::error::Error;

/// The XML namespaces of the query-protocol services' answers.
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
pub const SNS_NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// How a service writes its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Lambda: REST with JSON bodies.
    RestJson,
    /// STS, SNS: form-encoded requests, XML answers in the service's
    /// namespace.
    Query(&'static str),
    /// EventBridge, CloudWatch Logs, Secrets Manager, SSM: `X-Amz-Target`
    /// and JSON 1.1.
    Json11,
    /// S3: REST with XML bodies (its own errors, [`super::s3`]).
    RestXml,
}

impl Protocol {
    /// The protocol of `service` (from the signature's scope), else a guess
    /// from the request itself (an unsigned request still gets an error its
    /// client can read): an unsigned request to no Lambda path is S3's
    /// (anonymous S3 requests are common; other clients always sign).
    pub fn of(service: Option<&str>, parts: &http::request::Parts) -> Protocol {
        match service {
            Some("lambda") => return Protocol::RestJson,
            Some("sts") => return Protocol::Query(STS_NAMESPACE),
            Some("sns") => return Protocol::Query(SNS_NAMESPACE),
            Some("events" | "logs" | "secretsmanager" | "ssm") => return Protocol::Json11,
            Some("s3") => return Protocol::RestXml,
            _ => {}
        }
        if parts.headers.contains_key("x-amz-target") {
            Protocol::Json11
        } else if parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| {
                v.as_bytes()
                    .starts_with(b"application/x-www-form-urlencoded")
            })
        {
            Protocol::Query(SNS_NAMESPACE)
        } else if service.is_some() || is_lambda_path(parts.uri.path()) {
            Protocol::RestJson
        } else {
            Protocol::RestXml
        }
    }
}

/// Lambda's paths start with its API version: `/2015-03-31/functions`.
fn is_lambda_path(path: &str) -> bool {
    let version = path.split('/').nth(1).unwrap_or_default().as_bytes();
    version.len() == 10
        && version[4] == b'-'
        && version[7] == b'-'
        && version
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

/// An error as the endpoint answers it.
#[derive(Debug)]
pub struct AwsError {
    pub status: StatusCode,
    /// The AWS error name (`ResourceNotFoundException`).
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn new(code: &str, message: impl Into<String>) -> AwsError {
        AwsError {
            status: status_of(code, None),
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<Error> for AwsError {
    fn from(err: Error) -> AwsError {
        AwsError::new(err.aws_name(), err.message())
    }
}

/// A gRPC handler's error (its AWS name rides in `x-amzn-errortype`).
impl From<tonic::Status> for AwsError {
    fn from(status: tonic::Status) -> AwsError {
        let code = status
            .metadata()
            .get(crate::api::ERROR_TYPE_KEY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("ServiceException")
            .to_string();
        // The gRPC message starts with the name; AWS's does not.
        let message = status.message();
        let message = message
            .strip_prefix(code.as_str())
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(message)
            .to_string();
        AwsError {
            status: status_of(&code, Some(status.code())),
            code,
            message,
        }
    }
}

/// A request without a usable signature.
impl From<SigError> for AwsError {
    fn from(err: SigError) -> AwsError {
        let message = err.to_string();
        let code = match err {
            SigError::Missing => "MissingAuthenticationTokenException",
            SigError::Malformed(_) => "IncompleteSignatureException",
            SigError::TimeSkew(_) | SigError::Mismatch { .. } => "InvalidSignatureException",
            SigError::Expired(_) => "AccessDeniedException",
            SigError::UnsupportedPayload(_) => "InvalidRequestContentException",
            SigError::MissingContentSha256 => "InvalidRequest",
            SigError::ContentSha256Mismatch(_) => "XAmzContentSHA256Mismatch",
        };
        AwsError::new(code, message)
    }
}

/// The status AWS answers `code` with.
fn status_of(code: &str, grpc: Option<tonic::Code>) -> StatusCode {
    match code {
        "ResourceNotFoundException"
        | "ProvisionedConcurrencyConfigNotFoundException"
        | "NotFoundException"
        | "NoSuchEntity"
        | "NoSuchEntityException"
        | "UnknownOperationException" => StatusCode::NOT_FOUND,
        "ResourceConflictException" | "ConflictException" | "EntityAlreadyExistsException" => {
            StatusCode::CONFLICT
        }
        "PreconditionFailedException" => StatusCode::PRECONDITION_FAILED,
        "RequestTooLargeException" => StatusCode::PAYLOAD_TOO_LARGE,
        "TooManyRequestsException" => StatusCode::TOO_MANY_REQUESTS,
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "MissingAuthenticationTokenException"
        | "InvalidSignatureException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch" => StatusCode::FORBIDDEN,
        "ServiceException" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => match grpc {
            Some(tonic::Code::NotFound) => StatusCode::NOT_FOUND,
            Some(tonic::Code::AlreadyExists | tonic::Code::Aborted) => StatusCode::CONFLICT,
            Some(tonic::Code::PermissionDenied | tonic::Code::Unauthenticated) => {
                StatusCode::FORBIDDEN
            }
            Some(tonic::Code::ResourceExhausted) => StatusCode::TOO_MANY_REQUESTS,
            Some(tonic::Code::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
            Some(tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        },
    }
}

/// The error response `protocol` writes.
pub fn response(
    protocol: Protocol,
    err: &AwsError,
    request_id: &str,
) -> hyper::Response<funnel_runtime::HttpBody> {
    let fault = if err.status.is_server_error() {
        ("Server", "Receiver")
    } else {
        ("User", "Sender")
    };
    match protocol {
        Protocol::RestJson | Protocol::RestXml => super::respond(
            err.status,
            &[
                ("content-type", "application/json".into()),
                ("x-amzn-errortype", err.code.clone()),
            ],
            serde_json::json!({"Type": fault.0, "message": err.message}).to_string(),
        ),
        Protocol::Json11 => super::respond(
            err.status,
            &[
                ("content-type", "application/x-amz-json-1.1".into()),
                ("x-amzn-errortype", err.code.clone()),
            ],
            serde_json::json!({"__type": err.code, "message": err.message}).to_string(),
        ),
        Protocol::Query(namespace) => super::respond(
            err.status,
            &[("content-type", "text/xml".into())],
            format!(
                "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error>\
                 <RequestId>{}</RequestId></ErrorResponse>",
                fault.1,
                xml_escape(&err.code),
                xml_escape(&err.message),
                xml_escape(request_id)
            ),
        ),
    }
}

/// Text for an XML element.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
