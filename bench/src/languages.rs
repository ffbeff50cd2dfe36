//! The language rows: cold start (a new execution environment and one
//! call, in-process) and warm call of the same greeting written as Lambda
//! tutorials write it — Rust `hello`, Python `hello-py`, Node.js
//! `hello-js` — against Lambda's published Init Duration for those
//! runtimes (the lambda-perf dataset: Python ~106 ms, Node.js ~208 ms) and
//! against Rust's warm call. The Python and Node.js components are built
//! with the real packagers (installed on first use); without them the rows
//! say so.

use funnel_tests::guests;
use std::borrow::Cow;
use std::time::{Duration, Instant};

use funnel_build::{self as packaging, Language};
use funnel_runtime::Runtime;

use crate::{Latency, call_with, environment_config, percentiles};

const COLD_CALLS: usize = 60;
const WARM_CALLS: usize = 2_000;
const PAYLOAD: &[u8] = br#"{"name":"Ada"}"#;

pub struct LanguageRow {
    pub name: &'static str,
    /// One compile of the component (done once, at create).
    pub compile: Duration,
    pub cold: Latency,
    pub warm: Latency,
}

pub struct LanguageRows {
    pub rust: LanguageRow,
    pub python: Result<LanguageRow, String>,
    pub nodejs: Result<LanguageRow, String>,
}

async fn measure_one(
    runtime: &Runtime,
    name: &'static str,
    code: &[u8],
) -> anyhow::Result<LanguageRow> {
    let started = Instant::now();
    let prepared = runtime
        .prepare(name, || Ok(Cow::Borrowed(code)))
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let compile = started.elapsed();
    let mut cold = Vec::with_capacity(COLD_CALLS);
    for i in 0..COLD_CALLS {
        let started = Instant::now();
        let outcome = runtime
            .invoke(
                &prepared,
                environment_config(&format!("{name}-cold-{i}"), name, 256),
                call_with(PAYLOAD),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
        cold.push(started.elapsed());
        anyhow::ensure!(outcome.init_duration.is_some(), "{name}: not a cold start");
        anyhow::ensure!(outcome.result.is_ok(), "{name}: {:?}", outcome.result);
        if i % 10 == 9 {
            runtime.retire_all().await;
        }
    }
    runtime.retire_all().await;
    let mut warm = Vec::with_capacity(WARM_CALLS);
    let config = environment_config(&format!("{name}-warm"), name, 256);
    for _ in 0..WARM_CALLS {
        let started = Instant::now();
        let outcome = runtime
            .invoke(&prepared, config.clone(), call_with(PAYLOAD))
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
        warm.push(started.elapsed());
        anyhow::ensure!(outcome.result.is_ok(), "{name}: {:?}", outcome.result);
    }
    runtime.retire_all().await;
    Ok(LanguageRow {
        name,
        compile,
        cold: percentiles(cold),
        warm: percentiles(warm),
    })
}

/// A Lambda-tutorial folder built with its packager (cached by source).
fn built(folder: &str, language: Language) -> Result<Vec<u8>, String> {
    let root = funnel_tests::repo_root();
    let cache = root.join("target").join("funnel-build");
    let path = packaging::build_cached(
        &root.join("examples").join(folder),
        language,
        language.default_handler(),
        &cache,
    )
    .map_err(|e| format!("{e:#}"))?;
    std::fs::read(path).map_err(|e| e.to_string())
}

pub async fn measure(data_dir: &std::path::Path) -> anyhow::Result<LanguageRows> {
    let runtime_config = funnel_runtime::RuntimeConfig {
        max_instances: 32,
        max_memory_mb: 1024,
        ..Default::default()
    };
    let runtime = crate::bench_runtime(&runtime_config, &data_dir.join("language-runtime"))?;
    let rust = measure_one(&runtime, "hello", &funnel_tests::guest(guests::HELLO)).await?;
    let python = match built("hello-py", Language::Python) {
        Ok(code) => Ok(measure_one(&runtime, "hello-py", &code).await?),
        Err(why) => Err(why),
    };
    let nodejs = match built("hello-js", Language::Nodejs) {
        Ok(code) => Ok(measure_one(&runtime, "hello-js", &code).await?),
        Err(why) => Err(why),
    };
    Ok(LanguageRows {
        rust,
        python,
        nodejs,
    })
}
