//! Resource policies over the real API: AddPermission, GetPolicy with
//! Lambda's document, RemovePermission, and the errors Lambda gives.

use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::start_server;

fn s3_permission(function: &str, sid: &str) -> proto::AddPermissionRequest {
    proto::AddPermissionRequest {
        function_name: function.into(),
        statement_id: sid.into(),
        action: "lambda:InvokeFunction".into(),
        principal: "s3.amazonaws.com".into(),
        source_arn: "arn:funnel:s3:::photos".into(),
        source_account: "000000000000".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn permissions_build_lambdas_policy_document() {
    let server = start_server().await;
    let created = server.create("thumbs", guests::ECHO).await;

    let err = server.client.get_policy("thumbs", "").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));

    let statement = server
        .client
        .add_permission(s3_permission("thumbs", "s3-photos"))
        .await
        .expect("add");
    let statement: serde_json::Value = serde_json::from_str(&statement).expect("JSON");
    assert_eq!(statement["Sid"], "s3-photos");
    assert_eq!(statement["Resource"], created.function_arn.as_str());

    let mut topic = s3_permission("thumbs", "sns-any");
    topic.principal = "sns.amazonaws.com".into();
    topic.source_arn.clear();
    topic.source_account.clear();
    server.client.add_permission(topic).await.expect("add");

    let got = server.client.get_policy("thumbs", "").await.expect("get");
    let policy: serde_json::Value = serde_json::from_str(&got.policy).expect("JSON");
    assert_eq!(
        policy,
        serde_json::json!({
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": [
                {
                    "Sid": "s3-photos",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": created.function_arn,
                    "Condition": {
                        "StringEquals": {"AWS:SourceAccount": "000000000000"},
                        "ArnLike": {"AWS:SourceArn": "arn:funnel:s3:::photos"}
                    }
                },
                {
                    "Sid": "sns-any",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": created.function_arn
                }
            ]
        })
    );
    assert!(!got.revision_id.is_empty());

    let err = server
        .client
        .add_permission(s3_permission("thumbs", "s3-photos"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceConflictException"));
    let mut bad = s3_permission("thumbs", "bad");
    bad.principal = "photos".into();
    let err = server.client.add_permission(bad).await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(err.message.contains("Principal"), "{}", err.message);
    let err = server
        .client
        .add_permission(s3_permission("nobody", "s3"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));

    server
        .client
        .remove_permission("thumbs", "s3-photos", "")
        .await
        .expect("remove");
    let err = server
        .client
        .remove_permission("thumbs", "s3-photos", "")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    server
        .client
        .remove_permission("thumbs", "sns-any", "")
        .await
        .expect("remove");
    let err = server.client.get_policy("thumbs", "").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn a_version_has_its_own_policy_and_loses_it_with_the_function() {
    let server = start_server().await;
    server.create("thumbs", guests::ECHO).await;
    let version = server
        .client
        .publish_version(proto::PublishVersionRequest {
            function_name: "thumbs".into(),
            ..Default::default()
        })
        .await
        .expect("publish")
        .version;
    let mut request = s3_permission("thumbs", "v1-only");
    request.qualifier = version.clone();
    let statement = server.client.add_permission(request).await.expect("add");
    assert!(
        statement.contains(&format!("function:thumbs:{version}")),
        "{statement}"
    );
    assert!(server.client.get_policy("thumbs", "").await.is_err());
    server
        .client
        .get_policy("thumbs", &version)
        .await
        .expect("the version's policy");

    server
        .client
        .delete_function("thumbs")
        .await
        .expect("delete");
    server.create("thumbs", guests::ECHO).await;
    server
        .client
        .publish_version(proto::PublishVersionRequest {
            function_name: "thumbs".into(),
            ..Default::default()
        })
        .await
        .expect("publish");
    let err = server.client.get_policy("thumbs", "1").await.unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
}
