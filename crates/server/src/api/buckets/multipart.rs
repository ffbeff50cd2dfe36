//! The multipart upload calls of `funnel.v1.Buckets` (see
//! `crate::buckets::multipart`): UploadPart from any stream of messages, as
//! PutObject.

use crate::buckets::attributes::Attributes;
use funnel_proto::v1 as pb;
use funnel_store::UploadRecord;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::{BucketsService, iso, quoted};
use crate::error::Error;

/// The most parts or uploads one listing gives, as S3.
const MAX_LISTED: i32 = 1000;

fn page_size(name: &str, given: i32) -> Result<usize, Error> {
    match given {
        0 => Ok(MAX_LISTED as usize),
        n if n > 0 => Ok(n.min(MAX_LISTED) as usize),
        n => Err(Error::InvalidArgument(format!(
            "{name} must be 1-{MAX_LISTED} ({n} given)"
        ))),
    }
}

fn initiator(upload: &UploadRecord) -> pb::Initiator {
    pb::Initiator {
        id: upload.initiator.clone(),
        display_name: upload
            .initiator
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

fn owner(upload: &UploadRecord) -> pb::Owner {
    pb::Owner {
        id: upload.owner.clone(),
        display_name: upload.owner.clone(),
    }
}

impl BucketsService {
    /// UploadPart from any stream of messages: the gRPC call's, or the AWS
    /// endpoint's body cut into messages. The first message names the
    /// upload and the part; an `Err` item aborts the part (its temporary
    /// file is removed, the upload keeps what it had).
    pub async fn upload_part_from<S>(
        &self,
        request: Request<S>,
    ) -> Result<Response<pb::UploadPartResponse>, Status>
    where
        S: Stream<Item = Result<pb::UploadPartRequest, Status>> + Send + Unpin,
    {
        let caller = crate::iam::caller_of(request.extensions())?;
        let mut messages = request.into_inner();
        let first = messages
            .next()
            .await
            .ok_or_else(|| Error::InvalidArgument("UploadPart got no message".into()))??;
        crate::iam::authorize_resource(&caller, &first)?;
        let bucket = caller.key(&first.bucket);
        let mut part = self
            .buckets
            .begin_part(&bucket, &first.key, &first.upload_id, first.part_number)
            .await?;
        part.write(&first.body).await?;
        while let Some(message) = messages.next().await {
            // A broken stream drops the part, which removes its file.
            let message = message?;
            if (!message.bucket.is_empty() && message.bucket != first.bucket)
                || (!message.key.is_empty() && message.key != first.key)
                || (!message.upload_id.is_empty() && message.upload_id != first.upload_id)
                || (message.part_number != 0 && message.part_number != first.part_number)
            {
                return Err(Error::InvalidArgument(
                    "every UploadPart message must name the same Bucket, Key, UploadId and \
                     PartNumber (or none)"
                        .into(),
                )
                .into());
            }
            part.write(&message.body).await?;
        }
        let info = self
            .buckets
            .finish_part(part, &first.upload_id, first.part_number)
            .await?;
        Ok(Response::new(pb::UploadPartResponse {
            e_tag: quoted(&info.etag),
            size: info.size as i64,
        }))
    }
}

pub(super) async fn create_multipart_upload(
    service: &BucketsService,
    request: Request<pb::CreateMultipartUploadRequest>,
) -> Result<Response<pb::CreateMultipartUploadResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let attributes = Attributes::new(&req.content_type, req.metadata)?;
    let upload = service
        .buckets
        .create_multipart_upload(
            &caller.key(&req.bucket),
            &req.key,
            (&caller.principal.arn, &caller.principal.account_id),
            attributes,
        )
        .await?;
    Ok(Response::new(pb::CreateMultipartUploadResponse {
        bucket: req.bucket,
        key: req.key,
        upload_id: upload.upload_id,
    }))
}

/// UploadPartCopy: `s3:PutObject` on the upload's object (the call's
/// action), and `s3:GetObject` on the source.
pub(super) async fn upload_part_copy(
    service: &BucketsService,
    request: Request<pb::UploadPartCopyRequest>,
) -> Result<Response<pb::UploadPartCopyResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let source = super::objects::readable_source(&caller, &req.copy_source)?;
    let part = service
        .buckets
        .upload_part_copy(
            (&caller.key(&source.bucket), &source.key),
            &req.copy_source_range,
            (&caller.key(&req.bucket), &req.key),
            (&req.upload_id, req.part_number),
        )
        .await?;
    Ok(Response::new(pb::UploadPartCopyResponse {
        copy_part_result: Some(pb::CopyPartResult {
            e_tag: quoted(&part.etag),
            last_modified: iso(part.last_modified_ns),
        }),
    }))
}

pub(super) async fn complete_multipart_upload(
    service: &BucketsService,
    request: Request<pb::CompleteMultipartUploadRequest>,
) -> Result<Response<pb::CompleteMultipartUploadResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let parts: Vec<(i32, String)> = req
        .multipart_upload
        .unwrap_or_default()
        .parts
        .into_iter()
        .map(|p| (p.part_number, p.e_tag))
        .collect();
    let info = service
        .buckets
        .complete_multipart_upload(&caller.key(&req.bucket), &req.key, &req.upload_id, &parts)
        .await?;
    Ok(Response::new(pb::CompleteMultipartUploadResponse {
        location: format!("/{}/{}", req.bucket, req.key),
        bucket: req.bucket,
        key: req.key,
        e_tag: quoted(&info.etag),
        size: info.size as i64,
    }))
}

pub(super) async fn abort_multipart_upload(
    service: &BucketsService,
    request: Request<pb::AbortMultipartUploadRequest>,
) -> Result<Response<pb::AbortMultipartUploadResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    service
        .buckets
        .abort_multipart_upload(&caller.key(&req.bucket), &req.key, &req.upload_id)
        .await?;
    Ok(Response::new(pb::AbortMultipartUploadResponse {}))
}

pub(super) async fn list_parts(
    service: &BucketsService,
    request: Request<pb::ListPartsRequest>,
) -> Result<Response<pb::ListPartsResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let max_parts = page_size("MaxParts", req.max_parts)?;
    let after = u32::try_from(req.part_number_marker).map_err(|_| {
        Error::InvalidArgument(format!(
            "PartNumberMarker must not be negative ({} given)",
            req.part_number_marker
        ))
    })?;
    let page = service.buckets.list_parts(
        &caller.key(&req.bucket),
        &req.key,
        &req.upload_id,
        after,
        max_parts,
    )?;
    Ok(Response::new(pb::ListPartsResponse {
        next_part_number_marker: if page.is_truncated {
            page.parts.last().map_or(0, |p| p.number as i32)
        } else {
            0
        },
        initiator: Some(initiator(&page.upload)),
        owner: Some(owner(&page.upload)),
        parts: page
            .parts
            .iter()
            .map(|p| pb::Part {
                part_number: p.number as i32,
                last_modified: iso(p.last_modified_ns),
                e_tag: quoted(&p.etag),
                size: p.size as i64,
            })
            .collect(),
        bucket: req.bucket,
        key: req.key,
        upload_id: req.upload_id,
        part_number_marker: req.part_number_marker,
        max_parts: max_parts as i32,
        is_truncated: page.is_truncated,
    }))
}

pub(super) async fn list_multipart_uploads(
    service: &BucketsService,
    request: Request<pb::ListMultipartUploadsRequest>,
) -> Result<Response<pb::ListMultipartUploadsResponse>, Status> {
    let caller = crate::iam::check(&request)?;
    let req = request.into_inner();
    let max_uploads = page_size("MaxUploads", req.max_uploads)?;
    let page = service.buckets.list_multipart_uploads(
        &caller.key(&req.bucket),
        &req.prefix,
        (&req.key_marker, &req.upload_id_marker),
        max_uploads,
    )?;
    let (next_key_marker, next_upload_id_marker) = match page.uploads.last() {
        Some(last) if page.is_truncated => (last.key.clone(), last.upload_id.clone()),
        _ => Default::default(),
    };
    Ok(Response::new(pb::ListMultipartUploadsResponse {
        uploads: page
            .uploads
            .iter()
            .map(|u| pb::MultipartUpload {
                upload_id: u.upload_id.clone(),
                key: u.key.clone(),
                initiated: iso(u.initiated_ns),
                initiator: Some(initiator(u)),
                owner: Some(owner(u)),
            })
            .collect(),
        bucket: req.bucket,
        prefix: req.prefix,
        key_marker: req.key_marker,
        upload_id_marker: req.upload_id_marker,
        next_key_marker,
        next_upload_id_marker,
        max_uploads: max_uploads as i32,
        is_truncated: page.is_truncated,
    }))
}
