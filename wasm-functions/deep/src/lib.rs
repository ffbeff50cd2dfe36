//! `{"depth": N}` recurses N levels; without `depth` it recurses until the
//! stack runs out. `"frames": "big"` puts a buffer in each frame, which Rust
//! keeps on its shadow stack in linear memory, so that stack runs out first;
//! otherwise the engine's own call stack does.
use funnel_function::{Context, Error, Value};
use serde_json::json;

#[inline(never)]
fn dive(depth: u64, limit: Option<u64>) -> u64 {
    if limit.is_some_and(|l| depth >= l) {
        return depth;
    }
    // Not a tail call: the addition happens after the recursive call returns.
    std::hint::black_box(dive(depth + 1, limit)) + std::hint::black_box(0)
}

#[inline(never)]
fn dive_big(depth: u64, limit: Option<u64>) -> u64 {
    if limit.is_some_and(|l| depth >= l) {
        return depth;
    }
    let mut frame = [depth; 64];
    std::hint::black_box(&mut frame);
    dive_big(depth + 1, limit) + frame[63] - depth
}

fn deep(event: Value, _ctx: Context) -> Result<Value, Error> {
    let limit = event.get("depth").and_then(Value::as_u64);
    let depth = if event.get("frames").and_then(Value::as_str) == Some("big") {
        dive_big(0, limit)
    } else {
        dive(0, limit)
    };
    Ok(json!({ "depth": depth }))
}

funnel_function::handler!(deep);
