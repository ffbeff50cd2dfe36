//! Schedule rules end to end, on a virtual clock moved through the real
//! Clock API: fires in order, the Scheduled Event's shape, constant Input,
//! disabled rules, refusals, restarts (no double fire; catch-up on and
//! off), and an async retry's waits driven by the clock.
//!
//! What is promised about order: fires due at different times run in time
//! order (the clock settles each due time before it moves on). Catch-up
//! fires replayed together at start are queued oldest first but, as
//! EventBridge's, delivered in no promised order; the tests compare them as
//! a set.

use funnel_tests::guests;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use funnel_client::{Target, proto};
use funnel_server::Clock;
use funnel_tests::topics::received;
use funnel_tests::{TestServer, start_server_on, test_config};

const START: &str = "2027-01-01T00:00:00Z";

fn at(time: &str) -> SystemTime {
    DateTime::parse_from_rfc3339(time)
        .expect("time")
        .with_timezone(&Utc)
        .into()
}

async fn start_at(dir: &std::path::Path, time: &str) -> TestServer {
    start_server_on(test_config(dir), Clock::manual_at(at(time))).await
}

fn rule_arn(rule: &str) -> String {
    format!("arn:funnel:events:local:000000000000:rule/{rule}")
}

/// A recorder function `function` that `rule` may invoke, as its target.
async fn wire(server: &TestServer, rule: &str, function: &str, input: Option<&str>) {
    if server.client.get_function(function).await.is_err() {
        server.create(function, guests::RECORDER).await;
    }
    server
        .allow(
            function,
            &format!("events-{rule}"),
            "events.amazonaws.com",
            &rule_arn(rule),
        )
        .await;
    let failed = server
        .client
        .put_targets(
            rule,
            vec![Target {
                id: format!("{function}-target"),
                function: function.into(),
                input: input.map(str::to_string),
            }],
        )
        .await
        .expect("put targets");
    assert!(failed.is_empty(), "{failed:?}");
}

/// The `time` of each Scheduled Event `function` received, in order.
async fn fire_times(server: &TestServer, function: &str) -> Vec<String> {
    received(server, function)
        .await
        .iter()
        .map(|e| e["time"].as_str().unwrap_or("no time").to_string())
        .collect()
}

async fn advance(server: &TestServer, by: Duration) -> proto::AdvanceClockResponse {
    server.client.advance_clock(by).await.expect("advance")
}

#[tokio::test]
async fn an_hourly_rule_fires_24_times_a_day_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    let clock = server.client.get_clock().await.unwrap();
    assert_eq!(
        (clock.time.as_str(), clock.kind.as_str()),
        (START, "virtual")
    );

    let arn = server
        .client
        .put_schedule("hourly", "cron(0 * * * ? *)")
        .await
        .unwrap();
    assert_eq!(arn, rule_arn("hourly"));
    wire(&server, "hourly", "audit", None).await;
    // A rate counts from when the rule was made (here, 30 minutes in).
    advance(&server, Duration::from_secs(30 * 60)).await;
    server
        .client
        .put_schedule("every-hour", "rate(1 hour)")
        .await
        .unwrap();
    wire(&server, "every-hour", "ticker", None).await;

    let moved = advance(&server, Duration::from_secs(86_400)).await;
    assert_eq!(moved.time, "2027-01-02T00:30:00Z");
    assert_eq!(moved.invocations, 48, "each ran before advance returned");

    let hourly = fire_times(&server, "audit").await;
    let expected: Vec<String> = (1..=24)
        .map(|h| {
            let t = at(START) + Duration::from_secs(h * 3600);
            DateTime::<Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .collect();
    assert_eq!(hourly, expected);
    let rated = fire_times(&server, "ticker").await;
    assert_eq!(rated.len(), 24);
    assert_eq!(rated.first().unwrap(), "2027-01-01T01:30:00Z");
    assert_eq!(rated.last().unwrap(), "2027-01-02T00:30:00Z");

    // The Scheduled Event, as aws_lambda_events reads it.
    let events = received(&server, "audit").await;
    let raw = &events[0];
    let event: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_value(raw.clone()).expect("an EventBridge event");
    assert_eq!(event.version.as_deref(), Some("0"));
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.source, "aws.events");
    assert_eq!(event.account.as_deref(), Some("000000000000"));
    assert_eq!(event.region.as_deref(), Some("local"));
    assert_eq!(event.resources, Some(vec![rule_arn("hourly")]));
    assert_eq!(
        event.time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2027-01-01T01:00:00+00:00")
    );
    assert_eq!(raw["detail"], serde_json::json!({}));
    assert!(uuid_like(raw["id"].as_str().unwrap()));
    assert_ne!(raw["id"], events[1]["id"], "each fire has its own id");
    server.stop().await;
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn constant_input_disabled_rules_and_enabling() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    server
        .client
        .put_schedule("nightly", "cron(0 0 * * ? *)")
        .await
        .unwrap();
    wire(
        &server,
        "nightly",
        "batch",
        Some(r#"{"job":"compact","level":3}"#),
    )
    .await;
    server
        .client
        .put_rule(proto::PutRuleRequest {
            name: "paused".into(),
            schedule_expression: "rate(1 minute)".into(),
            state: "DISABLED".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    wire(&server, "paused", "idle", None).await;

    advance(&server, Duration::from_secs(2 * 86_400)).await;
    let inputs = received(&server, "batch").await;
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0], serde_json::json!({"job": "compact", "level": 3}));
    assert!(
        received(&server, "idle").await.is_empty(),
        "a disabled rule does not fire"
    );
    let described = server.client.describe_rule("paused").await.unwrap();
    assert_eq!(described.state, "DISABLED");
    assert_eq!(described.arn, rule_arn("paused"));

    // Enabled, it fires from then on; the disabled days are not made up.
    server.client.enable_rule("paused").await.unwrap();
    advance(&server, Duration::from_secs(180)).await;
    assert_eq!(
        fire_times(&server, "idle").await,
        [
            "2027-01-03T00:01:00Z",
            "2027-01-03T00:02:00Z",
            "2027-01-03T00:03:00Z"
        ]
    );
    server.client.disable_rule("paused").await.unwrap();
    advance(&server, Duration::from_secs(600)).await;
    assert_eq!(fire_times(&server, "idle").await.len(), 3);
    server.stop().await;
}

#[tokio::test]
async fn rule_api_errors_are_eventbridges() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    let client = &server.client;
    let err = client
        .put_schedule("bad", "rate(1 minutes)")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ValidationException"));
    assert!(err.message.contains("rate(1 minute)"), "{err}");
    let err = client
        .put_schedule("bad", "cron(0 10 * * * *)")
        .await
        .unwrap_err();
    assert!(err.message.contains('?'), "{err}");
    let err = client
        .put_schedule("no spaces", "rate(5 minutes)")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ValidationException"));
    let err = client.describe_rule("missing").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));

    client.put_schedule("r", "rate(5 minutes)").await.unwrap();
    wire(&server, "r", "f", None).await;
    let err = client.delete_rule("r").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ValidationException"));
    assert!(err.message.contains("has targets"), "{err}");

    // A bad entry is reported, the good one is put.
    let failed = client
        .put_targets(
            "r",
            vec![
                Target {
                    id: "ok".into(),
                    function: "f".into(),
                    input: Some("{}".into()),
                },
                Target {
                    id: "bad-input".into(),
                    function: "f".into(),
                    input: Some("{nope".into()),
                },
                Target {
                    id: "gone".into(),
                    function: "no-such-fn:x:y".into(),
                    input: None,
                },
            ],
        )
        .await
        .unwrap();
    let ids: Vec<&str> = failed.iter().map(|f| f.target_id.as_str()).collect();
    assert_eq!(ids, ["bad-input", "gone"], "{failed:?}");
    assert_eq!(client.list_all_targets("r").await.unwrap().len(), 2);
    // Five at most.
    let many: Vec<Target> = (0..4)
        .map(|i| Target {
            id: format!("t{i}"),
            function: "f".into(),
            input: None,
        })
        .collect();
    let err = client.put_targets("r", many).await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("LimitExceededException"));

    let ids: Vec<String> = client
        .list_all_targets("r")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let failed = client
        .remove_targets("r", &[ids.clone(), vec!["never".into()]].concat())
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    client.delete_rule("r").await.unwrap();
    assert!(client.list_all_rules("").await.unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_target_without_permission_gets_nothing_and_it_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    server.create("private", guests::RECORDER).await;
    server
        .client
        .put_schedule("tick", "rate(1 minute)")
        .await
        .unwrap();
    let failed = server
        .client
        .put_targets(
            "tick",
            vec![Target {
                id: "p".into(),
                function: "private".into(),
                input: None,
            }],
        )
        .await
        .unwrap();
    assert!(failed.is_empty());
    let moved = advance(&server, Duration::from_secs(120)).await;
    assert_eq!(moved.invocations, 0);
    assert!(received(&server, "private").await.is_empty());
    let metrics = server.client.get_metrics("").await.unwrap();
    let refused = metrics
        .lines()
        .find(|l| l.contains("refused") && l.contains(&rule_arn("tick")) && !l.starts_with('#'))
        .unwrap_or_else(|| panic!("no refusal counted in:\n{metrics}"));
    assert!(refused.trim_end().ends_with(" 2"), "{refused}");
    server.stop().await;
}

#[tokio::test]
async fn restarts_never_fire_twice_and_catch_up_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    server
        .client
        .put_schedule("plain", "rate(1 hour)")
        .await
        .unwrap();
    wire(&server, "plain", "plain-fn", None).await;
    server
        .client
        .put_rule(proto::PutRuleRequest {
            name: "eager".into(),
            schedule_expression: "rate(1 hour)".into(),
            catch_up: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    wire(&server, "eager", "eager-fn", None).await;
    advance(&server, Duration::from_secs(3600)).await;
    assert_eq!(
        fire_times(&server, "plain-fn").await,
        ["2027-01-01T01:00:00Z"]
    );
    server.stop().await;

    // Back at the same instant: what fired does not fire again.
    let server = start_at(dir.path(), "2027-01-01T01:00:00Z").await;
    advance(&server, Duration::from_secs(60)).await;
    assert_eq!(fire_times(&server, "plain-fn").await.len(), 1);
    assert_eq!(fire_times(&server, "eager-fn").await.len(), 1);
    server.stop().await;

    // Down from 01:01 to 05:30: 02:00 .. 05:00 were missed. The plain rule
    // does not replay them; the eager one fires the last two at start.
    let server = start_at(dir.path(), "2027-01-01T05:30:00Z").await;
    advance(&server, Duration::from_secs(60)).await;
    assert_eq!(fire_times(&server, "plain-fn").await.len(), 1);
    // Each missed time once, only the last two; the two replayed together
    // run side by side, so in no promised order (RFC 3339 in UTC sorts as
    // time does).
    let mut eager = fire_times(&server, "eager-fn").await;
    eager.sort();
    assert_eq!(
        eager,
        [
            "2027-01-01T01:00:00Z",
            "2027-01-01T04:00:00Z",
            "2027-01-01T05:00:00Z"
        ]
    );
    // And both go on from here.
    advance(&server, Duration::from_secs(30 * 60)).await;
    assert_eq!(
        fire_times(&server, "plain-fn").await,
        ["2027-01-01T01:00:00Z", "2027-01-01T06:00:00Z"]
    );
    server.stop().await;
}

#[tokio::test]
async fn the_virtual_clock_drives_an_async_retry_through_its_waits() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    server.create("flaky", guests::FAIL).await;
    server
        .client
        .put_schedule("once-a-day", "cron(0 12 * * ? *)")
        .await
        .unwrap();
    wire(&server, "once-a-day", "flaky", None).await;

    let set = server
        .client
        .set_clock("2027-01-01T12:00:00Z")
        .await
        .unwrap();
    assert_eq!(set.invocations, 1, "the fire's first attempt");
    let moved = advance(&server, Duration::from_secs(59)).await;
    assert_eq!(moved.invocations, 0, "the first retry waits a minute");
    let moved = advance(&server, Duration::from_secs(1)).await;
    assert_eq!(moved.invocations, 1);
    let moved = advance(&server, Duration::from_secs(119)).await;
    assert_eq!(moved.invocations, 0, "the second waits two");
    let moved = advance(&server, Duration::from_secs(1)).await;
    assert_eq!(moved.invocations, 1);
    assert_eq!(server.queue.stats().dead_lettered, 1);
    let starts: Vec<i64> = server
        .log_messages("flaky")
        .await
        .into_iter()
        .filter(|e| e.message.starts_with("START"))
        .map(|e| e.timestamp)
        .collect();
    let noon = at("2027-01-01T12:00:00Z")
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(starts, [noon, noon + 60_000, noon + 180_000]);

    // Backwards is refused; the real clock refuses to move.
    let err = server.client.set_clock(START).await.unwrap_err();
    assert!(err.message.contains("forward"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn preview_lists_the_next_fire_times() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    let times = server
        .client
        .preview_schedule(proto::PreviewScheduleRequest {
            schedule_expression: "cron(0 9 ? * 2#1 *)".into(),
            count: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    // First Mondays of 2027: Jan 4, Feb 1, Mar 1.
    assert_eq!(
        times,
        [
            "2027-01-04T09:00:00Z",
            "2027-02-01T09:00:00Z",
            "2027-03-01T09:00:00Z"
        ]
    );
    advance(&server, Duration::from_secs(600)).await;
    server
        .client
        .put_schedule("five", "rate(5 minutes)")
        .await
        .unwrap();
    let times = server
        .client
        .preview_schedule(proto::PreviewScheduleRequest {
            name: "five".into(),
            count: 2,
            from: "2027-01-01T00:21:00Z".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(times, ["2027-01-01T00:25:00Z", "2027-01-01T00:30:00Z"]);
    server.stop().await;
}

#[tokio::test]
async fn idle_environments_retire_as_the_virtual_clock_passes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path(), START).await;
    server.create("warm", guests::ECHO).await;
    server.invoke("warm", "{}").await;
    assert_eq!(server.runtime.idle_environments(), 1);
    // The default idle timeout is ten minutes.
    advance(&server, Duration::from_secs(9 * 60)).await;
    assert_eq!(server.runtime.idle_environments(), 1);
    advance(&server, Duration::from_secs(2 * 60)).await;
    assert_eq!(
        server.runtime.idle_environments(),
        0,
        "retired when the clock passed its idle time, before advance answered"
    );
    server.stop().await;
}
