//! Every limit, obeyed and violated: memory, timeout, stack, /tmp and the
//! sandbox (no files outside /tmp, no network, no host environment).

use funnel_tests::guests;
use std::time::Duration;

use funnel_client::proto;
use funnel_tests::{create_request, guest, json_of, log_of, report_of, start_server};
use serde_json::json;

#[tokio::test]
async fn memory_size_is_obeyed_and_enforced() {
    let server = start_server().await;
    server
        .create_sized("hog", guest(guests::MEMHOG), 128, 10)
        .await;
    let out = server.invoke("hog", r#"{"mb": 64}"#).await;
    assert_eq!(json_of(&out), json!({"allocated_mb": 64}), "within 128 MB");
    let used = report_of(&log_of(&out)).max_memory_used_mb;
    assert!((64..=128).contains(&used), "Max Memory Used {used} MB");

    let out = server.invoke("hog", "{}").await;
    assert_eq!(out.function_error, "Unhandled");
    let body = json_of(&out);
    assert_eq!(body["errorType"], "Runtime.OutOfMemory");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("memory limit of 128 MB exceeded"),
        "{body}"
    );

    // A bigger MemorySize allows more.
    server
        .create_sized("big-hog", guest(guests::MEMHOG), 512, 10)
        .await;
    let out = server.invoke("big-hog", r#"{"mb": 300}"#).await;
    assert_eq!(json_of(&out), json!({"allocated_mb": 300}));
    server.create("echo", guests::ECHO).await;
    assert_eq!(
        json_of(&server.invoke("echo", "[1]").await),
        json!([1]),
        "the server is unaffected"
    );
    server.stop().await;
}

#[tokio::test]
async fn timeout_is_obeyed_and_enforced() {
    let server = start_server().await;
    // A call well within its timeout finishes.
    server
        .create_sized("deep", guest(guests::DEEP), 128, 1)
        .await;
    let out = server.invoke("deep", r#"{"depth": 100}"#).await;
    assert_eq!(json_of(&out), json!({"depth": 100}));

    server
        .create_sized("spin", guest(guests::SPIN), 128, 1)
        .await;
    let out = server.invoke("spin", "{}").await;
    assert_eq!(out.function_error, "Unhandled");
    let body = json_of(&out);
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds"),
        "{body}"
    );
    let report = report_of(&log_of(&out));
    assert_eq!(report.status.as_deref(), Some("timeout"));
    // Stopped at the deadline (the bench measures the overshoot precisely;
    // this bound only has to hold on a loaded machine).
    assert!(
        (1000.0..1500.0).contains(&report.duration_ms),
        "Duration {} ms",
        report.duration_ms
    );
    server.stop().await;
}

/// A guest that waits (here in a sleep: no wasm runs, so no epoch check
/// stops it) is stopped by the call's hard bound, armed once the guest
/// yields.
#[tokio::test]
async fn a_guest_waiting_past_its_timeout_is_stopped() {
    let server = start_server().await;
    server
        .create_sized("sleeper", guest(guests::RECORDER), 128, 1)
        .await;
    let started = std::time::Instant::now();
    let out = server.invoke("sleeper", r#"{"sleep_ms": 30000}"#).await;
    assert_eq!(out.function_error, "Unhandled");
    assert_eq!(json_of(&out)["errorType"], "Sandbox.Timedout");
    let report = report_of(&log_of(&out));
    assert_eq!(report.status.as_deref(), Some("timeout"));
    assert!(
        (1000.0..1500.0).contains(&report.duration_ms),
        "Duration {} ms",
        report.duration_ms
    );
    // Answered at the bound, not after the guest's sleep.
    assert!(started.elapsed() < Duration::from_secs(10));
    // The environment is not reused: the next call is a cold start.
    let out = server.invoke("sleeper", "{}").await;
    assert_eq!(json_of(&out), json!({"recorded": true}));
    assert!(report_of(&log_of(&out)).init_duration_ms.is_some());
    server.stop().await;
}

#[tokio::test]
async fn unbounded_recursion_traps_cleanly() {
    let server = start_server().await;
    server
        .create_sized("deep", guest(guests::DEEP), 128, 5)
        .await;
    let out = server.invoke("deep", r#"{"depth": 2000}"#).await;
    assert_eq!(
        json_of(&out),
        json!({"depth": 2000}),
        "deep but bounded recursion is fine"
    );
    // The engine's call stack runs out: wasmtime reports a stack overflow.
    let out = server.invoke("deep", "{}").await;
    assert_eq!(out.function_error, "Unhandled");
    let body = json_of(&out);
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("stack overflow"),
        "{body}"
    );
    // Rust's shadow stack (in linear memory) runs out: the guest writes
    // below its memory, which traps as an out-of-bounds access.
    let out = server.invoke("deep", r#"{"frames": "big"}"#).await;
    assert_eq!(out.function_error, "Unhandled");
    let body = json_of(&out);
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("out of bounds memory access"),
        "{body}"
    );
    let out = server.invoke("deep", r#"{"depth": 10}"#).await;
    assert_eq!(
        json_of(&out),
        json!({"depth": 10}),
        "a new environment serves the next call"
    );
    server.stop().await;
}

#[tokio::test]
async fn tmp_is_writable_and_nothing_else_is_reachable() {
    let server = start_server().await;
    server.create("fill", guests::TMPFILL).await;
    let out = server.invoke("fill", r#"{"mb": 8}"#).await;
    assert_eq!(json_of(&out), json!({"written_mb": 8, "error": null}));

    // Past EphemeralStorage (512 MB) the call fails, the environment is
    // retired, and the next call starts with an empty /tmp.
    server
        .create_with_timeout("fill-all", guests::TMPFILL, 60)
        .await;
    let out = server.invoke("fill-all", "{}").await;
    assert_eq!(out.function_error, "Unhandled");
    let body = json_of(&out);
    assert_eq!(
        body["errorType"], "Runtime.EphemeralStorageExceeded",
        "{body}"
    );
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("ephemeral storage of 512 MB"),
        "{body}"
    );
    let out = server.invoke("fill-all", r#"{"mb": 1}"#).await;
    assert_eq!(json_of(&out), json!({"written_mb": 1, "error": null}));

    // Empty files cost no bytes but inodes: past 10,000 entries the call
    // fails the same way, while another function keeps answering.
    server
        .create_with_timeout("inodes", guests::INODEHOG, 60)
        .await;
    let hog = server
        .while_hello_answers(server.invoke("inodes", "{}"))
        .await;
    let body = json_of(&hog);
    assert_eq!(hog.function_error, "Unhandled", "{body}");
    assert_eq!(
        body["errorType"], "Runtime.EphemeralStorageExceeded",
        "{body}"
    );
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("or 10000 files"),
        "{body}"
    );

    // Open files kept open: past the handle cap the call fails, the
    // environment (and its handles) is retired, hello keeps answering.
    server.create_with_timeout("fds", guests::FDHOG, 60).await;
    let out = server.invoke("fds", r#"{"keep": 100}"#).await;
    assert_eq!(json_of(&out), json!({"opened": 100, "error": null}));
    let hog = server.while_hello_answers(server.invoke("fds", "{}")).await;
    let body = json_of(&hog);
    assert_eq!(hog.function_error, "Unhandled", "{body}");
    assert_eq!(body["errorType"], "Runtime.TooManyOpenFiles", "{body}");
    let out = server.invoke("fds", r#"{"keep": 100}"#).await;
    assert_eq!(
        json_of(&out),
        json!({"opened": 100, "error": null}),
        "a new environment, with its handles free"
    );

    server.create("escape", guests::ESCAPE).await;
    let out = server.invoke("escape", "{}").await;
    let attempts = json_of(&out);
    let attempts = attempts.as_object().expect("an object of attempts");
    assert!(attempts.len() >= 12, "{attempts:?}");
    for (attempt, result) in attempts {
        let result = result.as_str().unwrap();
        if attempt.ends_with("(allowed)") {
            assert!(result.starts_with("ok"), "{attempt}: {result}");
        } else {
            assert!(result.starts_with("denied"), "{attempt} escaped: {result}");
        }
    }
    // No wasi:sockets is linked: opening a socket fails the invocation,
    // and the function keeps working.
    let out = server.invoke("escape", r#"{"network": true}"#).await;
    let body = json_of(&out);
    assert_eq!(out.function_error, "Unhandled", "connected? {body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("wasi:sockets"),
        "{body}"
    );
    assert_eq!(
        json_of(&server.invoke("escape", "{}").await)["write /tmp/inside.txt (allowed)"],
        "ok: written"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_guest_sees_its_variables_and_lambdas_not_the_hosts() {
    let server = start_server().await;
    let mut request = create_request("env", guest(guests::ENV));
    request.memory_size = Some(256);
    request.environment = Some(proto::Environment {
        variables: [("STAGE".to_string(), "test".to_string())].into(),
    });
    server
        .client
        .create_function(request)
        .await
        .expect("create");
    let env = json_of(&server.invoke("env", "{}").await);
    assert_eq!(env["STAGE"], "test");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "env");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_REGION"], "local");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/env");
    let stream = env["AWS_LAMBDA_LOG_STREAM_NAME"].as_str().expect("stream");
    assert!(stream.contains("/[$LATEST]"), "{stream}");
    for host_only in [
        "PATH",
        "HOME",
        "CARGO",
        "CARGO_MANIFEST_DIR",
        "RUST_BACKTRACE",
        "USER",
    ] {
        assert!(
            env.get(host_only).is_none(),
            "{host_only} leaked into the guest"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn echo_keeps_answering_while_spin_and_memhog_misbehave() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let server = start_server().await;
    server
        .create_sized("spin", guest(guests::SPIN), 128, 1)
        .await;
    server
        .create_sized("hog", guest(guests::MEMHOG), 128, 5)
        .await;
    server.create("echo", guests::ECHO).await;

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let mut troublemakers = Vec::new();
    for name in ["spin", "hog"] {
        let (client, stop, failures) = (server.client.clone(), stop.clone(), failures.clone());
        troublemakers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let out = client
                    .invoke(funnel_tests::invoke_request(name, "{}"))
                    .await
                    .expect("invoke");
                assert_eq!(out.function_error, "Unhandled", "{name}");
                failures.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Both keep failing in a loop; meanwhile every echo call is answered.
    let failures_before = failures.load(Ordering::Relaxed);
    for i in 0..30 {
        let out = server.invoke("echo", &format!(r#"{{"ping":{i}}}"#)).await;
        assert_eq!(json_of(&out), json!({ "ping": i }));
    }
    // Make sure the loops really overlapped the echo calls.
    while failures.load(Ordering::Relaxed) < failures_before + 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = server.invoke("echo", r#"{"last":true}"#).await;
    assert_eq!(json_of(&out), json!({"last": true}));
    stop.store(true, Ordering::Relaxed);
    for task in troublemakers {
        task.await.expect("troublemaker");
    }
    server.stop().await;
}
