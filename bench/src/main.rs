//! funnel's benchmark: `cargo run --release -p funnel-bench`.
//!
//! Every row is measured in this run next to its baseline:
//!
//! - warm `Invoke` of `echo` over gRPC, c=1 — against an empty tonic unary
//!   RPC (a health check) served by the bench itself on this box;
//! - warm throughput at c=32 — against the empty RPC's;
//! - a warm call through our runtime in-process — against bare wasmtime
//!   (fresh store + instantiate from `InstancePre` + call, the floor);
//! - a cold start (a new environment per call, in-process) — against a warm
//!   call;
//! - resident memory per idle environment with 1,000 alive;
//! - 10,000 idle environments of `hello`: resident memory beyond their
//!   guests' memory, and the time to start them;
//! - how far past its deadline a spinning guest is stopped;
//! - durable async accepts at c=32 against sled's own insert+flush rate;
//! - async dispatch (queue → `echo` → done) against sync warm throughput;
//! - resident memory with 1,000,000 events queued;
//! - a bucket: a file's close to the function starting, against an async
//!   Invoke's send to the function starting;
//! - durable publishes to a topic with 10 matching subscribers, against the
//!   async accept rate; their deliveries, against the async dispatch rate;
//! - function URL requests (a JSON handler, a `wasi:http` component) at c=1
//!   and c=32, against an empty hyper server; with `--wasmtime-serve`, the
//!   component against `wasmtime serve` of it.
//! - `Invoke` through the AWS-compatible endpoint (SigV4-signed by the
//!   `aws-sigv4` crate, HTTP/1.1) at c=32 and c=1, against gRPC `Invoke`
//!   (`--aws-only` for these alone);
//! - the image pipeline: thumbnails per second from 2 MP JPEGs dropped into
//!   a bucket at c=2, and upload → three thumbnails p50/p99, against the
//!   same resize code run natively here (`--pipeline-only` for these alone).

mod aws;
mod buckets;
mod cpu;
mod http;
mod idle;
mod languages;
mod pipeline;
mod queue;
mod schedules;
mod topics;
mod tracing;

pub(crate) use cpu::cpu_secs;
use funnel_tests::guests;
use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant};

use funnel_client::{Client, proto};
use funnel_runtime::{Call, EnvironmentConfig, Runtime};
use funnel_server::Clock;
use funnel_tests::{guest, test_config};

const LATENCY_CALLS: usize = 5_000;
pub(crate) const THROUGHPUT_SECS: u64 = 3;
pub(crate) const CONCURRENCY: usize = 32;
pub(crate) const CONNECTIONS: usize = 4;
const IDLE_ENVIRONMENTS: usize = 1_000;
const PAYLOAD: &[u8] = br#"{"n":1}"#;

#[derive(Clone, Copy)]
struct Latency {
    p50: Duration,
    p99: Duration,
}

pub(crate) fn percentiles(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    Latency {
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

async fn latency<F, Fut>(calls: usize, mut call: F) -> Latency
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..calls / 10 {
        call().await;
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    percentiles(samples)
}

/// Calls per second with CONCURRENCY calls in flight.
async fn throughput<F, Fut>(call: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    throughput_for(Duration::from_secs(THROUGHPUT_SECS), call).await
}

/// [`throughput`], and the process's CPU time per call over it (client
/// and server share the machine's cores: the CPU is what a rate trades
/// against), in all and by thread.
pub(crate) async fn throughput_and_cpu<F, Fut>(call: F) -> (f64, Duration, cpu::ByThread)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let cpu = cpu_secs();
    let threads = cpu::ByThread::now();
    let rate = throughput(call).await;
    let calls = rate * THROUGHPUT_SECS as f64;
    let per_call = (cpu_secs() - cpu) / calls;
    (
        rate,
        Duration::from_secs_f64(per_call.max(0.0)),
        cpu::ByThread::now().per_call_since(&threads, calls),
    )
}

/// Calls per second with CONCURRENCY calls in flight, for `window`.
pub(crate) async fn throughput_for<F, Fut>(window: Duration, call: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let deadline = Instant::now() + window;
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

pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn echo_config(name: &str) -> std::sync::Arc<EnvironmentConfig> {
    environment_config(name, "bench-echo", 128)
}

/// CONNECTIONS connections to `server` as a member whose policy is
/// evaluated on every call, as a team's would be.
pub(crate) async fn member_clients(
    server: &funnel_tests::TestServer,
) -> anyhow::Result<Vec<Client>> {
    let member = server.member("bench", "FunnelFullAccess").await;
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        clients.push(Client::connect_with(&server.endpoint, Some(member.clone())).await?);
    }
    Ok(clients)
}

/// A server with `config` (its data dir is the caller's) as `funnel up`
/// runs one: on the system clock. The tests' manual clock takes a lock at
/// every reading, which no server in production pays.
pub(crate) async fn start_server(config: funnel_server::Config) -> funnel_tests::TestServer {
    funnel_tests::start_server_on(config, Clock::system()).await
}

/// A runtime of the bench's own in `dir` (no server around it), on the
/// system clock; guests' background output is dropped.
pub(crate) fn bench_runtime(
    config: &funnel_runtime::RuntimeConfig,
    dir: &std::path::Path,
) -> anyhow::Result<Runtime> {
    Runtime::new(
        config,
        dir,
        Clock::system(),
        std::sync::Arc::new(|_: &str, _: &str, _: &[u8]| {}),
        // A throwaway install: any key authenticates its compiled code.
        funnel_runtime::CodeKey::new([0; 32]),
    )
}

/// An environment of `function` running the code prepared as `code`.
pub(crate) fn environment_config(
    function: &str,
    code: &str,
    memory_mb: u32,
) -> std::sync::Arc<EnvironmentConfig> {
    std::sync::Arc::new(EnvironmentConfig {
        function_name: function.into(),
        function_version: "$LATEST".into(),
        code_sha256: code.into(),
        memory_mb,
        timeout: Duration::from_secs(3),
        ephemeral_storage_mb: 512,
        environment: Vec::new(),
        opt_dir: None,
        buckets: Vec::new(),
        topics: Vec::new(),
        secret_access: Vec::new(),
    })
}

fn call() -> Call {
    call_with(PAYLOAD)
}

/// One invocation with `payload`.
pub(crate) fn call_with(payload: &[u8]) -> Call {
    Call {
        request_id: "bench".into(),
        invoked_function_arn: "arn".into(),
        payload: payload.to_vec(),
        client_context: None,
        trace_id: None,
        chain_depth: 0,
    }
}

/// Serves an empty unary RPC (gRPC health) from the bench itself.
async fn empty_rpc_server() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let (_reporter, service) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            // The same transport settings as funnel's server (no Nagle).
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            ),
    );
    Ok(endpoint)
}

type Health = tonic_health::pb::health_client::HealthClient<tonic::transport::Channel>;

async fn check(health: &Health) {
    health
        .clone()
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health check");
}

/// An authenticated call that reads one record (`GetFunctionConcurrency`):
/// what every Invoke does before it runs anything.
async fn authenticated_read(client: &Client) {
    client
        .get_function_concurrency("echo")
        .await
        .expect("GetFunctionConcurrency");
}

async fn invoke(client: &Client) {
    let out = client
        .invoke(proto::InvokeRequest {
            function_name: "echo".into(),
            payload: PAYLOAD.to_vec(),
            ..Default::default()
        })
        .await
        .expect("invoke");
    assert_eq!(out.function_error, "");
}

struct Row {
    name: &'static str,
    value: String,
    baseline_name: &'static str,
    baseline: String,
    ratio: f64,
    target: &'static str,
}

/// The allocator the `funnel` binary uses (see its `main.rs`), so the
/// rows are what the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows 3 to 5, in-process: our runtime's warm call against bare
/// wasmtime, and 1,000 cold starts that stay alive and idle.
struct InProcess {
    warm: Latency,
    bare: Latency,
    cold: Latency,
    per_env_kib: f64,
    guest_memory: u64,
    /// Process RSS before the cold starts and with their environments.
    rss: (u64, u64),
}

async fn in_process(dir: &std::path::Path, echo: &[u8]) -> anyhow::Result<InProcess> {
    // 3. In-process: our runtime's warm call vs bare wasmtime.
    let runtime_config = funnel_runtime::RuntimeConfig {
        max_instances: (IDLE_ENVIRONMENTS + 16) as u32,
        max_memory_mb: 1024,
        // 1,000 idle environments of 128 MB each are 125 GB of MemorySize:
        // the host budget (75% of RAM by default) would retire most of
        // them. What is measured here is what an idle one really costs.
        memory_budget_mb: Some(u64::from(u32::MAX)),
        ..Default::default()
    };
    let runtime = bench_runtime(&runtime_config, &dir.join("bench-runtime"))?;
    let prepared = runtime
        .prepare("bench-echo", || Ok(Cow::Borrowed(echo)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // One config for every warm call, as the server keeps one per record.
    let warm = echo_config("warm");
    let warm_lat = latency(LATENCY_CALLS, || {
        let (runtime, prepared, warm) = (runtime.clone(), prepared.clone(), warm.clone());
        async move {
            let outcome = runtime
                .invoke(&prepared, warm, call())
                .await
                .expect("invoke");
            assert!(outcome.result.is_ok());
        }
    })
    .await;
    assert_eq!(
        runtime.idle_environments(),
        1,
        "every warm call reused one environment"
    );
    let bare = funnel_runtime::floor::Bare::new(echo)?;
    let bare_lat = latency(LATENCY_CALLS, || bare.call(PAYLOAD)).await;

    // 4 and 5. Cold starts: each call names a new function, so each starts a
    // new environment, and all of them stay alive and idle.
    let rss_before = rss_kib();
    let mut cold = Vec::with_capacity(IDLE_ENVIRONMENTS);
    let mut guest_memory = 0;
    for i in 0..IDLE_ENVIRONMENTS {
        let started = Instant::now();
        let outcome = runtime
            .invoke(&prepared, echo_config(&format!("cold-{i}")), call())
            .await
            .expect("invoke");
        cold.push(started.elapsed());
        assert!(outcome.init_duration.is_some(), "a cold start");
        guest_memory = outcome.max_memory_used;
    }
    let rss_after = rss_kib();
    assert!(runtime.idle_environments() > IDLE_ENVIRONMENTS);
    let cold_lat = percentiles(cold);
    let per_env_kib = (rss_after.saturating_sub(rss_before)) as f64 / IDLE_ENVIRONMENTS as f64;
    runtime.retire_all().await;

    Ok(InProcess {
        warm: warm_lat,
        bare: bare_lat,
        cold: cold_lat,
        per_env_kib,
        guest_memory,
        rss: (rss_before, rss_after),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--topics-only") {
        let t = topics::measure().await?;
        println!(
            "publishes {:.0}/s ({} in {THROUGHPUT_SECS} s, {} subscribers each, {:.1} per flush of {:.2} ms); deliveries {:.0}/s",
            t.publish_rate,
            t.published,
            topics::SUBSCRIBERS,
            t.per_flush,
            t.flush_ms,
            t.delivery_rate
        );
        return Ok(());
    }
    if std::env::args().any(|a| a == "--buckets-only") {
        let b = buckets::measure().await?;
        println!(
            "file close → function start p50 {} p99 {}; async Invoke → start p50 {} p99 {}",
            us(b.file_to_start.p50),
            us(b.file_to_start.p99),
            us(b.invoke_to_start.p50),
            us(b.invoke_to_start.p99)
        );
        return Ok(());
    }
    if std::env::args().any(|a| a == "--languages-only") {
        let dir = tempfile::tempdir()?;
        let rows = languages::measure(dir.path()).await?;
        for row in language_rows(&rows) {
            println!(
                "{}: {} (baseline {} {}, {:.3}×, target {})",
                row.name, row.value, row.baseline_name, row.baseline, row.ratio, row.target
            );
        }
        for (name, skipped) in language_skips(&rows) {
            println!("{name}: not measured: {skipped}");
        }
        println!("{}", compile_note(&rows));
        return Ok(());
    }
    if std::env::args().any(|a| a == "--http-only") {
        let http = http::measure().await?;
        for row in http_rows(&http) {
            println!(
                "{}: {} (baseline {} {}, {:.3}×, target {})",
                row.name, row.value, row.baseline_name, row.baseline, row.ratio, row.target
            );
        }
        if let Err(why) = &http.wasmtime_serve {
            println!("wasmtime serve: not measured: {why}");
        }
        println!(
            "throttled (429) at c={CONCURRENCY}: JSON handler {}, wasi:http {}",
            http.json.throttled, http.component.throttled
        );
        return Ok(());
    }
    if std::env::args().any(|a| a == "--aws-only") {
        let a = aws::measure().await?;
        for row in aws::rows(&a) {
            println!(
                "{}: {} (baseline {} {}, {:.3}×, target {})",
                row.name, row.value, row.baseline_name, row.baseline, row.ratio, row.target
            );
        }
        return Ok(());
    }
    if std::env::args().any(|a| a == "--pipeline-only") {
        let p = pipeline::measure().await?;
        println!(
            "images: {} distinct {:.1} MP JPEGs of ~{} KiB",
            pipeline::IMAGES,
            p.megapixels,
            p.jpeg_kib
        );
        for row in pipeline::rows(&p) {
            println!(
                "{}: {} (baseline {} {}, {:.3}×, target {})",
                row.name, row.value, row.baseline_name, row.baseline, row.ratio, row.target
            );
        }
        return Ok(());
    }
    if std::env::args().any(|a| a == "--schedules-only") {
        let s = schedules::measure().await?;
        println!(
            "rule fire → handler start over {} fires: p50 {} p99 {}",
            s.fires,
            us(s.jitter.p50),
            us(s.jitter.p99)
        );
        return Ok(());
    }
    if std::env::args().any(|a| a == "--idle-child") {
        let dir = tempfile::tempdir()?;
        idle::print_for_parent(&idle::measure(dir.path()).await?);
        return Ok(());
    }
    if std::env::args().any(|a| a == "--idle-only") {
        let idle = idle::measure_apart()?;
        println!(
            "{} idle environments of hello: started in {:.2} s; RSS +{} MiB with their guest pages (their linear memory: {} MiB)",
            idle::ENVIRONMENTS,
            idle.started_in.as_secs_f64(),
            idle.rss_kib / 1024,
            idle.guest_kib / 1024
        );
        return Ok(());
    }
    if let Some(rate) = std::env::args().find_map(|a| {
        a.strip_prefix("--profile-tracing=")
            .and_then(|r| r.parse::<f64>().ok())
    }) {
        // One sample rate's warm invokes (c=1, then c=32), for a profiler.
        let tracing::RunAlone { run, by_thread } = tracing::run(Some(rate)).await?;
        println!(
            "sample rate {rate}: c=1 p50 {}; c={CONCURRENCY} {:.0}/s, {} of CPU a call (µs by thread: {by_thread})",
            us(run.latency.p50),
            run.rate,
            us(run.cpu_per_call),
        );
        return Ok(());
    }
    if std::env::args().any(|a| a == "--tracing-only") {
        for row in tracing::rows(&tracing::measure().await?) {
            println!(
                "{}: {} (baseline {} {}, {:.3}×, target {})",
                row.name, row.value, row.baseline_name, row.baseline, row.ratio, row.target
            );
        }
        return Ok(());
    }
    if std::env::args().any(|a| a == "--queue-only") {
        let queue = queue::measure().await?;
        println!(
            "accepts {:.0}/s ({:.0}/s with store.durability = power; sled serial {:.0}/s, 32 writers {:.0}/s; {:.0} events per flush); \
             dispatch {:.0}/s; RSS +{} MiB with {} queued",
            queue.accept_rate,
            queue.power_accept_rate,
            queue.sled_serial_rate,
            queue.sled_concurrent_rate,
            queue.accepted as f64 / queue.flushes.max(1) as f64,
            queue.dispatch_rate,
            queue.queued_rss_kib / 1024,
            queue::QUEUED_EVENTS
        );
        return Ok(());
    }
    let started = Instant::now();
    let echo = guest(guests::ECHO);
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path());
    config.runtime.max_instances = 64;
    let server = crate::start_server(config).await;
    server.create("echo", guests::ECHO).await;
    let empty = empty_rpc_server().await?;

    let clients = member_clients(&server).await?;
    let mut health = Vec::new();
    for _ in 0..CONNECTIONS {
        let channel = tonic::transport::Endpoint::from_shared(empty.clone())?
            .connect()
            .await?;
        health.push(Health::new(channel));
    }

    if std::env::args().any(|a| a == "--profile-invoke") {
        // Only warm invokes (c=1, then c=32), for a profiler to attach to;
        // with --c1, c=1 for as long as c=32 would take too.
        let calls = if std::env::args().any(|a| a == "--c1") {
            LATENCY_CALLS * 5
        } else {
            LATENCY_CALLS
        };
        // With --c32, no c=1 phase: a profile of the c=32 calls alone.
        let calls = if std::env::args().any(|a| a == "--c32") {
            10
        } else {
            calls
        };
        let lat = latency(calls, || invoke(&clients[0])).await;
        let (rate, cpu, threads) = throughput_and_cpu(move |w| {
            let c = clients[w % CONNECTIONS].clone();
            async move { invoke(&c).await }
        })
        .await;
        println!(
            "warm invokes: c=1 p50 {} p99 {}; c={CONCURRENCY} {rate:.0}/s, {} of CPU a call (µs by thread: {threads})",
            us(lat.p50),
            us(lat.p99),
            us(cpu)
        );
        return Ok(());
    }
    if std::env::args().any(|a| a == "--profile-authenticated") {
        // Only authenticated one-record calls at c=32: what Invoke adds
        // beyond them is Invoke's own. With --c1, c=1 calls first.
        if std::env::args().any(|a| a == "--c1") {
            let lat = latency(LATENCY_CALLS * 5, || authenticated_read(&clients[0])).await;
            println!("GetFunctionConcurrency c=1 p50 {}", us(lat.p50));
        }
        let (rate, cpu, threads) = throughput_and_cpu(move |w| {
            let c = clients[w % CONNECTIONS].clone();
            async move { authenticated_read(&c).await }
        })
        .await;
        println!(
            "GetFunctionConcurrency at c={CONCURRENCY}: {rate:.0}/s, {} of CPU a call (µs by thread: {threads})",
            us(cpu)
        );
        return Ok(());
    }
    if std::env::args().any(|a| a == "--profile-empty") {
        // Only the empty RPC at c=32: the profile to hold the invoke's
        // against. With --c1, c=1 calls first.
        if std::env::args().any(|a| a == "--c1") {
            let lat = latency(LATENCY_CALLS * 5, || check(&health[0])).await;
            println!("empty RPC c=1 p50 {}", us(lat.p50));
        }
        let (rate, cpu, threads) = throughput_and_cpu(move |w| {
            let h = health[w % CONNECTIONS].clone();
            async move { check(&h).await }
        })
        .await;
        println!(
            "empty RPCs at c={CONCURRENCY}: {rate:.0}/s, {} of CPU a call (µs by thread: {threads})",
            us(cpu)
        );
        return Ok(());
    }

    // 1. Warm invoke vs the empty RPC, c=1.
    let empty_lat = latency(LATENCY_CALLS, || check(&health[0])).await;
    let invoke_lat = latency(LATENCY_CALLS, || invoke(&clients[0])).await;
    // 2. Throughput at c=32.
    let empty_tp = {
        let health = health.clone();
        throughput(move |w| {
            let h = health[w % CONNECTIONS].clone();
            async move { check(&h).await }
        })
        .await
    };
    let invoke_tp = {
        let clients = clients.clone();
        throughput(move |w| {
            let c = clients[w % CONNECTIONS].clone();
            async move { invoke(&c).await }
        })
        .await
    };

    if std::env::args().any(|a| a == "--invoke-only") {
        // Where a c=1 invoke's time goes, layer by layer: funnel's own
        // transport (its health check: no authentication), then an
        // authenticated call that reads one record, then Invoke.
        let own_health = Health::new(
            tonic::transport::Endpoint::from_shared(server.endpoint.clone())?
                .connect()
                .await?,
        );
        let transport_lat = latency(LATENCY_CALLS, || check(&own_health)).await;
        let authenticated_lat = latency(LATENCY_CALLS, || authenticated_read(&clients[0])).await;
        println!(
            "c=1 p50 by layer: empty RPC {}; funnel's transport (health check) {}; + authentication, IAM and a registry read (GetFunctionConcurrency) {}; Invoke {}",
            us(empty_lat.p50),
            us(transport_lat.p50),
            us(authenticated_lat.p50),
            us(invoke_lat.p50)
        );
        // The same layers at c=32: where the throughput goes.
        let mut own_healths = Vec::new();
        for _ in 0..CONNECTIONS {
            own_healths.push(Health::new(
                tonic::transport::Endpoint::from_shared(server.endpoint.clone())?
                    .connect()
                    .await?,
            ));
        }
        let transport_tp = throughput(move |w| {
            let h = own_healths[w % CONNECTIONS].clone();
            async move { check(&h).await }
        })
        .await;
        let authenticated_tp = {
            let clients = clients.clone();
            throughput(move |w| {
                let c = clients[w % CONNECTIONS].clone();
                async move { authenticated_read(&c).await }
            })
            .await
        };
        println!(
            "c={CONCURRENCY} by layer: empty RPC {empty_tp:.0}/s; funnel's transport {transport_tp:.0}/s ({:.2}×); + authentication, IAM and a registry read {authenticated_tp:.0}/s ({:.2}×); Invoke {invoke_tp:.0}/s ({:.2}×)",
            transport_tp / empty_tp,
            authenticated_tp / empty_tp,
            invoke_tp / empty_tp
        );
        let inproc = in_process(dir.path(), &echo).await?;
        println!(
            "in-process: warm call p50 {}; cold start (new environment + call) p50 {} p99 {}",
            us(inproc.warm.p50),
            us(inproc.cold.p50),
            us(inproc.cold.p99)
        );
        println!(
            "warm invoke p50 {} vs empty RPC {} ({:.2}×); p99 {} vs {}; c=32 {:.0}/s vs empty RPC {:.0}/s ({:.2}×)",
            us(invoke_lat.p50),
            us(empty_lat.p50),
            invoke_lat.p50.as_secs_f64() / empty_lat.p50.as_secs_f64(),
            us(invoke_lat.p99),
            us(empty_lat.p99),
            invoke_tp,
            empty_tp,
            invoke_tp / empty_tp
        );
        return Ok(());
    }

    let inproc = in_process(dir.path(), &echo).await?;

    // 6. Timeout precision: spin with a 1 s timeout.
    let mut spin = funnel_tests::create_request("spin", guest(guests::SPIN));
    spin.timeout = Some(1);
    server.client.create_function(spin).await?;
    let mut overshoot = Vec::new();
    for _ in 0..5 {
        let out = server.invoke("spin", "{}").await;
        let report = funnel_tests::report_of(&funnel_tests::log_of(&out));
        overshoot.push(Duration::from_secs_f64(
            (report.duration_ms - 1000.0).max(0.0) / 1e3,
        ));
    }
    let overshoot = percentiles(overshoot);
    server.stop().await;
    let queue = queue::measure().await?;
    let bucket = buckets::measure().await?;
    let topic = topics::measure().await?;
    let schedule = schedules::measure().await?;
    let langs = languages::measure(dir.path()).await?;
    let http = http::measure().await?;
    let images = pipeline::measure().await?;
    let traced = tracing::measure().await?;
    let aws_rows = aws::measure().await?;
    let idle = idle::measure_apart()?;

    let mut rows = vec![
        Row {
            name: "warm invoke p50, gRPC, c=1",
            value: us(invoke_lat.p50),
            baseline_name: "empty RPC p50",
            baseline: us(empty_lat.p50),
            ratio: invoke_lat.p50.as_secs_f64() / empty_lat.p50.as_secs_f64(),
            target: "≤ 1.25×",
        },
        Row {
            name: "warm invoke p99, gRPC, c=1",
            value: us(invoke_lat.p99),
            baseline_name: "empty RPC p99",
            baseline: us(empty_lat.p99),
            ratio: invoke_lat.p99.as_secs_f64() / empty_lat.p99.as_secs_f64(),
            target: "",
        },
        Row {
            name: "warm throughput, c=32",
            value: format!("{invoke_tp:.0}/s"),
            baseline_name: "empty RPC",
            baseline: format!("{empty_tp:.0}/s"),
            ratio: invoke_tp / empty_tp,
            target: "≥ 0.8×",
        },
        Row {
            name: "in-process warm call p50 (our runtime)",
            value: us(inproc.warm.p50),
            baseline_name: "bare wasmtime instantiate+call p50",
            baseline: us(inproc.bare.p50),
            ratio: inproc.warm.p50.as_secs_f64() / inproc.bare.p50.as_secs_f64(),
            target: "",
        },
        Row {
            name: "cold start p50 (new environment + call)",
            value: us(inproc.cold.p50),
            baseline_name: "warm call p50",
            baseline: us(inproc.warm.p50),
            ratio: inproc.cold.p50.as_secs_f64() / inproc.warm.p50.as_secs_f64(),
            target: "≤ 100 µs",
        },
        Row {
            name: "cold start p99",
            value: us(inproc.cold.p99),
            baseline_name: "warm call p99",
            baseline: us(inproc.warm.p99),
            ratio: inproc.cold.p99.as_secs_f64() / inproc.warm.p99.as_secs_f64(),
            target: "",
        },
        Row {
            name: "RSS per idle environment (1,000 alive)",
            value: format!("{:.0} KiB", inproc.per_env_kib),
            baseline_name: "guest linear memory (reserved)",
            baseline: format!("{} KiB", inproc.guest_memory / 1024),
            ratio: inproc.per_env_kib / (inproc.guest_memory as f64 / 1024.0).max(1.0),
            target: "≤ 400 KiB beyond guest memory",
        },
        Row {
            name: "RSS of 10,000 idle hello environments, guest pages included",
            value: format!("{:.2} GiB", idle.rss_kib as f64 / (1 << 20) as f64),
            baseline_name: "their guests' linear memory (size)",
            baseline: format!("{:.2} GiB", idle.guest_kib as f64 / (1 << 20) as f64),
            ratio: idle.rss_kib as f64 / (idle.guest_kib as f64).max(1.0),
            target: "≤ 4 GiB beyond guest memory (aim ≤ 1 GiB)",
        },
        Row {
            name: "time to start 10,000 hello environments",
            value: format!("{:.2} s", idle.started_in.as_secs_f64()),
            baseline_name: "10,000 × cold start p50 (echo)",
            baseline: format!(
                "{:.2} s",
                inproc.cold.p50.as_secs_f64() * idle::ENVIRONMENTS as f64
            ),
            ratio: idle.started_in.as_secs_f64()
                / (inproc.cold.p50.as_secs_f64() * idle::ENVIRONMENTS as f64),
            target: "",
        },
        Row {
            name: "durable async accepts, c=32",
            value: format!("{:.0}/s", queue.accept_rate),
            baseline_name: "sled insert+flush, one writer",
            baseline: format!("{:.0}/s", queue.sled_serial_rate),
            ratio: queue.accept_rate / queue.sled_serial_rate,
            target: "≥ 20000/s",
        },
        Row {
            name: "durable async accepts, c=32",
            value: format!("{:.0}/s", queue.accept_rate),
            baseline_name: "sled insert+flush, 32 writers",
            baseline: format!("{:.0}/s", queue.sled_concurrent_rate),
            ratio: queue.accept_rate / queue.sled_concurrent_rate,
            target: "≥ 1×",
        },
        Row {
            name: "durable async accepts, c=32, store.durability = power",
            value: format!("{:.0}/s", queue.power_accept_rate),
            baseline_name: "the same, store.durability = process",
            baseline: format!("{:.0}/s", queue.accept_rate),
            ratio: queue.power_accept_rate / queue.accept_rate,
            target: "",
        },
        Row {
            name: "async dispatch (queued → echo done)",
            value: format!("{:.0}/s", queue.dispatch_rate),
            baseline_name: "sync warm throughput, c=32",
            baseline: format!("{invoke_tp:.0}/s"),
            ratio: queue.dispatch_rate / invoke_tp,
            target: "≥ 10000/s",
        },
        Row {
            name: "RSS growth with 1,000,000 events queued",
            value: format!("{:.0} MiB", queue.queued_rss_kib as f64 / 1024.0),
            baseline_name: "process RSS then",
            baseline: format!("{:.0} MiB", queue.queued_rss_total_kib as f64 / 1024.0),
            ratio: queue.queued_rss_kib as f64 / queue.queued_rss_total_kib.max(1) as f64,
            target: "< 200 MB",
        },
        Row {
            name: "topic publishes, c=32, 10 matching subscribers",
            value: format!("{:.0}/s", topic.publish_rate),
            baseline_name: "durable async accepts, c=32",
            baseline: format!("{:.0}/s", queue.accept_rate),
            ratio: topic.publish_rate / queue.accept_rate,
            target: "≥ 5000/s",
        },
        Row {
            name: "topic deliveries (queued → echo done)",
            value: format!("{:.0}/s", topic.delivery_rate),
            baseline_name: "async dispatch",
            baseline: format!("{:.0}/s", queue.dispatch_rate),
            ratio: topic.delivery_rate / queue.dispatch_rate,
            target: "",
        },
        Row {
            name: "bucket: file closed → function started, p50",
            value: us(bucket.file_to_start.p50),
            baseline_name: "async Invoke sent → function started, p50",
            baseline: us(bucket.invoke_to_start.p50),
            ratio: bucket.file_to_start.p50.as_secs_f64()
                / bucket.invoke_to_start.p50.as_secs_f64(),
            target: "≤ 20 ms",
        },
        Row {
            name: "bucket: file closed → function started, p99",
            value: us(bucket.file_to_start.p99),
            baseline_name: "async Invoke sent → function started, p99",
            baseline: us(bucket.invoke_to_start.p99),
            ratio: bucket.file_to_start.p99.as_secs_f64()
                / bucket.invoke_to_start.p99.as_secs_f64(),
            target: "",
        },
        Row {
            name: "schedule fire jitter p50 (due → handler start)",
            value: us(schedule.jitter.p50),
            baseline_name: "async Invoke sent → function started, p50",
            baseline: us(bucket.invoke_to_start.p50),
            ratio: schedule.jitter.p50.as_secs_f64() / bucket.invoke_to_start.p50.as_secs_f64(),
            target: "",
        },
        Row {
            name: "schedule fire jitter p99 (due → handler start)",
            value: us(schedule.jitter.p99),
            baseline_name: "async Invoke sent → function started, p99",
            baseline: us(bucket.invoke_to_start.p99),
            ratio: schedule.jitter.p99.as_secs_f64() / bucket.invoke_to_start.p99.as_secs_f64(),
            target: "≤ 5 ms",
        },
        Row {
            name: "timeout overshoot p50 (spin, 1 s)",
            value: us(overshoot.p50),
            baseline_name: "timeout",
            baseline: "1 s".into(),
            ratio: overshoot.p50.as_secs_f64(),
            target: "≤ 50 ms",
        },
    ];
    println!(
        "funnel bench — {LATENCY_CALLS} calls per latency row; {THROUGHPUT_SECS} s at c={CONCURRENCY} over {CONNECTIONS} connections"
    );
    println!();
    println!("| measurement | value | baseline | baseline value | ratio | target |");
    println!("|---|---|---|---|---|---|");
    rows.extend(language_rows(&langs));
    rows.extend(http_rows(&http));
    rows.extend(pipeline::rows(&images));
    rows.extend(aws::rows(&aws_rows));
    rows.extend(tracing::rows(&traced));
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {:.2}× | {} |",
            row.name, row.value, row.baseline_name, row.baseline, row.ratio, row.target
        );
    }
    println!();
    println!(
        "RSS: {} KiB before the cold starts, {} KiB with {IDLE_ENVIRONMENTS} idle environments; bench ran {:.0} s",
        inproc.rss.0,
        inproc.rss.1,
        started.elapsed().as_secs_f64()
    );
    println!(
        "async: {} events accepted in {THROUGHPUT_SECS} s with {} flushes ({:.0} events per flush)",
        queue.accepted,
        queue.flushes,
        queue.accepted as f64 / queue.flushes.max(1) as f64
    );
    println!(
        "topics: {} publishes in {THROUGHPUT_SECS} s, {:.1} per flush of {:.2} ms",
        topic.published, topic.per_flush, topic.flush_ms
    );
    for (name, skipped) in language_skips(&langs) {
        println!("{name}: not measured: {skipped}");
    }
    if let Err(why) = &http.wasmtime_serve {
        println!("wasmtime serve: not measured: {why}");
    }
    println!("{}", compile_note(&langs));
    println!(
        "schedules: {} fires of cron(* * * * ? *) on a clock {}× real time (a minute every {} ms)",
        schedule.fires,
        schedules::FACTOR,
        60_000 / schedules::FACTOR
    );
    Ok(())
}

/// The HTTP door's rows: each kind of handler against the empty hyper
/// server, and the component against `wasmtime serve` when measured.
fn http_rows(http: &http::Http) -> Vec<Row> {
    let empty = &http.empty;
    let mut rows = Vec::new();
    for (name_rate, name_p50, measured) in [
        (
            "function URL req/s, JSON handler (http-answer), c=32",
            "function URL p50, JSON handler (http-answer), c=1",
            &http.json,
        ),
        (
            "function URL req/s, wasi:http (http-hello), c=32",
            "function URL p50, wasi:http (http-hello), c=1",
            &http.component,
        ),
    ] {
        rows.push(Row {
            name: name_rate,
            value: format!("{:.0}/s", measured.rate),
            baseline_name: "empty hyper server, c=32",
            baseline: format!("{:.0}/s", empty.rate),
            ratio: measured.rate / empty.rate,
            target: "≥ 0.6×",
        });
        rows.push(Row {
            name: name_p50,
            value: us(measured.latency.p50),
            baseline_name: "empty hyper server p50",
            baseline: us(empty.latency.p50),
            ratio: measured.latency.p50.as_secs_f64() / empty.latency.p50.as_secs_f64(),
            target: "≤ 1.5×",
        });
    }
    if let Ok(serve) = &http.wasmtime_serve {
        rows.push(Row {
            name: "function URL req/s, wasi:http (http-hello), c=32",
            value: format!("{:.0}/s", http.component.rate),
            baseline_name: "wasmtime serve (an instance per request), c=32",
            baseline: format!("{:.0}/s", serve.rate),
            ratio: http.component.rate / serve.rate,
            target: "≥ 3×",
        });
        rows.push(Row {
            name: "function URL p50, wasi:http (http-hello), c=1",
            value: us(http.component.latency.p50),
            baseline_name: "wasmtime serve p50",
            baseline: us(serve.latency.p50),
            ratio: http.component.latency.p50.as_secs_f64() / serve.latency.p50.as_secs_f64(),
            target: "",
        });
    }
    rows
}

/// Lambda's Init Duration for its Python and Node.js runtimes (lambda-perf).
const LAMBDA_INIT_PYTHON: Duration = Duration::from_millis(106);
const LAMBDA_INIT_NODEJS: Duration = Duration::from_millis(208);

fn language_rows(rows: &languages::LanguageRows) -> Vec<Row> {
    let rust = &rows.rust;
    let mut out = vec![Row {
        name: "cold start p50, Rust hello (new environment + call)",
        value: us(rust.cold.p50),
        baseline_name: "warm call p50, Rust hello",
        baseline: us(rust.warm.p50),
        ratio: rust.cold.p50.as_secs_f64() / rust.warm.p50.as_secs_f64(),
        target: "",
    }];
    let cases = [
        (
            &rows.python,
            LAMBDA_INIT_PYTHON,
            "Lambda Python Init Duration",
            "≤ 5 ms",
        ),
        (
            &rows.nodejs,
            LAMBDA_INIT_NODEJS,
            "Lambda Node.js Init Duration",
            "≤ 2 ms",
        ),
    ];
    for (row, lambda, lambda_name, target) in cases {
        let Ok(row) = row else { continue };
        let (cold_name, cold99_name, warm_name): (&'static str, &'static str, &'static str) =
            if row.name == "hello-py" {
                (
                    "cold start p50, Python hello-py",
                    "cold start p99, Python hello-py",
                    "warm call p50, Python hello-py",
                )
            } else {
                (
                    "cold start p50, Node.js hello-js",
                    "cold start p99, Node.js hello-js",
                    "warm call p50, Node.js hello-js",
                )
            };
        out.push(Row {
            name: cold_name,
            value: us(row.cold.p50),
            baseline_name: lambda_name,
            baseline: us(lambda),
            ratio: row.cold.p50.as_secs_f64() / lambda.as_secs_f64(),
            target,
        });
        out.push(Row {
            name: cold99_name,
            value: us(row.cold.p99),
            baseline_name: lambda_name,
            baseline: us(lambda),
            ratio: row.cold.p99.as_secs_f64() / lambda.as_secs_f64(),
            target: "",
        });
        out.push(Row {
            name: warm_name,
            value: us(row.warm.p50),
            baseline_name: "warm call p50, Rust hello",
            baseline: us(rust.warm.p50),
            ratio: row.warm.p50.as_secs_f64() / rust.warm.p50.as_secs_f64(),
            target: "≤ Rust + 100 µs",
        });
    }
    out
}

fn language_skips(rows: &languages::LanguageRows) -> Vec<(&'static str, String)> {
    let mut skips = Vec::new();
    if let Err(why) = &rows.python {
        skips.push(("hello-py", why.clone()));
    }
    if let Err(why) = &rows.nodejs {
        skips.push(("hello-js", why.clone()));
    }
    skips
}

/// How long each component took to compile (once, at create).
fn compile_note(rows: &languages::LanguageRows) -> String {
    let mut parts = vec![format!(
        "hello {:.0} ms",
        rows.rust.compile.as_secs_f64() * 1e3
    )];
    for row in [&rows.python, &rows.nodejs].into_iter().flatten() {
        parts.push(format!(
            "{} {:.0} ms",
            row.name,
            row.compile.as_secs_f64() * 1e3
        ));
    }
    format!("languages: compiled once at create: {}", parts.join(", "))
}
