//! EventBridge's Scheduled Event: what a rule's target receives when it
//! has no constant `Input`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

/// The Scheduled Event of one fire of `rule_arn` at `scheduled`: `time` is
/// the scheduled time (not when it was delivered), as EventBridge sends.
pub fn scheduled_event(
    id: &str,
    account: &str,
    region: &str,
    rule_arn: &str,
    scheduled: DateTime<Utc>,
) -> String {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": scheduled.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    })
    .to_string()
}
