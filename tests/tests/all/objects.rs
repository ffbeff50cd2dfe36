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
        ..Default::default()
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

#[tokio::test]
async fn delete_objects_deletes_each_key_it_may_and_reports_the_others() {
    let w = wired(vec![configuration("all", &["s3:ObjectRemoved:*"], vec![])]).await;
    let server = &w.server;
    for key in ["a.txt", "b/c.txt", "keep/x.txt"] {
        server
            .client
            .put_object("photos", key, key.as_bytes().to_vec())
            .await
            .unwrap();
    }
    // May delete anything but what is under keep/.
    let key = server.member("cleaner", "FunnelFullAccess").await;
    server
        .client
        .put_user_policy(
            "cleaner",
            "keep",
            &format!(
                r#"{{"Statement":[{{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"{}/keep/*"}}]}}"#,
                crate::buckets::BUCKET_ARN
            ),
        )
        .await
        .unwrap();
    let cleaner = server.client_as(Some(key)).await;
    let answer = cleaner
        .delete_objects(
            "photos",
            &["a.txt", "missing.txt", "keep/x.txt", "b/c.txt"],
            false,
        )
        .await
        .expect("a partly refused batch is not a failed call");
    let deleted: Vec<_> = answer.deleted.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(deleted, ["a.txt", "missing.txt", "b/c.txt"]);
    assert_eq!(answer.errors.len(), 1, "{:?}", answer.errors);
    assert_eq!(answer.errors[0].key, "keep/x.txt");
    assert_eq!(answer.errors[0].code, "AccessDenied");
    let folder = w.folder.path();
    assert!(!folder.join("a.txt").exists() && !folder.join("b/c.txt").exists());
    assert_eq!(
        std::fs::read(folder.join("keep/x.txt")).unwrap(),
        b"keep/x.txt"
    );

    // Quiet: only the errors.
    let answer = cleaner
        .delete_objects("photos", &["keep/x.txt", "gone.txt"], true)
        .await
        .unwrap();
    assert!(answer.deleted.is_empty());
    assert_eq!(answer.errors.len(), 1);
    // 1 to 1000 keys.
    for n in [0, 1001] {
        let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let err = cleaner
            .delete_objects("photos", &keys, false)
            .await
            .unwrap_err();
        assert_eq!(err.error_type.as_deref(), Some("MalformedXML"), "{n}");
    }
    let err = cleaner
        .delete_objects("nope", &["a"], false)
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("NoSuchBucket"));

    // One removal per object that existed, none for the others.
    wait_for(server, "ObjectRemoved:Delete", "a.txt").await;
    wait_for(server, "ObjectRemoved:Delete", "b/c.txt").await;
    std::fs::remove_file(folder.join("keep/x.txt")).unwrap();
    wait_for(server, "ObjectRemoved:Delete", "keep/x.txt").await;
    let seen = seen(server).await;
    assert_eq!(count(&seen, "ObjectRemoved:Delete", "a.txt"), 1, "{seen:?}");
    assert_eq!(
        count(&seen, "ObjectRemoved:Delete", "b/c.txt"),
        1,
        "{seen:?}"
    );
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[tokio::test]
async fn copy_object_copies_within_and_across_buckets_with_one_copy_event() {
    let w = wired(vec![configuration("all", &["s3:ObjectCreated:*"], vec![])]).await;
    let server = &w.server;
    let client = &server.client;
    let body = b"the original".to_vec();
    client
        .put_object("photos", "my cat.txt", body.clone())
        .await
        .unwrap();
    client.create_bucket("other", None).await.unwrap();
    client
        .put_object("other", "o.txt", b"from elsewhere".to_vec())
        .await
        .unwrap();

    // Within the bucket, CopySource URL-encoded as S3 takes it.
    let copied = client
        .copy_object("photos", "dst/copy.txt", "photos/my%20cat.txt")
        .await
        .expect("copy");
    assert_eq!(
        copied.e_tag,
        format!("\"{}\"", crate::buckets::md5_hex(&body))
    );
    assert!(copied.last_modified.ends_with('Z'));
    assert_eq!(
        std::fs::read(w.folder.path().join("dst/copy.txt")).unwrap(),
        body
    );
    // Across buckets, both ways.
    client
        .copy_object("photos", "from-other.txt", "/other/o.txt")
        .await
        .unwrap();
    assert_eq!(
        client
            .get_object("photos", "from-other.txt")
            .await
            .unwrap()
            .body,
        b"from elsewhere"
    );
    client
        .copy_object("other", "to-other.txt", "photos/my%20cat.txt")
        .await
        .unwrap();
    assert_eq!(
        client
            .get_object("other", "to-other.txt")
            .await
            .unwrap()
            .body,
        body
    );

    // S3's refusals.
    let err = client
        .copy_object("photos", "my cat.txt", "photos/my%20cat.txt")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidRequest"));
    assert!(err.message.contains("copy an object to itself"), "{err}");
    let err = client
        .copy_object("photos", "x", "photos/missing.txt")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("NoSuchKey"));
    let err = client
        .copy_object("photos", "x", "photos/my%20cat.txt?versionId=abc")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidArgument"));

    let (raw, record) = wait_for(server, "ObjectCreated:Copy", "dst/copy.txt").await;
    assert_eq!(raw["eventName"], "ObjectCreated:Copy");
    assert_eq!(
        record.s3.object.e_tag.as_deref(),
        Some(crate::buckets::md5_hex(&body).as_str())
    );
    wait_for(server, "ObjectCreated:Copy", "from-other.txt").await;
    settle(&w, "marker").await;
    let seen = seen(server).await;
    assert_eq!(
        count(&seen, "ObjectCreated:Copy", "dst/copy.txt"),
        1,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, "ObjectCreated:Put", "dst/copy.txt"),
        0,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, "ObjectCreated:Copy", "from-other.txt"),
        1,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, "ObjectCreated:Put", "from-other.txt"),
        0,
        "{seen:?}"
    );
    assert_eq!(count(&seen, "ObjectCreated:Copy", "x"), 0, "{seen:?}");
}

#[tokio::test]
async fn copy_object_needs_get_on_the_source_and_put_on_the_copy() {
    let w = wired(vec![]).await;
    let server = &w.server;
    server
        .client
        .put_object("photos", "a.txt", b"a".to_vec())
        .await
        .unwrap();
    server.client.create_bucket("secret", None).await.unwrap();
    server
        .client
        .put_object("secret", "s.txt", b"s".to_vec())
        .await
        .unwrap();
    // May read and write photos; may only write secret.
    server.client.create_user("copier").await.unwrap();
    let photos = crate::buckets::BUCKET_ARN;
    server
        .client
        .put_user_policy(
            "copier",
            "copy",
            &format!(
                r#"{{"Statement":[
                    {{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"{photos}/*"}},
                    {{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:funnel:s3:::secret/*"}}]}}"#
            ),
        )
        .await
        .unwrap();
    let key = server.client.create_access_key("copier").await.unwrap();
    let copier = server
        .client_as(Some(funnel_client::Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await;

    copier
        .copy_object("photos", "b.txt", "photos/a.txt")
        .await
        .expect("both allowed");
    copier
        .copy_object("secret", "from-photos.txt", "photos/a.txt")
        .await
        .expect("may read photos and write secret");
    // Allowed to put the copy, not to read the source.
    let err = copier
        .copy_object("photos", "leak.txt", "secret/s.txt")
        .await
        .unwrap_err();
    assert_eq!(err.code, funnel_client::Code::PermissionDenied);
    assert!(err.message.contains("s3:GetObject"), "{err}");
    assert!(err.message.contains("secret/s.txt"), "{err}");
    assert!(!w.folder.path().join("leak.txt").exists());
    // The same for a part copied into an upload (UploadPartCopy).
    let upload_id = copier
        .create_multipart_upload("photos", "leak.bin")
        .await
        .unwrap();
    let err = copier
        .upload_part_copy(("photos", "leak.bin", &upload_id), 1, "secret/s.txt", "")
        .await
        .unwrap_err();
    assert_eq!(err.code, funnel_client::Code::PermissionDenied);
    assert!(err.message.contains("s3:GetObject"), "{err}");
    // Allowed to read the source, not to put the copy.
    server
        .client
        .put_user_policy(
            "copier",
            "copy",
            &format!(
                r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"{photos}/*"}}]}}"#
            ),
        )
        .await
        .unwrap();
    let err = copier
        .copy_object("photos", "c.txt", "photos/a.txt")
        .await
        .unwrap_err();
    assert!(err.message.contains("s3:PutObject"), "{err}");
    assert!(!w.folder.path().join("c.txt").exists());
}
