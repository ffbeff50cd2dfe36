//! Recordings (`funnel record`) and replay (`funnel replay`) end to end,
//! on the virtual clock: a mixed stream (a bucket's object, a topic's
//! message, a schedule's fire, two sync invokes) recorded with its
//! outcomes and replayed against a version 2 that changes one response;
//! a hand-written day of fires replayed in order on the virtual clock;
//! export → import → export giving the same bytes; refusals.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use funnel_client::{Target, proto};
use funnel_server::Clock;
use funnel_tests::topics::{allow_sns, publish, subscribe};
use funnel_tests::{TestServer, guests, json_of, start_server_on, test_config};
use serde_json::Value;

const START: &str = "2027-03-01T08:00:00Z";

fn at(time: &str) -> SystemTime {
    DateTime::parse_from_rfc3339(time)
        .expect("time")
        .with_timezone(&Utc)
        .into()
}

async fn start(dir: &std::path::Path) -> TestServer {
    start_server_on(test_config(dir), Clock::manual_at(at(START))).await
}

/// Lets everything due now run (the clock does not move).
async fn settle(server: &TestServer) {
    server
        .client
        .advance_clock(Duration::ZERO)
        .await
        .expect("settle");
}

async fn advance(server: &TestServer, by: Duration) {
    server.client.advance_clock(by).await.expect("advance");
}

async fn export(server: &TestServer, name: &str) -> Vec<Value> {
    let (_, lines) = server
        .client
        .export_recording(name, None)
        .await
        .expect("export");
    lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// `hello` (it greets `name`, with $GREETING) wired to a bucket, a
/// topic and an hourly rule.
async fn wire_hello(server: &TestServer) {
    server.create("hello", guests::HELLO).await;
    let client = &server.client;
    client.create_bucket("photos", None).await.expect("bucket");
    server
        .allow("hello", "s3", "s3.amazonaws.com", "arn:funnel:s3:::photos")
        .await;
    client
        .put_bucket_notification_configuration(
            "photos",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "hello".into(),
                    lambda_function_arn: "arn:funnel:lambda:local:000000000000:function:hello"
                        .into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await
        .expect("notifications");
    let topic = client.create_topic("orders").await.expect("topic");
    allow_sns(server, "hello", &topic).await;
    subscribe(server, &topic, "hello", None).await;
    client
        .put_rule(proto::PutRuleRequest {
            name: "hourly".into(),
            schedule_expression: "rate(1 hour)".into(),
            ..Default::default()
        })
        .await
        .expect("rule");
    server
        .allow(
            "hello",
            "events",
            "events.amazonaws.com",
            "arn:funnel:events:local:000000000000:rule/hourly",
        )
        .await;
    let failed = client
        .put_targets(
            "hourly",
            vec![Target {
                id: "hello".into(),
                function: "hello".into(),
                input: None,
            }],
        )
        .await
        .expect("targets");
    assert!(failed.is_empty(), "{failed:?}");
}

#[tokio::test]
async fn a_mixed_stream_replayed_against_version_2_changes_exactly_one_response() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path()).await;
    wire_hello(&server).await;
    let client = &server.client;
    let v1 = client
        .publish_version(proto::PublishVersionRequest {
            function_name: "hello".into(),
            ..Default::default()
        })
        .await
        .expect("version 1");
    assert_eq!(v1.version, "1");

    let started = client
        .start_recording(proto::StartRecordingRequest {
            name: "morning".into(),
            function_names: vec!["hello".into()],
            ..Default::default()
        })
        .await
        .expect("start");
    assert_eq!(started.state, "recording");
    assert_eq!(started.started, "2027-03-01T08:00:00.000Z");

    client
        .put_object("photos", "cat.jpg", b"meow".to_vec())
        .await
        .expect("put");
    settle(&server).await;
    // Past the s3 event's two retries (1 and 2 minutes later).
    advance(&server, Duration::from_secs(10 * 60)).await;
    let topic = "arn:funnel:sns:local:000000000000:orders";
    publish(&server, topic, r#"{"id":1}"#, &[]).await;
    settle(&server).await;
    // The rule's first fire, at 09:00.
    client
        .set_clock("2027-03-01T09:00:30Z")
        .await
        .expect("set clock");
    let ada = server.invoke("hello", r#"{"name":"ada"}"#).await;
    assert_eq!(json_of(&ada)["message"], "Hello, ada!");
    let refused = server.invoke("hello", r#"{"nom":"x"}"#).await;
    assert_eq!(refused.function_error, "Handled");
    let stopped = client.stop_recording("morning").await.expect("stop");
    assert_eq!((stopped.state.as_str(), stopped.events), ("stopped", 5));
    // Not recorded once stopped.
    server.invoke("hello", r#"{"name":"late"}"#).await;

    let morning = export(&server, "morning").await;
    let doors: Vec<&str> = morning
        .iter()
        .map(|e| e["door"].as_str().unwrap())
        .collect();
    assert_eq!(doors, ["s3", "sns", "schedule", "invoke", "invoke"]);
    let seqs: Vec<u64> = morning.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let times: Vec<&str> = morning
        .iter()
        .map(|e| e["time"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "2027-03-01T08:00:00.000Z",
            "2027-03-01T08:10:00.000Z",
            "2027-03-01T09:00:00.000Z",
            "2027-03-01T09:00:30.000Z",
            "2027-03-01T09:00:30.000Z",
        ]
    );
    let invocations: Vec<&str> = morning
        .iter()
        .map(|e| e["invocation"].as_str().unwrap())
        .collect();
    assert_eq!(
        invocations,
        [
            "Event",
            "Event",
            "Event",
            "RequestResponse",
            "RequestResponse"
        ]
    );
    // The exact payloads the function got.
    assert_eq!(
        morning[0]["payload"]["Records"][0]["s3"]["object"]["key"],
        "cat.jpg"
    );
    assert_eq!(
        morning[1]["payload"]["Records"][0]["Sns"]["Message"],
        r#"{"id":1}"#
    );
    assert_eq!(morning[2]["payload"]["detail-type"], "Scheduled Event");
    assert_eq!(morning[3]["payload"], serde_json::json!({"name": "ada"}));
    // Outcomes: hello greets only a payload with a name; the s3 event
    // failed three times (two retries), as one entry.
    let statuses: Vec<&str> = morning
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["error", "error", "error", "ok", "error"]);
    assert_eq!(morning[0]["attempts"], 3);
    assert_eq!(morning[0]["function_error"], "Handled");
    assert_ne!(morning[0]["error_type"], "");
    assert_eq!(morning[3]["response"]["message"], "Hello, ada!");
    assert_eq!(morning[3]["version"], "$LATEST");
    assert!(morning[3]["billed_ms"].as_u64().unwrap() >= 1);

    // Version 2 greets differently.
    client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "hello".into(),
            environment: Some(proto::Environment {
                variables: HashMap::from([("GREETING".into(), "Howdy".into())]),
            }),
            ..Default::default()
        })
        .await
        .expect("update");
    let v2 = client
        .publish_version(proto::PublishVersionRequest {
            function_name: "hello".into(),
            ..Default::default()
        })
        .await
        .expect("version 2");
    assert_eq!(v2.version, "2");

    let before = client.get_clock().await.expect("clock").time;
    let replay = client
        .replay_recording(proto::ReplayRecordingRequest {
            name: "morning".into(),
            function_name: "hello".into(),
            qualifier: "2".into(),
            timing: "virtual".into(),
            ..Default::default()
        })
        .await
        .expect("replay");
    assert_eq!(replay.name, "morning-replay-1");
    assert_eq!(replay.origin, "replay of morning to hello:2");
    assert_eq!((replay.state.as_str(), replay.events), ("stopped", 5));
    // Hello and Howdy are as long: the same bytes as the original.
    assert_eq!(replay.bytes, stopped.bytes);
    // The replay kept the recorded spacing on the virtual clock.
    let after = client.get_clock().await.expect("clock").time;
    let spent = at(&after).duration_since(at(&before)).expect("forward");
    assert!(
        spent >= Duration::from_secs(60 * 60 + 30),
        "{before} → {after}"
    );

    let replayed = export(&server, "morning-replay-1").await;
    assert_eq!(replayed.len(), 5);
    for (a, b) in morning.iter().zip(&replayed) {
        assert_eq!(a["seq"], b["seq"]);
        assert_eq!(a["door"], b["door"]);
        assert_eq!(a["invocation"], b["invocation"]);
        assert_eq!(a["payload"], b["payload"], "the same event, byte for byte");
        assert_eq!(b["qualifier"], "2");
        assert_eq!(b["version"], "2");
    }
    let changed: Vec<(u64, &Value, &Value)> = morning
        .iter()
        .zip(&replayed)
        .filter(|(a, b)| a["response"] != b["response"] || a["status"] != b["status"])
        .map(|(a, b)| (a["seq"].as_u64().unwrap(), &a["response"], &b["response"]))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, 4);
    assert_eq!(changed[0].2["message"], "Howdy, ada!");
    // The replayed times keep the recording's offsets.
    let offset = |events: &[Value], i: usize| {
        at(events[i]["time"].as_str().unwrap())
            .duration_since(at(events[0]["time"].as_str().unwrap()))
            .unwrap()
    };
    for i in 0..5 {
        assert_eq!(offset(&morning, i), offset(&replayed, i), "event {i}");
    }
    let listed: Vec<String> = client
        .list_recordings()
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(listed, ["morning", "morning-replay-1"]);
}

/// A day of hourly fires, written by hand as JSON Lines.
fn a_day_of_fires() -> Vec<String> {
    (0..24)
        .map(|hour| {
            format!(
                r#"{{"time":"2027-03-02T{hour:02}:00:00Z","door":"schedule","payload":{{"detail-type":"Scheduled Event","hour":{hour}}}}}"#
            )
        })
        .collect()
}

#[tokio::test]
async fn a_day_replays_on_the_virtual_clock_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path()).await;
    server.create("rec", guests::RECORDER).await;
    let client = &server.client;
    let imported = client
        .import_recording("day", a_day_of_fires())
        .await
        .expect("import");
    assert_eq!((imported.events, imported.origin.as_str()), (24, "import"));
    let replay = client
        .replay_recording(proto::ReplayRecordingRequest {
            name: "day".into(),
            function_name: "rec".into(),
            timing: "virtual".into(),
            r#as: "day-on-rec".into(),
            ..Default::default()
        })
        .await
        .expect("replay");
    assert_eq!((replay.name.as_str(), replay.events), ("day-on-rec", 24));
    let replayed = export(&server, "day-on-rec").await;
    let hours: Vec<i64> = replayed
        .iter()
        .map(|e| e["payload"]["hour"].as_i64().unwrap())
        .collect();
    assert_eq!(hours, (0..24).collect::<Vec<_>>());
    for (i, event) in replayed.iter().enumerate() {
        assert_eq!(event["status"], "ok", "{event}");
        assert_eq!(event["invocation"], "Event");
        assert_eq!(event["response"]["recorded"], true);
        if i > 0 {
            let gap = at(event["time"].as_str().unwrap())
                .duration_since(at(replayed[i - 1]["time"].as_str().unwrap()))
                .unwrap();
            assert_eq!(gap, Duration::from_secs(3600), "an hour between fires");
        }
    }
    // The guest saw them in order.
    let seen: Vec<i64> = server
        .log_messages("rec")
        .await
        .iter()
        .filter_map(|e| e.message.trim_end().strip_prefix("record: "))
        .map(|json| {
            serde_json::from_str::<Value>(json).unwrap()["hour"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(seen, (0..24).collect::<Vec<_>>());
    // A fast replay sends all at once: its async events finish after
    // the answer, and the recording settles when the last has run.
    let fast = client
        .replay_recording(proto::ReplayRecordingRequest {
            name: "day".into(),
            function_name: "rec".into(),
            concurrency: 4,
            ..Default::default()
        })
        .await
        .expect("fast replay");
    assert_eq!((fast.name.as_str(), fast.events), ("day-replay-1", 24));
    settle(&server).await;
    let fast = export(&server, "day-replay-1").await;
    assert!(fast.iter().all(|e| e["status"] == "ok"), "{fast:?}");
    let settled = client.list_recordings().await.expect("list");
    assert!(settled.iter().all(|r| r.state == "stopped"), "{settled:?}");
    // An original replay waits on the real clock: refused on this one.
    let err = client
        .replay_recording(proto::ReplayRecordingRequest {
            name: "day".into(),
            function_name: "rec".into(),
            timing: "original".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--timing virtual"), "{err}");
}

#[tokio::test]
async fn export_import_export_gives_the_same_bytes_and_refusals_name_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path()).await;
    server.create("hello", guests::HELLO).await;
    let client = &server.client;
    client
        .start_recording(proto::StartRecordingRequest {
            name: "calls".into(),
            triggers: vec!["invoke".into()],
            ..Default::default()
        })
        .await
        .expect("start");
    server.invoke("hello", "{\n  \"name\": \"ada\"\n}").await;
    server.invoke("hello", r#"{"nom":1}"#).await;
    // An async Invoke is the invoke door too, as an Event.
    client
        .invoke(proto::InvokeRequest {
            function_name: "hello".into(),
            invocation_type: "Event".into(),
            payload: br#"{"name":"later"}"#.to_vec(),
            ..Default::default()
        })
        .await
        .expect("async invoke");
    settle(&server).await;
    let (_, first) = client
        .export_recording("calls", None)
        .await
        .expect("export");
    assert_eq!(first.len(), 3);
    let lines: Vec<Value> = first
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The payload exactly as sent, line breaks and all, on the server;
    // the export writes it compact.
    assert_eq!(lines[0]["payload"], serde_json::json!({"name": "ada"}));
    assert_eq!(
        (lines[2]["door"].as_str(), lines[2]["invocation"].as_str()),
        (Some("invoke"), Some("Event"))
    );
    assert_eq!(lines[2]["response"]["message"], "Hello, later!");
    client
        .import_recording("copy", first.clone())
        .await
        .expect("import");
    let (_, again) = client.export_recording("copy", None).await.expect("export");
    assert_eq!(first.join("\n"), again.join("\n"));
    // Paged exports and show's limit.
    let (_, one) = client
        .export_recording("calls", Some(1))
        .await
        .expect("one");
    assert_eq!(one, first[..1]);

    let refusal = |err: funnel_client::Error| err.to_string();
    let err = refusal(
        client
            .start_recording(proto::StartRecordingRequest {
                name: "calls".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );
    assert!(err.contains("ResourceConflictException"), "{err}");
    let err = refusal(
        client
            .start_recording(proto::StartRecordingRequest {
                name: "x".into(),
                function_names: vec!["nope".into()],
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let err = refusal(client.stop_recording("nope").await.unwrap_err());
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let err = refusal(
        client
            .import_recording("bad", vec![r#"{"door":"s3","payload":{}}"#.into()])
            .await
            .unwrap_err(),
    );
    assert!(err.contains("line 1: missing field `time`"), "{err}");
    let err = refusal(
        client
            .replay_recording(proto::ReplayRecordingRequest {
                name: "calls".into(),
                function_name: "nope".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    client.delete_recording("copy").await.expect("delete");
    let err = refusal(client.delete_recording("copy").await.unwrap_err());
    assert!(err.contains("ResourceNotFoundException"), "{err}");
}

#[tokio::test]
async fn a_recording_goes_on_after_a_restart_and_accounts_see_their_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = start(dir.path()).await;
    first.create("hello", guests::HELLO).await;
    first
        .client
        .start_recording(proto::StartRecordingRequest {
            name: "long".into(),
            function_names: vec!["hello".into()],
            ..Default::default()
        })
        .await
        .expect("start");
    first.invoke("hello", r#"{"name":"before"}"#).await;
    first.stop().await;

    let second = start(dir.path()).await;
    second.invoke("hello", r#"{"name":"after"}"#).await;
    let long = second.client.stop_recording("long").await.expect("stop");
    assert_eq!(long.events, 2);
    let names: Vec<Value> = export(&second, "long")
        .await
        .iter()
        .map(|e| e["payload"]["name"].clone())
        .collect();
    assert_eq!(names, ["before", "after"]);

    // Another account neither sees it nor records the home account's calls.
    let other = second.account_client("111111111111", "team").await;
    assert!(other.list_recordings().await.expect("list").is_empty());
    let err = other.export_recording("long", None).await.unwrap_err();
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
    let theirs = other
        .start_recording(proto::StartRecordingRequest {
            name: "long".into(),
            ..Default::default()
        })
        .await
        .expect("the same name in another account");
    assert!(theirs.function_names.is_empty());
    second.invoke("hello", r#"{"name":"home"}"#).await;
    let (theirs, lines) = other.export_recording("long", None).await.expect("export");
    assert_eq!((theirs.events, lines.len()), (0, 0));
}

#[tokio::test]
async fn on_the_real_clock_original_timing_replays_and_virtual_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_on(test_config(dir.path()), Clock::system()).await;
    server.create("hello", guests::HELLO).await;
    let client = &server.client;
    // Both at the same moment: the original spacing is no wait at all.
    let lines = vec![
        r#"{"time":"2027-03-01T08:00:00Z","door":"invoke","payload":{"name":"a"}}"#.to_string(),
        r#"{"time":"2027-03-01T08:00:00Z","door":"http","payload":{"name":"b"}}"#.to_string(),
    ];
    client.import_recording("two", lines).await.expect("import");
    let replay = client
        .replay_recording(proto::ReplayRecordingRequest {
            name: "two".into(),
            function_name: "hello".into(),
            timing: "original".into(),
            speed: 10.0,
            ..Default::default()
        })
        .await
        .expect("replay");
    assert_eq!((replay.state.as_str(), replay.events), ("stopped", 2));
    let replayed = export(&server, "two-replay-1").await;
    let messages: Vec<&Value> = replayed.iter().map(|e| &e["response"]["message"]).collect();
    assert_eq!(messages, ["Hello, a!", "Hello, b!"]);
    assert_eq!(replayed[1]["door"], "http");
    assert_eq!(replayed[1]["invocation"], "RequestResponse");
    let err = client
        .replay_recording(proto::ReplayRecordingRequest {
            name: "two".into(),
            function_name: "hello".into(),
            timing: "virtual".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("PreconditionFailedException"),
        "{err}"
    );
    assert!(err.to_string().contains("--clock virtual"), "{err}");
    server.stop().await;
}
