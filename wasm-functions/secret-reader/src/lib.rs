//! Reads the secret its event names (`{"name": "db-pass"}`, optionally
//! with `"stage"`), or the parameter (`{"parameter": "/app/db-url"}`), or
//! the parameters under a path (`{"path": "/app", "recursive": true}`),
//! and returns what a test can compare without the value ever leaving:
//! `{"sha256": hex, "length": n}` of what it read (for a path, one entry
//! per parameter, by name). It never prints or returns a value.
use funnel_function::{Context, Error, Value, secrets};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Read {
    name: Option<String>,
    stage: Option<String>,
    parameter: Option<String>,
    path: Option<String>,
    #[serde(default)]
    recursive: bool,
}

fn digest(bytes: &[u8]) -> Value {
    json!({"sha256": hex::encode(Sha256::digest(bytes)), "length": bytes.len()})
}

fn read(event: Read, _ctx: Context) -> Result<Value, Error> {
    if let Some(name) = event.name {
        let secret = match event.stage {
            Some(stage) => secrets::get_stage(&name, &stage)?,
            None => secrets::get(&name)?,
        };
        let mut out = digest(secret.as_bytes());
        out["version_id"] = json!(secret.version_id);
        return Ok(out);
    }
    if let Some(name) = event.parameter {
        let parameter = secrets::parameter(&name)?;
        let mut out = digest(parameter.value.as_bytes());
        out["type"] = json!(parameter.kind);
        return Ok(out);
    }
    if let Some(path) = event.path {
        let found = secrets::parameters_by_path(&path, event.recursive)?;
        let digests: serde_json::Map<String, Value> = found
            .iter()
            .map(|p| (p.name.clone(), digest(p.value.as_bytes())))
            .collect();
        return Ok(Value::Object(digests));
    }
    Err(Error::new(
        "InvalidEvent",
        "the event names no secret (\"name\"), parameter (\"parameter\") or path (\"path\")",
    ))
}

funnel_function::handler!(read);
