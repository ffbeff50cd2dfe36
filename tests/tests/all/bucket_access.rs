//! Buckets granted to functions: the `object-type` sample reads the object
//! an S3 event names from `/buckets/<name>`; an ungranted bucket is not
//! there at all; and a grant or notification that would let a function
//! trigger itself forever is refused.

use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::{TestServer, create_request, eventually, guest, start_server};

/// The first bytes of a PNG file: enough for content sniffing.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn grants(pairs: &[(&str, &str)]) -> proto::BucketAccess {
    proto::BucketAccess {
        buckets: pairs
            .iter()
            .map(|(b, m)| (b.to_string(), m.to_string()))
            .collect(),
    }
}

async fn create_with_access(
    server: &TestServer,
    name: &str,
    guest_name: guests::Guest,
    access: &[(&str, &str)],
) {
    let mut request = create_request(name, guest(guest_name));
    request.bucket_access = Some(grants(access));
    server
        .client
        .create_function(request)
        .await
        .expect("create");
}

async fn notify(server: &TestServer, function: &str) -> Result<(), funnel_client::Error> {
    server
        .client
        .put_bucket_notification_configuration(
            "photos",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "types".into(),
                    lambda_function_arn: format!(
                        "arn:funnel:lambda:local:000000000000:function:{function}"
                    ),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await
}

async fn allow_s3(server: &TestServer, function: &str) {
    server
        .allow(function, "s3", "s3.amazonaws.com", "arn:funnel:s3:::photos")
        .await;
}

#[tokio::test]
async fn the_object_type_sample_reads_its_granted_bucket() {
    let server = start_server().await;
    server
        .client
        .create_bucket("photos", None)
        .await
        .expect("bucket");
    create_with_access(
        &server,
        "object-type",
        guests::OBJECT_TYPE,
        &[("photos", "read")],
    )
    .await;
    allow_s3(&server, "object-type").await;
    notify(&server, "object-type").await.expect("notify");
    server
        .client
        .put_object("photos", "holiday pics/beach.png", PNG.to_vec())
        .await
        .expect("put");
    let line = eventually("CONTENT TYPE in the log", || async {
        server
            .log_messages("object-type")
            .await
            .into_iter()
            .find(|e| e.message.starts_with("CONTENT TYPE:"))
    })
    .await;
    assert_eq!(line.message.trim_end(), "CONTENT TYPE: image/png");
    let config = server.client.get_function("object-type").await.unwrap();
    let access = config.configuration.unwrap().bucket_access.unwrap();
    assert_eq!(access.buckets["photos"], "read");
}

/// An S3 event naming `photos/beach.png`, for a direct invoke.
fn event() -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "local",
        "eventTime": "2026-11-27T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "000000000000"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "x",
               "bucket": {"name": "photos", "ownerIdentity": {"principalId": "000000000000"},
                          "arn": "arn:funnel:s3:::photos"},
               "object": {"key": "beach.png", "size": 33, "eTag": "", "sequencer": "0"}}
    }]})
    .to_string()
}

#[tokio::test]
async fn an_ungranted_bucket_is_invisible_to_the_guest() {
    let server = start_server().await;
    server
        .client
        .create_bucket("photos", None)
        .await
        .expect("bucket");
    server
        .client
        .put_object("photos", "beach.png", PNG.to_vec())
        .await
        .expect("put");
    create_with_access(
        &server,
        "granted",
        guests::OBJECT_TYPE,
        &[("photos", "read")],
    )
    .await;
    create_with_access(&server, "ungranted", guests::OBJECT_TYPE, &[]).await;

    let out = server.invoke("granted", &event()).await;
    assert_eq!(
        out.function_error,
        "",
        "{}",
        String::from_utf8_lossy(&out.payload)
    );
    let out = server.invoke("ungranted", &event()).await;
    assert_eq!(out.function_error, "Handled");
    let error: serde_json::Value = serde_json::from_slice(&out.payload).unwrap();
    assert_eq!(error["errorType"], "ObjectNotReadable", "{error}");

    // Granting is checked: the bucket must exist, the mode must be known.
    let mut request = create_request("bad", guest(guests::ECHO));
    request.bucket_access = Some(grants(&[("nosuch", "read")]));
    let err = server.client.create_function(request).await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    let mut request = create_request("bad", guest(guests::ECHO));
    request.bucket_access = Some(grants(&[("photos", "write-only")]));
    let err = server.client.create_function(request).await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
}

#[tokio::test]
async fn a_function_cannot_be_wired_to_trigger_itself() {
    let server = start_server().await;
    server
        .client
        .create_bucket("photos", None)
        .await
        .expect("bucket");
    create_with_access(&server, "writer", guests::ECHO, &[("photos", "read-write")]).await;
    allow_s3(&server, "writer").await;
    // Notifying a function that writes the bucket closes a loop.
    let err = notify(&server, "writer").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidArgument"));
    assert!(
        err.message
            .contains("bucket photos → function writer → bucket photos"),
        "{}",
        err.message
    );

    // The other order: notify first, then grant read-write.
    server.create("reader", guests::ECHO).await;
    allow_s3(&server, "reader").await;
    notify(&server, "reader").await.expect("a reader is fine");
    let err = server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            bucket_access: Some(grants(&[("photos", "read-write")])),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(err.message.contains("trigger loop"), "{}", err.message);
    // Reading is no loop.
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            bucket_access: Some(grants(&[("photos", "read")])),
            ..Default::default()
        })
        .await
        .expect("read access");
}

#[tokio::test]
async fn a_functions_writes_fire_notifications_and_read_only_means_read_only() {
    let server = start_server().await;
    server
        .client
        .create_bucket("photos", None)
        .await
        .expect("bucket");
    server
        .client
        .create_bucket("thumbs", None)
        .await
        .expect("bucket");
    // `rec` hears of thumbs; `writer` may write thumbs; `reader` may only read it.
    server.create("rec", guests::RECORDER).await;
    server
        .allow("rec", "s3", "s3.amazonaws.com", "arn:funnel:s3:::thumbs")
        .await;
    server
        .client
        .put_bucket_notification_configuration(
            "thumbs",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "rec".into(),
                    lambda_function_arn: "arn:funnel:lambda:local:000000000000:function:rec".into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await
        .expect("notify");
    create_with_access(
        &server,
        "writer",
        guests::RECORDER,
        &[("thumbs", "read-write")],
    )
    .await;
    create_with_access(&server, "reader", guests::RECORDER, &[("thumbs", "read")]).await;

    let write = r#"{"write_path":"/buckets/thumbs/small.txt","write_body":"tiny"}"#;
    let out = server.invoke("writer", write).await;
    assert_eq!(
        out.function_error,
        "",
        "{}",
        String::from_utf8_lossy(&out.payload)
    );
    let line = eventually("the write's event", || async {
        server
            .log_messages("rec")
            .await
            .into_iter()
            .find(|e| e.message.starts_with("record: ") && e.message.contains("small.txt"))
    })
    .await;
    assert!(
        line.message.contains("ObjectCreated:Put"),
        "{}",
        line.message
    );

    let denied = r#"{"write_path":"/buckets/thumbs/other.txt","write_body":"no"}"#;
    let out = server.invoke("reader", denied).await;
    assert_eq!(out.function_error, "Handled");
    let error: serde_json::Value = serde_json::from_slice(&out.payload).unwrap();
    assert_eq!(error["errorType"], "WriteFailed", "{error}");
    let err = server
        .client
        .head_object("thumbs", "other.txt")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("NoSuchKey"));
}
