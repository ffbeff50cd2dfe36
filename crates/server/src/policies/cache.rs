//! Parsed resource policies by (function, qualifier), as every trigger
//! event reads one; cleared whenever a policy or the record it belongs to
//! is written or removed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Policy;

type PolicyKey = (String, String);

/// Parsed policies by (function, qualifier); `None` for "no policy".
#[derive(Clone, Default)]
pub struct PolicyCache {
    inner: Arc<Mutex<Cached>>,
}

#[derive(Default)]
struct Cached {
    policies: HashMap<PolicyKey, Option<Arc<Policy>>>,
    /// Bumped by every clear: a read that started before one is not kept.
    generation: u64,
}

impl PolicyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets everything (a policy was written or removed).
    pub fn clear(&self) {
        let mut cached = self.lock();
        cached.policies.clear();
        cached.generation += 1;
    }

    pub(super) fn get(&self, key: &PolicyKey) -> (Option<Option<Arc<Policy>>>, u64) {
        let cached = self.lock();
        (cached.policies.get(key).cloned(), cached.generation)
    }

    pub(super) fn insert(&self, key: PolicyKey, policy: Option<Arc<Policy>>, read_at: u64) {
        let mut cached = self.lock();
        if cached.generation == read_at {
            cached.policies.insert(key, policy);
        }
    }
}
