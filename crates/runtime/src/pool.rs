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
    /// How many provisioned environments the version should have.
    provisioned_wanted: usize,
    /// Provisioned environments alive (idle, busy, or being started).
    provisioned_live: usize,
}

impl Entry {
    fn take_everything(&mut self) -> Vec<Environment> {
        self.provisioned_live = self.provisioned_live.saturating_sub(self.provisioned.len());
        let mut all = std::mem::take(&mut self.idle);
        all.append(&mut self.provisioned);
        all
    }

    fn is_current(&self, config: &Arc<EnvironmentConfig>) -> bool {
        self.config
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, config))
    }
}

/// A version's provisioned environments, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedUsage {
    pub function_name: String,
    pub version: String,
    /// Provisioned concurrency configured.
    pub wanted: usize,
    /// Provisioned environments serving a call now.
    pub busy: usize,
}

/// What [`Pools::provision`] decided.
pub struct Provisioning {
    pub config: Arc<EnvironmentConfig>,
    /// Environments to retire: of an outdated configuration, or provisioned
    /// beyond the new count.
    pub retire: Vec<Environment>,
    /// How many environments to start (already counted as live).
    pub start: usize,
}

/// What a checkin did.
#[derive(Default)]
pub struct Checkin {
    /// The environment, when it no longer fits: to retire.
    pub stale: Option<Environment>,
    /// A provisioned environment to start in its place, with this
    /// configuration (already counted as live).
    pub replace: Option<Arc<EnvironmentConfig>>,
}

impl Checkin {
    fn stale(environment: Environment) -> Self {
        Checkin {
            stale: Some(environment),
            replace: None,
        }
    }
}

/// What [`Pools::restart_function`] decided.
#[derive(Default)]
pub struct Restart {
    /// Idle environments to retire.
    pub retired: Vec<Environment>,
    /// Provisioned environments to start, one configuration each (already
    /// counted as live).
    pub start: Vec<Arc<EnvironmentConfig>>,
}

/// What a checkout found.
pub struct Checkout {
    /// A warm environment, if one was idle.
    pub warm: Option<Environment>,
    /// The configuration a cold start must use.
    pub config: Arc<EnvironmentConfig>,
    /// Idle environments of an outdated configuration, to retire.
    pub stale: Vec<Environment>,
    /// The version has provisioned concurrency, but none of its provisioned
    /// environments was idle: the call spills over to an on-demand one.
    pub spillover: bool,
}

impl Pools {
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, String), Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes an idle environment for `config`, if there is one. A caller
    /// that hands the same `Arc` each time saves the comparison.
    pub fn checkout(&self, config: Arc<EnvironmentConfig>) -> Checkout {
        let key = (
            config.function_name.clone(),
            config.function_version.clone(),
        );
        let mut entries = self.lock();
        let entry = entries.entry(key).or_default();
        let mut stale = Vec::new();
        let current = match &entry.config {
            Some(current) if Arc::ptr_eq(current, &config) || **current == *config => {
                current.clone()
            }
            _ => {
                stale = entry.take_everything();
                entry.config = Some(config.clone());
                config
            }
        };
        let warm = entry.provisioned.pop().or_else(|| entry.idle.pop());
        Checkout {
            spillover: entry.provisioned_wanted > 0
                && !warm.as_ref().is_some_and(|e| e.provisioned),
            warm,
            config: current,
            stale,
        }
    }

    /// Returns an environment after a successful call; gives it back if it
    /// is outdated (the caller retires it). A provisioned environment beyond
    /// the version's provisioned count becomes an on-demand one; an
    /// outdated provisioned one the version still needs is to be replaced
    /// (its version was restarted while it served a call).
    pub fn checkin(&self, mut environment: Environment) -> Checkin {
        let key = (
            environment.config.function_name.clone(),
            environment.config.function_version.clone(),
        );
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&key) else {
            return Checkin::stale(environment);
        };
        if !entry.is_current(&environment.config) {
            let mut replace = None;
            if environment.provisioned {
                entry.provisioned_live = entry.provisioned_live.saturating_sub(1);
                if let Some(config) = &entry.config
                    && entry.provisioned_live < entry.provisioned_wanted
                {
                    entry.provisioned_live += 1;
                    replace = Some(config.clone());
                }
            }
            return Checkin {
                stale: Some(environment),
                replace,
            };
        }
        if environment.provisioned && entry.provisioned_live > entry.provisioned_wanted {
            entry.provisioned_live = entry.provisioned_live.saturating_sub(1);
            environment.provisioned = false;
        }
        if environment.provisioned {
            entry.provisioned.push(environment);
        } else {
            entry.idle.push(environment);
        }
        Checkin::default()
    }

    /// A provisioned environment of `config` is gone (it trapped, timed out,
    /// or failed to start). Returns whether a replacement should start, in
    /// which case it already counts as live.
    pub fn lost_provisioned(&self, config: &Arc<EnvironmentConfig>, replace: bool) -> bool {
        let key = (
            config.function_name.clone(),
            config.function_version.clone(),
        );
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&key) else {
            return false;
        };
        entry.provisioned_live = entry.provisioned_live.saturating_sub(1);
        let replace = replace
            && entry.is_current(config)
            && entry.provisioned_live < entry.provisioned_wanted;
        if replace {
            entry.provisioned_live += 1;
        }
        replace
    }

    /// The configuration environments of `config`'s function version get
    /// (registering `config` if the version has none, or replacing an
    /// outdated one); and idle environments that no longer fit, to retire.
    pub fn current_config(
        &self,
        config: EnvironmentConfig,
    ) -> (Arc<EnvironmentConfig>, Vec<Environment>) {
        let checkout = self.checkout(Arc::new(config));
        let mut stale = checkout.stale;
        if let Some(warm) = checkout.warm {
            // Just taken from the current configuration: it fits, and
            // nothing needs replacing.
            stale.extend(self.checkin(warm).stale);
        }
        (checkout.config, stale)
    }

    /// Sets `config`'s version to keep `count` provisioned environments:
    /// registers `config` (see [`Pools::current_config`]), takes idle
    /// provisioned environments beyond `count`, and says how many to start.
    /// Busy ones beyond it become on-demand when they come back.
    pub fn provision(&self, config: EnvironmentConfig, count: usize) -> Provisioning {
        let key = (
            config.function_name.clone(),
            config.function_version.clone(),
        );
        let (config, mut retire) = self.current_config(config);
        let mut entries = self.lock();
        let entry = entries.entry(key).or_default();
        entry.provisioned_wanted = count;
        let excess = entry.provisioned_live.saturating_sub(count);
        let keep = entry.provisioned.len().saturating_sub(excess);
        let taken = entry.provisioned.split_off(keep);
        entry.provisioned_live = entry.provisioned_live.saturating_sub(taken.len());
        retire.extend(taken);
        let start = count.saturating_sub(entry.provisioned_live);
        entry.provisioned_live += start;
        Provisioning {
            config,
            retire,
            start,
        }
    }

    /// Adds a provisioned environment started for [`Pools::provision`] or as
    /// a replacement (already counted as live); gives it back if it is no
    /// longer wanted.
    pub fn add_provisioned(&self, environment: Environment) -> Checkin {
        self.checkin(environment)
    }

    /// Restarts a function's environments (every version): its idle ones,
    /// provisioned included, are taken to retire; its busy ones are retired
    /// when they come back, as the configuration they were started with is
    /// no longer current (an equal one, of a new identity, is). Says which
    /// provisioned environments to start in place of those taken.
    pub fn restart_function(&self, function_name: &str) -> Restart {
        let mut entries = self.lock();
        let mut restart = Restart::default();
        for ((name, _), entry) in entries.iter_mut() {
            if name != function_name {
                continue;
            }
            entry.config = entry
                .config
                .as_ref()
                .map(|config| Arc::new(EnvironmentConfig::clone(config)));
            restart.retired.append(&mut entry.take_everything());
            if let Some(config) = &entry.config {
                let start = entry
                    .provisioned_wanted
                    .saturating_sub(entry.provisioned_live);
                entry.provisioned_live += start;
                restart
                    .start
                    .extend(std::iter::repeat_n(config.clone(), start));
            }
        }
        restart
    }

    /// A version keeps no provisioned environments any more: takes its idle
    /// ones (busy ones become on-demand when they come back).
    pub fn unprovision(&self, function_name: &str, version: &str) -> Vec<Environment> {
        let mut entries = self.lock();
        let key = (function_name.to_string(), version.to_string());
        match entries.get_mut(&key) {
            Some(entry) => {
                entry.provisioned_wanted = 0;
                entry.provisioned_live = entry
                    .provisioned_live
                    .saturating_sub(entry.provisioned.len());
                std::mem::take(&mut entry.provisioned)
            }
            None => Vec::new(),
        }
    }

    /// A version's provisioned environments not serving a call now.
    pub fn provisioned_idle(&self, function_name: &str, version: &str) -> usize {
        let key = (function_name.to_string(), version.to_string());
        self.lock().get(&key).map_or(0, |e| e.provisioned.len())
    }

    /// Every version with provisioned concurrency, and how much of it is busy.
    pub fn provisioned_usage(&self) -> Vec<ProvisionedUsage> {
        self.lock()
            .iter()
            .filter(|(_, entry)| entry.provisioned_wanted > 0)
            .map(|((function_name, version), entry)| ProvisionedUsage {
                function_name: function_name.clone(),
                version: version.clone(),
                wanted: entry.provisioned_wanted,
                busy: entry
                    .provisioned_live
                    .saturating_sub(entry.provisioned.len()),
            })
            .collect()
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
            // A changed $LATEST never has provisioned concurrency; a deleted
            // version or function loses it.
            entry.provisioned_wanted = 0;
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
            entry.config.is_some()
                || !entry.idle.is_empty()
                || !entry.provisioned.is_empty()
                || entry.provisioned_live > 0
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
