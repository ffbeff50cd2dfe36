//! Lambda's execution model: warm environments keep globals and /tmp, are
//! never shared between functions, start cold with `init` after idle
//! retirement or a change, and are retired at once after a trap.

use funnel_tests::guests;
use std::time::Duration;

use funnel_client::proto;
use funnel_tests::{create_request, guest, json_of, log_of, report_of, start_server};
use serde_json::json;

#[tokio::test]
async fn warm_calls_reuse_one_environment() {
    let server = start_server().await;
    server.create("counter", guests::COUNTER).await;
    let mut inits = Vec::new();
    let mut logs = Vec::new();
    for expected in 1..=3 {
        let out = server.invoke("counter", "{}").await;
        assert_eq!(json_of(&out), json!({"calls": expected, "inits": 1}));
        let log = log_of(&out);
        let report = report_of(&log);
        assert_eq!(report.request_id, out.request_id);
        inits.push(report.init_duration_ms);
        logs.push(log);
    }
    assert!(inits[0].is_some(), "the first call is a cold start");
    assert_eq!(inits[1..], [None, None], "later calls are warm");
    // The Init phase's output comes with the cold start's log only.
    assert!(logs[0].contains("counter: init"), "{}", logs[0]);
    assert!(!logs[1].contains("counter: init"), "{}", logs[1]);
    server.stop().await;
}

#[tokio::test]
async fn functions_never_share_globals_or_tmp() {
    let server = start_server().await;
    // Same code, two functions: separate environments.
    server.create("a", guests::COUNTER).await;
    server.create("b", guests::COUNTER).await;
    for _ in 0..3 {
        server.invoke("a", "{}").await;
    }
    assert_eq!(json_of(&server.invoke("b", "{}").await)["calls"], 1);
    assert_eq!(json_of(&server.invoke("a", "{}").await)["calls"], 4);

    server.create("notes-1", guests::TMP_NOTE).await;
    server.create("notes-2", guests::TMP_NOTE).await;
    server.invoke("notes-1", r#"{"write":"first"}"#).await;
    let out = server.invoke("notes-1", r#"{"write":"second"}"#).await;
    assert_eq!(
        json_of(&out),
        json!({"lines": ["first", "second"]}),
        "/tmp survives warm calls"
    );
    let out = server.invoke("notes-2", "{}").await;
    assert_eq!(
        json_of(&out),
        json!({"lines": []}),
        "another function's /tmp is its own"
    );
    server.stop().await;
}

#[tokio::test]
async fn idle_environments_are_retired_after_the_idle_timeout() {
    let server = start_server().await;
    server.create("counter", guests::COUNTER).await;
    server.create("notes", guests::TMP_NOTE).await;
    server.invoke("counter", "{}").await;
    server.invoke("notes", r#"{"write":"kept?"}"#).await;
    assert_eq!(server.runtime.idle_environments(), 2);

    // Nine minutes idle: still warm.
    server.runtime.clock().advance(Duration::from_secs(9 * 60));
    assert_eq!(server.runtime.retire_idle().await, 0);
    assert_eq!(json_of(&server.invoke("counter", "{}").await)["calls"], 2);

    // Ten more: both retired (the default idle timeout is ten minutes).
    server.runtime.clock().advance(Duration::from_secs(10 * 60));
    assert_eq!(server.runtime.retire_idle().await, 2);
    assert_eq!(server.runtime.idle_environments(), 0);
    let out = server.invoke("counter", "{}").await;
    assert_eq!(
        json_of(&out),
        json!({"calls": 1, "inits": 1}),
        "a new environment"
    );
    assert!(
        report_of(&log_of(&out)).init_duration_ms.is_some(),
        "a cold start"
    );
    let out = server.invoke("notes", "{}").await;
    assert_eq!(json_of(&out), json!({"lines": []}), "the old /tmp is gone");
    server.stop().await;
}

#[tokio::test]
async fn changing_a_function_retires_its_environments() {
    let server = start_server().await;
    server.create("counter", guests::COUNTER).await;
    server.invoke("counter", "{}").await;
    assert_eq!(json_of(&server.invoke("counter", "{}").await)["calls"], 2);

    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "counter".into(),
            memory_size: Some(256),
            ..Default::default()
        })
        .await
        .expect("update configuration");
    let out = server.invoke("counter", "{}").await;
    assert_eq!(
        json_of(&out)["calls"],
        1,
        "a configuration change starts fresh environments"
    );
    assert_eq!(report_of(&log_of(&out)).memory_size_mb, 256);

    server
        .client
        .update_function_code("counter", guest(guests::ECHO))
        .await
        .expect("update code");
    let out = server.invoke("counter", r#"{"now":"echo"}"#).await;
    assert_eq!(
        json_of(&out),
        json!({"now": "echo"}),
        "the next call runs the new code"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_call_in_flight_during_an_update_finishes_on_the_old_code() {
    let server = start_server().await;
    server.create_with_timeout("slow", guests::SPIN, 1).await;

    let client = server.client.clone();
    let call = tokio::spawn(async move {
        client
            .invoke(funnel_tests::invoke_request("slow", "{}"))
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    server
        .client
        .update_function_code("slow", guest(guests::ECHO))
        .await
        .expect("update while busy");
    let old = call.await.expect("task").expect("invoke");
    assert_eq!(
        json_of(&old)["errorType"],
        "Sandbox.Timedout",
        "the in-flight call ran the old code"
    );
    let new = server.invoke("slow", r#"{"fast":true}"#).await;
    assert_eq!(json_of(&new), json!({"fast": true}));
    server.stop().await;
}

#[tokio::test]
async fn a_trapped_environment_is_retired_at_once() {
    let server = start_server().await;
    server.create("panic", guests::PANIC).await;
    server.create("counter", guests::COUNTER).await;
    server.invoke("counter", "{}").await;
    let idle = server.runtime.idle_environments();
    let out = server.invoke("panic", "{}").await;
    assert_eq!(out.function_error, "Unhandled");
    assert_eq!(
        server.runtime.idle_environments(),
        idle,
        "the trapped environment was not kept"
    );
    // A handled error is not a trap: that environment stays warm.
    server.create("fail", guests::FAIL).await;
    server.invoke("fail", "{}").await;
    assert_eq!(server.runtime.idle_environments(), idle + 1);
    server.stop().await;
}

#[tokio::test]
async fn a_failed_init_fails_the_call_and_the_environment() {
    let server = start_server().await;
    let mut request = create_request("broken", guest(guests::COUNTER));
    request.environment = Some(proto::Environment {
        variables: [("FAIL_INIT".to_string(), "1".to_string())].into(),
    });
    server
        .client
        .create_function(request)
        .await
        .expect("create");
    for _ in 0..2 {
        let out = server.invoke("broken", "{}").await;
        assert_eq!(out.function_error, "Unhandled");
        assert_eq!(
            json_of(&out),
            json!({"errorType": "InitFailed", "errorMessage": "FAIL_INIT is set"})
        );
        assert!(
            report_of(&log_of(&out)).init_duration_ms.is_some(),
            "every attempt is a cold start"
        );
    }
    assert_eq!(server.runtime.idle_environments(), 0);
    server.stop().await;
}

fn with_env(name: &str, key: &str) -> proto::CreateFunctionRequest {
    let mut request = create_request(name, guest(guests::SLOW_HOOKS));
    request.environment = Some(proto::Environment {
        variables: [(key.to_string(), "1".to_string())].into(),
    });
    request
}

#[tokio::test]
async fn a_shutdown_hook_that_never_returns_is_cut_off() {
    let server = start_server().await;
    server
        .client
        .create_function(with_env("stuck", "SPIN_SHUTDOWN"))
        .await
        .expect("create");
    assert_eq!(
        json_of(&server.invoke("stuck", r#"{"a":1}"#).await),
        json!({"a": 1})
    );
    // Retiring the environment runs its shutdown, which spins: the update
    // still completes (the hook is bounded to about 500 ms).
    let started = std::time::Instant::now();
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "stuck".into(),
            timeout: Some(4),
            ..Default::default()
        })
        .await
        .expect("update");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let events = server.log_messages("stuck").await;
    assert!(
        events
            .iter()
            .any(|e| e.message == "slow-hooks: shutdown starts spinning")
    );
    assert_eq!(
        json_of(&server.invoke("stuck", r#"{"b":2}"#).await),
        json!({"b": 2})
    );
    server.stop().await;
}

#[tokio::test]
async fn an_init_that_never_returns_times_out_after_ten_seconds() {
    let server = start_server().await;
    server
        .client
        .create_function(with_env("slow-start", "SPIN_INIT"))
        .await
        .expect("create");
    let out = server.invoke("slow-start", "{}").await;
    assert_eq!(out.function_error, "Unhandled");
    let body = json_of(&out);
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    assert_eq!(
        body["errorMessage"],
        "Init phase timed out after 10.00 seconds"
    );
    let init = report_of(&log_of(&out))
        .init_duration_ms
        .expect("Init Duration");
    assert!(init >= 10_000.0, "Init Duration {init} ms");
    assert_eq!(
        server.runtime.idle_environments(),
        0,
        "the environment was not kept"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_new_environment_starts_with_zeroed_memory() {
    // One instance slot: every new environment reuses the slot (and the
    // memory) of the one before it.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = funnel_tests::test_config(dir.path());
    config.runtime.max_instances = 1;
    let server = funnel_tests::start_server_with(config).await;
    server
        .create_with_timeout("dirty", guests::MEMHOG, 10)
        .await;
    server
        .create_with_timeout("clean", guests::MEMHOG, 10)
        .await;
    let out = server.invoke("dirty", r#"{"mb": 64}"#).await;
    assert_eq!(json_of(&out), json!({"allocated_mb": 64}));
    // "clean" needs the only slot: "dirty" is retired and its slot reused.
    let out = server.invoke("clean", r#"{"check_zero_mb": 96}"#).await;
    assert_eq!(json_of(&out), json!({"nonzero_bytes": 0}));
    server.stop().await;
}
