//! Injected faults (`funnel fault put`): calls of a function made to fail
//! on purpose, at a rate, so an experiment can watch retries,
//! destinations and dead letters do their work. This module owns the
//! faults (kept in funnel-store's `faults` tree, so they survive a
//! restart), their validation and the decision for each call; the
//! dispatcher acts on a [`Decision`] where the real thing would happen
//! (`dispatch::Dispatcher::run`). It must not run guests or touch the
//! queue: a fault is only ever an outcome the dispatcher records as
//! Lambda would.
//!
//! Decisions are reproducible: a fault with a seed draws from its own
//! SplitMix64 generator, advanced once per call it is eligible for (a
//! call of its function and qualifier while it is in force), so the same
//! calls in the same order meet the same faults. The generators start
//! again from their seeds when the server starts.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use funnel_runtime::{Clock, ErrorKind, GuestError, Outcome};
use funnel_store::{FaultRecord, Store};

use crate::error::{Error, Result};

/// The error type of an injected `error` when none is given.
pub const DEFAULT_ERROR_TYPE: &str = "InjectedFault";
/// The error type of an injected `init-error` when none is given.
pub const DEFAULT_INIT_ERROR_TYPE: &str = "Runtime.InitError";
/// Faults one account may have at once.
const MAX_FAULTS: usize = 100;
/// The longest injected latency (Lambda's longest timeout).
const MAX_LATENCY_MS: u64 = 900_000;

/// What a fault does to a call it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A function error, as if the guest returned it.
    Error,
    /// The call times out; its environment is retired.
    Timeout,
    /// `TooManyRequestsException`: the call does not run.
    Throttle,
    /// The call starts later, by the fault's latency.
    Latency,
    /// The call is a cold start whose init fails.
    InitError,
}

impl Kind {
    pub fn parse(text: &str) -> Result<Kind> {
        Ok(match text {
            "error" => Kind::Error,
            "timeout" => Kind::Timeout,
            "throttle" => Kind::Throttle,
            "latency" => Kind::Latency,
            "init-error" => Kind::InitError,
            other => {
                return Err(Error::InvalidParameterValue(format!(
                    "Kind {other:?} is invalid: it must be error, timeout, throttle, latency or \
                     init-error"
                )));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Timeout => "timeout",
            Kind::Throttle => "throttle",
            Kind::Latency => "latency",
            Kind::InitError => "init-error",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault as a caller asks for it (the function already resolved to
/// its key).
pub struct Spec {
    pub account: String,
    pub function: String,
    pub qualifier: String,
    pub kind: String,
    pub rate: f64,
    pub error_type: String,
    pub latency_ms: u64,
    /// How long it acts from now, on the server's clock.
    pub until: Option<Duration>,
    pub seed: Option<u64>,
}

/// SplitMix64 (Steele, Lea and Flood): small, well known, and enough to
/// draw a rate from.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Active {
    record: FaultRecord,
    kind: Kind,
    draws: SplitMix64,
}

impl Active {
    fn new(record: FaultRecord) -> Option<Active> {
        let kind = Kind::parse(&record.kind).ok()?;
        let seed = record
            .seed
            .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
        Some(Active {
            record,
            kind,
            draws: SplitMix64(seed),
        })
    }
}

/// A fault that hit a call.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: String,
    pub kind: Kind,
    pub error_type: String,
    pub latency_ms: u64,
}

impl Hit {
    /// The line marking the outcome in the function's log.
    pub fn log_line(&self) -> String {
        let detail = match self.kind {
            Kind::Error | Kind::InitError => format!(" {}", self.error_type),
            Kind::Latency => format!(" {} ms", self.latency_ms),
            Kind::Timeout | Kind::Throttle => String::new(),
        };
        format!(
            "INJECTED FAULT: {}{detail} (fault {})\n",
            self.kind, self.id
        )
    }
}

/// The faults that hit one call. A throttle stops the call; otherwise
/// latency comes first, then the first of init-error, timeout and error.
#[derive(Debug, Default)]
pub struct Decision {
    pub throttle: Option<Hit>,
    pub latency: Option<Hit>,
    /// An init-error, timeout or error: the outcome instead of the guest's.
    pub failure: Option<Hit>,
}

impl Decision {
    #[cfg(test)]
    pub fn is_none(&self) -> bool {
        self.throttle.is_none() && self.latency.is_none() && self.failure.is_none()
    }
}

/// The faults in force. Cheap to clone.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Clock,
    active: Mutex<Vec<Active>>,
    /// Whether `active` has any fault: a call with none set reads this
    /// flag and takes no lock.
    armed: std::sync::atomic::AtomicBool,
}

impl Faults {
    /// Loads the stored faults.
    pub fn open(store: Store, clock: Clock) -> Result<Faults> {
        let mut active = Vec::new();
        for record in store.faults()? {
            match Active::new(record) {
                Some(fault) => active.push(fault),
                None => tracing::warn!("a stored fault has an unknown kind; it is ignored"),
            }
        }
        Ok(Faults {
            inner: Arc::new(Inner {
                store,
                clock,
                armed: std::sync::atomic::AtomicBool::new(!active.is_empty()),
                active: Mutex::new(active),
            }),
        })
    }

    fn active(&self) -> std::sync::MutexGuard<'_, Vec<Active>> {
        self.inner.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the flag in step with `active` (called under its lock).
    fn arm(&self, active: &[Active]) {
        self.inner
            .armed
            .store(!active.is_empty(), std::sync::atomic::Ordering::Release);
    }

    #[cfg(test)]
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Validates and stores a new fault; it acts from the next call on.
    pub fn put(&self, spec: Spec) -> Result<FaultRecord> {
        let kind = Kind::parse(&spec.kind)?;
        if !(0.0..=1.0).contains(&spec.rate) || spec.rate.is_nan() {
            return Err(Error::InvalidParameterValue(format!(
                "Rate {} is invalid: it must be between 0 and 1",
                spec.rate
            )));
        }
        match kind {
            Kind::Latency if spec.latency_ms == 0 || spec.latency_ms > MAX_LATENCY_MS => {
                return Err(Error::InvalidParameterValue(format!(
                    "LatencyMs {} is invalid: a latency fault needs between 1 and \
                     {MAX_LATENCY_MS} ms",
                    spec.latency_ms
                )));
            }
            Kind::Latency => {}
            _ if spec.latency_ms != 0 => {
                return Err(Error::InvalidParameterValue(format!(
                    "LatencyMs is for latency faults only, not {kind}"
                )));
            }
            _ => {}
        }
        if !spec.error_type.is_empty() && !matches!(kind, Kind::Error | Kind::InitError) {
            return Err(Error::InvalidParameterValue(format!(
                "ErrorType is for error and init-error faults only, not {kind}"
            )));
        }
        if spec.error_type.len() > 256 || spec.error_type.chars().any(char::is_control) {
            return Err(Error::InvalidParameterValue(
                "ErrorType must be at most 256 characters, none of them control characters".into(),
            ));
        }
        let error_type = match (kind, spec.error_type.is_empty()) {
            (Kind::Error, true) => DEFAULT_ERROR_TYPE.to_string(),
            (Kind::InitError, true) => DEFAULT_INIT_ERROR_TYPE.to_string(),
            _ => spec.error_type,
        };
        let now = self.inner.clock.wall_ms();
        let until_ms = match spec.until {
            None => 0,
            Some(d) if d.is_zero() => {
                return Err(Error::InvalidParameterValue(
                    "Until must be a positive duration".into(),
                ));
            }
            Some(d) => now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        };
        let mut active = self.active();
        if active
            .iter()
            .filter(|f| f.record.account == spec.account)
            .count()
            >= MAX_FAULTS
        {
            return Err(Error::LimitExceeded(format!(
                "an account may have at most {MAX_FAULTS} faults; delete some first"
            )));
        }
        let record = FaultRecord {
            id: format!("f-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            account: spec.account,
            function: spec.function,
            qualifier: spec.qualifier,
            kind: kind.as_str().to_string(),
            rate: spec.rate,
            error_type,
            latency_ms: spec.latency_ms,
            until_ms,
            seed: spec.seed,
            created_ms: now,
        };
        self.inner.store.put_fault(&record)?;
        active.extend(Active::new(record.clone()));
        self.arm(&active);
        tracing::info!(fault = %record.id, function = %record.function, kind = %record.kind, rate = record.rate, "fault injection on");
        Ok(record)
    }

    /// The faults of `account`, oldest first.
    pub fn list(&self, account: &str) -> Vec<FaultRecord> {
        let mut list: Vec<FaultRecord> = self
            .active()
            .iter()
            .filter(|f| f.record.account == account)
            .map(|f| f.record.clone())
            .collect();
        list.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        list
    }

    /// Whether `record` no longer acts (its `until` has passed).
    pub fn expired(&self, record: &FaultRecord) -> bool {
        record.until_ms != 0 && self.inner.clock.wall_ms() >= record.until_ms
    }

    /// Removes a fault of `account`; it stops acting at once.
    pub fn delete(&self, account: &str, id: &str) -> Result<FaultRecord> {
        let mut active = self.active();
        let Some(at) = active
            .iter()
            .position(|f| f.record.id == id && f.record.account == account)
        else {
            return Err(Error::ResourceNotFound(format!("Fault not found: {id}")));
        };
        self.inner.store.delete_fault(id)?;
        let removed = active.remove(at);
        self.arm(&active);
        tracing::info!(fault = %id, "fault injection off");
        Ok(removed.record)
    }

    /// Which faults hit a call of `function` (its key) invoked with
    /// `qualifier`, resolved to `version`. Every fault in force for the
    /// call draws once, whether or not another one hits.
    pub fn decide(&self, function: &str, qualifier: Option<&str>, version: &str) -> Decision {
        let mut decision = Decision::default();
        if !self.inner.armed.load(std::sync::atomic::Ordering::Acquire) {
            return decision;
        }
        let mut active = self.active();
        if active.is_empty() {
            return decision;
        }
        let now = self.inner.clock.wall_ms();
        for fault in active.iter_mut() {
            let record = &fault.record;
            let applies = record.function == function
                && (record.qualifier.is_empty()
                    || Some(record.qualifier.as_str()) == qualifier
                    || record.qualifier == version)
                && (record.until_ms == 0 || now < record.until_ms);
            if !applies {
                continue;
            }
            if fault.draws.next_f64() >= record.rate {
                continue;
            }
            let hit = Hit {
                id: record.id.clone(),
                kind: fault.kind,
                error_type: record.error_type.clone(),
                latency_ms: record.latency_ms,
            };
            let slot = match fault.kind {
                Kind::Throttle => &mut decision.throttle,
                Kind::Latency => &mut decision.latency,
                Kind::Error | Kind::Timeout | Kind::InitError => &mut decision.failure,
            };
            let precedence = |k: Kind| match k {
                Kind::InitError => 0,
                Kind::Timeout => 1,
                _ => 2,
            };
            if slot
                .as_ref()
                .is_none_or(|held| precedence(hit.kind) < precedence(held.kind))
            {
                *slot = Some(hit);
            }
        }
        decision
    }

    /// Waits out an injected latency on the server's clock: a virtual
    /// clock is moved on (the call took that long), a real one slept.
    pub async fn delay(&self, latency_ms: u64) {
        let clock = &self.inner.clock;
        if clock.is_manual() {
            clock.advance(Duration::from_millis(latency_ms));
        } else {
            let at = clock
                .wall_ms()
                .saturating_add(i64::try_from(latency_ms).unwrap_or(i64::MAX));
            clock.sleep_until_wall_ms(at).await;
        }
    }

    /// The log stream an injected failure's log goes to (it ran in no
    /// environment): the day's, named for the version and the faults.
    pub fn log_stream(&self, version: &str) -> String {
        let day = chrono::DateTime::<chrono::Utc>::from(self.inner.clock.wall()).format("%Y/%m/%d");
        format!("{day}/[{version}]injected-faults")
    }
}

/// The outcome of a call an init-error, timeout or error fault hit, as
/// the runtime would have reported the real thing.
pub fn failed_outcome(
    hit: &Hit,
    request_id: &str,
    timeout: Duration,
    latency: Duration,
    log_stream: String,
) -> Outcome {
    let mut output = hit.log_line().into_bytes();
    let (result, init_duration, duration) = match hit.kind {
        Kind::InitError => (
            Err(GuestError::unhandled(
                &hit.error_type,
                format!("Init phase: injected fault {}", hit.id),
            )),
            Some(Duration::ZERO),
            latency,
        ),
        Kind::Timeout => (
            Err(GuestError::unhandled(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    timeout.as_secs_f64()
                ),
            )),
            None,
            timeout + latency,
        ),
        _ => (
            Err(GuestError {
                kind: ErrorKind::Handled,
                error_type: hit.error_type.clone(),
                error_message: format!("injected fault {}", hit.id),
            }),
            None,
            latency,
        ),
    };
    if output.last() != Some(&b'\n') {
        output.push(b'\n');
    }
    Outcome {
        result,
        output,
        output_dropped: 0,
        init_duration,
        duration,
        max_memory_used: 0,
        log_stream,
        provisioned: false,
        spillover: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> (tempfile::TempDir, Faults) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Faults::open(store, Clock::manual()).unwrap())
    }

    fn spec(kind: &str, rate: f64, seed: Option<u64>) -> Spec {
        Spec {
            account: "000000000000".into(),
            function: "f".into(),
            qualifier: String::new(),
            kind: kind.into(),
            rate,
            error_type: String::new(),
            latency_ms: 0,
            until: None,
            seed,
        }
    }

    fn hits(faults: &Faults, calls: usize) -> Vec<bool> {
        (0..calls)
            .map(|_| faults.decide("f", None, "$LATEST").failure.is_some())
            .collect()
    }

    #[test]
    fn a_seed_gives_the_same_decisions() {
        let (_d1, one) = faults();
        let (_d2, two) = faults();
        one.put(spec("error", 0.5, Some(42))).unwrap();
        two.put(spec("error", 0.5, Some(42))).unwrap();
        let (a, b) = (hits(&one, 200), hits(&two, 200));
        assert_eq!(a, b);
        let share = a.iter().filter(|h| **h).count();
        assert!((70..130).contains(&share), "{share} of 200 at rate 0.5");
    }

    #[test]
    fn rates_zero_and_one_are_never_and_always() {
        let (_d, never) = faults();
        never.put(spec("error", 0.0, None)).unwrap();
        assert!(hits(&never, 50).iter().all(|h| !h));
        let (_d, always) = faults();
        always.put(spec("timeout", 1.0, None)).unwrap();
        assert!(hits(&always, 50).iter().all(|h| *h));
    }

    #[test]
    fn only_its_function_and_qualifier_are_hit() {
        let (_d, faults) = faults();
        let mut only_two = spec("throttle", 1.0, None);
        only_two.qualifier = "2".into();
        faults.put(only_two).unwrap();
        assert!(faults.decide("g", Some("2"), "2").is_none());
        assert!(faults.decide("f", None, "$LATEST").is_none());
        assert!(faults.decide("f", Some("2"), "2").throttle.is_some());
        // An alias pointing at version 2 reaches it too.
        assert!(faults.decide("f", Some("live"), "2").throttle.is_some());
    }

    #[test]
    fn until_ends_it_on_the_clock() {
        let (_d, faults) = faults();
        let mut short = spec("error", 1.0, None);
        short.until = Some(Duration::from_secs(60));
        let record = faults.put(short).unwrap();
        assert!(faults.decide("f", None, "$LATEST").failure.is_some());
        faults.clock().advance(Duration::from_secs(60));
        assert!(faults.decide("f", None, "$LATEST").is_none());
        assert!(faults.expired(&record));
    }

    #[test]
    fn bad_faults_are_refused() {
        let (_d, faults) = faults();
        assert!(faults.put(spec("explode", 0.5, None)).is_err());
        assert!(faults.put(spec("error", 1.5, None)).is_err());
        assert!(faults.put(spec("error", f64::NAN, None)).is_err());
        assert!(faults.put(spec("latency", 0.5, None)).is_err());
        let mut typed = spec("timeout", 0.5, None);
        typed.error_type = "X".into();
        assert!(faults.put(typed).is_err());
    }

    #[test]
    fn faults_survive_a_reopen_and_delete_stops_them() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let faults = Faults::open(Store::open(dir.path()).unwrap(), Clock::manual()).unwrap();
            faults.put(spec("error", 1.0, Some(1))).unwrap().id
        };
        let faults = Faults::open(Store::open(dir.path()).unwrap(), Clock::manual()).unwrap();
        assert_eq!(faults.list("000000000000").len(), 1);
        assert!(faults.delete("111111111111", &id).is_err());
        faults.delete("000000000000", &id).unwrap();
        assert!(faults.decide("f", None, "$LATEST").is_none());
    }

    #[test]
    fn the_log_line_names_the_fault() {
        let hit = Hit {
            id: "f-1".into(),
            kind: Kind::Error,
            error_type: "Boom".into(),
            latency_ms: 0,
        };
        assert_eq!(hit.log_line(), "INJECTED FAULT: error Boom (fault f-1)\n");
    }
}
