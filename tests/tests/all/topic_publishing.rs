//! Functions publishing to topics through the `funnel:function/topics`
//! import: a message relayed from one topic to another reaches the second
//! topic's subscribers (chained fan-out, filter policies applied), and a
//! topic the function is not granted is refused with SNS's error, and a
//! function that keeps publishing to its own topic is stopped after 16
//! invocations, as Lambda's recursive loop detection does.

use aws_lambda_events::event::sns::SnsEvent;
use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::topics::{allow_sns, publish, received, subscribe, wait_for_message};
use funnel_tests::{TestServer, create_request, eventually, guest, json_of, log_of, start_server};

/// Creates `name` from the recorder guest, granted `topics`.
async fn create_granted(server: &TestServer, name: &str, topics: &[&str]) {
    let mut request = create_request(name, guest(guests::RECORDER));
    request.topic_access = Some(proto::TopicAccess {
        topics: topics.iter().map(|t| t.to_string()).collect(),
    });
    server
        .client
        .create_function(request)
        .await
        .unwrap_or_else(|err| panic!("creating {name}: {err}"));
}

/// What the invocation's handled error says: (errorType, errorMessage).
fn handled_error(response: &proto::InvokeResponse) -> (String, String) {
    assert_eq!(response.function_error, "Handled", "{}", log_of(response));
    let body = json_of(response);
    (
        body["errorType"].as_str().unwrap_or_default().to_string(),
        body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_function_relays_a_message_to_another_topics_subscribers() {
    let server = start_server().await;
    let orders = server.client.create_topic("orders").await.unwrap();
    let shipping = server.client.create_topic("shipping").await.unwrap();

    create_granted(&server, "relay", &["shipping"]).await;
    allow_sns(&server, "relay", &orders).await;
    subscribe(&server, &orders, "relay", None).await;
    for (function, policy) in [
        ("ship-all", None),
        ("ship-parcels", Some(r#"{"kind":["parcel"]}"#)),
        ("ship-letters", Some(r#"{"kind":["letter"]}"#)),
    ] {
        server.create(function, guests::RECORDER).await;
        allow_sns(&server, function, &shipping).await;
        subscribe(&server, &shipping, function, policy).await;
    }

    // The relay finds its instructions in the message it receives.
    let instructions = serde_json::json!({
        "publish": {
            "topic": "shipping",
            "message": "parcel 7 packed",
            "subject": "relayed",
            "attributes": {"kind": "parcel"},
        }
    });
    publish(&server, &orders, &instructions.to_string(), &[]).await;

    let relayed_id = eventually("the relay's publish", || async {
        server
            .log_messages("relay")
            .await
            .into_iter()
            .find_map(|e| {
                Some(
                    e.message
                        .trim_end()
                        .strip_prefix("published: ")?
                        .to_string(),
                )
            })
    })
    .await;
    for function in ["ship-all", "ship-parcels"] {
        let raw = wait_for_message(&server, function, "parcel 7 packed").await;
        let event: SnsEvent = serde_json::from_value(raw).expect("SNS's Lambda event");
        let sns = &event.records[0].sns;
        assert_eq!(sns.message_id, relayed_id);
        assert_eq!(sns.topic_arn, shipping);
        assert_eq!(sns.subject.as_deref(), Some("relayed"));
        assert_eq!(sns.message_attributes["kind"].value, "parcel");
    }
    // Both deliveries were queued in the publish's one write, with the one
    // the filter refused never made: once the queue is empty, it is final.
    eventually("the queue to drain", || async {
        (server.queue.stats().depth == 0).then_some(())
    })
    .await;
    assert!(received(&server, "ship-letters").await.is_empty());
    assert_eq!(received(&server, "relay").await.len(), 1);
}

#[tokio::test]
async fn only_granted_topics_can_be_published_to() {
    let server = start_server().await;
    let orders = server.client.create_topic("orders").await.unwrap();
    let audit = server.client.create_topic("audit").await.unwrap();
    // "later" is granted before it exists, as a stack deploys.
    create_granted(&server, "writer", &["audit", &audit, "later"]).await;
    let config = server.client.get_function("writer").await.unwrap();
    let granted = config.configuration.unwrap().topic_access.unwrap().topics;
    assert_eq!(
        granted,
        ["audit", "later"],
        "ARNs are stored as names, once"
    );
    server.create("auditor", guests::RECORDER).await;
    allow_sns(&server, "auditor", &audit).await;
    subscribe(&server, &audit, "auditor", None).await;

    let attempt = |topic: &str, message: &str| {
        serde_json::json!({"publish": {"topic": topic, "message": message}}).to_string()
    };
    let refused = server.invoke("writer", &attempt("orders", "hi")).await;
    let (error_type, message) = handled_error(&refused);
    assert_eq!(error_type, "AuthorizationErrorException");
    assert!(
        message.contains("writer") && message.contains("orders") && message.contains("TopicAccess"),
        "{message}"
    );
    let (error_type, _) = handled_error(&server.invoke("writer", &attempt(&orders, "hi")).await);
    assert_eq!(error_type, "AuthorizationErrorException", "by ARN too");
    let (error_type, _) = handled_error(&server.invoke("writer", &attempt("later", "hi")).await);
    assert_eq!(error_type, "NotFoundException");
    let (error_type, message) =
        handled_error(&server.invoke("writer", &attempt("audit", "")).await);
    assert_eq!(error_type, "InvalidParameterException");
    assert!(message.contains("Empty message"), "{message}");
    let (error_type, _) = handled_error(&server.invoke("writer", &attempt("bad name!", "x")).await);
    assert_eq!(error_type, "InvalidParameterException");

    let ok = server.invoke("writer", &attempt(&audit, "entry 1")).await;
    assert_eq!(ok.function_error, "", "{}", log_of(&ok));
    assert!(log_of(&ok).contains("published: "), "{}", log_of(&ok));
    wait_for_message(&server, "auditor", "entry 1").await;

    // Taking the grant away takes effect on the next call.
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "writer".into(),
            topic_access: Some(proto::TopicAccess { topics: vec![] }),
            ..Default::default()
        })
        .await
        .unwrap();
    let (error_type, _) = handled_error(&server.invoke("writer", &attempt("audit", "x")).await);
    assert_eq!(error_type, "AuthorizationErrorException");

    let mut bad = create_request("bad", guest(guests::RECORDER));
    bad.topic_access = Some(proto::TopicAccess {
        topics: vec!["no spaces".into()],
    });
    let err = server.client.create_function(bad).await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(err.message.contains("no spaces"), "{}", err.message);
}

#[tokio::test]
async fn a_publish_loop_is_stopped_at_the_seventeenth_invocation() {
    let server = start_server().await;
    let echo = server.client.create_topic("echo").await.unwrap();
    create_granted(&server, "looper", &["echo"]).await;
    allow_sns(&server, "looper", &echo).await;
    subscribe(&server, &echo, "looper", None).await;

    // The message tells its subscriber to publish it again: a loop.
    publish(&server, &echo, r#"{"publish":{"topic":"echo"}}"#, &[]).await;

    let letters = eventually("the loop's dead letter", || async {
        let page = server
            .client
            .list_dead_letters("looper", "", None)
            .await
            .ok()?;
        (!page.dead_letters.is_empty()).then_some(page.dead_letters)
    })
    .await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].condition, "RecursiveInvocationDetected");
    assert_eq!(letters[0].approximate_invoke_count, 0, "never ran");
    eventually("the queue to drain", || async {
        (server.queue.stats().depth == 0).then_some(())
    })
    .await;
    assert_eq!(received(&server, "looper").await.len(), 16);
    let series = r#"funnel_recursive_invocations_dropped_total{function="looper"} 1"#;
    let metrics = server.metrics.render();
    assert!(metrics.lines().any(|l| l == series), "{metrics}");
}
