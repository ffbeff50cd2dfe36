//! An invocation's spans: `funnel.invoke` (function, version, request id,
//! cold or warm, billed duration, error type) with `Init` (cold starts
//! only), `Invocation` and `Overhead` under it, timed from what the
//! runtime reports. An unsampled call holds `None` throughout: no clock
//! read, no allocation.

use std::time::{Duration, Instant};

use crate::traces::{Span, TraceContext, Tracer};
use funnel_runtime::{InvokeError, Outcome};
use funnel_store::FunctionRecord;

use super::InvokeResult;

pub(super) struct InvokeTrace {
    span: Option<Timed>,
}

struct Timed {
    span: Span,
    /// When the runtime returned, and what it measured.
    returned: Option<(Instant, Option<Duration>, Duration)>,
}

impl InvokeTrace {
    pub fn start(
        tracer: &Tracer,
        parent: Option<&TraceContext>,
        record: &FunctionRecord,
        request_id: &str,
    ) -> InvokeTrace {
        let span = tracer.span(parent, "funnel.invoke", &record.name).map(|mut span| {
            span.attr("version", &record.version);
            span.attr("request_id", request_id);
            Timed {
                span,
                returned: None,
            }
        });
        InvokeTrace { span }
    }

    /// What the guest sees as its trace (`ctx.trace_id`, `_X_AMZN_TRACE_ID`):
    /// this invocation's span as the parent, or the caller's unsampled
    /// context passed on as it came.
    pub fn guest_trace_id(&self, parent: Option<&TraceContext>) -> Option<String> {
        match &self.span {
            Some(timed) => Some(timed.span.context().xray()),
            None => parent.map(TraceContext::xray),
        }
    }

    /// The runtime has answered.
    pub fn returned(&mut self, outcome: &Result<Outcome, InvokeError>) {
        if let (Some(timed), Ok(outcome)) = (&mut self.span, outcome) {
            timed.returned = Some((Instant::now(), outcome.init_duration, outcome.duration));
        }
    }

    /// Records the spans, with what the call came to.
    pub fn finish(self, tracer: &Tracer, result: &crate::error::Result<InvokeResult>) {
        let Some(Timed { mut span, returned }) = self.span else {
            return;
        };
        let total = span.elapsed();
        match result {
            Ok(result) => {
                if let Some(error) = result.function_error {
                    let error_type = serde_json::from_slice::<serde_json::Value>(&result.payload)
                        .ok()
                        .and_then(|v| v.get("errorType")?.as_str().map(str::to_string))
                        .unwrap_or_else(|| error.to_string());
                    span.attr("function_error", error);
                    span.fail(&error_type);
                }
            }
            Err(err) => span.fail(err.aws_name()),
        }
        let context = span.context();
        let start_us = span.start_us();
        if let Some((at, init, duration)) = returned {
            let returned_us = start_us + (total - at.elapsed()).as_micros() as i64;
            let invocation_us = returned_us - duration.as_micros() as i64;
            span.attr("cold", init.is_some());
            span.attr("billed_duration_ms", duration.as_millis().max(1));
            if let Some(init) = init {
                let init_us = init.as_micros() as i64;
                let mut child = tracer.span_at(&context, "Init", "", invocation_us - init_us);
                child.record.duration_us = init_us as u64;
                tracer.end_as_is(child);
            }
            let mut child = tracer.span_at(&context, "Invocation", "", invocation_us);
            child.record.duration_us = duration.as_micros() as u64;
            child.record.error = span.record.error.clone();
            tracer.end_as_is(child);
            let mut child = tracer.span_at(&context, "Overhead", "", returned_us);
            child.record.duration_us = at.elapsed().as_micros() as u64;
            tracer.end_as_is(child);
        }
        span.record.duration_us = total.as_micros() as u64;
        tracer.end_as_is(span);
    }
}
