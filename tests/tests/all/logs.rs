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

    // As CloudWatch: a group nothing ever logged to is not found.
    let err = server
        .client
        .filter_log_events(proto::FilterLogEventsRequest {
            log_group_name: "/aws/lambda/never-ran".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    assert!(err.message.contains("/aws/lambda/never-ran"), "{err}");
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

/// Every page of the groups `client` lists with `prefix`.
async fn all_groups(client: &funnel_client::Client, prefix: &str) -> Vec<proto::LogGroup> {
    let mut request = proto::DescribeLogGroupsRequest {
        log_group_name_prefix: prefix.into(),
        ..Default::default()
    };
    let mut groups = Vec::new();
    loop {
        let page = client
            .describe_log_groups(request.clone())
            .await
            .expect("describe log groups");
        groups.extend(page.log_groups);
        if page.next_token.is_empty() {
            return groups;
        }
        request.next_token = page.next_token;
    }
}

fn names(groups: &[proto::LogGroup]) -> Vec<&str> {
    groups.iter().map(|g| g.log_group_name.as_str()).collect()
}

fn refused<T: std::fmt::Debug>(result: Result<T, funnel_client::Error>, name: &str) {
    let err = result.expect_err("refused");
    assert_eq!(err.error_type.as_deref(), Some(name), "{err}");
}

#[tokio::test]
async fn log_groups_are_listed_by_account_prefix_and_page() {
    let server = start_server().await;
    for name in ["api-a", "api-b", "api-c", "worker"] {
        server.create(name, guests::HELLO).await;
        server.invoke(name, r#"{"name":"Ada"}"#).await;
    }
    // A deleted function's group stays, with its events.
    server
        .client
        .delete_function("api-c")
        .await
        .expect("delete");

    let groups = all_groups(&server.client, "").await;
    assert_eq!(
        names(&groups),
        [
            "/aws/lambda/api-a",
            "/aws/lambda/api-b",
            "/aws/lambda/api-c",
            "/aws/lambda/worker"
        ]
    );
    let first_event = server.log_messages("api-a").await[0].ingestion_time;
    for group in &groups {
        let arn = format!(
            "arn:funnel:logs:local:000000000000:log-group:{}",
            group.log_group_name
        );
        assert_eq!(group.arn, format!("{arn}:*"));
        assert_eq!(group.log_group_arn, arn);
        assert!(group.stored_bytes > 0, "{group:?}");
        assert_eq!(group.retention_in_days, Some(7), "the default retention");
    }
    // Created when its first event was ingested.
    assert_eq!(groups[0].creation_time, first_event);
    assert!(groups[1].creation_time >= groups[0].creation_time);

    // A prefix; a page of two, then the rest.
    let api = all_groups(&server.client, "/aws/lambda/api-").await;
    assert_eq!(names(&api), names(&groups[..3]));
    let first = server
        .client
        .describe_log_groups(proto::DescribeLogGroupsRequest {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .expect("first page");
    assert_eq!(names(&first.log_groups), names(&groups[..2]));
    assert!(!first.next_token.is_empty());
    let rest = server
        .client
        .describe_log_groups(proto::DescribeLogGroupsRequest {
            limit: Some(2),
            next_token: first.next_token,
            ..Default::default()
        })
        .await
        .expect("second page");
    assert_eq!(names(&rest.log_groups), names(&groups[2..]));
    assert_eq!(rest.next_token, "", "the last page");
    for limit in [0, 51] {
        refused(
            server
                .client
                .describe_log_groups(proto::DescribeLogGroupsRequest {
                    limit: Some(limit),
                    ..Default::default()
                })
                .await,
            "InvalidParameterValueException",
        );
    }
    refused(
        server
            .client
            .describe_log_groups(proto::DescribeLogGroupsRequest {
                next_token: "not a token".into(),
                ..Default::default()
            })
            .await,
        "InvalidParameterValueException",
    );

    // Another account lists its own groups only, and cannot list the
    // streams of ours.
    let team = "111111111111";
    let b = server.account_client(team, "team-b").await;
    assert!(all_groups(&b, "").await.is_empty());
    b.create_function(funnel_tests::create_request(
        "api-a",
        funnel_tests::guest(guests::HELLO),
    ))
    .await
    .expect("B's function");
    b.invoke(funnel_tests::invoke_request("api-a", "{}"))
        .await
        .expect("B's invoke");
    let theirs = all_groups(&b, "").await;
    assert_eq!(names(&theirs), ["/aws/lambda/api-a"]);
    assert_eq!(
        theirs[0].log_group_arn,
        format!("arn:funnel:logs:local:{team}:log-group:/aws/lambda/api-a")
    );
    assert_eq!(all_groups(&server.client, "").await.len(), 4);
    refused(
        b.describe_log_streams(proto::DescribeLogStreamsRequest {
            log_group_identifier: groups[0].log_group_arn.clone(),
            ..Default::default()
        })
        .await,
        "AccessDeniedException",
    );
    server.stop().await;
}

#[tokio::test]
async fn log_streams_are_listed_with_their_first_and_last_events() {
    let server = start_server().await;
    server.create("worker", guests::HELLO).await;
    server.invoke("worker", r#"{"name":"one"}"#).await;
    // A configuration change retires the environment: the next call
    // writes a second stream.
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "worker".into(),
            timeout: Some(5),
            ..Default::default()
        })
        .await
        .expect("update");
    server.invoke("worker", r#"{"name":"two"}"#).await;
    server.invoke("worker", r#"{"name":"three"}"#).await;
    let events = server.log_messages("worker").await;

    let describe = |request: proto::DescribeLogStreamsRequest| {
        let client = server.client.clone();
        async move {
            client
                .describe_log_streams(proto::DescribeLogStreamsRequest {
                    log_group_name: "/aws/lambda/worker".into(),
                    ..request
                })
                .await
        }
    };
    let by_name = describe(Default::default()).await.expect("streams");
    let streams = by_name.log_streams;
    assert_eq!(streams.len(), 2, "{streams:#?}");
    assert!(streams[0].log_stream_name < streams[1].log_stream_name);
    for stream in &streams {
        let own: Vec<_> = events
            .iter()
            .filter(|e| e.log_stream_name == stream.log_stream_name)
            .collect();
        assert!(!own.is_empty(), "{stream:?}");
        let timestamps = own.iter().map(|e| e.timestamp);
        let ingested = own.iter().map(|e| e.ingestion_time);
        assert_eq!(
            stream.first_event_timestamp,
            timestamps.clone().min().unwrap()
        );
        assert_eq!(stream.last_event_timestamp, timestamps.max().unwrap());
        assert_eq!(stream.creation_time, ingested.clone().min().unwrap());
        assert_eq!(stream.last_ingestion_time, ingested.max().unwrap());
        let bytes: usize = own.iter().map(|e| e.message.len()).sum();
        assert_eq!(stream.stored_bytes, bytes as i64);
        assert_eq!(
            stream.arn,
            format!(
                "arn:funnel:logs:local:000000000000:log-group:/aws/lambda/worker:log-stream:{}",
                stream.log_stream_name
            )
        );
    }
    // The second environment's stream ("two", "three") is newer.
    let newest = events.last().unwrap().log_stream_name.clone();
    let oldest = events[0].log_stream_name.clone();
    assert_ne!(newest, oldest);

    // By last event time, newest first, a page at a time.
    let mut order = Vec::new();
    let mut next_token = String::new();
    loop {
        let page = describe(proto::DescribeLogStreamsRequest {
            order_by: "LastEventTime".into(),
            descending: true,
            limit: Some(1),
            next_token,
            ..Default::default()
        })
        .await
        .expect("a page");
        assert_eq!(page.log_streams.len(), 1);
        order.push(page.log_streams[0].log_stream_name.clone());
        if page.next_token.is_empty() {
            break;
        }
        next_token = page.next_token;
    }
    assert_eq!(order, [newest.clone(), oldest.clone()]);
    // Ascending: the other way.
    let ascending = describe(proto::DescribeLogStreamsRequest {
        order_by: "LastEventTime".into(),
        ..Default::default()
    })
    .await
    .expect("ascending");
    let names: Vec<&str> = ascending
        .log_streams
        .iter()
        .map(|s| s.log_stream_name.as_str())
        .collect();
    assert_eq!(names, [oldest.as_str(), newest.as_str()]);

    // A prefix picks a stream; not with LastEventTime.
    let picked = describe(proto::DescribeLogStreamsRequest {
        log_stream_name_prefix: newest.clone(),
        ..Default::default()
    })
    .await
    .expect("prefix");
    assert_eq!(picked.log_streams.len(), 1);
    assert_eq!(picked.log_streams[0].log_stream_name, newest);
    refused(
        describe(proto::DescribeLogStreamsRequest {
            log_stream_name_prefix: newest.clone(),
            order_by: "LastEventTime".into(),
            ..Default::default()
        })
        .await,
        "InvalidParameterValueException",
    );
    // A group by ARN, as logGroupIdentifier.
    let by_arn = server
        .client
        .describe_log_streams(proto::DescribeLogStreamsRequest {
            log_group_identifier:
                "arn:funnel:logs:local:000000000000:log-group:/aws/lambda/worker:*".into(),
            ..Default::default()
        })
        .await
        .expect("by ARN");
    assert_eq!(by_arn.log_streams, streams);
    // A group that never logged.
    refused(
        server
            .client
            .describe_log_streams(proto::DescribeLogStreamsRequest {
                log_group_name: "/aws/lambda/nobody".into(),
                ..Default::default()
            })
            .await,
        "ResourceNotFoundException",
    );
    server.stop().await;
}
