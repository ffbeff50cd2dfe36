//! Node.js handlers, built from source with the real packager
//! (componentize-js from npm, installed by funnel on first use), deployed
//! and invoked: the Lambda tutorial's `hello-js`, and a probe that checks
//! the context, errors and rejections, logs, /tmp through `node:fs` across
//! warm calls, the environment, the
//! remaining time, and the memory and time limits.
//!
//! When the packager cannot be installed (no Node.js, no route to npm)
//! the tests say so loudly and stop: they never pass without running.

use funnel_build::Language;
use funnel_tests::packaged::{assert_greets_ada, assert_limits_hold, built, deploy};
use funnel_tests::{json_of, log_of, start_server};

#[tokio::test]
async fn the_lambda_tutorial_handler_runs_unchanged() {
    let Some(code) = built("examples/hello-js", Language::Nodejs) else {
        return;
    };
    let server = start_server().await;
    deploy(&server, "hello-js", code, 128, 10).await;
    assert_greets_ada(&server, "hello-js").await;
    server.stop().await;
}

#[tokio::test]
async fn the_probe_sees_lambdas_context_and_limits() {
    let Some(code) = built("wasm-functions/js-probe", Language::Nodejs) else {
        return;
    };
    let server = start_server().await;
    deploy(&server, "probe", code, 256, 2).await;

    let out = server.invoke("probe", r#"{"op":"echo","n":1}"#).await;
    assert_eq!(out.function_error, "", "{}", log_of(&out));
    let echo = json_of(&out);
    assert_eq!(echo["event"], serde_json::json!({"op": "echo", "n": 1}));
    assert_eq!(echo["functionName"], "probe");
    assert_eq!(echo["functionVersion"], "$LATEST");
    assert_eq!(echo["memoryLimitInMB"], "256");
    assert_eq!(echo["started"], true, "funnelInit ran first");
    assert!(
        echo["invokedFunctionArn"]
            .as_str()
            .unwrap()
            .ends_with(":function:probe")
    );
    assert_eq!(echo["requestId"].as_str().unwrap().len(), 36);
    let again = json_of(&server.invoke("probe", r#"{"op":"echo"}"#).await);
    assert_eq!(again["calls"], 2, "warm: the module's state persists");

    // /tmp through Node's fs, persisting across warm calls.
    server.invoke("probe", r#"{"op":"tmp","note":"one"}"#).await;
    let out = server.invoke("probe", r#"{"op":"tmp","note":"two"}"#).await;
    assert_eq!(out.function_error, "", "{}", log_of(&out));
    assert_eq!(json_of(&out), serde_json::json!(["one", "two"]));
    let out = server.invoke("probe", r#"{"op":"missing"}"#).await;
    assert_eq!(out.function_error, "Handled");
    assert!(
        json_of(&out)["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ENOENT"),
        "{}",
        json_of(&out)
    );

    let env = json_of(&server.invoke("probe", r#"{"op":"env"}"#).await);
    assert_eq!(env["STAGE"], "test", "{env}");
    let remaining = json_of(&server.invoke("probe", r#"{"op":"remaining"}"#).await);
    let (before, after) = (
        remaining[0].as_i64().unwrap(),
        remaining[1].as_i64().unwrap(),
    );
    assert!(before <= 2000 && after < before - 40, "{remaining}");

    for (op, error_type, message) in [
        ("fail", "TypeError", "the order has no items"),
        ("reject", "RangeError", "out of stock"),
    ] {
        let out = server.invoke("probe", &format!(r#"{{"op":"{op}"}}"#)).await;
        assert_eq!(out.function_error, "Handled", "{op}");
        let error = json_of(&out);
        assert_eq!(error["errorType"], error_type, "{op}");
        assert_eq!(error["errorMessage"], message, "{op}");
    }

    assert_limits_hold(&server, "probe").await;
    server.stop().await;
}
