//! Where trigger events go: a trigger (a bucket, a topic, a schedule) names
//! the function by ARN and says who it is; the router checks the function's
//! resource policy and queues the event for asynchronous invocation, as the
//! AWS services invoke Lambda. An event that may not run is logged and
//! counted, never dropped silently.

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::policies::{Caller, Policies};
use crate::queue::AsyncQueue;
use crate::registry::Registry;
use funnel_store::{GroupTarget, QueuedEvent, QueuedGroup};

/// Cheap to clone.
#[derive(Clone)]
pub struct Router {
    functions: Registry,
    policies: Policies,
    queue: AsyncQueue,
    metrics: Metrics,
    tracer: crate::traces::Tracer,
}

/// What became of a trigger's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// Durably queued, with this request id.
    Queued(String),
    /// Not run: the function's policy does not let the source invoke it,
    /// or the function is gone. Logged and counted.
    Refused(&'static str),
}

impl Router {
    pub fn new(
        functions: Registry,
        policies: Policies,
        queue: AsyncQueue,
        metrics: Metrics,
        tracer: crate::traces::Tracer,
    ) -> Router {
        Router {
            functions,
            policies,
            queue,
            metrics,
            tracer,
        }
    }

    /// The tracer: the doors' trigger spans.
    pub fn tracer(&self) -> &crate::traces::Tracer {
        &self.tracer
    }

    /// The function registry, for doors that resolve names themselves.
    pub fn registry(&self) -> &Registry {
        &self.functions
    }

    /// The resource policies, for doors that check a configuration's
    /// permission before storing it.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// Queues `payload` (JSON) for `function_arn` if `caller` may invoke it;
    /// returns once the event is durable. Errors only when the queue cannot
    /// take it (the trigger keeps the event and tries again).
    pub async fn queue(
        &self,
        caller: Caller<'_>,
        function_arn: &str,
        payload: String,
    ) -> Result<Routed> {
        match self.route(caller, function_arn, payload)? {
            Ok(event) => {
                let request_id = event.request_id.clone();
                self.accept_all(vec![event]).await?;
                Ok(Routed::Queued(request_id))
            }
            Err(reason) => Ok(Routed::Refused(reason)),
        }
    }

    /// The event to queue for `function_arn`, or why it may not run (the
    /// refusal is logged and counted here).
    pub fn route(
        &self,
        caller: Caller<'_>,
        function_arn: &str,
        payload: String,
    ) -> Result<std::result::Result<QueuedEvent, &'static str>> {
        Ok(self.target(caller, function_arn)?.map(|target| {
            let mut event = QueuedEvent::new(
                target.request_id,
                target.function_name,
                target.qualifier,
                payload,
                None,
            );
            // Its door, for recordings.
            event.source = crate::recordings::Door::of_service(caller.service)
                .as_str()
                .to_string();
            // The door's trace, when it runs within one.
            event.trace = crate::traces::current().map(|trace| trace.xray());
            event
        }))
    }

    /// Who an event for `function_arn` goes to (with a new request id),
    /// or why it may not run (the refusal is logged and counted here).
    pub fn target(
        &self,
        caller: Caller<'_>,
        function_arn: &str,
    ) -> Result<std::result::Result<GroupTarget, &'static str>> {
        let reason = match self.policies.allows(function_arn, "", caller) {
            Ok(true) => None,
            Ok(false) => Some("AccessDenied"),
            Err(Error::ResourceNotFound(_)) => Some("FunctionNotFound"),
            Err(err) => return Err(err),
        };
        let target = self.functions.resolve(function_arn, "")?;
        if let Some(reason) = reason {
            tracing::warn!(
                function = function_arn,
                source = caller.source_arn,
                principal = caller.service,
                reason,
                "trigger event refused: the function's resource policy does not allow this source \
                 (funnel function add-permission), or the function is gone"
            );
            self.metrics
                .trigger_refused(&target.name, caller.source_arn, reason);
            return Ok(Err(reason));
        }
        Ok(Ok(GroupTarget {
            request_id: uuid::Uuid::new_v4().to_string(),
            function_name: target.name,
            qualifier: target.qualifier.unwrap_or_default(),
            variant: String::new(),
        }))
    }

    /// Queues groups (each one message for its targets) atomically;
    /// returns once they are durable. Refused whole when a target's
    /// function or account has its queue cap waiting already.
    pub async fn accept_groups(&self, groups: Vec<QueuedGroup>) -> Result<()> {
        let functions: Vec<String> = groups
            .iter()
            .flat_map(|g| g.targets.iter().map(|t| t.function_name.clone()))
            .collect();
        let keys: Vec<&str> = functions.iter().map(String::as_str).collect();
        self.queue.check_room(&keys).await?;
        self.queue.accept_groups(groups).await?;
        for function in functions {
            self.metrics.async_received(&function);
        }
        Ok(())
    }

    /// Queues routed events atomically, letting their deliveries start
    /// before they are durable (see [`AsyncQueue::accept_all_eagerly`]);
    /// returns once they are.
    pub async fn accept_all_eagerly(&self, events: Vec<QueuedEvent>) -> Result<()> {
        self.accept_events(events, true).await
    }

    /// Waits until every write made before the call is durable (the
    /// queue's shared flush).
    pub async fn durable(&self) -> Result<()> {
        self.queue.durable().await
    }

    /// Queues routed events atomically; returns once they are durable.
    pub async fn accept_all(&self, events: Vec<QueuedEvent>) -> Result<()> {
        self.accept_events(events, false).await
    }

    /// Queues events (eagerly: deliveries may start before the flush) and
    /// counts each for its function.
    async fn accept_events(&self, events: Vec<QueuedEvent>, eagerly: bool) -> Result<()> {
        let functions: Vec<String> = events.iter().map(|e| e.function_name.clone()).collect();
        if eagerly {
            self.queue.accept_all_eagerly(events).await?;
        } else {
            self.queue.accept_all(events).await?;
        }
        for function in functions {
            self.metrics.async_received(&function);
        }
        Ok(())
    }
}
