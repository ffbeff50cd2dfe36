//! Logs every SNS message it receives — one line
//! `TOPIC <topic> SUBJECT <subject> MESSAGE <message> ATTRIBUTES <json>` per
//! record — and returns how many it logged: `{"logged": N}`.
use aws_lambda_events::event::sns::SnsEvent;
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn log_messages(event: Value, _ctx: Context) -> Result<Value, Error> {
    let event: SnsEvent = serde_json::from_value(event)
        .map_err(|e| Error::new("InvalidEvent", format!("not an SNS event: {e}")))?;
    for record in &event.records {
        let sns = &record.sns;
        let attributes: serde_json::Map<String, Value> = sns
            .message_attributes
            .iter()
            .map(|(name, a)| (name.clone(), json!({"Type": a.data_type, "Value": a.value})))
            .collect();
        println!(
            "TOPIC {} SUBJECT {} MESSAGE {} ATTRIBUTES {}",
            sns.topic_arn,
            sns.subject.as_deref().unwrap_or("-"),
            sns.message,
            Value::Object(attributes)
        );
    }
    Ok(json!({ "logged": event.records.len() }))
}

funnel_function::handler!(log_messages);
