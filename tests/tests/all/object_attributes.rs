//! What an object carries besides its bytes (S3's Content-Type and
//! `x-amz-meta-*`), end to end over gRPC: kept with the object, given back
//! by GetObject and HeadObject, copied with it, and gone when the file is
//! replaced behind the API's back. The S3 side is `aws_s3.py`'s.

use std::collections::HashMap;

use funnel_tests::{start_server_with, test_config};

use crate::buckets::{Wired, configuration, wired, write};

fn metadata(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn an_objects_type_and_metadata_are_kept_and_given_back() {
    let w = wired(vec![configuration("all", &["s3:ObjectCreated:*"], vec![])]).await;
    let client = &w.server.client;
    client
        .put_object_described(
            "photos",
            "cat.jpg",
            b"jpeg bytes".to_vec(),
            "image/jpeg",
            metadata(&[("Camera", "X100"), ("taken", "2026-12-05")]),
        )
        .await
        .unwrap();
    let head = client.head_object("photos", "cat.jpg").await.unwrap();
    assert_eq!(head.content_type, "image/jpeg");
    // Names lowercased, as HTTP headers carry them.
    assert_eq!(
        head.metadata,
        metadata(&[("camera", "X100"), ("taken", "2026-12-05")])
    );
    let got = client.get_object("photos", "cat.jpg").await.unwrap();
    assert_eq!(got.body, b"jpeg bytes");
    assert_eq!(got.content_type, "image/jpeg");
    assert_eq!(got.metadata, head.metadata);

    // Without a type, S3's default; a copy keeps the source's.
    client
        .put_object("photos", "plain", b"x".to_vec())
        .await
        .unwrap();
    let plain = client.head_object("photos", "plain").await.unwrap();
    assert_eq!(plain.content_type, "binary/octet-stream");
    assert!(plain.metadata.is_empty());
    client
        .copy_object("photos", "copy.jpg", "photos/cat.jpg")
        .await
        .unwrap();
    let copy = client.head_object("photos", "copy.jpg").await.unwrap();
    assert_eq!(
        (copy.content_type, copy.metadata),
        (head.content_type.clone(), head.metadata.clone())
    );

    // They survive a restart, as the index does.
    let Wired {
        server,
        folder,
        data,
    } = w;
    server.stop().await;
    let mut config = test_config(data.path());
    config.buckets.roots.push(folder.path().to_path_buf());
    let server = start_server_with(config).await;
    let again = server
        .client
        .head_object("photos", "cat.jpg")
        .await
        .unwrap();
    assert_eq!(again.content_type, "image/jpeg");
    assert_eq!(again.metadata, head.metadata);

    // A file replaced in the folder directly is another object: its own
    // bytes, no type, no metadata (a read compares the file with the
    // index, whether or not the watcher has caught up).
    write(folder.path(), "cat.jpg", b"now a png");
    let replaced = server
        .client
        .head_object("photos", "cat.jpg")
        .await
        .unwrap();
    assert_eq!(replaced.content_type, "binary/octet-stream");
    assert!(replaced.metadata.is_empty(), "{:?}", replaced.metadata);
    server.stop().await;
}

#[tokio::test]
async fn metadata_past_2_kb_or_not_a_header_is_refused_and_nothing_is_stored() {
    let w = wired(Vec::new()).await;
    let client = &w.server.client;
    let big = "v".repeat(2048);
    let err = client
        .put_object_described("photos", "big", b"x".to_vec(), "", metadata(&[("k", &big)]))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("MetadataTooLarge"), "{err}");
    let err = client
        .put_object_described(
            "photos",
            "bad",
            b"x".to_vec(),
            "text/plain\r\nx-injected: 1",
            HashMap::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidArgument"), "{err}");
    for key in ["big", "bad"] {
        let err = client.head_object("photos", key).await.unwrap_err();
        assert_eq!(err.error_type.as_deref(), Some("NoSuchKey"));
    }
    w.server.stop().await;
}
