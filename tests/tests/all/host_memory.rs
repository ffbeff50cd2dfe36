//! Memory the host budgets: every memory of a component counts against
//! its MemorySize (the multimem guest has two), and every live
//! environment's MemorySize against the server's
//! `runtime.memory_budget_mb`.

use funnel_client::proto;
use funnel_tests::{
    guest, guests, json_of, log_of, report_of, start_server, start_server_with, test_config,
};
use serde_json::json;

/// The multimem guest, assembled from its text (Rust cannot emit a
/// component with two memories).
fn multimem() -> Vec<u8> {
    let path = funnel_tests::repo_root().join("wasm-functions/multimem/multimem.wat");
    wat::parse_file(&path).unwrap_or_else(|e| panic!("assembling {}: {e}", path.display()))
}

#[tokio::test]
async fn every_memory_of_a_component_counts_against_its_memory_size() {
    let server = start_server().await;
    server.create_sized("multimem", multimem(), 128, 10).await;
    let hog = server
        .while_hello_answers(server.invoke("multimem", "{}"))
        .await;
    let body = json_of(&hog);
    assert_eq!(hog.function_error, "Unhandled", "{body}");
    assert_eq!(body["errorType"], "Runtime.OutOfMemory", "{body}");
    // Two memories of ~51 MB each: Max Memory Used is their sum.
    let used = report_of(&log_of(&hog)).max_memory_used_mb;
    assert!((100..=128).contains(&used), "Max Memory Used {used} MB");
    server.stop().await;
}

#[tokio::test]
async fn live_environments_share_the_host_memory_budget() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.runtime.memory_budget_mb = Some(400);
    let server = start_server_with(config).await;
    server
        .create_sized("spin", guest(guests::SPIN), 256, 2)
        .await;
    server
        .create_sized("hello", guest(guests::HELLO), 128, 3)
        .await;
    server
        .create_sized("echo", guest(guests::ECHO), 256, 3)
        .await;

    // hello (128 MB) and echo (256 MB) fit the 400 MB together.
    server.invoke("hello", r#"{"name":"Ada"}"#).await;
    server.invoke("echo", "[1]").await;
    // spin needs 256 MB: the idle environments are retired for it (the
    // least recently used first, until it fits).
    let spinning = tokio::spawn({
        let client = server.client_as(Some(server.operator.clone())).await;
        async move {
            client
                .invoke(funnel_tests::invoke_request("spin", "{}"))
                .await
        }
    });
    funnel_tests::eventually("spin is running", || async {
        (server.gate.usage().running == 1).then_some(())
    })
    .await;
    // While it runs, a 256 MB start does not fit: it waits briefly, then
    // is throttled with a Reason of its own.
    let refused = server
        .client
        .invoke(funnel_tests::invoke_request("echo", "[2]"))
        .await
        .expect_err("no room for echo");
    let text = refused.to_string();
    assert!(text.contains("TooManyRequestsException"), "{text}");
    assert!(text.contains("HostMemoryBudgetExceeded"), "{text}");
    // 128 MB still fits beside spin.
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));
    // spin times out; its memory comes back, and echo starts.
    let spun = spinning.await.expect("task").expect("spin answers");
    assert_eq!(spun.function_error, "Unhandled");
    let out = server.invoke("echo", "[3]").await;
    assert_eq!(json_of(&out), json!([3]));

    // A MemorySize beyond the whole budget is refused at once.
    server
        .create_sized("huge", guest(guests::HELLO), 512, 3)
        .await;
    let refused = server
        .client
        .invoke(proto::InvokeRequest {
            function_name: "huge".into(),
            payload: b"{}".to_vec(),
            ..Default::default()
        })
        .await
        .expect_err("512 MB never fits 400");
    assert!(refused.to_string().contains("HostMemoryBudgetExceeded"));
    server.stop().await;
}
