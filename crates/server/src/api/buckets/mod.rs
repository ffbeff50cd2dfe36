//! `funnel.v1.Buckets`: buckets, objects and their notifications.

mod multipart;
mod objects;

use std::path::Path;
use std::pin::Pin;

use funnel_proto::v1 as pb;
use funnel_proto::v1::buckets_server::Buckets as BucketsApi;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::buckets::Buckets;
use crate::buckets::notifications::LambdaConfiguration;
use crate::buckets::objects::{ListRequest, ObjectInfo};
use crate::error::Error;
use funnel_store::NotificationRecord;

/// GetObject sends the body in pieces of this size.
const CHUNK: usize = 256 * 1024;

type ObjectStream = Pin<Box<dyn Stream<Item = Result<pb::GetObjectResponse, Status>> + Send>>;

pub struct BucketsService {
    buckets: Buckets,
    quotas: crate::quotas::Quotas,
}

impl BucketsService {
    pub fn new(buckets: Buckets, quotas: crate::quotas::Quotas) -> Self {
        BucketsService { buckets, quotas }
    }
}

/// S3's time format, e.g. `2026-11-27T10:00:00.000Z`.
fn iso(ns: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

fn object(info: &ObjectInfo) -> pb::Object {
    pb::Object {
        key: info.key.clone(),
        size: info.size as i64,
        e_tag: quoted(&info.etag),
        last_modified: iso(info.last_modified_ns),
    }
}

fn configuration(record: NotificationRecord) -> pb::LambdaFunctionConfiguration {
    let mut rules = Vec::new();
    if !record.prefix.is_empty() {
        rules.push(pb::FilterRule {
            name: "Prefix".into(),
            value: record.prefix,
        });
    }
    if !record.suffix.is_empty() {
        rules.push(pb::FilterRule {
            name: "Suffix".into(),
            value: record.suffix,
        });
    }
    pb::LambdaFunctionConfiguration {
        id: record.id,
        lambda_function_arn: record.function_arn,
        events: record.events,
        filter: (!rules.is_empty()).then_some(pb::NotificationConfigurationFilter {
            key: Some(pb::S3KeyFilter {
                filter_rules: rules,
            }),
        }),
    }
}

#[tonic::async_trait]
impl BucketsApi for BucketsService {
    async fn create_bucket(
        &self,
        request: Request<pb::CreateBucketRequest>,
    ) -> Result<Response<pb::CreateBucketResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let path = (!req.path.is_empty()).then(|| Path::new(&req.path));
        if path.is_some() && !caller.principal.operator {
            return Err(Error::AccessDenied(format!(
                "User: {} may not give a bucket a host folder (path): only the operator may; \
                 other buckets live under the data dir",
                caller.principal.arn
            ))
            .into());
        }
        self.quotas.bucket(&caller)?;
        let record = self
            .buckets
            .create_bucket(&caller.key(&req.bucket), path)
            .await?;
        Ok(Response::new(pb::CreateBucketResponse {
            location: format!("/{}", crate::tenancy::name(&record.name)),
            path: record.path,
        }))
    }

    async fn delete_bucket(
        &self,
        request: Request<pb::DeleteBucketRequest>,
    ) -> Result<Response<pb::DeleteBucketResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        self.buckets
            .delete_bucket(&caller.key(&request.into_inner().bucket))
            .await?;
        Ok(Response::new(pb::DeleteBucketResponse {}))
    }

    async fn list_buckets(
        &self,
        request: Request<pb::ListBucketsRequest>,
    ) -> Result<Response<pb::ListBucketsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let buckets = self
            .buckets
            .list_buckets()?
            .into_iter()
            .filter(|b| caller.owns(&b.name))
            .map(|b| pb::Bucket {
                name: crate::tenancy::name(&b.name).to_string(),
                creation_date: b.creation_date,
                path: b.path,
            })
            .collect();
        Ok(Response::new(pb::ListBucketsResponse { buckets }))
    }

    async fn put_object(
        &self,
        request: Request<Streaming<pb::PutObjectRequest>>,
    ) -> Result<Response<pb::PutObjectResponse>, Status> {
        // The object's events continue the writer's trace.
        let tracer = self.buckets.tracer().clone();
        let trace = tracer.begin(|| crate::traces::Incoming::from_metadata(request.metadata()));
        let span = tracer.span(trace.as_ref(), "grpc PutObject", "");
        let within = span.as_ref().map(|s| s.context()).or(trace);
        let answer = crate::traces::within(within, self.put_object_from(request)).await;
        if let Some(mut span) = span {
            if let Err(status) = &answer {
                span.fail(&format!("{:?}", status.code()));
            }
            tracer.end(span);
        }
        answer
    }

    type GetObjectStream = ObjectStream;

    async fn get_object(
        &self,
        request: Request<pb::GetObjectRequest>,
    ) -> Result<Response<Self::GetObjectStream>, Status> {
        objects::get_object(self, request).await
    }

    async fn head_object(
        &self,
        request: Request<pb::HeadObjectRequest>,
    ) -> Result<Response<pb::HeadObjectResponse>, Status> {
        objects::head_object(self, request).await
    }

    async fn delete_object(
        &self,
        request: Request<pb::DeleteObjectRequest>,
    ) -> Result<Response<pb::DeleteObjectResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.buckets
            .delete_object(&caller.key(&req.bucket), &req.key)
            .await?;
        Ok(Response::new(pb::DeleteObjectResponse {}))
    }

    async fn delete_objects(
        &self,
        request: Request<pb::DeleteObjectsRequest>,
    ) -> Result<Response<pb::DeleteObjectsResponse>, Status> {
        objects::delete_objects(self, request).await
    }

    async fn copy_object(
        &self,
        request: Request<pb::CopyObjectRequest>,
    ) -> Result<Response<pb::CopyObjectResponse>, Status> {
        objects::copy_object(self, request).await
    }

    async fn create_multipart_upload(
        &self,
        request: Request<pb::CreateMultipartUploadRequest>,
    ) -> Result<Response<pb::CreateMultipartUploadResponse>, Status> {
        multipart::create_multipart_upload(self, request).await
    }

    async fn upload_part(
        &self,
        request: Request<Streaming<pb::UploadPartRequest>>,
    ) -> Result<Response<pb::UploadPartResponse>, Status> {
        self.upload_part_from(request).await
    }

    async fn upload_part_copy(
        &self,
        request: Request<pb::UploadPartCopyRequest>,
    ) -> Result<Response<pb::UploadPartCopyResponse>, Status> {
        multipart::upload_part_copy(self, request).await
    }

    async fn complete_multipart_upload(
        &self,
        request: Request<pb::CompleteMultipartUploadRequest>,
    ) -> Result<Response<pb::CompleteMultipartUploadResponse>, Status> {
        multipart::complete_multipart_upload(self, request).await
    }

    async fn abort_multipart_upload(
        &self,
        request: Request<pb::AbortMultipartUploadRequest>,
    ) -> Result<Response<pb::AbortMultipartUploadResponse>, Status> {
        multipart::abort_multipart_upload(self, request).await
    }

    async fn list_parts(
        &self,
        request: Request<pb::ListPartsRequest>,
    ) -> Result<Response<pb::ListPartsResponse>, Status> {
        multipart::list_parts(self, request).await
    }

    async fn list_multipart_uploads(
        &self,
        request: Request<pb::ListMultipartUploadsRequest>,
    ) -> Result<Response<pb::ListMultipartUploadsResponse>, Status> {
        multipart::list_multipart_uploads(self, request).await
    }

    async fn list_objects_v2(
        &self,
        request: Request<pb::ListObjectsV2Request>,
    ) -> Result<Response<pb::ListObjectsV2Response>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let max_keys = usize::try_from(req.max_keys).map_err(|_| {
            Error::InvalidArgument(format!("MaxKeys {} must be 0-1000", req.max_keys))
        })?;
        let listing = self
            .buckets
            .list_objects(
                &caller.key(&req.bucket),
                &ListRequest {
                    prefix: req.prefix.clone(),
                    delimiter: req.delimiter.clone(),
                    max_keys,
                    continuation_token: req.continuation_token.clone(),
                    start_after: req.start_after.clone(),
                },
            )
            .await?;
        Ok(Response::new(pb::ListObjectsV2Response {
            name: req.bucket,
            prefix: req.prefix,
            delimiter: req.delimiter,
            max_keys: if max_keys == 0 {
                1000
            } else {
                max_keys.min(1000) as i32
            },
            key_count: (listing.contents.len() + listing.common_prefixes.len()) as i32,
            is_truncated: listing.is_truncated,
            continuation_token: req.continuation_token,
            next_continuation_token: listing.next_continuation_token,
            start_after: req.start_after,
            contents: listing.contents.iter().map(object).collect(),
            common_prefixes: listing
                .common_prefixes
                .into_iter()
                .map(|prefix| pb::CommonPrefix { prefix })
                .collect(),
        }))
    }

    async fn put_bucket_notification_configuration(
        &self,
        request: Request<pb::PutBucketNotificationConfigurationRequest>,
    ) -> Result<Response<pb::PutBucketNotificationConfigurationResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let configs = req
            .notification_configuration
            .unwrap_or_default()
            .lambda_function_configurations
            .into_iter()
            .map(|c| {
                // A bare name is the caller's account's function.
                let function_arn = caller.function(&c.lambda_function_arn)?;
                Ok::<_, Error>(LambdaConfiguration {
                    id: c.id,
                    function_arn,
                    events: c.events,
                    filter_rules: c
                        .filter
                        .and_then(|f| f.key)
                        .map(|k| {
                            k.filter_rules
                                .into_iter()
                                .map(|r| (r.name, r.value))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.buckets
            .put_notifications(&caller.key(&req.bucket), configs)
            .await?;
        Ok(Response::new(
            pb::PutBucketNotificationConfigurationResponse {},
        ))
    }

    async fn get_bucket_notification_configuration(
        &self,
        request: Request<pb::GetBucketNotificationConfigurationRequest>,
    ) -> Result<Response<pb::NotificationConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let records = self
            .buckets
            .get_notifications(&caller.key(&request.into_inner().bucket))?;
        Ok(Response::new(pb::NotificationConfiguration {
            lambda_function_configurations: records.into_iter().map(configuration).collect(),
        }))
    }
}
