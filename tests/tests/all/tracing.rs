//! Tracing: a sync invoke continues the caller's trace (W3C `traceparent`
//! or X-Ray's `X-Amzn-Trace-Id`, answered in both forms), its spans form
//! the right tree (`grpc Invoke` → `funnel.invoke` → `Init`/`Invocation`/
//! `Overhead`), failures are marked, `ListTraces` filters, and a sample
//! rate of 0 records nothing.

use funnel_client::{Code, proto};
use funnel_tests::{guests, invoke_request, start_server, start_server_with, test_config};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn named<'a>(trace: &'a proto::Trace, name: &str) -> Vec<&'a proto::Span> {
    trace.spans.iter().filter(|s| s.name == name).collect()
}

fn one<'a>(trace: &'a proto::Trace, name: &str) -> &'a proto::Span {
    let found = named(trace, name);
    assert_eq!(found.len(), 1, "one {name} span in {trace:#?}");
    found[0]
}

fn attr<'a>(span: &'a proto::Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_invoke_continues_the_callers_traceparent() {
    let server = start_server().await;
    server.create("echo", guests::ECHO).await;
    let traceparent = format!("00-{TRACE}-{CALLER_SPAN}-01");
    let (answer, headers) = server
        .client
        .invoke_traced(
            invoke_request("echo", r#"{"n":1}"#),
            &[("traceparent", &traceparent)],
        )
        .await
        .expect("invoke");
    assert_eq!(answer.payload, br#"{"n":1}"#);
    assert_eq!(headers.traceparent.as_deref(), Some(traceparent.as_str()));
    assert_eq!(
        headers.xray.as_deref(),
        Some("Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1")
    );

    let trace = server.client.get_trace(TRACE).await.expect("the trace");
    let request = one(&trace, "grpc Invoke");
    assert_eq!(request.parent_span_id, CALLER_SPAN);
    let invoke = one(&trace, "funnel.invoke");
    assert_eq!(invoke.parent_span_id, request.span_id);
    assert_eq!(invoke.function_name, "echo");
    assert_eq!(attr(invoke, "version"), Some("$LATEST"));
    assert_eq!(attr(invoke, "request_id"), Some(answer.request_id.as_str()));
    assert_eq!(attr(invoke, "cold"), Some("true"));
    assert!(attr(invoke, "billed_duration_ms").is_some());
    for child in ["Init", "Invocation", "Overhead"] {
        let span = one(&trace, child);
        assert_eq!(span.parent_span_id, invoke.span_id, "{child}'s parent");
        assert!(span.start_micros >= invoke.start_micros - 1, "{child} starts inside");
    }
    assert!(invoke.duration_micros <= request.duration_micros);
    let summary = trace.summary.expect("a summary");
    assert_eq!(summary.trace_id, TRACE);
    assert_eq!((summary.hops, summary.status.as_str()), (1, "OK"));
    assert_eq!(summary.root, "grpc Invoke");

    // A warm call of a second trace: no Init.
    let second = "5bf92f3577b34da6a3ce929d0e0e4736";
    server
        .client
        .invoke_traced(
            invoke_request("echo", "{}"),
            &[("traceparent", &format!("00-{second}-{CALLER_SPAN}-01"))],
        )
        .await
        .expect("invoke");
    let warm = server.client.get_trace(second).await.expect("the trace");
    assert!(named(&warm, "Init").is_empty(), "{warm:#?}");
    assert_eq!(attr(one(&warm, "funnel.invoke"), "cold"), Some("false"));

    // Listed newest first; the X-Ray form of an id is taken too.
    let listed = server
        .client
        .list_traces(proto::ListTracesRequest {
            function_name: "echo".into(),
            ..Default::default()
        })
        .await
        .expect("list");
    let ids: Vec<&str> = listed.iter().map(|t| t.trace_id.as_str()).collect();
    assert_eq!(&ids[..2], [second, TRACE]);
    let by_xray = server
        .client
        .get_trace("1-4bf92f35-77b34da6a3ce929d0e0e4736")
        .await
        .expect("by its X-Ray id");
    assert_eq!(by_xray.spans.len(), trace.spans.len());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_xray_header_converts_both_ways_and_failures_are_marked() {
    let server = start_server().await;
    server.create("fail", guests::FAIL).await;
    let (answer, headers) = server
        .client
        .invoke_traced(
            invoke_request("fail", "{}"),
            &[(
                "X-Amzn-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            )],
        )
        .await
        .expect("invoke");
    assert_eq!(answer.function_error, "Handled");
    assert_eq!(
        headers.traceparent.as_deref(),
        Some("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")
    );
    assert!(headers.xray.unwrap().starts_with("Root=1-5759e988-bd862e3fe1be46a994272793;"));

    let trace = server
        .client
        .get_trace("5759e988bd862e3fe1be46a994272793")
        .await
        .expect("the trace");
    let invoke = one(&trace, "funnel.invoke");
    assert_eq!(invoke.error, "ValidationError");
    assert_eq!(one(&trace, "Invocation").error, "ValidationError");
    assert_eq!(trace.summary.unwrap().status, "Error");
    let errors = server
        .client
        .list_traces(proto::ListTracesRequest {
            errors_only: true,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].functions, ["fail"]);

    let unknown = server
        .client
        .get_trace("00000000000000000000000000000001")
        .await
        .expect_err("no such trace");
    assert_eq!(unknown.code, Code::NotFound);
    assert!(unknown.to_string().contains("ResourceNotFoundException"), "{unknown}");
    let bad = server.client.get_trace("nope").await.expect_err("not an id");
    assert!(bad.to_string().contains("InvalidParameterValueException"), "{bad}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sample_rate_of_zero_records_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.tracing.sample_rate = 0.0;
    let server = start_server_with(config).await;
    server.create("echo", guests::ECHO).await;
    for _ in 0..5 {
        let (_, headers) = server
            .client
            .invoke_traced(
                invoke_request("echo", "{}"),
                &[("traceparent", &format!("00-{TRACE}-{CALLER_SPAN}-01"))],
            )
            .await
            .expect("invoke");
        assert_eq!(headers, Default::default());
        server.invoke("echo", "{}").await;
    }
    let listed = server
        .client
        .list_traces(Default::default())
        .await
        .expect("list");
    assert!(listed.is_empty(), "{listed:#?}");
    server.stop().await;
}
