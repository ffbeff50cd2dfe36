//! The object calls of `funnel.v1.Buckets`: PutObject (from any stream of
//! messages), GetObject and HeadObject with a `Range`, DeleteObjects,
//! CopyObject.

use funnel_proto::v1 as pb;
use tokio::io::AsyncReadExt;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::{BucketsService, CHUNK, ObjectStream, iso, quoted};
use crate::buckets::attributes::Attributes;
use crate::error::Error;

/// S3's most keys in one DeleteObjects.
const MAX_DELETE_KEYS: usize = 1000;

impl BucketsService {
    /// PutObject from any stream of messages: the gRPC call's, or the AWS
    /// endpoint's body cut into messages. The first message names the
    /// object; an `Err` item aborts the upload (its temporary file is
    /// removed, nothing is stored, no event fires).
    pub async fn put_object_from<S>(
        &self,
        request: Request<S>,
    ) -> Result<Response<pb::PutObjectResponse>, Status>
    where
        S: Stream<Item = Result<pb::PutObjectRequest, Status>> + Send + Unpin,
    {
        let caller = crate::iam::caller_of(request.extensions())?;
        let mut parts = request.into_inner();
        let first = parts
            .next()
            .await
            .ok_or_else(|| Error::InvalidArgument("PutObject got no message".into()))??;
        // The first message names the object; the others must name the same.
        crate::iam::authorize_resource(&caller, &first)?;
        let attributes = Attributes::new(&first.content_type, first.metadata)?;
        let mut upload = self
            .buckets
            .begin_put(&caller.key(&first.bucket), &first.key)
            .await?;
        upload.describe(attributes);
        upload.write(&first.body).await?;
        while let Some(part) = parts.next().await {
            // A broken stream drops the upload, which removes its file.
            let part = part?;
            if (!part.bucket.is_empty() && part.bucket != first.bucket)
                || (!part.key.is_empty() && part.key != first.key)
            {
                return Err(Error::InvalidArgument(
                    "every PutObject message must name the same Bucket and Key (or none)".into(),
                )
                .into());
            }
            upload.write(&part.body).await?;
        }
        let info = self.buckets.finish_put(upload).await?;
        Ok(Response::new(pb::PutObjectResponse {
            e_tag: quoted(&info.etag),
            size: info.size as i64,
        }))
    }
}

pub(super) async fn get_object(
    service: &BucketsService,
    request: Request<pb::GetObjectRequest>,
) -> Result<Response<ObjectStream>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let (info, range, mut file) = service
        .buckets
        .get_object(&caller.key(&req.bucket), &req.key, &req.range)
        .await?;
    // The whole object is read to its end, whatever size it has by now.
    let mut left = range.map_or(u64::MAX, |r| r.len());
    let mut first = Some(pb::GetObjectResponse {
        content_length: range.map_or(info.size, |r| r.len()) as i64,
        e_tag: quoted(&info.etag),
        last_modified: iso(info.last_modified_ns),
        content_range: range.map(|r| r.content_range()).unwrap_or_default(),
        content_type: info.attributes.content_type().to_string(),
        metadata: info.attributes.metadata.into_iter().collect(),
        ..Default::default()
    });
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            let mut body = vec![0; CHUNK.min(usize::try_from(left).unwrap_or(CHUNK))];
            let read = if body.is_empty() {
                0
            } else {
                match file.read(&mut body).await {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = tx
                            .send(Err(Status::internal(format!("reading the object: {e}"))))
                            .await;
                        return;
                    }
                }
            };
            if read == 0 && first.is_none() {
                return;
            }
            left -= read as u64;
            body.truncate(read);
            let message = match first.take() {
                Some(first) => pb::GetObjectResponse { body, ..first },
                None => pb::GetObjectResponse {
                    body,
                    ..Default::default()
                },
            };
            if tx.send(Ok(message)).await.is_err() || read == 0 {
                return;
            }
        }
    });
    Ok(Response::new(Box::pin(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    )))
}

pub(super) async fn head_object(
    service: &BucketsService,
    request: Request<pb::HeadObjectRequest>,
) -> Result<Response<pb::HeadObjectResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let info = service
        .buckets
        .head_object(&caller.key(&req.bucket), &req.key)
        .await?;
    let range = crate::buckets::range::parse(&req.range, info.size)?;
    Ok(Response::new(pb::HeadObjectResponse {
        content_length: range.map_or(info.size, |r| r.len()) as i64,
        e_tag: quoted(&info.etag),
        last_modified: iso(info.last_modified_ns),
        content_range: range.map(|r| r.content_range()).unwrap_or_default(),
        content_type: info.attributes.content_type().to_string(),
        metadata: info.attributes.metadata.into_iter().collect(),
    }))
}

/// DeleteObjects: each key authorized and deleted on its own, as S3 does;
/// a key that fails is an entry in `Errors`.
pub(super) async fn delete_objects(
    service: &BucketsService,
    request: Request<pb::DeleteObjectsRequest>,
) -> Result<Response<pb::DeleteObjectsResponse>, Status> {
    let caller = crate::iam::caller_of(request.extensions())?;
    let req = request.into_inner();
    let delete = req.delete.unwrap_or_default();
    if delete.objects.is_empty() || delete.objects.len() > MAX_DELETE_KEYS {
        return Err(Error::MalformedXml(format!(
            "The XML you provided was not well-formed or did not validate against our published \
             schema: DeleteObjects takes 1 to {MAX_DELETE_KEYS} keys ({} given)",
            delete.objects.len()
        ))
        .into());
    }
    let bucket = caller.key(&req.bucket);
    // A missing bucket fails the call, not each key.
    service.buckets.bucket(&bucket)?;
    let mut answer = pb::DeleteObjectsResponse::default();
    for object in delete.objects {
        let one = pb::DeleteObjectRequest {
            bucket: req.bucket.clone(),
            key: object.key,
        };
        let deleted = match crate::iam::authorize_resource(&caller, &one) {
            Ok(()) => service.buckets.delete_object(&bucket, &one.key).await,
            Err(err) => Err(err),
        };
        match deleted {
            Ok(()) if delete.quiet => {}
            Ok(()) => answer.deleted.push(pb::DeletedObject { key: one.key }),
            Err(err) => {
                let code = match &err {
                    // S3's names for what funnel calls otherwise.
                    Error::AccessDenied(_) => "AccessDenied",
                    Error::Service(_) => {
                        tracing::error!(%bucket, key = %one.key, cause = %err, "DeleteObjects");
                        "InternalError"
                    }
                    err => err.aws_name(),
                };
                answer.errors.push(pb::DeleteError {
                    key: one.key,
                    code: code.into(),
                    message: err.message().into(),
                });
            }
        }
    }
    Ok(Response::new(answer))
}

/// The object a copy's `CopySource` names, which `caller` must be allowed
/// `s3:GetObject` on (the call's own action covers only the copy).
pub(super) fn readable_source(
    caller: &crate::iam::Caller,
    copy_source: &str,
) -> Result<crate::buckets::copy::CopySource, Status> {
    let source = crate::buckets::copy::parse_copy_source(copy_source)?;
    let read = pb::GetObjectRequest {
        bucket: source.bucket.clone(),
        key: source.key.clone(),
        ..Default::default()
    };
    crate::iam::authorize_also(caller, "s3:GetObject", &read)?;
    Ok(source)
}

/// CopyObject: `s3:PutObject` on the copy (the call's action), and
/// `s3:GetObject` on the source.
pub(super) async fn copy_object(
    service: &BucketsService,
    request: Request<pb::CopyObjectRequest>,
) -> Result<Response<pb::CopyObjectResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let source = readable_source(&caller, &req.copy_source)?;
    let replace = match req.metadata_directive.as_str() {
        "" | "COPY" => None,
        "REPLACE" => Some(Attributes::new(&req.content_type, req.metadata)?),
        other => {
            return Err(Error::InvalidArgument(format!(
                "Unknown metadata directive {other:?}: COPY or REPLACE"
            ))
            .into());
        }
    };
    let info = service
        .buckets
        .copy_object(
            (&caller.key(&source.bucket), &source.key),
            (&caller.key(&req.bucket), &req.key),
            replace,
        )
        .await?;
    Ok(Response::new(pb::CopyObjectResponse {
        copy_object_result: Some(pb::CopyObjectResult {
            e_tag: quoted(&info.etag),
            last_modified: iso(info.last_modified_ns),
        }),
    }))
}
