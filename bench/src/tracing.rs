//! Tracing's cost on the invoke path: the same warm invokes on a server
//! with tracing off (`tracing.sample_rate = 0`), at the default sampling
//! (1 a second, then 5%), and recording every call (rate 1: the
//! `grpc Invoke`, `funnel.invoke`, `Invocation` and `Overhead` spans of
//! each, stored and pruned as in production).

use super::{
    CONNECTIONS, LATENCY_CALLS, Latency, Row, guests, invoke, latency, member_clients, throughput,
    us,
};
use funnel_tests::{start_server_with, test_config};

pub(crate) struct Tracing {
    pub off: Run,
    pub default: Run,
    pub on: Run,
}

#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub latency: Latency,
    pub rate: f64,
}

pub(crate) async fn run(sample_rate: Option<f64>) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path());
    config.runtime.max_instances = 64;
    if let Some(rate) = sample_rate {
        config.tracing.sample_rate = rate;
    }
    let server = start_server_with(config).await;
    server.create("echo", guests::ECHO).await;
    let clients = member_clients(&server).await?;
    let latency = latency(LATENCY_CALLS, || invoke(&clients[0])).await;
    let rate = throughput(move |w| {
        let c = clients[w % CONNECTIONS].clone();
        async move { invoke(&c).await }
    })
    .await;
    server.stop().await;
    Ok(Run { latency, rate })
}

pub(crate) async fn measure() -> anyhow::Result<Tracing> {
    Ok(Tracing {
        off: run(Some(0.0)).await?,
        default: run(None).await?,
        on: run(Some(1.0)).await?,
    })
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
            value: format!("{:.0}/s", t.on.rate),
            baseline_name: "tracing off (sample_rate 0)",
            baseline: format!("{:.0}/s", t.off.rate),
            ratio: t.on.rate / t.off.rate,
            target: "≥ 0.9×",
        },
    ]
}
