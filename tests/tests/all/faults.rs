//! Fault injection (`funnel fault put`): injected errors go through
//! Lambda's async retries into the dead letters, reproducibly with a
//! seed; an injected timeout retires the environment; an injected
//! throttle is a TooManyRequestsException; latency moves the virtual
//! clock; each injected outcome is marked in the log and the metrics;
//! delete and `until` stop it.

use std::time::Duration;

use funnel_client::proto;
use funnel_tests::{
    TestServer, guests, json_of, log_of, report_of, start_server, start_server_with, test_config,
};

fn fault(function: &str, kind: &str, rate: f64) -> proto::PutFaultRequest {
    proto::PutFaultRequest {
        function_name: function.into(),
        kind: kind.into(),
        rate,
        ..Default::default()
    }
}

fn event(name: &str, n: usize) -> proto::InvokeRequest {
    proto::InvokeRequest {
        function_name: name.into(),
        invocation_type: "Event".into(),
        payload: format!(r#"{{"name":"event {n}"}}"#).into_bytes(),
        ..Default::default()
    }
}

/// The injected-fault counter of `function` and `kind` in its metrics.
async fn injected(server: &TestServer, function: &str, kind: &str) -> u64 {
    let text = server.client.get_metrics(function).await.expect("metrics");
    let series =
        format!("funnel_injected_faults_total{{function=\"{function}\",kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

/// Lines of `function`'s log that mark an injected fault.
async fn marked(server: &TestServer, function: &str) -> Vec<String> {
    server.logs.sync().await;
    server
        .log_messages(function)
        .await
        .into_iter()
        .map(|e| e.message.trim_end().to_string())
        .filter(|m| m.starts_with("INJECTED FAULT: "))
        .collect()
}

/// SplitMix64, as the server documents it: what a seed decides.
struct SplitMix64(u64);

impl SplitMix64 {
    fn hit(&mut self, rate: f64) -> bool {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
    }
}

#[derive(Debug, PartialEq)]
struct Counts {
    successes: u64,
    retries: u64,
    dead_letters: u64,
    injected: u64,
}

const EVENTS: usize = 20;
const SEED: u64 = 7;

/// 20 async events to a function with two retries and a seeded 50% error
/// fault, run to the end on the virtual clock.
async fn seeded_experiment() -> Counts {
    let server = start_server().await;
    server.create("flaky", guests::HELLO).await;
    server
        .client
        .put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "flaky".into(),
            maximum_retry_attempts: Some(2),
            ..Default::default()
        })
        .await
        .expect("put config");
    let mut put = fault("flaky", "error", 0.5);
    put.seed = Some(SEED);
    let put = server.client.put_fault(put).await.expect("put fault");
    assert_eq!(put.error_type, "InjectedFault");
    for n in 0..EVENTS {
        server
            .client
            .invoke(event("flaky", n))
            .await
            .expect("accepted");
    }
    // The first attempts (now), then the retries a minute and two more
    // minutes later, each round run to its end before the clock moves.
    server
        .client
        .advance_clock(Duration::ZERO)
        .await
        .expect("first attempts");
    server
        .client
        .advance_clock(Duration::from_secs(600))
        .await
        .expect("retries");
    let stats = server.client.get_queue_stats().await.expect("stats");
    let letters = server
        .client
        .list_dead_letters("flaky", "", None)
        .await
        .expect("dead letters")
        .dead_letters;
    for letter in &letters {
        assert_eq!(letter.condition, "RetriesExhausted");
        assert_eq!(letter.error_type, "InjectedFault");
    }
    let injected = injected(&server, "flaky", "error").await;
    assert_eq!(
        marked(&server, "flaky").await.len() as u64,
        injected,
        "each injected error is marked in the log"
    );
    assert_eq!(stats.depth, 0, "every event finished");
    Counts {
        successes: stats.delivered as u64 - letters.len() as u64,
        retries: stats.retried as u64,
        dead_letters: letters.len() as u64,
        injected,
    }
}

#[tokio::test]
async fn a_seeded_error_fault_gives_the_same_retries_and_dead_letters_twice() {
    let first = seeded_experiment().await;
    let second = seeded_experiment().await;
    assert_eq!(first, second);

    // Lambda's policy over the seed's draws: every event tried once, the
    // failures a minute later, theirs two minutes after that; what fails
    // a third time is a dead letter.
    let mut draws = SplitMix64(SEED);
    let mut failing = EVENTS as u64;
    let mut failures = Vec::new();
    for _attempt in 0..3 {
        failing = (0..failing).filter(|_| draws.hit(0.5)).count() as u64;
        failures.push(failing);
    }
    let expected = Counts {
        successes: EVENTS as u64 - failures[2],
        retries: failures[0] + failures[1],
        dead_letters: failures[2],
        injected: failures.iter().sum(),
    };
    assert_eq!(first, expected, "failures per round: {failures:?}");
    assert!(expected.retries > 0 && expected.successes > 0);
}

#[tokio::test]
async fn an_injected_timeout_retires_the_environment() {
    let server = start_server().await;
    server.create("slow", guests::HELLO).await;
    let cold = server.invoke("slow", r#"{"name":"a"}"#).await;
    assert!(report_of(&log_of(&cold)).init_duration_ms.is_some());
    let warm = server.invoke("slow", r#"{"name":"b"}"#).await;
    assert!(report_of(&log_of(&warm)).init_duration_ms.is_none());

    let put = server
        .client
        .put_fault(fault("slow", "timeout", 1.0))
        .await
        .expect("put");
    let clock = server.runtime.clock().clone();
    let before = clock.now();
    let out = server.invoke("slow", r#"{"name":"c"}"#).await;
    assert_eq!(out.function_error, "Unhandled");
    assert_eq!(json_of(&out)["errorType"], "Sandbox.Timedout");
    let log = log_of(&out);
    assert!(
        log.contains(&format!("INJECTED FAULT: timeout (fault {})", put.id)),
        "{log}"
    );
    let report = report_of(&log);
    assert_eq!(report.status.as_deref(), Some("timeout"), "{log}");
    assert!(
        report.duration_ms >= 3000.0,
        "the function's timeout: {log}"
    );
    assert!(
        clock.now() - before >= Duration::from_secs(3),
        "the timeout took its time on the virtual clock"
    );
    assert_eq!(injected(&server, "slow", "timeout").await, 1);

    server.client.delete_fault(&put.id).await.expect("delete");
    assert!(server.client.list_faults().await.expect("list").is_empty());
    let after = server.invoke("slow", r#"{"name":"d"}"#).await;
    assert_eq!(json_of(&after)["message"], "Hello, d!");
    assert!(
        report_of(&log_of(&after)).init_duration_ms.is_some(),
        "the timed-out environment is gone: the next call is cold"
    );
}

#[tokio::test]
async fn an_injected_throttle_is_too_many_requests() {
    let server = start_server().await;
    server.create("busy", guests::HELLO).await;
    let put = server
        .client
        .put_fault(fault("busy", "throttle", 1.0))
        .await
        .expect("put");
    let err = server
        .client
        .invoke(funnel_tests::invoke_request("busy", r#"{"name":"a"}"#))
        .await
        .expect_err("throttled");
    assert_eq!(
        err.error_type.as_deref(),
        Some("TooManyRequestsException"),
        "{}",
        err.message
    );
    assert_eq!(err.code, tonic::Code::ResourceExhausted);
    assert_eq!(server.starts("busy").await, 0, "it never ran");
    assert_eq!(
        marked(&server, "busy").await,
        vec![format!("INJECTED FAULT: throttle (fault {})", put.id)]
    );
    assert_eq!(injected(&server, "busy", "throttle").await, 1);
    let metrics = server.client.get_metrics("busy").await.expect("metrics");
    assert!(
        metrics.contains("funnel_throttles_total{function=\"busy\"} 1"),
        "a throttle in Lambda's metrics too: {metrics}"
    );
}

#[tokio::test]
async fn injected_init_errors_latency_and_until() {
    let server = start_server().await;
    server.create("shaky", guests::HELLO).await;
    let clock = server.runtime.clock().clone();

    let mut init = fault("shaky", "init-error", 1.0);
    init.until_milliseconds = 60_000;
    let init = server.client.put_fault(init).await.expect("put init-error");
    let out = server.invoke("shaky", r#"{"name":"a"}"#).await;
    assert_eq!(out.function_error, "Unhandled");
    assert_eq!(json_of(&out)["errorType"], "Runtime.InitError");
    let log = log_of(&out);
    assert!(
        log.contains("INJECTED FAULT: init-error Runtime.InitError"),
        "{log}"
    );
    assert!(
        report_of(&log).init_duration_ms.is_some(),
        "a cold start: {log}"
    );

    // Past its `until` on the virtual clock, it no longer acts.
    server
        .client
        .advance_clock(Duration::from_secs(60))
        .await
        .expect("advance");
    let listed = server.client.list_faults().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, init.id);
    assert!(listed[0].expired);
    let out = server.invoke("shaky", r#"{"name":"b"}"#).await;
    assert_eq!(json_of(&out)["message"], "Hello, b!");

    let mut slow = fault("shaky", "latency", 1.0);
    slow.latency_ms = 5_000;
    server.client.put_fault(slow).await.expect("put latency");
    let before = clock.now();
    let out = server.invoke("shaky", r#"{"name":"c"}"#).await;
    assert_eq!(json_of(&out)["message"], "Hello, c!");
    let log = log_of(&out);
    assert!(log.contains("INJECTED FAULT: latency 5000 ms"), "{log}");
    assert!(report_of(&log).duration_ms >= 5000.0, "{log}");
    assert!(clock.now() - before >= Duration::from_secs(5));
    assert_eq!(injected(&server, "shaky", "latency").await, 1);
    assert_eq!(injected(&server, "shaky", "init-error").await, 1);

    // Refusals name what is wrong.
    let err = server
        .client
        .put_fault(fault("shaky", "meltdown", 0.5))
        .await
        .expect_err("unknown kind");
    assert!(err.message.contains("meltdown"), "{}", err.message);
    let err = server
        .client
        .put_fault(fault("nobody", "error", 0.5))
        .await
        .expect_err("no such function");
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn faults_survive_a_restart_and_their_seed_starts_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = start_server_with(test_config(dir.path())).await;
    first.create("kept", guests::HELLO).await;
    let mut put = fault("kept", "error", 0.5);
    put.seed = Some(SEED);
    put.error_type = "Kept".into();
    let put = first.client.put_fault(put).await.expect("put");
    let outcomes = |server: &TestServer| {
        let client = server.client.clone();
        async move {
            let mut failed = Vec::new();
            for n in 0..8 {
                let out = client
                    .invoke(funnel_tests::invoke_request(
                        "kept",
                        &format!(r#"{{"name":"{n}"}}"#),
                    ))
                    .await
                    .expect("invoke");
                failed.push(!out.function_error.is_empty());
            }
            failed
        }
    };
    let before = outcomes(&first).await;
    first.stop().await;

    let second = start_server_with(test_config(dir.path())).await;
    let listed = second.client.list_faults().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, put.id);
    assert_eq!(listed[0].error_type, "Kept");
    assert_eq!(listed[0].seed, Some(SEED));
    let after = outcomes(&second).await;
    assert_eq!(before, after, "the same seed, the same decisions");
    let mut draws = SplitMix64(SEED);
    let expected: Vec<bool> = (0..8).map(|_| draws.hit(0.5)).collect();
    assert_eq!(after, expected);
    second.stop().await;
}

#[tokio::test]
async fn an_injected_throttle_holds_async_events_back_without_failing_them() {
    let server = start_server().await;
    server.create("held", guests::HELLO).await;
    let mut put = fault("held", "throttle", 1.0);
    put.until_milliseconds = 30_000;
    server.client.put_fault(put).await.expect("put");
    server
        .client
        .invoke(event("held", 1))
        .await
        .expect("accepted");
    // Backing off from 1 s, doubling, while the throttle lasts; then it runs.
    server
        .client
        .advance_clock(Duration::from_secs(600))
        .await
        .expect("advance");
    let stats = server.client.get_queue_stats().await.expect("stats");
    assert!(stats.throttled >= 4, "{stats:?}");
    assert_eq!(stats.retried, 0, "a throttle is not a function error");
    assert_eq!(stats.delivered, 1, "{stats:?}");
    assert_eq!(stats.dead_lettered, 0, "{stats:?}");
    assert_eq!(server.starts("held").await, 1);
    assert_eq!(
        injected(&server, "held", "throttle").await,
        stats.throttled as u64
    );
}
