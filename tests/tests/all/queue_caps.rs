//! The async queue's caps: a function, and an account's functions
//! together, may have only so many invocations waiting; past a cap an
//! async invoke or a publish is throttled, and others are not.

use funnel_client::proto;
use funnel_tests::topics::{allow_sns, subscribe};
use funnel_tests::{guests, json_of, start_server_with, test_config};

fn event(function: &str) -> proto::InvokeRequest {
    proto::InvokeRequest {
        function_name: function.into(),
        invocation_type: "Event".into(),
        payload: b"{}".to_vec(),
        ..Default::default()
    }
}

fn throttled(result: Result<proto::InvokeResponse, funnel_client::Error>, reason: &str) {
    let text = result.expect_err("throttled").to_string();
    assert!(text.contains("TooManyRequestsException"), "{text}");
    assert!(text.contains(reason), "{text}");
}

#[tokio::test]
async fn a_function_and_an_account_may_have_only_so_many_events_waiting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    // Accepted, never delivered: what is accepted stays queued.
    config.queue.workers = Some(0);
    config.queue.max_events_per_function = 3;
    config.queue.max_events_per_account = 5;
    let server = start_server_with(config).await;
    let client = &server.client;
    for function in ["one", "two", "three"] {
        server.create(function, guests::HELLO).await;
    }
    for _ in 0..3 {
        client.invoke(event("one")).await.expect("within the cap");
    }
    throttled(
        client.invoke(event("one")).await,
        "FunctionQueueDepthLimitExceeded",
    );
    for _ in 0..2 {
        client.invoke(event("two")).await.expect("within both caps");
    }
    throttled(
        client.invoke(event("three")).await,
        "AccountQueueDepthLimitExceeded",
    );
    // A publish to the account's function is refused alike.
    let topic = client.create_topic("orders").await.expect("topic");
    allow_sns(&server, "three", &topic).await;
    subscribe(&server, &topic, "three", None).await;
    let published = client
        .publish(proto::PublishRequest {
            topic_arn: topic.clone(),
            message: "hi".into(),
            ..Default::default()
        })
        .await
        .expect_err("the account's queue is full")
        .to_string();
    assert!(
        published.contains("AccountQueueDepthLimitExceeded"),
        "{published}"
    );
    // A sync call does not queue: it runs.
    let out = server.invoke("one", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), serde_json::json!({"message": "Hello, Ada!"}));

    // Another account has caps of its own.
    let other = server.account_client("111111111111", "other").await;
    other
        .create_function(funnel_tests::create_request(
            "one",
            funnel_tests::guest(guests::HELLO),
        ))
        .await
        .expect("create");
    other.invoke(event("one")).await.expect("its own cap");
    assert_eq!(server.queue.stats().depth, 6);
    server.stop().await;
}
