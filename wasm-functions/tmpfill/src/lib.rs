//! `{"mb": N}` writes N MB to /tmp (in 1 MB files); without `mb` it writes
//! until a write fails. Returns how much it wrote and the error it hit.
use std::io::Write as _;

use funnel_function::{Context, Error, Value};
use serde_json::json;

fn fill(event: Value, _ctx: Context) -> Result<Value, Error> {
    let limit = event.get("mb").and_then(Value::as_u64);
    let chunk = vec![7u8; 1024 * 1024];
    let mut written_mb = 0u64;
    loop {
        if limit.is_some_and(|mb| written_mb >= mb) {
            return Ok(json!({ "written_mb": written_mb, "error": null }));
        }
        let path = format!("/tmp/fill-{written_mb}.bin");
        let result = std::fs::File::create(&path).and_then(|mut f| f.write_all(&chunk).and_then(|()| f.flush()));
        if let Err(err) = result {
            return Ok(json!({ "written_mb": written_mb, "error": err.to_string() }));
        }
        written_mb += 1;
    }
}

funnel_function::handler!(fill);
