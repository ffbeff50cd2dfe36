//! Faults injected on purpose (`funnel fault put`), acted on where the
//! real failure would happen: an outcome made up in place of the guest's,
//! or a throttle marked in the function's log.

use funnel_store::FunctionRecord;

use super::Dispatcher;
use crate::logs;

impl Dispatcher {
    /// The outcome of a call an injected init-error, timeout or error hit,
    /// in place of the guest's; a timeout takes the function's timeout on
    /// the clock first. Both a timeout and a failed init leave no
    /// environment to reuse: the version's idle environments are retired,
    /// so its next call starts cold.
    pub(super) async fn injected_failure(
        &self,
        record: &FunctionRecord,
        request_id: &str,
        hit: &crate::faults::Hit,
        latency: Option<&crate::faults::Hit>,
    ) -> funnel_runtime::Outcome {
        use crate::faults::Kind;
        let timeout = std::time::Duration::from_secs(record.timeout.into());
        if hit.kind == Kind::Timeout {
            self.faults.delay(timeout.as_millis() as u64).await;
        }
        let latency_ms = latency.map_or(0, |l| l.latency_ms);
        let mut outcome = crate::faults::failed_outcome(
            hit,
            request_id,
            timeout,
            std::time::Duration::from_millis(latency_ms),
            self.faults.log_stream(&record.version),
        );
        if let Some(latency) = latency {
            self.metrics
                .injected_fault(&record.name, latency.kind.as_str());
            outcome.output.splice(0..0, latency.log_line().into_bytes());
        }
        self.metrics.injected_fault(&record.name, hit.kind.as_str());
        if matches!(hit.kind, Kind::Timeout | Kind::InitError) {
            self.runtime
                .retire_function(&record.name, Some(&record.version))
                .await;
        }
        tracing::info!(function = %record.name, request_id, fault = %hit.id, kind = %hit.kind, "injected fault");
        outcome
    }

    /// An injected throttle: counted, and marked in the function's log
    /// (the call has no log of its own: it never started).
    pub(super) fn mark_injected(&self, record: &FunctionRecord, hit: &crate::faults::Hit) {
        self.metrics.injected_fault(&record.name, hit.kind.as_str());
        self.logs.record(
            &logs::log_group(&record.name),
            &self.faults.log_stream(&record.version),
            hit.log_line().as_bytes(),
        );
        tracing::info!(function = %record.name, fault = %hit.id, kind = %hit.kind, "injected fault");
    }
}
