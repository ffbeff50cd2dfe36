//! `funnel.v1.Events`: schedule rules and their targets; and
//! `funnel.v1.Clock`: the server's clock, which a virtual one lets clients
//! move.

use chrono::{DateTime, SecondsFormat, Utc};
use funnel_proto::v1 as pb;
use funnel_proto::v1::clock_server::Clock as ClockApi;
use funnel_proto::v1::events_server::Events as EventsApi;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::schedules::{FailedEntry, RuleInput, Schedules};
use crate::timekeeper::Timekeeper;
use funnel_store::{RuleRecord, RuleTarget};

pub struct EventsService {
    schedules: Schedules,
    quotas: crate::quotas::Quotas,
}

impl EventsService {
    pub fn new(schedules: Schedules, quotas: crate::quotas::Quotas) -> Self {
        EventsService { schedules, quotas }
    }

    fn rule(&self, rule: RuleRecord) -> pb::Rule {
        pb::Rule {
            arn: self.schedules.rule_arn(&rule.name),
            name: crate::tenancy::name(&rule.name).to_string(),
            schedule_expression: rule.schedule_expression,
            state: rule.state,
            description: rule.description,
            event_bus_name: "default".into(),
        }
    }
}

fn failed(entries: Vec<FailedEntry>) -> (i32, Vec<pb::FailedEntry>) {
    let entries: Vec<pb::FailedEntry> = entries
        .into_iter()
        .map(|f| pb::FailedEntry {
            target_id: f.target_id,
            error_code: f.error_code,
            error_message: f.error_message,
        })
        .collect();
    (entries.len() as i32, entries)
}

/// RFC 3339 with seconds (and milliseconds when there are any), UTC.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An RFC 3339 time a client sent, or ValidationException naming `field`.
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::Validation(format!(
                "{field} {text:?} is not an RFC 3339 time (2027-01-01T00:00:00Z): {e}"
            ))
        })
}

#[tonic::async_trait]
impl EventsApi for EventsService {
    async fn put_rule(
        &self,
        request: Request<pb::PutRuleRequest>,
    ) -> Result<Response<pb::PutRuleResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let r = request.into_inner();
        // Putting an existing rule updates it, quota or not.
        if self.schedules.describe_rule(&caller.key(&r.name)).is_err() {
            self.quotas.rule(&caller)?;
        }
        let rule_arn = self
            .schedules
            .put_rule(RuleInput {
                name: caller.key(&r.name),
                schedule_expression: r.schedule_expression,
                state: r.state,
                description: r.description,
                catch_up: r.catch_up,
            })
            .await?;
        Ok(Response::new(pb::PutRuleResponse { rule_arn }))
    }

    async fn describe_rule(
        &self,
        request: Request<pb::DescribeRuleRequest>,
    ) -> Result<Response<pb::DescribeRuleResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let rule = self
            .schedules
            .describe_rule(&caller.key(&request.into_inner().name))?;
        let catch_up = rule.catch_up;
        let created_by = caller.naming().account_of(&rule.name).to_string();
        let r = self.rule(rule);
        Ok(Response::new(pb::DescribeRuleResponse {
            name: r.name,
            arn: r.arn,
            schedule_expression: r.schedule_expression,
            state: r.state,
            description: r.description,
            event_bus_name: r.event_bus_name,
            created_by,
            catch_up,
        }))
    }

    async fn list_rules(
        &self,
        request: Request<pb::ListRulesRequest>,
    ) -> Result<Response<pb::ListRulesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let r = request.into_inner();
        let limit = usize::try_from(r.limit)
            .map_err(|_| Error::Validation(format!("Limit must be 1-100, got {}", r.limit)))?;
        // Keys of the caller's account start with its key of the prefix
        // (the home account's are filtered from every other's).
        let (rules, next) = self.schedules.list_rules(
            &caller.key(&r.name_prefix),
            &r.next_token,
            limit,
            |key| caller.owns(key),
        )?;
        Ok(Response::new(pb::ListRulesResponse {
            rules: rules.into_iter().map(|rule| self.rule(rule)).collect(),
            next_token: next.unwrap_or_default(),
        }))
    }

    async fn enable_rule(
        &self,
        request: Request<pb::EnableRuleRequest>,
    ) -> Result<Response<pb::EnableRuleResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        self.schedules
            .enable_rule(&caller.key(&request.into_inner().name))
            .await?;
        Ok(Response::new(pb::EnableRuleResponse {}))
    }

    async fn disable_rule(
        &self,
        request: Request<pb::DisableRuleRequest>,
    ) -> Result<Response<pb::DisableRuleResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        self.schedules
            .disable_rule(&caller.key(&request.into_inner().name))
            .await?;
        Ok(Response::new(pb::DisableRuleResponse {}))
    }

    async fn delete_rule(
        &self,
        request: Request<pb::DeleteRuleRequest>,
    ) -> Result<Response<pb::DeleteRuleResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        self.schedules
            .delete_rule(&caller.key(&request.into_inner().name))
            .await?;
        Ok(Response::new(pb::DeleteRuleResponse {}))
    }

    async fn put_targets(
        &self,
        request: Request<pb::PutTargetsRequest>,
    ) -> Result<Response<pb::PutTargetsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let r = request.into_inner();
        let targets = r
            .targets
            .into_iter()
            .map(|t| {
                // A bare function name is the caller's account's (one that
                // cannot be read fails as its own entry).
                let arn = if t.arn.starts_with("arn:") {
                    t.arn
                } else {
                    caller.function(&t.arn).unwrap_or(t.arn)
                };
                RuleTarget {
                    id: t.id,
                    arn,
                    input: t.input,
                }
            })
            .collect();
        let (failed_entry_count, failed_entries) = failed(
            self.schedules
                .put_targets(&caller.key(&r.rule), targets)
                .await?,
        );
        Ok(Response::new(pb::PutTargetsResponse {
            failed_entry_count,
            failed_entries,
        }))
    }

    async fn remove_targets(
        &self,
        request: Request<pb::RemoveTargetsRequest>,
    ) -> Result<Response<pb::RemoveTargetsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let r = request.into_inner();
        let (failed_entry_count, failed_entries) = failed(
            self.schedules
                .remove_targets(&caller.key(&r.rule), &r.ids)
                .await?,
        );
        Ok(Response::new(pb::RemoveTargetsResponse {
            failed_entry_count,
            failed_entries,
        }))
    }

    async fn list_targets_by_rule(
        &self,
        request: Request<pb::ListTargetsByRuleRequest>,
    ) -> Result<Response<pb::ListTargetsByRuleResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let r = request.into_inner();
        let limit = usize::try_from(r.limit)
            .map_err(|_| Error::Validation(format!("Limit must be 1-100, got {}", r.limit)))?;
        let (targets, next) =
            self.schedules
                .list_targets(&caller.key(&r.rule), &r.next_token, limit)?;
        Ok(Response::new(pb::ListTargetsByRuleResponse {
            targets: targets
                .into_iter()
                .map(|t| pb::Target {
                    id: t.id,
                    arn: t.arn,
                    input: t.input,
                })
                .collect(),
            next_token: next.unwrap_or_default(),
        }))
    }

    async fn preview_schedule(
        &self,
        request: Request<pb::PreviewScheduleRequest>,
    ) -> Result<Response<pb::PreviewScheduleResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let r = request.into_inner();
        let subject = match (r.schedule_expression.is_empty(), r.name.is_empty()) {
            (false, true) => r.schedule_expression,
            (true, false) => caller.key(&r.name),
            _ => {
                return Err(
                    Error::Validation("give either ScheduleExpression or Name".into()).into(),
                );
            }
        };
        let count = match r.count {
            0 => 10,
            n @ 1..=1000 => n as usize,
            n => return Err(Error::Validation(format!("Count must be 1-1000, got {n}")).into()),
        };
        let from = (!r.from.is_empty())
            .then(|| parse_time("From", &r.from))
            .transpose()?;
        let times = self.schedules.preview(&subject, count, from)?;
        Ok(Response::new(pb::PreviewScheduleResponse {
            times: times.into_iter().map(format_time).collect(),
        }))
    }
}

pub struct ClockService {
    timekeeper: Timekeeper,
}

impl ClockService {
    pub fn new(timekeeper: Timekeeper) -> Self {
        ClockService { timekeeper }
    }

    fn now(&self) -> String {
        format_time(crate::schedules::ms_to_time(
            self.timekeeper.clock().wall_ms(),
        ))
    }
}

#[tonic::async_trait]
impl ClockApi for ClockService {
    async fn get_clock(
        &self,
        request: Request<pb::GetClockRequest>,
    ) -> Result<Response<pb::GetClockResponse>, Status> {
        crate::iam::check(&request)?;
        let kind = if self.timekeeper.clock().is_manual() {
            "virtual"
        } else {
            "real"
        };
        Ok(Response::new(pb::GetClockResponse {
            time: self.now(),
            kind: kind.into(),
        }))
    }

    async fn advance_clock(
        &self,
        request: Request<pb::AdvanceClockRequest>,
    ) -> Result<Response<pb::AdvanceClockResponse>, Status> {
        crate::iam::check(&request)?;
        let by = i64::try_from(request.into_inner().milliseconds)
            .map_err(|_| Error::InvalidParameterValue("Milliseconds is too large".into()))?;
        let target = self.timekeeper.clock().wall_ms().saturating_add(by);
        let invocations = self.timekeeper.advance_to(target).await?;
        Ok(Response::new(pb::AdvanceClockResponse {
            time: self.now(),
            invocations,
        }))
    }

    async fn set_clock(
        &self,
        request: Request<pb::SetClockRequest>,
    ) -> Result<Response<pb::SetClockResponse>, Status> {
        crate::iam::check(&request)?;
        let time = parse_time("Time", &request.into_inner().time)?;
        let invocations = self.timekeeper.advance_to(time.timestamp_millis()).await?;
        Ok(Response::new(pb::SetClockResponse {
            time: self.now(),
            invocations,
        }))
    }
}
