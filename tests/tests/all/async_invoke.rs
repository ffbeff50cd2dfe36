//! Asynchronous invocation: events are queued durably and delivered with
//! Lambda's contract — retries after 1 and 2 minutes (on the manual clock),
//! maximum age, OnSuccess/OnFailure destinations with Lambda's record
//! shape, and the dead-letter store with redrive and purge.

use funnel_tests::guests;
use std::time::Duration;

use funnel_client::proto;
use funnel_tests::{
    TestServer, create_request, eventually, guest, start_server, start_server_with, test_config,
};
use serde_json::{Value, json};

fn event(name: &str, payload: &str) -> proto::InvokeRequest {
    proto::InvokeRequest {
        function_name: name.into(),
        invocation_type: "Event".into(),
        payload: payload.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// The events `recorder` has recorded, oldest first.
async fn records(server: &TestServer, function: &str) -> Vec<Value> {
    server
        .log_messages(function)
        .await
        .iter()
        .filter_map(|e| e.message.strip_prefix("record: "))
        .map(|line| serde_json::from_str(line.trim_end()).expect("recorded JSON"))
        .collect()
}

/// How many times `function` has started an invocation.
async fn wait_for_records(server: &TestServer, function: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} records of {function}"), || async {
        let found = records(server, function).await;
        (found.len() >= n).then_some(found)
    })
    .await
}

async fn wait_for_starts(server: &TestServer, function: &str, n: usize) {
    eventually(&format!("{n} invocations of {function}"), || async {
        (server.starts(function).await >= n).then_some(())
    })
    .await;
}

/// Nothing more happens for a while (real time; deliveries take ms).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn arn(name: &str) -> String {
    format!("arn:funnel:lambda:local:000000000000:function:{name}")
}

#[tokio::test]
async fn events_are_accepted_with_202_and_delivered() {
    let server = start_server().await;
    server.create("recorder", guests::RECORDER).await;
    let out = server
        .client
        .invoke(event("recorder", r#"{"n":1}"#))
        .await
        .expect("invoke Event");
    assert_eq!(out.status_code, 202);
    assert!(out.payload.is_empty());
    assert!(!out.request_id.is_empty());
    let found = wait_for_records(&server, "recorder", 1).await;
    assert_eq!(found, [json!({"n": 1})]);
    // The guest saw the request id the caller got.
    let logged = server.log_messages("recorder").await;
    assert!(
        logged
            .iter()
            .any(|e| e.message.trim_end() == format!("request: {}", out.request_id))
    );
    let stats = server.client.get_queue_stats().await.expect("stats");
    assert_eq!((stats.received, stats.delivered), (1, 1));
    eventually("an empty queue", || async {
        let stats = server.client.get_queue_stats().await.ok()?;
        (stats.depth == 0).then_some(())
    })
    .await;

    // DryRun checks, runs nothing.
    let mut dry = event("recorder", "{}");
    dry.invocation_type = "DryRun".into();
    assert_eq!(
        server
            .client
            .invoke(dry)
            .await
            .expect("dry run")
            .status_code,
        204
    );
    // 256 KB at most for an event (a sync call takes it).
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(262_144));
    let err = server
        .client
        .invoke(event("recorder", &big))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("RequestTooLargeException"));
    let mut sync = event("recorder", &big);
    sync.invocation_type = String::new();
    assert_eq!(
        server.client.invoke(sync).await.expect("sync").status_code,
        200
    );
    for (name, payload, error) in [
        ("nope", "{}", "ResourceNotFoundException"),
        ("recorder", "not json", "InvalidRequestContentException"),
    ] {
        let err = server
            .client
            .invoke(event(name, payload))
            .await
            .unwrap_err();
        assert_eq!(err.error_type.as_deref(), Some(error), "{name} {payload}");
    }
    settle().await;
    assert_eq!(server.starts("recorder").await, 2, "nothing else ran");
}

#[tokio::test]
async fn function_errors_are_retried_after_one_then_two_minutes() {
    let server = start_server().await;
    let clock = server.runtime.clock().clone();
    server.create("recorder", guests::RECORDER).await;
    server.create("failing", guests::FAIL).await;
    server
        .client
        .put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "failing".into(),
            destination_config: Some(proto::DestinationConfig {
                on_failure: Some(proto::OnFailure {
                    destination: arn("recorder"),
                }),
                on_success: None,
            }),
            ..Default::default()
        })
        .await
        .expect("put config");
    let accepted = server
        .client
        .invoke(event("failing", r#"{"order":7}"#))
        .await
        .expect("invoke");

    wait_for_starts(&server, "failing", 1).await;
    clock.advance(Duration::from_secs(59));
    settle().await;
    assert_eq!(server.starts("failing").await, 1, "not before a minute");
    clock.advance(Duration::from_secs(1));
    wait_for_starts(&server, "failing", 2).await;
    clock.advance(Duration::from_secs(119));
    settle().await;
    assert_eq!(
        server.starts("failing").await,
        2,
        "not before two more minutes"
    );
    assert!(records(&server, "recorder").await.is_empty());
    clock.advance(Duration::from_secs(1));
    wait_for_starts(&server, "failing", 3).await;

    let record = wait_for_records(&server, "recorder", 1).await.remove(0);
    assert_eq!(record["version"], "1.0");
    assert_eq!(
        record["requestContext"]["requestId"],
        accepted.request_id.as_str()
    );
    assert_eq!(
        record["requestContext"]["functionArn"],
        format!("{}:$LATEST", arn("failing"))
    );
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["requestPayload"], json!({"order": 7}));
    assert_eq!(record["responseContext"]["statusCode"], 200);
    assert_eq!(record["responseContext"]["executedVersion"], "$LATEST");
    assert_eq!(record["responseContext"]["functionError"], "Handled");
    assert_eq!(record["responsePayload"]["errorType"], "ValidationError");
    assert!(record["timestamp"].as_str().unwrap().ends_with('Z'));
    // No fourth attempt, and nothing left behind.
    clock.advance(Duration::from_secs(600));
    settle().await;
    assert_eq!(server.starts("failing").await, 3);
    let letters = server
        .client
        .list_dead_letters("", "", None)
        .await
        .expect("dlq");
    assert!(letters.dead_letters.is_empty());
    let stats = server.client.get_queue_stats().await.expect("stats");
    assert_eq!(stats.retried, 2);
}

#[tokio::test]
async fn on_success_gets_lambdas_record() {
    let server = start_server().await;
    server.create("recorder", guests::RECORDER).await;
    server.create("echo", guests::ECHO).await;
    server
        .client
        .put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "echo".into(),
            destination_config: Some(proto::DestinationConfig {
                on_success: Some(proto::OnSuccess {
                    destination: arn("recorder"),
                }),
                on_failure: None,
            }),
            ..Default::default()
        })
        .await
        .expect("put config");
    let accepted = server
        .client
        .invoke(event("echo", r#"{"hello":"world"}"#))
        .await
        .expect("invoke");
    let record = wait_for_records(&server, "recorder", 1).await.remove(0);
    assert_eq!(record["requestContext"]["condition"], "Success");
    assert_eq!(
        record["requestContext"]["requestId"],
        accepted.request_id.as_str()
    );
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["requestPayload"], json!({"hello": "world"}));
    assert_eq!(record["responsePayload"], json!({"hello": "world"}));
    assert_eq!(record["responseContext"]["statusCode"], 200);
    assert!(record["responseContext"].get("functionError").is_none());
}

#[tokio::test]
async fn aged_out_events_go_to_the_dead_letters_and_can_be_redriven() {
    let server = start_server().await;
    let clock = server.runtime.clock().clone();
    server.create("flaky", guests::FAIL).await;
    server
        .client
        .put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "flaky".into(),
            maximum_event_age_in_seconds: Some(60),
            ..Default::default()
        })
        .await
        .expect("put config");
    let first = server
        .client
        .invoke(event("flaky", r#"{"id":1}"#))
        .await
        .expect("invoke");
    let second = server
        .client
        .invoke(event("flaky", r#"{"id":2}"#))
        .await
        .expect("invoke");
    wait_for_starts(&server, "flaky", 2).await;
    // The retry would be a minute later: the event's age runs out first.
    clock.advance(Duration::from_secs(60));
    let letters = eventually("two dead letters", || async {
        let page = server
            .client
            .list_dead_letters("flaky", "", None)
            .await
            .ok()?;
        (page.dead_letters.len() == 2).then_some(page.dead_letters)
    })
    .await;
    assert_eq!(
        server.starts("flaky").await,
        2,
        "no retry after the age ran out"
    );
    let ids: Vec<&str> = letters.iter().map(|l| l.request_id.as_str()).collect();
    assert!(ids.contains(&first.request_id.as_str()) && ids.contains(&second.request_id.as_str()));
    for letter in &letters {
        assert_eq!(letter.condition, "EventAgeExceeded");
        assert_eq!(letter.approximate_invoke_count, 1);
        assert_eq!(letter.function_name, "flaky");
    }
    let payloads: Vec<Value> = letters
        .iter()
        .map(|l| serde_json::from_slice(&l.payload).unwrap())
        .collect();
    assert!(payloads.contains(&json!({"id": 1})) && payloads.contains(&json!({"id": 2})));

    // Fixed code; redrive one, purge the other.
    server
        .client
        .update_function_code("flaky", guest(guests::RECORDER))
        .await
        .expect("update code");
    let redriven = server
        .client
        .redrive_dead_letters("flaky", vec![first.request_id.clone()])
        .await
        .expect("redrive");
    assert_eq!(redriven, 1);
    let found = wait_for_records(&server, "flaky", 1).await;
    assert_eq!(found, [json!({"id": 1})]);
    let left = server
        .client
        .list_dead_letters("flaky", "", None)
        .await
        .expect("dlq");
    assert_eq!(left.dead_letters.len(), 1);
    assert_eq!(left.dead_letters[0].request_id, second.request_id);
    assert_eq!(
        server
            .client
            .purge_dead_letters("flaky")
            .await
            .expect("purge"),
        1
    );
    let left = server
        .client
        .list_dead_letters("", "", None)
        .await
        .expect("dlq");
    assert!(left.dead_letters.is_empty());
}

#[tokio::test]
async fn event_invoke_configs_are_validated_put_updated_and_deleted() {
    let server = start_server().await;
    let client = &server.client;
    server.create("f", guests::ECHO).await;
    let put = |retries: Option<i32>, age: Option<i32>, on_failure: Option<&str>| {
        proto::PutFunctionEventInvokeConfigRequest {
            function_name: "f".into(),
            maximum_retry_attempts: retries,
            maximum_event_age_in_seconds: age,
            destination_config: on_failure.map(|d| proto::DestinationConfig {
                on_success: None,
                on_failure: Some(proto::OnFailure {
                    destination: d.into(),
                }),
            }),
            ..Default::default()
        }
    };
    let err = client
        .get_function_event_invoke_config("f", "")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    for (bad, why) in [
        (put(Some(3), None, None), "MaximumRetryAttempts"),
        (put(None, Some(59), None), "MaximumEventAgeInSeconds"),
        (put(None, Some(21_601), None), "MaximumEventAgeInSeconds"),
        (put(None, None, Some("recorder")), "must be a function ARN"),
        (
            put(None, None, Some("arn:funnel:sns:local:000000000000:topic")),
            "the topic does not exist",
        ),
        (
            put(None, None, Some("arn:funnel:sqs:local:000000000000:queue")),
            "must be a function ARN or a topic ARN",
        ),
    ] {
        let err = client
            .put_function_event_invoke_config(bad)
            .await
            .unwrap_err();
        assert_eq!(
            err.error_type.as_deref(),
            Some("InvalidParameterValueException")
        );
        assert!(err.message.contains(why), "{why}: {}", err.message);
    }
    let config = client
        .put_function_event_invoke_config(put(Some(0), Some(120), Some(&arn("f"))))
        .await
        .expect("put");
    assert_eq!(config.function_arn, format!("{}:$LATEST", arn("f")));
    assert_eq!(config.maximum_retry_attempts, Some(0));
    // Update keeps what it does not name; Put resets it.
    let updated = client
        .update_function_event_invoke_config(put(Some(1), None, None))
        .await
        .expect("update");
    assert_eq!(
        (
            updated.maximum_retry_attempts,
            updated.maximum_event_age_in_seconds
        ),
        (Some(1), Some(120))
    );
    assert!(updated.destination_config.unwrap().on_failure.is_some());
    let replaced = client
        .put_function_event_invoke_config(put(Some(1), None, None))
        .await
        .expect("put again");
    assert_eq!(replaced.maximum_event_age_in_seconds, None);
    assert_eq!(
        client
            .get_function_event_invoke_config("f", "$LATEST")
            .await
            .expect("get"),
        replaced
    );
    client
        .delete_function_event_invoke_config("f", "")
        .await
        .expect("delete");
    let err = client
        .delete_function_event_invoke_config("f", "")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    let err = client
        .put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn accepted_events_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A server that accepts but delivers nothing...
    let mut config = test_config(dir.path());
    config.queue.workers = Some(0);
    let server = start_server_with(config).await;
    server
        .client
        .create_function(create_request("recorder", guest(guests::RECORDER)))
        .await
        .expect("create");
    let mut ids = Vec::new();
    for n in 0..20 {
        let out = server
            .client
            .invoke(event("recorder", &json!({ "n": n }).to_string()))
            .await
            .expect("invoke");
        ids.push(out.request_id);
    }
    settle().await;
    assert_eq!(server.starts("recorder").await, 0);
    server.stop().await;
    // ...and the next start delivers every event.
    let server = start_server_with(test_config(dir.path())).await;
    let found = wait_for_records(&server, "recorder", 20).await;
    let mut seen: Vec<i64> = found.iter().map(|r| r["n"].as_i64().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn without_failures_each_event_runs_exactly_once() {
    // Many deliveries at once, as a real server has.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.runtime.max_instances = 64;
    config.runtime.max_memory_mb = 128;
    let server = start_server_with(config).await;
    server.create("recorder", guests::RECORDER).await;
    let mut senders = Vec::new();
    for sender in 0..8 {
        let client = server.client.clone();
        senders.push(tokio::spawn(async move {
            for n in 0..25 {
                let payload = json!({ "sender": sender, "n": n, "sleep_ms": 5 }).to_string();
                client
                    .invoke(event("recorder", &payload))
                    .await
                    .expect("invoke");
            }
        }));
    }
    for sender in senders {
        sender.await.expect("sender");
    }
    let found = wait_for_records(&server, "recorder", 200).await;
    settle().await;
    let found_now = records(&server, "recorder").await;
    assert_eq!(found_now.len(), 200, "no event ran twice");
    let unique: std::collections::HashSet<String> = found.iter().map(|r| r.to_string()).collect();
    assert_eq!(unique.len(), 200);
    let stats = server.client.get_queue_stats().await.expect("stats");
    assert_eq!(
        (stats.received, stats.delivered, stats.retried),
        (200, 200, 0)
    );
}

#[tokio::test]
async fn dead_letters_expire_after_the_retention() {
    let server = start_server().await;
    let clock = server.runtime.clock().clone();
    server.create("flaky", guests::FAIL).await;
    server
        .client
        .put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "flaky".into(),
            maximum_event_age_in_seconds: Some(60),
            ..Default::default()
        })
        .await
        .expect("put config");
    server
        .client
        .invoke(event("flaky", r#"{"id":1}"#))
        .await
        .expect("invoke");
    wait_for_starts(&server, "flaky", 1).await;
    clock.advance(Duration::from_secs(60));
    eventually("a dead letter", || async {
        let page = server
            .client
            .list_dead_letters("flaky", "", None)
            .await
            .ok()?;
        (page.dead_letters.len() == 1).then_some(())
    })
    .await;
    // The default retention: 14 days, on the server's clock.
    let retention = funnel_server::config::DlqConfig::default().retention;
    assert_eq!(retention, Duration::from_secs(14 * 24 * 3600));
    clock.advance(retention - Duration::from_secs(1));
    assert_eq!(server.queue.expire_dead_letters(retention), 0, "not yet");
    clock.advance(Duration::from_secs(2));
    assert_eq!(server.queue.expire_dead_letters(retention), 1);
    let page = server
        .client
        .list_dead_letters("flaky", "", None)
        .await
        .expect("list");
    assert!(page.dead_letters.is_empty(), "{page:?}");
    server.stop().await;
}
