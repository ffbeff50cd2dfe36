//! Lambda's concurrency accounting: reserved concurrency as a cap and a
//! floor, 100 always unreserved, both throttle reasons, and async events
//! held back (never failed) while throttled.

use funnel_tests::guests;
use std::time::Duration;

use funnel_client::proto;
use funnel_tests::{TestServer, eventually, start_server, start_server_with, test_config};

fn slow(name: &str, ms: u64) -> proto::InvokeRequest {
    proto::InvokeRequest {
        function_name: name.into(),
        payload: format!(r#"{{"sleep_ms":{ms}}}"#).into_bytes(),
        ..Default::default()
    }
}

fn assert_throttled(err: &funnel_client::Error, reason: &str) {
    assert_eq!(
        err.error_type.as_deref(),
        Some("TooManyRequestsException"),
        "{}",
        err.message
    );
    assert!(err.message.contains(reason), "{reason}: {}", err.message);
    assert!(err.message.contains("retryAfterSeconds"), "{}", err.message);
}

async fn server_with_account_limit(limit: u32, instances: u32) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.concurrency.account_limit = limit;
    config.runtime.max_instances = instances;
    config.runtime.max_memory_mb = 128;
    // These are about the account's limits: one function may take every
    // instance slot.
    config.runtime.max_share = 1.0;
    (start_server_with(config).await, dir)
}

#[tokio::test]
async fn a_function_without_a_reservation_runs_at_most_its_share() {
    // 8 instance slots, half each at most.
    let server = start_server().await;
    server.create("b", guests::RECORDER).await;
    server.create("c", guests::RECORDER).await;
    let busy: Vec<_> = (0..4)
        .map(|_| {
            let client = server.client.clone();
            tokio::spawn(async move { client.invoke(slow("b", 1_000)).await })
        })
        .collect();
    eventually("4 calls of b running", || async {
        (server.gate.usage().unreserved_running == 4).then_some(())
    })
    .await;
    let err = server.client.invoke(slow("b", 0)).await.unwrap_err();
    assert_throttled(&err, "FunctionShareLimitExceeded");
    // Another function still gets its turn.
    server.client.invoke(slow("c", 0)).await.expect("c runs");
    // Provisioned concurrency beyond the share is refused.
    server
        .client
        .publish_version(proto::PublishVersionRequest {
            function_name: "b".into(),
            ..Default::default()
        })
        .await
        .expect("version");
    let refused = server
        .client
        .put_provisioned_concurrency_config("b", "1", 5)
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("runtime.max_share"),
        "{}",
        refused.message
    );
    for call in busy {
        call.await.expect("task").expect("b's call");
    }
    server.stop().await;
}

#[tokio::test]
async fn reserved_concurrency_caps_a_function() {
    let server = start_server().await;
    server.create("slow", guests::RECORDER).await;
    let reserved = server
        .client
        .put_function_concurrency("slow", 1)
        .await
        .expect("put concurrency");
    assert_eq!(reserved, 1);
    assert_eq!(
        server
            .client
            .get_function_concurrency("slow")
            .await
            .expect("get"),
        Some(1)
    );
    let first = tokio::spawn({
        let client = server.client.clone();
        async move { client.invoke(slow("slow", 1_000)).await }
    });
    eventually("the first call running", || async {
        (server.gate.running_reserved("slow") == 1).then_some(())
    })
    .await;
    let err = server.client.invoke(slow("slow", 0)).await.unwrap_err();
    assert_throttled(&err, "ReservedFunctionConcurrentInvocationLimitExceeded");
    assert_eq!(
        first
            .await
            .expect("task")
            .expect("first call")
            .function_error,
        ""
    );
    // Its place is free again.
    server
        .client
        .invoke(slow("slow", 0))
        .await
        .expect("after the first");

    // 0 throttles every call; removing the reservation lifts it.
    server
        .client
        .put_function_concurrency("slow", 0)
        .await
        .expect("put 0");
    let err = server.client.invoke(slow("slow", 0)).await.unwrap_err();
    assert_throttled(&err, "ReservedFunctionConcurrentInvocationLimitExceeded");
    server
        .client
        .delete_function_concurrency("slow")
        .await
        .expect("delete");
    assert_eq!(
        server
            .client
            .get_function_concurrency("slow")
            .await
            .expect("get"),
        None
    );
    server
        .client
        .invoke(slow("slow", 0))
        .await
        .expect("unreserved");
}

#[tokio::test]
async fn a_reservation_is_a_floor_the_others_cannot_take() {
    // 102 in all: 2 reserved for `a`, 100 shared by everyone else.
    let (server, _dir) = server_with_account_limit(102, 110).await;
    server.create("a", guests::RECORDER).await;
    server.create("b", guests::RECORDER).await;
    server
        .client
        .put_function_concurrency("a", 2)
        .await
        .expect("reserve");
    let settings = server
        .client
        .get_account_settings()
        .await
        .expect("settings");
    let limit = settings.account_limit.expect("limit");
    assert_eq!(
        (
            limit.concurrent_executions,
            limit.unreserved_concurrent_executions
        ),
        (102, 100)
    );
    let busy: Vec<_> = (0..100)
        .map(|_| {
            let client = server.client.clone();
            tokio::spawn(async move { client.invoke(slow("b", 1_500)).await })
        })
        .collect();
    eventually("100 calls of b running", || async {
        (server.gate.usage().unreserved_running == 100).then_some(())
    })
    .await;
    let err = server.client.invoke(slow("b", 0)).await.unwrap_err();
    assert_throttled(&err, "ConcurrentInvocationLimitExceeded");
    // `a` still has its two.
    let (one, two) = tokio::join!(
        server.client.invoke(slow("a", 0)),
        server.client.invoke(slow("a", 0))
    );
    one.expect("a's first");
    two.expect("a's second");
    for call in busy {
        call.await.expect("task").expect("b's call");
    }
}

#[tokio::test]
async fn at_least_100_stay_unreserved() {
    let (server, _dir) = server_with_account_limit(150, 8).await;
    server.create("f", guests::RECORDER).await;
    server.create("g", guests::RECORDER).await;
    let err = server
        .client
        .put_function_concurrency("f", 51)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(err.message.contains("[100]"), "{}", err.message);
    server
        .client
        .put_function_concurrency("f", 50)
        .await
        .expect("50 fits");
    let err = server
        .client
        .put_function_concurrency("g", 1)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    let err = server
        .client
        .put_function_concurrency("nope", 1)
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    let err = server
        .client
        .put_function_concurrency("f", -1)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
}

#[tokio::test]
async fn throttled_async_events_are_held_back_not_failed() {
    let server = start_server().await;
    let clock = server.runtime.clock().clone();
    server.create("held", guests::RECORDER).await;
    server
        .client
        .put_function_concurrency("held", 0)
        .await
        .expect("put 0");
    let accepted = server
        .client
        .invoke(proto::InvokeRequest {
            function_name: "held".into(),
            invocation_type: "Event".into(),
            payload: br#"{"held":true}"#.to_vec(),
            ..Default::default()
        })
        .await
        .expect("accepted");
    assert_eq!(accepted.status_code, 202);
    eventually("a throttled attempt", || async {
        (server.queue.stats().throttled >= 1).then_some(())
    })
    .await;
    // Backing off: 1 s, then 2 s, 4 s, ... on the manual clock.
    for _ in 0..3 {
        let before = server.queue.stats().throttled;
        clock.advance(Duration::from_secs(8));
        eventually("another throttled attempt", || async {
            (server.queue.stats().throttled > before).then_some(())
        })
        .await;
    }
    let letters = server
        .client
        .list_dead_letters("", "", None)
        .await
        .expect("dlq");
    assert!(
        letters.dead_letters.is_empty(),
        "a throttle never fails an event"
    );
    server
        .client
        .delete_function_concurrency("held")
        .await
        .expect("lift");
    clock.advance(Duration::from_secs(60));
    eventually("the held event delivered", || async {
        let logs = server.log_messages("held").await;
        logs.iter()
            .any(|e| e.message.contains(&accepted.request_id))
            .then_some(())
    })
    .await;
    assert_eq!(server.queue.stats().dead_lettered, 0);
}
