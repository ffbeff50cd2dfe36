//! `{"depth": N}` recurses N levels; without `depth` it recurses until the
//! stack runs out.
use funnel_function::{Context, Error, Value};
use serde_json::json;

#[inline(never)]
fn dive(depth: u64, limit: Option<u64>) -> u64 {
    if limit.is_some_and(|l| depth >= l) {
        return depth;
    }
    // Keep a frame's worth of data live so the recursion cannot be folded away.
    let frame = std::hint::black_box([depth; 16]);
    dive(depth + 1, limit) + frame[15] - depth
}

fn deep(event: Value, _ctx: Context) -> Result<Value, Error> {
    let limit = event.get("depth").and_then(Value::as_u64);
    Ok(json!({ "depth": dive(0, limit) }))
}

funnel_function::handler!(deep);
