//! Tracing: a sync invoke continues the caller's trace (W3C `traceparent`
//! or X-Ray's `X-Amzn-Trace-Id`, answered in both forms; a caller that
//! sent none is not answered one), its spans form
//! the right tree (`grpc Invoke` → `funnel.invoke` → `Init`/`Invocation`/
//! `Overhead`), failures are marked, `ListTraces` filters, and a sample
//! rate of 0 records nothing.

use funnel_client::{Code, proto};
use funnel_tests::{
    eventually, guests, invoke_request, start_server, start_server_with, test_config,
};

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
            &[("traceparent", &traceparent), ("tracestate", "vendor=abc")],
        )
        .await
        .expect("invoke");
    assert_eq!(answer.payload, br#"{"n":1}"#);
    assert_eq!(headers.tracestate.as_deref(), Some("vendor=abc"));
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
        assert!(
            span.start_micros >= invoke.start_micros - 1,
            "{child} starts inside"
        );
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
    assert!(
        headers
            .xray
            .unwrap()
            .starts_with("Root=1-5759e988-bd862e3fe1be46a994272793;")
    );

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
    assert!(
        unknown.to_string().contains("ResourceNotFoundException"),
        "{unknown}"
    );
    // A caller's decision not to sample is honoured: nothing is kept, and
    // the answer still names the trace.
    let (_, headers) = server
        .client
        .invoke_traced(
            invoke_request("fail", "{}"),
            &[(
                "X-Amzn-Trace-Id",
                "Root=1-6759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
            )],
        )
        .await
        .expect("invoke");
    assert_eq!(
        headers.traceparent.as_deref(),
        Some("00-6759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")
    );
    let unsampled = server
        .client
        .get_trace("6759e988bd862e3fe1be46a994272793")
        .await
        .expect_err("not recorded");
    assert_eq!(unsampled.code, Code::NotFound);
    let bad = server
        .client
        .get_trace("nope")
        .await
        .expect_err("not an id");
    assert!(
        bad.to_string().contains("InvalidParameterValueException"),
        "{bad}"
    );
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

/// A caller that sends no trace context starts a trace the server's
/// sampler picks, and it is recorded, but the answer does not carry it
/// back (gRPC or HTTP): only a caller that sent its trace is told.
#[tokio::test(flavor = "multi_thread")]
async fn a_trace_the_server_started_is_recorded_but_not_answered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.tracing.sample_rate = 1.0;
    let server = start_server_with(config).await;
    server.create("echo", guests::ECHO).await;
    let (answer, headers) = server
        .client
        .invoke_traced(invoke_request("echo", "{}"), &[])
        .await
        .expect("invoke");
    assert_eq!(headers, Default::default());
    let url = server.public_url("echo").await;
    let response =
        funnel_tests::http_request(server.http, "POST", &server.path_of(&url), &[], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("traceparent"), None);
    assert_eq!(response.header("x-amzn-trace-id"), None);

    let listed = server
        .client
        .list_traces(Default::default())
        .await
        .expect("list");
    let mut roots: Vec<&str> = listed.iter().map(|t| t.root.as_str()).collect();
    roots.sort();
    assert_eq!(roots, ["grpc Invoke", "http request"]);
    let grpc = listed.iter().find(|t| t.root == "grpc Invoke").unwrap();
    let trace = server
        .client
        .get_trace(&grpc.trace_id)
        .await
        .expect("the trace");
    let invoke = one(&trace, "funnel.invoke");
    assert_eq!(attr(invoke, "request_id"), Some(answer.request_id.as_str()));
    server.stop().await;
}

/// The span named `name` of `function` (one of them).
fn of<'a>(trace: &'a proto::Trace, name: &str, function: &str) -> Vec<&'a proto::Span> {
    trace
        .spans
        .iter()
        .filter(|s| s.name == name && s.function_name == function)
        .collect()
}

fn parent_of<'a>(trace: &'a proto::Trace, span: &proto::Span) -> &'a proto::Span {
    trace
        .spans
        .iter()
        .find(|s| s.span_id == span.parent_span_id)
        .unwrap_or_else(|| panic!("the parent of {} in {trace:#?}", span.name))
}

/// Asserts the chain of parents above `span`, nearest first (by name).
fn assert_ancestry(trace: &proto::Trace, span: &proto::Span, names: &[&str]) {
    let mut at = span;
    for name in names {
        at = parent_of(trace, at);
        assert_eq!(at.name, *name, "above {}: {trace:#?}", span.name);
    }
    assert_eq!(at.parent_span_id, "", "{} is the root", at.name);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_to_topic_chain_is_one_trace_with_retries_and_the_destination() {
    use funnel_tests::topics::{allow_sns, subscribe};
    let data = tempfile::tempdir().expect("temp dir");
    let folder = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(data.path());
    config.buckets.roots.push(folder.path().to_path_buf());
    config.tracing.sample_rate = 1.0;
    let server = start_server_with(config).await;
    let clock = server.runtime.clock().clone();
    let catalog = server.client.create_topic("catalog").await.expect("topic");

    // ingest: the recorder relaying each event it gets to the topic.
    let mut ingest = funnel_tests::create_request("ingest", funnel_tests::guest(guests::RECORDER));
    ingest.topic_access = Some(proto::TopicAccess {
        topics: vec!["catalog".into()],
    });
    ingest.environment = Some(proto::Environment {
        variables: [
            ("RELAY_TOPIC".to_string(), "catalog".to_string()),
            ("PRINT_TRACE".to_string(), "1".to_string()),
        ]
        .into(),
    });
    server.client.create_function(ingest).await.expect("ingest");
    server
        .allow(
            "ingest",
            "s3",
            "s3.amazonaws.com",
            "arn:funnel:s3:::uploads",
        )
        .await;
    server
        .client
        .create_bucket("uploads", Some(&folder.path().to_string_lossy()))
        .await
        .expect("bucket");
    server
        .client
        .put_bucket_notification_configuration(
            "uploads",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "ingest".into(),
                    lambda_function_arn: "arn:funnel:lambda:local:000000000000:function:ingest"
                        .into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await
        .expect("notifications");
    // Two subscribers; "broken" fails, is retried once, then goes to its
    // OnFailure destination.
    server.create("indexer", guests::RECORDER).await;
    server.create("broken", guests::FAIL).await;
    server.create("dead-ends", guests::RECORDER).await;
    for function in ["indexer", "broken"] {
        allow_sns(&server, function, &catalog).await;
        subscribe(&server, &catalog, function, None).await;
    }
    server
        .client
        .put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "broken".into(),
            maximum_retry_attempts: Some(1),
            destination_config: Some(proto::DestinationConfig {
                on_failure: Some(proto::OnFailure {
                    destination: "arn:funnel:lambda:local:000000000000:function:dead-ends".into(),
                }),
                on_success: None,
            }),
            ..Default::default()
        })
        .await
        .expect("invoke config");

    server
        .client
        .put_object("uploads", "photo.jpg", b"jpeg".to_vec())
        .await
        .expect("put object");
    eventually("broken's first attempt", || async {
        (server.starts("broken").await == 1).then_some(())
    })
    .await;
    clock.advance(std::time::Duration::from_secs(60));
    let trace = eventually("the whole chain in one trace", || async {
        let listed = server
            .client
            .list_traces(proto::ListTracesRequest {
                function_name: "ingest".into(),
                ..Default::default()
            })
            .await
            .ok()?;
        let [summary] = listed.as_slice() else {
            return None;
        };
        let trace = server.client.get_trace(&summary.trace_id).await.ok()?;
        (!of(&trace, "funnel.invoke", "dead-ends").is_empty()
            && !of(&trace, "funnel.invoke", "indexer").is_empty())
        .then_some(trace)
    })
    .await;

    let root = one(&trace, "grpc PutObject");
    assert_eq!(root.parent_span_id, "");
    let s3 = one(&trace, "s3 event");
    assert_eq!(s3.parent_span_id, root.span_id);
    assert_eq!(attr(s3, "key"), Some("photo.jpg"));
    let ingest = of(&trace, "funnel.invoke", "ingest");
    assert_eq!(ingest.len(), 1);
    assert_ancestry(
        &trace,
        ingest[0],
        &["funnel.queue", "s3 event", "grpc PutObject"],
    );
    let publish = one(&trace, "sns publish");
    assert_eq!(
        publish.parent_span_id, ingest[0].span_id,
        "the guest's publish"
    );
    assert_eq!(attr(publish, "deliveries"), Some("2"));
    let delivers = named(&trace, "sns deliver");
    assert_eq!(delivers.len(), 2, "one per subscription");
    assert!(delivers.iter().all(|d| d.parent_span_id == publish.span_id));

    let indexed = of(&trace, "funnel.invoke", "indexer");
    assert_eq!(indexed.len(), 1);
    assert_ancestry(
        &trace,
        indexed[0],
        &[
            "funnel.queue",
            "sns deliver",
            "sns publish",
            "funnel.invoke",
            "funnel.queue",
            "s3 event",
            "grpc PutObject",
        ],
    );
    // broken: the first attempt under its queue span, the second under a
    // retry span, both failed; then the destination hop.
    let attempts = of(&trace, "funnel.invoke", "broken");
    assert_eq!(attempts.len(), 2, "{trace:#?}");
    assert!(attempts.iter().all(|a| a.error == "ValidationError"));
    let queue = of(&trace, "funnel.queue", "broken");
    assert_eq!(queue.len(), 1);
    let retry = of(&trace, "retry", "broken");
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].parent_span_id, queue[0].span_id);
    assert_eq!(attr(retry[0], "attempt"), Some("2"));
    let mut parents: Vec<&str> = attempts.iter().map(|a| a.parent_span_id.as_str()).collect();
    parents.sort();
    let mut expected = vec![queue[0].span_id.as_str(), retry[0].span_id.as_str()];
    expected.sort();
    assert_eq!(parents, expected);
    assert!(
        retry[0].start_micros - queue[0].start_micros >= 60_000_000,
        "the retry waited a minute on the clock"
    );
    let destination = one(&trace, "destination OnFailure");
    assert_eq!(destination.parent_span_id, queue[0].span_id);
    assert_eq!(attr(destination, "condition"), Some("RetriesExhausted"));
    let dead_end = of(&trace, "funnel.invoke", "dead-ends");
    assert_ancestry(
        &trace,
        dead_end[0],
        &[
            "funnel.queue",
            "destination OnFailure",
            "funnel.queue",
            "sns deliver",
            "sns publish",
            "funnel.invoke",
            "funnel.queue",
            "s3 event",
            "grpc PutObject",
        ],
    );

    let summary = trace.summary.clone().expect("summary");
    assert_eq!(summary.root, "grpc PutObject");
    assert_eq!(summary.hops, 5, "ingest, indexer, broken twice, dead-ends");
    assert_eq!(summary.status, "Error");

    // The guest saw its invocation's span as its trace, in its context
    // and in _X_AMZN_TRACE_ID.
    let logged: Vec<String> = server
        .log_messages("ingest")
        .await
        .into_iter()
        .map(|e| e.message.trim_end().to_string())
        .collect();
    let expected = format!(
        "Root=1-{}-{};Parent={};Sampled=1",
        &summary.trace_id[..8],
        &summary.trace_id[8..],
        ingest[0].span_id
    );
    assert!(
        logged.contains(&format!("trace: {expected}")),
        "{logged:#?}"
    );
    assert!(
        logged.contains(&format!("trace_env: {expected}")),
        "{logged:#?}"
    );
    server.stop().await;
}

/// Python and JS handlers see their invocation's trace in their context
/// and in the environment, for the call only.
#[tokio::test(flavor = "multi_thread")]
async fn python_and_js_handlers_see_their_trace() {
    use funnel_build::Language;
    use funnel_tests::packaged::{built, deploy};
    let server = start_server().await;
    for (name, folder, language) in [
        ("py", "wasm-functions/python-probe", Language::Python),
        ("js", "wasm-functions/js-probe", Language::Nodejs),
    ] {
        let Some(code) = built(folder, language) else {
            continue;
        };
        deploy(&server, name, code, 256, 10).await;
        let (answer, _) = server
            .client
            .invoke_traced(
                invoke_request(name, r#"{"op":"trace"}"#),
                &[("traceparent", &format!("00-{TRACE}-{CALLER_SPAN}-01"))],
            )
            .await
            .expect("invoke");
        let seen = funnel_tests::json_of(&answer);
        let trace = server.client.get_trace(TRACE).await.expect("the trace");
        let invoke = of(&trace, "funnel.invoke", name);
        let expected = format!(
            "Root=1-{}-{};Parent={};Sampled=1",
            &TRACE[..8],
            &TRACE[8..],
            invoke[0].span_id
        );
        assert_eq!(seen["context"], expected.as_str(), "{name}: {seen}");
        assert_eq!(seen["env"], expected.as_str(), "{name}: {seen}");
        // An unsampled caller's context is passed on as it came.
        let (answer, _) = server
            .client
            .invoke_traced(
                invoke_request(name, r#"{"op":"trace"}"#),
                &[("traceparent", &format!("00-{TRACE}-{CALLER_SPAN}-00"))],
            )
            .await
            .expect("invoke");
        let unsampled = funnel_tests::json_of(&answer);
        let passed_on = format!(
            "Root=1-{}-{};Parent={CALLER_SPAN};Sampled=0",
            &TRACE[..8],
            &TRACE[8..]
        );
        assert_eq!(
            unsampled["context"],
            passed_on.as_str(),
            "{name}: {unsampled}"
        );
        assert_eq!(unsampled["env"], passed_on.as_str(), "{name}: {unsampled}");
    }
    server.stop().await;
}

/// A function URL's request continues the caller's X-Ray trace and
/// answers it in both forms.
#[tokio::test(flavor = "multi_thread")]
async fn a_function_url_request_continues_the_callers_trace() {
    let server = start_server().await;
    server.create("echo", guests::ECHO).await;
    let url = server.public_url("echo").await;
    let path = server.path_of(&url);
    let response = funnel_tests::http_request(
        server.http,
        "POST",
        &path,
        &[(
            "X-Amzn-Trace-Id",
            "Root=1-7759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )],
        b"{}",
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("traceparent"),
        Some("00-7759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")
    );
    assert!(
        response
            .header("x-amzn-trace-id")
            .is_some_and(|h| h.starts_with("Root=1-7759e988-bd862e3fe1be46a994272793;"))
    );
    let trace = server
        .client
        .get_trace("7759e988bd862e3fe1be46a994272793")
        .await
        .expect("the trace");
    let request = one(&trace, "http request");
    assert_eq!(request.parent_span_id, "53995c3f42cd8ad8");
    assert_eq!(attr(request, "status"), Some("200"));
    assert_eq!(one(&trace, "funnel.invoke").parent_span_id, request.span_id);
    server.stop().await;
}
