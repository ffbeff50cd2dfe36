//! An invocation's spans: `funnel.invoke` (function, version, request id,
//! cold or warm, billed duration, error type) with `Init` (cold starts
//! only), `Invocation` and `Overhead` under it, timed from what the
//! runtime reports (stored as its phases: one span's cost). An unsampled call holds `None` throughout: no clock
//! read, no allocation.

use std::time::{Duration, Instant};

use crate::traces::{Span, TraceContext, Tracer};
use funnel_runtime::{InvokeError, Outcome};
use funnel_store::FunctionRecord;

use super::{Dispatcher, InvokeResult};

impl Dispatcher {
    /// The server's tracer (the doors' request spans).
    pub(crate) fn tracer(&self) -> &Tracer {
        &self.tracer
    }
}

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
        let span = tracer
            .span(parent, "funnel.invoke", &record.name)
            .map(|mut span| {
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
        let ended = Instant::now();
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
        let start_us = span.start_us();
        if let Some((at, init, duration)) = returned {
            let since_return = ended.saturating_duration_since(at);
            let returned_us = start_us + total.saturating_sub(since_return).as_micros() as i64;
            let invocation_us = returned_us - duration.as_micros() as i64;
            span.attr("cold", init.is_some());
            span.attr("billed_duration_ms", duration.as_millis().max(1));
            if let Some(init) = init {
                let init_us = init.as_micros() as i64;
                span.phase("Init", invocation_us - init_us, init_us as u64, false);
            }
            let failed = !span.error.is_empty();
            span.phase(
                "Invocation",
                invocation_us,
                duration.as_micros() as u64,
                failed,
            );
            let end_us = start_us + total.as_micros() as i64;
            span.phase(
                "Overhead",
                returned_us,
                (end_us - returned_us).max(0) as u64,
                false,
            );
        }
        span.duration_us = total.as_micros() as u64;
        tracer.end_as_is(span);
    }
}

/// An async delivery's place in its trace: on the first attempt the
/// `funnel.queue` span (accept to start; under an `sns deliver` span for a
/// topic's subscription) is recorded and becomes the event's stored
/// context, so a retry is a `retry` span under it.
pub(super) struct DeliveryTrace {
    retry: Option<Span>,
    /// What the attempt's `funnel.invoke` runs under.
    pub run: Option<TraceContext>,
}

impl DeliveryTrace {
    pub fn start(
        tracer: &Tracer,
        slot: &funnel_store::Slot,
        event: &mut funnel_store::QueuedEvent,
    ) -> DeliveryTrace {
        let Some(stored) = event.trace.as_deref().and_then(TraceContext::parse_stored) else {
            return DeliveryTrace {
                retry: None,
                run: None,
            };
        };
        if event.invoke_count > 0 || event.system_retries > 0 {
            let retry = tracer
                .span(Some(&stored), "retry", &event.function_name)
                .map(|mut span| {
                    span.attr("attempt", event.invoke_count + event.system_retries + 1);
                    span.attr("request_id", &event.request_id);
                    span
                });
            let run = retry.as_ref().map(Span::context).or(Some(stored));
            return DeliveryTrace { retry, run };
        }
        if !stored.sampled {
            return DeliveryTrace {
                retry: None,
                run: Some(stored),
            };
        }
        let now_us = tracer.now_us();
        // The clock's wall time of the accept, on the tracer's timeline.
        let offset = now_us - tracer.wall_us();
        let received_us = (event.received_ms.saturating_mul(1000) + offset).min(now_us);
        let waited = (now_us - received_us).max(0) as u64;
        let mut parent = stored;
        if let Some(subscription) = &slot.member {
            let mut deliver =
                tracer.span_at(&stored, "sns deliver", &event.function_name, received_us);
            deliver.attr("subscription", subscription);
            deliver.duration_us = waited;
            parent = deliver.context();
            tracer.end_as_is(deliver);
        }
        let mut queue = tracer.span_at(&parent, "funnel.queue", &event.function_name, received_us);
        queue.attr("request_id", &event.request_id);
        queue.duration_us = waited;
        let context = queue.context();
        tracer.end_as_is(queue);
        event.trace = Some(context.xray());
        DeliveryTrace {
            retry: None,
            run: Some(context),
        }
    }

    /// The attempt is over.
    pub fn finish(self, tracer: &Tracer, ran: &crate::error::Result<InvokeResult>) {
        if let Some(mut retry) = self.retry {
            match ran {
                Ok(result) if result.function_error.is_some() => {
                    retry.fail(result.function_error.unwrap_or_default())
                }
                Ok(_) => {}
                Err(err) => retry.fail(err.aws_name()),
            }
            tracer.end(retry);
        }
    }
}

/// The `destination OnSuccess|OnFailure` hop of an event's record, under
/// its queue span; the trace the record's event continues.
pub(super) fn destination(
    tracer: &Tracer,
    event: &funnel_store::QueuedEvent,
    kind: &'static str,
    destination: &str,
) -> (Option<Span>, Option<String>) {
    let stored = event.trace.as_deref().and_then(TraceContext::parse_stored);
    let span = tracer
        .span(stored.as_ref(), kind, &event.function_name)
        .map(|mut span| {
            span.attr("destination", destination);
            span
        });
    let next = span
        .as_ref()
        .map(Span::context)
        .or(stored)
        .map(|c| c.xray());
    (span, next)
}
