//! Idle execution environments, per function version, ready for warm starts.
//!
//! Each function version has one current configuration (code and settings);
//! an environment built for an older one is never reused: it is retired when
//! it comes back from its call, or at once if it is idle. Idle environments
//! are reused most-recently-used first (the warmest), and retired least
//! recently used first when a cold start needs their instance slot or when
//! they have been idle too long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::EnvironmentConfig;
use super::environment::Environment;

#[derive(Default)]
pub struct Pools {
    entries: Mutex<HashMap<(String, String), Entry>>,
}

#[derive(Default)]
struct Entry {
    /// The configuration new environments get; `None` after the function
    /// changed or was deleted, until the next call names the new one.
    config: Option<Arc<EnvironmentConfig>>,
    /// Most recently used last.
    idle: Vec<Environment>,
    /// Provisioned environments not serving a call now.
    provisioned: Vec<Environment>,
}

impl Entry {
    fn take_everything(&mut self) -> Vec<Environment> {
        let mut all = std::mem::take(&mut self.idle);
        all.append(&mut self.provisioned);
        all
    }
}

/// What a checkout found.
pub struct Checkout {
    /// A warm environment, if one was idle.
    pub warm: Option<Environment>,
    /// The configuration a cold start must use.
    pub config: Arc<EnvironmentConfig>,
    /// Idle environments of an outdated configuration, to retire.
    pub stale: Vec<Environment>,
}

impl Pools {
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, String), Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes an idle environment for `config`, if there is one.
    pub fn checkout(&self, config: EnvironmentConfig) -> Checkout {
        let key = (
            config.function_name.clone(),
            config.function_version.clone(),
        );
        let mut entries = self.lock();
        let entry = entries.entry(key).or_default();
        let mut stale = Vec::new();
        let current = match &entry.config {
            Some(current) if **current == config => current.clone(),
            _ => {
                stale = entry.take_everything();
                let current = Arc::new(config);
                entry.config = Some(current.clone());
                current
            }
        };
        Checkout {
            warm: entry.provisioned.pop().or_else(|| entry.idle.pop()),
            config: current,
            stale,
        }
    }

    /// Returns an environment after a successful call; gives it back if it
    /// is outdated (the caller retires it).
    pub fn checkin(&self, environment: Environment) -> Option<Environment> {
        let key = (
            environment.config.function_name.clone(),
            environment.config.function_version.clone(),
        );
        let mut entries = self.lock();
        match entries.get_mut(&key) {
            Some(entry)
                if entry
                    .config
                    .as_ref()
                    .is_some_and(|current| Arc::ptr_eq(current, &environment.config)) =>
            {
                if environment.provisioned {
                    entry.provisioned.push(environment);
                } else {
                    entry.idle.push(environment);
                }
                None
            }
            _ => Some(environment),
        }
    }

    /// The configuration environments of `config`'s function version get
    /// (registering `config` if the version has none, or replacing an
    /// outdated one); and idle environments that no longer fit, to retire.
    pub fn current_config(
        &self,
        config: EnvironmentConfig,
    ) -> (Arc<EnvironmentConfig>, Vec<Environment>) {
        let checkout = self.checkout(config);
        let mut stale = checkout.stale;
        if let Some(warm) = checkout.warm
            && let Some(back) = self.checkin(warm)
        {
            stale.push(back);
        }
        (checkout.config, stale)
    }

    /// Adds a provisioned environment (started with the version's current
    /// configuration); gives it back if the configuration changed since.
    pub fn add_provisioned(&self, environment: Environment) -> Option<Environment> {
        self.checkin(environment)
    }

    /// Takes a version's idle provisioned environments (its provisioned
    /// concurrency was removed or lowered), at most `count`.
    pub fn take_provisioned(
        &self,
        function_name: &str,
        version: &str,
        count: usize,
    ) -> Vec<Environment> {
        let mut entries = self.lock();
        let key = (function_name.to_string(), version.to_string());
        match entries.get_mut(&key) {
            Some(entry) => {
                let keep = entry.provisioned.len().saturating_sub(count);
                entry.provisioned.split_off(keep)
            }
            None => Vec::new(),
        }
    }

    /// A version's provisioned environments not serving a call now.
    pub fn provisioned_idle(&self, function_name: &str, version: &str) -> usize {
        let key = (function_name.to_string(), version.to_string());
        self.lock().get(&key).map_or(0, |e| e.provisioned.len())
    }

    /// Forgets a function's configuration (of one version, or of all) and
    /// takes its idle environments (its code or settings changed, or it was
    /// deleted). Busy ones are retired when they come back.
    pub fn retire_function(&self, function_name: &str, version: Option<&str>) -> Vec<Environment> {
        let mut entries = self.lock();
        let mut retired = Vec::new();
        entries.retain(|(name, entry_version), entry| {
            if name != function_name || version.is_some_and(|v| v != entry_version) {
                return true;
            }
            retired.append(&mut entry.take_everything());
            entry.config = None;
            // Keep the entry so busy environments find a `None` config.
            true
        });
        retired
    }

    /// Takes every environment idle since before `now - idle_timeout`.
    pub fn take_idle(&self, now: Duration, idle_timeout: Duration) -> Vec<Environment> {
        let mut entries = self.lock();
        let mut retired = Vec::new();
        for entry in entries.values_mut() {
            let (old, fresh): (Vec<_>, Vec<_>) = std::mem::take(&mut entry.idle)
                .into_iter()
                .partition(|env| now.saturating_sub(env.last_used) >= idle_timeout);
            entry.idle = fresh;
            retired.extend(old);
        }
        entries.retain(|_, entry| {
            entry.config.is_some() || !entry.idle.is_empty() || !entry.provisioned.is_empty()
        });
        retired
    }

    /// Takes the least recently used idle environment of any function.
    pub fn take_least_recently_used(&self) -> Option<Environment> {
        let mut entries = self.lock();
        let (key, index) = entries
            .iter()
            .flat_map(|(key, entry)| {
                entry
                    .idle
                    .iter()
                    .enumerate()
                    .map(move |(i, env)| (key, i, env.last_used))
            })
            .min_by_key(|(_, _, last_used)| *last_used)
            .map(|(key, i, _)| (key.clone(), i))?;
        entries.get_mut(&key).map(|entry| entry.idle.remove(index))
    }

    /// Takes every idle environment (the server is stopping).
    pub fn take_all(&self) -> Vec<Environment> {
        let mut entries = self.lock();
        entries
            .values_mut()
            .flat_map(|entry| entry.take_everything())
            .collect()
    }

    /// How many environments are idle.
    pub fn idle_count(&self) -> usize {
        self.lock()
            .values()
            .map(|entry| entry.idle.len() + entry.provisioned.len())
            .sum()
    }
}
