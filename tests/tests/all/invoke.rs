//! Synchronous invocation of real components: responses, handled and
//! unhandled errors, log tails, payload validation, and a guest that never
//! returns.

use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::{invoke_request, json_of, log_of, start_server};
use serde_json::json;

fn error_type(err: &funnel_client::Error) -> &str {
    err.error_type.as_deref().unwrap_or("<none>")
}

#[tokio::test]
async fn echo_and_hello_answer() {
    let server = start_server().await;
    server.create("echo", guests::ECHO).await;
    let event = json!({"Records": [{"s3": {"object": {"key": "a.jpg"}}}], "n": 1.5});
    let out = server.invoke("echo", &event.to_string()).await;
    assert_eq!(out.status_code, 200);
    assert_eq!(out.function_error, "");
    assert_eq!(out.executed_version, "$LATEST");
    assert_eq!(json_of(&out), event);

    // No payload means {} as in Lambda.
    let out = server.invoke("echo", "").await;
    assert_eq!(json_of(&out), json!({}));

    server.create("hello", guests::HELLO).await;
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));

    // Environment variables reach the guest.
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "hello".into(),
            environment: Some(proto::Environment {
                variables: [("GREETING".to_string(), "Bonjour".to_string())].into(),
            }),
            ..Default::default()
        })
        .await
        .expect("update env");
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), json!({"message": "Bonjour, Ada!"}));
    server.stop().await;
}

#[tokio::test]
async fn log_tail_has_the_guests_line_between_start_and_report() {
    let server = start_server().await;
    server.create("hello", guests::HELLO).await;
    let out = server.invoke("hello", r#"{"name":"Grace"}"#).await;
    let log = log_of(&out);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert_eq!(
        lines[0],
        format!("START RequestId: {} Version: $LATEST", out.request_id)
    );
    assert!(
        lines[1].starts_with("hello: greeting Grace (128 MB, request "),
        "{log}"
    );
    assert!(
        lines[1].contains(&out.request_id),
        "the guest saw the request id: {log}"
    );
    assert_eq!(lines[2], format!("END RequestId: {}", out.request_id));
    assert!(
        lines[3].starts_with(&format!("REPORT RequestId: {}\tDuration: ", out.request_id)),
        "{log}"
    );
    assert!(lines[3].contains("Memory Size: 128 MB"), "{log}");

    // Without LogType=Tail there is no log in the response.
    let mut request = invoke_request("hello", r#"{"name":"Grace"}"#);
    request.log_type = String::new();
    let out = server.client.invoke(request).await.expect("invoke");
    assert_eq!(out.log_result, "");
    server.stop().await;
}

#[tokio::test]
async fn handled_and_unhandled_errors() {
    let server = start_server().await;
    server.create("fail", guests::FAIL).await;
    server.create("panic", guests::PANIC).await;

    let out = server.invoke("fail", "{}").await;
    assert_eq!(out.status_code, 200);
    assert_eq!(out.function_error, "Handled");
    assert_eq!(
        json_of(&out),
        json!({"errorType": "ValidationError", "errorMessage": "the order has no items"})
    );
    assert!(log_of(&out).contains("fail: refusing on purpose"));

    let out = server.invoke("panic", "{}").await;
    assert_eq!(out.function_error, "Unhandled");
    let body = json_of(&out);
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with(&format!("RequestId: {} Error:", out.request_id)),
        "{body}"
    );
    // The panic message is in the log, from the guest's stderr.
    assert!(
        log_of(&out).contains("something went badly wrong"),
        "{}",
        log_of(&out)
    );

    // A payload that is JSON but not the handler's type is the handler's
    // (handled) error, as the SDK reports it.
    server.create("hello", guests::HELLO).await;
    let out = server.invoke("hello", r#"{"nom":"Ada"}"#).await;
    assert_eq!(out.function_error, "Handled");
    assert_eq!(json_of(&out)["errorType"], "Runtime.UnmarshalError");

    // The server is unharmed: other functions still run.
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(out.function_error, "");
    server.stop().await;
}

#[tokio::test]
async fn a_guest_that_never_returns_is_stopped_at_its_timeout() {
    let server = start_server().await;
    server.create_with_timeout("spin", guests::SPIN, 1).await;
    server.create("echo", guests::ECHO).await;

    let spinning = server.invoke("spin", "{}");
    let echo = async {
        // While spin burns its second, other calls are served.
        server.invoke("echo", r#"{"ok":true}"#).await
    };
    let (spun, echoed) = tokio::join!(spinning, echo);
    assert_eq!(json_of(&echoed), json!({"ok": true}));
    assert_eq!(spun.function_error, "Unhandled");
    let body = json_of(&spun);
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds"),
        "{body}"
    );
    assert!(log_of(&spun).contains("Status: timeout"));
    server.stop().await;
}

#[tokio::test]
async fn bad_invocations_get_lambdas_error_names() {
    let server = start_server().await;
    server.create("echo", guests::ECHO).await;
    let client = &server.client;

    let err = client
        .invoke(invoke_request("nope", "{}"))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "ResourceNotFoundException");

    let err = client
        .invoke(invoke_request("echo", "{not json"))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "InvalidRequestContentException");

    // Just over Lambda's 6 MB synchronous limit.
    let big = format!("\"{}\"", "x".repeat(6 * 1024 * 1024));
    let err = client
        .invoke(invoke_request("echo", &big))
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), "RequestTooLargeException");
    // Just under it is fine, and comes back whole.
    let fits = format!("\"{}\"", "y".repeat(6 * 1024 * 1024 - 200));
    let out = client
        .invoke(invoke_request("echo", &fits))
        .await
        .expect("under the limit");
    assert_eq!(out.payload.len(), fits.len());

    let mut request = invoke_request("echo", "{}");
    request.invocation_type = "Sometimes".into();
    let err = client.invoke(request).await.unwrap_err();
    assert_eq!(error_type(&err), "InvalidParameterValueException");

    let mut request = invoke_request("echo", "{}");
    request.log_type = "Everything".into();
    let err = client.invoke(request).await.unwrap_err();
    assert_eq!(error_type(&err), "InvalidParameterValueException");

    let mut request = invoke_request("echo", "{}");
    request.qualifier = "7".into();
    let err = client.invoke(request).await.unwrap_err();
    assert_eq!(error_type(&err), "ResourceNotFoundException");

    let mut request = invoke_request("echo", "{}");
    request.client_context = "!!not base64!!".into();
    let err = client.invoke(request).await.unwrap_err();
    assert_eq!(error_type(&err), "InvalidRequestContentException");

    // DryRun checks the call and runs nothing.
    let mut request = invoke_request("echo", "{}");
    request.invocation_type = "DryRun".into();
    let out = client.invoke(request).await.expect("dry run");
    assert_eq!(out.status_code, 204);
    assert!(out.payload.is_empty());

    // The server still serves after all of that.
    let out = server.invoke("echo", "[true]").await;
    assert_eq!(json_of(&out), json!([true]));
    server.stop().await;
}
