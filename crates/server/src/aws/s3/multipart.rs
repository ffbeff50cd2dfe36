//! S3's multipart upload over `funnel.v1.Buckets`: CreateMultipartUpload,
//! UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
//! ListMultipartUploads. The aws CLI and boto3 use it above 8 MB.

use bytes::Bytes;
use funnel_proto::v1 as pb;
use funnel_proto::v1::buckets_server::Buckets as _;
use funnel_runtime::HttpBody;
use http::StatusCode;

use super::super::Door;
use super::super::errors::AwsError;
use super::objects::upload;
use super::xml::{self, Xml};
use super::{Request, call, empty, error};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

fn upload_id(request: &Request) -> String {
    request.query("uploadId").unwrap_or_default().to_string()
}

pub async fn create(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let (content_type, metadata) = super::objects::described(&request);
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/CreateMultipartUpload",
        pb::CreateMultipartUploadRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            content_type,
            metadata,
        },
        |r| buckets.create_multipart_upload(r),
    )
    .await?;
    let mut doc = Xml::new("InitiateMultipartUploadResult");
    doc.text("Bucket", &out.bucket)
        .text("Key", &out.key)
        .text("UploadId", &out.upload_id);
    Ok(super::xml(doc.finish("InitiateMultipartUploadResult")))
}

fn part_number(request: &Request) -> Result<i32, AwsError> {
    request
        .query("partNumber")
        .and_then(|n| n.parse::<i32>().ok())
        .ok_or_else(|| {
            error(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
            )
        })
}

/// UploadPartCopy: an UploadPart with `x-amz-copy-source` (and maybe
/// `x-amz-copy-source-range`) in place of a body.
pub async fn upload_part_copy(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let message = pb::UploadPartCopyRequest {
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id(&request),
        part_number: part_number(&request)?,
        copy_source: request
            .header("x-amz-copy-source")
            .unwrap_or_default()
            .to_string(),
        copy_source_range: request
            .header("x-amz-copy-source-range")
            .unwrap_or_default()
            .to_string(),
    };
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/UploadPartCopy",
        message,
        |r| buckets.upload_part_copy(r),
    )
    .await?;
    let result = out.copy_part_result.unwrap_or_default();
    let mut doc = Xml::new("CopyPartResult");
    doc.text("LastModified", &result.last_modified)
        .text("ETag", &result.e_tag);
    Ok(super::xml(doc.finish("CopyPartResult")))
}

pub async fn upload_part(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let part_number = part_number(&request)?;
    let first = pb::UploadPartRequest {
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id(&request),
        part_number,
        body: Vec::new(),
    };
    let piece = |bytes: Bytes| pb::UploadPartRequest {
        body: bytes.to_vec(),
        ..Default::default()
    };
    let buckets = &door.inner.services.buckets;
    let path = "/funnel.v1.Buckets/UploadPart";
    upload(
        door,
        request,
        path,
        first,
        piece,
        |r| buckets.upload_part_from(r),
        |out| out.e_tag,
    )
    .await
}

pub async fn complete(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let upload_id = upload_id(&request);
    let (body, signer) = request.xml_body(door.body_timeout()).await?;
    let doc = xml::parse(xml::utf8(&body)?, "CompleteMultipartUpload")?;
    let parts = xml::children(doc.root_element(), "Part")
        .map(|part| {
            let number = xml::child_text(part, "PartNumber")
                .and_then(|n| n.trim().parse::<i32>().ok())
                .ok_or_else(|| error("MalformedXML", "a Part has no PartNumber"))?;
            Ok(pb::CompletedPart {
                part_number: number,
                e_tag: xml::child_text(part, "ETag")
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect::<Result<Vec<_>, AwsError>>()?;
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &signer,
        "/funnel.v1.Buckets/CompleteMultipartUpload",
        pb::CompleteMultipartUploadRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
            multipart_upload: Some(pb::CompletedMultipartUpload { parts }),
        },
        |r| buckets.complete_multipart_upload(r),
    )
    .await?;
    let mut doc = Xml::new("CompleteMultipartUploadResult");
    doc.text("Location", &out.location)
        .text("Bucket", &out.bucket)
        .text("Key", &out.key)
        .text("ETag", &out.e_tag);
    Ok(super::xml(doc.finish("CompleteMultipartUploadResult")))
}

pub async fn abort(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let buckets = &door.inner.services.buckets;
    call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/AbortMultipartUpload",
        pb::AbortMultipartUploadRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: upload_id(&request),
        },
        |r| buckets.abort_multipart_upload(r),
    )
    .await?;
    Ok(empty(StatusCode::NO_CONTENT, &[]))
}

/// A query number: absent is `default`, else it must parse.
fn number(request: &Request, name: &str) -> Result<i32, AwsError> {
    match request.query(name) {
        None => Ok(0),
        Some(value) => value.parse::<i32>().map_err(|_| {
            error(
                "InvalidArgument",
                format!("Provided {name} not an integer or within integer range"),
            )
        }),
    }
}

fn people(doc: &mut Xml, initiator: Option<&pb::Initiator>, owner: Option<&pb::Owner>) {
    if let Some(initiator) = initiator {
        doc.open("Initiator")
            .text("ID", &initiator.id)
            .text("DisplayName", &initiator.display_name)
            .close("Initiator");
    }
    if let Some(owner) = owner {
        doc.open("Owner")
            .text("ID", &owner.id)
            .text("DisplayName", &owner.display_name)
            .close("Owner");
    }
}

pub async fn list_parts(door: &Door, request: Request, bucket: &str, key: &str) -> Answer {
    let buckets = &door.inner.services.buckets;
    let message = pb::ListPartsRequest {
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id(&request),
        max_parts: number(&request, "max-parts")?,
        part_number_marker: number(&request, "part-number-marker")?,
    };
    let out = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/ListParts",
        message,
        |r| buckets.list_parts(r),
    )
    .await?;
    let mut doc = Xml::new("ListPartsResult");
    doc.text("Bucket", &out.bucket)
        .text("Key", &out.key)
        .text("UploadId", &out.upload_id)
        .text("PartNumberMarker", out.part_number_marker.to_string())
        .text(
            "NextPartNumberMarker",
            out.next_part_number_marker.to_string(),
        )
        .text("MaxParts", out.max_parts.to_string())
        .text("IsTruncated", out.is_truncated.to_string());
    people(&mut doc, out.initiator.as_ref(), out.owner.as_ref());
    doc.text("StorageClass", "STANDARD");
    for part in &out.parts {
        doc.open("Part")
            .text("PartNumber", part.part_number.to_string())
            .text("LastModified", &part.last_modified)
            .text("ETag", &part.e_tag)
            .text("Size", part.size.to_string())
            .close("Part");
    }
    Ok(super::xml(doc.finish("ListPartsResult")))
}

pub async fn list_uploads(door: &Door, request: Request, bucket: &str) -> Answer {
    let buckets = &door.inner.services.buckets;
    let message = {
        let arg = |name: &str| request.query(name).unwrap_or_default().to_string();
        pb::ListMultipartUploadsRequest {
            bucket: bucket.to_string(),
            prefix: arg("prefix"),
            key_marker: arg("key-marker"),
            upload_id_marker: arg("upload-id-marker"),
            max_uploads: number(&request, "max-uploads")?,
        }
    };
    let out = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/ListMultipartUploads",
        message,
        |r| buckets.list_multipart_uploads(r),
    )
    .await?;
    let mut doc = Xml::new("ListMultipartUploadsResult");
    doc.text("Bucket", &out.bucket)
        .text("KeyMarker", &out.key_marker)
        .text("UploadIdMarker", &out.upload_id_marker)
        .nonempty("NextKeyMarker", &out.next_key_marker)
        .nonempty("NextUploadIdMarker", &out.next_upload_id_marker)
        .nonempty("Prefix", &out.prefix)
        .text("MaxUploads", out.max_uploads.to_string())
        .text("IsTruncated", out.is_truncated.to_string());
    for upload in &out.uploads {
        doc.open("Upload")
            .text("Key", &upload.key)
            .text("UploadId", &upload.upload_id);
        people(&mut doc, upload.initiator.as_ref(), upload.owner.as_ref());
        doc.text("StorageClass", "STANDARD")
            .text("Initiated", &upload.initiated)
            .close("Upload");
    }
    Ok(super::xml(doc.finish("ListMultipartUploadsResult")))
}
