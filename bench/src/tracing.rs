//! Tracing's cost on the invoke path: the same warm invokes on a server
//! with tracing off (`tracing.sample_rate = 0`), at the default sampling
//! (1 a second, then 5%), and recording every call (rate 1: the
//! `grpc Invoke`, `funnel.invoke`, `Invocation` and `Overhead` spans of
//! each, stored and pruned as in production). The three servers take
//! turns ([`ROUNDS`]) so that the ratios compare like with like.

use super::{
    CONNECTIONS, LATENCY_CALLS, Latency, Row, THROUGHPUT_SECS, guests, invoke, latency,
    member_clients, percentiles, throughput_for, us,
};
use funnel_client::Client;
use funnel_tests::{TestServer, test_config};

pub(crate) struct Tracing {
    pub off: Run,
    pub default: Run,
    pub on: Run,
}

#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub latency: Latency,
    pub rate: f64,
    /// The process's CPU time over the c=32 calls, per call.
    pub cpu_per_call: std::time::Duration,
}

/// A server with `echo` at one sample rate (`None`: the default), and a
/// member's connections to it.
async fn serve(
    dir: &std::path::Path,
    sample_rate: Option<f64>,
) -> anyhow::Result<(TestServer, Vec<Client>)> {
    let mut config = test_config(dir);
    config.runtime.max_instances = 64;
    if let Some(rate) = sample_rate {
        config.tracing.sample_rate = rate;
    }
    let server = crate::start_server(config).await;
    server.create("echo", guests::ECHO).await;
    let clients = member_clients(&server).await?;
    Ok((server, clients))
}

/// A [`Run`] measured on its own (`--profile-tracing`), with where its
/// CPU went.
pub(crate) struct RunAlone {
    pub run: Run,
    pub by_thread: crate::cpu::ByThread,
}

pub(crate) async fn run(sample_rate: Option<f64>) -> anyhow::Result<RunAlone> {
    let dir = tempfile::tempdir()?;
    let (server, clients) = serve(dir.path(), sample_rate).await?;
    // With --c32 (for a profile of those calls alone), no c=1 phase.
    let calls = if std::env::args().any(|a| a == "--c32") {
        10
    } else {
        LATENCY_CALLS
    };
    let latency = latency(calls, || invoke(&clients[0])).await;
    let (rate, cpu_per_call, by_thread) = crate::throughput_and_cpu(move |w| {
        let c = clients[w % CONNECTIONS].clone();
        async move { invoke(&c).await }
    })
    .await;
    server.stop().await;
    Ok(RunAlone {
        run: Run {
            latency,
            rate,
            cpu_per_call,
        },
        by_thread,
    })
}

/// The turns each server takes: the three run side by side and take
/// turns, so drift on the machine (another tenant, a frequency step)
/// falls on all three alike instead of on whichever ran last.
const ROUNDS: u32 = 6;

pub(crate) async fn measure() -> anyhow::Result<Tracing> {
    let dirs = [
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    ];
    let mut setups = Vec::new();
    for (dir, rate) in dirs.iter().zip([Some(0.0), None, Some(1.0)]) {
        let (server, clients) = serve(dir.path(), rate).await?;
        for _ in 0..LATENCY_CALLS / 10 {
            invoke(&clients[0]).await;
        }
        setups.push((server, clients));
    }
    let mut samples = vec![Vec::new(); setups.len()];
    let mut calls = vec![0.0; setups.len()];
    let mut cpu_secs = vec![0.0; setups.len()];
    let window = std::time::Duration::from_secs(THROUGHPUT_SECS) / ROUNDS;
    for round in 0..ROUNDS as usize {
        for (i, (_, clients)) in setups.iter().enumerate() {
            for _ in 0..LATENCY_CALLS / ROUNDS as usize {
                let started = std::time::Instant::now();
                invoke(&clients[0]).await;
                samples[i].push(started.elapsed());
            }
        }
        // Each round starts with the next server: what one leaves behind
        // (sled's flushes, the writer's last batch) falls on each in turn.
        for turn in 0..setups.len() {
            let i = (round + turn) % setups.len();
            let clients = setups[i].1.clone();
            let cpu = crate::cpu_secs();
            let rate = throughput_for(window, move |w| {
                let c = clients[w % CONNECTIONS].clone();
                async move { invoke(&c).await }
            })
            .await;
            calls[i] += rate * window.as_secs_f64();
            // The span writer's last batch lands before the next turn
            // (and its CPU counts for this turn's calls): the writer
            // lets spans gather for 50 ms, then stores them.
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            cpu_secs[i] += crate::cpu_secs() - cpu;
        }
    }
    for (server, _) in setups {
        server.stop().await;
    }
    let measured_secs = window.as_secs_f64() * f64::from(ROUNDS);
    let mut runs = samples
        .into_iter()
        .zip(cpu_secs.into_iter().zip(calls))
        .map(|(samples, (cpu, calls))| Run {
            latency: percentiles(samples),
            rate: calls / measured_secs,
            cpu_per_call: std::time::Duration::from_secs_f64(cpu / calls.max(1.0)),
        });
    let (off, default, on) = (runs.next(), runs.next(), runs.next());
    Ok(Tracing {
        off: off.expect("three runs"),
        default: default.expect("three runs"),
        on: on.expect("three runs"),
    })
}

/// A c=32 rate and the CPU each call took (client and server share the
/// machine's cores, so the CPU is what the rate trades against).
fn per_second(run: &Run) -> String {
    format!("{:.0}/s ({} of CPU a call)", run.rate, us(run.cpu_per_call))
}

pub(crate) fn rows(t: &Tracing) -> Vec<Row> {
    let p50 = |r: &Run| r.latency.p50.as_secs_f64();
    vec![
        Row {
            name: "warm invoke p50, c=1, tracing on (sampled 100%)",
            value: us(t.on.latency.p50),
            baseline_name: "tracing off (sample_rate 0)",
            baseline: us(t.off.latency.p50),
            ratio: p50(&t.on) / p50(&t.off),
            target: "≤ 1.10×",
        },
        Row {
            name: "warm invoke p50, c=1, default sampling (1/s, then 5%)",
            value: us(t.default.latency.p50),
            baseline_name: "tracing off (sample_rate 0)",
            baseline: us(t.off.latency.p50),
            ratio: p50(&t.default) / p50(&t.off),
            target: "within noise",
        },
        Row {
            name: "warm throughput, c=32, tracing on (sampled 100%)",
            value: per_second(&t.on),
            baseline_name: "tracing off (sample_rate 0)",
            baseline: per_second(&t.off),
            ratio: t.on.rate / t.off.rate,
            target: "≥ 0.9×",
        },
        Row {
            name: "warm throughput, c=32, default sampling (1/s, then 5%)",
            value: per_second(&t.default),
            baseline_name: "tracing off (sample_rate 0)",
            baseline: per_second(&t.off),
            ratio: t.default.rate / t.off.rate,
            target: "within noise",
        },
    ]
}
