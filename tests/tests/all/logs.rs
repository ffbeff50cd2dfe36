//! Function logs, the CloudWatch Logs analog: every invocation's START,
//! output, END and REPORT lines are stored per environment stream, can be
//! read, filtered, paged and tailed live, and are bounded by retention.

use funnel_tests::guests;
use std::time::Duration;

use funnel_client::proto;
use funnel_tests::{report_of, start_server, start_server_with, test_config};

#[tokio::test]
async fn invocations_write_lambda_shaped_events_per_stream() {
    let server = start_server().await;
    server.create("hello", guests::HELLO).await;
    let first = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    let second = server.invoke("hello", r#"{"name":"Bob"}"#).await;

    let events = server.log_messages("hello").await;
    let messages: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 8, "{messages:#?}");
    for (i, out) in [&first, &second].iter().enumerate() {
        let lines = &messages[i * 4..i * 4 + 4];
        assert_eq!(
            lines[0],
            format!("START RequestId: {} Version: $LATEST", out.request_id)
        );
        assert!(lines[1].starts_with("hello: greeting "), "{lines:?}");
        assert_eq!(lines[2], format!("END RequestId: {}", out.request_id));
        let report = report_of(lines[3]);
        assert_eq!(report.request_id, out.request_id);
        assert_eq!(
            report.init_duration_ms.is_some(),
            i == 0,
            "Init Duration on the cold start only"
        );
    }
    // One warm environment: one stream, named as Lambda names streams.
    let stream = &events[0].log_stream_name;
    assert!(events.iter().all(|e| &e.log_stream_name == stream));
    let (date, rest) = stream.split_once("/[$LATEST]").expect("stream name");
    assert_eq!(date.len(), "2026/11/26".len(), "{stream}");
    assert_eq!(rest.len(), 32, "{stream}");
    // Timestamps never go backwards; ids are unique.
    assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    let ids: std::collections::HashSet<_> = events.iter().map(|e| &e.event_id).collect();
    assert_eq!(ids.len(), events.len());

    // GetLogEvents reads the stream.
    let page = server
        .client
        .get_log_events(proto::GetLogEventsRequest {
            log_group_name: "/aws/lambda/hello".into(),
            log_stream_name: stream.clone(),
            start_from_head: true,
            ..Default::default()
        })
        .await
        .expect("get log events");
    let got: Vec<&str> = page.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(got, messages);
    // Without startFromHead: the newest `limit`.
    let newest = server
        .client
        .get_log_events(proto::GetLogEventsRequest {
            log_group_name: "/aws/lambda/hello".into(),
            log_stream_name: stream.clone(),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .expect("newest");
    let got: Vec<&str> = newest.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(got, messages[6..]);
    server.stop().await;
}

#[tokio::test]
async fn filter_patterns_time_ranges_and_pages() {
    let server = start_server().await;
    server.create("hello", guests::HELLO).await;
    for name in ["Ada", "Bob", "Cy"] {
        server
            .invoke("hello", &format!(r#"{{"name":"{name}"}}"#))
            .await;
    }
    let filter = |pattern: &str| {
        let client = server.client.clone();
        let pattern = pattern.to_string();
        async move {
            client
                .filter_log_events(proto::FilterLogEventsRequest {
                    log_group_name: "/aws/lambda/hello".into(),
                    filter_pattern: pattern,
                    ..Default::default()
                })
                .await
                .expect("filter")
                .events
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(filter("REPORT").await.len(), 3);
    let greetings = filter("greeting -Bob").await;
    assert_eq!(greetings.len(), 2, "{greetings:?}");
    assert!(greetings.iter().all(|m| !m.contains("Bob")));
    assert_eq!(filter("\"greeting Cy\"").await.len(), 1);
    assert_eq!(filter("?Ada ?Cy").await.len(), 2);

    // Pages of 5 cover all 12 events exactly once.
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = server
            .client
            .filter_log_events(proto::FilterLogEventsRequest {
                log_group_name: "/aws/lambda/hello".into(),
                limit: Some(5),
                next_token: token,
                ..Default::default()
            })
            .await
            .expect("page");
        assert!(page.events.len() <= 5);
        seen.extend(page.events.into_iter().map(|e| e.event_id));
        if page.next_token.is_empty() {
            break;
        }
        token = page.next_token;
    }
    assert_eq!(seen.len(), 12);

    // A time range that ends before the invocations holds nothing.
    let early = server
        .client
        .filter_log_events(proto::FilterLogEventsRequest {
            log_group_name: "/aws/lambda/hello".into(),
            end_time: Some(1_000),
            ..Default::default()
        })
        .await
        .expect("range");
    assert!(early.events.is_empty());

    let err = server
        .client
        .filter_log_events(proto::FilterLogEventsRequest {
            log_group_name: "/aws/lambda/hello".into(),
            next_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_output_goes_to_the_environments_stream() {
    let server = start_server().await;
    server.create("counter", guests::COUNTER).await;
    server.invoke("counter", "{}").await;
    // A configuration change retires the environment: its Shutdown runs.
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "counter".into(),
            timeout: Some(5),
            ..Default::default()
        })
        .await
        .expect("update");
    let events = server.log_messages("counter").await;
    let shutdown = events
        .iter()
        .find(|e| e.message == "counter: shutdown after 1 calls")
        .unwrap_or_else(|| panic!("no shutdown line in {events:#?}"));
    assert_eq!(shutdown.log_stream_name, events[0].log_stream_name);
    server.stop().await;
}

#[tokio::test]
async fn live_tail_streams_new_events() {
    let server = start_server().await;
    server.create("hello", guests::HELLO).await;
    let mut tail = server
        .client
        .start_live_tail(proto::StartLiveTailRequest {
            log_group_identifiers: vec!["/aws/lambda/hello".into()],
            log_event_filter_pattern: "greeting".into(),
            ..Default::default()
        })
        .await
        .expect("live tail");
    server.invoke("hello", r#"{"name":"Live"}"#).await;
    let update = tokio::time::timeout(Duration::from_secs(10), tail.message())
        .await
        .expect("an update in time")
        .expect("stream")
        .expect("an update");
    let event = &update.session_results[0];
    assert!(
        event.message.starts_with("hello: greeting Live"),
        "{event:?}"
    );
    assert_eq!(event.log_group_identifier, "/aws/lambda/hello");
    server.stop().await;
}

#[tokio::test]
async fn retention_bounds_the_log_store_by_age_and_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.logs.max_group_mb = 1;
    let server = start_server_with(config).await;
    server
        .create_with_timeout("chatty", guests::CHATTY, 30)
        .await;

    // Four invocations of ~500 KB of output each: over the 1 MB bound.
    for round in 0..4 {
        server
            .invoke(
                "chatty",
                &format!(r#"{{"lines": 5000, "tag": "round{round}"}}"#),
            )
            .await;
    }
    let removed = server.logs.enforce_retention().await;
    assert!(removed > 0);
    let events = server.log_messages("chatty").await;
    // Stored bytes include more than the messages, so the messages that
    // are left must fit in the bound.
    let bytes: usize = events.iter().map(|e| e.message.len()).sum();
    assert!(bytes <= 1024 * 1024, "{bytes} bytes left");
    assert!(
        bytes > 256 * 1024,
        "only the oldest went: {bytes} bytes left"
    );
    assert!(
        events.iter().all(|e| !e.message.starts_with("round0 ")),
        "the oldest went first"
    );
    assert!(
        events.last().unwrap().message.starts_with("REPORT "),
        "the newest stayed"
    );

    // Eight days later (the default retention is seven), nothing is left.
    server.create("echo", guests::ECHO).await;
    server.invoke("echo", "{}").await;
    server
        .runtime
        .clock()
        .advance(Duration::from_secs(8 * 24 * 3600));
    server.logs.enforce_retention().await;
    assert!(server.log_messages("chatty").await.is_empty());
    assert!(server.log_messages("echo").await.is_empty());
    // New events are kept.
    server.invoke("echo", "{}").await;
    assert_eq!(
        server.log_messages("echo").await.len(),
        3,
        "START, END, REPORT"
    );
    server.stop().await;
}
