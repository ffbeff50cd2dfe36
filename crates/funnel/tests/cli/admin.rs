//! `funnel admin`: a backup of a running server to a file, and a data dir
//! rebuilt from it with no server running, which then serves what the
//! first one had; the quarantine listed.

use crate::common::{funnel, ok, register};
use crate::crash::{Served, create, recorder_code};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(ok(out).trim()).expect("JSON on stdout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_restore_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first_dir = dir.path().join("first");
    let mut first = Served::start_with(&first_dir, &[]);
    register(&first.endpoint, &first_dir);
    let client = funnel_client::Client::connect_with(
        &first.endpoint,
        Some(crate::common::operator(&first_dir)),
    )
    .await
    .expect("connect");
    create(&client, "rec", &recorder_code().await).await;

    let listed = json(&funnel(&first.endpoint, &["admin", "quarantine", "list"]));
    assert_eq!(listed["Records"], serde_json::json!([]));
    let file = dir.path().join("backup.fnl");
    let took = json(&funnel(
        &first.endpoint,
        &["admin", "backup", "--to", file.to_str().unwrap()],
    ));
    assert!(took["Bytes"].as_u64().unwrap() > 0, "{took}");
    first.kill_9();

    let second_dir = dir.path().join("second");
    // No server: the endpoint is never called.
    let restore = || {
        funnel(
            "http://127.0.0.1:9",
            &[
                "admin",
                "restore",
                "--from",
                file.to_str().unwrap(),
                "--data-dir",
                second_dir.to_str().unwrap(),
            ],
        )
    };
    let restored = json(&restore());
    assert!(restored["Records"].as_u64().unwrap() > 0, "{restored}");
    // Into a folder in use: refused, saying why.
    let again = restore();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let second = Served::start_with(&second_dir, &[]);
    register(&second.endpoint, &second_dir);
    let got = json(&funnel(&second.endpoint, &["function", "get", "rec"]));
    assert_eq!(got["Configuration"]["FunctionName"], "rec", "{got}");
}
