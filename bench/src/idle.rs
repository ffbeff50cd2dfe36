//! 10,000 idle warm environments of `hello`: the resident memory they add
//! (guest pages included, so it bounds what they cost beyond their guests'
//! memory), and how long they take to start (each a cold start with its
//! call, one after another).

use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, Instant};

use funnel_runtime::RuntimeConfig;
use funnel_tests::{guest, guests};

use crate::{call_with, environment_config, rss_kib};

pub(crate) const ENVIRONMENTS: usize = 10_000;

pub(crate) struct Idle {
    /// Wall time to start all of them.
    pub started_in: Duration,
    /// Resident memory they added, in KiB: the host's part and the pages
    /// their guests touched. An upper bound of what they cost beyond their
    /// guests' memory.
    pub rss_kib: u64,
    /// Their guests' linear memory (its size, resident or not), in KiB.
    pub guest_kib: u64,
}

/// Measures in a process of its own (this bench, `--idle-child`): the
/// other rows' freed memory, reused, would hide what these take, and their
/// engines' mappings would count against the kernel's vm.max_map_count.
pub(crate) fn measure_apart() -> anyhow::Result<Idle> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--idle-child")
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(out.status.success(), "the idle-environments child failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<u64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("the idle-environments child said {text:?}: {e}"))?;
    let [started_us, rss_kib, guest_kib] = numbers[..] else {
        anyhow::bail!("the idle-environments child said {text:?}");
    };
    Ok(Idle {
        started_in: Duration::from_micros(started_us),
        rss_kib,
        guest_kib,
    })
}

/// What `--idle-child` prints for [`measure_apart`].
pub(crate) fn print_for_parent(idle: &Idle) {
    println!(
        "{} {} {}",
        idle.started_in.as_micros(),
        idle.rss_kib,
        idle.guest_kib
    );
}

pub(crate) async fn measure(dir: &Path) -> anyhow::Result<Idle> {
    let hello = guest(guests::HELLO);
    let config = RuntimeConfig {
        max_instances: (ENVIRONMENTS + 16) as u32,
        // Their slots reserve address space for this much each.
        max_memory_mb: 128,
        // 10,000 environments of 128 MB are 1.2 TB of MemorySize: what is
        // measured is what idle ones really cost, not the budget's refusal.
        memory_budget_mb: Some(u64::from(u32::MAX)),
        // None retires before the rows are read.
        idle_timeout: Duration::from_secs(3600),
        ..Default::default()
    };
    let runtime = crate::bench_runtime(&config, &dir.join("idle-runtime"))?;
    let prepared = runtime
        .prepare("bench-hello", || Ok(Cow::Borrowed(&hello)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut guest_bytes = 0;
    for i in 0..ENVIRONMENTS {
        let outcome = runtime
            .invoke(
                &prepared,
                environment_config(&format!("idle-{i}"), "bench-hello", 128),
                call_with(br#"{"name":"idle"}"#),
            )
            .await
            .map_err(|e| anyhow::anyhow!("environment {i}: {e}"))?;
        if let Err(err) = outcome.result {
            anyhow::bail!("environment {i}: {}: {}", err.error_type, err.error_message);
        }
        anyhow::ensure!(outcome.init_duration.is_some(), "a cold start");
        guest_bytes += outcome.max_memory_used;
    }
    let started_in = started.elapsed();
    let rss_after = rss_kib();
    anyhow::ensure!(
        runtime.idle_environments() == ENVIRONMENTS,
        "{} of {ENVIRONMENTS} environments stayed idle",
        runtime.idle_environments()
    );
    runtime.retire_all().await;
    Ok(Idle {
        started_in,
        rss_kib: rss_after.saturating_sub(rss_before),
        guest_kib: guest_bytes / 1024,
    })
}
