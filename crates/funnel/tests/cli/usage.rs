//! The `funnel` binary's own surface: usage errors and unreachable servers
//! fail clearly and non-zero. (End-to-end CLI runs against a real server
//! are in the other modules here.)

use std::process::Command;

fn funnel(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_funnel"))
        .args(args)
        .env_remove("FUNNEL_ENDPOINT")
        .output()
        .expect("run funnel")
}

#[test]
fn version_and_help_work() {
    let out = funnel(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("funnel "));
    let out = funnel(&["function", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for verb in [
        "create",
        "get",
        "delete",
        "list",
        "update-code",
        "update-config",
    ] {
        assert!(help.contains(verb), "{verb} missing from:\n{help}");
    }
}

#[test]
fn usage_errors_exit_non_zero() {
    let out = funnel(&["function", "create", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--code"));
    let out = funnel(&[
        "function", "create", "x", "--code", "x.wasm", "--env", "NOEQUALS",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEY=VALUE"));
}

#[test]
fn an_unreachable_server_is_an_error_naming_the_endpoint() {
    let out = funnel(&["--endpoint", "http://127.0.0.1:1", "function", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot connect to funnel at http://127.0.0.1:1"),
        "{stderr}"
    );
}
