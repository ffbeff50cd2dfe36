//! Delivering queued events, with Lambda's async contract:
//!
//! - a function error (handled, unhandled, timeout) is retried up to
//!   `MaximumRetryAttempts` more times, 1 minute before the second attempt
//!   and 2 minutes before the third;
//! - a throttle or a system error puts the event back with exponential
//!   backoff from 1 s to 5 minutes, for as long as its age allows;
//! - an event past `MaximumEventAgeInSeconds` stops (`EventAgeExceeded`),
//!   one out of retries stops (`RetriesExhausted`);
//! - a stopped event's record (Lambda's destination shape) goes to the
//!   `OnFailure` destination, or else to the dead-letter store; a success
//!   goes to `OnSuccess` when there is one.
//!
//! Every move of an event is one atomic store step, taken after the
//! delivery's outcome is known, so a crash redelivers rather than loses.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::{Dispatcher, InvokeResult};
use crate::error::{Error, Result};
use crate::function::{Destination, LATEST};
use crate::invoke_config::AsyncSettings;
use crate::queue::Counter;
use funnel_store::{DeadLetter, QueuedEvent, Slot};

/// The wait before the second attempt after a function error; the third
/// waits twice as long.
const RETRY_DELAY: Duration = Duration::from_secs(60);
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// Lambda's recursive loop detection: an invocation with this many before
/// it in its chain of triggers (the 17th) is stopped, not run.
pub const MAX_CHAIN_DEPTH: u32 = 16;

/// Why an event stopped without success.
#[derive(Debug, Clone, Copy)]
enum Stop {
    RetriesExhausted,
    EventAgeExceeded,
    FunctionNotFound,
    RecursiveInvocation,
}

impl Stop {
    fn condition(self) -> &'static str {
        match self {
            Stop::RetriesExhausted => "RetriesExhausted",
            Stop::EventAgeExceeded => "EventAgeExceeded",
            Stop::FunctionNotFound => "FunctionNotFound",
            Stop::RecursiveInvocation => "RecursiveInvocationDetected",
        }
    }
}

impl Dispatcher {
    /// Starts handing due events to deliveries, until `stop`.
    pub fn start_deliveries(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let queue = this.queue.clone();
            let deliver = |slot: Slot, event: QueuedEvent, permit: OwnedSemaphorePermit| {
                let this = this.clone();
                tokio::spawn(async move {
                    this.deliver(slot, event).await;
                    drop(permit);
                });
            };
            let render = |group: &funnel_store::QueuedGroup, target: &funnel_store::GroupTarget| {
                crate::topics::render(&group.shared, &target.variant)
            };
            queue.schedule(deliver, render, stop).await;
        })
    }

    async fn deliver(&self, slot: Slot, event: QueuedEvent) {
        if let Err(err) = self.try_deliver(&slot, event).await {
            // The event is still queued: the next scan tries it again.
            tracing::error!(cause = %err, "async delivery could not record its outcome");
        }
        self.queue.finish(&slot);
        self.queue.wake();
    }

    async fn try_deliver(&self, slot: &Slot, mut event: QueuedEvent) -> Result<()> {
        let now = self.queue.clock().wall_ms();
        self.metrics.async_attempt(
            &event.function_name,
            Duration::from_millis(now.saturating_sub(event.received_ms).max(0) as u64),
        );
        let settings = self
            .configs
            .async_settings(&event.function_name, &event.qualifier);
        let expires = event.received_ms.saturating_add(settings.max_event_age_ms);
        if now >= expires {
            return self
                .stop(slot, event, &settings, Stop::EventAgeExceeded, None)
                .await;
        }
        if event.chain_depth >= MAX_CHAIN_DEPTH {
            self.metrics.recursive_dropped(&event.function_name);
            return self
                .stop(slot, event, &settings, Stop::RecursiveInvocation, None)
                .await;
        }
        let looked_up = self
            .functions
            .lookup(&event.function_name, &event.qualifier);
        let (target, record) = match looked_up {
            Ok(found) => found,
            Err(Error::ResourceNotFound(_)) => {
                return self
                    .stop(slot, event, &settings, Stop::FunctionNotFound, None)
                    .await;
            }
            Err(_) => return self.back_off(slot, event, now, expires),
        };
        let traced = super::traced::DeliveryTrace::start(&self.tracer, slot, &mut event);
        let ran = self
            .run(
                &target,
                &record,
                super::RunCall {
                    request_id: event.request_id.clone(),
                    payload: event.payload.clone().into_bytes(),
                    client_context: event.client_context.clone(),
                    chain_depth: event.chain_depth,
                    tail: false,
                    origin: crate::recordings::Origin::queued(&event),
                    trace: traced.run,
                },
            )
            .await;
        traced.finish(&self.tracer, &ran);
        match ran {
            Ok(result) => {
                event.invoke_count += 1;
                // Before the event leaves the queue: a line an operator (or
                // a crash test) can count deliveries by.
                tracing::debug!(
                    function = %event.function_name,
                    request_id = %event.request_id,
                    attempt = event.invoke_count,
                    function_error = result.function_error.unwrap_or(""),
                    "delivered async event"
                );
                if result.function_error.is_none() {
                    self.succeed(slot, &event, &settings, &result).await
                } else {
                    event.function_errors += 1;
                    if event.function_errors > settings.max_retry_attempts {
                        self.stop(
                            slot,
                            event,
                            &settings,
                            Stop::RetriesExhausted,
                            Some(&result),
                        )
                        .await
                    } else {
                        let delay = RETRY_DELAY * event.function_errors;
                        let due = (now + delay.as_millis() as i64).min(expires);
                        self.queue.events().requeue(slot, due, &event)?;
                        self.queue.count(Counter::Retried);
                        Ok(())
                    }
                }
            }
            // Stopped by shutdown: it stays queued for the next start.
            Err(Error::ShuttingDown(_)) => Ok(()),
            Err(_) => self.back_off(slot, event, now, expires),
        }
    }

    /// A throttle or a system error: try again later, the wait doubling
    /// from 1 s up to 5 minutes, but not past the event's maximum age.
    fn back_off(&self, slot: &Slot, mut event: QueuedEvent, now: i64, expires: i64) -> Result<()> {
        event.system_retries += 1;
        let doublings = event.system_retries.saturating_sub(1).min(16);
        let wait = (BACKOFF_START * 2u32.pow(doublings)).min(BACKOFF_CAP);
        let due = (now + wait.as_millis() as i64).min(expires);
        self.queue.events().requeue(slot, due, &event)?;
        self.queue.count(Counter::Throttled);
        Ok(())
    }

    async fn succeed(
        &self,
        slot: &Slot,
        event: &QueuedEvent,
        settings: &AsyncSettings,
        result: &InvokeResult,
    ) -> Result<()> {
        self.queue.count(Counter::Delivered);
        let Some(destination) = &settings.on_success else {
            return self.queue.ack(slot).await;
        };
        let record = self.destination_record(event, "Success", Some(result));
        let forwarded = self.forward_traced(slot, event, destination, record, None)?;
        if !forwarded {
            self.queue.count(Counter::DestinationFailure);
            self.metrics.destination_failure(&event.function_name);
            self.queue.ack(slot).await?;
        }
        Ok(())
    }

    async fn stop(
        &self,
        slot: &Slot,
        event: QueuedEvent,
        settings: &AsyncSettings,
        why: Stop,
        result: Option<&InvokeResult>,
    ) -> Result<()> {
        self.queue.count(Counter::Delivered);
        self.metrics.async_dropped(&event.function_name);
        tracing::warn!(
            function = %event.function_name,
            request_id = %event.request_id,
            condition = why.condition(),
            attempts = event.invoke_count,
            "async event failed"
        );
        if let Some(destination) = &settings.on_failure {
            let record = self.destination_record(&event, why.condition(), result);
            let forwarded =
                self.forward_traced(slot, &event, destination, record, Some(why.condition()))?;
            if forwarded {
                return Ok(());
            }
            self.queue.count(Counter::DestinationFailure);
            self.metrics.destination_failure(&event.function_name);
        }
        let (error_type, error_message) = result
            .and_then(|r| serde_json::from_slice::<Value>(&r.payload).ok())
            .map(|body| {
                let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
                (text("errorType"), text("errorMessage"))
            })
            .unwrap_or_default();
        let letter = DeadLetter {
            event,
            condition: why.condition().to_string(),
            error_type,
            error_message,
            failed_ms: self.queue.clock().wall_ms(),
        };
        let function = letter.event.function_name.clone();
        if let Err(err) = self.queue.events().dead_letter(slot, &letter) {
            self.metrics.dead_letter_error(&function);
            return Err(err);
        }
        self.queue.count(Counter::DeadLettered);
        Ok(())
    }

    /// Replaces the event in the queue by an event for `destination`
    /// carrying `record`. Returns false (leaving the event) if the
    /// destination is not a function that exists.
    /// [`Dispatcher::forward`] under the destination hop's span: OnSuccess,
    /// or OnFailure with its `condition`.
    fn forward_traced(
        &self,
        slot: &Slot,
        event: &QueuedEvent,
        destination: &str,
        record: Value,
        condition: Option<&str>,
    ) -> Result<bool> {
        let name = match condition {
            None => "destination OnSuccess",
            Some(_) => "destination OnFailure",
        };
        let (span, trace) = super::traced::destination(&self.tracer, event, name, destination);
        let forwarded = self.forward(slot, event.chain_depth, destination, record, trace)?;
        if let Some(mut span) = span {
            if let Some(condition) = condition {
                span.attr("condition", condition);
            }
            self.tracer.end(span);
        }
        Ok(forwarded)
    }

    fn forward(
        &self,
        slot: &Slot,
        event_depth: u32,
        destination: &str,
        record: Value,
        trace: Option<String>,
    ) -> Result<bool> {
        let function_arn = match self.functions.naming().destination(destination) {
            Ok(Destination::Function(arn)) => arn,
            Ok(Destination::Topic(_)) => {
                return self.publish_record(slot, event_depth, destination, record, trace);
            }
            Err(err) => {
                tracing::warn!(destination, cause = %err, "async destination is not a function or topic ARN");
                return Ok(false);
            }
        };
        let Ok((target, _)) = self.functions.lookup(function_arn, "") else {
            tracing::warn!(destination, "async destination does not exist");
            return Ok(false);
        };
        let now = self.queue.clock().wall_ms();
        let next = QueuedEvent {
            request_id: uuid::Uuid::new_v4().to_string(),
            function_name: target.name,
            qualifier: target.qualifier.unwrap_or_default(),
            payload: record.to_string(),
            client_context: None,
            received_ms: now,
            invoke_count: 0,
            function_errors: 0,
            system_retries: 0,
            // The destination's invocation continues the chain.
            chain_depth: event_depth.saturating_add(1),
            source: String::new(),
            trace,
        };
        self.queue.events().ack_and_enqueue(slot, now, &next)?;
        Ok(true)
    }

    /// [`Self::forward`] to a topic: the record is published to it.
    fn publish_record(
        &self,
        slot: &Slot,
        event_depth: u32,
        destination: &str,
        record: Value,
        trace: Option<String>,
    ) -> Result<bool> {
        let no_attributes = Default::default();
        match self
            .topics
            .prepare(destination, &record.to_string(), None, &no_attributes)
        {
            Ok((message_id, mut group)) => {
                let now = self.queue.clock().wall_ms();
                // Its age counts from now; its invocations continue the chain.
                group.received_ms = now;
                group.chain_depth = event_depth.saturating_add(1);
                group.trace = trace;
                if group.targets.is_empty() {
                    self.queue.events().ack(slot)?;
                } else {
                    self.queue
                        .messages()
                        .ack_and_enqueue_group(slot, now, &group)?;
                }
                self.queue.wake();
                tracing::debug!(destination, message_id, "async record published to a topic");
                Ok(true)
            }
            Err(err) => {
                tracing::warn!(destination, cause = %err, "async destination topic refused the record");
                Ok(false)
            }
        }
    }

    /// Lambda's destination record.
    fn destination_record(
        &self,
        event: &QueuedEvent,
        condition: &str,
        result: Option<&InvokeResult>,
    ) -> Value {
        let qualifier = if event.qualifier.is_empty() {
            LATEST
        } else {
            &event.qualifier
        };
        let parse = |text: &[u8]| {
            serde_json::from_slice::<Value>(text)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(text).into_owned()))
        };
        let timestamp = chrono::DateTime::<chrono::Utc>::from(self.queue.clock().wall())
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let mut record = json!({
            "version": "1.0",
            "timestamp": timestamp,
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": self.functions.naming().function_arn(&event.function_name, Some(qualifier)),
                "condition": condition,
                "approximateInvokeCount": event.invoke_count,
            },
            "requestPayload": parse(event.payload.as_bytes()),
        });
        if let Some(result) = result {
            let mut context = json!({
                "statusCode": result.status_code,
                "executedVersion": result.executed_version,
            });
            if let Some(error) = result.function_error {
                context["functionError"] = json!(error);
            }
            record["responseContext"] = context;
            record["responsePayload"] = parse(&result.payload);
        }
        record
    }
}
