//! S3's errors: its own codes (`NoSuchKey`, `SignatureDoesNotMatch`), its
//! statuses, and its XML `<Error>` body (none for a HEAD request).

use http::StatusCode;

use super::super::errors::{AwsError, xml_escape};
use super::super::sigv4::SigError;
use funnel_runtime::HttpBody;

/// The status S3 answers `code` with; `None` for a code S3 does not use.
fn status_of(code: &str) -> Option<StatusCode> {
    Some(match code {
        "NoSuchBucket" | "NoSuchKey" | "NoSuchUpload" | "NoSuchVersion" | "NoSuchConfiguration" => {
            StatusCode::NOT_FOUND
        }
        "BucketNotEmpty"
        | "BucketAlreadyOwnedByYou"
        | "BucketAlreadyExists"
        | "OperationAborted"
        | "InvalidBucketState" => StatusCode::CONFLICT,
        "AccessDenied"
        | "SignatureDoesNotMatch"
        | "InvalidAccessKeyId"
        | "RequestTimeTooSkewed"
        | "AllAccessDisabled"
        | "InvalidObjectState" => StatusCode::FORBIDDEN,
        "InvalidRange" => StatusCode::RANGE_NOT_SATISFIABLE,
        "MethodNotAllowed" => StatusCode::METHOD_NOT_ALLOWED,
        "MissingContentLength" => StatusCode::LENGTH_REQUIRED,
        "PreconditionFailed" => StatusCode::PRECONDITION_FAILED,
        "NotModified" => StatusCode::NOT_MODIFIED,
        "RequestTimeout" => StatusCode::BAD_REQUEST,
        "NotImplemented" => StatusCode::NOT_IMPLEMENTED,
        "InternalError" => StatusCode::INTERNAL_SERVER_ERROR,
        "SlowDown" | "ServiceUnavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "InsufficientStorage" => StatusCode::INSUFFICIENT_STORAGE,
        "InvalidArgument"
        | "InvalidBucketName"
        | "InvalidRequest"
        | "InvalidDigest"
        | "BadDigest"
        | "InvalidPart"
        | "InvalidPartOrder"
        | "EntityTooSmall"
        | "EntityTooLarge"
        | "MetadataTooLarge"
        | "IncompleteBody"
        | "MalformedXML"
        | "MaxMessageLengthExceeded"
        | "XAmzContentSHA256Mismatch"
        | "AuthorizationHeaderMalformed"
        | "AuthorizationQueryParametersError"
        | "InvalidChunkSizeError"
        | "MalformedTrailerError"
        | "KeyTooLongError"
        | "InvalidStorageClass"
        | "UnexpectedContent"
        | "InvalidLocationConstraint"
        | "IllegalLocationConstraintException" => StatusCode::BAD_REQUEST,
        _ => return None,
    })
}

/// An error from the rest of funnel (a gRPC handler's AWS name, a Lambda
/// style name) as S3 names it.
pub fn into_s3(err: AwsError) -> AwsError {
    if status_of(&err.code).is_some() {
        let status = status_of(&err.code).unwrap_or(err.status);
        return AwsError { status, ..err };
    }
    let code = match err.code.as_str() {
        "AccessDeniedException" | "MissingAuthenticationTokenException" => "AccessDenied",
        "UnrecognizedClientException" | "InvalidClientTokenId" => "InvalidAccessKeyId",
        "InvalidSignatureException" => "SignatureDoesNotMatch",
        "TooManyRequestsException" | "ThrottlingException" | "Throttling" => "SlowDown",
        "ServiceException" => "InternalError",
        "InsufficientStorageException" => "InsufficientStorage",
        "InvalidParameterValueException"
        | "InvalidParameterException"
        | "ValidationException"
        | "InvalidRequestContentException" => "InvalidArgument",
        "ResourceNotFoundException" => "NoSuchKey",
        "QuotaExceededException" | "LimitExceededException" => "TooManyBuckets",
        "ShuttingDown" => "ServiceUnavailable",
        _ => return err,
    };
    let status = status_of(code).unwrap_or(err.status);
    AwsError {
        status,
        code: code.to_string(),
        message: err.message,
    }
}

/// A request whose signature does not hold, as S3 says it.
pub fn signature(err: SigError) -> AwsError {
    let code = match &err {
        SigError::Missing | SigError::Expired(_) => "AccessDenied",
        SigError::Malformed(_) => "AuthorizationHeaderMalformed",
        SigError::TimeSkew(_) => "RequestTimeTooSkewed",
        SigError::Mismatch { .. } => "SignatureDoesNotMatch",
        SigError::ContentSha256Mismatch(_) => "XAmzContentSHA256Mismatch",
        SigError::UnsupportedPayload(_) => "InvalidArgument",
        SigError::MissingContentSha256 => "InvalidRequest",
    };
    let message = match &err {
        SigError::Missing => "Access Denied".to_string(),
        other => other.to_string(),
    };
    error(code, message)
}

/// An S3 error by its code.
pub fn error(code: &str, message: impl Into<String>) -> AwsError {
    AwsError {
        status: status_of(code).unwrap_or(StatusCode::BAD_REQUEST),
        code: code.to_string(),
        message: message.into(),
    }
}

/// An operation funnel's S3 does not have.
pub fn not_implemented(operation: &str) -> AwsError {
    error(
        "NotImplemented",
        format!(
            "funnel's S3 endpoint does not implement {operation} (it has buckets, objects, \
             multipart uploads, CopyObject, DeleteObjects and bucket notifications)"
        ),
    )
}

/// The error response: `<Error>` with the code, the message, the resource
/// and the request id; headers only for a HEAD.
pub fn response(
    err: AwsError,
    head: bool,
    resource: &str,
    request_id: &str,
) -> hyper::Response<HttpBody> {
    let err = into_s3(err);
    let body = if head {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
             <Resource>{}</Resource><RequestId>{}</RequestId></Error>",
            xml_escape(&err.code),
            xml_escape(&err.message),
            xml_escape(resource),
            xml_escape(request_id),
        )
    };
    let mut headers = vec![("x-amz-error-code", err.code.clone())];
    if !head {
        headers.push(("content-type", "application/xml".into()));
    }
    super::super::respond(err.status, &headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funnel_names_become_s3_names_with_s3_statuses() {
        let denied = into_s3(AwsError::new("AccessDeniedException", "no"));
        assert_eq!(
            (denied.code.as_str(), denied.status.as_u16()),
            ("AccessDenied", 403)
        );
        let missing = into_s3(AwsError::new("NoSuchKey", "gone"));
        assert_eq!(
            (missing.code.as_str(), missing.status.as_u16()),
            ("NoSuchKey", 404)
        );
        let range = into_s3(AwsError::new("InvalidRange", "past the end"));
        assert_eq!(range.status, 416);
        let odd = into_s3(AwsError::new("SomethingElse", "kept"));
        assert_eq!(odd.code, "SomethingElse");
    }

    #[test]
    fn a_head_error_has_no_body() {
        let response = response(error("NoSuchKey", "gone"), true, "/b/k", "id");
        assert_eq!(response.status(), 404);
        assert!(response.headers().get("content-type").is_none());
    }
}
