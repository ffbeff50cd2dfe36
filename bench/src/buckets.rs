//! The bucket row: from a file's close in a watched folder to the function
//! starting, against an async `Invoke` (accept → function start) in the
//! same run. The guest (`recorder`) prints the wall clock when its handler
//! starts; the bench notes the wall clock when the file is closed (or just
//! before the Invoke is sent). One event at a time, so each start belongs
//! to the last write.

use funnel_tests::guests;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use funnel_client::proto;
use funnel_tests::{TestServer, test_config};

use crate::{Latency, percentiles};

const SAMPLES: usize = 300;
const WARMUP: usize = 10;

pub struct BucketRows {
    pub file_to_start: Latency,
    pub invoke_to_start: Latency,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// The handler start times the recorder has logged, oldest first.
async fn starts(server: &TestServer) -> Vec<u128> {
    server
        .log_messages("rec")
        .await
        .iter()
        .filter_map(|e| {
            e.message
                .trim_end()
                .strip_prefix("start_ns: ")?
                .parse()
                .ok()
        })
        .collect()
}

/// Waits for start number `n` (1-based) and returns it.
async fn nth_start(server: &TestServer, n: usize) -> anyhow::Result<u128> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = starts(server).await;
        if seen.len() >= n {
            return Ok(seen[n - 1]);
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "no start {n}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub async fn measure() -> anyhow::Result<BucketRows> {
    let data = tempfile::tempdir()?;
    let folder = tempfile::tempdir()?;
    let mut config = test_config(data.path());
    config.buckets.roots.push(folder.path().to_path_buf());
    let server = crate::start_server(config).await;
    server.create("rec", guests::RECORDER).await;
    server.allow("rec", "s3", "s3.amazonaws.com", "").await;
    let path = folder.path().to_string_lossy().into_owned();
    server.client.create_bucket("bench", Some(&path)).await?;
    server
        .client
        .put_bucket_notification_configuration(
            "bench",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "all".into(),
                    lambda_function_arn: "arn:funnel:lambda:local:000000000000:function:rec".into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await?;

    let mut seen = 0;
    let mut file_samples = Vec::with_capacity(SAMPLES);
    for i in 0..WARMUP + SAMPLES {
        std::fs::write(folder.path().join(format!("f{i}.txt")), b"some bytes")?;
        let closed = now_ns();
        seen += 1;
        let started = nth_start(&server, seen).await?;
        if i >= WARMUP {
            file_samples.push(Duration::from_nanos(started.saturating_sub(closed) as u64));
        }
    }
    let mut invoke_samples = Vec::with_capacity(SAMPLES);
    for i in 0..WARMUP + SAMPLES {
        let sent = now_ns();
        server
            .client
            .invoke(proto::InvokeRequest {
                function_name: "rec".into(),
                invocation_type: "Event".into(),
                payload: br#"{"n":1}"#.to_vec(),
                ..Default::default()
            })
            .await?;
        seen += 1;
        let started = nth_start(&server, seen).await?;
        if i >= WARMUP {
            invoke_samples.push(Duration::from_nanos(started.saturating_sub(sent) as u64));
        }
    }
    server.stop().await;
    Ok(BucketRows {
        file_to_start: percentiles(file_samples),
        invoke_to_start: percentiles(invoke_samples),
    })
}
