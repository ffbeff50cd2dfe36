//! Which new traces are recorded, as X-Ray's default rule decides: the
//! first `reservoir_per_second` requests of each second (on the server's
//! clock), then `sample_rate` of the rest. A rate of 0 turns tracing off:
//! nothing is recorded, not even an incoming sampled trace.
//!
//! A decision is two atomics and no lock or allocation.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use funnel_runtime::Clock;

pub(crate) struct Sampler {
    rate: f64,
    reservoir: u32,
    clock: Clock,
    /// The current second (high 32 bits) and the reservoir taken in it.
    window: AtomicU64,
}

impl Sampler {
    pub fn new(rate: f64, reservoir: u32, clock: Clock) -> Sampler {
        Sampler {
            rate: rate.clamp(0.0, 1.0),
            reservoir,
            clock,
            window: AtomicU64::new(0),
        }
    }

    /// Whether anything is recorded at all.
    pub fn enabled(&self) -> bool {
        self.rate > 0.0
    }

    /// Whether a new trace is recorded.
    pub fn sample(&self) -> bool {
        if !self.enabled() {
            return false;
        }
        if self.reservoir > 0 {
            let second = (self.clock.wall_ms().max(0) / 1000) as u64 & 0xffff_ffff;
            let mut window = self.window.load(Ordering::Relaxed);
            loop {
                let (current, used) = (window >> 32, window & 0xffff_ffff);
                let next = if current == second {
                    if used >= u64::from(self.reservoir) {
                        break;
                    }
                    (second << 32) | (used + 1)
                } else {
                    (second << 32) | 1
                };
                match self.window.compare_exchange_weak(
                    window,
                    next,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(seen) => window = seen,
                }
            }
        }
        self.rate >= 1.0 || (random_u64() >> 11) as f64 / (1u64 << 53) as f64 <= self.rate
    }
}

thread_local! {
    static STATE: Cell<u64> = Cell::new({
        let mut seed = [0; 8];
        let _ = getrandom::fill(&mut seed);
        u64::from_le_bytes(seed) | 1
    });
}

/// A fast random number (splitmix64 over a per-thread seed): span ids and
/// sampling draws need to be unpredictable enough not to collide, not
/// secret.
pub(crate) fn random_u64() -> u64 {
    STATE.with(|state| {
        let next = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        state.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_reservoir_takes_the_first_of_each_second_then_the_rate_decides() {
        let clock = Clock::manual();
        // A rate too small to matter: only the reservoir samples.
        let sampler = Sampler::new(1e-12, 2, clock.clone());
        let taken = (0..100).filter(|_| sampler.sample()).count();
        assert_eq!(taken, 2);
        clock.advance(Duration::from_secs(1));
        assert!(sampler.sample());
        assert!(sampler.sample());
        assert!(!sampler.sample());
    }

    #[test]
    fn the_rate_samples_its_share() {
        let sampler = Sampler::new(0.05, 0, Clock::manual());
        let taken = (0..100_000).filter(|_| sampler.sample()).count();
        assert!((4_000..6_000).contains(&taken), "{taken}");
        let all = Sampler::new(1.0, 0, Clock::manual());
        assert!((0..1000).all(|_| all.sample()));
    }

    #[test]
    fn a_rate_of_zero_samples_nothing_even_from_the_reservoir() {
        let sampler = Sampler::new(0.0, 5, Clock::manual());
        assert!(!sampler.enabled());
        assert!((0..100).all(|_| !sampler.sample()));
    }
}
