//! `{"write": "text"}` appends a line to /tmp/note.txt; any call returns the
//! note's lines: /tmp survives between calls of one environment.
use std::io::Write as _;

use funnel_function::{Context, Error, Value};
use serde_json::json;

const NOTE: &str = "/tmp/note.txt";

fn note(event: Value, _ctx: Context) -> Result<Value, Error> {
    if let Some(text) = event.get("write").and_then(Value::as_str) {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(NOTE)?;
        writeln!(file, "{text}")?;
    }
    let lines: Vec<String> = match std::fs::read_to_string(NOTE) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(err.into()),
    };
    Ok(json!({ "lines": lines }))
}

funnel_function::handler!(note);
