//! The one clock every time-based behaviour runs on: idle retirement,
//! retries and backoff, event age, schedules, log timestamps. Production
//! uses the system's clock; tests and `--clock virtual` use a manual one
//! that moves only when told; the benchmark runs a real one sped up.
//!
//! Guest deadlines are not on this clock: they are enforced by the engine's
//! epoch ticker in real time, because a guest burns real CPU.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How far ahead of a wake-up time a sleeper stops sleeping and yields
/// instead (a bit more than a tokio timer tick).
const TIMER_SLACK: Duration = Duration::from_micros(1500);

/// A monotonic clock, as time elapsed since it started. Cheap to clone.
#[derive(Clone)]
pub struct Clock {
    source: Arc<Source>,
}

enum Source {
    System(Instant),
    /// Wall time starts at the real time the clock was made; the `Notify`
    /// wakes sleepers when the clock is advanced.
    Manual(Mutex<Duration>, SystemTime, tokio::sync::Notify),
    /// Real time sped up `factor` times from `start` (wall time starts at
    /// the real time then): a benchmark's minutes in real milliseconds.
    Scaled {
        started: Instant,
        start: SystemTime,
        factor: u32,
    },
}

impl Clock {
    /// The system's monotonic clock.
    pub fn system() -> Self {
        Clock {
            source: Arc::new(Source::System(Instant::now())),
        }
    }

    /// A clock that only moves when [`Clock::advance`] is called.
    pub fn manual() -> Self {
        Clock::manual_at(SystemTime::now())
    }

    /// A manual clock whose wall time starts at `start`: the server's
    /// virtual clock (`funnel up --clock virtual=START`).
    pub fn manual_at(start: SystemTime) -> Self {
        Clock {
            source: Arc::new(Source::Manual(
                Mutex::new(Duration::ZERO),
                start,
                tokio::sync::Notify::new(),
            )),
        }
    }

    /// Real time from `start` on, running `factor` times faster (wall
    /// time equals `start` when the clock is made).
    pub fn scaled(start: SystemTime, factor: u32) -> Self {
        Clock {
            source: Arc::new(Source::Scaled {
                started: Instant::now(),
                start,
                factor: factor.max(1),
            }),
        }
    }

    /// Whether this clock moves only when told.
    pub fn is_manual(&self) -> bool {
        matches!(&*self.source, Source::Manual(..))
    }

    pub fn now(&self) -> Duration {
        match &*self.source {
            Source::System(start) => start.elapsed(),
            Source::Manual(now, ..) => *now.lock().unwrap_or_else(|e| e.into_inner()),
            Source::Scaled {
                started, factor, ..
            } => started.elapsed() * *factor,
        }
    }

    /// Wall-clock time (timestamps of log events, retention), moving with
    /// [`Clock::now`] on a manual clock.
    pub fn wall(&self) -> SystemTime {
        match &*self.source {
            Source::System(_) => SystemTime::now(),
            Source::Manual(_, base, _) => *base + self.now(),
            Source::Scaled { start, .. } => *start + self.now(),
        }
    }

    /// [`Clock::wall`] in milliseconds since the Unix epoch.
    pub fn wall_ms(&self) -> i64 {
        self.wall()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// Moves a manual clock forward; a system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(now, _, moved) = &*self.source {
            *now.lock().unwrap_or_else(|e| e.into_inner()) += by;
            moved.notify_waiters();
        }
    }

    /// Moves a manual clock forward to wall time `at_ms`; a time before
    /// the clock's leaves it where it is (it never goes back).
    pub fn advance_to_wall_ms(&self, at_ms: i64) {
        let ahead = at_ms.saturating_sub(self.wall_ms());
        if ahead > 0 {
            self.advance(Duration::from_millis(ahead as u64));
        }
    }

    /// Waits until [`Clock::wall_ms`] reaches `at_ms`: in real time on the
    /// system clock, until a test advances it that far on a manual one.
    pub async fn sleep_until_wall_ms(&self, at_ms: i64) {
        match &*self.source {
            Source::System(_) | Source::Scaled { .. } => {
                let factor = match &*self.source {
                    Source::Scaled { factor, .. } => *factor,
                    _ => 1,
                };
                // Tokio's timers tick in whole milliseconds and fire up to
                // one late: sleep to just short of the time, then yield
                // until it comes (a schedule's fire is due to the
                // millisecond).
                let at = UNIX_EPOCH + Duration::from_millis(at_ms.max(0) as u64);
                while let Ok(wait) = at.duration_since(self.wall()) {
                    if wait.is_zero() {
                        break;
                    }
                    let real = wait / factor;
                    if real > TIMER_SLACK {
                        tokio::time::sleep(real - TIMER_SLACK).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                }
            }
            Source::Manual(_, _, moved) => loop {
                let advanced = moved.notified();
                tokio::pin!(advanced);
                advanced.as_mut().enable();
                if self.wall_ms() >= at_ms {
                    return;
                }
                advanced.await;
            },
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.source {
            Source::System(_) => write!(f, "Clock::system({:?})", self.now()),
            Source::Manual(..) => write!(f, "Clock::manual({:?})", self.now()),
            Source::Scaled { factor, .. } => {
                write!(f, "Clock::scaled({factor}×, {:?})", self.now())
            }
        }
    }
}
