//! Topics from the command line: `funnel up` deploys the example stack's
//! topic with its filtered subscription and permission; messages published
//! with the CLI reach `topic-logger` when they match; a second deploy
//! changes nothing.

use std::time::{Duration, Instant};

use crate::common::{Up, funnel, ok, repo_root};

#[test]
fn the_example_stack_wires_a_topic_to_topic_logger() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let said = up.seen.join("\n");
    assert!(said.contains("topic orders"), "{said}");

    let listed = ok(&funnel(&endpoint, &["topic", "list"]));
    assert!(
        listed.contains("arn:funnel:sns:local:000000000000:orders"),
        "{listed}"
    );
    let subscriptions = ok(&funnel(&endpoint, &["topic", "subscriptions", "orders"]));
    assert!(
        subscriptions.contains("function:topic-logger"),
        "{subscriptions}"
    );

    let refund = ok(&funnel(
        &endpoint,
        &[
            "topic",
            "publish",
            "orders",
            "--message",
            "refund 3",
            "--attr",
            "kind=refund",
        ],
    ));
    assert!(refund.contains("MessageId"), "{refund}");
    ok(&funnel(
        &endpoint,
        &[
            "topic",
            "publish",
            "orders",
            "--message",
            "order 7 shipped",
            "--subject",
            "shipping",
            "--attr",
            "kind=order",
            "--attr",
            "weight=2.5:Number",
        ],
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    let logs = loop {
        let logs = ok(&funnel(&endpoint, &["logs", "tail", "topic-logger"]));
        if logs.contains("MESSAGE order 7 shipped") {
            break logs;
        }
        assert!(Instant::now() < deadline, "no message logged: {logs}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(logs.contains("SUBJECT shipping"), "{logs}");
    assert!(
        logs.contains(r#""weight":{"Type":"Number","Value":"2.5"}"#),
        "{logs}"
    );
    assert!(!logs.contains("refund 3"), "filtered out: {logs}");

    let bad = funnel(&endpoint, &["topic", "publish", "nope", "--message", "x"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("NotFoundException"));

    // Topic grants from the CLI: an ARN is stored as the name, once.
    let granted = ok(&funnel(
        &endpoint,
        &[
            "function",
            "update-config",
            "hello",
            "--topic-access",
            "orders",
            "arn:funnel:sns:local:000000000000:orders",
        ],
    ));
    assert!(granted.contains(r#""TopicAccess":["orders"]"#), "{granted}");
    let revoked = ok(&funnel(
        &endpoint,
        &["function", "update-config", "hello", "--topic-access"],
    ));
    assert!(revoked.contains(r#""TopicAccess":[]"#), "{revoked}");

    let stack = repo_root().join("funnel.toml");
    let out = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("topic orders: unchanged"), "{said}");
    assert!(
        said.contains("subscription orders → topic-logger: unchanged"),
        "{said}"
    );
    assert!(!said.contains("added"), "{said}");
}
