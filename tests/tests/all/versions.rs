//! Published versions: immutable snapshots of `$LATEST`, invoked by
//! qualifier, listed, deleted one at a time, each with its own environments.

use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::{guest, invoke_request, json_of, log_of, start_server};
use serde_json::json;

fn publish(name: &str) -> proto::PublishVersionRequest {
    proto::PublishVersionRequest {
        function_name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn publish_invoke_list_and_delete_versions() {
    let server = start_server().await;
    let client = &server.client;
    let hello = server.create("f", guests::HELLO).await;

    let v1 = client.publish_version(publish("f")).await.expect("publish");
    assert_eq!(v1.version, "1");
    assert_eq!(
        v1.function_arn,
        "arn:funnel:lambda:local:000000000000:function:f:1"
    );
    assert_eq!(v1.code_sha256, hello.code_sha256);
    // Nothing changed: the same version comes back.
    let again = client
        .publish_version(publish("f"))
        .await
        .expect("publish again");
    assert_eq!(again.version, "1");

    // $LATEST moves on; version 1 keeps the old code.
    client
        .update_function_code("f", guest(guests::ECHO))
        .await
        .expect("update");
    let v2 = client
        .publish_version(publish("f"))
        .await
        .expect("publish v2");
    assert_eq!(v2.version, "2");
    client
        .update_function_code("f", guest(guests::COUNTER))
        .await
        .expect("update");

    let invoke = |qualifier: &str| {
        let mut request = invoke_request("f", r#"{"name":"Ada"}"#);
        request.qualifier = qualifier.into();
        let client = client.clone();
        async move { client.invoke(request).await.expect("invoke") }
    };
    let out = invoke("1").await;
    assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));
    assert_eq!(out.executed_version, "1");
    assert!(log_of(&out).starts_with(&format!("START RequestId: {} Version: 1\n", out.request_id)));
    let out = invoke("2").await;
    assert_eq!(json_of(&out), json!({"name": "Ada"}));
    assert_eq!(out.executed_version, "2");
    let out = invoke("").await;
    assert_eq!(json_of(&out), json!({"calls": 1, "inits": 1}));
    assert_eq!(out.executed_version, "$LATEST");
    let out = invoke("$LATEST").await;
    assert_eq!(json_of(&out)["calls"], 2);
    // A qualified name works like a qualifier.
    let out = client
        .invoke(invoke_request("f:1", r#"{"name":"Bo"}"#))
        .await
        .expect("f:1");
    assert_eq!(json_of(&out), json!({"message": "Hello, Bo!"}));

    // Each version has its own environment (and sees its own version).
    server.create("env", guests::ENV).await;
    client
        .publish_version(publish("env"))
        .await
        .expect("publish env");
    let mut request = invoke_request("env", "{}");
    request.qualifier = "1".into();
    let env = json_of(&client.invoke(request).await.expect("env:1"));
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "1");
    assert!(
        env["AWS_LAMBDA_LOG_STREAM_NAME"]
            .as_str()
            .unwrap()
            .contains("/[1]")
    );

    let listed = client
        .list_versions_by_function("f", "", None)
        .await
        .expect("list");
    let versions: Vec<_> = listed.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(versions, ["$LATEST", "1", "2"]);
    let page = client
        .list_versions_by_function("f", "", Some(2))
        .await
        .expect("page");
    assert_eq!(page.versions.len(), 2);
    assert_eq!(page.next_marker, "1");
    let rest = client
        .list_versions_by_function("f", &page.next_marker, Some(2))
        .await
        .expect("rest");
    assert_eq!(rest.versions[0].version, "2");
    assert!(rest.next_marker.is_empty());

    let fetched = client.get_function("f:1").await.expect("get f:1");
    assert_eq!(fetched.configuration.unwrap().version, "1");

    // Deleting a version leaves the others; its number is never reused.
    client
        .delete_function("f:1")
        .await
        .expect("delete version 1");
    let err = invoke_err(&server, "f", "1").await;
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(json_of(&invoke("2").await), json!({"name": "Ada"}));
    client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "f".into(),
            timeout: Some(9),
            ..Default::default()
        })
        .await
        .expect("change $LATEST");
    let v3 = client
        .publish_version(publish("f"))
        .await
        .expect("publish v3");
    assert_eq!(v3.version, "3");
    assert_eq!(v3.timeout, 9);

    let err = client.delete_function("f:$LATEST").await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    // Deleting the function deletes its versions; v2's code (echo) is still
    // used by nobody, v3's by nobody either: nothing is left behind.
    client.delete_function("f").await.expect("delete all");
    let err = client.get_function("f:2").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    server.stop().await;
}

async fn invoke_err(
    server: &funnel_tests::TestServer,
    name: &str,
    qualifier: &str,
) -> funnel_client::Error {
    let mut request = invoke_request(name, "{}");
    request.qualifier = qualifier.into();
    server.client.invoke(request).await.unwrap_err()
}

#[tokio::test]
async fn publishing_checks_the_code_hash_it_was_given() {
    let server = start_server().await;
    let created = server.create("f", guests::ECHO).await;
    let mut request = publish("f");
    request.code_sha256 = created.code_sha256.clone();
    assert_eq!(
        server
            .client
            .publish_version(request)
            .await
            .expect("publish")
            .version,
        "1"
    );
    server
        .client
        .update_function_code("f", guest(guests::HELLO))
        .await
        .expect("update");
    let mut request = publish("f");
    request.code_sha256 = created.code_sha256;
    let err = server.client.publish_version(request).await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("PreconditionFailedException")
    );
    let err = server
        .client
        .publish_version(publish("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    let err = invoke_err(&server, "f", "7").await;
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    let err = invoke_err(&server, "f", "alias-not-yet").await;
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    server.stop().await;
}

#[tokio::test]
async fn versions_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = funnel_tests::start_server_with(funnel_tests::test_config(dir.path())).await;
    first.create("f", guests::HELLO).await;
    first
        .client
        .publish_version(publish("f"))
        .await
        .expect("publish");
    first
        .client
        .update_function_code("f", guest(guests::ECHO))
        .await
        .expect("update");
    first.stop().await;
    let second = funnel_tests::start_server_with(funnel_tests::test_config(dir.path())).await;
    let mut request = invoke_request("f", r#"{"name":"Again"}"#);
    request.qualifier = "1".into();
    let out = second.client.invoke(request).await.expect("invoke v1");
    assert_eq!(json_of(&out), json!({"message": "Hello, Again!"}));
    second.stop().await;
}
