//! `[[fault]]` in a stack file: faults injected on purpose into a
//! function's calls, so an experiment can be checked in.
//!
//! ```toml
//! [[fault]]
//! function = "thumbs"
//! kind = "error"                       # error, timeout, throttle, latency, init-error
//! rate = 0.3                           # the share of calls it hits
//! # qualifier = "live"                 # only calls of this alias or version
//! # error_type = "ThumbnailFailed"     # error (InjectedFault) and init-error (Runtime.InitError)
//! # latency_ms = 800                   # latency only
//! # until = "2h"                       # stops acting this long after it is put
//! # seed = 7                           # reproducible decisions
//! ```
//!
//! Deploying puts a fault that is not in force yet; one in force with the
//! same function, qualifier, kind, rate, error type, latency and seed is
//! left as it is (its `until` keeps counting from when it was put). As
//! with the other tables, a fault the file no longer lists is left alone
//! (`funnel fault delete` removes it).

use funnel_client::{Client, proto};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub function: String,
    #[serde(default)]
    pub qualifier: String,
    pub kind: String,
    pub rate: f64,
    #[serde(default)]
    pub error_type: String,
    #[serde(default)]
    pub latency_ms: u64,
    /// 30s, 10m, 3h, 2d ...
    pub until: Option<String>,
    pub seed: Option<u64>,
}

impl FaultSpec {
    fn label(&self) -> String {
        match self.qualifier.as_str() {
            "" => format!("fault {} {}", self.function, self.kind),
            q => format!("fault {}:{q} {}", self.function, self.kind),
        }
    }

    /// Whether `fault` (as the server lists it) is this one, in force.
    fn is(&self, fault: &proto::Fault) -> bool {
        let default_type = match self.kind.as_str() {
            "error" => "InjectedFault",
            "init-error" => "Runtime.InitError",
            _ => "",
        };
        let error_type = if self.error_type.is_empty() {
            default_type
        } else {
            self.error_type.as_str()
        };
        !fault.expired
            && fault.function_name == self.function
            && fault.qualifier == self.qualifier
            && fault.kind == self.kind
            && fault.rate == self.rate
            && fault.error_type == error_type
            && fault.latency_ms == self.latency_ms
            && fault.seed == self.seed
    }
}

/// Deploys the stack's faults; returns what changed.
pub async fn deploy_faults(
    client: &Client,
    specs: &[FaultSpec],
) -> anyhow::Result<Vec<(String, String)>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let existing = client.list_faults().await?;
    let mut changes = Vec::new();
    for spec in specs {
        let label = spec.label();
        if existing.iter().any(|f| spec.is(f)) {
            changes.push((label, "unchanged".into()));
            continue;
        }
        let until = spec
            .until
            .as_deref()
            .map(crate::cli::parse_since)
            .transpose()
            .map_err(|err| anyhow::anyhow!("{label}: until: {err}"))?;
        let put = client
            .put_fault(proto::PutFaultRequest {
                function_name: spec.function.clone(),
                qualifier: spec.qualifier.clone(),
                kind: spec.kind.clone(),
                rate: spec.rate,
                error_type: spec.error_type.clone(),
                latency_ms: spec.latency_ms,
                until_milliseconds: until
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                seed: spec.seed,
            })
            .await
            .map_err(|err| anyhow::anyhow!("{label}: {err}"))?;
        changes.push((label, format!("created {}", put.id)));
    }
    Ok(changes)
}
