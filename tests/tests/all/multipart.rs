//! Multipart uploads end to end: parts kept outside the bucket's folder,
//! S3's checks on completion, the one `ObjectCreated:CompleteMultipartUpload`
//! the object fires, and an upload that outlives a restart.

use funnel_client::proto;
use funnel_tests::{start_server_with, test_config};

use crate::buckets::{configuration, count, md5_hex, seen, wait_for, wired, write};

const MIB: usize = 1024 * 1024;

/// S3's ETag of an object made of `parts`, computed with the test's own
/// MD5 (`md5sum`).
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut digests = Vec::new();
    for part in parts {
        digests.extend(hex::decode(md5_hex(part)).unwrap());
    }
    format!("\"{}-{}\"", md5_hex(&digests), parts.len())
}

fn error_type(err: &funnel_client::Error) -> &str {
    err.error_type.as_deref().unwrap_or_default()
}

fn list_parts(bucket: &str, key: &str, upload_id: &str) -> proto::ListPartsRequest {
    proto::ListPartsRequest {
        bucket: bucket.into(),
        key: key.into(),
        upload_id: upload_id.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn three_parts_make_one_object_and_one_event() {
    let w = wired(vec![configuration("all", &["s3:ObjectCreated:*"], vec![])]).await;
    let client = &w.server.client;
    let key = "big/video.bin";
    let one: Vec<u8> = (0..5 * MIB).map(|i| (i % 251) as u8).collect();
    let two: Vec<u8> = (0..5 * MIB).map(|i| (i % 241) as u8).collect();
    let three = b"the tail".to_vec();

    let upload_id = client.create_multipart_upload("photos", key).await.unwrap();
    // In any order; a part uploaded again replaces the first.
    let e2 = client
        .upload_part("photos", key, &upload_id, 2, two.clone())
        .await
        .unwrap();
    client
        .upload_part("photos", key, &upload_id, 3, b"a first tail".to_vec())
        .await
        .unwrap();
    let e1 = client
        .upload_part("photos", key, &upload_id, 1, one.clone())
        .await
        .unwrap();
    let e3 = client
        .upload_part("photos", key, &upload_id, 3, three.clone())
        .await
        .unwrap();
    assert_eq!(e1.e_tag, format!("\"{}\"", md5_hex(&one)));
    assert_eq!(e3.e_tag, format!("\"{}\"", md5_hex(&three)));
    // Nothing in the bucket's folder yet.
    assert_eq!(std::fs::read_dir(w.folder.path()).unwrap().count(), 0);

    let parts = client
        .list_parts(list_parts("photos", key, &upload_id))
        .await
        .unwrap();
    let listed: Vec<_> = parts
        .parts
        .iter()
        .map(|p| (p.part_number, p.size, p.e_tag.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, one.len() as i64, e1.e_tag.as_str()),
            (2, two.len() as i64, e2.e_tag.as_str()),
            (3, three.len() as i64, e3.e_tag.as_str()),
        ]
    );
    assert!(!parts.is_truncated);
    assert_eq!(parts.initiator.unwrap().display_name, "operator");
    let page = client
        .list_parts(proto::ListPartsRequest {
            max_parts: 2,
            ..list_parts("photos", key, &upload_id)
        })
        .await
        .unwrap();
    assert!(page.is_truncated);
    assert_eq!(page.next_part_number_marker, 2);
    let rest = client
        .list_parts(proto::ListPartsRequest {
            part_number_marker: 2,
            ..list_parts("photos", key, &upload_id)
        })
        .await
        .unwrap();
    assert_eq!(rest.parts.len(), 1);
    assert_eq!(rest.parts[0].part_number, 3);
    let uploads = client
        .list_multipart_uploads(proto::ListMultipartUploadsRequest {
            bucket: "photos".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(uploads.uploads.len(), 1);
    assert_eq!(uploads.uploads[0].key, key);
    assert_eq!(uploads.uploads[0].upload_id, upload_id);
    assert!(uploads.uploads[0].initiated.ends_with('Z'));

    let done = client
        .complete_multipart_upload(
            "photos",
            key,
            &upload_id,
            &[
                (1, &e1.e_tag),
                (2, &e2.e_tag),
                (3, e3.e_tag.trim_matches('"')),
            ],
        )
        .await
        .expect("complete");
    let etag = multipart_etag(&[&one, &two, &three]);
    assert_eq!(done.e_tag, etag);
    assert!(etag.ends_with("-3\""), "{etag}");
    assert_eq!(done.location, format!("/photos/{key}"));
    let whole = [one.as_slice(), &two, &three].concat();
    assert_eq!(std::fs::read(w.folder.path().join(key)).unwrap(), whole);
    // The multipart ETag is the object's while its file is unchanged.
    let got = client.get_object("photos", key).await.unwrap();
    assert_eq!(got.body, whole);
    assert_eq!(got.e_tag, etag);
    assert_eq!(client.head_object("photos", key).await.unwrap().e_tag, etag);
    let listed = client
        .list_objects_v2(proto::ListObjectsV2Request {
            bucket: "photos".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.contents[0].e_tag, etag);

    let (raw, record) = wait_for(
        &w.server,
        "ObjectCreated:CompleteMultipartUpload",
        "big/video.bin",
    )
    .await;
    assert_eq!(raw["eventName"], "ObjectCreated:CompleteMultipartUpload");
    assert_eq!(record.s3.object.size, Some(whole.len() as i64));
    assert_eq!(
        record.s3.object.e_tag.as_deref(),
        Some(etag.trim_matches('"'))
    );
    // The watcher saw the rename; wait until it has certainly seen a
    // later file too: the upload fired once, and never as a Put.
    write(w.folder.path(), "marker", b"m");
    wait_for(&w.server, "ObjectCreated:Put", "marker").await;
    let seen = seen(&w.server).await;
    assert_eq!(
        count(&seen, "ObjectCreated:CompleteMultipartUpload", key),
        1,
        "{seen:?}"
    );
    assert_eq!(count(&seen, "ObjectCreated:Put", key), 0, "{seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");

    // Finished: the upload and its parts are gone.
    let err = client
        .list_parts(list_parts("photos", key, &upload_id))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "NoSuchUpload");
    assert_eq!(err.code, funnel_client::Code::NotFound);
    assert!(!w.data.path().join("multipart").join(&upload_id).exists());
    let uploads = client
        .list_multipart_uploads(proto::ListMultipartUploadsRequest {
            bucket: "photos".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(uploads.uploads.is_empty());
}

#[tokio::test]
async fn completion_follows_s3s_rules() {
    let w = wired(vec![]).await;
    let client = &w.server.client;
    let key = "k.bin";
    let upload_id = client.create_multipart_upload("photos", key).await.unwrap();
    let small = |n: u8| vec![n; 1024];
    let e1 = client
        .upload_part("photos", key, &upload_id, 1, small(1))
        .await
        .unwrap()
        .e_tag;
    let e2 = client
        .upload_part("photos", key, &upload_id, 2, small(2))
        .await
        .unwrap()
        .e_tag;
    let id = upload_id.as_str();
    let complete = |parts: Vec<(i32, String)>| async move {
        let parts: Vec<(i32, &str)> = parts.iter().map(|(n, e)| (*n, e.as_str())).collect();
        client
            .complete_multipart_upload("photos", key, id, &parts)
            .await
    };
    let refused = |result: Result<proto::CompleteMultipartUploadResponse, _>| {
        let err: funnel_client::Error = result.unwrap_err();
        err.error_type.unwrap_or_default()
    };
    // A part but the last under 5 MiB.
    assert_eq!(
        refused(complete(vec![(1, e1.clone()), (2, e2.clone())]).await),
        "EntityTooSmall"
    );
    assert_eq!(
        refused(complete(vec![(2, e2.clone()), (1, e1.clone())]).await),
        "InvalidPartOrder"
    );
    assert_eq!(
        refused(complete(vec![(1, e1.clone()), (1, e1.clone())]).await),
        "InvalidPartOrder"
    );
    assert_eq!(
        refused(complete(vec![(1, e2.clone())]).await),
        "InvalidPart",
        "another part's ETag"
    );
    assert_eq!(
        refused(complete(vec![(3, e1.clone())]).await),
        "InvalidPart"
    );
    assert_eq!(refused(complete(vec![]).await), "MalformedXML");
    for number in [0, 10_001] {
        let err = client
            .upload_part("photos", key, &upload_id, number, small(0))
            .await
            .unwrap_err();
        assert_eq!(error_type(&err), "InvalidArgument", "{number}");
    }
    // The same upload under another key, or an id funnel never gave.
    for (key, id) in [
        ("other.bin", upload_id.as_str()),
        (key, "nope"),
        (key, "../x"),
    ] {
        let err = client
            .upload_part("photos", key, id, 1, small(0))
            .await
            .unwrap_err();
        assert_eq!(error_type(&err), "NoSuchUpload", "{key} {id}");
    }
    assert!(!w.folder.path().join(key).exists(), "nothing was made");

    // Aborted: every call on it is NoSuchUpload, its parts are gone.
    client
        .abort_multipart_upload("photos", key, &upload_id)
        .await
        .unwrap();
    assert!(!w.data.path().join("multipart").join(&upload_id).exists());
    assert_eq!(
        refused(complete(vec![(1, e1.clone())]).await),
        "NoSuchUpload"
    );
    let err = client
        .upload_part("photos", key, &upload_id, 1, small(1))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "NoSuchUpload");
    let err = client
        .abort_multipart_upload("photos", key, &upload_id)
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "NoSuchUpload");

    // A bucket with an upload in progress is deleted, with the upload.
    client.create_bucket("scratch", None).await.unwrap();
    let pending = client
        .create_multipart_upload("scratch", "a")
        .await
        .unwrap();
    client
        .upload_part("scratch", "a", &pending, 1, small(1))
        .await
        .unwrap();
    client.delete_bucket("scratch").await.expect("deleted");
    assert!(!w.data.path().join("multipart").join(&pending).exists());
    client.create_bucket("scratch", None).await.unwrap();
    let err = client
        .list_parts(list_parts("scratch", "a", &pending))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "NoSuchUpload");
}

#[tokio::test]
async fn an_upload_outlives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server_with(test_config(data.path())).await;
    server.client.create_bucket("photos", None).await.unwrap();
    let key = "kept.bin";
    let one = vec![1u8; 5 * MIB];
    let upload_id = server
        .client
        .create_multipart_upload("photos", key)
        .await
        .unwrap();
    let e1 = server
        .client
        .upload_part("photos", key, &upload_id, 1, one.clone())
        .await
        .unwrap()
        .e_tag;
    server.stop().await;

    let server = start_server_with(test_config(data.path())).await;
    let e2 = server
        .client
        .upload_part("photos", key, &upload_id, 2, b"two".to_vec())
        .await
        .expect("the upload is still in progress")
        .e_tag;
    let parts = server
        .client
        .list_parts(list_parts("photos", key, &upload_id))
        .await
        .unwrap();
    assert_eq!(parts.parts.len(), 2);
    let done = server
        .client
        .complete_multipart_upload("photos", key, &upload_id, &[(1, &e1), (2, &e2)])
        .await
        .unwrap();
    assert_eq!(done.e_tag, multipart_etag(&[&one, b"two"]));
    let got = server.client.get_object("photos", key).await.unwrap();
    assert_eq!(got.body, [one.as_slice(), b"two"].concat());
    server.stop().await;
}

#[tokio::test]
async fn parts_copied_from_another_bucket_make_the_object() {
    let w = wired(vec![configuration("all", &["s3:ObjectCreated:*"], vec![])]).await;
    let client = &w.server.client;
    client.create_bucket("archive", None).await.unwrap();
    let source: Vec<u8> = (0..6 * MIB).map(|i| (i % 253) as u8).collect();
    client
        .put_object("archive", "raw.bin", source.clone())
        .await
        .unwrap();
    let key = "copied.bin";
    let upload_id = client.create_multipart_upload("photos", key).await.unwrap();
    let upload = ("photos", key, upload_id.as_str());
    let first = format!("bytes=0-{}", 5 * MIB - 1);
    let p1 = client
        .upload_part_copy(upload, 1, "archive/raw.bin", &first)
        .await
        .unwrap();
    let rest = format!("bytes={}-{}", 5 * MIB, 6 * MIB - 1);
    let p2 = client
        .upload_part_copy(upload, 2, "archive/raw.bin", &rest)
        .await
        .unwrap();
    assert_eq!(p1.e_tag, format!("\"{}\"", md5_hex(&source[..5 * MIB])));
    assert!(!p2.last_modified.is_empty());
    // Ranges name both ends; past the source's end is InvalidRange; a
    // missing source is NoSuchKey.
    for (range, expected) in [
        ("bytes=100-", "InvalidArgument"),
        ("bytes=-100", "InvalidArgument"),
        ("bytes=7340032-7340033", "InvalidRange"),
    ] {
        let err = client
            .upload_part_copy(upload, 3, "archive/raw.bin", range)
            .await
            .unwrap_err();
        assert_eq!(error_type(&err), expected, "{range}: {err}");
    }
    let err = client
        .upload_part_copy(upload, 3, "archive/absent", "")
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "NoSuchKey");

    let done = client
        .complete_multipart_upload(
            "photos",
            key,
            &upload_id,
            &[(1, p1.e_tag.as_str()), (2, p2.e_tag.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(
        done.e_tag,
        multipart_etag(&[&source[..5 * MIB], &source[5 * MIB..]])
    );
    assert_eq!(std::fs::read(w.folder.path().join(key)).unwrap(), source);
    wait_for(&w.server, "ObjectCreated:CompleteMultipartUpload", key).await;
    w.server.stop().await;
}
