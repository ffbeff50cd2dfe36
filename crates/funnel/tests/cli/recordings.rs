//! `funnel record …` and `funnel replay …` against `funnel up` with the
//! example stack on a virtual clock: a morning of hello (two invokes and
//! the hourly rule's fire) recorded, shown, exported and imported back to
//! the same bytes, replayed against a version that greets differently,
//! and the diff read; the HTTP door's calls recorded by trigger.

use std::process::Command;

use crate::common::{Up, funnel, ok};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

#[test]
fn a_morning_is_recorded_exported_imported_replayed_and_diffed() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start_with(
        data_dir.path(),
        &["--clock", "virtual=2027-01-01T08:00:00Z"],
    );
    let endpoint = up.endpoint();
    let http = up.http_addr();
    let run = |args: &[&str]| ok(&funnel(&endpoint, args));

    let started = json(&run(&["record", "start", "morning", "--function", "hello"]));
    assert_eq!(started["State"], "recording");
    assert_eq!(started["FunctionNames"], serde_json::json!(["hello"]));
    let web = json(&run(&["record", "start", "web", "--trigger", "http"]));
    assert_eq!(web["Triggers"], serde_json::json!(["http"]));

    run(&["invoke", "hello", "--payload", r#"{"name":"Ada"}"#]);
    run(&["invoke", "hello", "--payload", r#"{"name":"Bob"}"#]);
    let curled = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "60",
            &format!("http://{http}/hello/Cy"),
        ])
        .output()
        .expect("curl");
    assert!(String::from_utf8_lossy(&curled.stdout).contains("Cy"));
    // The hourly rule fires hello with {"name": "schedule"} at 09:00.
    run(&["clock", "advance", "1h"]);
    let stopped = json(&run(&["record", "stop", "morning"]));
    assert_eq!(
        (stopped["State"].as_str(), stopped["Events"].as_u64()),
        (Some("stopped"), Some(3))
    );
    run(&["record", "stop", "web"]);

    let shown = run(&["record", "show", "morning", "--limit", "2"]);
    assert!(shown.starts_with("morning: stopped, 3 events"), "{shown}");
    let rows: Vec<&str> = shown.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{shown}");
    assert!(
        rows[0].contains("invoke") && rows[0].contains("RequestResponse") && rows[0].contains("ok"),
        "{shown}"
    );
    assert!(!shown.contains("Ada"), "show prints no payloads: {shown}");
    let web = run(&["record", "show", "web"]);
    assert!(
        web.contains(" http ") && web.contains("http-greet"),
        "{web}"
    );
    let listed = json(&run(&["record", "list"]));
    assert_eq!(listed["Recordings"].as_array().map(Vec::len), Some(2));

    // Export → import → export: the same bytes.
    let exported = run(&["record", "export", "morning"]);
    assert_eq!(exported.lines().count(), 3);
    let doors: Vec<String> = exported
        .lines()
        .map(|l| json(l)["door"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(doors, ["invoke", "invoke", "schedule"]);
    let file = data_dir.path().join("morning.jsonl");
    std::fs::write(&file, &exported).expect("write");
    let imported = json(&run(&[
        "record",
        "import",
        file.to_str().unwrap(),
        "--name",
        "copy",
    ]));
    assert_eq!(
        (imported["Origin"].as_str(), imported["Events"].as_u64()),
        (Some("import"), Some(3))
    );
    assert_eq!(run(&["record", "export", "copy"]), exported);

    // Version 1 greets as GREETING says.
    run(&[
        "function",
        "update-config",
        "hello",
        "--env",
        "GREETING=Howdy",
    ]);
    let version = json(&run(&["function", "publish-version", "hello"]));
    let version = version["Version"].as_str().expect("a version").to_string();
    let replay = json(&run(&[
        "replay",
        "morning",
        "--to",
        &format!("hello:{version}"),
        "--timing",
        "virtual",
    ]));
    assert_eq!(replay["Name"], "morning-replay-1");
    assert_eq!(replay["State"], "stopped");

    let diff = run(&["replay", "diff", "morning", "morning-replay-1"]);
    for expected in [
        "seq 1 (invoke RequestResponse, 2027-01-01T08:00:00.000Z): changed",
        "  $.message: \"Hello, Ada!\" → \"Howdy, Ada!\"",
        "  $.message: \"Hello, Bob!\" → \"Howdy, Bob!\"",
        "  $.message: \"Hello, schedule!\" → \"Howdy, schedule!\"",
    ] {
        assert!(diff.contains(expected), "no {expected:?} in:\n{diff}");
    }
    let row = |label: &str| -> Vec<String> {
        let line = diff
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_default();
        line[label.len()..]
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("events"), ["3", "3"], "{diff}");
    assert_eq!(row("same"), ["0"], "{diff}");
    assert_eq!(row("changed"), ["3"], "{diff}");
    assert_eq!(row("new errors"), ["0"], "{diff}");
    assert_eq!(row("fixed errors"), ["0"], "{diff}");
    assert!(
        diff.contains("p50 duration") && diff.contains("p99 duration"),
        "{diff}"
    );
    // A recording compared with itself: nothing changed.
    let same = run(&["replay", "diff", "morning", "copy"]);
    assert_eq!(
        same.lines()
            .find(|l| l.starts_with("same"))
            .map(|l| l.split_whitespace().nth(1)),
        Some(Some("3")),
        "{same}"
    );

    // Two calls written by hand, one greeted and one refused, replayed
    // against $LATEST and against the new version: exactly the greeting
    // changes, and the diff says so and nothing else.
    let calls = data_dir.path().join("calls.jsonl");
    std::fs::write(
        &calls,
        concat!(
            r#"{"time":"2027-01-01T08:00:00Z","door":"invoke","payload":{"name":"Ada"}}"#,
            "\n",
            r#"{"time":"2027-01-01T08:00:01Z","door":"invoke","payload":{"nom":"x"}}"#,
            "\n",
        ),
    )
    .expect("write");
    run(&[
        "record",
        "import",
        calls.to_str().unwrap(),
        "--name",
        "calls",
    ]);
    run(&[
        "function",
        "update-config",
        "hello",
        "--env",
        "GREETING=Hello",
    ]);
    run(&["replay", "calls", "--to", "hello", "--as", "on-latest"]);
    run(&[
        "replay",
        "calls",
        "--to",
        &format!("hello:{version}"),
        "--as",
        "on-new",
    ]);
    let diff = run(&["replay", "diff", "on-latest", "on-new"]);
    let changes: Vec<&str> = diff.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(
        changes.len(),
        2,
        "{diff}\n{}\n{}",
        run(&["record", "export", "on-latest"]),
        run(&["record", "export", "on-new"])
    );
    // The time is on-latest's: the replay's, on the virtual clock.
    assert!(
        changes[0].starts_with("seq 1 (invoke RequestResponse, 2027-01-01T")
            && changes[0].contains("Z): changed, duration ×"),
        "{diff}"
    );
    assert_eq!(changes[1], "  $.message: \"Hello, Ada!\" → \"Howdy, Ada!\"");
    let summary: Vec<&str> = diff
        .lines()
        .skip_while(|l| !l.is_empty())
        .skip(1)
        .take(6)
        .collect();
    assert_eq!(
        summary[..6],
        [
            "              on-latest   on-new",
            "events        2           2",
            "same          1",
            "changed       1",
            "new errors    0",
            "fixed errors  0",
        ],
        "{diff}"
    );

    run(&["record", "delete", "copy"]);
    let gone = funnel(&endpoint, &["record", "export", "copy"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("ResourceNotFoundException"));
}
