//! `{"lines": N, "tag": "x"}` prints N lines of about 100 bytes each, to
//! fill logs.
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn chatty(event: Value, _ctx: Context) -> Result<Value, Error> {
    let lines = event.get("lines").and_then(Value::as_u64).unwrap_or(1);
    let tag = event.get("tag").and_then(Value::as_str).unwrap_or("line");
    for i in 0..lines {
        println!("{tag} {i:06} {}", "x".repeat(80));
    }
    Ok(json!({ "printed": lines }))
}

funnel_function::handler!(chatty);
