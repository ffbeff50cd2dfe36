//! Records each event it gets as one log line, `record: <event JSON>`, and
//! returns `{"recorded": true}`; an event with `"fail": true` is refused
//! instead (a handled `RecorderRefused` error), after being recorded.
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn record(event: Value, ctx: Context) -> Result<Value, Error> {
    println!("record: {event}");
    println!("request: {}", ctx.request_id);
    if event.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err(Error::new("RecorderRefused", "asked to fail"));
    }
    Ok(json!({ "recorded": true }))
}

funnel_function::handler!(record);
