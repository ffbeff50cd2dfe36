//! `funnel.v1.Traces`: the traces kept in the store (`funnel traces list`,
//! `funnel traces get`). Account-scoped: a caller sees only the traces its
//! account's work started, and another account's trace is not found.

use funnel_proto::v1 as pb;
use funnel_proto::v1::traces_server::Traces as TracesApi;
use funnel_store::{SpanRecord, Store, TraceSummary};
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::traces::Tracer;

/// Traces listed when the request sets no limit.
const DEFAULT_LIMIT: usize = 50;

pub struct TracesService {
    tracer: Tracer,
    store: Store,
}

impl TracesService {
    pub fn new(tracer: Tracer, store: Store) -> Self {
        TracesService { tracer, store }
    }
}

fn summary(s: TraceSummary) -> pb::TraceSummary {
    let trace_id = hex::encode(s.trace_id);
    pb::TraceSummary {
        xray_trace_id: format!("1-{}-{}", &trace_id[..8], &trace_id[8..]),
        trace_id,
        root: s.root,
        start_micros: s.start_us,
        duration_micros: (s.end_us - s.start_us).max(0) as u64,
        hops: s.hops,
        spans: s.spans,
        status: if s.errors > 0 { "Error" } else { "OK" }.into(),
        functions: s.functions,
    }
}

fn span(s: SpanRecord) -> pb::Span {
    pb::Span {
        span_id: hex::encode(s.span_id),
        parent_span_id: if s.is_root() {
            String::new()
        } else {
            hex::encode(s.parent_id)
        },
        name: s.name,
        start_micros: s.start_us,
        duration_micros: s.duration_us,
        function_name: s.function,
        error: s.error,
        attributes: s
            .attributes
            .into_iter()
            .map(|(key, value)| pb::SpanAttribute {
                key,
                value: value.to_string(),
            })
            .collect(),
    }
}

/// A trace id as given: 32 hex digits, or X-Ray's `1-<8>-<24>`.
fn trace_id(given: &str) -> Result<[u8; 16], Error> {
    let given = given.trim();
    let hex = match given.strip_prefix("1-") {
        Some(rest) => rest.replacen('-', "", 1),
        None => given.to_string(),
    };
    let mut id = [0; 16];
    if hex.len() == 32 && hex::decode_to_slice(&hex, &mut id).is_ok() {
        Ok(id)
    } else {
        Err(Error::InvalidParameterValue(format!(
            "TraceId {given:?} is not a trace id: 32 hex digits, or X-Ray's 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx"
        )))
    }
}

#[tonic::async_trait]
impl TracesApi for TracesService {
    async fn list_traces(
        &self,
        request: Request<pb::ListTracesRequest>,
    ) -> Result<Response<pb::ListTracesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let account = crate::traces::account_number(&caller.naming().account_id);
        let req = request.into_inner();
        self.tracer.sync().await;
        let since_us = if req.since_milliseconds == 0 {
            i64::MIN
        } else {
            self.tracer.now_us() - (req.since_milliseconds as i64).saturating_mul(1000)
        };
        let store = self.store.clone();
        let mut found = tokio::task::spawn_blocking(move || store.trace_summaries())
            .await
            .map_err(|err| Error::Service(err.to_string()))?
            .map_err(Error::from)?;
        found.retain(|s| {
            s.account == account
                && s.start_us >= since_us
                && (!req.errors_only || s.errors > 0)
                && (req.function_name.is_empty() || s.functions.contains(&req.function_name))
        });
        found.sort_by_key(|s| std::cmp::Reverse(s.start_us));
        let limit = match req.limit {
            0 => DEFAULT_LIMIT,
            n => n as usize,
        };
        found.truncate(limit);
        Ok(Response::new(pb::ListTracesResponse {
            traces: found.into_iter().map(summary).collect(),
        }))
    }

    async fn get_trace(
        &self,
        request: Request<pb::GetTraceRequest>,
    ) -> Result<Response<pb::Trace>, Status> {
        let caller = crate::iam::check(&request)?;
        let account = crate::traces::account_number(&caller.naming().account_id);
        let id = trace_id(&request.into_inner().trace_id)?;
        self.tracer.sync().await;
        let store = self.store.clone();
        let found = tokio::task::spawn_blocking(move || store.trace(&id))
            .await
            .map_err(|err| Error::Service(err.to_string()))?
            .map_err(Error::from)?;
        let Some((found, spans)) = found.filter(|(s, _)| s.account == account) else {
            let id = hex::encode(id);
            return Err(Error::ResourceNotFound(format!("Trace {id} not found")).into());
        };
        Ok(Response::new(pb::Trace {
            summary: Some(summary(found)),
            spans: spans.into_iter().map(span).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_taken_in_both_forms() {
        let hex = "5759e988bd862e3fe1be46a994272793";
        assert_eq!(hex::encode(trace_id(hex).unwrap()), hex);
        assert_eq!(
            hex::encode(trace_id("1-5759e988-bd862e3fe1be46a994272793").unwrap()),
            hex
        );
        assert_eq!(
            hex::encode(trace_id("5759E988BD862E3FE1BE46A994272793").unwrap()),
            hex
        );
        assert!(trace_id("nope").is_err());
    }
}
