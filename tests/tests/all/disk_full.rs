//! A full disk: the data dir on a small tmpfs, filled past the free-disk
//! floor. Writes are refused with a clear error, reads still answer,
//! nothing acknowledged is lost, and writes come back when space does.
//! (Mounting needs root: elsewhere the test is skipped, loudly, even
//! under CI.)

use std::io::Write as _;
use std::path::{Path, PathBuf};

use funnel_client::proto;
use funnel_tests::topics::{allow_sns, subscribe};
use funnel_tests::{eventually, guests, start_server_with, test_config};

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size_mb: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn free_mb(path: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-k"])
        .arg(path)
        .output()
        .expect("df");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse::<u64>().ok())
        .expect("df's number")
        / 1024
}

/// Writes zeros to `file` until the disk has at most `leave_mb` free.
fn fill(file: &Path, leave_mb: u64) {
    let mut out = std::fs::File::create(file).expect("filler");
    let chunk = vec![0u8; 1024 * 1024];
    while free_mb(file) > leave_mb {
        if out.write_all(&chunk).is_err() {
            break;
        }
        out.flush().ok();
    }
}

fn refused_for_space(err: impl std::fmt::Display) {
    let text = err.to_string();
    assert!(text.contains("InsufficientStorageException"), "{text}");
    assert!(text.contains("store.min_free_mb"), "{text}");
}

async fn logged(server: &funnel_tests::TestServer, function: &str, text: &str) -> bool {
    server
        .log_messages(function)
        .await
        .iter()
        .any(|e| e.message.contains(text))
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_what_was_acknowledged_and_recovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mount = match Tmpfs::mount(&dir.path().join("disk"), 160) {
        Ok(mount) => mount,
        // The issue allows this one a loud skip even under CI: mounting
        // needs a privilege a CI container may not grant.
        Err(why) => {
            eprintln!("\n==== SKIPPED: the disk-full test could not mount a tmpfs: {why} ====\n");
            return;
        }
    };
    let data = mount.0.join("data");
    let mut config = test_config(&data);
    config.store.min_free_mb = 32;
    let server = start_server_with(config).await;
    let client = &server.client;
    server.create("rec", guests::RECORDER).await;
    let topic = client.create_topic("orders").await.expect("topic");
    allow_sns(&server, "rec", &topic).await;
    subscribe(&server, &topic, "rec", None).await;
    client.create_bucket("photos", None).await.expect("bucket");

    // Acknowledged just before the disk fills.
    let mut event = funnel_tests::invoke_request("rec", r#"{"m":"acknowledged"}"#);
    event.invocation_type = "Event".into();
    client.invoke(event.clone()).await.expect("accepted");
    fill(&mount.0.join("filler"), 16);

    refused_for_space(
        client
            .create_function(funnel_tests::create_request(
                "hello",
                funnel_tests::guest(guests::HELLO),
            ))
            .await
            .expect_err("no room"),
    );
    let mut late = event.clone();
    late.payload = br#"{"m":"late"}"#.to_vec();
    refused_for_space(client.invoke(late.clone()).await.expect_err("no room"));
    refused_for_space(
        client
            .publish(proto::PublishRequest {
                topic_arn: topic.clone(),
                message: "late".into(),
                ..Default::default()
            })
            .await
            .expect_err("no room"),
    );
    refused_for_space(
        client
            .put_object("photos", "cat.jpg", vec![1; 1024])
            .await
            .expect_err("no room"),
    );
    // Reads answer; what was acknowledged is delivered.
    client.get_function("rec").await.expect("a read");
    client.list_buckets().await.expect("a read");
    eventually("the acknowledged event", || async {
        logged(&server, "rec", "acknowledged").await.then_some(())
    })
    .await;

    // Space comes back: so do writes.
    std::fs::remove_file(mount.0.join("filler")).expect("free the disk");
    eventually("writes come back", || async {
        client.invoke(late.clone()).await.ok()
    })
    .await;
    eventually("the late event", || async {
        logged(&server, "rec", "late").await.then_some(())
    })
    .await;
    client
        .put_object("photos", "cat.jpg", vec![1; 1024])
        .await
        .expect("a put");
    server.stop().await;
    drop(mount);
}
