//! Buckets end to end: a real folder, the real watch, real wasm. Files
//! written into a bucket's folder (or through the object API) invoke the
//! `recorder` guest with S3's event JSON, which the test parses with
//! `aws_lambda_events` as a Lambda handler would.

use funnel_tests::guests;
use std::io::Write as _;
use std::path::Path;

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use funnel_client::proto;
use funnel_tests::{TestServer, eventually, start_server_with, test_config};

pub(crate) const BUCKET_ARN: &str = "arn:funnel:s3:::photos";

/// A server whose `rec` function hears bucket `photos` (over `folder`).
pub(crate) struct Wired {
    pub(crate) server: TestServer,
    pub(crate) folder: tempfile::TempDir,
    pub(crate) data: tempfile::TempDir,
}

pub(crate) fn rule(name: &str, value: &str) -> proto::FilterRule {
    proto::FilterRule {
        name: name.into(),
        value: value.into(),
    }
}

pub(crate) fn configuration(
    id: &str,
    events: &[&str],
    rules: Vec<proto::FilterRule>,
) -> proto::LambdaFunctionConfiguration {
    proto::LambdaFunctionConfiguration {
        id: id.into(),
        lambda_function_arn: "arn:funnel:lambda:local:000000000000:function:rec".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        filter: Some(proto::NotificationConfigurationFilter {
            key: Some(proto::S3KeyFilter {
                filter_rules: rules,
            }),
        }),
    }
}

pub(crate) async fn allow_s3(server: &TestServer) {
    server
        .allow("rec", "s3-photos", "s3.amazonaws.com", BUCKET_ARN)
        .await;
}

pub(crate) async fn wired(configs: Vec<proto::LambdaFunctionConfiguration>) -> Wired {
    let data = tempfile::tempdir().expect("temp dir");
    let folder = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(data.path());
    config.buckets.roots.push(folder.path().to_path_buf());
    let server = start_server_with(config).await;
    server.create("rec", guests::RECORDER).await;
    allow_s3(&server).await;
    let path = folder.path().to_string_lossy().into_owned();
    server
        .client
        .create_bucket("photos", Some(&path))
        .await
        .expect("create bucket");
    server
        .client
        .put_bucket_notification_configuration(
            "photos",
            proto::NotificationConfiguration {
                lambda_function_configurations: configs,
            },
        )
        .await
        .expect("notifications");
    Wired {
        server,
        folder,
        data,
    }
}

/// Every S3 record the recorder has logged, in order.
pub(crate) async fn records(server: &TestServer) -> Vec<(serde_json::Value, S3EventRecord)> {
    let mut all = Vec::new();
    for event in server.log_messages("rec").await {
        let Some(json) = event.message.trim_end().strip_prefix("record: ") else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_str(json).expect("an event");
        let parsed: S3Event = serde_json::from_value(value.clone()).expect("S3's event shape");
        for (i, record) in parsed.records.into_iter().enumerate() {
            all.push((value["Records"][i].clone(), record));
        }
    }
    all
}

/// `(eventName, encoded key)` of every record.
pub(crate) async fn seen(server: &TestServer) -> Vec<(String, String)> {
    records(server)
        .await
        .into_iter()
        .map(|(_, r)| {
            (
                r.event_name.unwrap_or_default(),
                r.s3.object.key.unwrap_or_default(),
            )
        })
        .collect()
}

/// Waits until a record of `event_name` for the encoded `key` arrived.
pub(crate) async fn wait_for(
    server: &TestServer,
    event_name: &str,
    key: &str,
) -> (serde_json::Value, S3EventRecord) {
    eventually(&format!("{event_name} of {key}"), || async {
        records(server).await.into_iter().find(|(_, r)| {
            r.event_name.as_deref() == Some(event_name) && r.s3.object.key.as_deref() == Some(key)
        })
    })
    .await
}

pub(crate) fn write(folder: &Path, key: &str, body: &[u8]) {
    let path = folder.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

pub(crate) fn count(seen: &[(String, String)], event_name: &str, key: &str) -> usize {
    seen.iter()
        .filter(|(e, k)| e == event_name && k == key)
        .count()
}

#[tokio::test]
async fn a_file_copied_in_fires_one_event_of_s3s_exact_shape() {
    let w = wired(vec![configuration(
        "all",
        &["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        vec![],
    )])
    .await;
    let body = b"a small cat picture";
    let source = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(source.path(), body).unwrap();
    std::fs::create_dir_all(w.folder.path().join("cats")).unwrap();
    std::fs::copy(source.path(), w.folder.path().join("cats/my cat.jpg")).unwrap();

    let (raw, record) = wait_for(&w.server, "ObjectCreated:Put", "cats/my+cat.jpg").await;
    assert_eq!(record.event_version.as_deref(), Some("2.1"));
    assert_eq!(record.event_source.as_deref(), Some("aws:s3"));
    assert_eq!(record.aws_region.as_deref(), Some("local"));
    assert!(record.event_time.timestamp_millis() > 0);
    assert_eq!(
        record.principal_id.principal_id.as_deref(),
        Some("000000000000")
    );
    assert_eq!(
        record.request_parameters.source_ip_address.as_deref(),
        Some("127.0.0.1")
    );
    assert!(record.response_elements.contains_key("x-amz-request-id"));
    assert!(record.response_elements.contains_key("x-amz-id-2"));
    let s3 = &record.s3;
    assert_eq!(s3.schema_version.as_deref(), Some("1.0"));
    assert_eq!(s3.configuration_id.as_deref(), Some("all"));
    assert_eq!(s3.bucket.name.as_deref(), Some("photos"));
    assert_eq!(s3.bucket.arn.as_deref(), Some(BUCKET_ARN));
    assert_eq!(
        s3.bucket
            .owner_identity
            .as_ref()
            .and_then(|o| o.principal_id.as_deref()),
        Some("000000000000")
    );
    assert_eq!(s3.object.size, Some(body.len() as i64));
    // MD5 of the content, as `md5sum` prints it.
    assert_eq!(s3.object.e_tag.as_deref(), Some(md5_hex(body).as_str()));
    assert_eq!(s3.object.sequencer.as_deref().map(str::len), Some(16));
    assert!(raw["eventTime"].as_str().unwrap().ends_with('Z'));

    // One copy, one event; and removing it fires its removal.
    std::fs::remove_file(w.folder.path().join("cats/my cat.jpg")).unwrap();
    let (raw, removed) = wait_for(&w.server, "ObjectRemoved:Delete", "cats/my+cat.jpg").await;
    assert_eq!(removed.s3.object.size, None);
    assert!(raw["s3"]["object"].get("eTag").is_none());
    assert!(
        removed.s3.object.sequencer > record.s3.object.sequencer,
        "sequencers increase"
    );
    let seen = seen(&w.server).await;
    assert_eq!(
        count(&seen, "ObjectCreated:Put", "cats/my+cat.jpg"),
        1,
        "{seen:?}"
    );
    assert_eq!(seen.len(), 2, "{seen:?}");
}

pub(crate) fn md5_hex(body: &[u8]) -> String {
    // The test's own MD5: `md5sum` through a subprocess keeps the test
    // independent of the server's hashing code.
    let mut child = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("md5sum");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..32].to_string()
}

#[tokio::test]
async fn prefix_and_suffix_filters_choose_the_files() {
    let w = wired(vec![configuration(
        "jpegs",
        &["s3:ObjectCreated:Put"],
        vec![rule("prefix", "images/"), rule("suffix", ".jpg")],
    )])
    .await;
    let folder = w.folder.path();
    write(folder, "images/a.png", b"png");
    // Editors' and browsers' leftovers never fire, whatever their suffix.
    write(folder, "images/.b.jpg.swp", b"vim");
    write(folder, "images/b.jpg~", b"backup");
    write(folder, "images/.#b.jpg", b"emacs");
    write(folder, "docs/a.jpg", b"jpg");
    write(folder, "images/a.jpg", b"jpg");
    write(folder, "images/z.jpg", b"last");
    // Each file is its own event, delivered side by side (and a.jpg may
    // come from the new folder's scan a moment later): wait for both, then
    // compare in key order.
    wait_for(&w.server, "ObjectCreated:Put", "images/a.jpg").await;
    wait_for(&w.server, "ObjectCreated:Put", "images/z.jpg").await;
    let mut seen = seen(&w.server).await;
    seen.sort();
    assert_eq!(
        seen,
        [
            ("ObjectCreated:Put".to_string(), "images/a.jpg".to_string()),
            ("ObjectCreated:Put".to_string(), "images/z.jpg".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_half_written_file_fires_only_once_complete() {
    let w = wired(vec![configuration("all", &["s3:ObjectCreated:*"], vec![])]).await;
    let folder = w.folder.path();
    // In a folder made just now, so the scan of the new folder finds it
    // half-written too.
    std::fs::create_dir(folder.join("fresh")).unwrap();
    let mut half = std::fs::File::create(folder.join("fresh/big.bin")).unwrap();
    half.write_all(&[1; 1000]).unwrap();
    half.flush().unwrap();
    // A later, finished file arrives first: the open one has not fired.
    write(folder, "marker", b"m");
    wait_for(&w.server, "ObjectCreated:Put", "marker").await;
    assert_eq!(
        count(&seen(&w.server).await, "ObjectCreated:Put", "fresh/big.bin"),
        0
    );
    half.write_all(&[2; 1000]).unwrap();
    drop(half);
    let (_, record) = wait_for(&w.server, "ObjectCreated:Put", "fresh/big.bin").await;
    assert_eq!(record.s3.object.size, Some(2000));
    let seen = seen(&w.server).await;
    assert_eq!(
        count(&seen, "ObjectCreated:Put", "fresh/big.bin"),
        1,
        "{seen:?}"
    );
}

#[tokio::test]
async fn changes_made_while_stopped_fire_once_after_restart() {
    let w = wired(vec![configuration(
        "all",
        &["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        vec![],
    )])
    .await;
    let folder = w.folder.path().to_path_buf();
    write(&folder, "kept.txt", b"kept");
    write(&folder, "gone.txt", b"gone");
    wait_for(&w.server, "ObjectCreated:Put", "kept.txt").await;
    wait_for(&w.server, "ObjectCreated:Put", "gone.txt").await;
    let Wired {
        server,
        folder: folder_dir,
        data,
    } = w;
    server.stop().await;

    write(&folder, "new.txt", b"new");
    std::fs::remove_file(folder.join("gone.txt")).unwrap();
    let mut config = test_config(data.path());
    config.buckets.roots.push(folder.clone());
    let server = start_server_with(config).await;
    wait_for(&server, "ObjectCreated:Put", "new.txt").await;
    wait_for(&server, "ObjectRemoved:Delete", "gone.txt").await;
    // A file written after the restart comes after the rescan.
    write(&folder, "after.txt", b"after");
    wait_for(&server, "ObjectCreated:Put", "after.txt").await;
    let seen = seen(&server).await;
    assert_eq!(
        count(&seen, "ObjectCreated:Put", "kept.txt"),
        1,
        "unchanged: {seen:?}"
    );
    assert_eq!(count(&seen, "ObjectCreated:Put", "new.txt"), 1, "{seen:?}");
    assert_eq!(
        count(&seen, "ObjectRemoved:Delete", "gone.txt"),
        1,
        "{seen:?}"
    );
    drop(folder_dir);
}

#[tokio::test]
async fn notifications_need_permission_and_a_removed_permission_stops_deliveries() {
    let data = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    config.buckets.roots.push(folder.path().to_path_buf());
    let server = start_server_with(config).await;
    server.create("rec", guests::RECORDER).await;
    let path = folder.path().to_string_lossy().into_owned();
    server
        .client
        .create_bucket("photos", Some(&path))
        .await
        .unwrap();
    let config = proto::NotificationConfiguration {
        lambda_function_configurations: vec![configuration("all", &["s3:ObjectCreated:*"], vec![])],
    };
    let err = server
        .client
        .put_bucket_notification_configuration("photos", config.clone())
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidArgument"));
    assert!(
        err.message
            .contains("Unable to validate the following destination configurations"),
        "{}",
        err.message
    );

    allow_s3(&server).await;
    // Two configurations sharing an event type for overlapping keys: S3
    // refuses them.
    let overlapping = proto::NotificationConfiguration {
        lambda_function_configurations: vec![
            configuration(
                "a",
                &["s3:ObjectCreated:*"],
                vec![rule("prefix", "images/")],
            ),
            configuration(
                "b",
                &["s3:ObjectCreated:Put"],
                vec![rule("prefix", "images/cats/")],
            ),
        ],
    };
    let err = server
        .client
        .put_bucket_notification_configuration("photos", overlapping)
        .await
        .unwrap_err();
    assert!(
        err.message.contains("Configurations overlap"),
        "{}",
        err.message
    );
    let mut unknown = config.clone();
    unknown.lambda_function_configurations[0].events = vec!["s3:ObjectTagging:*".into()];
    let err = server
        .client
        .put_bucket_notification_configuration("photos", unknown)
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidArgument"));
    server
        .client
        .put_bucket_notification_configuration("photos", config)
        .await
        .expect("now permitted");
    write(folder.path(), "one.txt", b"1");
    wait_for(&server, "ObjectCreated:Put", "one.txt").await;

    server
        .client
        .remove_permission("rec", "s3-photos", "")
        .await
        .unwrap();
    write(folder.path(), "two.txt", b"2");
    let series = format!(
        "funnel_trigger_events_refused_total{{function=\"rec\",source=\"{BUCKET_ARN}\",reason=\"AccessDenied\"}} 1"
    );
    eventually("the refusal counted", || async {
        server
            .metrics
            .render()
            .lines()
            .any(|l| l == series)
            .then_some(())
    })
    .await;
    assert_eq!(
        count(&seen(&server).await, "ObjectCreated:Put", "two.txt"),
        0
    );
}

#[tokio::test]
async fn the_object_api_fires_once_per_put_and_delete() {
    let w = wired(vec![configuration(
        "all",
        &["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        vec![],
    )])
    .await;
    let client = &w.server.client;
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let put = client
        .put_object("photos", "docs/big file.bin", body.clone())
        .await
        .expect("put");
    assert_eq!(put.e_tag, format!("\"{}\"", md5_hex(&body)));
    assert_eq!(
        std::fs::read(w.folder.path().join("docs/big file.bin")).unwrap(),
        body
    );
    let got = client
        .get_object("photos", "docs/big file.bin")
        .await
        .expect("get");
    assert_eq!(got.body, body);
    assert_eq!(got.e_tag, put.e_tag);
    let head = client
        .head_object("photos", "docs/big file.bin")
        .await
        .expect("head");
    assert_eq!(head.content_length, body.len() as i64);

    client
        .put_object("photos", "docs/b.txt", b"b".to_vec())
        .await
        .unwrap();
    client
        .put_object("photos", "top.txt", b"t".to_vec())
        .await
        .unwrap();
    let listed = client
        .list_objects_v2(proto::ListObjectsV2Request {
            bucket: "photos".into(),
            delimiter: "/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let keys: Vec<_> = listed.contents.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["top.txt"]);
    assert_eq!(listed.common_prefixes.len(), 1);
    assert_eq!(listed.common_prefixes[0].prefix, "docs/");
    let page = client
        .list_objects_v2(proto::ListObjectsV2Request {
            bucket: "photos".into(),
            prefix: "docs/".into(),
            max_keys: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.is_truncated);
    assert_eq!(page.contents[0].key, "docs/b.txt");
    let rest = client
        .list_objects_v2(proto::ListObjectsV2Request {
            bucket: "photos".into(),
            prefix: "docs/".into(),
            continuation_token: page.next_continuation_token,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!rest.is_truncated);
    assert_eq!(rest.contents[0].key, "docs/big file.bin");

    client
        .delete_object("photos", "top.txt")
        .await
        .expect("delete");
    wait_for(&w.server, "ObjectRemoved:Delete", "top.txt").await;
    let err = client.head_object("photos", "top.txt").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("NoSuchKey"));
    // A marker through the folder, to be sure the watch has caught up; the
    // events before it may finish in any order, so wait for each.
    write(w.folder.path(), "marker", b"m");
    wait_for(&w.server, "ObjectCreated:Put", "marker").await;
    // Listing reads the object index, which the watcher keeps: a file
    // written into the folder is listed once it was seen.
    let listed = client
        .list_objects_v2(proto::ListObjectsV2Request {
            bucket: "photos".into(),
            prefix: "mark".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let keys: Vec<_> = listed.contents.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["marker"]);
    assert_eq!(listed.contents[0].size, 1);
    wait_for(&w.server, "ObjectCreated:Put", "docs/big+file.bin").await;
    wait_for(&w.server, "ObjectCreated:Put", "docs/b.txt").await;
    wait_for(&w.server, "ObjectCreated:Put", "top.txt").await;
    let seen = seen(&w.server).await;
    assert_eq!(
        count(&seen, "ObjectCreated:Put", "docs/big+file.bin"),
        1,
        "{seen:?}"
    );
    assert_eq!(count(&seen, "ObjectCreated:Put", "top.txt"), 1, "{seen:?}");
    assert_eq!(
        count(&seen, "ObjectRemoved:Delete", "top.txt"),
        1,
        "{seen:?}"
    );
    assert_eq!(seen.len(), 5, "{seen:?}");

    let err = client.delete_bucket("photos").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("BucketNotEmpty"));
    let err = client.create_bucket("Bad_Name", None).await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidBucketName"));
    let err = client
        .put_object("nope", "k", b"x".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("NoSuchBucket"));
}
