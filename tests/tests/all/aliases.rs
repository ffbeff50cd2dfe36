//! Aliases: invoking through an alias runs its version, weighted routing
//! splits invocations between two versions, and versions an alias uses
//! cannot be deleted.

use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::{guest, invoke_request, json_of, start_server};
use serde_json::json;

fn publish(name: &str) -> proto::PublishVersionRequest {
    proto::PublishVersionRequest {
        function_name: name.into(),
        ..Default::default()
    }
}

fn alias(name: &str, version: &str, routing: Option<(&str, f64)>) -> proto::CreateAliasRequest {
    proto::CreateAliasRequest {
        function_name: "f".into(),
        name: name.into(),
        function_version: version.into(),
        description: String::new(),
        routing_config: routing.map(|(v, w)| proto::AliasRoutingConfiguration {
            additional_version_weights: [(v.to_string(), w)].into(),
        }),
    }
}

/// Version 1 answers {"v":1}-ish (echo), version 2 greets (hello).
async fn two_versions(server: &funnel_tests::TestServer) {
    server.create("f", guests::ECHO).await;
    server
        .client
        .publish_version(publish("f"))
        .await
        .expect("v1");
    server
        .client
        .update_function_code("f", guest(guests::HELLO))
        .await
        .expect("update");
    server
        .client
        .publish_version(publish("f"))
        .await
        .expect("v2");
}

async fn invoke_alias(server: &funnel_tests::TestServer, qualifier: &str) -> proto::InvokeResponse {
    let mut request = invoke_request("f", r#"{"name":"Ada"}"#);
    request.qualifier = qualifier.into();
    server.client.invoke(request).await.expect("invoke")
}

#[tokio::test]
async fn aliases_name_versions_and_roll_back_in_one_call() {
    let server = start_server().await;
    two_versions(&server).await;
    let live = server
        .client
        .create_alias(alias("live", "1", None))
        .await
        .expect("create");
    assert_eq!(
        live.alias_arn,
        "arn:funnel:lambda:local:000000000000:function:f:live"
    );
    let out = invoke_alias(&server, "live").await;
    assert_eq!(json_of(&out), json!({"name": "Ada"}));
    assert_eq!(out.executed_version, "1");

    // Point it at version 2, then roll back.
    let updated = server
        .client
        .update_alias(proto::UpdateAliasRequest {
            function_name: "f".into(),
            name: "live".into(),
            function_version: Some("2".into()),
            ..Default::default()
        })
        .await
        .expect("update");
    assert_eq!(updated.function_version, "2");
    let out = invoke_alias(&server, "live").await;
    assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));
    assert_eq!(out.executed_version, "2");
    // The alias's ARN works as the function name too.
    let out = server
        .client
        .invoke(invoke_request("f:live", r#"{"name":"Bo"}"#))
        .await
        .expect("f:live");
    assert_eq!(out.executed_version, "2");

    let listed = server
        .client
        .list_aliases(proto::ListAliasesRequest {
            function_name: "f".into(),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.aliases.len(), 1);
    assert_eq!(
        server
            .client
            .get_alias("f", "live")
            .await
            .expect("get")
            .function_version,
        "2"
    );

    // A version an alias uses cannot be deleted; once unused, it can.
    let err = server.client.delete_function("f:2").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceConflictException"));
    assert!(err.message.contains("live"), "{err}");
    server
        .client
        .delete_function("f:1")
        .await
        .expect("v1 is unused");
    server
        .client
        .delete_alias("f", "live")
        .await
        .expect("delete alias");
    let err = invoke_alias_err(&server, "live").await;
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    server
        .client
        .delete_function("f:2")
        .await
        .expect("v2 is unused now");
    server.stop().await;
}

async fn invoke_alias_err(
    server: &funnel_tests::TestServer,
    qualifier: &str,
) -> funnel_client::Error {
    let mut request = invoke_request("f", "{}");
    request.qualifier = qualifier.into();
    server.client.invoke(request).await.unwrap_err()
}

#[tokio::test]
async fn weighted_routing_splits_invocations() {
    let server = start_server().await;
    two_versions(&server).await;
    server
        .client
        .create_alias(alias("canary", "1", Some(("2", 0.3))))
        .await
        .expect("create");
    let calls = 1000;
    let mut to_v2 = 0;
    for _ in 0..calls {
        let out = invoke_alias(&server, "canary").await;
        match out.executed_version.as_str() {
            "1" => assert_eq!(json_of(&out), json!({"name": "Ada"})),
            "2" => {
                assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));
                to_v2 += 1;
            }
            other => panic!("ran version {other}"),
        }
    }
    // Binomial(1000, 0.3): mean 300, sd ~14.5; six sd either way fails only
    // about once in a billion runs.
    assert!(
        (213..=387).contains(&to_v2),
        "{to_v2} of {calls} went to version 2"
    );

    // Weight 0 and 1 are exact.
    for (weight, expected) in [(0.0, "1"), (1.0, "2")] {
        server
            .client
            .update_alias(proto::UpdateAliasRequest {
                function_name: "f".into(),
                name: "canary".into(),
                routing_config: Some(proto::AliasRoutingConfiguration {
                    additional_version_weights: [("2".to_string(), weight)].into(),
                }),
                ..Default::default()
            })
            .await
            .expect("update weight");
        for _ in 0..50 {
            assert_eq!(
                invoke_alias(&server, "canary").await.executed_version,
                expected
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn bad_aliases_are_refused() {
    let server = start_server().await;
    two_versions(&server).await;
    let cases = [
        (alias("123", "1", None), "InvalidParameterValueException"),
        (
            alias("has space", "1", None),
            "InvalidParameterValueException",
        ),
        (alias("a", "9", None), "ResourceNotFoundException"),
        (
            alias("a", "1", Some(("2", 1.5))),
            "InvalidParameterValueException",
        ),
        (
            alias("a", "1", Some(("1", 0.5))),
            "InvalidParameterValueException",
        ),
        (
            alias("a", "$LATEST", Some(("2", 0.5))),
            "InvalidParameterValueException",
        ),
        (
            alias("a", "1", Some(("9", 0.5))),
            "ResourceNotFoundException",
        ),
    ];
    for (request, expected) in cases {
        let err = server
            .client
            .create_alias(request.clone())
            .await
            .unwrap_err();
        assert_eq!(
            err.error_type.as_deref(),
            Some(expected),
            "{request:?}: {err}"
        );
    }
    server
        .client
        .create_alias(alias("a", "$LATEST", None))
        .await
        .expect("an alias of $LATEST");
    let err = server
        .client
        .create_alias(alias("a", "1", None))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceConflictException"));
    let err = server.client.get_alias("f", "nope").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    // Deleting the function deletes its aliases.
    server.client.delete_function("f").await.expect("delete");
    server.create("f", guests::ECHO).await;
    let err = server.client.get_alias("f", "a").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    server.stop().await;
}
