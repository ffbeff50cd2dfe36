//! The schedule row: fire-time jitter — when the handler started minus the
//! time the rule was due — over many fires of an every-minute rule, on the
//! real clock sped up (a minute passes in 50 ms; timers, the queue and the
//! guest all run in real time). The recorder prints the wall clock when
//! its handler starts; the Scheduled Event's `time` is the due time, a
//! whole minute of the sped-up clock, mapped back to real time here.

use funnel_tests::guests;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::DateTime;
use funnel_client::Target;
use funnel_server::Clock;
use funnel_tests::{TestServer, start_server_on, test_config};

use crate::{Latency, percentiles};

/// A minute in 50 ms.
pub const FACTOR: u32 = 1200;
const SAMPLES: usize = 200;
/// The first fires warm the environment and are not counted.
const WARMUP: usize = 5;

pub struct ScheduleRows {
    pub fires: usize,
    pub jitter: Latency,
}

/// Each fire's (due time on the sped-up clock, handler start), in ns since
/// the epoch, oldest first.
async fn fires(server: &TestServer) -> Vec<(i128, i128)> {
    let mut started = None;
    let mut fires = Vec::new();
    for e in server.log_messages("tick").await {
        let line = e.message.trim_end();
        if let Some(ns) = line.strip_prefix("start_ns: ") {
            started = ns.parse::<i128>().ok();
        } else if let Some(json) = line.strip_prefix("record: ") {
            let event: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
            let due = event["time"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .and_then(|t| t.timestamp_nanos_opt());
            if let (Some(due), Some(started)) = (due, started.take()) {
                fires.push((i128::from(due), started));
            }
        }
    }
    fires
}

pub async fn measure() -> anyhow::Result<ScheduleRows> {
    let data = tempfile::tempdir()?;
    let start = SystemTime::now();
    let start_ns = start.duration_since(UNIX_EPOCH)?.as_nanos() as i128;
    let server = start_server_on(test_config(data.path()), Clock::scaled(start, FACTOR)).await;
    server.create("tick", guests::RECORDER).await;
    let rule_arn = server
        .client
        .put_schedule("every-minute", "cron(* * * * ? *)")
        .await?;
    server
        .allow("tick", "events", "events.amazonaws.com", &rule_arn)
        .await;
    server
        .client
        .put_targets(
            "every-minute",
            vec![Target {
                id: "tick".into(),
                function: "tick".into(),
                input: None,
            }],
        )
        .await?;
    let minute_real = Duration::from_secs(60) / FACTOR;
    let deadline = std::time::Instant::now() + minute_real * (SAMPLES + WARMUP + 40) as u32;
    let seen = loop {
        let seen = fires(&server).await;
        if seen.len() >= SAMPLES + WARMUP {
            break seen;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "only {} fires",
            seen.len()
        );
        tokio::time::sleep(minute_real * 10).await;
    };
    server.stop().await;
    // A due time on the sped-up clock, in real ns.
    let real = |due: i128| start_ns + (due - start_ns) / i128::from(FACTOR);
    let mut samples = Vec::with_capacity(SAMPLES);
    for (due, started) in seen.iter().skip(WARMUP).take(SAMPLES) {
        let late = started - real(*due);
        anyhow::ensure!(late >= 0, "a fire started {}ns before it was due", -late);
        samples.push(Duration::from_nanos(late as u64));
    }
    Ok(ScheduleRows {
        fires: SAMPLES,
        jitter: percentiles(samples),
    })
}
