//! Accounts as tenants, as an attacker in account B meets account A (the
//! home account, 000000000000): B sees none of A's functions, logs,
//! buckets, topics or rules; naming A's by ARN is refused with
//! AccessDeniedException; after A's `AddPermission` names B, B may invoke
//! (as Lambda allows) and nothing more.

use funnel_client::{Client, Code, Credentials, Error, proto};
use funnel_tests::{TestServer, create_request, guest, guests, json_of, start_server};

const TEAM: &str = "111111111111";
const A_HELLO: &str = "arn:funnel:lambda:local:000000000000:function:hello";

fn refused(result: Result<impl std::fmt::Debug, Error>, code: Code, name: &str) -> Error {
    let err = result.expect_err("refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(err.error_type.as_deref(), Some(name), "{err}");
    err
}

fn denied(result: Result<impl std::fmt::Debug, Error>) -> Error {
    refused(result, Code::PermissionDenied, "AccessDeniedException")
}

/// Account `TEAM`, made by the operator, and a client as its admin.
async fn team(server: &TestServer) -> Client {
    let created = server
        .client
        .create_account(TEAM, "team-b")
        .await
        .expect("create account");
    let account = created.account.expect("account");
    assert_eq!(account.account_id, TEAM);
    let user = created.user.expect("admin");
    assert_eq!(user.arn, format!("arn:funnel:iam::{TEAM}:user/admin"));
    let key = created.access_key.expect("key");
    server
        .client_as(Some(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await
}

fn invoke(function: &str) -> proto::InvokeRequest {
    funnel_tests::invoke_request(function, r#"{"name":"Ada"}"#)
}

#[tokio::test]
async fn another_account_sees_nothing_and_names_nothing_of_ours() {
    let server = start_server().await;
    server.create("hello", guests::HELLO).await;
    server.invoke("hello", r#"{"name":"Ada"}"#).await;
    server
        .client
        .create_bucket("photos", None)
        .await
        .expect("bucket");
    let topic = server.client.create_topic("orders").await.expect("topic");
    server
        .client
        .put_schedule("nightly", "rate(1 day)")
        .await
        .expect("rule");
    let b = team(&server).await;
    let me = b.get_caller_identity().await.expect("who");
    assert_eq!(me.account, TEAM);

    // Nothing of A's is listed.
    assert!(b.list_all_functions().await.unwrap().is_empty());
    assert!(b.list_buckets().await.unwrap().is_empty());
    assert!(b.list_all_topics().await.unwrap().is_empty());
    assert!(b.list_all_rules("").await.unwrap().is_empty());
    // A bare name is B's own: not found.
    refused(
        b.get_function("hello").await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    // A's function by ARN: refused, with the AWS message.
    let err = denied(b.invoke(invoke(A_HELLO)).await);
    assert!(
        err.message.contains(&format!(
            "User: arn:funnel:iam::{TEAM}:user/admin is not authorized to perform: lambda:InvokeFunction on resource: {A_HELLO}"
        )),
        "{err}"
    );
    denied(b.get_function(A_HELLO).await);
    // A's logs: B's own group of that name does not exist; A's by ARN is
    // refused.
    let logs = |group: &str| proto::FilterLogEventsRequest {
        log_group_name: group.into(),
        ..Default::default()
    };
    let own = b.filter_log_events(logs("/aws/lambda/hello")).await;
    assert!(
        own.as_ref().map_or(true, |r| r.events.is_empty()),
        "{own:?}"
    );
    denied(
        b.filter_log_events(logs(
            "arn:funnel:logs:local:000000000000:log-group:/aws/lambda/hello",
        ))
        .await,
    );
    // A's bucket: B cannot read it, and cannot grant it to a function.
    refused(
        b.get_object("photos", "x").await,
        Code::NotFound,
        "NoSuchBucket",
    );
    let mut request = create_request("thief", guest(guests::ECHO));
    request.bucket_access = Some(proto::BucketAccess {
        buckets: [("photos".to_string(), "read".to_string())].into(),
    });
    refused(
        b.create_function(request).await,
        Code::InvalidArgument,
        "InvalidParameterValueException",
    );
    // A's topic: no subscribing, no publishing.
    b.create_function(create_request("listener", guest(guests::RECORDER)))
        .await
        .expect("B's own function");
    let listener = b.function_arn("listener").await.expect("arn");
    assert!(
        listener.contains(&format!(":{TEAM}:function:listener")),
        "{listener}"
    );
    denied(
        b.subscribe(proto::SubscribeRequest {
            topic_arn: topic.clone(),
            protocol: "lambda".into(),
            endpoint: listener.clone(),
            ..Default::default()
        })
        .await,
    );
    denied(
        b.publish(proto::PublishRequest {
            topic_arn: topic.clone(),
            message: "hi".into(),
            ..Default::default()
        })
        .await,
    );
    // Nor send its function's failures there.
    let err = refused(
        b.put_function_event_invoke_config(proto::PutFunctionEventInvokeConfigRequest {
            function_name: "listener".into(),
            destination_config: Some(proto::DestinationConfig {
                on_failure: Some(proto::OnFailure {
                    destination: topic.clone(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "InvalidParameterValueException",
    );
    assert!(err.message.contains("another account"), "{err}");
    // Server-wide actions are the home account's; accounts, the operator's.
    denied(b.advance_clock(std::time::Duration::from_secs(1)).await);
    denied(b.get_queue_stats().await);
    denied(b.create_account("222222222222", "c").await);
    // B's names are its own: the same names, other resources.
    b.create_function(create_request("hello", guest(guests::ECHO)))
        .await
        .expect("B's hello");
    let out = b.invoke(invoke("hello")).await.expect("B's hello");
    assert_eq!(json_of(&out), serde_json::json!({"name": "Ada"}));
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), serde_json::json!({"message": "Hello, Ada!"}));
    b.create_bucket("photos", None).await.expect("B's photos");
    b.create_topic("orders").await.expect("B's orders");
    let names: Vec<String> = b
        .list_all_functions()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.function_name)
        .collect();
    assert_eq!(names, ["hello", "listener"]);
    // A home-account user cannot name B's resources with B's key either.
    let alice = server.member("alice", "FunnelFullAccess").await;
    let alice = server.client_as(Some(alice)).await;
    refused(
        alice.create_bucket("111111111111:photos", None).await,
        Code::InvalidArgument,
        "InvalidBucketName",
    );
    refused(
        alice.get_object("111111111111:photos", "x").await,
        Code::NotFound,
        "NoSuchBucket",
    );
    refused(
        alice.create_topic("111111111111:orders").await,
        Code::InvalidArgument,
        "InvalidParameterException",
    );
    let theirs = alice
        .filter_log_events(logs("111111111111:/aws/lambda/hello"))
        .await;
    assert!(
        theirs.as_ref().map_or(true, |r| r.events.is_empty()),
        "{theirs:?}"
    );
    let ours: Vec<String> = server
        .client
        .list_all_functions()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.function_name)
        .collect();
    assert_eq!(ours, ["hello"]);
    server.stop().await;
}

#[tokio::test]
async fn add_permission_naming_an_account_lets_it_invoke_and_nothing_more() {
    let server = start_server().await;
    server.create("hello", guests::HELLO).await;
    let b = team(&server).await;
    denied(b.invoke(invoke(A_HELLO)).await);
    server
        .client
        .add_permission(proto::AddPermissionRequest {
            function_name: "hello".into(),
            statement_id: "team-b".into(),
            action: "lambda:InvokeFunction".into(),
            principal: TEAM.into(),
            ..Default::default()
        })
        .await
        .expect("add permission");
    let out = b.invoke(invoke(A_HELLO)).await.expect("allowed now");
    assert_eq!(json_of(&out), serde_json::json!({"message": "Hello, Ada!"}));
    // Invoke only: the configuration (and its environment) stays A's.
    denied(b.get_function(A_HELLO).await);
    denied(b.delete_function(A_HELLO).await);
    // Another account gets nothing from B's grant.
    let c = server
        .client
        .create_account("222222222222", "team-c")
        .await
        .expect("account c")
        .access_key
        .expect("key");
    let c = server
        .client_as(Some(Credentials::new(c.access_key_id, c.secret_access_key)))
        .await;
    denied(c.invoke(invoke(A_HELLO)).await);
    server.stop().await;
}

#[tokio::test]
async fn accounts_are_the_operators_to_make() {
    let server = start_server().await;
    let b = team(&server).await;
    refused(
        server.client.create_account(TEAM, "again").await,
        Code::AlreadyExists,
        "EntityAlreadyExistsException",
    );
    refused(
        server.client.create_account("12", "short").await,
        Code::InvalidArgument,
        "ValidationException",
    );
    // The operator may add a user to the new account; B's admin sees it.
    let carol = server
        .client
        .create_user_in("carol", TEAM)
        .await
        .expect("a user in B");
    assert_eq!(carol.arn, format!("arn:funnel:iam::{TEAM}:user/carol"));
    let users: Vec<String> = b
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.user_name)
        .collect();
    assert_eq!(users, ["admin", "carol"]);
    // B's admin cannot reach into the home account.
    denied(b.create_user_in("mallory", "000000000000").await);
    let accounts: Vec<String> = b
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.account_id)
        .collect();
    assert_eq!(accounts, [TEAM]);
    assert_eq!(server.client.list_accounts().await.unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_layer_is_shared_with_another_account_only_when_its_account_says_so() {
    let server = start_server().await;
    let published = server
        .client
        .publish_layer_version(funnel_tests::layer_request(
            "shared",
            funnel_tests::zip_of(&[("config.json", b"{}")]),
        ))
        .await
        .expect("publish");
    let arn = published.layer_version_arn.clone();
    assert!(arn.contains(":000000000000:layer:shared:1"), "{arn}");
    let b = team(&server).await;
    let with_layer = || {
        let mut request = create_request("uses-layer", guest(guests::ECHO));
        request.layers = vec![arn.clone()];
        request
    };
    let err = denied(b.create_function(with_layer()).await);
    assert!(err.message.contains("AddLayerVersionPermission"), "{err}");
    denied(b.get_layer_version_by_arn(&arn).await);

    let added = server
        .client
        .add_layer_version_permission(proto::AddLayerVersionPermissionRequest {
            layer_name: "shared".into(),
            version_number: 1,
            statement_id: "team-b".into(),
            action: "lambda:GetLayerVersion".into(),
            principal: TEAM.into(),
            ..Default::default()
        })
        .await
        .expect("share");
    assert!(added.statement.contains(TEAM), "{}", added.statement);
    let policy = server
        .client
        .get_layer_version_policy("shared", 1)
        .await
        .expect("policy");
    assert_eq!(policy.revision_id, added.revision_id);
    // A stale revision is refused.
    refused(
        server
            .client
            .remove_layer_version_permission(proto::RemoveLayerVersionPermissionRequest {
                layer_name: "shared".into(),
                version_number: 1,
                statement_id: "team-b".into(),
                revision_id: "00000000-0000-0000-0000-000000000000".into(),
            })
            .await,
        Code::FailedPrecondition,
        "PreconditionFailedException",
    );
    b.get_layer_version_by_arn(&arn)
        .await
        .expect("readable once shared");
    b.create_function(with_layer())
        .await
        .expect("usable once shared");
    // Shared to read and run with; not to change.
    denied(b.delete_layer_version(&arn, 1).await);
    // A service is not an account.
    refused(
        server
            .client
            .add_layer_version_permission(proto::AddLayerVersionPermissionRequest {
                layer_name: "shared".into(),
                version_number: 1,
                statement_id: "s3".into(),
                action: "lambda:GetLayerVersion".into(),
                principal: "s3.amazonaws.com".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidParameterValueException",
    );
    server.stop().await;
}

#[tokio::test]
async fn the_edges_between_accounts_are_closed() {
    let server = start_server().await;
    server.create("hello", guests::HELLO).await;
    server.create("rec", guests::RECORDER).await;
    let topic = server.client.create_topic("orders").await.expect("topic");
    server
        .allow("rec", "sns", "sns.amazonaws.com", &topic)
        .await;
    let subscription = server
        .client
        .subscribe(proto::SubscribeRequest {
            topic_arn: topic.clone(),
            protocol: "lambda".into(),
            endpoint: "rec".into(),
            ..Default::default()
        })
        .await
        .expect("subscribe");
    server
        .client
        .put_schedule("nightly", "rate(1 day)")
        .await
        .expect("rule");
    let b = team(&server).await;

    // A subscription named by its topic's bare name is B's topic's, not
    // ours; by its full ARN it is refused.
    let id = subscription.rsplit(':').next().unwrap();
    refused(
        b.unsubscribe(&format!("orders:{id}")).await,
        Code::NotFound,
        "NotFoundException",
    );
    denied(b.unsubscribe(&subscription).await);
    denied(b.get_subscription_attributes(&subscription).await);
    assert_eq!(
        server
            .client
            .list_subscriptions_by_topic(&topic)
            .await
            .expect("still there")
            .len(),
        1
    );
    // Our rule's schedule is ours.
    refused(
        b.preview_schedule(proto::PreviewScheduleRequest {
            name: "nightly".into(),
            ..Default::default()
        })
        .await,
        Code::NotFound,
        "ResourceNotFoundException",
    );

    // A statement for a service without SourceAccount is for our own
    // account's buckets, topics and rules only.
    server
        .allow("hello", "s3-any", "s3.amazonaws.com", "")
        .await;
    b.create_bucket("drop", None).await.expect("B's bucket");
    refused(
        b.put_bucket_notification_configuration(
            "drop",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "x".into(),
                    lambda_function_arn: A_HELLO.into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await,
        Code::InvalidArgument,
        "InvalidArgument",
    );

    // A shared layer version shares that version only.
    for content in [b"1".as_slice(), b"2"] {
        server
            .client
            .publish_layer_version(funnel_tests::layer_request(
                "lib",
                funnel_tests::zip_of(&[("v", content)]),
            ))
            .await
            .expect("publish");
    }
    server
        .client
        .add_layer_version_permission(proto::AddLayerVersionPermissionRequest {
            layer_name: "lib".into(),
            version_number: 1,
            statement_id: "everyone".into(),
            action: "lambda:GetLayerVersion".into(),
            principal: "*".into(),
            ..Default::default()
        })
        .await
        .expect("share version 1");
    let v1 = "arn:funnel:lambda:local:000000000000:layer:lib:1";
    b.get_layer_version(v1, 1).await.expect("shared");
    denied(b.get_layer_version(v1, 2).await);
    // A missing version and an unshared one are refused alike.
    let mut request = create_request("uses-lib", guest(guests::ECHO));
    request.layers = vec!["arn:funnel:lambda:local:000000000000:layer:lib:2".into()];
    let unshared = denied(b.create_function(request.clone()).await);
    request.layers = vec!["arn:funnel:lambda:local:000000000000:layer:lib:9".into()];
    let missing = denied(b.create_function(request).await);
    assert_eq!(
        unshared.message.replace(":2", ":N"),
        missing.message.replace(":9", ":N")
    );
    server.stop().await;
}

#[tokio::test]
async fn each_account_has_its_own_quotas() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = funnel_tests::test_config(dir.path());
    config.quotas.topics = 2;
    config.quotas.buckets = 1;
    config.quotas.rules = 1;
    config.quotas.functions = 1;
    let server = funnel_tests::start_server_with(config).await;
    let exhausted = |result: Result<String, Error>, name: &str| {
        let err = refused(result, Code::ResourceExhausted, name);
        assert!(err.message.contains("quota"), "{err}");
    };
    let client = &server.client;
    client.create_topic("a").await.expect("a");
    client.create_topic("b").await.expect("b");
    exhausted(
        client.create_topic("c").await,
        "TopicLimitExceededException",
    );
    client
        .create_topic("a")
        .await
        .expect("an existing topic is returned");
    client.create_bucket("one", None).await.expect("bucket");
    exhausted(
        client.create_bucket("two", None).await.map(|b| b.location),
        "TooManyBuckets",
    );
    client
        .put_schedule("r1", "rate(1 day)")
        .await
        .expect("rule");
    client
        .put_schedule("r1", "rate(2 days)")
        .await
        .expect("an existing rule is updated");
    exhausted(
        client.put_schedule("r2", "rate(1 day)").await,
        "LimitExceededException",
    );
    server.create("f1", guests::ECHO).await;
    exhausted(
        client
            .create_function(create_request("f2", guest(guests::ECHO)))
            .await
            .map(|f| f.function_name),
        "CodeStorageExceededException",
    );
    // Another account has its own.
    let b = team(&server).await;
    b.create_topic("a").await.expect("B's a");
    b.create_topic("b").await.expect("B's b");
    b.create_bucket("one", None).await.expect("B's bucket");
    server.stop().await;
}
