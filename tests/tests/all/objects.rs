//! The object API beyond put/get/delete, end to end: a broken upload
//! stream, ranged reads, DeleteObjects and CopyObject, with the events
//! each fires (heard by the `recorder` guest, as in `buckets.rs`).

use std::path::Path;

use funnel_client::proto;

use crate::buckets::{configuration, count, seen, wait_for, wired, write};

/// The upload temporary files in `folder` (not below it).
fn temporary_files(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(".funnel-tmp-"))
        .collect()
}

/// Waits until a file written into the folder fired: the events of what
/// happened before it have then been decided.
async fn settle(w: &crate::buckets::Wired, marker: &str) {
    write(w.folder.path(), marker, b"m");
    wait_for(&w.server, "ObjectCreated:Put", marker).await;
}

#[tokio::test]
async fn a_put_stream_that_breaks_stores_nothing_and_fires_nothing() {
    let w = wired(vec![configuration("all", &["s3:ObjectCreated:*"], vec![])]).await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let call = w
        .server
        .client
        .put_object_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    tokio::pin!(call);
    tx.send(proto::PutObjectRequest {
        bucket: "photos".into(),
        key: "broken.bin".into(),
        body: vec![7; 1000],
    })
    .await
    .unwrap();
    let folder = w.folder.path();
    tokio::select! {
        done = &mut call => panic!("an unfinished upload answered: {done:?}"),
        () = funnel_tests::eventually("the upload's temporary file", || async {
            (!temporary_files(folder).is_empty()).then_some(())
        }) => {}
    }
    // A message past the 64 MiB limit breaks the stream half way: the
    // server reads an error where the next message should be.
    tx.send(proto::PutObjectRequest {
        body: vec![8; 64 * 1024 * 1024 + 1],
        ..Default::default()
    })
    .await
    .unwrap();
    call.await.expect_err("a broken upload fails");
    funnel_tests::eventually("the temporary file removed", || async {
        temporary_files(folder).is_empty().then_some(())
    })
    .await;
    let err = w
        .server
        .client
        .head_object("photos", "broken.bin")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("NoSuchKey"));
    assert!(!folder.join("broken.bin").exists());
    settle(&w, "marker").await;
    let seen = seen(&w.server).await;
    assert_eq!(
        count(&seen, "ObjectCreated:Put", "broken.bin"),
        0,
        "{seen:?}"
    );
}

#[tokio::test]
async fn ranges_read_the_bytes_asked_for() {
    let w = wired(vec![]).await;
    let client = &w.server.client;
    let body: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let size = body.len();
    client
        .put_object("photos", "data.bin", body.clone())
        .await
        .unwrap();
    let read = |range: &'static str| async move {
        client
            .get_object_range("photos", "data.bin", range)
            .await
            .unwrap()
    };

    let got = read("bytes=10-19").await;
    assert_eq!(got.body, &body[10..20]);
    assert_eq!(got.content_length, 10);
    assert_eq!(got.content_range, format!("bytes 10-19/{size}"));
    // Across GetObject's pieces, and clipped to the end.
    let got = read("bytes=262000-").await;
    assert_eq!(got.body, &body[262_000..]);
    assert_eq!(
        got.content_range,
        format!("bytes 262000-{}/{size}", size - 1)
    );
    let got = read("bytes=699990-800000").await;
    assert_eq!(got.body, &body[699_990..]);
    // The last bytes.
    let got = read("bytes=-5").await;
    assert_eq!(got.body, &body[size - 5..]);
    assert_eq!(got.content_length, 5);
    assert_eq!(
        got.content_range,
        format!("bytes {}-{}/{size}", size - 5, size - 1)
    );
    // A header S3 cannot read is ignored: the whole object.
    for ignored in ["bytes=5-2", "lines=1-2", "bytes=0-1,4-5"] {
        let got = read(ignored).await;
        assert_eq!(got.body.len(), size, "{ignored}");
        assert_eq!(got.content_range, "", "{ignored}");
    }
    // Past the end.
    let err = client
        .get_object_range("photos", "data.bin", &format!("bytes={size}-"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidRange"));
    assert_eq!(err.code, funnel_client::Code::OutOfRange);

    let head = w
        .server
        .client
        .head_object_range("photos", "data.bin", "bytes=100-199")
        .await
        .unwrap();
    assert_eq!(head.content_length, 100);
    assert_eq!(head.content_range, format!("bytes 100-199/{size}"));
}
