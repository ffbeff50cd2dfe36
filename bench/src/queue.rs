//! The async queue's rows: durable accepts at c=32 against sled's own
//! insert+flush, end-to-end dispatch of `echo` against the sync warm
//! throughput, and resident memory with 1,000,000 queued events.

use funnel_server::config::Durability;
use funnel_tests::guests;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use funnel_client::proto;
use funnel_tests::{guest, test_config};

use crate::{CONCURRENCY, CONNECTIONS, THROUGHPUT_SECS, rss_kib};

/// Events queued for the memory row.
pub const QUEUED_EVENTS: usize = 1_000_000;

pub struct QueueRows {
    /// Accepted events per second at c=32 (each answered only once durable).
    pub accept_rate: f64,
    /// The same with `store.durability = "power"` (every flush fsyncs).
    pub power_accept_rate: f64,
    /// sled: one insert then one flush, per event, one writer.
    pub sled_serial_rate: f64,
    /// sled: insert then flush per event, 32 writers at once.
    pub sled_concurrent_rate: f64,
    pub accepted: u64,
    /// Events per second from the queue through `echo` to done.
    pub dispatch_rate: f64,
    /// RSS growth with QUEUED_EVENTS queued and undelivered, KiB.
    pub queued_rss_kib: u64,
    pub queued_rss_total_kib: u64,
    pub flushes: u64,
}

fn event(function: &str) -> proto::InvokeRequest {
    proto::InvokeRequest {
        function_name: function.into(),
        invocation_type: "Event".into(),
        payload: br#"{"n":1}"#.to_vec(),
        ..Default::default()
    }
}

/// Starts a server with deliveries on over `data` (where `queued` events
/// wait) and returns how many per second it delivered until all were.
pub async fn drain_rate(data: &std::path::Path, queued: u64) -> anyhow::Result<f64> {
    let mut config = test_config(data);
    config.runtime.max_instances = 64;
    let started = Instant::now();
    let server = crate::start_server(config).await;
    loop {
        let stats = server.queue.stats();
        if stats.delivered >= queued {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the queue did not drain: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = queued as f64 / started.elapsed().as_secs_f64();
    server.stop().await;
    Ok(rate)
}

pub async fn measure() -> anyhow::Result<QueueRows> {
    let dir = tempfile::tempdir()?;
    eprintln!("bench: sled insert+flush rates");
    let (sled_serial_rate, sled_concurrent_rate) = {
        let dir = dir.path().to_path_buf();
        let concurrent_for = Duration::from_secs(THROUGHPUT_SECS);
        tokio::task::spawn_blocking(move || {
            funnel_store::floor::sled_rates(&dir, CONCURRENCY as u64, concurrent_for)
        })
        .await??
    };
    eprintln!("bench: durable accepts at c={CONCURRENCY}");

    // Accepts, with nothing delivering them.
    let data = dir.path().join("accept");
    let (accept_rate, accepted, flushes) = accepts(&data, Durability::Process).await?;
    eprintln!("bench: durable accepts at c={CONCURRENCY}, store.durability = power");
    let (power_accept_rate, _, _) =
        accepts(&dir.path().join("accept-power"), Durability::Power).await?;

    eprintln!("bench: dispatching {accepted} queued events");
    // The same data dir with deliveries on: how fast the queue drains.
    let dispatch_rate = drain_rate(&data, accepted).await?;

    eprintln!("bench: queueing {QUEUED_EVENTS} events");
    // Memory with a million events queued and none delivered.
    let rss_before = rss_kib();
    let mut config = test_config(&dir.path().join("million"));
    config.queue.workers = Some(0);
    let server = crate::start_server(config).await;
    server
        .client
        .create_function(funnel_tests::create_request("echo", guest(guests::ECHO)))
        .await?;
    let events = server.queue.events();
    let template = funnel_store::QueuedEvent::new(
        String::new(),
        "echo".into(),
        String::new(),
        r#"{"n":1}"#.into(),
        None,
    );
    let now = server.runtime.clock().wall_ms();
    for n in 0..QUEUED_EVENTS {
        let mut event = template.clone();
        event.request_id = format!("{n:036}");
        event.received_ms = now;
        events.enqueue(now, &event)?;
    }
    server.queue.durable().await?;
    anyhow::ensure!(events.depth() == QUEUED_EVENTS);
    let queued_rss_total_kib = rss_kib();
    let queued_rss_kib = queued_rss_total_kib.saturating_sub(rss_before);
    server.stop().await;
    Ok(QueueRows {
        accept_rate,
        power_accept_rate,
        sled_serial_rate,
        sled_concurrent_rate,
        accepted,
        dispatch_rate,
        queued_rss_kib,
        queued_rss_total_kib,
        flushes,
    })
}

/// Async accepts at c=32 for THROUGHPUT_SECS into a new server over
/// `data` (nothing delivers them): the rate, how many, and the flushes.
async fn accepts(
    data: &std::path::Path,
    durability: Durability,
) -> anyhow::Result<(f64, u64, u64)> {
    let mut config = test_config(data);
    config.runtime.max_instances = 64;
    config.queue.workers = Some(0);
    config.store.durability = durability;
    let server = crate::start_server(config).await;
    server.create("echo", guests::ECHO).await;
    let clients = crate::member_clients(&server).await?;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECS);
    let started = Instant::now();
    let senders: Vec<_> = (0..CONCURRENCY)
        .map(|w| {
            let (client, done) = (clients[w % CONNECTIONS].clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let out = client.invoke(event("echo")).await.expect("accept");
                    assert_eq!(out.status_code, 202);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await?;
    }
    let accepted = done.load(Ordering::Relaxed);
    let rate = accepted as f64 / started.elapsed().as_secs_f64();
    let flushes = server.queue.stats().flushes;
    server.stop().await;
    Ok((rate, accepted, flushes))
}
