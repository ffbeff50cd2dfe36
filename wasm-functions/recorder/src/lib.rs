//! Records each event it gets as one log line, `record: <event JSON>`, and
//! returns `{"recorded": true}`; an event with `"fail": true` is refused
//! instead (a handled `RecorderRefused` error), after being recorded, and
//! `"sleep_ms": N` (at the top, or in an SNS message's JSON) makes it take N ms first; `"panic": true` makes it trap
//! (after recording). It first prints `start_ns: <wall clock, ns>`, when
//! the handler began (the bench times trigger latency with it).
//! `"write_path"` and `"write_body"` make it write that file (a handled
//! `WriteFailed` error if it cannot). `"publish": {"topic", "message"?,
//! "subject"?, "attributes"?: {name: string value}}` (at the top, or in an
//! SNS message's JSON) publishes that message (without one, the SNS message
//! it received) and prints `published: <id>`; a refused publish is the
//! invocation's handled error. With `RELAY_TOPIC` in its environment, an
//! event with no `publish` is published to that topic as it came. With
//! `PRINT_TRACE` set, it prints its trace (`trace: <ctx.trace_id>`,
//! `trace_env: <_X_AMZN_TRACE_ID>`).
use funnel_function::topics::Message;
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn record(event: Value, ctx: Context) -> Result<Value, Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    println!("start_ns: {}", now.as_nanos());
    // `sleep_ms` may also come inside an SNS message (JSON text).
    let sns_message = event
        .pointer("/Records/0/Sns/Message")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    let option = |name: &str| {
        event
            .get(name)
            .or_else(|| sns_message.as_ref()?.get(name))
            .cloned()
    };
    let sleep_ms = option("sleep_ms").as_ref().and_then(Value::as_u64);
    if let Some(ms) = sleep_ms {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    println!("record: {event}");
    println!("request: {}", ctx.request_id);
    if std::env::var("PRINT_TRACE").is_ok() {
        println!("trace: {}", ctx.trace_id.clone().unwrap_or_default());
        println!("trace_env: {}", std::env::var("_X_AMZN_TRACE_ID").unwrap_or_default());
    }
    if let (Some(path), Some(body)) = (
        event.get("write_path").and_then(Value::as_str),
        event.get("write_body").and_then(Value::as_str),
    ) {
        std::fs::write(path, body)
            .map_err(|e| Error::new("WriteFailed", format!("writing {path}: {e}")))?;
    }
    let relay = std::env::var("RELAY_TOPIC")
        .ok()
        .map(|topic| json!({"topic": topic, "message": event.to_string()}));
    if let Some(publish) = option("publish").or(relay) {
        let text = |name: &str| publish.get(name).and_then(Value::as_str);
        // Without a message, the SNS message it got goes on as it is.
        let received = event
            .pointer("/Records/0/Sns/Message")
            .and_then(Value::as_str);
        let mut message = Message::new(
            text("topic").unwrap_or_default(),
            text("message").or(received).unwrap_or_default(),
        );
        if let Some(subject) = text("subject") {
            message = message.subject(subject);
        }
        if let Some(attributes) = publish.get("attributes").and_then(Value::as_object) {
            for (name, value) in attributes {
                message = message.attribute(name, value.as_str().unwrap_or_default());
            }
        }
        println!("published: {}", message.publish()?);
    }
    if event.get("panic").and_then(Value::as_bool) == Some(true) {
        panic!("asked to panic");
    }
    if event.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err(Error::new("RecorderRefused", "asked to fail"));
    }
    Ok(json!({ "recorded": true }))
}

funnel_function::handler!(record);
