//! Python handlers, built from source with the real packager
//! (componentize-py from PyPI, installed by funnel on first use), deployed
//! and invoked: the Lambda tutorial's `hello-py`, and a probe that checks
//! the context, errors, logs, the environment, /tmp across warm calls, the
//! remaining time, and the memory and time limits.
//!
//! When the packager cannot be installed (no Python, no route to PyPI)
//! the tests say so loudly and stop: they never pass without running.

use funnel_build::Language;
use funnel_client::proto;
use funnel_tests::packaged::{assert_greets_ada, assert_limits_hold, built, deploy};
use funnel_tests::{json_of, log_of, start_server};

#[tokio::test]
async fn the_lambda_tutorial_handler_runs_unchanged() {
    let Some(code) = built("examples/hello-py", Language::Python) else {
        return;
    };
    let server = start_server().await;
    deploy(&server, "hello-py", code, 128, 10).await;
    assert_greets_ada(&server, "hello-py").await;
    server.stop().await;
}

#[tokio::test]
async fn the_probe_sees_lambdas_context_and_limits() {
    let Some(code) = built("wasm-functions/python-probe", Language::Python) else {
        return;
    };
    let server = start_server().await;
    deploy(&server, "probe", code, 256, 2).await;

    let out = server.invoke("probe", r#"{"op":"echo","n":1}"#).await;
    assert_eq!(out.function_error, "", "{}", log_of(&out));
    let echo = json_of(&out);
    assert_eq!(echo["event"], serde_json::json!({"op": "echo", "n": 1}));
    assert_eq!(echo["function_name"], "probe");
    assert_eq!(echo["function_version"], "$LATEST");
    assert_eq!(echo["memory_limit_in_mb"], "256");
    assert_eq!(echo["started"], true, "funnel_init ran first");
    assert!(
        echo["invoked_function_arn"]
            .as_str()
            .unwrap()
            .ends_with(":function:probe")
    );
    assert_eq!(echo["request_id"].as_str().unwrap().len(), 36);
    // Warm: the module's globals and /tmp persist.
    let again = json_of(&server.invoke("probe", r#"{"op":"echo"}"#).await);
    assert_eq!(again["calls"], 2);
    server.invoke("probe", r#"{"op":"tmp","note":"one"}"#).await;
    let notes = json_of(&server.invoke("probe", r#"{"op":"tmp","note":"two"}"#).await);
    assert_eq!(notes, serde_json::json!(["one", "two"]));

    let env = json_of(&server.invoke("probe", r#"{"op":"env"}"#).await);
    assert_eq!(env["STAGE"], "test");
    let remaining = json_of(&server.invoke("probe", r#"{"op":"remaining"}"#).await);
    let (before, after) = (
        remaining[0].as_i64().unwrap(),
        remaining[1].as_i64().unwrap(),
    );
    assert!(before <= 2000 && after < before - 40, "{remaining}");

    // An exception is a handled error with Lambda's shape.
    let out = server.invoke("probe", r#"{"op":"fail"}"#).await;
    assert_eq!(out.function_error, "Handled");
    let error = json_of(&out);
    assert_eq!(error["errorType"], "ValueError");
    assert_eq!(error["errorMessage"], "the order has no items");
    assert!(log_of(&out).contains("python-probe: fail"));

    assert_limits_hold(&server, "probe").await;
    server.stop().await;
}

#[tokio::test]
async fn the_s3_tutorial_port_reads_the_object_a_bucket_event_names() {
    let Some(code) = built("examples/object-type-py", Language::Python) else {
        return;
    };
    let server = start_server().await;
    server
        .client
        .create_bucket("photos", None)
        .await
        .expect("bucket");
    let mut request = funnel_tests::create_request("object-type-py", code);
    request.bucket_access = Some(proto::BucketAccess {
        buckets: [("photos".to_string(), "read".to_string())].into(),
    });
    request.timeout = Some(10);
    server
        .client
        .create_function(request)
        .await
        .expect("create");
    server
        .allow(
            "object-type-py",
            "s3",
            "s3.amazonaws.com",
            "arn:funnel:s3:::photos",
        )
        .await;
    server
        .client
        .put_bucket_notification_configuration(
            "photos",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "types".into(),
                    lambda_function_arn:
                        "arn:funnel:lambda:local:000000000000:function:object-type-py".into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await
        .expect("notify");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    server
        .client
        .put_object("photos", "holiday pics/beach.png", png.to_vec())
        .await
        .expect("put");
    let line = funnel_tests::eventually("CONTENT TYPE in the log", || async {
        server
            .log_messages("object-type-py")
            .await
            .into_iter()
            .find(|e| e.message.starts_with("CONTENT TYPE:"))
    })
    .await;
    assert_eq!(line.message.trim_end(), "CONTENT TYPE: image/png");
    server.stop().await;
}
