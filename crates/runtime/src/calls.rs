//! Running calls: an environment for each (a warm one, or a cold start
//! admitted to an instance slot and the memory budget), the call itself
//! (here until the guest first yields, then on the guest threads), and
//! the environment back in its pool afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::environment::{self, Environment, StartError};
use super::threads::AbortOnDrop;
use super::{
    Admission, Call, EnvironmentConfig, HttpCall, HttpInvocation, InvokeError, MEMORY_POLL,
    MEMORY_WAIT, Outcome, Prepared, Runtime,
};

/// An environment ready for a call, or the outcome of a start that failed.
pub(crate) enum Ready {
    Environment(Live),
    Failed(Outcome),
}

/// An environment serving a call, and how it came to.
pub(crate) struct Live {
    environment: Environment,
    /// `Some` on a cold start.
    init_duration: Option<Duration>,
    /// The version's provisioned environments were all busy.
    spillover: bool,
}

impl Runtime {
    /// Runs one invocation in a warm environment of `config`, or a new one
    /// (a cold start) when none is idle.
    ///
    /// A call that finishes without yielding (the common, short one) runs
    /// right here; once the guest yields — it has computed for an epoch tick,
    /// or waits on I/O — the rest of the call moves to the runtime's own
    /// guest threads, so a guest that computes flat out slows other guests,
    /// not the API. If the returned future is dropped, the call is stopped.
    pub async fn invoke(
        &self,
        prepared: &Arc<Prepared>,
        config: Arc<EnvironmentConfig>,
        call: Call,
    ) -> Result<Outcome, InvokeError> {
        let (runtime, prepared) = (self.clone(), prepared.clone());
        let work = Box::pin(async move { runtime.invoke_here(prepared, config, call).await });
        self.clone().here_then_guest_threads(work).await
    }

    /// Polls `work` here once (a call that does not yield ends right
    /// here); if it yielded, the rest runs on the guest threads, stopped
    /// when the returned future is dropped.
    async fn here_then_guest_threads(
        self,
        mut work: std::pin::Pin<
            Box<dyn Future<Output = Result<Outcome, InvokeError>> + Send + 'static>,
        >,
    ) -> Result<Outcome, InvokeError> {
        if let std::task::Poll::Ready(outcome) = environment::poll_once(&mut work).await {
            return outcome;
        }
        let mut task = AbortOnDrop(self.inner.guest_threads.spawn(work));
        match (&mut task.0).await {
            Ok(outcome) => outcome,
            Err(err) => Err(InvokeError::Instantiate(format!(
                "the invocation task failed: {err}"
            ))),
        }
    }

    async fn invoke_here(
        &self,
        prepared: Arc<Prepared>,
        config: Arc<EnvironmentConfig>,
        call: Call,
    ) -> Result<Outcome, InvokeError> {
        let mut live = match self.ready(&prepared, config).await? {
            Ready::Environment(live) => live,
            Ready::Failed(outcome) => return Ok(outcome),
        };
        let called = live.environment.call(call).await;
        Ok(self.finish(prepared, live, called))
    }

    /// Hands one HTTP request to a `wasi:http` component in a warm
    /// environment of `config`, or a new one. The call runs on the
    /// runtime's guest threads; its response comes as soon as the guest
    /// sets it, and its outcome once the guest's `handle` returns.
    pub fn invoke_http(
        &self,
        prepared: &Arc<Prepared>,
        config: Arc<EnvironmentConfig>,
        call: HttpCall,
    ) -> HttpInvocation {
        let (respond, response) = tokio::sync::oneshot::channel();
        let (runtime, prepared) = (self.clone(), prepared.clone());
        let work = async move {
            let mut live = match runtime.ready(&prepared, config).await? {
                Ready::Environment(live) => live,
                Ready::Failed(outcome) => return Ok(outcome),
            };
            let called = live.environment.call_http(call, respond).await;
            Ok(runtime.finish(prepared, live, called))
        };
        HttpInvocation {
            response,
            // As `invoke`: the first poll runs the guest right where the
            // outcome is awaited (a request that does not yield ends
            // there); once it yields, the rest moves to the guest threads.
            outcome: Box::pin(self.clone().here_then_guest_threads(Box::pin(work))),
        }
    }

    /// An environment for a call: a warm one, or one started now (a cold
    /// start); or, when the guest's start failed, the call's outcome.
    async fn ready(
        &self,
        prepared: &Arc<Prepared>,
        config: Arc<EnvironmentConfig>,
    ) -> Result<Ready, InvokeError> {
        let checkout = self.inner.pools.checkout(config);
        self.retire(checkout.stale);
        let spillover = checkout.spillover;
        if let Some(environment) = checkout.warm {
            return Ok(Ready::Environment(Live {
                environment,
                init_duration: None,
                spillover,
            }));
        }
        let admission = self.admit(checkout.config.memory_mb).await?;
        match Environment::start(self, prepared, checkout.config, admission).await {
            Ok((environment, init)) => Ok(Ready::Environment(Live {
                environment,
                init_duration: Some(init),
                spillover,
            })),
            Err(StartError::System(why)) => Err(InvokeError::Instantiate(why)),
            Err(StartError::Guest {
                error,
                output,
                init_duration,
                log_stream,
            }) => Ok(Ready::Failed(Outcome {
                result: Err(error),
                output,
                output_dropped: 0,
                init_duration: Some(init_duration),
                duration: Duration::ZERO,
                max_memory_used: 0,
                log_stream,
                provisioned: false,
                spillover,
            })),
        }
    }

    /// A call's outcome; the environment goes back to its pool, or, when
    /// the call poisoned it, is dropped (and a provisioned one replaced).
    fn finish(&self, prepared: Arc<Prepared>, live: Live, called: environment::Called) -> Outcome {
        let Live {
            mut environment,
            init_duration,
            spillover,
        } = live;
        let (output, output_dropped) = environment.take_output();
        let outcome = Outcome {
            result: called.result,
            output,
            output_dropped,
            init_duration,
            duration: called.duration,
            max_memory_used: environment.max_memory_used(),
            log_stream: environment.log_stream.clone(),
            provisioned: environment.provisioned,
            spillover,
        };
        if called.poisoned {
            // A trap or timeout leaves the guest's state unknown: no reuse,
            // and no shutdown hook (the instance cannot run again). A
            // provisioned environment is replaced, as Lambda does.
            let (provisioned, config) = (environment.provisioned, environment.config.clone());
            drop(environment);
            if provisioned && self.inner.pools.lost_provisioned(&config, true) {
                let runtime = self.clone();
                tokio::spawn(async move { runtime.replace_provisioned(prepared, config).await });
            }
        } else {
            environment.last_used = self.inner.clock.now();
            let checkin = self.inner.pools.checkin(environment);
            self.retire(checkin.stale.into_iter().collect());
            if let Some(config) = checkin.replace {
                self.spawn_replacement(&prepared, config);
            }
        }
        outcome
    }

    /// An instance slot and `memory_mb` of the memory budget for a cold
    /// start. When idle environments hold them, the least recently used
    /// are retired to free them; when busy ones hold the memory, a start
    /// waits up to [`MEMORY_WAIT`] for one to come back, then is refused.
    pub(crate) async fn admit(&self, memory_mb: u32) -> Result<Admission, InvokeError> {
        let slot = loop {
            if let Ok(slot) = self.inner.slots.clone().try_acquire_owned() {
                break slot;
            }
            match self.inner.pools.take_least_recently_used() {
                Some(idle) => idle.shutdown(self.inner.background_output.clone()).await,
                None => return Err(InvokeError::Busy(self.inner.max_instances)),
            }
        };
        let refused = InvokeError::MemoryBudget {
            memory_mb,
            budget_mb: self.inner.memory_budget_mb,
        };
        if u64::from(memory_mb) > self.inner.memory_budget_mb {
            // No retirement would make room.
            return Err(refused);
        }
        let give_up = Instant::now() + MEMORY_WAIT;
        loop {
            if let Ok(memory) = self.inner.memory.clone().try_acquire_many_owned(memory_mb) {
                return Ok(Admission {
                    _slot: slot,
                    _memory: memory,
                });
            }
            match self.inner.pools.take_least_recently_used() {
                Some(idle) => idle.shutdown(self.inner.background_output.clone()).await,
                None if Instant::now() < give_up => tokio::time::sleep(MEMORY_POLL).await,
                None => return Err(refused),
            }
        }
    }
}
