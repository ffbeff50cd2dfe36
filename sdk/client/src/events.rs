//! Schedule rules and their targets; the server's clock.

use crate::{Client, Result, proto};

/// A rule's target as PutTargets takes it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub id: String,
    /// A function name or ARN.
    pub function: String,
    /// Constant JSON sent instead of the Scheduled Event.
    pub input: Option<String>,
}

impl Client {
    /// Creates or updates a rule; its ARN.
    pub async fn put_rule(&self, request: proto::PutRuleRequest) -> Result<String> {
        Ok(self
            .events
            .clone()
            .put_rule(request)
            .await?
            .into_inner()
            .rule_arn)
    }

    /// Creates or updates an enabled rule with a schedule; its ARN.
    pub async fn put_schedule(&self, name: &str, schedule_expression: &str) -> Result<String> {
        self.put_rule(proto::PutRuleRequest {
            name: name.into(),
            schedule_expression: schedule_expression.into(),
            ..Default::default()
        })
        .await
    }

    pub async fn describe_rule(&self, name: &str) -> Result<proto::DescribeRuleResponse> {
        Ok(self
            .events
            .clone()
            .describe_rule(proto::DescribeRuleRequest { name: name.into() })
            .await?
            .into_inner())
    }

    /// Every rule whose name starts with `prefix`, following pages.
    pub async fn list_all_rules(&self, prefix: &str) -> Result<Vec<proto::Rule>> {
        let mut all = Vec::new();
        let mut next_token = String::new();
        loop {
            let page = self
                .events
                .clone()
                .list_rules(proto::ListRulesRequest {
                    name_prefix: prefix.into(),
                    next_token,
                    limit: 0,
                })
                .await?
                .into_inner();
            all.extend(page.rules);
            if page.next_token.is_empty() {
                return Ok(all);
            }
            next_token = page.next_token;
        }
    }

    pub async fn list_rules(
        &self,
        request: proto::ListRulesRequest,
    ) -> Result<proto::ListRulesResponse> {
        Ok(self.events.clone().list_rules(request).await?.into_inner())
    }

    pub async fn enable_rule(&self, name: &str) -> Result<()> {
        self.events
            .clone()
            .enable_rule(proto::EnableRuleRequest { name: name.into() })
            .await?;
        Ok(())
    }

    pub async fn disable_rule(&self, name: &str) -> Result<()> {
        self.events
            .clone()
            .disable_rule(proto::DisableRuleRequest { name: name.into() })
            .await?;
        Ok(())
    }

    pub async fn delete_rule(&self, name: &str) -> Result<()> {
        self.events
            .clone()
            .delete_rule(proto::DeleteRuleRequest { name: name.into() })
            .await?;
        Ok(())
    }

    /// Puts targets on a rule; the entries that were refused.
    pub async fn put_targets(
        &self,
        rule: &str,
        targets: Vec<Target>,
    ) -> Result<Vec<proto::FailedEntry>> {
        Ok(self
            .events
            .clone()
            .put_targets(proto::PutTargetsRequest {
                rule: rule.into(),
                targets: targets
                    .into_iter()
                    .map(|t| proto::Target {
                        id: t.id,
                        arn: t.function,
                        input: t.input,
                    })
                    .collect(),
            })
            .await?
            .into_inner()
            .failed_entries)
    }

    /// Removes targets by id; the ids that were refused.
    pub async fn remove_targets(
        &self,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<proto::FailedEntry>> {
        Ok(self
            .events
            .clone()
            .remove_targets(proto::RemoveTargetsRequest {
                rule: rule.into(),
                ids: ids.to_vec(),
            })
            .await?
            .into_inner()
            .failed_entries)
    }

    /// Every target of a rule, following pages.
    pub async fn list_all_targets(&self, rule: &str) -> Result<Vec<proto::Target>> {
        let mut all = Vec::new();
        let mut next_token = String::new();
        loop {
            let page = self
                .events
                .clone()
                .list_targets_by_rule(proto::ListTargetsByRuleRequest {
                    rule: rule.into(),
                    next_token,
                    limit: 0,
                })
                .await?
                .into_inner();
            all.extend(page.targets);
            if page.next_token.is_empty() {
                return Ok(all);
            }
            next_token = page.next_token;
        }
    }

    /// The next fire times (RFC 3339) of an expression or a rule.
    pub async fn preview_schedule(
        &self,
        request: proto::PreviewScheduleRequest,
    ) -> Result<Vec<String>> {
        Ok(self
            .events
            .clone()
            .preview_schedule(request)
            .await?
            .into_inner()
            .times)
    }

    /// The server's time and whether its clock is real or virtual.
    pub async fn get_clock(&self) -> Result<proto::GetClockResponse> {
        Ok(self
            .clock
            .clone()
            .get_clock(proto::GetClockRequest {})
            .await?
            .into_inner())
    }

    /// Moves a virtual clock forward; answers once what came due has run.
    pub async fn advance_clock(
        &self,
        by: std::time::Duration,
    ) -> Result<proto::AdvanceClockResponse> {
        Ok(self
            .clock
            .clone()
            .advance_clock(proto::AdvanceClockRequest {
                milliseconds: u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
            })
            .await?
            .into_inner())
    }

    /// Moves a virtual clock forward to `time` (RFC 3339).
    pub async fn set_clock(&self, time: &str) -> Result<proto::SetClockResponse> {
        Ok(self
            .clock
            .clone()
            .set_clock(proto::SetClockRequest { time: time.into() })
            .await?
            .into_inner())
    }
}
