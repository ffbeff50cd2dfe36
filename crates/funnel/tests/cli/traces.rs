//! `funnel traces list|get` against `funnel up` tracing every request:
//! an invoke of the example stack's hello is listed (trace id, root,
//! duration, hops, status) and drawn as a waterfall.

use crate::common::{Up, funnel, ok};

#[test]
fn an_invoke_is_listed_and_drawn_as_a_waterfall() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start_with(data_dir.path(), &["--trace-sample-rate", "1"]);
    let endpoint = up.endpoint();
    ok(&funnel(
        &endpoint,
        &["invoke", "hello", "--payload", r#"{"name":"Ada"}"#],
    ));

    let listed = ok(&funnel(
        &endpoint,
        &["traces", "list", "--function", "hello", "--since", "1h"],
    ));
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines[0].starts_with("TRACE ID"), "{listed}");
    let row = lines
        .iter()
        .find(|l| l.contains("grpc Invoke"))
        .unwrap_or_else(|| panic!("the invoke's trace in {listed}"));
    assert!(row.trim_end().ends_with("OK"), "{row}");
    assert!(row.contains(" ms "), "a duration: {row}");
    let trace_id = row.split_whitespace().next().expect("an id");
    assert_eq!(trace_id.len(), 32, "{row}");

    let drawn = ok(&funnel(&endpoint, &["traces", "get", trace_id]));
    let first = drawn.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("Trace 1-{}-{}", &trace_id[..8], &trace_id[8..])),
        "{drawn}"
    );
    assert!(first.contains("1 hop, OK"), "{drawn}");
    let span = |name: &str| {
        drawn
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {drawn}"))
    };
    assert!(
        span("grpc Invoke").starts_with("grpc Invoke"),
        "the root, not indented"
    );
    let invoke = span("funnel.invoke");
    assert!(
        invoke.starts_with("  funnel.invoke"),
        "under the request: {drawn}"
    );
    assert!(invoke.contains("hello") && invoke.contains('█'), "{invoke}");
    assert!(span("Invocation").starts_with("    Invocation"), "{drawn}");
    assert!(
        span("Init").starts_with("    Init"),
        "a cold start: {drawn}"
    );

    // Only failed traces: none.
    let errors = ok(&funnel(&endpoint, &["traces", "list", "--errors"]));
    assert_eq!(errors.lines().count(), 1, "the header alone: {errors}");
    let unknown = funnel(
        &endpoint,
        &["traces", "get", "0123456789abcdef0123456789abcdef"],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("ResourceNotFoundException"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}
