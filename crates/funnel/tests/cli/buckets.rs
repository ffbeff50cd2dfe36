//! Buckets from the command line: `funnel up` deploys the example stack's
//! bucket, its notification and the permission it needs; an object put with
//! the CLI runs the `object-type` sample, which reads it from its granted
//! bucket; the bucket and object verbs work; a second deploy changes
//! nothing.

use std::time::{Duration, Instant};

use crate::common::{Up, funnel, ok, repo_root};

/// The first bytes of a PNG file.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[test]
fn the_example_stack_wires_a_bucket_to_object_type() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let said = up.seen.join("\n");
    assert!(said.contains("bucket photos"), "{said}");

    let picture = data_dir.path().join("cat.png");
    std::fs::write(&picture, PNG).unwrap();
    let put = ok(&funnel(
        &endpoint,
        &[
            "object",
            "put",
            "photos",
            "cats/cat.png",
            picture.to_str().unwrap(),
        ],
    ));
    assert!(put.contains("\"ETag\""), "{put}");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let logs = ok(&funnel(&endpoint, &["logs", "tail", "object-type"]));
        if logs.contains("CONTENT TYPE: image/png") {
            break;
        }
        assert!(Instant::now() < deadline, "no CONTENT TYPE line: {logs}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let listed = ok(&funnel(
        &endpoint,
        &["object", "list", "photos", "--delimiter", "/"],
    ));
    assert!(listed.contains("\"Prefix\":\"cats/\""), "{listed}");
    let got = funnel(&endpoint, &["object", "get", "photos", "cats/cat.png"]);
    assert_eq!(got.stdout, PNG);
    let buckets = ok(&funnel(&endpoint, &["bucket", "list"]));
    assert!(buckets.contains("\"Name\":\"photos\""), "{buckets}");
    let policy = ok(&funnel(
        &endpoint,
        &["function", "get-policy", "object-type"],
    ));
    assert!(policy.contains("s3.amazonaws.com"), "{policy}");
    let notified = ok(&funnel(
        &endpoint,
        &["bucket", "get-notification", "photos"],
    ));
    assert!(notified.contains("s3:ObjectCreated:*"), "{notified}");

    // A bucket of our own, notify from the CLI, delete it when empty.
    ok(&funnel(&endpoint, &["bucket", "create", "scratch"]));
    ok(&funnel(
        &endpoint,
        &[
            "function",
            "add-permission",
            "object-type",
            "--statement-id",
            "scratch",
            "--principal",
            "s3.amazonaws.com",
            "--source-arn",
            "arn:funnel:s3:::scratch",
        ],
    ));
    let notify = ok(&funnel(
        &endpoint,
        &[
            "bucket",
            "notify",
            "scratch",
            "--function",
            "object-type",
            "--events",
            "s3:ObjectCreated:*",
            "--suffix",
            ".png",
        ],
    ));
    assert!(notify.contains("\"Value\":\".png\""), "{notify}");
    ok(&funnel(
        &endpoint,
        &[
            "object",
            "put",
            "scratch",
            "a.txt",
            picture.to_str().unwrap(),
        ],
    ));
    let refused = funnel(&endpoint, &["bucket", "delete", "scratch"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("BucketNotEmpty"));
    ok(&funnel(
        &endpoint,
        &["object", "delete", "scratch", "a.txt"],
    ));
    ok(&funnel(&endpoint, &["bucket", "delete", "scratch"]));

    // The same stack again: nothing changes.
    let stack = repo_root().join("funnel.toml");
    let out = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("bucket photos: unchanged"), "{said}");
    assert!(
        said.contains("bucket photos notifications: unchanged"),
        "{said}"
    );
    assert!(!said.contains("added"), "{said}");
}
