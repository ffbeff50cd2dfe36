//! S3's object operations over `funnel.v1.Buckets`: PutObject, GetObject
//! (and HeadObject), DeleteObject, DeleteObjects, CopyObject.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use funnel_proto::v1 as pb;
use funnel_proto::v1::buckets_server::Buckets as _;
use funnel_runtime::HttpBody;
use futures_util::StreamExt as _;
use http::StatusCode;
use http_body_util::BodyExt as _;

use super::super::Door;
use super::super::errors::AwsError;
use super::xml::{self, Xml};
use super::{Request, call, empty, error};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

/// A client-streamed call's messages.
pub type Messages<M> =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<M, tonic::Status>> + Send>>;

/// How a streamed body ended, once the call is over.
#[derive(Default)]
pub struct Outcome {
    /// The check it failed.
    pub error: Option<AwsError>,
    /// The checksum it carried and matched (S3 echoes it).
    pub checksum: Option<(&'static str, String)>,
}

/// The most of an unread body read (and dropped) after an early answer.
const DRAINED_BYTES: u64 = 1024 * 1024;

/// What the call left of a request body: drained after an early answer.
type Leftover = Arc<tokio::sync::Mutex<Option<super::body::Verified>>>;

/// The object bytes of `request` as the messages of a client-streamed
/// call, led by `first`; a body that fails its checks ends the stream with
/// an error (so nothing is stored) and leaves that error in the outcome.
fn messages<M: Send + 'static>(
    body: super::body::Verified,
    idle: std::time::Duration,
    first: M,
    piece: impl Fn(Bytes) -> M + Send + Sync + 'static,
) -> (Messages<M>, Arc<Mutex<Outcome>>, Leftover) {
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let slot = outcome.clone();
    let piece = Arc::new(piece);
    let leftover: Leftover = Arc::new(tokio::sync::Mutex::new(Some(body)));
    let left = leftover.clone();
    let rest = futures_util::stream::unfold(false, move |ended| {
        let (slot, piece, left) = (slot.clone(), piece.clone(), left.clone());
        async move {
            if ended {
                return None;
            }
            let mut held = left.lock().await;
            let body = held.as_mut()?;
            let outcome = || slot.lock().unwrap_or_else(|e| e.into_inner());
            let next = tokio::time::timeout(idle, body.next())
                .await
                .unwrap_or_else(|_| {
                    Some(Err(error(
                        "RequestTimeout",
                        "Your socket connection to the server was not read from or written to \
                     within the timeout period.",
                    )))
                });
            match next {
                Some(Ok(bytes)) => Some((Ok(piece(bytes)), false)),
                Some(Err(err)) => {
                    // The rest stays for the drain.
                    let status = tonic::Status::aborted(err.message.clone());
                    outcome().error = Some(err);
                    Some((Err(status), true))
                }
                None => {
                    outcome().checksum = body
                        .checksum()
                        .map(|c| (c.algorithm.header(), c.value.clone()));
                    *held = None;
                    None
                }
            }
        }
    });
    let stream = futures_util::stream::iter([Ok(first)]).chain(rest);
    (Box::pin(stream), outcome, leftover)
}

/// The body's own error, if it failed; else the call's.
fn body_error(outcome: &Mutex<Outcome>, err: AwsError) -> AwsError {
    outcome
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .error
        .take()
        .unwrap_or(err)
}

/// The headers of a stored body: its ETag and the checksum it carried.
fn stored(outcome: &Mutex<Outcome>, etag: String) -> Vec<(&'static str, String)> {
    let mut headers = vec![("etag", etag)];
    headers.extend(
        outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .checksum
            .take(),
    );
    headers
}

/// Streams `request`'s body as the messages of the client-streamed gRPC
/// `method` (`first`, then one `piece` per chunk); answers with the ETag
/// `etag` finds in its reply and the checksum the body carried.
pub async fn upload<M, Res, Fut>(
    door: &Door,
    request: Request,
    path: &str,
    first: M,
    piece: impl Fn(Bytes) -> M + Send + Sync + 'static,
    method: impl FnOnce(tonic::Request<Messages<M>>) -> Fut,
    etag: impl FnOnce(Res) -> String,
) -> Answer
where
    M: Send + 'static,
    Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
{
    let idle = door.body_timeout();
    let (stream, outcome, leftover) = messages(request.body, idle, first, piece);
    match call(door, &request.signer, path, stream, method).await {
        Ok(out) => Ok(empty(StatusCode::OK, &stored(&outcome, etag(out)))),
        Err(err) => {
            // Refused before the body was read (NoSuchBucket, a bad
            // header...): read the rest so the client hears why.
            let left = leftover.lock().await.take();
            if let Some(body) = left {
                body.drain(DRAINED_BYTES, idle).await;
            }
            Err(body_error(&outcome, err))
        }
    }
}

/// The type and user metadata a write says its object carries:
/// `Content-Type` and each `x-amz-meta-*` header (a value that is not
/// text is kept as its UTF-8 reading, which the server then refuses).
pub fn described(request: &Request) -> (String, HashMap<String, String>) {
    let headers = &request.parts.headers;
    let text = |value: &http::HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned();
    let content_type = headers.get("content-type").map(text).unwrap_or_default();
    let metadata = headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix("x-amz-meta-")?;
            Some((name.to_string(), text(value)))
        })
        .collect();
    (content_type, metadata)
}

/// Adds an object's user metadata to an answer, as `x-amz-meta-*`.
fn with_metadata(
    mut response: hyper::Response<HttpBody>,
    metadata: &HashMap<String, String>,
) -> hyper::Response<HttpBody> {
    for (name, value) in metadata {
        let name = http::HeaderName::try_from(format!("x-amz-meta-{name}"));
        if let (Ok(name), Ok(value)) = (name, http::HeaderValue::try_from(value.as_str())) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

pub async fn put_object(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let (content_type, metadata) = described(&request);
    let first = pb::PutObjectRequest {
        bucket: bucket.to_string(),
        key: key.to_string(),
        body: Vec::new(),
        content_type,
        metadata,
    };
    let piece = |bytes: Bytes| pb::PutObjectRequest {
        body: bytes.to_vec(),
        ..Default::default()
    };
    let buckets = &door.inner.services.buckets;
    let path = "/funnel.v1.Buckets/PutObject";
    upload(
        door,
        request,
        path,
        first,
        piece,
        |r| buckets.put_object_from(r),
        |out| out.e_tag,
    )
    .await
}

/// `Wed, 21 Oct 2015 07:28:00 GMT` for S3's ISO time.
fn http_date(iso: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(iso)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
        })
        .unwrap_or_default()
}

/// The `response-*` overrides of a GetObject (`response-content-type`...).
fn overrides(request: &Request) -> Vec<(&'static str, String)> {
    [
        ("response-content-type", "content-type"),
        ("response-content-language", "content-language"),
        ("response-expires", "expires"),
        ("response-cache-control", "cache-control"),
        ("response-content-disposition", "content-disposition"),
        ("response-content-encoding", "content-encoding"),
    ]
    .into_iter()
    .filter_map(|(param, header)| request.query(param).map(|v| (header, v.to_string())))
    .collect()
}

/// GetObject, or HeadObject when `head` (its headers, no body).
pub async fn get_object(
    door: &Door,
    request: Request,
    bucket: &str,
    key: &str,
    head: bool,
) -> Answer {
    let buckets = &door.inner.services.buckets;
    let range = request.header("range").unwrap_or_default().to_string();
    let mut headers = vec![("accept-ranges", "bytes".to_string())];
    if head {
        let out = call(
            door,
            &request.signer,
            "/funnel.v1.Buckets/HeadObject",
            pb::HeadObjectRequest {
                bucket: bucket.to_string(),
                key: key.to_string(),
                range,
            },
            |r| buckets.head_object(r),
        )
        .await?;
        let status = if out.content_range.is_empty() {
            StatusCode::OK
        } else {
            headers.push(("content-range", out.content_range));
            StatusCode::PARTIAL_CONTENT
        };
        headers.extend([
            ("content-type", out.content_type),
            ("content-length", out.content_length.to_string()),
            ("etag", out.e_tag),
            ("last-modified", http_date(&out.last_modified)),
        ]);
        merge(&mut headers, overrides(&request));
        return Ok(with_metadata(empty(status, &headers), &out.metadata));
    }
    let stream = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/GetObject",
        pb::GetObjectRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            range,
        },
        |r| buckets.get_object(r),
    )
    .await?;
    let mut stream = stream;
    let mut first = match stream.next().await {
        Some(Ok(first)) => first,
        Some(Err(status)) => return Err(super::errors::into_s3(status.into())),
        None => return Err(error("InternalError", "the object's stream ended at once")),
    };
    let status = if first.content_range.is_empty() {
        StatusCode::OK
    } else {
        headers.push(("content-range", first.content_range.clone()));
        StatusCode::PARTIAL_CONTENT
    };
    headers.extend([
        ("content-type", first.content_type.clone()),
        ("content-length", first.content_length.to_string()),
        ("etag", first.e_tag.clone()),
        ("last-modified", http_date(&first.last_modified)),
    ]);
    merge(&mut headers, overrides(&request));
    let metadata = std::mem::take(&mut first.metadata);
    let lead = futures_util::stream::iter([Ok::<_, tonic::Status>(first)]);
    let frames = lead.chain(stream).map(|message| match message {
        Ok(message) => Ok(hyper::body::Frame::data(Bytes::from(message.body))),
        Err(status) => Err(Box::new(status) as funnel_runtime::BoxError),
    });
    let mut response = hyper::Response::new(http_body_util::StreamBody::new(frames).boxed_unsync());
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::try_from(value) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(with_metadata(response, &metadata))
}

/// Sets each of `extra`, replacing a header of the same name.
fn merge(headers: &mut Vec<(&'static str, String)>, extra: Vec<(&'static str, String)>) {
    for (name, value) in extra {
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value));
    }
}

pub async fn delete_object(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let buckets = &door.inner.services.buckets;
    call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/DeleteObject",
        pb::DeleteObjectRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
        },
        |r| buckets.delete_object(r),
    )
    .await?;
    Ok(empty(StatusCode::NO_CONTENT, &[]))
}

pub async fn delete_objects(door: &Door, request: Request, bucket: &str) -> Answer {
    let (body, signer) = request.xml_body(door.body_timeout()).await?;
    let doc = xml::parse(xml::utf8(&body)?, "Delete")?;
    let root = doc.root_element();
    let quiet = xml::child_text(root, "Quiet") == Some("true");
    let objects = xml::children(root, "Object")
        .map(|o| pb::ObjectIdentifier {
            key: xml::child_text(o, "Key").unwrap_or_default().to_string(),
        })
        .collect();
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &signer,
        "/funnel.v1.Buckets/DeleteObjects",
        pb::DeleteObjectsRequest {
            bucket: bucket.to_string(),
            delete: Some(pb::Delete { objects, quiet }),
        },
        |r| buckets.delete_objects(r),
    )
    .await?;
    let mut doc = Xml::new("DeleteResult");
    if !quiet {
        for deleted in &out.deleted {
            doc.open("Deleted")
                .text("Key", &deleted.key)
                .close("Deleted");
        }
    }
    for failed in &out.errors {
        doc.open("Error")
            .text("Key", &failed.key)
            .text("Code", &failed.code)
            .text("Message", &failed.message)
            .close("Error");
    }
    Ok(super::xml(doc.finish("DeleteResult")))
}

pub async fn copy_object(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let source = request
        .header("x-amz-copy-source")
        .unwrap_or_default()
        .to_string();
    let (content_type, metadata) = described(&request);
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/CopyObject",
        pb::CopyObjectRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            copy_source: source,
            metadata_directive: request
                .header("x-amz-metadata-directive")
                .unwrap_or_default()
                .to_string(),
            content_type,
            metadata,
        },
        |r| buckets.copy_object(r),
    )
    .await?;
    let result = out.copy_object_result.unwrap_or_default();
    let mut doc = Xml::new("CopyObjectResult");
    doc.text("LastModified", &result.last_modified)
        .text("ETag", &result.e_tag);
    Ok(super::xml(doc.finish("CopyObjectResult")))
}
