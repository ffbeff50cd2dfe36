//! The OTLP export (`--otlp-endpoint`): an in-test collector (the OTLP
//! trace service, from opentelemetry-proto) receives exactly the spans
//! `funnel traces get` shows, with the same ids, parents, names and times.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use funnel_tests::{eventually, guests, invoke_request, start_server_with, test_config};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// What the collector received: every request, as sent.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// (span id, parent id, name, start ns, end ns) of every span of `trace`.
type Row = (String, String, String, u64, u64);

#[tokio::test(flavor = "multi_thread")]
async fn every_span_reaches_the_otlp_collector_as_traces_get_shows_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let collector = Collector::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stop.clone().cancelled_owned(),
            ),
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.tracing.sample_rate = 1.0;
    config.tracing.otlp_endpoint = Some(format!("http://{addr}"));
    let server = start_server_with(config).await;
    server.create("fail", guests::FAIL).await;
    let trace_id = "6bf92f3577b34da6a3ce929d0e0e4736";
    server
        .client
        .invoke_traced(
            invoke_request("fail", "{}"),
            &[("traceparent", &format!("00-{trace_id}-00f067aa0ba902b7-01"))],
        )
        .await
        .expect("invoke");
    let shown = server.client.get_trace(trace_id).await.expect("the trace");
    let expected: BTreeSet<Row> = shown
        .spans
        .iter()
        .map(|s| {
            let start = s.start_micros as u64 * 1000;
            (
                s.span_id.clone(),
                s.parent_span_id.clone(),
                s.name.clone(),
                start,
                start + s.duration_micros * 1000,
            )
        })
        .collect();
    assert!(expected.len() >= 5, "{shown:#?}");

    let received = eventually("the collector to receive the trace", || async {
        let requests = collector.received.lock().unwrap().clone();
        let rows: BTreeSet<Row> = requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .filter(|s| hex::encode(&s.trace_id) == trace_id)
            .map(|s| {
                (
                    hex::encode(&s.span_id),
                    hex::encode(&s.parent_span_id),
                    s.name.clone(),
                    s.start_time_unix_nano,
                    s.end_time_unix_nano,
                )
            })
            .collect();
        (rows.len() >= expected.len()).then_some((rows, requests))
    })
    .await;
    assert_eq!(received.0, expected);
    // Resource and status as a collector (Jaeger) reads them.
    let resource = received.1[0].resource_spans[0]
        .resource
        .clone()
        .expect("a resource");
    let service = resource
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.clone())
        .and_then(|v| v.value);
    assert_eq!(
        service,
        Some(
            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue("funnel".into())
        )
    );
    let invoke = received
        .1
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .find(|s| s.name == "funnel.invoke")
        .expect("the invoke span");
    let status = invoke.status.clone().expect("a status");
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
    assert_eq!(status.message, "ValidationError");
    // Attributes keep their types: a flag and a number, not their text.
    let value = |key: &str| {
        invoke
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value)
    };
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    assert!(matches!(value("funnel.cold"), Some(Value::BoolValue(_))));
    assert!(matches!(value("funnel.billed_duration_ms"), Some(Value::IntValue(n)) if n >= 1));
    assert!(matches!(value("funnel.version"), Some(Value::StringValue(v)) if v == "$LATEST"));

    server.stop().await;
    stop.cancel();
    let _ = serving.await;
}
