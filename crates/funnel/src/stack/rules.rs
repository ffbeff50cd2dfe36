//! `[[rule]]` in a stack file: schedule rules, their targets, and the
//! permissions those functions need.
//!
//! ```toml
//! [[rule]]
//! name = "hourly"
//! schedule = "rate(1 hour)"            # or cron(0 * * * ? *), in UTC
//! # description = "..."
//! # enabled = false                    # ENABLED by default
//! # catch_up = 3                       # fire up to 3 times missed while down
//!
//! [[rule.target]]
//! function = "audit"
//! # id = "audit"                       # the function's name by default
//! # input = '{"job": "compact"}'       # constant JSON instead of the Scheduled Event
//! ```
//!
//! Deploying puts the rule (creating or updating it), adds the statement
//! each function's policy needs (Sid `events-<rule>`) and puts the targets
//! that are new or changed; a target the file no longer lists is removed.

use anyhow::Context as _;
use funnel_client::{Client, Target, proto};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    pub schedule: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub catch_up: u32,
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub function: String,
    pub id: Option<String>,
    pub input: Option<String>,
}

fn enabled() -> bool {
    true
}

/// Deploys one rule; returns what changed.
pub async fn deploy_rule(
    client: &Client,
    spec: &RuleSpec,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut changes = Vec::new();
    let state = if spec.enabled { "ENABLED" } else { "DISABLED" };
    let current = client.describe_rule(&spec.name).await.ok();
    // As the server keeps it (a bad one is refused by PutRule below).
    let schedule = funnel_server::Schedule::parse(&spec.schedule)
        .map_or_else(|_| spec.schedule.clone(), |s| s.to_string());
    let same = current.as_ref().is_some_and(|r| {
        r.schedule_expression == schedule
            && r.state == state
            && r.description == spec.description
            && r.catch_up == spec.catch_up
    });
    let rule_arn = if same {
        changes.push((format!("rule {}", spec.name), "unchanged".into()));
        current.map(|r| r.arn).unwrap_or_default()
    } else {
        let arn = client
            .put_rule(proto::PutRuleRequest {
                name: spec.name.clone(),
                schedule_expression: spec.schedule.clone(),
                state: state.into(),
                description: spec.description.clone(),
                catch_up: spec.catch_up,
            })
            .await?;
        let change = if current.is_some() {
            "updated"
        } else {
            "created"
        };
        changes.push((format!("rule {}", spec.name), change.into()));
        arn
    };
    let sid = format!("events-{}", spec.name);
    let existing = client.list_all_targets(&spec.name).await?;
    let mut listed = Vec::new();
    let mut to_put = Vec::new();
    for t in &spec.targets {
        let arn = client
            .function_arn(&t.function)
            .await
            .with_context(|| format!("function {} of rule {}", t.function, spec.name))?;
        changes.extend(
            super::ensure_permission(client, &t.function, &sid, "events.amazonaws.com", &rule_arn)
                .await?,
        );
        let id = t.id.clone().unwrap_or_else(|| t.function.clone());
        let label = format!("target {} → {}", spec.name, t.function);
        let unchanged = existing
            .iter()
            .any(|e| e.id == id && e.arn == arn && e.input == t.input);
        changes.push((label, if unchanged { "unchanged" } else { "put" }.into()));
        if !unchanged {
            to_put.push(Target {
                id: id.clone(),
                function: arn,
                input: t.input.clone(),
            });
        }
        listed.push(id);
    }
    let stale: Vec<String> = existing
        .iter()
        .filter(|e| !listed.contains(&e.id))
        .map(|e| e.id.clone())
        .collect();
    if !stale.is_empty() {
        client.remove_targets(&spec.name, &stale).await?;
        for id in &stale {
            changes.push((format!("target {} {id}", spec.name), "removed".into()));
        }
    }
    if !to_put.is_empty() {
        let failed = client.put_targets(&spec.name, to_put).await?;
        if let Some(f) = failed.first() {
            anyhow::bail!(
                "target {} of rule {}: {}: {}",
                f.target_id,
                spec.name,
                f.error_code,
                f.error_message
            );
        }
    }
    Ok(changes)
}
