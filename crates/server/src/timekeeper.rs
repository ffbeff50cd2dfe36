//! The virtual clock's driver. On a server started with `--clock virtual`,
//! time moves only when a client asks: [`Timekeeper::advance_to`] walks
//! the clock forward one due time at a time — the next rule fire or the
//! next queued event (a retry's wait, a delayed delivery) — and at each
//! stop lets everything due run to the end before moving on. So fires
//! happen in timestamp order, deterministically, and the call returns
//! once the invocations they caused have run.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::queue::AsyncQueue;
use crate::schedules::Schedules;
use funnel_runtime::Clock;
use funnel_runtime::Runtime;

/// How often a settling step looks again (real time).
const SETTLE_POLL: Duration = Duration::from_millis(1);

/// Cheap to clone.
#[derive(Clone)]
pub struct Timekeeper {
    clock: Clock,
    schedules: Schedules,
    queue: AsyncQueue,
    runtime: Runtime,
}

impl Timekeeper {
    pub fn new(
        clock: Clock,
        schedules: Schedules,
        queue: AsyncQueue,
        runtime: Runtime,
    ) -> Timekeeper {
        Timekeeper {
            clock,
            schedules,
            queue,
            runtime,
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves the virtual clock forward to `target_ms` (wall ms), stopping
    /// at every due time on the way; returns the async invocations that
    /// ran meanwhile. Refused on the real clock, and for a time before
    /// the clock's.
    pub async fn advance_to(&self, target_ms: i64) -> Result<u64> {
        if !self.clock.is_manual() {
            return Err(Error::PreconditionFailed(
                "the server runs on the real clock; start it with --clock virtual to move time"
                    .into(),
            ));
        }
        let now = self.clock.wall_ms();
        if target_ms < now {
            return Err(Error::InvalidParameterValue(format!(
                "the virtual clock only moves forward: {} is before its time {}",
                crate::schedules::ms_to_time(target_ms).to_rfc3339(),
                crate::schedules::ms_to_time(now).to_rfc3339()
            )));
        }
        let ran = |stats: crate::queue::QueueStats| stats.delivered + stats.retried;
        let before = ran(self.queue.stats());
        loop {
            self.settle().await;
            let now = self.clock.wall_ms();
            let next = [self.schedules.next_due_ms(), self.queue.next_due_ms()]
                .into_iter()
                .flatten()
                .filter(|at| *at > now)
                .min();
            match next {
                Some(at) if at <= target_ms => self.clock.advance_to_wall_ms(at),
                _ => {
                    if now < target_ms {
                        self.clock.advance_to_wall_ms(target_ms);
                        self.settle().await;
                    }
                    break;
                }
            }
        }
        Ok(ran(self.queue.stats()) - before)
    }

    /// Waits until every rule due by now has fired and every invocation
    /// due by now has run; then retires the environments idle too long
    /// by now (as housekeeping would on its next round).
    async fn settle(&self) {
        loop {
            let now = self.clock.wall_ms();
            let fired = self.schedules.next_due_ms().is_none_or(|at| at > now);
            if fired && self.queue.idle_at(now) {
                self.runtime.retire_idle().await;
                return;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }
}
