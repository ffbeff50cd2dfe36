//! Tries to read and write outside /tmp in every way it can; returns what
//! happened to each attempt ("ok" means it escaped). With
//! `{"network": true}` it tries to open a TCP connection instead (funnel
//! links no `wasi:sockets`: the attempt traps).
use funnel_function::{Context, Error, Value};
use serde_json::{Map, json};

/// `symlink(target, link)` through wasi-libc (std's is unstable on WASI).
fn symlink(target: &str, link: &str) -> std::io::Result<()> {
    let target = std::ffi::CString::new(target).map_err(std::io::Error::other)?;
    let link = std::ffi::CString::new(link).map_err(std::io::Error::other)?;
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    if unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn attempt(results: &mut Map<String, Value>, name: &str, result: std::io::Result<String>) {
    let value = match result {
        Ok(detail) => json!(format!("ok: {detail}")),
        Err(err) => json!(format!("denied: {err}")),
    };
    results.insert(name.to_string(), value);
}

/// `{"plant": BUCKET}`: plants links out of a bucket granted read-write
/// (`escape -> ../../..`, `passwd -> /etc/passwd`) and reads through them.
fn plant(bucket: &str) -> Value {
    let mut r = Map::new();
    let root = format!("/buckets/{bucket}");
    attempt(
        &mut r,
        "symlink escape -> ../../..",
        symlink("../../..", &format!("{root}/escape")).map(|()| "planted".into()),
    );
    attempt(
        &mut r,
        "symlink passwd -> /etc/passwd",
        symlink("/etc/passwd", &format!("{root}/passwd")).map(|()| "planted".into()),
    );
    attempt(
        &mut r,
        "read escape/etc/passwd",
        std::fs::read_to_string(format!("{root}/escape/etc/passwd")).map(|s| s.len().to_string()),
    );
    attempt(
        &mut r,
        "read passwd",
        std::fs::read_to_string(format!("{root}/passwd")).map(|s| s.len().to_string()),
    );
    Value::Object(r)
}

fn escape(event: Value, _ctx: Context) -> Result<Value, Error> {
    if let Some(bucket) = event.get("plant").and_then(Value::as_str) {
        return Ok(plant(bucket));
    }
    if event.get("network") == Some(&Value::Bool(true)) {
        let mut r = Map::new();
        attempt(&mut r, "connect 127.0.0.1:22", std::net::TcpStream::connect("127.0.0.1:22").map(|_| "connected".into()));
        return Ok(Value::Object(r));
    }
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
        symlink("/etc", "/tmp/link")
            .and_then(|()| std::fs::read_to_string("/tmp/link/passwd"))
            .map(|s| s.len().to_string()),
    );
    attempt(
        &mut r,
        "symlink /tmp/up -> .. then read",
        symlink("..", "/tmp/up")
            .and_then(|()| std::fs::read_dir("/tmp/up"))
            .map(|d| d.count().to_string()),
    );
    attempt(
        &mut r,
        "symlink /tmp/abs -> /etc/passwd then read",
        symlink("/etc/passwd", "/tmp/abs")
            .and_then(|()| std::fs::read_to_string("/tmp/abs"))
            .map(|s| s.len().to_string()),
    );
    attempt(&mut r, "write /tmp/inside.txt (allowed)", std::fs::write("/tmp/inside.txt", b"fine").map(|()| "written".into()));
    Ok(Value::Object(r))
}

funnel_function::handler!(escape);
