//! A hostile guest: creates empty files in /tmp until refused, and returns
//! `{"created": N, "error": "<the OS error text>"}` (or fails with the
//! quota's error first). Empty files cost no bytes, only inodes.
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn hog(_event: Value, _ctx: Context) -> Result<Value, Error> {
    let mut created = 0u64;
    loop {
        if let Err(err) = std::fs::File::create(format!("/tmp/i{created}")) {
            return Ok(json!({ "created": created, "error": err.to_string() }));
        }
        created += 1;
    }
}

funnel_function::handler!(hog);
