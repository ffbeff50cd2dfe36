//! Records each event it gets as one log line, `record: <event JSON>`, and
//! returns `{"recorded": true}`; an event with `"fail": true` is refused
//! instead (a handled `RecorderRefused` error), after being recorded, and
//! `"sleep_ms": N` (at the top, or in an SNS message's JSON) makes it take N ms first; `"panic": true` makes it trap
//! (after recording). It first prints `start_ns: <wall clock, ns>`, when
//! the handler began (the bench times trigger latency with it).
//! `"write_path"` and `"write_body"` make it write that file (a handled
//! `WriteFailed` error if it cannot).
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
    let sleep_ms = event
        .get("sleep_ms")
        .or_else(|| sns_message.as_ref()?.get("sleep_ms"))
        .and_then(Value::as_u64);
    if let Some(ms) = sleep_ms {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    println!("record: {event}");
    println!("request: {}", ctx.request_id);
    if let (Some(path), Some(body)) = (
        event.get("write_path").and_then(Value::as_str),
        event.get("write_body").and_then(Value::as_str),
    ) {
        std::fs::write(path, body)
            .map_err(|e| Error::new("WriteFailed", format!("writing {path}: {e}")))?;
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
