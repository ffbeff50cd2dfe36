//! The firing loop: runs every enabled rule on the server's clock.
//!
//! A fire first records the scheduled time as the rule's last fire, then
//! queues its targets' invocations and flushes both; sled recovers writes
//! in order, so a restart never finds the invocations without the mark
//! (no double fire). A fire cut off before the flush is lost with its mark:
//! at most once, as the missed times of a stopped server. So its
//! invocations may start before that flush (keeping a flush out of the
//! fire's lateness), except for rules that catch up: a lost mark would
//! fire their time again, so they wait for it to be durable.

use tokio_util::sync::CancellationToken;

use super::{Schedule, Schedules, event, ms_to_time, parse};
use crate::error::Result;
use crate::policies::Caller;
use funnel_store::RuleRecord;

/// The most fires of one rule a single wake fires (a clock that jumped far
/// ahead fires the rest on the next wake).
const MAX_FIRES_PER_WAKE: usize = 1000;

/// One scheduled time of one rule.
struct Due {
    at_ms: i64,
    rule: RuleRecord,
}

impl Schedules {
    /// Runs the rules until `stop`: first the missed fires of rules that
    /// ask for catch-up, then every fire as it comes due.
    pub async fn run(self, stop: CancellationToken) {
        let started_ms = self.inner.clock.wall_ms();
        if let Err(err) = self.catch_up(started_ms).await {
            tracing::error!(cause = %err, "catching up on missed schedule fires");
        }
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let generation = self.pass_generation();
            let next = match self.fire_due(started_ms).await {
                Ok(next) => next,
                Err(err) => {
                    tracing::error!(cause = %err, "firing schedules; trying again in a second");
                    Some(self.inner.clock.wall_ms() + 1000)
                }
            };
            self.passed(generation, next);
            let clock = self.inner.clock.clone();
            let sleep = async move {
                match next {
                    Some(at) => clock.sleep_until_wall_ms(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = &mut changed => {}
                () = sleep => {}
            }
        }
        self.passed(self.pass_generation(), None);
    }

    fn pass_generation(&self) -> u64 {
        self.inner
            .next_due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
    }

    /// Publishes a pass's next due time, unless rules changed since the
    /// pass started (the next pass will look at them).
    fn passed(&self, generation: u64, next: Option<i64>) {
        let mut next_due = self
            .inner
            .next_due
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if next_due.1 == generation {
            next_due.0 = next;
        }
    }

    /// Fires everything due now, in time order (ties by rule name);
    /// returns when the next rule is due.
    async fn fire_due(&self, started_ms: i64) -> Result<Option<i64>> {
        let now = self.inner.clock.wall_ms();
        let mut due = Vec::new();
        let mut next: Option<i64> = None;
        for (rule, schedule) in self.enabled_rules()? {
            let floor = self
                .inner
                .claims
                .last_fire(&rule.name)?
                .unwrap_or(i64::MIN)
                .max(rule.enabled_ms)
                .max(started_ms);
            let mut after = floor;
            let mut fires = 0;
            while let Some(at) = next_fire(&schedule, after, rule.anchor_ms) {
                if at > now || fires == MAX_FIRES_PER_WAKE {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    break;
                }
                due.push(Due {
                    at_ms: at,
                    rule: rule.clone(),
                });
                after = at;
                fires += 1;
            }
        }
        self.fire(due).await?;
        Ok(next)
    }

    /// At start: for each rule asking for catch-up, fires the last
    /// `catch_up` times it missed while the server was down, oldest first.
    async fn catch_up(&self, started_ms: i64) -> Result<()> {
        let mut due = Vec::new();
        for (rule, schedule) in self.enabled_rules()? {
            if rule.catch_up == 0 {
                continue;
            }
            let Some(last) = self.inner.claims.last_fire(&rule.name)? else {
                continue;
            };
            let mut missed = Vec::new();
            let mut after = last.max(rule.enabled_ms);
            while let Some(at) = next_fire(&schedule, after, rule.anchor_ms) {
                if at > started_ms {
                    break;
                }
                missed.push(at);
                if missed.len() > rule.catch_up as usize {
                    missed.remove(0);
                }
                after = at;
            }
            if !missed.is_empty() {
                tracing::info!(
                    rule = %rule.name,
                    fires = missed.len(),
                    "catching up on fires missed while the server was down"
                );
            }
            due.extend(missed.into_iter().map(|at_ms| Due {
                at_ms,
                rule: rule.clone(),
            }));
        }
        self.fire(due).await
    }

    fn enabled_rules(&self) -> Result<Vec<(RuleRecord, Schedule)>> {
        let mut rules = Vec::new();
        for rule in self.inner.store.all_rules()? {
            if rule.state != super::ENABLED {
                continue;
            }
            match parse(&rule.schedule_expression) {
                Ok(schedule) => rules.push((rule, schedule)),
                Err(err) => {
                    tracing::error!(rule = %rule.name, cause = %err, "a stored rule does not parse");
                }
            }
        }
        Ok(rules)
    }

    /// Marks each fire and queues its targets' invocations, in time order;
    /// returns once they are durable.
    async fn fire(&self, mut due: Vec<Due>) -> Result<()> {
        if due.is_empty() {
            return Ok(());
        }
        due.sort_by(|a, b| (a.at_ms, &a.rule.name).cmp(&(b.at_ms, &b.rule.name)));
        let naming = &self.inner.naming;
        let mut events = Vec::new();
        // A rule that catches up fires again after a crash that lost its
        // mark; its invocations wait for the flush, so the mark is durable
        // before anything runs. Others start at once (a lost fire is not
        // fired again), which keeps the flush out of their jitter.
        let eager = due.iter().all(|d| d.rule.catch_up == 0);
        let tracer = self.inner.router.tracer().clone();
        let mut spans = Vec::new();
        for Due { at_ms, rule } in &due {
            self.inner.claims.claim(&rule.name, *at_ms)?;
            let rule_arn = naming.rule_arn(&rule.name);
            let owner = naming.account_of(&rule.name);
            let caller = Caller {
                service: super::EVENTS_PRINCIPAL,
                source_arn: &rule_arn,
                source_account: owner,
            };
            tracing::debug!(rule = %rule.name, at = %ms_to_time(*at_ms), "rule fired");
            // Each fire starts a trace of its own.
            let trace = if rule.targets.is_empty() {
                None
            } else {
                tracer.new_trace()
            };
            let span = tracer
                .span(trace.as_ref(), "schedule fire", "")
                .map(|mut span| {
                    span.set_account(owner);
                    span.attr("rule", crate::tenancy::name(&rule.name));
                    span.attr("scheduled_time", ms_to_time(*at_ms).to_rfc3339());
                    span
                });
            let hop = span.as_ref().map(|s| s.context()).or(trace);
            spans.extend(span);
            for target in &rule.targets {
                let payload = target.input.clone().unwrap_or_else(|| {
                    event::scheduled_event(
                        &uuid::Uuid::new_v4().to_string(),
                        owner,
                        &naming.region,
                        &rule_arn,
                        ms_to_time(*at_ms),
                    )
                });
                if let Ok(mut event) = self.inner.router.route(caller, &target.arn, payload)? {
                    event.trace = hop.map(|trace| trace.xray());
                    events.push(event);
                }
            }
        }
        let accepted = if events.is_empty() {
            // The claims alone: durable with the queue's flush.
            self.inner.router.durable().await
        } else if eager {
            self.inner.router.accept_all_eagerly(events).await
        } else {
            self.inner.router.accept_all(events).await
        };
        for span in spans {
            tracer.end(span);
        }
        accepted
    }
}

fn next_fire(schedule: &Schedule, after_ms: i64, anchor_ms: i64) -> Option<i64> {
    schedule
        .next_after(ms_to_time(after_ms), ms_to_time(anchor_ms))
        .map(|t| t.timestamp_millis())
}
