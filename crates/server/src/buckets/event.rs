//! The S3 event notification a bucket sends to a function, built byte-for-byte
//! in the shape Amazon S3 gives Lambda (event message structure version 2.1,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>).
//!
//! This module owns only the JSON shape and the key encoding. It does not watch
//! folders, pick sequencers or request ids, match notification filters, or
//! invoke anything: the caller hands it one [`ObjectEvent`] and sends the result.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// S3 gives the requester's address; a funnel bucket event has none, so it
/// reads as the local host, as in AWS's own examples.
const SOURCE_IP_ADDRESS: &str = "127.0.0.1";

/// S3 names its front-end host in `x-amz-id-2`; ours is always this process.
const HOST_ID: &str = "funnel";

/// One S3 object event, as the bucket watcher or object API saw it.
#[derive(Clone, Copy, Debug)]
pub struct ObjectEvent<'a> {
    /// E.g. `ObjectCreated:Put`, `ObjectRemoved:Delete`; a leading `s3:` is dropped.
    pub event_name: &'a str,
    pub bucket: &'a str,
    /// The raw key, `/`-separated UTF-8; [`notification`] encodes it.
    pub key: &'a str,
    /// Object size in bytes; created events only.
    pub size: Option<u64>,
    /// MD5 hex of the content, unquoted; created events only.
    pub etag: Option<&'a str>,
    /// Hex string that increases per key with every put and delete.
    pub sequencer: &'a str,
    pub event_time_ms: i64,
    pub configuration_id: &'a str,
    pub region: &'a str,
    /// Twelve digits; stands in for both the requester and the bucket owner.
    pub account_id: &'a str,
    /// Goes into `x-amz-request-id`, e.g. 16 uppercase hex characters.
    pub request_id: &'a str,
}

/// The ARN of a bucket's key: S3's `arn:funnel:s3:::<name>` in the home
/// account, `arn:funnel:s3::<account>:<name>` in another. The partition
/// is `funnel`, not `aws`, by this project's naming convention.
pub fn bucket_arn(bucket: &str) -> String {
    match crate::tenancy::split(bucket) {
        (Some(account), name) => format!("arn:funnel:s3::{account}:{name}"),
        (None, name) => format!("arn:funnel:s3:::{name}"),
    }
}

/// Encodes an object key the way S3 writes it into a notification.
///
/// S3 documents the key as URL-encoded with `application/x-www-form-urlencoded`
/// ("red flower.jpg" becomes "red+flower.jpg", notification-content-structure
/// above), yet leaves `/` as is: real events carry `folder/my+file.jpg`
/// (<https://github.com/minio/minio/issues/11665>). So each `/`-separated
/// segment is form-encoded: ASCII letters, digits and `*-._` stay, a space
/// becomes `+`, every other byte of the UTF-8 becomes `%XX` with uppercase hex
/// (`+` → `%2B`, `@` → `%40` as LocalStack recorded from AWS, `=` → `%3D`,
/// `%` → `%25`, `~` → `%7E`).
pub fn encode_key(key: &str) -> String {
    let segments: Vec<String> = key
        .split('/')
        .map(|segment| form_urlencoded::byte_serialize(segment.as_bytes()).collect())
        .collect();
    segments.join("/")
}

/// The `{"Records":[…]}` document S3 would deliver to Lambda for `event`.
///
/// `size` and `eTag` appear only when given, and never on `ObjectRemoved:*`
/// events, which S3 sends with just `key` and `sequencer`. `versionId` is left
/// out because funnel buckets are not versioned and S3 omits it for those.
pub fn notification(event: &ObjectEvent) -> Value {
    let name = event.event_name;
    let event_name = name.strip_prefix("s3:").unwrap_or(name);
    let removed = event_name.starts_with("ObjectRemoved:");

    let mut object = json!({ "key": encode_key(event.key) });
    if !removed {
        if let Some(size) = event.size {
            object["size"] = json!(size);
        }
        if let Some(etag) = event.etag {
            object["eTag"] = json!(etag);
        }
    }
    object["sequencer"] = json!(event.sequencer);

    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": event.region,
            "eventTime": event_time(event.event_time_ms),
            "eventName": event_name,
            "userIdentity": { "principalId": event.account_id },
            "requestParameters": { "sourceIPAddress": SOURCE_IP_ADDRESS },
            "responseElements": {
                "x-amz-request-id": event.request_id,
                "x-amz-id-2": HOST_ID,
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": event.configuration_id,
                "bucket": {
                    "name": crate::tenancy::name(event.bucket),
                    "ownerIdentity": { "principalId": event.account_id },
                    "arn": bucket_arn(event.bucket),
                },
                "object": object,
            },
        }]
    })
}

/// ISO-8601 UTC with milliseconds, e.g. `1970-01-01T00:00:00.000Z`. A time
/// outside chrono's ±262,000-year range cannot come from a clock; it reads as
/// the epoch rather than failing the event.
fn event_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::s3::{S3Event, S3EventRecord};

    fn put(key: &str) -> ObjectEvent<'_> {
        ObjectEvent {
            event_name: "ObjectCreated:Put",
            bucket: "photos",
            key,
            size: Some(1024),
            etag: Some("d41d8cd98f00b204e9800998ecf8427e"),
            sequencer: "0055AED6DCD90281E5",
            event_time_ms: 1_700_000_000_123,
            configuration_id: "thumbnails",
            region: "local",
            account_id: "123456789012",
            request_id: "C3D13FE58DE4C810",
        }
    }

    fn parse(doc: &Value) -> S3EventRecord {
        let mut parsed: S3Event = serde_json::from_value(doc.clone()).expect("an S3Event");
        assert_eq!(parsed.records.len(), 1);
        parsed.records.remove(0)
    }

    /// The field names of `s3.object`, sorted: what the parser cannot show.
    fn object_fields(doc: &Value) -> Vec<String> {
        let object = doc["Records"][0]["s3"]["object"].as_object();
        let mut names: Vec<String> = object.expect("object").keys().cloned().collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn created_event_has_every_field_s3_sends() {
        let doc = notification(&put("folder/my file.jpg"));
        let record = parse(&doc);

        assert_eq!(record.event_version.as_deref(), Some("2.1"));
        assert_eq!(record.event_source.as_deref(), Some("aws:s3"));
        assert_eq!(record.aws_region.as_deref(), Some("local"));
        assert_eq!(record.event_time.timestamp_millis(), 1_700_000_000_123);
        assert_eq!(record.event_name.as_deref(), Some("ObjectCreated:Put"));
        let account = Some("123456789012");
        assert_eq!(record.principal_id.principal_id.as_deref(), account);
        let source_ip = record.request_parameters.source_ip_address.as_deref();
        assert_eq!(source_ip, Some("127.0.0.1"));
        let response = &record.response_elements;
        assert_eq!(response.len(), 2);
        assert_eq!(response["x-amz-request-id"], "C3D13FE58DE4C810");
        assert_eq!(response["x-amz-id-2"], "funnel");

        let s3 = &record.s3;
        assert_eq!(s3.schema_version.as_deref(), Some("1.0"));
        assert_eq!(s3.configuration_id.as_deref(), Some("thumbnails"));
        assert_eq!(s3.bucket.name.as_deref(), Some("photos"));
        let owner = s3.bucket.owner_identity.as_ref().expect("ownerIdentity");
        assert_eq!(owner.principal_id.as_deref(), account);
        assert_eq!(s3.bucket.arn.as_deref(), Some("arn:funnel:s3:::photos"));
        assert_eq!(s3.object.key.as_deref(), Some("folder/my+file.jpg"));
        assert_eq!(s3.object.size, Some(1024));
        let etag = s3.object.e_tag.as_deref();
        assert_eq!(etag, Some("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(s3.object.sequencer.as_deref(), Some("0055AED6DCD90281E5"));

        // The parser accepts any ISO-8601, so check S3's exact spelling too,
        // and that an unversioned bucket sends no versionId key at all.
        assert_eq!(doc["Records"][0]["eventTime"], "2023-11-14T22:13:20.123Z");
        assert_eq!(object_fields(&doc), ["eTag", "key", "sequencer", "size"]);
    }

    #[test]
    fn removed_event_has_key_and_sequencer_only() {
        let doc = notification(&ObjectEvent {
            event_name: "ObjectRemoved:Delete",
            size: None,
            etag: None,
            ..put("a b")
        });
        let record = parse(&doc);
        assert_eq!(record.event_name.as_deref(), Some("ObjectRemoved:Delete"));
        assert_eq!(record.s3.object.key.as_deref(), Some("a+b"));
        assert_eq!(record.s3.object.size, None);
        assert_eq!(record.s3.object.e_tag, None);
        let sequencer = record.s3.object.sequencer.as_deref();
        assert_eq!(sequencer, Some("0055AED6DCD90281E5"));
        assert_eq!(object_fields(&doc), ["key", "sequencer"]);

        // Size and eTag given by mistake, and the "s3:" prefix, are dropped.
        let given = ObjectEvent {
            event_name: "s3:ObjectRemoved:Delete",
            ..put("k")
        };
        let doc = notification(&given);
        assert_eq!(doc["Records"][0]["eventName"], "ObjectRemoved:Delete");
        assert_eq!(object_fields(&doc), ["key", "sequencer"]);
    }

    #[test]
    fn event_time_is_utc_with_milliseconds() {
        assert_eq!(event_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(event_time(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(event_time(i64::MAX), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn key_encoding_follows_s3() {
        let cases = [
            ("HappyFace.jpg", "HappyFace.jpg"),
            ("red flower.jpg", "red+flower.jpg"),
            ("folder/my file.jpg", "folder/my+file.jpg"),
            ("c++/a+b", "c%2B%2B/a%2Bb"),
            ("a@b", "a%40b"),
            ("dt=2018-05-04/_SUCCESS", "dt%3D2018-05-04/_SUCCESS"),
            ("test/10:47:07.log", "test/10%3A47%3A07.log"),
            ("100%/50%25", "100%25/50%2525"),
            ("café/日本.txt", "caf%C3%A9/%E6%97%A5%E6%9C%AC.txt"),
            ("/a//b/", "/a//b/"),
            ("copy (1)!'~", "copy+%281%29%21%27%7E"),
            ("keep-_.*", "keep-_.*"),
            ("", ""),
        ];
        for (raw, encoded) in cases {
            assert_eq!(encode_key(raw), encoded, "key {raw:?}");
        }
    }

    #[test]
    fn encoded_keys_decode_back_with_form_decoding() {
        for raw in ["folder/my file.jpg", "a+b c", "100%", "é/ü?&=#", " / "] {
            let query = format!("k={}", encode_key(raw));
            let decoded: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
            assert_eq!(decoded.len(), 1, "key {raw:?}");
            assert_eq!(decoded[0].1, raw);
        }
    }
}
