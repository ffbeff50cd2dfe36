//! Tries to read and write outside /tmp in every way it can; returns what
//! happened to each attempt ("ok" means it escaped).
use funnel_function::{Context, Error, Value};
use serde_json::{Map, json};

fn attempt(results: &mut Map<String, Value>, name: &str, result: std::io::Result<String>) {
    let value = match result {
        Ok(detail) => json!(format!("ok: {detail}")),
        Err(err) => json!(format!("denied: {err}")),
    };
    results.insert(name.to_string(), value);
}

fn escape(_event: Value, _ctx: Context) -> Result<Value, Error> {
    let mut r = Map::new();
    attempt(&mut r, "read /etc/passwd", std::fs::read_to_string("/etc/passwd").map(|s| s.len().to_string()));
    attempt(&mut r, "read /tmp/../etc/passwd", std::fs::read_to_string("/tmp/../etc/passwd").map(|s| s.len().to_string()));
    attempt(&mut r, "read /tmp/../../../../etc/passwd", std::fs::read_to_string("/tmp/../../../../etc/passwd").map(|s| s.len().to_string()));
    attempt(&mut r, "list /", std::fs::read_dir("/").map(|d| d.count().to_string()));
    attempt(&mut r, "list /tmp/..", std::fs::read_dir("/tmp/..").map(|d| d.count().to_string()));
    attempt(&mut r, "write /escape.txt", std::fs::write("/escape.txt", b"x").map(|()| "written".into()));
    attempt(&mut r, "write /tmp/../escape.txt", std::fs::write("/tmp/../escape.txt", b"x").map(|()| "written".into()));
    attempt(&mut r, "write relative", std::fs::write("escape.txt", b"x").map(|()| "written".into()));
    attempt(
        &mut r,
        "symlink /tmp/link -> /etc then read",
        std::os::wasi::fs::symlink_path("/etc", "/tmp/link")
            .and_then(|()| std::fs::read_to_string("/tmp/link/passwd"))
            .map(|s| s.len().to_string()),
    );
    attempt(
        &mut r,
        "symlink /tmp/up -> .. then read",
        std::os::wasi::fs::symlink_path("..", "/tmp/up")
            .and_then(|()| std::fs::read_dir("/tmp/up"))
            .map(|d| d.count().to_string()),
    );
    attempt(
        &mut r,
        "symlink /tmp/abs -> /etc/passwd then read",
        std::os::wasi::fs::symlink_path("/etc/passwd", "/tmp/abs")
            .and_then(|()| std::fs::read_to_string("/tmp/abs"))
            .map(|s| s.len().to_string()),
    );
    attempt(&mut r, "connect 127.0.0.1:22", std::net::TcpStream::connect("127.0.0.1:22").map(|_| "connected".into()));
    attempt(&mut r, "write /tmp/inside.txt (allowed)", std::fs::write("/tmp/inside.txt", b"fine").map(|()| "written".into()));
    Ok(Value::Object(r))
}

funnel_function::handler!(escape);
