//! Reads its layers at /opt.
//!
//! - `{}`: returns the content of `/opt/config.json` (it is JSON).
//! - `{"path": "/opt/lib/x.txt"}`: returns that file's text as a string.
//! - `{"write": "/opt/x"}`: tries to create a file there and returns
//!   whether it could (layers are read-only).
use funnel_function::{Context, Error, Value};

fn read(event: Value, _ctx: Context) -> Result<Value, Error> {
    if let Some(target) = event.get("write").and_then(Value::as_str) {
        let written = std::fs::write(target, b"x");
        return Ok(serde_json::json!({
            "written": written.is_ok(),
            "error": written.err().map(|e| e.to_string()),
        }));
    }
    let path = event
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or("/opt/config.json");
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new("FileNotFound", format!("{path}: {e}")))?;
    if event.get("path").is_some() {
        return Ok(Value::String(text));
    }
    serde_json::from_str(&text).map_err(|e| Error::new("InvalidJson", format!("{path}: {e}")))
}

funnel_function::handler!(read);
