//! S3's REST-XML protocol over funnel's buckets: the aws CLI's `s3` and
//! `s3api`, boto3 and the SDKs, path-style (`/bucket/key`) or
//! virtual-host-style (`bucket.localhost`).
//!
//! Unlike the other services, an object's body is not read before the
//! call: the signature is checked over the request's head
//! ([`sigv4::verify_head`]), then the body streams through [`body`], which
//! decodes `aws-chunked` and checks the payload hash, chunk signatures and
//! checksums as the bytes pass, into the same PutObject/UploadPart
//! handlers the gRPC API runs. A check that fails ends the stream with an
//! error, so the object never appears.

pub mod body;
mod buckets;
mod errors;
mod multipart;
mod objects;
mod xml;

use std::collections::HashMap;
use std::net::SocketAddr;

use funnel_runtime::HttpBody;
use http::{Method, StatusCode};
use hyper::body::Incoming;

use super::errors::AwsError;
use super::sigv4::{self, SigError, Signature};
use super::{Door, Signer};
pub use errors::error;

/// The largest XML request body (a 1000-key DeleteObjects is ~100 KB).
const MAX_XML_BYTES: usize = 1024 * 1024;

/// A request as an S3 operation gets it: signed, its body still to come.
pub struct Request {
    pub parts: http::request::Parts,
    pub body: body::Verified,
    pub signer: Signer,
    /// The query string's parameters (the last of a repeated one).
    pub query: HashMap<String, String>,
}

impl Request {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.query.contains_key(name)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole body of an XML request, within `timeout`.
    pub async fn xml_body(
        self,
        timeout: std::time::Duration,
    ) -> Result<(bytes::Bytes, Signer), AwsError> {
        let read = body::read_small(self.body, MAX_XML_BYTES);
        let bytes = tokio::time::timeout(timeout, read).await.map_err(|_| {
            error(
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within \
                 the timeout period.",
            )
        })??;
        Ok((bytes, self.signer))
    }
}

/// What the request names: the service, a bucket, or an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Service,
    Bucket(String),
    Object(String, String),
}

impl Target {
    /// The bucket and key, from the host (`bucket.localhost`) or the path.
    pub fn of(parts: &http::request::Parts) -> Target {
        let path = parts.uri.path();
        let decoded = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or_default();
        if let Some(bucket) = virtual_host_bucket(host) {
            let key = decoded(path.strip_prefix('/').unwrap_or(path));
            return if key.is_empty() {
                Target::Bucket(bucket)
            } else {
                Target::Object(bucket, key)
            };
        }
        let rest = path.strip_prefix('/').unwrap_or(path);
        if rest.is_empty() {
            return Target::Service;
        }
        match rest.split_once('/') {
            None => Target::Bucket(decoded(rest)),
            Some((bucket, "")) => Target::Bucket(decoded(bucket)),
            Some((bucket, key)) => Target::Object(decoded(bucket), decoded(key)),
        }
    }

    /// As S3 names it in an error's `Resource`.
    fn resource(&self) -> String {
        match self {
            Target::Service => "/".into(),
            Target::Bucket(bucket) => format!("/{bucket}"),
            Target::Object(bucket, key) => format!("/{bucket}/{key}"),
        }
    }
}

/// `photos` for `photos.localhost:7880` (and `my.photos` for
/// `my.photos.localhost`).
fn virtual_host_bucket(host: &str) -> Option<String> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let bucket = name
        .strip_suffix(".localhost")
        .or_else(|| name.strip_suffix(".localhost."))?;
    let bucket = bucket.strip_suffix(".s3").unwrap_or(bucket);
    (!bucket.is_empty()).then(|| bucket.to_ascii_lowercase())
}

/// Answers an S3 request: checks who signed it, then runs its operation.
/// Every failure is S3's `<Error>` (headers only for a HEAD).
pub async fn handle(
    door: &Door,
    request: hyper::Request<Incoming>,
    signature: Result<Signature, SigError>,
    remote: SocketAddr,
    request_id: &str,
) -> hyper::Response<HttpBody> {
    let head = request.method() == Method::HEAD;
    let (parts, body) = request.into_parts();
    let target = Target::of(&parts);
    let resource = target.resource();
    let answer = async {
        let signature = signature.map_err(errors::signature)?;
        let ip = Some(remote.ip());
        let identities = &door.inner.identities;
        let principal = identities
            .signer(&signature.access_key_id, ip)
            .map_err(|e| match e {
                crate::error::Error::UnrecognizedClient(_) => error(
                    "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.",
                ),
                other => AwsError::from(other),
            })?;
        let payload =
            match sigv4::verify_head(&signature, &parts, principal.secret(), chrono::Utc::now()) {
                Ok(payload) => payload,
                Err(err) => {
                    identities.signature_failed(ip);
                    return Err(errors::signature(err));
                }
            };
        let body = body::verified(
            body,
            &parts,
            payload,
            &signature,
            principal.secret(),
            crate::buckets::objects::MAX_OBJECT_BYTES,
        )?;
        let query = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let trace = Signer::trace_of(&parts.headers);
        let request = Request {
            parts,
            body,
            signer: Signer {
                principal,
                remote,
                trace,
            },
            query,
        };
        route(door, request, target).await
    };
    let mut response = match answer.await {
        Ok(response) => response,
        Err(err) => errors::response(err, head, &resource, request_id),
    };
    if let Ok(id) = http::HeaderValue::try_from(request_id) {
        response
            .headers_mut()
            .insert("x-amz-request-id", id.clone());
        response.headers_mut().insert("x-amz-id-2", id);
    }
    response
}

/// Picks the operation as S3 does: by method, target and sub-resource.
async fn route(
    door: &Door,
    request: Request,
    target: Target,
) -> Result<hyper::Response<HttpBody>, AwsError> {
    let method = request.parts.method.clone();
    if let Some(sub) = unknown_subresource(&request) {
        return Err(errors::not_implemented(&operation_name(
            &method, &target, &sub,
        )));
    }
    let copy = request.header("x-amz-copy-source").is_some();
    match (&target, method.as_str()) {
        (Target::Service, "GET") => buckets::list_buckets(door, request).await,
        (Target::Bucket(b), "PUT") if request.has("notification") => {
            buckets::put_notifications(door, request, b).await
        }
        (Target::Bucket(b), "PUT") => buckets::create_bucket(door, request, b).await,
        (Target::Bucket(b), "DELETE") => buckets::delete_bucket(door, request, b).await,
        (Target::Bucket(b), "HEAD") => buckets::head_bucket(door, request, b).await,
        (Target::Bucket(b), "GET") if request.has("notification") => {
            buckets::get_notifications(door, request, b).await
        }
        (Target::Bucket(b), "GET") if request.has("location") => {
            buckets::location(door, request, b).await
        }
        (Target::Bucket(b), "GET") if request.has("uploads") => {
            multipart::list_uploads(door, request, b).await
        }
        (Target::Bucket(b), "GET") if request.query("list-type") == Some("2") => {
            buckets::list_objects_v2(door, request, b).await
        }
        (Target::Bucket(b), "GET") => buckets::list_objects_v1(door, request, b).await,
        (Target::Bucket(b), "POST") if request.has("delete") => {
            objects::delete_objects(door, request, b).await
        }
        (Target::Object(b, k), "PUT") if request.has("uploadId") => {
            if copy {
                multipart::upload_part_copy(door, request, b, k).await
            } else {
                multipart::upload_part(door, request, b, k).await
            }
        }
        (Target::Object(b, k), "PUT") if copy => objects::copy_object(door, request, b, k).await,
        (Target::Object(b, k), "PUT") => objects::put_object(door, request, b, k).await,
        (Target::Object(b, k), "GET") if request.has("uploadId") => {
            multipart::list_parts(door, request, b, k).await
        }
        (Target::Object(b, k), "GET") => objects::get_object(door, request, b, k, false).await,
        (Target::Object(b, k), "HEAD") => objects::get_object(door, request, b, k, true).await,
        (Target::Object(b, k), "DELETE") if request.has("uploadId") => {
            multipart::abort(door, request, b, k).await
        }
        (Target::Object(b, k), "DELETE") => objects::delete_object(door, request, b, k).await,
        (Target::Object(b, k), "POST") if request.has("uploads") => {
            multipart::create(door, request, b, k).await
        }
        (Target::Object(b, k), "POST") if request.has("uploadId") => {
            multipart::complete(door, request, b, k).await
        }
        _ => Err(error(
            "MethodNotAllowed",
            format!(
                "The specified method is not allowed against this resource: {method} {}",
                target.resource()
            ),
        )),
    }
}

/// Query parameters that are an operation's arguments, not a sub-resource.
const ARGUMENTS: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
    "marker",
    "partNumber",
    "uploadId",
    "uploads",
    "delete",
    "notification",
    "location",
    "x-id",
    "max-parts",
    "part-number-marker",
    "max-uploads",
    "key-marker",
    "upload-id-marker",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
];

/// The first query parameter that asks for something funnel's S3 lacks
/// (`acl`, `tagging`, `versioning`, ...).
fn unknown_subresource(request: &Request) -> Option<String> {
    let mut names: Vec<&String> = request
        .query
        .keys()
        .filter(|k| !ARGUMENTS.contains(&k.as_str()) && !k.starts_with("X-Amz-"))
        .collect();
    names.sort();
    let name = names.first()?;
    // A version of an object: funnel keeps one, the `null` version.
    if name.as_str() == "versionId" && request.query("versionId") == Some("null") {
        return None;
    }
    Some(name.to_string())
}

/// The S3 operation a sub-resource request would be (`GetBucketAcl`).
fn operation_name(method: &Method, target: &Target, sub: &str) -> String {
    let noun = match target {
        Target::Object(..) => "Object",
        _ => "Bucket",
    };
    match (method.as_str(), sub) {
        ("GET", "versions") => return "ListObjectVersions".into(),
        ("POST", "restore") => return "RestoreObject".into(),
        ("POST", "select") => return "SelectObjectContent".into(),
        (_, "versionId") => return format!("{}Object (versionId)", verb(method)),
        _ => {}
    }
    let mut camel = String::new();
    for part in sub.split('-') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            camel.extend(first.to_uppercase());
            camel.push_str(chars.as_str());
        }
    }
    format!("{}{noun}{camel}", verb(method))
}

fn verb(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" | "HEAD" => "Get",
        "PUT" => "Put",
        "DELETE" => "Delete",
        _ => "Post",
    }
}

/// A call that answers nothing but its status (and headers).
pub fn empty(status: StatusCode, headers: &[(&str, String)]) -> hyper::Response<HttpBody> {
    super::respond(status, headers, bytes::Bytes::new())
}

/// An XML answer.
pub fn xml(document: String) -> hyper::Response<HttpBody> {
    super::respond(
        StatusCode::OK,
        &[("content-type", "application/xml".into())],
        document,
    )
}

/// The signer's call of a gRPC handler, its error named as S3 names it.
pub async fn call<Req, Res, Fut>(
    door: &Door,
    signer: &Signer,
    path: &str,
    message: Req,
    method: impl FnOnce(tonic::Request<Req>) -> Fut,
) -> Result<Res, AwsError>
where
    Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
{
    door.call(signer, path, message, method)
        .await
        .map_err(errors::into_s3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, host: &str) -> http::request::Parts {
        let (parts, ()) = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn path_style_and_virtual_host_style_name_the_same_object() {
        let path = Target::of(&parts("GET", "/photos/a/b%20c.jpg", "localhost:7880"));
        let host = Target::of(&parts("GET", "/a/b%20c.jpg", "photos.localhost:7880"));
        let expected = Target::Object("photos".into(), "a/b c.jpg".into());
        assert_eq!(path, expected);
        assert_eq!(host, expected);
        assert_eq!(
            Target::of(&parts("GET", "/", "my.photos.localhost")),
            Target::Bucket("my.photos".into())
        );
        assert_eq!(
            Target::of(&parts("GET", "/photos/", "127.0.0.1:7880")),
            Target::Bucket("photos".into())
        );
        assert_eq!(
            Target::of(&parts("GET", "/", "localhost:7880")),
            Target::Service
        );
        assert_eq!(
            Target::of(&parts("GET", "/b/dir//x", "localhost")),
            Target::Object("b".into(), "dir//x".into())
        );
    }

    #[test]
    fn sub_resources_name_the_missing_operation() {
        let name = |m: &str, t: Target, sub: &str| operation_name(&m.parse().unwrap(), &t, sub);
        assert_eq!(
            name("GET", Target::Bucket("b".into()), "acl"),
            "GetBucketAcl"
        );
        assert_eq!(
            name("PUT", Target::Object("b".into(), "k".into()), "tagging"),
            "PutObjectTagging"
        );
        assert_eq!(
            name("GET", Target::Bucket("b".into()), "versions"),
            "ListObjectVersions"
        );
        assert_eq!(
            name("PUT", Target::Bucket("b".into()), "public-access-block"),
            "PutBucketPublicAccessBlock"
        );
    }
}
