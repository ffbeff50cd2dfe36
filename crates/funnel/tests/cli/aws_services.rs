//! SNS, EventBridge and CloudWatch Logs through the AWS-compatible
//! endpoint, driven by the real aws CLI against `funnel up` with the
//! example stack: a topic made with `aws sns`, `topic-logger` subscribed
//! with a filter policy, one matching and one filtered-out message (the
//! subscriber runs once, as `aws logs filter-log-events` shows), a batch;
//! a schedule rule with a target made, read, disabled and deleted with
//! `aws events`; log groups, streams and events read with `aws logs`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::aws_cli::Aws;
use crate::common::{Up, funnel, ok};

/// Reading logs with `aws logs`.
trait LogReads {
    fn log_messages(&self, group: &str, pattern: &str) -> Vec<String>;
    fn wait_for_log(&self, group: &str, pattern: &str) -> Vec<String>;
}

impl LogReads for Aws {
    /// The messages of `group` matching `pattern`, as filter-log-events
    /// gives them (none while the group does not exist yet).
    fn log_messages(&self, group: &str, pattern: &str) -> Vec<String> {
        let Some(found) = self.json_if_found(&[
            "logs",
            "filter-log-events",
            "--log-group-name",
            group,
            "--filter-pattern",
            pattern,
        ]) else {
            return Vec::new();
        };
        found["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["message"].as_str().expect("message").to_string())
            .collect()
    }

    /// Waits until `group` has a message matching `pattern`; returns them.
    fn wait_for_log(&self, group: &str, pattern: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.log_messages(group, pattern);
            if !found.is_empty() {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "nothing matching {pattern} in {group}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn strings<'a>(value: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    value[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {value}"))
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} in {item}"))
        })
        .collect()
}

#[test]
fn the_aws_cli_publishes_through_a_filtered_subscription_and_reads_the_logs() {
    if !Aws::available("the aws CLI service tests") {
        return;
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let aws = Aws::of(&mut up);

    let created = aws.json(&["sns", "create-topic", "--name", "deliveries"]);
    let topic = created["TopicArn"].as_str().expect("TopicArn").to_string();
    assert_eq!(topic, "arn:funnel:sns:local:000000000000:deliveries");
    let listed = aws.json(&["sns", "list-topics"]);
    let arns = strings(&listed, "Topics", "TopicArn");
    assert!(arns.contains(&topic.as_str()), "{listed}");
    assert!(
        arns.contains(&"arn:funnel:sns:local:000000000000:orders"),
        "{listed}"
    );

    // Functions only; another protocol is refused by name.
    let refused = aws.fails(&[
        "sns",
        "subscribe",
        "--topic-arn",
        &topic,
        "--protocol",
        "email",
        "--notification-endpoint",
        "ops@example.com",
    ]);
    assert!(refused.contains("(InvalidParameter)"), "{refused}");
    assert!(refused.contains("email"), "{refused}");

    // SNS may invoke topic-logger for this topic, and it subscribes.
    ok(&funnel(
        &endpoint,
        &[
            "function",
            "add-permission",
            "topic-logger",
            "--statement-id",
            "deliveries",
            "--principal",
            "sns.amazonaws.com",
            "--source-arn",
            &topic,
        ],
    ));
    let function = "arn:funnel:lambda:local:000000000000:function:topic-logger";
    let subscribed = aws.json(&[
        "sns",
        "subscribe",
        "--topic-arn",
        &topic,
        "--protocol",
        "lambda",
        "--notification-endpoint",
        function,
    ]);
    let subscription = subscribed["SubscriptionArn"]
        .as_str()
        .expect("SubscriptionArn")
        .to_string();
    assert!(
        subscription.starts_with(&format!("{topic}:")),
        "{subscription}"
    );
    aws.json(&[
        "sns",
        "set-subscription-attributes",
        "--subscription-arn",
        &subscription,
        "--attribute-name",
        "FilterPolicy",
        "--attribute-value",
        r#"{"kind": ["parcel"]}"#,
    ]);
    let attributes = aws.json(&[
        "sns",
        "get-subscription-attributes",
        "--subscription-arn",
        &subscription,
    ]);
    assert_eq!(
        attributes["Attributes"]["FilterPolicy"], r#"{"kind": ["parcel"]}"#,
        "{attributes}"
    );
    assert_eq!(
        attributes["Attributes"]["FilterPolicyScope"], "MessageAttributes",
        "{attributes}"
    );
    assert_eq!(attributes["Attributes"]["Endpoint"], function);
    let subscriptions = aws.json(&["sns", "list-subscriptions-by-topic", "--topic-arn", &topic]);
    assert_eq!(
        subscriptions["Subscriptions"],
        serde_json::json!([{
            "SubscriptionArn": subscription,
            // The topic's account, as in its ARN.
            "Owner": topic.split(':').nth(4).expect("the account in the topic ARN"),
            "Protocol": "lambda",
            "Endpoint": function,
            "TopicArn": topic,
        }])
    );

    // The filtered-out message first, then the matching one.
    let skipped = aws.json(&[
        "sns",
        "publish",
        "--topic-arn",
        &topic,
        "--message",
        "letter-9",
        "--message-attributes",
        r#"{"kind": {"DataType": "String", "StringValue": "letter"}}"#,
    ]);
    assert!(skipped["MessageId"].as_str().is_some(), "{skipped}");
    let published = aws.json(&[
        "sns",
        "publish",
        "--topic-arn",
        &topic,
        "--subject",
        "dispatch",
        "--message",
        "parcel-7",
        "--message-attributes",
        r#"{"kind": {"DataType": "String", "StringValue": "parcel"}, "weight": {"DataType": "Number", "StringValue": "2.5"}}"#,
    ]);
    assert_ne!(published["MessageId"], skipped["MessageId"]);
    let group = "/aws/lambda/topic-logger";
    let logged = aws.wait_for_log(group, "parcel-7");
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].starts_with(&format!(
            "TOPIC {topic} SUBJECT dispatch MESSAGE parcel-7 ATTRIBUTES "
        )),
        "{logged:?}"
    );
    assert!(
        logged[0].contains(r#""weight":{"Type":"Number","Value":"2.5"}"#),
        "{logged:?}"
    );

    // A batch: the parcels are delivered, the letter is not.
    let batch = aws.json(&[
        "sns",
        "publish-batch",
        "--topic-arn",
        &topic,
        "--publish-batch-request-entries",
        r#"[{"Id": "a", "Message": "parcel-8", "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "parcel"}}},
            {"Id": "b", "Message": "letter-10", "Subject": "post", "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "letter"}}},
            {"Id": "c", "Message": "parcel-9", "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "parcel"}}}]"#,
    ]);
    let mut ids = strings(&batch, "Successful", "Id");
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b", "c"], "{batch}");
    assert!(
        batch
            .get("Failed")
            .is_none_or(|f| f == &serde_json::json!([])),
        "{batch}"
    );
    aws.wait_for_log(group, "parcel-8");
    aws.wait_for_log(group, "parcel-9");
    assert_eq!(aws.log_messages(group, "parcel-7").len(), 1);
    assert!(aws.log_messages(group, "letter").is_empty());
    // Each delivery was one invocation: one START per message delivered.
    let starts = aws.log_messages(group, "START RequestId");
    assert_eq!(starts.len(), 3, "{starts:?}");

    // Logs: the group, its streams, a stream's events.
    let groups = aws.json(&[
        "logs",
        "describe-log-groups",
        "--log-group-name-prefix",
        "/aws/lambda/topic",
    ]);
    assert_eq!(
        strings(&groups, "logGroups", "logGroupName"),
        [group],
        "{groups}"
    );
    let listed = &groups["logGroups"][0];
    assert_eq!(
        listed["arn"],
        format!("arn:funnel:logs:local:000000000000:log-group:{group}:*"),
        "{groups}"
    );
    assert_eq!(listed["retentionInDays"], 7, "{groups}");
    assert!(listed["storedBytes"].as_i64() > Some(0), "{groups}");
    assert!(listed["creationTime"].as_i64() > Some(0), "{groups}");
    let streams = aws.json(&["logs", "describe-log-streams", "--log-group-name", group]);
    let names = strings(&streams, "logStreams", "logStreamName");
    assert!(!names.is_empty(), "{streams}");
    assert!(names.iter().all(|n| n.contains("[$LATEST]")), "{streams}");
    for stream in streams["logStreams"].as_array().into_iter().flatten() {
        let (first, last) = (
            stream["firstEventTimestamp"].as_i64(),
            stream["lastEventTimestamp"].as_i64(),
        );
        assert!(first > Some(0) && first <= last, "{streams}");
        assert!(stream["storedBytes"].as_i64() > Some(0), "{streams}");
    }
    // Newest first: the stream of the last event comes first.
    let newest = aws.json(&[
        "logs",
        "describe-log-streams",
        "--log-group-name",
        group,
        "--order-by",
        "LastEventTime",
        "--descending",
        "--max-items",
        "1",
    ]);
    let last_event = streams["logStreams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["lastEventTimestamp"].as_i64())
        .max();
    assert_eq!(
        newest["logStreams"][0]["lastEventTimestamp"].as_i64(),
        last_event,
        "{newest}"
    );
    let mut read = Vec::new();
    for stream in &names {
        let events = aws.json(&[
            "logs",
            "get-log-events",
            "--log-group-name",
            group,
            "--log-stream-name",
            stream,
            "--start-from-head",
        ]);
        read.extend(
            strings(&events, "events", "message")
                .into_iter()
                .map(str::to_string),
        );
    }
    for message in ["parcel-7", "parcel-8", "parcel-9"] {
        assert_eq!(
            read.iter().filter(|m| m.contains(message)).count(),
            1,
            "{read:?}"
        );
    }

    // Unsubscribed, then deleted.
    aws.json(&["sns", "unsubscribe", "--subscription-arn", &subscription]);
    let subscriptions = aws.json(&["sns", "list-subscriptions-by-topic", "--topic-arn", &topic]);
    assert_eq!(subscriptions["Subscriptions"], serde_json::json!([]));
    aws.json(&["sns", "delete-topic", "--topic-arn", &topic]);
    let gone = aws.fails(&["sns", "publish", "--topic-arn", &topic, "--message", "x"]);
    assert!(gone.contains("(NotFound)"), "{gone}");
    let listed = aws.json(&["sns", "list-topics"]);
    assert!(
        !strings(&listed, "Topics", "TopicArn").contains(&topic.as_str()),
        "{listed}"
    );
}

#[test]
fn the_aws_cli_schedules_a_function_with_an_eventbridge_rule() {
    if !Aws::available("the aws CLI service tests") {
        return;
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start_with(
        data_dir.path(),
        &["--clock", "virtual=2027-01-01T00:00:00Z"],
    );
    let endpoint = up.endpoint();
    let aws = Aws::of(&mut up);

    let put = aws.json(&[
        "events",
        "put-rule",
        "--name",
        "report",
        "--schedule-expression",
        "rate(1 hour)",
        "--description",
        "Greets the report",
    ]);
    let rule = "arn:funnel:events:local:000000000000:rule/report";
    assert_eq!(put, serde_json::json!({"RuleArn": rule}));
    let hello = "arn:funnel:lambda:local:000000000000:function:hello";
    let targets =
        format!(r#"[{{"Id": "greet", "Arn": "{hello}", "Input": "{{\"name\": \"report\"}}"}}]"#);
    let put = aws.json(&[
        "events",
        "put-targets",
        "--rule",
        "report",
        "--targets",
        &targets,
    ]);
    assert_eq!(
        put,
        serde_json::json!({"FailedEntryCount": 0, "FailedEntries": []})
    );
    let listed = aws.json(&["events", "list-targets-by-rule", "--rule", "report"]);
    assert_eq!(
        listed,
        serde_json::json!({"Targets": [{"Id": "greet", "Arn": hello, "Input": r#"{"name": "report"}"#}]})
    );
    let described = aws.json(&["events", "describe-rule", "--name", "report"]);
    assert_eq!(
        described,
        serde_json::json!({
            "Name": "report",
            "Arn": rule,
            "ScheduleExpression": "rate(1 hour)",
            "State": "ENABLED",
            "Description": "Greets the report",
            "EventBusName": "default",
            "CreatedBy": "000000000000",
        })
    );
    let rules = aws.json(&["events", "list-rules"]);
    assert_eq!(
        strings(&rules, "Rules", "Name"),
        ["hourly-hello", "report"],
        "{rules}"
    );
    let rules = aws.json(&["events", "list-rules", "--name-prefix", "rep"]);
    assert_eq!(strings(&rules, "Rules", "Name"), ["report"], "{rules}");

    // It fires: EventBridge may invoke hello for this rule, and an hour
    // on the virtual clock runs it next to the example's hourly rule.
    ok(&funnel(
        &endpoint,
        &[
            "function",
            "add-permission",
            "hello",
            "--statement-id",
            "report",
            "--principal",
            "events.amazonaws.com",
            "--source-arn",
            rule,
        ],
    ));
    let advanced = ok(&funnel(&endpoint, &["clock", "advance", "1h"]));
    assert_eq!(advanced.trim(), "2027-01-01T01:00:00Z\t2 invocations");
    let greeted = aws.wait_for_log("/aws/lambda/hello", "\"greeting report\"");
    assert_eq!(greeted.len(), 1, "{greeted:?}");

    // Disabled, it does not.
    aws.json(&["events", "disable-rule", "--name", "report"]);
    let described = aws.json(&["events", "describe-rule", "--name", "report"]);
    assert_eq!(described["State"], "DISABLED", "{described}");
    let advanced = ok(&funnel(&endpoint, &["clock", "advance", "1h"]));
    assert_eq!(advanced.trim(), "2027-01-01T02:00:00Z\t1 invocations");
    aws.json(&["events", "enable-rule", "--name", "report"]);
    let described = aws.json(&["events", "describe-rule", "--name", "report"]);
    assert_eq!(described["State"], "ENABLED", "{described}");

    // Deleted once its targets are gone, as EventBridge does.
    let refused = aws.fails(&["events", "delete-rule", "--name", "report"]);
    assert!(refused.contains("(ValidationException)"), "{refused}");
    let removed = aws.json(&[
        "events",
        "remove-targets",
        "--rule",
        "report",
        "--ids",
        "greet",
    ]);
    assert_eq!(
        removed,
        serde_json::json!({"FailedEntryCount": 0, "FailedEntries": []})
    );
    aws.json(&["events", "delete-rule", "--name", "report"]);
    let gone = aws.fails(&["events", "describe-rule", "--name", "report"]);
    assert!(gone.contains("(ResourceNotFoundException)"), "{gone}");

    // What funnel's rules cannot do is refused by name.
    let refused = aws.fails(&[
        "events",
        "put-rule",
        "--name",
        "on-upload",
        "--event-pattern",
        r#"{"source": ["aws.s3"]}"#,
    ]);
    assert!(refused.contains("(ValidationException)"), "{refused}");
    assert!(refused.contains("EventPattern"), "{refused}");
    let refused = aws.fails(&["events", "list-event-buses"]);
    assert!(refused.contains("(UnknownOperationException)"), "{refused}");
    assert!(refused.contains("ListEventBuses"), "{refused}");
    let refused = aws.fails(&["sns", "list-subscriptions"]);
    assert!(refused.contains("(InvalidAction)"), "{refused}");
    assert!(refused.contains("ListSubscriptions"), "{refused}");
    let refused = aws.fails(&["logs", "create-log-group", "--log-group-name", "x"]);
    assert!(refused.contains("(UnknownOperationException)"), "{refused}");
    assert!(refused.contains("CreateLogGroup"), "{refused}");
}
