//! Counts its calls in a global: warm calls of one environment see the count grow.
use std::sync::atomic::{AtomicU64, Ordering};

use funnel_function::{Context, Error, Value};
use serde_json::json;

static CALLS: AtomicU64 = AtomicU64::new(0);

fn count(_event: Value, _ctx: Context) -> Result<Value, Error> {
    let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(json!({ "calls": calls }))
}

funnel_function::handler!(count);
