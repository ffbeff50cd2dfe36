//! Traces (`funnel.v1.Traces`), and invoking within a caller's trace.

use crate::{Client, Result, proto};

/// The trace headers an answer carries (`traceparent`, `tracestate`,
/// `x-amzn-trace-id`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHeaders {
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub xray: Option<String>,
}

impl Client {
    /// The caller's account's traces, newest first.
    pub async fn list_traces(
        &self,
        request: proto::ListTracesRequest,
    ) -> Result<Vec<proto::TraceSummary>> {
        Ok(self
            .traces
            .clone()
            .list_traces(request)
            .await?
            .into_inner()
            .traces)
    }

    /// One trace with its spans (a 32-hex or X-Ray trace id).
    pub async fn get_trace(&self, trace_id: &str) -> Result<proto::Trace> {
        Ok(self
            .traces
            .clone()
            .get_trace(proto::GetTraceRequest {
                trace_id: trace_id.into(),
            })
            .await?
            .into_inner())
    }

    /// `Invoke` with trace headers (`traceparent`, `tracestate`,
    /// `x-amzn-trace-id`) sent as metadata; the answer and the trace
    /// headers the server returned.
    pub async fn invoke_traced(
        &self,
        request: proto::InvokeRequest,
        headers: &[(&str, &str)],
    ) -> Result<(proto::InvokeResponse, TraceHeaders)> {
        let request = with_headers(request, headers)?;
        let answer = self.functions.clone().invoke(request).await?;
        let header = |name: &str| {
            answer
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let headers = TraceHeaders {
            traceparent: header("traceparent"),
            tracestate: header("tracestate"),
            xray: header("x-amzn-trace-id"),
        };
        Ok((answer.into_inner(), headers))
    }

    /// `Publish` with trace headers sent as metadata: its deliveries
    /// continue the caller's trace. Returns the MessageId.
    pub async fn publish_traced(
        &self,
        request: proto::PublishRequest,
        headers: &[(&str, &str)],
    ) -> Result<String> {
        let request = with_headers(request, headers)?;
        Ok(self
            .topics
            .clone()
            .publish(request)
            .await?
            .into_inner()
            .message_id)
    }
}

/// `message` with `headers` as its metadata.
fn with_headers<T>(message: T, headers: &[(&str, &str)]) -> Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    for (name, value) in headers {
        let name = tonic::metadata::MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map_err(|_| {
            tonic::Status::invalid_argument(format!("{name:?} is not a header name"))
        })?;
        let value = value.parse().map_err(|_| {
            tonic::Status::invalid_argument(format!("{value:?} is not a header value"))
        })?;
        request.metadata_mut().insert(name, value);
    }
    Ok(request)
}
