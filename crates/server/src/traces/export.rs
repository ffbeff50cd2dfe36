//! The OTLP exporter (`--otlp-endpoint`): batches of stored spans sent to
//! a collector over OTLP/gRPC (opentelemetry-proto's messages and client,
//! on our tonic) by a task of its own, so a slow or absent collector never
//! holds the writer or a call: a batch that finds the queue full, or a
//! collector that refuses it, is dropped and logged.

use std::time::Duration;

use funnel_store::{AttrValue, SpanRecord};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use tokio::sync::mpsc;

/// Batches waiting to be sent; past it a batch is dropped (and logged).
const QUEUE: usize = 64;
/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct Exporter {
    sender: mpsc::Sender<Vec<SpanRecord>>,
}

impl Exporter {
    pub fn export(&self, batch: Vec<SpanRecord>) {
        if self.sender.try_send(batch).is_err() {
            tracing::warn!("the OTLP exporter is behind: a batch of spans was not exported");
        }
    }

    /// Lets the task send what it holds and end.
    pub fn close(self) {}
}

/// Starts the exporter's task (the endpoint was checked by the config).
pub(super) fn start(endpoint: String) -> Exporter {
    let (sender, receiver) = mpsc::channel(QUEUE);
    tokio::spawn(run(endpoint, receiver));
    Exporter { sender }
}

async fn run(endpoint: String, mut receiver: mpsc::Receiver<Vec<SpanRecord>>) {
    let channel = match tonic::transport::Endpoint::from_shared(endpoint.clone()) {
        Ok(at) => at.timeout(EXPORT_TIMEOUT).connect_lazy(),
        Err(err) => {
            tracing::error!(%endpoint, cause = %err, "the OTLP endpoint is not a URL: spans are not exported");
            return;
        }
    };
    let mut client = TraceServiceClient::new(channel);
    while let Some(batch) = receiver.recv().await {
        let spans = batch.len();
        match client.export(request(batch)).await {
            Ok(answer) => {
                if let Some(partial) = answer.into_inner().partial_success
                    && partial.rejected_spans > 0
                {
                    tracing::warn!(%endpoint, rejected = partial.rejected_spans, why = %partial.error_message, "the collector rejected spans");
                }
            }
            Err(status) => {
                tracing::warn!(%endpoint, spans, cause = %status, "exporting spans failed");
            }
        }
    }
}

/// An attribute with its type: text, a number, a flag.
fn typed(key: &str, value: AttrValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(match value {
                AttrValue::Str(s) => any_value::Value::StringValue(s),
                AttrValue::Int(n) => any_value::Value::IntValue(n),
                AttrValue::Bool(b) => any_value::Value::BoolValue(b),
            }),
        }),
        ..Default::default()
    }
}

fn text(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// One export request: a resource per account (`service.name` funnel,
/// `cloud.account.id`), the spans under funnel's instrumentation scope.
pub(super) fn request(batch: Vec<SpanRecord>) -> ExportTraceServiceRequest {
    let mut by_account: Vec<(u64, Vec<Span>)> = Vec::new();
    for record in batch {
        let account = record.account;
        let span = convert(record);
        match by_account.iter_mut().find(|(a, _)| *a == account) {
            Some((_, spans)) => spans.push(span),
            None => by_account.push((account, vec![span])),
        }
    }
    ExportTraceServiceRequest {
        resource_spans: by_account
            .into_iter()
            .map(|(account, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        text("service.name", "funnel"),
                        text("cloud.account.id", format!("{account:012}")),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "funnel".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

fn convert(record: SpanRecord) -> Span {
    let start = (record.start_us.max(0) as u64).saturating_mul(1000);
    let kind = if record.name.starts_with("grpc ") {
        span::SpanKind::Server
    } else if matches!(record.name.as_str(), "funnel.queue" | "sns deliver") {
        span::SpanKind::Consumer
    } else if matches!(
        record.name.as_str(),
        "sns publish" | "s3 event" | "schedule fire"
    ) {
        span::SpanKind::Producer
    } else {
        span::SpanKind::Internal
    };
    let parent_span_id = if record.is_root() {
        Vec::new()
    } else {
        record.parent_id.to_vec()
    };
    let mut attributes = Vec::with_capacity(record.attributes.len() + 2);
    if !record.function.is_empty() {
        attributes.push(text("faas.name", record.function));
    }
    if !record.error.is_empty() {
        attributes.push(text("error.type", record.error.clone()));
    }
    attributes.extend(
        record
            .attributes
            .into_iter()
            .map(|(key, value)| typed(&format!("funnel.{key}"), value)),
    );
    Span {
        trace_id: record.trace_id.to_vec(),
        span_id: record.span_id.to_vec(),
        parent_span_id,
        name: record.name,
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start.saturating_add(record.duration_us.saturating_mul(1000)),
        attributes,
        status: Some(if record.error.is_empty() {
            Status {
                message: String::new(),
                code: status::StatusCode::Ok as i32,
            }
        } else {
            Status {
                message: record.error,
                code: status::StatusCode::Error as i32,
            }
        }),
        ..Default::default()
    }
}
