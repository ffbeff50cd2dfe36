//! S3's bucket operations over `funnel.v1.Buckets`: ListBuckets,
//! CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
//! ListObjects(V2), and the bucket's notifications.

use funnel_proto::v1 as pb;
use funnel_proto::v1::buckets_server::Buckets as _;
use funnel_runtime::HttpBody;
use http::StatusCode;

use super::super::errors::AwsError;
use super::super::{Door, Signer};
use super::xml::{self, Xml};
use super::{Request, call, empty, error};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

pub async fn list_buckets(door: &Door, request: Request) -> Answer {
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/ListBuckets",
        pb::ListBucketsRequest {},
        |r| buckets.list_buckets(r),
    )
    .await?;
    let principal = &request.signer.principal;
    let mut doc = Xml::new("ListAllMyBucketsResult");
    doc.open("Owner")
        .text("ID", &principal.account_id)
        .text("DisplayName", &principal.user_name)
        .close("Owner")
        .open("Buckets");
    for bucket in &out.buckets {
        doc.open("Bucket")
            .text("Name", &bucket.name)
            .text("CreationDate", &bucket.creation_date)
            .close("Bucket");
    }
    doc.close("Buckets");
    Ok(super::xml(doc.finish("ListAllMyBucketsResult")))
}

pub async fn create_bucket(door: &Door, request: Request, bucket: &str) -> Answer {
    let (body, signer) = request.xml_body(door.body_timeout()).await?;
    if !body.is_empty() {
        // Its LocationConstraint: funnel has one region, any is taken.
        xml::parse(xml::utf8(&body)?, "CreateBucketConfiguration")?;
    }
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &signer,
        "/funnel.v1.Buckets/CreateBucket",
        pb::CreateBucketRequest {
            bucket: bucket.to_string(),
            path: String::new(),
        },
        |r| buckets.create_bucket(r),
    )
    .await?;
    Ok(empty(StatusCode::OK, &[("location", out.location)]))
}

pub async fn delete_bucket(door: &Door, request: Request, bucket: &str) -> Answer {
    let buckets = &door.inner.services.buckets;
    call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/DeleteBucket",
        pb::DeleteBucketRequest {
            bucket: bucket.to_string(),
        },
        |r| buckets.delete_bucket(r),
    )
    .await?;
    Ok(empty(StatusCode::NO_CONTENT, &[]))
}

/// Whether the bucket exists and the signer may list it (S3 asks for
/// `s3:ListBucket` too).
async fn check_bucket(door: &Door, signer: &Signer, bucket: &str) -> Result<(), AwsError> {
    let buckets = &door.inner.services.buckets;
    call(
        door,
        signer,
        "/funnel.v1.Buckets/ListObjectsV2",
        pb::ListObjectsV2Request {
            bucket: bucket.to_string(),
            max_keys: 1,
            ..Default::default()
        },
        |r| buckets.list_objects_v2(r),
    )
    .await
    .map(drop)
}

pub async fn head_bucket(door: &Door, request: Request, bucket: &str) -> Answer {
    check_bucket(door, &request.signer, bucket).await?;
    let region = request.signer.principal.naming.region.clone();
    Ok(empty(
        StatusCode::OK,
        &[
            ("x-amz-bucket-region", region),
            ("x-amz-access-point-alias", "false".into()),
        ],
    ))
}

pub async fn location(door: &Door, request: Request, bucket: &str) -> Answer {
    check_bucket(door, &request.signer, bucket).await?;
    let region = &request.signer.principal.naming.region;
    // us-east-1 is S3's empty location.
    let region = if region == "us-east-1" { "" } else { region };
    Ok(super::xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{}\">{}</LocationConstraint>",
        xml::NAMESPACE,
        super::super::errors::xml_escape(region)
    )))
}

/// `max-keys`: 0-1000 (more is 1000, as S3 caps it).
fn max_keys(request: &Request) -> Result<i32, AwsError> {
    match request.query("max-keys") {
        None => Ok(1000),
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n.min(1000) as i32)
            .ok_or_else(|| {
                error(
                    "InvalidArgument",
                    "Provided max-keys not an integer or within integer range",
                )
            }),
    }
}

/// Text as `encoding-type=url` asks: percent-encoded, `/` kept, a space
/// as `+` (botocore decodes with `unquote_plus`).
fn encoder(request: &Request) -> Result<impl Fn(&str) -> String + use<>, AwsError> {
    let url = match request.query("encoding-type") {
        None => false,
        Some("url") => true,
        Some(other) => {
            return Err(error(
                "InvalidArgument",
                format!("Invalid Encoding Method specified in Request: {other}"),
            ));
        }
    };
    Ok(move |text: &str| {
        if !url {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                    out.push(byte as char)
                }
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    })
}

/// The listing, with `max-keys=0` answered as S3 does (no keys).
async fn list(
    door: &Door,
    signer: &Signer,
    mut message: pb::ListObjectsV2Request,
) -> Result<pb::ListObjectsV2Response, AwsError> {
    let none = message.max_keys == 0;
    if none {
        message.max_keys = 1;
    }
    let buckets = &door.inner.services.buckets;
    let mut out = call(
        door,
        signer,
        "/funnel.v1.Buckets/ListObjectsV2",
        message,
        |r| buckets.list_objects_v2(r),
    )
    .await?;
    if none {
        out.is_truncated = out.key_count > 0;
        out.contents.clear();
        out.common_prefixes.clear();
        out.key_count = 0;
        out.max_keys = 0;
        out.next_continuation_token.clear();
    }
    Ok(out)
}

fn contents(doc: &mut Xml, out: &pb::ListObjectsV2Response, encode: &impl Fn(&str) -> String) {
    for object in &out.contents {
        doc.open("Contents")
            .text("Key", encode(&object.key))
            .text("LastModified", &object.last_modified)
            .text("ETag", &object.e_tag)
            .text("Size", object.size.to_string())
            .text("StorageClass", "STANDARD")
            .close("Contents");
    }
    for prefix in &out.common_prefixes {
        doc.open("CommonPrefixes")
            .text("Prefix", encode(&prefix.prefix))
            .close("CommonPrefixes");
    }
}

pub async fn list_objects_v2(door: &Door, request: Request, bucket: &str) -> Answer {
    let encode = encoder(&request)?;
    let message = {
        let arg = |name: &str| request.query(name).unwrap_or_default().to_string();
        pb::ListObjectsV2Request {
            bucket: bucket.to_string(),
            prefix: arg("prefix"),
            delimiter: arg("delimiter"),
            max_keys: max_keys(&request)?,
            continuation_token: arg("continuation-token"),
            start_after: arg("start-after"),
        }
    };
    let out = list(door, &request.signer, message).await?;
    let mut doc = Xml::new("ListBucketResult");
    doc.text("Name", &out.name)
        .text("Prefix", encode(&out.prefix))
        .nonempty("Delimiter", &encode(&out.delimiter))
        .text("MaxKeys", out.max_keys.to_string())
        .text("KeyCount", out.key_count.to_string())
        .text("IsTruncated", out.is_truncated.to_string())
        .some("EncodingType", request.query("encoding-type"))
        .nonempty("ContinuationToken", &out.continuation_token)
        .nonempty("NextContinuationToken", &out.next_continuation_token)
        .nonempty("StartAfter", &encode(&out.start_after));
    contents(&mut doc, &out, &encode);
    Ok(super::xml(doc.finish("ListBucketResult")))
}

/// ListObjects (version 1): `marker` is where the listing starts after.
pub async fn list_objects_v1(door: &Door, request: Request, bucket: &str) -> Answer {
    let encode = encoder(&request)?;
    let marker = request.query("marker").unwrap_or_default().to_string();
    let message = {
        let arg = |name: &str| request.query(name).unwrap_or_default().to_string();
        pb::ListObjectsV2Request {
            bucket: bucket.to_string(),
            prefix: arg("prefix"),
            delimiter: arg("delimiter"),
            max_keys: max_keys(&request)?,
            continuation_token: String::new(),
            start_after: marker.clone(),
        }
    };
    let out = list(door, &request.signer, message).await?;
    // The last key or prefix listed: where the next page starts.
    let last = out
        .contents
        .last()
        .map(|o| o.key.as_str())
        .into_iter()
        .chain(out.common_prefixes.last().map(|p| p.prefix.as_str()))
        .max()
        .unwrap_or_default()
        .to_string();
    let principal = &request.signer.principal;
    let mut doc = Xml::new("ListBucketResult");
    doc.text("Name", &out.name)
        .text("Prefix", encode(&out.prefix))
        .text("Marker", encode(&marker))
        .text("MaxKeys", out.max_keys.to_string())
        .nonempty("Delimiter", &encode(&out.delimiter))
        .text("IsTruncated", out.is_truncated.to_string())
        .some("EncodingType", request.query("encoding-type"));
    if out.is_truncated && !out.delimiter.is_empty() {
        doc.text("NextMarker", encode(&last));
    }
    for object in &out.contents {
        doc.open("Contents")
            .text("Key", encode(&object.key))
            .text("LastModified", &object.last_modified)
            .text("ETag", &object.e_tag)
            .text("Size", object.size.to_string())
            .text("StorageClass", "STANDARD")
            .open("Owner")
            .text("ID", &principal.account_id)
            .text("DisplayName", &principal.user_name)
            .close("Owner")
            .close("Contents");
    }
    for prefix in &out.common_prefixes {
        doc.open("CommonPrefixes")
            .text("Prefix", encode(&prefix.prefix))
            .close("CommonPrefixes");
    }
    Ok(super::xml(doc.finish("ListBucketResult")))
}

pub async fn put_notifications(door: &Door, request: Request, bucket: &str) -> Answer {
    let (body, signer) = request.xml_body(door.body_timeout()).await?;
    let doc = xml::parse(xml::utf8(&body)?, "NotificationConfiguration")?;
    let root = doc.root_element();
    for other in [
        "TopicConfiguration",
        "QueueConfiguration",
        "EventBridgeConfiguration",
    ] {
        if xml::children(root, other).next().is_some() {
            return Err(error(
                "InvalidArgument",
                format!(
                    "funnel's buckets notify functions only (CloudFunctionConfiguration), \
                     not a {other}"
                ),
            ));
        }
    }
    let mut configurations = Vec::new();
    for config in xml::children(root, "CloudFunctionConfiguration") {
        let arn = xml::child_text(config, "CloudFunction").ok_or_else(|| {
            error(
                "MalformedXML",
                "a CloudFunctionConfiguration names no CloudFunction",
            )
        })?;
        let rules = xml::children(config, "Filter")
            .flat_map(|f| xml::children(f, "S3Key"))
            .flat_map(|k| xml::children(k, "FilterRule"))
            .map(|rule| pb::FilterRule {
                name: xml::child_text(rule, "Name")
                    .unwrap_or_default()
                    .to_string(),
                value: xml::child_text(rule, "Value")
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect::<Vec<_>>();
        configurations.push(pb::LambdaFunctionConfiguration {
            id: xml::child_text(config, "Id")
                .unwrap_or_default()
                .to_string(),
            lambda_function_arn: arn.to_string(),
            events: xml::children(config, "Event")
                .map(|e| e.text().unwrap_or_default().to_string())
                .collect(),
            filter: (!rules.is_empty()).then_some(pb::NotificationConfigurationFilter {
                key: Some(pb::S3KeyFilter {
                    filter_rules: rules,
                }),
            }),
        });
    }
    let buckets = &door.inner.services.buckets;
    call(
        door,
        &signer,
        "/funnel.v1.Buckets/PutBucketNotificationConfiguration",
        pb::PutBucketNotificationConfigurationRequest {
            bucket: bucket.to_string(),
            notification_configuration: Some(pb::NotificationConfiguration {
                lambda_function_configurations: configurations,
            }),
        },
        |r| buckets.put_bucket_notification_configuration(r),
    )
    .await?;
    Ok(empty(StatusCode::OK, &[]))
}

pub async fn get_notifications(door: &Door, request: Request, bucket: &str) -> Answer {
    let buckets = &door.inner.services.buckets;
    let out = call(
        door,
        &request.signer,
        "/funnel.v1.Buckets/GetBucketNotificationConfiguration",
        pb::GetBucketNotificationConfigurationRequest {
            bucket: bucket.to_string(),
        },
        |r| buckets.get_bucket_notification_configuration(r),
    )
    .await?;
    let mut doc = Xml::new("NotificationConfiguration");
    for config in &out.lambda_function_configurations {
        doc.open("CloudFunctionConfiguration")
            .text("Id", &config.id)
            .text("CloudFunction", &config.lambda_function_arn);
        for event in &config.events {
            doc.text("Event", event);
        }
        if let Some(key) = config.filter.as_ref().and_then(|f| f.key.as_ref()) {
            doc.open("Filter").open("S3Key");
            for rule in &key.filter_rules {
                doc.open("FilterRule")
                    .text("Name", &rule.name)
                    .text("Value", &rule.value)
                    .close("FilterRule");
            }
            doc.close("S3Key").close("Filter");
        }
        doc.close("CloudFunctionConfiguration");
    }
    Ok(super::xml(doc.finish("NotificationConfiguration")))
}
