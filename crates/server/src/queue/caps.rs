//! Caps on what waits in the async queue: per function
//! (`queue.max_events_per_function`) and per account
//! (`queue.max_events_per_account`). Past one, an async invoke or a
//! publish is throttled (`TooManyRequestsException`) instead of letting
//! one caller fill the shared disk.
//!
//! The queue counts only its total as it goes; while that total is below
//! the smaller cap no function or account can be past one, and nothing
//! more is done. Above it, the caps are checked against a census of the
//! queue plus what was let in since (an over-count until the next census).
//! A census is a scan, taken in the background about once a second while
//! checks go on against the last one: accepts never wait for a scan but
//! the first.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::AsyncQueue;
use crate::error::{Error, Result};

/// How old a census may be before the next check takes a new one.
const CENSUS_AGE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct QueueCaps {
    pub per_function: u64,
    pub per_account: u64,
}

impl Default for QueueCaps {
    fn default() -> Self {
        QueueCaps {
            per_function: 100_000,
            per_account: 1_000_000,
        }
    }
}

/// The queue's invocations per function and per account, as of `taken`
/// (plus what was let in since).
pub(super) struct Census {
    taken: Instant,
    functions: HashMap<String, u64>,
    accounts: HashMap<String, u64>,
}

/// The account part of a function key (empty for the home account's bare
/// names; a home-account name holding ':' carries the home id, counted
/// apart: a slight under-count of the home account's, in a corner).
fn account_of(key: &str) -> &str {
    key.split_once(':').map_or("", |(account, _)| account)
}

impl Census {
    fn new(functions: HashMap<String, u64>) -> Census {
        let mut accounts = HashMap::new();
        for (function, count) in &functions {
            *accounts
                .entry(account_of(function).to_string())
                .or_insert(0) += count;
        }
        Census {
            taken: Instant::now(),
            functions,
            accounts,
        }
    }
}

impl AsyncQueue {
    fn lock_census(&self) -> std::sync::MutexGuard<'_, Option<Census>> {
        self.inner.census.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the queue's invocations per function (a scan, on a blocking
    /// thread).
    async fn count_queue(&self) -> Result<HashMap<String, u64>> {
        let events = self.inner.events.clone();
        tokio::task::spawn_blocking(move || events.queued_by_function())
            .await
            .map_err(|e| Error::Service(format!("counting the queue: {e}")))?
    }

    /// Refuses new invocations of `functions` (keys, one per invocation)
    /// when their function or account would pass its cap; counts them in
    /// otherwise.
    pub(crate) async fn check_room(&self, functions: &[&str]) -> Result<()> {
        let caps = self.inner.caps;
        let incoming = functions.len() as u64;
        let depth = self.inner.events.depth() as u64;
        if depth + incoming <= caps.per_function.min(caps.per_account) {
            return Ok(());
        }
        let age = self.lock_census().as_ref().map(|c| c.taken.elapsed());
        match age {
            None => {
                let counts = self.count_queue().await?;
                let mut census = self.lock_census();
                if census.is_none() {
                    *census = Some(Census::new(counts));
                }
            }
            Some(age) if age >= CENSUS_AGE => {
                if !self.inner.census_running.swap(true, Ordering::AcqRel) {
                    let queue = self.clone();
                    tokio::spawn(async move {
                        if let Ok(counts) = queue.count_queue().await {
                            *queue.lock_census() = Some(Census::new(counts));
                        }
                        queue.inner.census_running.store(false, Ordering::Release);
                    });
                }
            }
            Some(_) => {}
        }
        let mut census = self.lock_census();
        let Some(census) = census.as_mut() else {
            return Ok(());
        };
        let mut wanted: HashMap<&str, u64> = HashMap::new();
        for function in functions {
            *wanted.entry(function).or_insert(0) += 1;
        }
        let mut by_account: HashMap<&str, u64> = HashMap::new();
        for (function, n) in &wanted {
            let queued = census.functions.get(*function).copied().unwrap_or(0);
            if queued + n > caps.per_function {
                return Err(Error::Throttled {
                    reason: "FunctionQueueDepthLimitExceeded",
                    retry_after_seconds: 1,
                });
            }
            *by_account.entry(account_of(function)).or_insert(0) += n;
        }
        for (account, n) in &by_account {
            let queued = census.accounts.get(*account).copied().unwrap_or(0);
            if queued + n > caps.per_account {
                return Err(Error::Throttled {
                    reason: "AccountQueueDepthLimitExceeded",
                    retry_after_seconds: 1,
                });
            }
        }
        for (function, n) in wanted {
            *census.functions.entry(function.to_string()).or_insert(0) += n;
        }
        for (account, n) in by_account {
            *census.accounts.entry(account.to_string()).or_insert(0) += n;
        }
        Ok(())
    }
}
