//! Schedules: EventBridge-style rules. A rule has a schedule expression
//! ([`expression`]: `rate(...)` or six-field `cron(...)` in UTC) and up to
//! five targets (functions). Each time it is due it fires: every target
//! gets one async invocation carrying the Scheduled Event ([`event`]) or
//! its constant `Input`, if the function's resource policy lets
//! `events.amazonaws.com` invoke it for the rule's ARN; a refusal is logged
//! and counted. [`fire`] runs the rules on the server's clock: each
//! scheduled time fires at most once, also across restarts, and times
//! missed while the server was down are not fired unless the rule asks
//! for catch-up.

pub mod event;
pub mod expression;
mod fire;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::backend::FireClaims;
use crate::error::{Error, Result};
use crate::function::{Naming, valid_rule_name};
use crate::router::Router;
use funnel_runtime::Clock;
use funnel_store::{RuleRecord, RuleTarget, Store};

pub use expression::Schedule;

/// The service principal scheduled deliveries come from.
pub const EVENTS_PRINCIPAL: &str = "events.amazonaws.com";
/// EventBridge's most targets on one rule.
pub const MAX_TARGETS: usize = 5;
/// EventBridge's limit on a target's constant Input.
pub const MAX_INPUT_BYTES: usize = 8192;
/// The most missed fires a rule may ask to catch up on.
pub const MAX_CATCH_UP: u32 = 1440;
/// ListRules and ListTargetsByRule pages.
const PAGE: usize = 100;

pub const ENABLED: &str = "ENABLED";
pub const DISABLED: &str = "DISABLED";

/// Cheap to clone.
#[derive(Clone)]
pub struct Schedules {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Which time each rule last fired for (see `crate::backend`).
    claims: Arc<dyn FireClaims>,
    router: Router,
    naming: Naming,
    clock: Clock,
    /// Wakes the firing loop: a rule changed.
    changed: tokio::sync::Notify,
    /// The firing loop's view, for the virtual clock: the earliest time
    /// (wall ms) a rule is due, if any, as of its last pass. A change to
    /// a rule sets it to `i64::MIN` (look again) and bumps the generation:
    /// a pass that started before the change does not overwrite it.
    next_due: std::sync::Mutex<(Option<i64>, u64)>,
}

/// What PutRule sets.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub name: String,
    pub schedule_expression: String,
    pub state: String,
    pub description: String,
    pub catch_up: u32,
}

/// A PutTargets or RemoveTargets entry that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    pub target_id: String,
    pub error_code: String,
    pub error_message: String,
}

impl Schedules {
    pub fn new(
        store: Store,
        claims: Arc<dyn FireClaims>,
        router: Router,
        naming: Naming,
        clock: Clock,
    ) -> Schedules {
        Schedules {
            inner: Arc::new(Inner {
                store,
                claims,
                router,
                naming,
                clock,
                changed: tokio::sync::Notify::new(),
                // Unknown until the firing loop's first pass.
                next_due: std::sync::Mutex::new((Some(i64::MIN), 0)),
            }),
        }
    }

    pub fn rule_arn(&self, name: &str) -> String {
        self.inner.naming.rule_arn(name)
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// When the next rule is due (wall ms), as the firing loop last saw
    /// it; `i64::MIN` while a change waits for the loop to look again.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.inner
            .next_due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    /// Tells the firing loop that rules changed.
    fn changed(&self) {
        let mut next_due = self
            .inner
            .next_due
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *next_due = (Some(i64::MIN), next_due.1 + 1);
        drop(next_due);
        self.inner.changed.notify_one();
    }

    /// Creates a rule or updates the one with this name; returns its ARN.
    /// A rate counts from when its expression was set.
    pub async fn put_rule(&self, input: RuleInput) -> Result<String> {
        check_name(&input.name)?;
        let schedule = parse(&input.schedule_expression)?;
        let state = match input.state.as_str() {
            "" | ENABLED => ENABLED,
            DISABLED => DISABLED,
            other => {
                return Err(Error::Validation(format!(
                    "State {other:?} is not valid: ENABLED or DISABLED"
                )));
            }
        };
        if input.description.chars().count() > 512 {
            return Err(Error::Validation(
                "Description must be at most 512 characters".into(),
            ));
        }
        if input.catch_up > MAX_CATCH_UP {
            return Err(Error::Validation(format!(
                "CatchUp must be at most {MAX_CATCH_UP} fires, got {}",
                input.catch_up
            )));
        }
        let now = self.inner.clock.wall_ms();
        let existing = self.inner.store.get_rule(&input.name)?;
        let expression = schedule.to_string();
        let record = match existing {
            Some(mut rule) => {
                if rule.schedule_expression != expression {
                    rule.schedule_expression = expression;
                    rule.anchor_ms = now;
                }
                if rule.state != state && state == ENABLED {
                    rule.enabled_ms = now;
                }
                rule.state = state.into();
                rule.description = input.description;
                rule.catch_up = input.catch_up;
                rule
            }
            None => RuleRecord {
                name: input.name.clone(),
                schedule_expression: expression,
                state: state.into(),
                description: input.description,
                anchor_ms: now,
                enabled_ms: now,
                catch_up: input.catch_up,
                targets: Vec::new(),
            },
        };
        self.save(&record).await?;
        Ok(self.rule_arn(&record.name))
    }

    /// The rule named `name` (ResourceNotFoundException if there is none).
    pub fn describe_rule(&self, name: &str) -> Result<RuleRecord> {
        self.inner
            .store
            .get_rule(name)?
            .ok_or_else(|| not_found(name))
    }

    /// Rules whose names start with `prefix`, a page at a time: the page
    /// and the token of the next one.
    /// A page of the rules `owns` (keys of one account) whose keys start
    /// with `prefix`; the next token is a key of the same account.
    pub fn list_rules(
        &self,
        prefix: &str,
        next_token: &str,
        limit: usize,
        owns: impl Fn(&str) -> bool,
    ) -> Result<(Vec<RuleRecord>, Option<String>)> {
        const BATCH: usize = 256;
        let limit = page_limit(limit);
        let mut page = Vec::new();
        let mut after = next_token.to_string();
        loop {
            let batch = self.inner.store.rules_with_prefix(prefix, &after, BATCH)?;
            let done = batch.len() < BATCH;
            after = batch.last().map(|r| r.name.clone()).unwrap_or_default();
            page.extend(batch.into_iter().filter(|r| owns(&r.name)));
            if done || page.len() > limit {
                break;
            }
        }
        let next = (page.len() > limit).then(|| {
            page.truncate(limit);
            page.last().map(|r| r.name.clone()).unwrap_or_default()
        });
        Ok((page, next))
    }

    pub async fn enable_rule(&self, name: &str) -> Result<()> {
        let mut rule = self.describe_rule(name)?;
        if rule.state != ENABLED {
            rule.state = ENABLED.into();
            rule.enabled_ms = self.inner.clock.wall_ms();
            self.save(&rule).await?;
        }
        Ok(())
    }

    pub async fn disable_rule(&self, name: &str) -> Result<()> {
        let mut rule = self.describe_rule(name)?;
        if rule.state != DISABLED {
            rule.state = DISABLED.into();
            self.save(&rule).await?;
        }
        Ok(())
    }

    /// Deletes a rule; refused while it has targets, as EventBridge does.
    pub async fn delete_rule(&self, name: &str) -> Result<()> {
        let rule = self.describe_rule(name)?;
        if !rule.targets.is_empty() {
            return Err(Error::Validation(format!(
                "Rule can't be deleted since it has targets. Remove the {} target(s) of rule {name} first \
                 (RemoveTargets; funnel rule remove-targets {name} --id ...)",
                rule.targets.len()
            )));
        }
        self.inner.store.delete_rule(name)?;
        self.inner.store.flush_async().await?;
        self.changed();
        Ok(())
    }

    /// Adds or replaces targets (by Id); an entry that is not valid is
    /// reported and the others are put. More than five targets on the
    /// rule is LimitExceededException for the whole request.
    pub async fn put_targets(
        &self,
        rule: &str,
        targets: Vec<RuleTarget>,
    ) -> Result<Vec<FailedEntry>> {
        let mut record = self.describe_rule(rule)?;
        if targets.is_empty() {
            return Err(Error::Validation(
                "Targets must have at least 1 entry".into(),
            ));
        }
        let mut failed = Vec::new();
        let mut accepted = Vec::new();
        for mut target in targets {
            match self.check_target(&mut target) {
                Ok(()) => accepted.push(target),
                Err(err) => failed.push(FailedEntry {
                    target_id: target.id.clone(),
                    error_code: err.aws_name().trim_end_matches("Exception").to_string(),
                    error_message: err.message().to_string(),
                }),
            }
        }
        let mut merged = record.targets.clone();
        for target in accepted {
            match merged.iter_mut().find(|t| t.id == target.id) {
                Some(existing) => *existing = target,
                None => merged.push(target),
            }
        }
        if merged.len() > MAX_TARGETS {
            return Err(Error::LimitExceeded(format!(
                "The requested resource exceeds the maximum number allowed: a rule has at most \
                 {MAX_TARGETS} targets ({rule} would have {})",
                merged.len()
            )));
        }
        record.targets = merged;
        self.save(&record).await?;
        Ok(failed)
    }

    /// Removes targets by Id; an Id the rule does not have is reported.
    pub async fn remove_targets(&self, rule: &str, ids: &[String]) -> Result<Vec<FailedEntry>> {
        let mut record = self.describe_rule(rule)?;
        let failed = ids
            .iter()
            .filter(|id| !record.targets.iter().any(|t| &t.id == *id))
            .map(|id| FailedEntry {
                target_id: id.clone(),
                error_code: "ResourceNotFound".into(),
                error_message: format!("Target {id} does not exist on rule {rule}"),
            })
            .collect();
        record.targets.retain(|t| !ids.contains(&t.id));
        self.save(&record).await?;
        Ok(failed)
    }

    /// A rule's targets, a page at a time.
    pub fn list_targets(
        &self,
        rule: &str,
        next_token: &str,
        limit: usize,
    ) -> Result<(Vec<RuleTarget>, Option<String>)> {
        let limit = page_limit(limit);
        let targets = self.describe_rule(rule)?.targets;
        let start = if next_token.is_empty() {
            0
        } else {
            next_token
                .parse::<usize>()
                .map_err(|_| Error::Validation(format!("NextToken {next_token:?} is not valid")))?
        };
        let page: Vec<RuleTarget> = targets.iter().skip(start).take(limit).cloned().collect();
        let next = (start + page.len() < targets.len()).then(|| (start + page.len()).to_string());
        Ok((page, next))
    }

    /// The next `count` fire times of an expression, or of a rule (whose
    /// rate counts from when its expression was set), after `from` (the
    /// server's clock when `None`).
    pub fn preview(
        &self,
        expression_or_rule: &str,
        count: usize,
        from: Option<DateTime<Utc>>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let from = from.unwrap_or_else(|| ms_to_time(self.inner.clock.wall_ms()));
        let (schedule, anchor) = if expression_or_rule.contains('(') {
            (parse(expression_or_rule)?, from)
        } else {
            let rule = self.describe_rule(expression_or_rule)?;
            (
                parse(&rule.schedule_expression)?,
                ms_to_time(rule.anchor_ms),
            )
        };
        let mut times = Vec::with_capacity(count);
        let mut after = from;
        while times.len() < count {
            let Some(next) = schedule.next_after(after, anchor) else {
                break;
            };
            times.push(next);
            after = next;
        }
        Ok(times)
    }

    fn check_target(&self, target: &mut RuleTarget) -> Result<()> {
        if !valid_rule_name(&target.id) {
            return Err(Error::Validation(format!(
                "Target Id {:?} is not valid: 1-64 characters of letters, digits, '.', '-' and '_'",
                target.id
            )));
        }
        let function = self
            .inner
            .router
            .registry()
            .resolve(&target.arn, "")
            .map_err(|e| {
                Error::Validation(format!("Target Arn {:?}: {}", target.arn, e.message()))
            })?;
        target.arn = self
            .inner
            .naming
            .function_arn(&function.name, function.qualifier.as_deref());
        if let Some(input) = &target.input {
            if input.len() > MAX_INPUT_BYTES {
                return Err(Error::Validation(format!(
                    "Input of target {} is {} bytes; at most {MAX_INPUT_BYTES}",
                    target.id,
                    input.len()
                )));
            }
            serde_json::from_str::<serde_json::Value>(input).map_err(|e| {
                Error::Validation(format!(
                    "Input of target {} is not valid JSON: {e}",
                    target.id
                ))
            })?;
        }
        Ok(())
    }

    /// Stores a rule durably and tells the firing loop.
    async fn save(&self, record: &RuleRecord) -> Result<()> {
        self.inner.store.put_rule(record)?;
        self.inner.store.flush_async().await?;
        self.changed();
        Ok(())
    }
}

fn page_limit(limit: usize) -> usize {
    if limit == 0 { PAGE } else { limit.min(PAGE) }
}

/// A rule's key: its name, in its account.
fn check_name(key: &str) -> Result<()> {
    let name = crate::tenancy::name(key);
    if valid_rule_name(name) {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "Rule name {name:?} is not valid: 1-64 characters of letters, digits, '.', '-' and '_'"
        )))
    }
}

fn not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!("Rule {name} does not exist on EventBus default."))
}

/// An expression, or ValidationException saying why it is not one.
pub fn parse(text: &str) -> Result<Schedule> {
    Schedule::parse(text).map_err(|why| {
        Error::Validation(format!("Parameter ScheduleExpression is not valid: {why}"))
    })
}

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
