//! Time for housekeeping that must be testable without waiting: idle
//! retirement now, retries and schedules later. Production uses the system's
//! monotonic clock; tests advance a manual one.
//!
//! Guest deadlines are not on this clock: they are enforced by the engine's
//! epoch ticker in real time, because a guest burns real CPU.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

    /// Whether this clock moves only when told.
    pub fn is_manual(&self) -> bool {
        matches!(&*self.source, Source::Manual(..))
    }

    pub fn now(&self) -> Duration {
        match &*self.source {
            Source::System(start) => start.elapsed(),
            Source::Manual(now, ..) => *now.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Wall-clock time (timestamps of log events, retention), moving with
    /// [`Clock::now`] on a manual clock.
    pub fn wall(&self) -> SystemTime {
        match &*self.source {
            Source::System(_) => SystemTime::now(),
            Source::Manual(_, base, _) => *base + self.now(),
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
            Source::System(_) => {
                let wait = at_ms.saturating_sub(self.wall_ms());
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
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
        }
    }
}
