//! `{"mb": N}` allocates and touches N MB; without `mb` it allocates until
//! something stops it.
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn hog(event: Value, _ctx: Context) -> Result<Value, Error> {
    let mut held: Vec<Vec<u8>> = Vec::new();
    let limit = event.get("mb").and_then(Value::as_u64);
    loop {
        if limit.is_some_and(|mb| held.len() as u64 >= mb) {
            return Ok(json!({ "allocated_mb": held.len() }));
        }
        held.push(vec![1u8; 1024 * 1024]);
    }
}

funnel_function::handler!(hog);
