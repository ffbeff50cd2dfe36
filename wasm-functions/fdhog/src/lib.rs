//! A hostile guest: opens files in /tmp without closing them until
//! refused, and returns `{"opened": N, "error": "<the OS error text>"}`
//! (or fails with the handle cap's error first). `{"keep": N}` opens N and
//! returns, keeping them open in its environment.
use funnel_function::{Context, Error, Value};
use serde_json::json;

static mut KEPT: Vec<std::fs::File> = Vec::new();

fn hog(event: Value, _ctx: Context) -> Result<Value, Error> {
    let limit = event.get("keep").and_then(Value::as_u64);
    let mut opened = 0u64;
    loop {
        if limit.is_some_and(|n| opened >= n) {
            return Ok(json!({ "opened": opened, "error": null }));
        }
        match std::fs::File::create(format!("/tmp/f{opened}")) {
            // SAFETY: the guest runs one call at a time, on one thread.
            Ok(file) => unsafe { (*std::ptr::addr_of_mut!(KEPT)).push(file) },
            Err(err) => return Ok(json!({ "opened": opened, "error": err.to_string() })),
        }
        opened += 1;
    }
}

funnel_function::handler!(hog);
