//! Topics end to end: one publish fans out to several functions with SNS's
//! Lambda event (parsed with `aws_lambda_events`), filter policies choose
//! the subscribers, a function without permission gets nothing (counted),
//! and PublishBatch reports per-entry failures.

use funnel_tests::guests;
use std::collections::HashMap;

use aws_lambda_events::event::sns::SnsEvent;
use funnel_client::proto;
use funnel_tests::topics::{
    allow_sns, messages, number_attr, publish, received, string_attr, subscribe, wait_for_message,
};
use funnel_tests::{eventually, start_server};

#[tokio::test]
async fn one_publish_fans_out_with_snss_event_shape() {
    let server = start_server().await;
    let topic_arn = server.client.create_topic("orders").await.expect("topic");
    assert_eq!(topic_arn, "arn:funnel:sns:local:000000000000:orders");
    assert_eq!(
        server.client.create_topic("orders").await.unwrap(),
        topic_arn,
        "idempotent"
    );
    let mut subscriptions = HashMap::new();
    for function in ["a", "b", "c"] {
        server.create(function, guests::RECORDER).await;
        allow_sns(&server, function, &topic_arn).await;
        subscriptions.insert(
            function,
            subscribe(&server, &topic_arn, function, None).await,
        );
    }
    let message_id = publish(
        &server,
        &topic_arn,
        "order 1 shipped",
        &[
            ("store", string_attr("example_corp")),
            ("price", number_attr("12.5")),
        ],
    )
    .await;

    for function in ["a", "b", "c"] {
        let raw = wait_for_message(&server, function, "order 1 shipped").await;
        let parsed: SnsEvent = serde_json::from_value(raw.clone()).expect("SNS's Lambda event");
        let record = &parsed.records[0];
        assert_eq!(record.event_source, "aws:sns");
        assert_eq!(record.event_version, "1.0");
        assert_eq!(record.event_subscription_arn, subscriptions[function]);
        let sns = &record.sns;
        assert_eq!(sns.sns_message_type, "Notification");
        assert_eq!(sns.message_id, message_id);
        assert_eq!(sns.topic_arn, topic_arn);
        assert_eq!(sns.subject.as_deref(), Some("Order update"));
        assert_eq!(sns.message, "order 1 shipped");
        assert!(sns.timestamp.timestamp_millis() > 0);
        assert_eq!(sns.signature_version, "1");
        assert!(!sns.signature.is_empty());
        assert!(!sns.signing_cert_url.is_empty());
        assert!(sns.unsubscribe_url.contains(&subscriptions[function]));
        assert_eq!(sns.message_attributes["store"].data_type, "String");
        assert_eq!(sns.message_attributes["store"].value, "example_corp");
        assert_eq!(sns.message_attributes["price"].data_type, "Number");
        assert_eq!(sns.message_attributes["price"].value, "12.5");
        assert_eq!(raw["Records"][0]["Sns"]["Type"], "Notification");
        assert_eq!(raw["Records"][0]["EventSource"], "aws:sns");
    }

    let listed = server
        .client
        .list_subscriptions_by_topic(&topic_arn)
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    let err = server
        .client
        .publish(proto::PublishRequest {
            topic_arn: "arn:funnel:sns:local:000000000000:nope".into(),
            message: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("NotFoundException"));
}

#[tokio::test]
async fn filter_policies_choose_subscribers_and_permissions_are_checked() {
    let server = start_server().await;
    let topic_arn = server.client.create_topic("orders").await.unwrap();
    for function in ["all", "big", "denied"] {
        server.create(function, guests::RECORDER).await;
    }
    allow_sns(&server, "all", &topic_arn).await;
    allow_sns(&server, "big", &topic_arn).await;
    subscribe(&server, &topic_arn, "all", None).await;
    let big = subscribe(
        &server,
        &topic_arn,
        "big",
        Some(r#"{"store":["example_corp"],"price":[{"numeric":[">=",100]}]}"#),
    )
    .await;
    subscribe(&server, &topic_arn, "denied", None).await;

    publish(
        &server,
        &topic_arn,
        "small",
        &[
            ("store", string_attr("example_corp")),
            ("price", number_attr("5")),
        ],
    )
    .await;
    publish(
        &server,
        &topic_arn,
        "other store",
        &[
            ("store", string_attr("acme")),
            ("price", number_attr("500")),
        ],
    )
    .await;
    publish(
        &server,
        &topic_arn,
        "large",
        &[
            ("store", string_attr("example_corp")),
            ("price", number_attr("1e3")),
        ],
    )
    .await;
    wait_for_message(&server, "big", "large").await;
    eventually("all three at all", || async {
        (received(&server, "all").await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(messages(&received(&server, "big").await), ["large"]);

    // No permission: nothing runs, every refusal is counted.
    let series = format!(
        "funnel_trigger_events_refused_total{{function=\"denied\",source=\"{topic_arn}\",reason=\"AccessDenied\"}} 3"
    );
    assert!(
        server.metrics.render().lines().any(|l| l == series),
        "{}",
        server.metrics.render()
    );
    assert!(received(&server, "denied").await.is_empty());

    // A policy SNS would reject is rejected, at Subscribe and at
    // SetSubscriptionAttributes; a valid change takes effect.
    let mut bad = HashMap::new();
    bad.insert(
        "FilterPolicy".to_string(),
        r#"{"price":[{"numeric":[">"]}]}"#.to_string(),
    );
    let err = server
        .client
        .subscribe(proto::SubscribeRequest {
            topic_arn: topic_arn.clone(),
            protocol: "lambda".into(),
            endpoint: "arn:funnel:lambda:local:000000000000:function:all".into(),
            attributes: bad,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidParameterException"));
    let err = server
        .client
        .set_subscription_attributes(&big, "FilterPolicy", "not json")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidParameterException"));
    server
        .client
        .set_subscription_attributes(&big, "FilterPolicy", r#"{"store":[{"prefix":"ac"}]}"#)
        .await
        .expect("a valid policy");
    publish(
        &server,
        &topic_arn,
        "acme again",
        &[("store", string_attr("acme"))],
    )
    .await;
    wait_for_message(&server, "big", "acme again").await;
}

#[tokio::test]
async fn publish_batch_reports_each_entry() {
    let server = start_server().await;
    let topic_arn = server.client.create_topic("orders").await.unwrap();
    server.create("rec", guests::RECORDER).await;
    allow_sns(&server, "rec", &topic_arn).await;
    subscribe(&server, &topic_arn, "rec", None).await;
    let entry = |id: &str, message: &str| proto::PublishBatchRequestEntry {
        id: id.into(),
        message: message.into(),
        ..Default::default()
    };
    let mut bad = entry("bad", "never");
    bad.message_attributes
        .insert("AWS.reserved".into(), string_attr("x"));
    let out = server
        .client
        .publish_batch(proto::PublishBatchRequest {
            topic_arn: topic_arn.clone(),
            publish_batch_request_entries: vec![entry("one", "first"), bad, entry("two", "second")],
        })
        .await
        .expect("batch");
    let ok: Vec<_> = out.successful.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ok, ["one", "two"]);
    assert_eq!(out.failed.len(), 1);
    assert_eq!(out.failed[0].id, "bad");
    assert!(out.failed[0].sender_fault);
    assert!(
        out.failed[0].message.contains("AWS.reserved"),
        "{}",
        out.failed[0].message
    );
    wait_for_message(&server, "rec", "second").await;
    wait_for_message(&server, "rec", "first").await;
    assert!(!messages(&received(&server, "rec").await).contains(&"never".to_string()));

    let eleven = (0..11).map(|i| entry(&format!("e{i}"), "m")).collect();
    let err = server
        .client
        .publish_batch(proto::PublishBatchRequest {
            topic_arn: topic_arn.clone(),
            publish_batch_request_entries: eleven,
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("TooManyEntriesInBatchRequestException")
    );
    let err = server
        .client
        .publish_batch(proto::PublishBatchRequest {
            topic_arn,
            publish_batch_request_entries: vec![entry("same", "a"), entry("same", "b")],
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("BatchEntryIdsNotDistinctException")
    );
}

#[tokio::test]
async fn a_topic_can_be_an_async_failure_destination() {
    let server = start_server().await;
    let topic_arn = server.client.create_topic("failures").await.unwrap();
    server.create("rec", guests::RECORDER).await;
    allow_sns(&server, "rec", &topic_arn).await;
    subscribe(&server, &topic_arn, "rec", None).await;
    server.create("failing", guests::FAIL).await;
    let config = |destination: &str| proto::PutFunctionEventInvokeConfigRequest {
        function_name: "failing".into(),
        maximum_retry_attempts: Some(0),
        destination_config: Some(proto::DestinationConfig {
            on_failure: Some(proto::OnFailure {
                destination: destination.into(),
            }),
            on_success: None,
        }),
        ..Default::default()
    };
    let err = server
        .client
        .put_function_event_invoke_config(config("arn:funnel:sns:local:000000000000:nope"))
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    server
        .client
        .put_function_event_invoke_config(config(&topic_arn))
        .await
        .expect("a topic destination");
    let accepted = server
        .client
        .invoke(proto::InvokeRequest {
            function_name: "failing".into(),
            invocation_type: "Event".into(),
            payload: br#"{"order":9}"#.to_vec(),
            ..Default::default()
        })
        .await
        .expect("invoke");
    let event = eventually("the failure record at rec", || async {
        received(&server, "rec").await.into_iter().next()
    })
    .await;
    let sns = &event["Records"][0]["Sns"];
    assert_eq!(sns["TopicArn"], topic_arn.as_str());
    let record: serde_json::Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        record["requestContext"]["requestId"],
        accepted.request_id.as_str()
    );
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestPayload"]["order"], 9);
}

#[tokio::test]
async fn publish_stream_answers_each_message_in_order() {
    let server = start_server().await;
    let topic_arn = server.client.create_topic("firehose").await.unwrap();
    server.create("rec", guests::RECORDER).await;
    allow_sns(&server, "rec", &topic_arn).await;
    subscribe(&server, &topic_arn, "rec", None).await;
    let messages: Vec<proto::PublishRequest> = (0..200)
        .map(|i| proto::PublishRequest {
            topic_arn: if i == 57 {
                "arn:funnel:sns:local:000000000000:nope".into()
            } else {
                topic_arn.clone()
            },
            message: format!("m{i}"),
            ..Default::default()
        })
        .collect();
    let mut answers = server
        .client
        .publish_stream(tokio_stream::iter(messages))
        .await
        .expect("stream");
    let mut got = Vec::new();
    while let Some(answer) = answers.message().await.expect("answer") {
        got.push(answer);
    }
    assert_eq!(got.len(), 200);
    assert_eq!(got[57].error_type, "NotFoundException");
    assert!(got[57].message_id.is_empty());
    let ids: std::collections::HashSet<_> = got.iter().map(|a| a.message_id.clone()).collect();
    assert_eq!(ids.len(), 200, "199 distinct ids and one empty");
    eventually("199 deliveries", || async {
        (received(&server, "rec").await.len() == 199).then_some(())
    })
    .await;
    // Answers are in order: the i-th answer's id is the i-th message's.
    let by_id: std::collections::HashMap<String, String> = received(&server, "rec")
        .await
        .iter()
        .map(|e| {
            let sns = &e["Records"][0]["Sns"];
            (
                sns["MessageId"].as_str().unwrap().to_string(),
                sns["Message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (i, answer) in got.iter().enumerate().filter(|(i, _)| *i != 57) {
        assert_eq!(by_id[&answer.message_id], format!("m{i}"));
    }
}
