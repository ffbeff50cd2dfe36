//! funnel's benchmark: `cargo run --release -p funnel-bench`.
//!
//! Starts a real server in-process on 127.0.0.1:0 and measures, in the same
//! run, the invoke path and the baselines it is judged against:
//!
//! - `grpc health check`: an empty unary RPC over the same transport — the
//!   floor for any call.
//! - `runtime only`: a fresh instance + call of the same component without
//!   gRPC (the wasmtime floor plus our host setup).
//! - `invoke echo`: the full sync `Invoke` round trip through the client.
//!
//! Latency is measured one call at a time (c=1); throughput with 32 calls in
//! flight over 4 connections. Ratios are to the health-check baseline.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant};

use funnel_client::{Client, proto};
use funnel_server::Clock;
use funnel_server::runtime::{Call, EnvironmentConfig, Runtime};
use funnel_tests::{guest, start_server_with, test_config};

const LATENCY_CALLS: usize = 3_000;
const THROUGHPUT_SECS: u64 = 3;
const CONCURRENCY: usize = 32;
const CONNECTIONS: usize = 4;

struct Latency {
    p50: Duration,
    p99: Duration,
}

async fn latency<F, Fut>(mut call: F) -> Latency
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..LATENCY_CALLS / 10 {
        call().await;
    }
    let mut samples = Vec::with_capacity(LATENCY_CALLS);
    for _ in 0..LATENCY_CALLS {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    Latency {
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

/// Calls per second with CONCURRENCY calls in flight.
async fn throughput<F, Fut>(call: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECS);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|worker| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    call(worker).await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.expect("worker");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let echo = guest("echo");
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path());
    config.runtime.max_instances = 64;
    let server = start_server_with(config.clone()).await;
    server.create("echo", "echo").await;

    let mut clients = Vec::new();
    let mut health = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(Client::connect(&server.endpoint).await?);
        let channel = tonic::transport::Endpoint::from_shared(server.endpoint.clone())?
            .connect()
            .await?;
        health.push(tonic_health::pb::health_client::HealthClient::new(channel));
    }
    let check = |h: &tonic_health::pb::health_client::HealthClient<tonic::transport::Channel>| {
        let mut h = h.clone();
        async move {
            h.check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health check");
        }
    };
    let invoke = |c: &Client| {
        let c = c.clone();
        async move {
            let out = c
                .invoke(proto::InvokeRequest {
                    function_name: "echo".into(),
                    payload: br#"{"n":1}"#.to_vec(),
                    ..Default::default()
                })
                .await
                .expect("invoke");
            assert_eq!(out.function_error, "");
        }
    };

    // The runtime alone, on its own engine.
    let runtime = Runtime::new(
        &config.runtime,
        &dir.path().join("bench-runtime"),
        Clock::system(),
    )?;
    let prepared = runtime
        .prepare("bench-echo", || Ok(Cow::Borrowed(&echo)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let run_once = move || {
        let (runtime, prepared) = (runtime.clone(), prepared.clone());
        async move {
            let config = EnvironmentConfig {
                function_name: "echo".into(),
                function_version: "$LATEST".into(),
                code_sha256: "bench-echo".into(),
                memory_mb: 128,
                timeout: Duration::from_secs(3),
                ephemeral_storage_mb: 512,
                environment: Vec::new(),
            };
            let call = Call {
                request_id: "bench".into(),
                invoked_function_arn: "arn".into(),
                payload: br#"{"n":1}"#.to_vec(),
                client_context: None,
                trace_id: None,
            };
            let outcome = runtime
                .invoke(&prepared, config, call)
                .await
                .expect("runtime invoke");
            assert!(outcome.result.is_ok());
        }
    };

    let health_lat = latency(|| check(&health[0])).await;
    let runtime_lat = latency(run_once.clone()).await;
    let invoke_lat = latency(|| invoke(&clients[0])).await;

    let health_tp = {
        let health = health.clone();
        throughput(move |w| check(&health[w % CONNECTIONS])).await
    };
    let runtime_tp = throughput(move |_| run_once()).await;
    let invoke_tp = {
        let clients = clients.clone();
        throughput(move |w| invoke(&clients[w % CONNECTIONS])).await
    };

    println!(
        "funnel bench — {LATENCY_CALLS} calls at c=1; {THROUGHPUT_SECS} s at c={CONCURRENCY} over {CONNECTIONS} connections"
    );
    println!();
    println!(
        "| measurement | p50 (c=1) | p99 (c=1) | calls/s (c={CONCURRENCY}) | p50 ÷ baseline | calls/s ÷ baseline |"
    );
    println!("|---|---|---|---|---|---|");
    let base = &health_lat;
    for (name, lat, tp) in [
        ("grpc health check (baseline)", &health_lat, health_tp),
        (
            "runtime only: fresh instance + call",
            &runtime_lat,
            runtime_tp,
        ),
        ("invoke echo (full round trip)", &invoke_lat, invoke_tp),
    ] {
        println!(
            "| {name} | {} | {} | {:.0} | {:.2}× | {:.2}× |",
            us(lat.p50),
            us(lat.p99),
            tp,
            lat.p50.as_secs_f64() / base.p50.as_secs_f64(),
            tp / health_tp,
        );
    }
    println!();
    println!(
        "invoke overhead over the transport floor: p50 +{} (the runtime alone: {})",
        us(invoke_lat.p50.saturating_sub(health_lat.p50)),
        us(runtime_lat.p50)
    );
    server.stop().await;
    Ok(())
}
