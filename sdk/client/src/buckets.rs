//! Buckets, objects and bucket notifications.

use crate::{Client, Result, proto};

/// PutObject sends bodies in pieces of this size.
const CHUNK: usize = 1024 * 1024;

/// A whole object, as GetObject streamed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    pub content_length: i64,
    pub e_tag: String,
    pub last_modified: String,
    /// With a range: `bytes first-last/size`.
    pub content_range: String,
    /// As it was written (`binary/octet-stream` when it said none).
    pub content_type: String,
    /// User metadata (S3's `x-amz-meta-*`).
    pub metadata: std::collections::HashMap<String, String>,
}

impl Client {
    /// Creates a bucket over `path` (an existing folder on the server's
    /// machine), or a new folder under the server's data dir when `None`.
    pub async fn create_bucket(
        &self,
        bucket: &str,
        path: Option<&str>,
    ) -> Result<proto::CreateBucketResponse> {
        Ok(self
            .buckets
            .clone()
            .create_bucket(proto::CreateBucketRequest {
                bucket: bucket.into(),
                path: path.unwrap_or_default().into(),
            })
            .await?
            .into_inner())
    }

    pub async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        self.buckets
            .clone()
            .delete_bucket(proto::DeleteBucketRequest {
                bucket: bucket.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn list_buckets(&self) -> Result<Vec<proto::Bucket>> {
        Ok(self
            .buckets
            .clone()
            .list_buckets(proto::ListBucketsRequest {})
            .await?
            .into_inner()
            .buckets)
    }

    /// Uploads `body` as `key`, streamed in 1 MiB pieces.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<proto::PutObjectResponse> {
        self.put_object_described(bucket, key, body, "", Default::default())
            .await
    }

    /// Uploads `body` as `key` with its media type and user metadata (S3's
    /// `Content-Type` and `x-amz-meta-*`, given back by GetObject and
    /// HeadObject).
    pub async fn put_object_described(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        metadata: std::collections::HashMap<String, String>,
    ) -> Result<proto::PutObjectResponse> {
        let mut messages = vec![proto::PutObjectRequest {
            bucket: bucket.into(),
            key: key.into(),
            body: Vec::new(),
            content_type: content_type.into(),
            metadata,
        }];
        messages.extend(body.chunks(CHUNK).map(|piece| proto::PutObjectRequest {
            body: piece.to_vec(),
            ..Default::default()
        }));
        Ok(self
            .buckets
            .clone()
            .put_object(tokio_stream::iter(messages))
            .await?
            .into_inner())
    }

    /// Uploads from a stream of messages: the first names `Bucket` and
    /// `Key`, each may carry a piece of `Body`.
    pub async fn put_object_stream(
        &self,
        messages: impl tokio_stream::Stream<Item = proto::PutObjectRequest> + Send + 'static,
    ) -> Result<proto::PutObjectResponse> {
        Ok(self
            .buckets
            .clone()
            .put_object(messages)
            .await?
            .into_inner())
    }

    /// Downloads a whole object.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Object> {
        self.get_object_range(bucket, key, "").await
    }

    /// Downloads the bytes `range` (S3's `Range`: `bytes=0-99`,
    /// `bytes=100-`, `bytes=-100`; empty for the whole object) asks for.
    pub async fn get_object_range(&self, bucket: &str, key: &str, range: &str) -> Result<Object> {
        let mut stream = self
            .buckets
            .clone()
            .get_object(proto::GetObjectRequest {
                bucket: bucket.into(),
                key: key.into(),
                range: range.into(),
            })
            .await?
            .into_inner();
        let mut object = Object {
            body: Vec::new(),
            content_length: 0,
            e_tag: String::new(),
            last_modified: String::new(),
            content_range: String::new(),
            content_type: String::new(),
            metadata: Default::default(),
        };
        let mut first = true;
        while let Some(part) = stream.message().await? {
            if first {
                object.content_length = part.content_length;
                object.e_tag = part.e_tag;
                object.last_modified = part.last_modified;
                object.content_range = part.content_range;
                object.content_type = part.content_type;
                object.metadata = part.metadata;
                first = false;
            }
            object.body.extend_from_slice(&part.body);
        }
        Ok(object)
    }

    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<proto::HeadObjectResponse> {
        self.head_object_range(bucket, key, "").await
    }

    /// HeadObject of the bytes `range` asks for (as [`Client::get_object_range`]).
    pub async fn head_object_range(
        &self,
        bucket: &str,
        key: &str,
        range: &str,
    ) -> Result<proto::HeadObjectResponse> {
        Ok(self
            .buckets
            .clone()
            .head_object(proto::HeadObjectRequest {
                bucket: bucket.into(),
                key: key.into(),
                range: range.into(),
            })
            .await?
            .into_inner())
    }

    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.buckets
            .clone()
            .delete_object(proto::DeleteObjectRequest {
                bucket: bucket.into(),
                key: key.into(),
            })
            .await?;
        Ok(())
    }

    /// S3's batch delete of `keys` (1 to 1000): which were deleted, and
    /// which failed and why (a key the caller may not delete, ...).
    pub async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[&str],
        quiet: bool,
    ) -> Result<proto::DeleteObjectsResponse> {
        Ok(self
            .buckets
            .clone()
            .delete_objects(proto::DeleteObjectsRequest {
                bucket: bucket.into(),
                delete: Some(proto::Delete {
                    objects: keys
                        .iter()
                        .map(|key| proto::ObjectIdentifier {
                            key: key.to_string(),
                        })
                        .collect(),
                    quiet,
                }),
            })
            .await?
            .into_inner())
    }

    /// Copies the object `copy_source` names (`bucket/key`, URL-encoded,
    /// as S3 takes it) to `key` of `bucket`.
    pub async fn copy_object(
        &self,
        bucket: &str,
        key: &str,
        copy_source: &str,
    ) -> Result<proto::CopyObjectResult> {
        Ok(self
            .buckets
            .clone()
            .copy_object(proto::CopyObjectRequest {
                bucket: bucket.into(),
                key: key.into(),
                copy_source: copy_source.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .copy_object_result
            .unwrap_or_default())
    }

    /// Starts a multipart upload of `key`: its `UploadId`.
    pub async fn create_multipart_upload(&self, bucket: &str, key: &str) -> Result<String> {
        Ok(self
            .buckets
            .clone()
            .create_multipart_upload(proto::CreateMultipartUploadRequest {
                bucket: bucket.into(),
                key: key.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .upload_id)
    }

    /// Part `part_number` of an upload copied from an existing object
    /// (`copy_source`: `bucket/key`, URL-encoded), whole or the bytes
    /// `range` (`bytes=first-last`; empty for all) names.
    pub async fn upload_part_copy(
        &self,
        (bucket, key, upload_id): (&str, &str, &str),
        part_number: i32,
        copy_source: &str,
        range: &str,
    ) -> Result<proto::CopyPartResult> {
        Ok(self
            .buckets
            .clone()
            .upload_part_copy(proto::UploadPartCopyRequest {
                bucket: bucket.into(),
                key: key.into(),
                upload_id: upload_id.into(),
                part_number,
                copy_source: copy_source.into(),
                copy_source_range: range.into(),
            })
            .await?
            .into_inner()
            .copy_part_result
            .unwrap_or_default())
    }

    /// Uploads part `part_number` (1-10000) of an upload, streamed in 1 MiB
    /// pieces; its `ETag`.
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Vec<u8>,
    ) -> Result<proto::UploadPartResponse> {
        let mut messages = vec![proto::UploadPartRequest {
            bucket: bucket.into(),
            key: key.into(),
            upload_id: upload_id.into(),
            part_number,
            body: Vec::new(),
        }];
        messages.extend(body.chunks(CHUNK).map(|piece| proto::UploadPartRequest {
            body: piece.to_vec(),
            ..Default::default()
        }));
        Ok(self
            .buckets
            .clone()
            .upload_part(tokio_stream::iter(messages))
            .await?
            .into_inner())
    }

    /// Completes an upload from `parts` (`PartNumber`, `ETag`), in order.
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(i32, &str)],
    ) -> Result<proto::CompleteMultipartUploadResponse> {
        Ok(self
            .buckets
            .clone()
            .complete_multipart_upload(proto::CompleteMultipartUploadRequest {
                bucket: bucket.into(),
                key: key.into(),
                upload_id: upload_id.into(),
                multipart_upload: Some(proto::CompletedMultipartUpload {
                    parts: parts
                        .iter()
                        .map(|(part_number, e_tag)| proto::CompletedPart {
                            part_number: *part_number,
                            e_tag: e_tag.to_string(),
                        })
                        .collect(),
                }),
            })
            .await?
            .into_inner())
    }

    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        self.buckets
            .clone()
            .abort_multipart_upload(proto::AbortMultipartUploadRequest {
                bucket: bucket.into(),
                key: key.into(),
                upload_id: upload_id.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn list_parts(
        &self,
        request: proto::ListPartsRequest,
    ) -> Result<proto::ListPartsResponse> {
        Ok(self.buckets.clone().list_parts(request).await?.into_inner())
    }

    pub async fn list_multipart_uploads(
        &self,
        request: proto::ListMultipartUploadsRequest,
    ) -> Result<proto::ListMultipartUploadsResponse> {
        Ok(self
            .buckets
            .clone()
            .list_multipart_uploads(request)
            .await?
            .into_inner())
    }

    pub async fn list_objects_v2(
        &self,
        request: proto::ListObjectsV2Request,
    ) -> Result<proto::ListObjectsV2Response> {
        Ok(self
            .buckets
            .clone()
            .list_objects_v2(request)
            .await?
            .into_inner())
    }

    pub async fn put_bucket_notification_configuration(
        &self,
        bucket: &str,
        configuration: proto::NotificationConfiguration,
    ) -> Result<()> {
        self.buckets
            .clone()
            .put_bucket_notification_configuration(
                proto::PutBucketNotificationConfigurationRequest {
                    bucket: bucket.into(),
                    notification_configuration: Some(configuration),
                },
            )
            .await?;
        Ok(())
    }

    pub async fn get_bucket_notification_configuration(
        &self,
        bucket: &str,
    ) -> Result<proto::NotificationConfiguration> {
        Ok(self
            .buckets
            .clone()
            .get_bucket_notification_configuration(
                proto::GetBucketNotificationConfigurationRequest {
                    bucket: bucket.into(),
                },
            )
            .await?
            .into_inner())
    }
}
