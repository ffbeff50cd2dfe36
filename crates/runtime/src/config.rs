//! The runtime's part of the server configuration (`[runtime]`).

use std::time::Duration;

use serde::Deserialize;

/// Lambda's largest `MemorySize`, in MB: the default address-space
/// reservation of a pool slot.
pub const MAX_MEMORY_MB: u32 = 10_240;

/// As AWS's Parameters and Secrets extension: five minutes.
pub const DEFAULT_SECRET_CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Instances that can run at once: the size of the pooling allocator,
    /// and the most concurrent executions this server allows.
    pub max_instances: u32,
    /// The largest `MemorySize` a function may be given, in MB; each pool
    /// slot reserves this much address space.
    pub max_memory_mb: u32,
    /// How long an execution environment may sit idle before it is retired
    /// (seconds in the config file).
    #[serde(with = "seconds")]
    pub idle_timeout: Duration,
    /// Threads that run guests, apart from the API's; default: one per CPU.
    pub guest_threads: Option<usize>,
    /// Files and folders an environment's `/tmp` may hold (besides its
    /// size): a million empty files cost no bytes, but they cost inodes.
    pub tmp_max_entries: u64,
    /// Handles (open files and folders, streams, pollables) an environment
    /// may hold at once; past it the call fails
    /// (`Runtime.TooManyOpenFiles`) and the environment is retired, so a
    /// guest that leaks them never starves the host.
    pub max_handles: usize,
    /// The memory every live environment may take together, in MB: each
    /// counts its function's whole `MemorySize` from its start to its
    /// retirement. A cold start past it retires idle environments, waits
    /// briefly for one, then is throttled. Default: 75% of the machine's
    /// RAM.
    pub memory_budget_mb: Option<u64>,
    /// How long compiling an uploaded component may take (seconds in the
    /// config file); past it the upload is refused as a compile bomb.
    #[serde(with = "seconds")]
    pub compile_timeout: Duration,
    /// The share of the instance slots (`max_instances`) one function
    /// without reserved concurrency may run at once, 0 to 1 (read by the
    /// server's concurrency gate).
    pub max_share: f64,
    /// How long an execution environment keeps a secret or parameter it
    /// read (seconds in the config file; 0 reads every time): a new
    /// `AWSCURRENT` reaches a warm environment within it.
    #[serde(with = "seconds")]
    pub secret_cache_ttl: Duration,
}

impl RuntimeConfig {
    /// The memory budget in MB: the configured one, or 75% of the
    /// machine's RAM (none when it cannot be read).
    pub fn memory_budget_mb(&self) -> Option<u64> {
        self.memory_budget_mb
            .or_else(|| machine_memory_mb().map(|mb| mb / 4 * 3))
    }

    /// The most one function without a reservation may run at once: its
    /// share of the instance slots, at least one.
    pub fn share_limit(&self) -> u32 {
        ((f64::from(self.max_instances) * self.max_share).ceil() as u32).max(1)
    }

    pub fn guest_threads(&self) -> usize {
        self.guest_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
            .max(1)
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_instances: 100,
            max_memory_mb: MAX_MEMORY_MB,
            idle_timeout: Duration::from_secs(600),
            guest_threads: None,
            tmp_max_entries: 10_000,
            max_handles: 1024,
            memory_budget_mb: None,
            compile_timeout: Duration::from_secs(300),
            max_share: 0.5,
            secret_cache_ttl: DEFAULT_SECRET_CACHE_TTL,
        }
    }
}

/// The machine's RAM in MB (Linux's `MemTotal`).
fn machine_memory_mb() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// A duration given in whole seconds in a config file
/// (`#[serde(with = "funnel_runtime::config::seconds")]`).
pub mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}
