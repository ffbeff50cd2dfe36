//! Schedules from the command line: `funnel up --clock virtual=...`
//! deploys the example stack's hourly rule; `funnel clock advance` fires it
//! without waiting; rules are listed, described, previewed, and refused
//! where EventBridge refuses them.

use crate::common::{Up, funnel, ok, repo_root};

#[test]
fn the_example_rule_fires_on_a_virtual_clock() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start_with(
        data_dir.path(),
        &["--clock", "virtual=2027-01-01T00:00:00Z"],
    );
    let endpoint = up.endpoint();
    let said = up.seen.join("\n");
    assert!(said.contains("rule hourly-hello"), "{said}");

    let clock = ok(&funnel(&endpoint, &["clock", "show"]));
    assert_eq!(clock.trim(), "2027-01-01T00:00:00Z\tvirtual");
    let listed = ok(&funnel(&endpoint, &["rule", "list"]));
    assert!(
        listed.contains("hourly-hello\tENABLED\trate(1 hour)"),
        "{listed}"
    );
    let described = ok(&funnel(&endpoint, &["rule", "describe", "hourly-hello"]));
    assert!(
        described.contains("arn:funnel:events:local:000000000000:rule/hourly-hello"),
        "{described}"
    );
    let targets = ok(&funnel(&endpoint, &["rule", "targets", "hourly-hello"]));
    assert!(targets.contains("function:hello"), "{targets}");

    let preview = ok(&funnel(
        &endpoint,
        &["rule", "preview", "hourly-hello", "--count", "2"],
    ));
    assert_eq!(preview, "2027-01-01T01:00:00Z\n2027-01-01T02:00:00Z\n");
    let preview = ok(&funnel(
        &endpoint,
        &[
            "rule",
            "preview",
            "cron(0 12 L * ? *)",
            "--count",
            "2",
            "--from",
            "2027-01-01T00:00:00Z",
        ],
    ));
    assert_eq!(preview, "2027-01-31T12:00:00Z\n2027-02-28T12:00:00Z\n");

    let advanced = ok(&funnel(&endpoint, &["clock", "advance", "3h"]));
    assert_eq!(advanced.trim(), "2027-01-01T03:00:00Z\t3 invocations");
    let set = ok(&funnel(
        &endpoint,
        &["clock", "set", "2027-01-01T05:00:00Z"],
    ));
    assert_eq!(set.trim(), "2027-01-01T05:00:00Z\t2 invocations");

    // A rule of one's own, with a disabled start.
    ok(&funnel(
        &endpoint,
        &[
            "rule",
            "put",
            "nightly",
            "--schedule",
            "cron(0 2 * * ? *)",
            "--disabled",
        ],
    ));
    ok(&funnel(
        &endpoint,
        &[
            "rule",
            "put-targets",
            "nightly",
            "--target",
            "hello",
            "--input",
            r#"{"name":"n"}"#,
        ],
    ));
    ok(&funnel(&endpoint, &["rule", "enable", "nightly"]));

    let bad = funnel(
        &endpoint,
        &["rule", "put", "x", "--schedule", "rate(5 minute)"],
    );
    assert!(!bad.status.success());
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(
        why.contains("ValidationException") && why.contains("rate(5 minutes)"),
        "{why}"
    );
    let refused = funnel(&endpoint, &["rule", "delete", "nightly"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("has targets"));
    ok(&funnel(
        &endpoint,
        &["rule", "remove-targets", "nightly", "--id", "hello"],
    ));
    ok(&funnel(&endpoint, &["rule", "delete", "nightly"]));
    let back = funnel(&endpoint, &["clock", "set", "2026-01-01T00:00:00Z"]);
    assert!(!back.status.success());

    // Deploying the example stack again changes nothing.
    let stack = repo_root().join("funnel.toml");
    let redeploy = funnel(&endpoint, &["deploy", &stack.to_string_lossy()]);
    assert!(redeploy.status.success());
    let said = String::from_utf8_lossy(&redeploy.stderr);
    assert!(said.contains("rule hourly-hello: unchanged"), "{said}");
    assert!(
        said.contains("target hourly-hello → hello: unchanged"),
        "{said}"
    );
}
