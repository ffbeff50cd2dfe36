//! S3 through the AWS-compatible endpoint, driven by the real aws CLI
//! against `funnel up` with the example stack: `aws s3 cp` of a 20 MB file
//! (a multipart upload) into `photos` fires `object-type` once; it comes
//! back whole (ranged GETs); `s3 ls`, `s3 mb`/`rb`, `s3api` listings,
//! copies, batch deletes and notifications; a wrong secret, an unknown key
//! and an operation funnel lacks are refused by S3's names.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::aws_cli::Aws;
use crate::common::Up;

/// `aws ARGS` (e.g. `s3 cp`), which must succeed; its stdout.
fn run(aws: &Aws, args: &[&str]) -> String {
    let out = aws.run(args);
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The messages `object-type` logged that match `pattern`.
fn object_type_logs(aws: &Aws, pattern: &str) -> Vec<String> {
    let Some(found) = aws.json_if_found(&[
        "logs",
        "filter-log-events",
        "--log-group-name",
        "/aws/lambda/object-type",
        "--filter-pattern",
        pattern,
    ]) else {
        return Vec::new();
    };
    found["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| e["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn wait_for_logs(aws: &Aws, pattern: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = object_type_logs(aws, pattern);
        if !found.is_empty() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "object-type logged nothing matching {pattern}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// 20 MB that no two parts share (so a part out of place shows).
fn big_file(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let mut bytes = Vec::with_capacity(20 * 1024 * 1024);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < 20 * 1024 * 1024 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    let path = dir.join("big.bin");
    std::fs::write(&path, &bytes).expect("write the big file");
    (path, bytes)
}

#[test]
fn the_aws_cli_copies_a_20_mb_file_in_parts_and_the_bucket_notifies_once() {
    if !Aws::available("the aws CLI S3 tests") {
        return;
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let work = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let aws = Aws::of(&mut up);

    // The example stack's bucket is there; one more is made and listed.
    run(&aws, &["s3", "mb", "s3://scratch"]);
    let listed = run(&aws, &["s3", "ls"]);
    assert!(listed.contains(" photos"), "{listed}");
    assert!(listed.contains(" scratch"), "{listed}");

    // Above 8 MB the CLI uploads in parts: 8 + 8 + 4 MB.
    let (big, bytes) = big_file(work.path());
    run(
        &aws,
        &["s3", "cp", big.to_str().unwrap(), "s3://photos/big.bin"],
    );
    let head = aws.json(&[
        "s3api",
        "head-object",
        "--bucket",
        "photos",
        "--key",
        "big.bin",
    ]);
    assert_eq!(head["ContentLength"], 20 * 1024 * 1024, "{head}");
    let etag = head["ETag"].as_str().expect("ETag");
    assert!(etag.ends_with("-3\""), "a three-part upload's ETag: {etag}");

    // object-type ran for it once: another object's event, fired after,
    // has been handled, and the big one still ran once.
    wait_for_logs(&aws, "\"CONTENT TYPE: application/octet-stream\"");
    std::fs::write(work.path().join("note.txt"), "marker").unwrap();
    run(
        &aws,
        &[
            "s3",
            "cp",
            work.path().join("note.txt").to_str().unwrap(),
            "s3://photos/note.txt",
        ],
    );
    wait_for_logs(&aws, "\"CONTENT TYPE: text/plain\"");
    let big_runs = object_type_logs(&aws, "\"CONTENT TYPE: application/octet-stream\"");
    assert_eq!(big_runs.len(), 1, "the upload fired once: {big_runs:?}");

    // It comes back whole (the CLI reads a large object in ranges).
    let back = work.path().join("back.bin");
    run(
        &aws,
        &["s3", "cp", "s3://photos/big.bin", back.to_str().unwrap()],
    );
    assert!(
        std::fs::read(&back).unwrap() == bytes,
        "the download differs"
    );
    let ranged = work.path().join("range.bin");
    let part = aws.json(&[
        "s3api",
        "get-object",
        "--bucket",
        "photos",
        "--key",
        "big.bin",
        "--range",
        "bytes=10-19",
        ranged.to_str().unwrap(),
    ]);
    assert_eq!(part["ContentRange"], "bytes 10-19/20971520", "{part}");
    assert_eq!(std::fs::read(&ranged).unwrap(), &bytes[10..20]);

    // Listings, by the high-level and the API commands.
    let listed = run(&aws, &["s3", "ls", "s3://photos/"]);
    assert!(listed.contains("20971520 big.bin"), "{listed}");
    let v2 = aws.json(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        "photos",
        "--prefix",
        "big",
        "--no-paginate",
    ]);
    assert_eq!(v2["KeyCount"], 1, "{v2}");
    assert_eq!(v2["Contents"][0]["Key"], "big.bin", "{v2}");
    assert_eq!(v2["Contents"][0]["ETag"], etag, "{v2}");

    // A copy, then a batch delete of it and a key that is not there.
    run(
        &aws,
        &[
            "s3",
            "cp",
            "s3://photos/note.txt",
            "s3://scratch/a b/note.txt",
        ],
    );
    let copied = run(&aws, &["s3", "cp", "s3://scratch/a b/note.txt", "-"]);
    assert_eq!(copied, "marker");
    // Above the CLI's 8 MB threshold a bucket-to-bucket copy is a
    // multipart upload of copied parts (UploadPartCopy with ranges).
    run(
        &aws,
        &["s3", "cp", "s3://photos/big.bin", "s3://scratch/big.bin"],
    );
    let copy_back = work.path().join("copy-back.bin");
    run(
        &aws,
        &[
            "s3",
            "cp",
            "s3://scratch/big.bin",
            copy_back.to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read(&copy_back).unwrap() == bytes,
        "the copy differs"
    );
    let deleted = aws.json(&[
        "s3api",
        "delete-objects",
        "--bucket",
        "scratch",
        "--delete",
        r#"{"Objects": [{"Key": "a b/note.txt"}, {"Key": "big.bin"}, {"Key": "never"}]}"#,
    ]);
    let mut keys: Vec<&str> = deleted["Deleted"]
        .as_array()
        .expect("Deleted")
        .iter()
        .map(|d| d["Key"].as_str().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, ["a b/note.txt", "big.bin", "never"], "{deleted}");
    run(&aws, &["s3", "rb", "s3://scratch"]);
    let listed = run(&aws, &["s3", "ls"]);
    assert!(!listed.contains(" scratch"), "{listed}");

    // The example stack's notification, as S3 shows it.
    let notifications = aws.json(&[
        "s3api",
        "get-bucket-notification-configuration",
        "--bucket",
        "photos",
    ]);
    let configs = notifications["LambdaFunctionConfigurations"]
        .as_array()
        .unwrap_or_else(|| panic!("{notifications}"));
    assert_eq!(configs.len(), 1, "{notifications}");
    assert!(
        configs[0]["LambdaFunctionArn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":function:object-type")),
        "{notifications}"
    );
    assert_eq!(
        configs[0]["Events"],
        serde_json::json!(["s3:ObjectCreated:*"])
    );

    // S3's errors, by S3's names.
    let missing = aws.fails(&[
        "s3api",
        "head-object",
        "--bucket",
        "photos",
        "--key",
        "nothing",
    ]);
    assert!(missing.contains("404"), "{missing}");
    aws.fails_with(
        &[
            "s3api",
            "get-object",
            "--bucket",
            "photos",
            "--key",
            "nothing",
            "/dev/null",
        ],
        "NoSuchKey",
    );
    aws.fails_with(&["s3", "rb", "s3://photos"], "BucketNotEmpty");
    let lacking = aws.fails_with(
        &["s3api", "get-bucket-acl", "--bucket", "photos"],
        "NotImplemented",
    );
    assert!(lacking.contains("GetBucketAcl"), "{lacking}");

    let credentials = std::fs::read_to_string(&aws.credentials).expect("credentials");
    let id = credentials
        .lines()
        .find_map(|l| l.strip_prefix("aws_access_key_id = "))
        .expect("a key id")
        .to_string();
    let wrong = work.path().join("wrong");
    std::fs::write(
        &wrong,
        format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = not-the-secret\n"),
    )
    .unwrap();
    aws.with_credentials(wrong)
        .fails_with(&["s3", "ls"], "SignatureDoesNotMatch");
    let unknown = work.path().join("unknown");
    std::fs::write(
        &unknown,
        "[default]\naws_access_key_id = AKIANOBODY\naws_secret_access_key = x\n",
    )
    .unwrap();
    aws.with_credentials(unknown)
        .fails_with(&["s3", "ls"], "InvalidAccessKeyId");
}

/// Runs `aws_s3.py` (boto3) against one `funnel up` started with `flags`.
fn boto3_checks(flags: &[&str], tls: bool) {
    let Some(python) = crate::aws_shapes::python() else {
        return;
    };
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start_with(data_dir.path(), flags);
    up.endpoint();
    let aws = Aws::of(&mut up);
    let script = crate::common::repo_root().join("crates/funnel/tests/cli/aws_s3.py");
    let mut command = std::process::Command::new(&python);
    command
        .arg(&script)
        .args(["--endpoint", &aws.endpoint])
        .arg("--credentials")
        .arg(&aws.credentials);
    if tls {
        command
            .arg("--ca")
            .arg(data_dir.path().join("tls").join("ca.pem"));
    }
    let out = command
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("run aws_s3.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "aws_s3.py failed ({}) after:\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
}

#[test]
fn boto3_signs_presigns_checksums_and_uploads_in_parts() {
    boto3_checks(&[], false);
}

#[test]
fn boto3_sends_aws_chunked_bodies_over_tls() {
    boto3_checks(&["--tls", "self-signed"], true);
}
