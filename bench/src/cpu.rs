//! CPU time by thread: where a call's CPU goes between the API's workers,
//! the log and span writers, sled's flushers and the client. Threads are
//! grouped by name without a trailing number (`sled-io-3` is `sled-io`).

use std::collections::BTreeMap;
use std::fmt;

/// CPU seconds this process has used so far (user + system).
pub(crate) fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    stat.rsplit_once(')')
        .map_or(0.0, |(_, fields)| ticks_secs(fields))
}

/// User + system time, in seconds, from the fields after a `stat` file's
/// `(name)`.
fn ticks_secs(fields: &str) -> f64 {
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds used so far by each group of the process's threads (a
/// thread that ended is no longer counted).
#[derive(Clone, Default)]
pub(crate) struct ByThread(BTreeMap<String, f64>);

impl ByThread {
    pub fn now() -> ByThread {
        let mut groups = BTreeMap::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return ByThread(groups);
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let name = stat[open + 1..close].trim_end_matches(|c: char| c.is_ascii_digit());
            let name = name.trim_end_matches('-').to_string();
            *groups.entry(name).or_default() += ticks_secs(&stat[close + 1..]);
        }
        ByThread(groups)
    }

    /// What each group used since `earlier`, per call over `calls`.
    pub fn per_call_since(&self, earlier: &ByThread, calls: f64) -> ByThread {
        ByThread(
            self.0
                .iter()
                .map(|(name, secs)| {
                    let before = earlier.0.get(name).copied().unwrap_or(0.0);
                    (name.clone(), (secs - before).max(0.0) / calls.max(1.0))
                })
                .filter(|(_, per_call)| *per_call > 0.0)
                .collect(),
        )
    }
}

/// Largest first, in µs: `tokio-rt-worker 38.0, funnel-logs 2.9, …`.
impl fmt::Display for ByThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<_> = self.0.iter().collect();
        groups.sort_by(|a, b| b.1.total_cmp(a.1));
        for (i, (name, secs)) in groups.into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name} {:.1}", secs * 1e6)?;
        }
        Ok(())
    }
}
