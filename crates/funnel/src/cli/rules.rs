//! `funnel rule …` and `funnel clock …`.

use clap::Subcommand;
use funnel_client::{Client, Target, proto};
use serde_json::json;

use super::print_json;

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Create or update a schedule rule; prints its ARN.
    Put {
        name: String,
        /// rate(5 minutes), rate(1 hour), cron(0 10 * * ? *) ... (UTC).
        #[arg(long)]
        schedule: String,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        #[arg(long)]
        description: Option<String>,
        /// At start, fire up to N of the times missed while the server was
        /// down (none by default, as EventBridge).
        #[arg(long, default_value_t = 0)]
        catch_up: u32,
    },
    /// Send the rule's fires to a function (it also needs permission:
    /// funnel function add-permission F --statement-id ID --principal
    /// events.amazonaws.com --source-arn RULE_ARN).
    PutTargets {
        rule: String,
        /// The function (name or ARN).
        #[arg(long)]
        target: String,
        /// The target's id (the function's name by default).
        #[arg(long)]
        id: Option<String>,
        /// Constant JSON to send instead of the Scheduled Event.
        #[arg(long)]
        input: Option<String>,
    },
    /// Remove targets by id.
    RemoveTargets {
        rule: String,
        #[arg(long = "id", required = true)]
        ids: Vec<String>,
    },
    /// List a rule's targets.
    Targets {
        rule: String,
    },
    /// Delete a rule (refused while it has targets).
    Delete {
        name: String,
    },
    /// List rules (names starting with PREFIX).
    List {
        prefix: Option<String>,
    },
    /// Print a rule (with its ARN).
    Describe {
        name: String,
    },
    Enable {
        name: String,
    },
    Disable {
        name: String,
    },
    /// Print the next fire times of an expression or a rule, one a line
    /// (RFC 3339, UTC).
    Preview {
        /// An expression (rate(...), cron(...)) or a rule name.
        subject: String,
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// Start from this time (RFC 3339); the server's clock by default.
        #[arg(long)]
        from: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Print the server's time, and whether its clock is real or virtual.
    Show,
    /// Move a virtual clock forward (30s, 10m, 3h, 2d ...), running
    /// everything that comes due on the way; returns when it has run.
    Advance {
        #[arg(value_parser = super::parse_since)]
        by: std::time::Duration,
    },
    /// Move a virtual clock forward to a time (RFC 3339), as advance does.
    Set { time: String },
}

pub async fn rule(client: &Client, command: RuleCommand) -> anyhow::Result<()> {
    match command {
        RuleCommand::Put {
            name,
            schedule,
            disabled,
            description,
            catch_up,
        } => {
            let rule_arn = client
                .put_rule(proto::PutRuleRequest {
                    name,
                    schedule_expression: schedule,
                    state: if disabled { "DISABLED" } else { "ENABLED" }.into(),
                    description: description.unwrap_or_default(),
                    catch_up,
                })
                .await?;
            print_json(&json!({ "RuleArn": rule_arn }))
        }
        RuleCommand::PutTargets {
            rule,
            target,
            id,
            input,
        } => {
            let id = id.unwrap_or_else(|| default_target_id(&target));
            let failed = client
                .put_targets(
                    &rule,
                    vec![Target {
                        id,
                        function: target,
                        input,
                    }],
                )
                .await?;
            report_failed(&failed)
        }
        RuleCommand::RemoveTargets { rule, ids } => {
            let failed = client.remove_targets(&rule, &ids).await?;
            report_failed(&failed)
        }
        RuleCommand::Targets { rule } => {
            let targets: Vec<_> = client
                .list_all_targets(&rule)
                .await?
                .into_iter()
                .map(|t| json!({ "Id": t.id, "Arn": t.arn, "Input": t.input }))
                .collect();
            print_json(&json!({ "Targets": targets }))
        }
        RuleCommand::Delete { name } => Ok(client.delete_rule(&name).await?),
        RuleCommand::List { prefix } => {
            for rule in client
                .list_all_rules(prefix.as_deref().unwrap_or_default())
                .await?
            {
                println!(
                    "{}\t{}\t{}",
                    rule.name, rule.state, rule.schedule_expression
                );
            }
            Ok(())
        }
        RuleCommand::Describe { name } => {
            let r = client.describe_rule(&name).await?;
            print_json(&json!({
                "Name": r.name,
                "Arn": r.arn,
                "ScheduleExpression": r.schedule_expression,
                "State": r.state,
                "Description": r.description,
                "EventBusName": r.event_bus_name,
                "CreatedBy": r.created_by,
                "CatchUp": r.catch_up,
            }))
        }
        RuleCommand::Enable { name } => Ok(client.enable_rule(&name).await?),
        RuleCommand::Disable { name } => Ok(client.disable_rule(&name).await?),
        RuleCommand::Preview {
            subject,
            count,
            from,
        } => {
            let mut request = proto::PreviewScheduleRequest {
                count,
                from: from.unwrap_or_default(),
                ..Default::default()
            };
            if subject.contains('(') {
                request.schedule_expression = subject;
            } else {
                request.name = subject;
            }
            for time in client.preview_schedule(request).await? {
                println!("{time}");
            }
            Ok(())
        }
    }
}

/// A target id from a function name or ARN: its name (EventBridge ids
/// allow letters, digits, `.`, `-` and `_`).
fn default_target_id(function: &str) -> String {
    let name = function
        .split(":function:")
        .nth(1)
        .unwrap_or(function)
        .split(':')
        .next()
        .unwrap_or(function);
    name.to_string()
}

fn report_failed(failed: &[proto::FailedEntry]) -> anyhow::Result<()> {
    if failed.is_empty() {
        return Ok(());
    }
    for f in failed {
        eprintln!("{}: {}: {}", f.target_id, f.error_code, f.error_message);
    }
    anyhow::bail!("{} target(s) were not changed", failed.len())
}

pub async fn clock(client: &Client, command: ClockCommand) -> anyhow::Result<()> {
    match command {
        ClockCommand::Show => {
            let c = client.get_clock().await?;
            println!("{}\t{}", c.time, c.kind);
        }
        ClockCommand::Advance { by } => {
            let r = client.advance_clock(by).await?;
            println!("{}\t{} invocations", r.time, r.invocations);
        }
        ClockCommand::Set { time } => {
            let r = client.set_clock(&time).await?;
            println!("{}\t{} invocations", r.time, r.invocations);
        }
    }
    Ok(())
}
