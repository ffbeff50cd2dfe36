//! `funnel.v1.AsyncInvocation`: event invoke configs and dead letters.

use funnel_proto::v1 as pb;
use funnel_proto::v1::async_invocation_server::AsyncInvocation as AsyncApi;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::invoke_config::{EventInvokeChange, InvokeConfigs};
use crate::queue::AsyncQueue;
use funnel_store::EventInvokeConfig;

/// The most a ListDeadLetters page holds.
const MAX_PAGE: usize = 100;

pub struct AsyncService {
    configs: InvokeConfigs,
    queue: AsyncQueue,
}

impl AsyncService {
    pub fn new(configs: InvokeConfigs, queue: AsyncQueue) -> Self {
        AsyncService { configs, queue }
    }

    fn config(&self, config: EventInvokeConfig) -> pb::FunctionEventInvokeConfig {
        pb::FunctionEventInvokeConfig {
            function_arn: self.configs.event_invoke_config_arn(&config),
            last_modified: config.last_modified,
            maximum_retry_attempts: config.maximum_retry_attempts.map(|n| n as i32),
            maximum_event_age_in_seconds: config.maximum_event_age_in_seconds.map(|n| n as i32),
            destination_config: Some(pb::DestinationConfig {
                on_success: config
                    .on_success
                    .map(|destination| pb::OnSuccess { destination }),
                on_failure: config
                    .on_failure
                    .map(|destination| pb::OnFailure { destination }),
            }),
        }
    }

    async fn put(
        &self,
        req: pb::PutFunctionEventInvokeConfigRequest,
        replace: bool,
    ) -> Result<Response<pb::FunctionEventInvokeConfig>, Status> {
        let destinations = req.destination_config.unwrap_or_default();
        let change = EventInvokeChange {
            maximum_retry_attempts: req.maximum_retry_attempts,
            maximum_event_age_in_seconds: req.maximum_event_age_in_seconds,
            on_success: destinations.on_success.map(|d| d.destination),
            on_failure: destinations.on_failure.map(|d| d.destination),
        };
        let config = self
            .configs
            .put_event_invoke_config(&req.function_name, &req.qualifier, change, replace)
            .await?;
        Ok(Response::new(self.config(config)))
    }
}

#[tonic::async_trait]
impl AsyncApi for AsyncService {
    async fn put_function_event_invoke_config(
        &self,
        request: Request<pb::PutFunctionEventInvokeConfigRequest>,
    ) -> Result<Response<pb::FunctionEventInvokeConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.put(req, true).await
    }

    async fn update_function_event_invoke_config(
        &self,
        request: Request<pb::PutFunctionEventInvokeConfigRequest>,
    ) -> Result<Response<pb::FunctionEventInvokeConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.put(req, false).await
    }

    async fn get_function_event_invoke_config(
        &self,
        request: Request<pb::GetFunctionEventInvokeConfigRequest>,
    ) -> Result<Response<pb::FunctionEventInvokeConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let config = self
            .configs
            .get_event_invoke_config(&req.function_name, &req.qualifier)?;
        Ok(Response::new(self.config(config)))
    }

    async fn delete_function_event_invoke_config(
        &self,
        request: Request<pb::GetFunctionEventInvokeConfigRequest>,
    ) -> Result<Response<pb::DeleteFunctionEventInvokeConfigResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.configs
            .delete_event_invoke_config(&req.function_name, &req.qualifier)
            .await?;
        Ok(Response::new(
            pb::DeleteFunctionEventInvokeConfigResponse {},
        ))
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let limit = crate::function::page_size(req.max_items, MAX_PAGE)?;
        let function = self.function_name(&req.function_name)?;
        // One extra tells whether there is a next page; only the caller's
        // account's letters are seen.
        let mut page = Vec::new();
        let mut marker = (!req.marker.is_empty()).then(|| req.marker.clone());
        loop {
            const BATCH: usize = 256;
            let batch =
                self.queue
                    .events()
                    .dead_letters(function.as_deref(), marker.as_deref(), BATCH)?;
            let done = batch.len() < BATCH;
            marker = batch.last().map(|(key, _)| key.clone());
            page.extend(
                batch
                    .into_iter()
                    .filter(|(_, letter)| caller.owns(&letter.event.function_name)),
            );
            if done || page.len() > limit {
                break;
            }
        }
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|(key, _)| key.clone())
        } else {
            None
        };
        let dead_letters = page
            .into_iter()
            .map(|(_, letter)| pb::DeadLetter {
                request_id: letter.event.request_id,
                function_name: crate::tenancy::name(&letter.event.function_name).to_string(),
                qualifier: letter.event.qualifier,
                condition: letter.condition,
                approximate_invoke_count: letter.event.invoke_count as i32,
                error_type: letter.error_type,
                error_message: letter.error_message,
                payload: letter.event.payload.into_bytes(),
                received_time: letter.event.received_ms,
                failed_time: letter.failed_ms,
            })
            .collect();
        Ok(Response::new(pb::ListDeadLettersResponse {
            dead_letters,
            next_marker: next.unwrap_or_default(),
        }))
    }

    async fn redrive_dead_letters(
        &self,
        request: Request<pb::RedriveDeadLettersRequest>,
    ) -> Result<Response<pb::RedriveDeadLettersResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let function = self
            .function_name(&req.function_name)?
            .ok_or_else(|| Error::InvalidParameterValue("FunctionName is required".into()))?;
        let now = self.queue.clock().wall_ms();
        let redriven = self
            .queue
            .events()
            .redrive(&function, &req.request_ids, now, now)?;
        self.queue.durable().await?;
        self.queue.wake();
        Ok(Response::new(pb::RedriveDeadLettersResponse {
            redriven: redriven as i32,
        }))
    }

    async fn purge_dead_letters(
        &self,
        request: Request<pb::PurgeDeadLettersRequest>,
    ) -> Result<Response<pb::PurgeDeadLettersResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let function = self
            .function_name(&req.function_name)?
            .ok_or_else(|| Error::InvalidParameterValue("FunctionName is required".into()))?;
        let purged = self.queue.events().purge_dead_letters(&function)?;
        self.queue.durable().await?;
        Ok(Response::new(pb::PurgeDeadLettersResponse {
            purged: purged as i32,
        }))
    }

    async fn get_queue_stats(
        &self,
        request: Request<pb::GetQueueStatsRequest>,
    ) -> Result<Response<pb::QueueStats>, Status> {
        crate::iam::check(&request)?;
        let stats = self.queue.stats();
        Ok(Response::new(pb::QueueStats {
            received: stats.received as i64,
            delivered: stats.delivered as i64,
            retried: stats.retried as i64,
            throttled: stats.throttled as i64,
            dead_lettered: stats.dead_lettered as i64,
            destination_delivery_failures: stats.destination_failures as i64,
            depth: stats.depth as i64,
        }))
    }
}

impl AsyncService {
    /// A function name or ARN (the function may be gone: its dead letters
    /// stay until redriven or purged); `None` when empty.
    fn function_name(&self, input: &str) -> Result<Option<String>, Status> {
        if input.is_empty() {
            return Ok(None);
        }
        let target = self.configs.naming().parse_function(input)?;
        Ok(Some(target.name))
    }
}
