//! Running one request of a `wasi:http` component: the same gate, limits,
//! metrics and log as any invocation, but the response streams to the
//! client as the guest writes it, and the invocation is recorded when the
//! guest's `handle` returns (in the background, so a client that goes
//! away does not leave it unrecorded).

use std::sync::Arc;

use funnel_runtime::{HttpBody, HttpCall, HttpInvocation};
use funnel_store::FunctionRecord;

use super::{Dispatcher, InvokeResult, Running};
use crate::error::{Error, Result};

/// What a request to a `wasi:http` component came to.
pub(crate) enum HttpRun {
    /// The guest's response, streaming; its invocation finishes on its own.
    Response(http::Response<HttpBody>),
    /// The guest ended before it set a response (or set an error):
    /// Lambda's result, which says why.
    Failed(InvokeResult),
}

impl Dispatcher {
    /// Hands `request` to the component of `record`.
    pub(crate) async fn run_http(
        &self,
        record: &Arc<FunctionRecord>,
        request_id: String,
        request: http::Request<HttpBody>,
    ) -> Result<HttpRun> {
        let prepared = self.functions.prepared(record).await?;
        let permit = self.admit(record)?;
        let config = self.shared_environment_config(record);
        let HttpInvocation {
            mut response,
            mut outcome,
        } = self.runtime.invoke_http(
            &prepared,
            config,
            HttpCall {
                request_id: request_id.clone(),
                request,
            },
        );
        // The guest runs right here first: a request that does not yield
        // (the common, short one) has set its response and written its
        // body when this poll returns, and is recorded now.
        let first =
            std::future::poll_fn(|cx| std::task::Poll::Ready(outcome.as_mut().poll(cx))).await;
        let finished = match first {
            std::task::Poll::Ready(result) => {
                let _running = Running {
                    metrics: &self.metrics,
                    function: &record.name,
                };
                let settled = self.settle(record, request_id, result, false, None);
                drop(permit);
                match response.try_recv() {
                    Ok(Ok(response)) => return Ok(HttpRun::Response(response)),
                    Ok(Err(why)) => {
                        tracing::info!(function = %record.name, why, "the component answered with an error code");
                    }
                    Err(_) => {}
                }
                settled
            }
            std::task::Poll::Pending => {
                // It yielded: the rest runs on the guest threads, recorded
                // by a task of its own (a client that goes away does not
                // stop it), while the response is awaited here.
                let finishing = tokio::spawn({
                    let recorder = self.recorder();
                    let abort = self.abort.clone();
                    let record = record.clone();
                    async move {
                        let _permit = permit;
                        let _running = Running {
                            metrics: &recorder.metrics,
                            function: &record.name,
                        };
                        let outcome = tokio::select! {
                            outcome = outcome => outcome,
                            () = abort.cancelled() => {
                                tracing::warn!(function = %record.name, request_id = %request_id, "stopped by shutdown");
                                return Err(Error::ShuttingDown(format!(
                                    "the server is shutting down; invocation {request_id} was stopped"
                                )));
                            }
                        };
                        recorder.settle(&record, request_id, outcome, false)
                    }
                });
                match response.await {
                    Ok(Ok(response)) => return Ok(HttpRun::Response(response)),
                    Ok(Err(why)) => {
                        tracing::info!(function = %record.name, why, "the component answered with an error code");
                    }
                    Err(_) => {}
                }
                finishing
                    .await
                    .map_err(|join| Error::Service(format!("the invocation task failed: {join}")))?
            }
        };
        // No response: the outcome says why.
        match finished? {
            // It set an error code instead of a response.
            result if result.function_error.is_none() => Ok(HttpRun::Failed(InvokeResult {
                function_error: Some("Unhandled"),
                payload: br#"{"errorType":"Runtime.ResponseError"}"#.to_vec(),
                ..result
            })),
            result => Ok(HttpRun::Failed(result)),
        }
    }
}
