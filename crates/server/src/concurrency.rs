//! Lambda's concurrency accounting: one gate that every invocation (sync or
//! async) passes, holding an owned permit while it runs.
//!
//! The account has a limit on concurrent executions. A function with
//! reserved concurrency draws only from its reservation, which is both its
//! cap (calls beyond it are throttled with
//! `ReservedFunctionConcurrentInvocationLimitExceeded`) and its floor (no
//! other function can use it). Every other function shares what is left,
//! the unreserved pool (`ConcurrentInvocationLimitExceeded` when it is
//! full), of which at least [`MIN_UNRESERVED`] must remain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Lambda keeps this much of the account limit unreserved.
pub const MIN_UNRESERVED: u32 = 100;

/// Why a call was throttled, as Lambda's `Reason` (the variants are its
/// names, hence the shared postfix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum Throttle {
    ConcurrentInvocationLimitExceeded,
    ReservedFunctionConcurrentInvocationLimitExceeded,
    /// funnel's own: live environments hold the host memory budget
    /// (`runtime.memory_budget_mb`).
    HostMemoryBudgetExceeded,
    /// funnel's own: a function without reserved concurrency already runs
    /// its fair share of the instance slots (`runtime.max_share`).
    FunctionShareLimitExceeded,
}

impl Throttle {
    pub fn reason(self) -> &'static str {
        match self {
            Throttle::ConcurrentInvocationLimitExceeded => "ConcurrentInvocationLimitExceeded",
            Throttle::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
            Throttle::HostMemoryBudgetExceeded => "HostMemoryBudgetExceeded",
            Throttle::FunctionShareLimitExceeded => "FunctionShareLimitExceeded",
        }
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Mutex<State>>,
}

struct State {
    account_limit: u32,
    /// The most one function without a reservation may run at once (its
    /// fair share of the instance slots).
    share_limit: u32,
    /// Reservations by function name: (reserved, running).
    reserved: HashMap<String, (u32, u32)>,
    total_reserved: u32,
    unreserved_running: u32,
    /// Functions without a reservation: how many of each run.
    unreserved_by_function: HashMap<String, u32>,
}

/// A running invocation's place; released when dropped.
pub struct Permit {
    gate: Gate,
    function: String,
    /// It counts against the function's reservation.
    reserved: bool,
}

/// The account's numbers right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub account_limit: u32,
    pub unreserved_limit: u32,
    pub running: u32,
    pub unreserved_running: u32,
}

impl Gate {
    /// `share_limit`: the most one function without a reservation may run.
    pub fn new(account_limit: u32, share_limit: u32) -> Gate {
        Gate {
            inner: Arc::new(Mutex::new(State {
                account_limit,
                share_limit: share_limit.max(1),
                reserved: HashMap::new(),
                total_reserved: 0,
                unreserved_running: 0,
                unreserved_by_function: HashMap::new(),
            })),
        }
    }

    /// The most one function without a reservation may run at once.
    pub fn share_limit(&self) -> u32 {
        self.state().share_limit
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A permit for one invocation of `function`, or why not.
    pub fn try_acquire(&self, function: &str) -> Result<Permit, Throttle> {
        let mut state = self.state();
        if let Some((reserved, running)) = state.reserved.get_mut(function) {
            if *running >= *reserved {
                return Err(Throttle::ReservedFunctionConcurrentInvocationLimitExceeded);
            }
            *running += 1;
            return Ok(Permit {
                gate: self.clone(),
                function: function.to_string(),
                reserved: true,
            });
        }
        let pool = state.account_limit - state.total_reserved;
        if state.unreserved_running >= pool {
            return Err(Throttle::ConcurrentInvocationLimitExceeded);
        }
        let share_limit = state.share_limit;
        match state.unreserved_by_function.get_mut(function) {
            Some(running) if *running >= share_limit => {
                return Err(Throttle::FunctionShareLimitExceeded);
            }
            Some(running) => *running += 1,
            None => {
                state.unreserved_by_function.insert(function.to_string(), 1);
            }
        }
        state.unreserved_running += 1;
        Ok(Permit {
            gate: self.clone(),
            function: function.to_string(),
            reserved: false,
        })
    }

    /// Sets (`Some`) or removes (`None`) a function's reservation. Fails,
    /// saying why, if fewer than [`MIN_UNRESERVED`] would stay unreserved.
    /// Calls already running keep their permits.
    pub fn set_reserved(&self, function: &str, reserved: Option<u32>) -> Result<(), String> {
        let mut state = self.state();
        let old = state.reserved.get(function).map_or(0, |(r, _)| *r);
        let total = state.total_reserved - old + reserved.unwrap_or(0);
        if let Some(n) = reserved
            && state.account_limit.saturating_sub(total) < MIN_UNRESERVED
        {
            return Err(format!(
                "Specified ReservedConcurrentExecutions for function ({n}) decreases account's \
                 UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            ));
        }
        state.total_reserved = total;
        match reserved {
            Some(n) => {
                let running = state.reserved.get(function).map_or(0, |(_, r)| *r);
                state.reserved.insert(function.to_string(), (n, running));
            }
            None => {
                state.reserved.remove(function);
            }
        }
        Ok(())
    }

    pub fn reserved(&self, function: &str) -> Option<u32> {
        self.state().reserved.get(function).map(|(r, _)| *r)
    }

    /// Invocations of `function` running under its reservation (unreserved
    /// functions are counted in [`Usage::unreserved_running`]).
    pub fn running_reserved(&self, function: &str) -> u32 {
        self.state().reserved.get(function).map_or(0, |(_, r)| *r)
    }

    pub fn usage(&self) -> Usage {
        let state = self.state();
        let reserved_running: u32 = state.reserved.values().map(|(_, r)| *r).sum();
        Usage {
            account_limit: state.account_limit,
            unreserved_limit: state.account_limit - state.total_reserved,
            running: state.unreserved_running + reserved_running,
            unreserved_running: state.unreserved_running,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.gate.state();
        if self.reserved {
            if let Some((_, running)) = state.reserved.get_mut(&self.function) {
                *running = running.saturating_sub(1);
            }
            return;
        }
        state.unreserved_running = state.unreserved_running.saturating_sub(1);
        if let Some(running) = state.unreserved_by_function.get_mut(&self.function) {
            *running = running.saturating_sub(1);
            if *running == 0 {
                state.unreserved_by_function.remove(&self.function);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_a_floor_and_a_cap() {
        let gate = Gate::new(102, 1000);
        gate.set_reserved("a", Some(2)).unwrap();
        let a: Vec<_> = (0..2).map(|_| gate.try_acquire("a").unwrap()).collect();
        assert_eq!(
            gate.try_acquire("a").err(),
            Some(Throttle::ReservedFunctionConcurrentInvocationLimitExceeded)
        );
        let b: Vec<_> = (0..100).map(|_| gate.try_acquire("b").unwrap()).collect();
        assert_eq!(
            gate.try_acquire("c").err(),
            Some(Throttle::ConcurrentInvocationLimitExceeded)
        );
        drop(a);
        assert!(gate.try_acquire("a").is_ok(), "a's floor is its own");
        assert_eq!(gate.usage().running, 100);
        drop(b);
        assert_eq!(gate.usage().running, 0);
    }

    #[test]
    fn at_least_100_stay_unreserved() {
        let gate = Gate::new(150, 1000);
        assert!(gate.set_reserved("a", Some(51)).is_err());
        gate.set_reserved("a", Some(50)).unwrap();
        assert!(gate.set_reserved("b", Some(1)).is_err());
        gate.set_reserved("a", Some(40)).unwrap();
        gate.set_reserved("b", Some(10)).unwrap();
        gate.set_reserved("a", None).unwrap();
        assert_eq!(gate.usage().unreserved_limit, 140);
        gate.set_reserved("z", Some(0)).unwrap();
        assert!(gate.try_acquire("z").is_err(), "0 throttles every call");
    }

    #[test]
    fn a_function_without_a_reservation_gets_its_share() {
        let gate = Gate::new(1000, 3);
        let a: Vec<_> = (0..3).map(|_| gate.try_acquire("a").unwrap()).collect();
        assert_eq!(
            gate.try_acquire("a").err(),
            Some(Throttle::FunctionShareLimitExceeded)
        );
        let _b = gate
            .try_acquire("b")
            .expect("another function has its own share");
        gate.set_reserved("c", Some(5)).unwrap();
        let c: Vec<_> = (0..5).map(|_| gate.try_acquire("c").unwrap()).collect();
        assert_eq!(c.len(), 5, "a reservation is not capped by the share");
        drop(a);
        assert!(gate.try_acquire("a").is_ok(), "the share comes back");
    }
}
