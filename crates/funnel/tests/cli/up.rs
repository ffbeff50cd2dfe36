//! The real `funnel` binary as a user drives it: `funnel up` with the
//! example stack deploys `hello`, and the CLI invokes it. (It lives with the
//! binary so cargo always builds the binary fresh for it; the in-process
//! end-to-end tests are in the top-level `tests/`.)

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{Up, funnel, funnel_bin, repo_root};

#[test]
fn funnel_up_deploys_the_example_stack_and_the_cli_invokes_it() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    assert!(
        up.seen
            .iter()
            .any(|l| l.contains("deployed") && l.contains("hello")),
        "{:?}",
        up.seen
    );

    let out = funnel(
        &endpoint,
        &["invoke", "hello", "--payload", r#"{"name":"Ada"}"#],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let body: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON on stdout");
    assert_eq!(body, serde_json::json!({"message": "Hello, Ada!"}));

    let out = funnel(
        &endpoint,
        &[
            "invoke",
            "hello",
            "--payload",
            r#"{"name":"Ada"}"#,
            "--log-type",
            "tail",
        ],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hello: greeting Ada"), "{stderr}");
    assert!(stderr.contains("REPORT RequestId:"), "{stderr}");

    // The logs of those calls.
    let out = funnel(&endpoint, &["logs", "tail", "hello"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = String::from_utf8_lossy(&out.stdout);
    assert!(logs.contains("hello: greeting Ada"), "{logs}");
    assert!(logs.contains("/[$LATEST]"), "stream names: {logs}");
    assert_eq!(
        logs.lines()
            .filter(|l| l.contains(" REPORT RequestId: "))
            .count(),
        2,
        "{logs}"
    );
    let out = funnel(
        &endpoint,
        &[
            "logs", "tail", "hello", "--since", "1h", "--filter", "REPORT",
        ],
    );
    let reports = String::from_utf8_lossy(&out.stdout);
    assert_eq!(reports.lines().count(), 2, "{reports}");
    assert!(reports.lines().all(|l| l.contains("REPORT")));
    let out = funnel(
        &endpoint,
        &["logs", "tail", "hello", "--since", "ten minutes"],
    );
    assert!(!out.status.success());
    // --follow prints new events as they come.
    let mut follow = Command::new(funnel_bin())
        .args(["logs", "tail", "hello", "--follow", "--filter", "Follower"])
        .env("FUNNEL_ENDPOINT", &endpoint)
        .env(
            "FUNNEL_SHARED_CREDENTIALS_FILE",
            data_dir.path().join("credentials"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("logs tail --follow");
    let followed = follow.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(followed).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The tail may not be subscribed yet: invoke until a line arrives.
    let line = (0..50)
        .find_map(|_| {
            funnel(
                &endpoint,
                &["invoke", "hello", "--payload", r#"{"name":"Follower"}"#],
            );
            rx.recv_timeout(Duration::from_millis(200)).ok()
        })
        .expect("--follow printed the new event");
    assert!(line.contains("hello: greeting Follower"), "{line}");
    let _ = follow.kill();
    let _ = follow.wait();

    // The payload can come from a file.
    let event = data_dir.path().join("event.json");
    std::fs::write(&event, r#"{"name":"File"}"#).expect("write event");
    let out = funnel(
        &endpoint,
        &[
            "invoke",
            "hello",
            "--payload",
            &format!("@{}", event.display()),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hello, File!"));

    // Errors: the AWS name on stderr, non-zero exit.
    let out = funnel(&endpoint, &["invoke", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ResourceNotFoundException"));
    // A function error is an error too.
    let out = funnel(&endpoint, &["invoke", "hello", "--payload", r#"{"nom":1}"#]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Runtime.UnmarshalError"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Handled"));

    let out = funnel(&endpoint, &["function", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"FunctionName\":\"hello\""));

    // Deploying the same stack again changes nothing; a changed one updates.
    let stack = repo_root().join("funnel.toml");
    let out = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("hello: unchanged"));
    let changed = data_dir.path().join("stack.toml");
    let wasm = repo_root().join("target/wasm-functions/wasm32-wasip2/release/hello.wasm");
    std::fs::write(
        &changed,
        format!(
            "[[function]]\nname = \"hello\"\ncode = {:?}\ntimeout = 7\n",
            wasm.display().to_string()
        ),
    )
    .expect("write stack");
    let out = funnel(&endpoint, &["deploy", changed.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("hello: updated configuration"));
    let out = funnel(&endpoint, &["function", "get", "hello"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"Timeout\":7"));

    // Versions from the CLI.
    let out = funnel(
        &endpoint,
        &[
            "function",
            "publish-version",
            "hello",
            "--description",
            "first",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"Version\":\"1\""));
    let out = funnel(&endpoint, &["function", "list-versions", "hello"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("\"$LATEST\"") && listed.contains("\"1\""),
        "{listed}"
    );
    let out = funnel(
        &endpoint,
        &[
            "invoke",
            "hello",
            "--qualifier",
            "1",
            "--payload",
            r#"{"name":"V1"}"#,
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hello, V1!"));
    let out = funnel(&endpoint, &["function", "get", "hello", "--qualifier", "1"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("function:hello:1"));
    // An alias for it, then gone again.
    let out = funnel(
        &endpoint,
        &[
            "alias",
            "create",
            "hello",
            "live",
            "--function-version",
            "1",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("function:hello:live"));
    let out = funnel(
        &endpoint,
        &[
            "invoke",
            "hello",
            "--qualifier",
            "live",
            "--payload",
            r#"{"name":"L"}"#,
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hello, L!"));
    let out = funnel(
        &endpoint,
        &["function", "delete", "hello", "--qualifier", "1"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ResourceConflictException"));
    let out = funnel(&endpoint, &["alias", "list", "hello"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"Name\":\"live\""));
    let out = funnel(&endpoint, &["alias", "delete", "hello", "live"]);
    assert!(out.status.success());
    let out = funnel(
        &endpoint,
        &["function", "delete", "hello", "--qualifier", "1"],
    );
    assert!(out.status.success());
    let out = funnel(&endpoint, &["invoke", "hello", "--qualifier", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ResourceNotFoundException"));

    // SIGTERM stops it cleanly.
    let status = Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    for _ in 0..200 {
        if let Some(status) = up.child.try_wait().expect("wait") {
            assert!(status.success(), "funnel up exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("funnel up did not stop within 10 s of SIGTERM");
}

/// Layers from the CLI and from a stack file: published once, used by a
/// function, a version published and aliased; deploying again changes nothing.
#[test]
fn layers_versions_and_aliases_from_the_cli_and_a_stack() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let run = |args: &[&str]| {
        let out = funnel(&endpoint, args);
        assert!(
            out.status.success(),
            "funnel {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let json = |out: &Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    };

    // A layer from a folder, through the CLI.
    let layer_dir = data_dir.path().join("settings");
    std::fs::create_dir_all(layer_dir.join("nested")).expect("layer folder");
    std::fs::write(layer_dir.join("config.json"), r#"{"from":"cli"}"#).expect("write");
    std::fs::write(layer_dir.join("nested/readme.txt"), "hi").expect("write");
    let published = json(&run(&[
        "layer",
        "publish",
        "settings",
        "--zip-file",
        layer_dir.to_str().unwrap(),
        "--description",
        "from a folder",
    ]));
    let arn = published["LayerVersionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    assert!(arn.ends_with(":layer:settings:1"), "{arn}");
    assert_eq!(published["Content"]["UnpackedSize"], 16);
    let listed = json(&run(&["layer", "list"]));
    assert_eq!(listed["Layers"][0]["LayerName"], "settings");
    let got = json(&run(&["layer", "get", &arn]));
    assert_eq!(got["Description"], "from a folder");

    let reader = repo_root().join("target/wasm-functions/wasm32-wasip2/release");
    // The stack builds the guest into the shared target folder first.
    let stack = data_dir.path().join("stack.toml");
    std::fs::write(
        &stack,
        format!(
            r#"workspace = {workspace:?}

[[layer]]
name = "stack-config"
path = "stack-layer"

[[function]]
name = "reader"
crate = "layer-reader"
layers = [{arn:?}, "stack-config"]
publish = true

[[function.alias]]
name = "live"
"#,
            workspace = repo_root().join("wasm-functions").display().to_string(),
        ),
    )
    .expect("write stack");
    std::fs::create_dir_all(data_dir.path().join("stack-layer")).expect("folder");
    std::fs::write(
        data_dir.path().join("stack-layer/config.json"),
        r#"{"from":"stack"}"#,
    )
    .expect("write");
    let out = run(&["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    for line in [
        "layer stack-config: published version 1",
        "reader: created",
        "reader version: published version 1",
        "alias reader:live: created (version 1)",
    ] {
        assert!(said.contains(line), "{line:?} in {said}");
    }
    assert!(
        reader.join("layer_reader.wasm").is_file(),
        "built into the shared target"
    );
    // The stack's layer comes last, so its config.json wins.
    let out = run(&["invoke", "reader", "--qualifier", "live"]);
    assert_eq!(json(&out), serde_json::json!({"from": "stack"}));

    // Nothing changed: nothing new is published.
    let out = run(&["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    for line in [
        "layer stack-config: unchanged (version 1)",
        "reader: unchanged",
        "reader version: unchanged (version 1)",
        "alias reader:live: unchanged (version 1)",
    ] {
        assert!(said.contains(line), "{line:?} in {said}");
    }

    // A changed layer file: a new layer version, function version and alias.
    std::fs::write(
        data_dir.path().join("stack-layer/config.json"),
        r#"{"from":"stack, again"}"#,
    )
    .expect("write");
    let out = run(&["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    for line in [
        "layer stack-config: published version 2",
        "reader: updated configuration",
        "reader version: published version 2",
        "alias reader:live: now version 2",
    ] {
        assert!(said.contains(line), "{line:?} in {said}");
    }
    let out = run(&["invoke", "reader", "--qualifier", "live"]);
    assert_eq!(json(&out), serde_json::json!({"from": "stack, again"}));
    let out = run(&["invoke", "reader", "--qualifier", "1"]);
    assert_eq!(json(&out), serde_json::json!({"from": "stack"}));

    // --layers on update-config, and the RevisionId guard from the CLI.
    let current = json(&run(&["function", "get", "reader"]));
    let revision = current["Configuration"]["RevisionId"]
        .as_str()
        .unwrap()
        .to_string();
    let updated = json(&run(&[
        "function",
        "update-config",
        "reader",
        "--layers",
        &arn,
        "--revision-id",
        &revision,
    ]));
    assert_eq!(updated["Layers"][0]["Arn"], arn.as_str());
    let out = run(&["invoke", "reader"]);
    assert_eq!(json(&out), serde_json::json!({"from": "cli"}));
    let stale = funnel(
        &endpoint,
        &[
            "function",
            "update-config",
            "reader",
            "--timeout",
            "9",
            "--revision-id",
            &revision,
        ],
    );
    assert!(!stale.status.success());
    assert!(String::from_utf8_lossy(&stale.stderr).contains("PreconditionFailedException"));

    let versions = json(&run(&["layer", "versions", "stack-config"]));
    assert_eq!(versions["LayerVersions"][0]["Version"], 2);
    run(&["layer", "delete", "stack-config", "1"]);
    let versions = json(&run(&["layer", "versions", "stack-config"]));
    assert_eq!(versions["LayerVersions"].as_array().unwrap().len(), 1);
    // Version 1 of the function still has its (deleted) layer.
    let out = run(&["invoke", "reader", "--qualifier", "1"]);
    assert_eq!(json(&out), serde_json::json!({"from": "stack"}));
}

/// Async invocation and its settings from the CLI.
#[test]
fn async_verbs_from_the_cli() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let run = |args: &[&str]| {
        let out = funnel(&endpoint, args);
        assert!(
            out.status.success(),
            "funnel {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON on stdout")
    };
    let hello = "arn:funnel:lambda:local:000000000000:function:hello";
    let config = run(&[
        "function",
        "put-event-invoke-config",
        "hello",
        "--maximum-retry-attempts",
        "0",
        "--maximum-event-age-in-seconds",
        "60",
        "--destination-config",
        &format!(r#"{{"OnFailure":{{"Destination":"{hello}"}}}}"#),
    ]);
    assert_eq!(config["MaximumRetryAttempts"], 0);
    assert_eq!(
        config["DestinationConfig"]["OnFailure"]["Destination"],
        hello
    );
    let config = run(&[
        "function",
        "update-event-invoke-config",
        "hello",
        "--maximum-retry-attempts",
        "1",
    ]);
    assert_eq!(
        (
            &config["MaximumRetryAttempts"],
            &config["MaximumEventAgeInSeconds"]
        ),
        (&serde_json::json!(1), &serde_json::json!(60))
    );
    let got = run(&["function", "get-event-invoke-config", "hello"]);
    assert_eq!(got, config);

    let queued = run(&[
        "invoke",
        "hello",
        "--invocation-type",
        "Event",
        "--payload",
        r#"{"name":"Later"}"#,
    ]);
    assert_eq!(queued["StatusCode"], 202);
    let request_id = queued["RequestId"]
        .as_str()
        .expect("request id")
        .to_string();
    // It ran: its START line is in the log.
    let start = std::time::Instant::now();
    loop {
        let out = funnel(&endpoint, &["logs", "tail", "hello", "--filter", "START"]);
        if String::from_utf8_lossy(&out.stdout).contains(&request_id) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "event not delivered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = funnel(&endpoint, &["metrics", "hello"]);
    let text = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        text.contains("funnel_async_events_received_total{function=\"hello\"} 1"),
        "{text}"
    );
    let dry = run(&["invoke", "hello", "--invocation-type", "DryRun"]);
    assert_eq!(dry["StatusCode"], 204);
    let letters = run(&["dlq", "list"]);
    assert_eq!(letters["DeadLetters"], serde_json::json!([]));
    assert_eq!(run(&["dlq", "purge", "hello"])["Purged"], 0);
    assert_eq!(run(&["dlq", "redrive", "hello"])["Redriven"], 0);
    let out = funnel(
        &endpoint,
        &["function", "delete-event-invoke-config", "hello"],
    );
    assert!(out.status.success());
    let out = funnel(&endpoint, &["function", "get-event-invoke-config", "hello"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ResourceNotFoundException"));
}
