//! `funnel fault put|list|delete` against `funnel up` on a virtual clock:
//! the example stack's hello fails on purpose, then no more.

use crate::common::{Up, funnel, ok};

#[test]
fn a_fault_is_put_listed_felt_and_deleted() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start_with(
        data_dir.path(),
        &["--clock", "virtual=2027-01-01T00:00:00Z"],
    );
    let endpoint = up.endpoint();

    let put = ok(&funnel(
        &endpoint,
        &[
            "fault",
            "put",
            "--function",
            "hello",
            "--kind",
            "error",
            "--rate",
            "1",
            "--error-type",
            "Boom",
            "--until",
            "1h",
            "--seed",
            "3",
        ],
    ));
    let put: serde_json::Value = serde_json::from_str(&put).expect("JSON");
    let id = put["Id"].as_str().expect("an id").to_string();
    assert_eq!(put["Kind"], "error");
    assert_eq!(put["ErrorType"], "Boom");
    assert_eq!(put["Seed"], 3);
    assert_eq!(put["Until"], "2027-01-01T01:00:00.000Z");
    let listed = ok(&funnel(&endpoint, &["fault", "list"]));
    assert!(listed.contains(&id), "{listed}");

    let failed = funnel(
        &endpoint,
        &["invoke", "hello", "--payload", r#"{"name":"Ada"}"#],
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(said.contains("Boom"), "{said}");

    let refused = funnel(
        &endpoint,
        &[
            "fault",
            "put",
            "--function",
            "hello",
            "--kind",
            "latency",
            "--rate",
            "1",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("LatencyMs"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    ok(&funnel(&endpoint, &["fault", "delete", &id]));
    let listed = ok(&funnel(&endpoint, &["fault", "list"]));
    assert!(!listed.contains(&id), "{listed}");
    let greeted = ok(&funnel(
        &endpoint,
        &["invoke", "hello", "--payload", r#"{"name":"Ada"}"#],
    ));
    assert!(greeted.contains("Hello, Ada!"), "{greeted}");

    // A checked-in experiment: `[[fault]]` in a stack file, put once.
    let stack = data_dir.path().join("experiment.toml");
    std::fs::write(
        &stack,
        "[[fault]]\nfunction = \"hello\"\nkind = \"throttle\"\nrate = 0.25\nseed = 9\nuntil = \"2h\"\n",
    )
    .unwrap();
    let deployed = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&deployed.stderr);
    assert!(deployed.status.success(), "{said}");
    assert!(said.contains("fault hello throttle: created f-"), "{said}");
    let again = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{said}");
    assert!(said.contains("fault hello throttle: unchanged"), "{said}");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&funnel(&endpoint, &["fault", "list"]))).expect("JSON");
    let faults = listed["Faults"].as_array().expect("a list");
    assert_eq!(faults.len(), 1, "{listed}");
    assert_eq!(faults[0]["Rate"], 0.25);
    assert_eq!(faults[0]["Until"], "2027-01-01T02:00:00.000Z");
}
