//! The boundary, as an attacker meets it: one test per row of the attack
//! table. Every refusal carries its AWS error name.

use funnel_client::{Client, Code, Credentials, Error};
use funnel_tests::{TestServer, guests, start_server};

const READ_ONLY: &str = "arn:funnel:iam::aws:policy/FunnelReadOnly";
const INVOKE_ONLY: &str = "arn:funnel:iam::aws:policy/FunnelInvokeOnly";
const FULL_ACCESS: &str = "arn:funnel:iam::aws:policy/FunnelFullAccess";

/// A user with `policy` attached and a client signed with its new key.
async fn user(server: &TestServer, name: &str, policy: Option<&str>) -> (Client, Credentials) {
    server.client.create_user(name).await.expect("create user");
    if let Some(policy) = policy {
        server
            .client
            .attach_user_policy(name, policy)
            .await
            .expect("attach");
    }
    let key = server.client.create_access_key(name).await.expect("key");
    assert_eq!(key.access_key_id.len(), 20);
    assert!(key.access_key_id.starts_with("AKIA"));
    assert_eq!(key.secret_access_key.len(), 40);
    let credentials = Credentials::new(key.access_key_id, key.secret_access_key);
    (
        server.client_as(Some(credentials.clone())).await,
        credentials,
    )
}

fn refused(result: Result<impl std::fmt::Debug, Error>, code: Code, name: &str) -> Error {
    let err = result.expect_err("refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(err.error_type.as_deref(), Some(name), "{err}");
    err
}

#[tokio::test]
async fn no_credential_is_refused_as_missing() {
    let server = start_server().await;
    let anonymous = server.client_as(None).await;
    let err = refused(
        anonymous.list_functions("", None).await,
        Code::Unauthenticated,
        "MissingAuthenticationTokenException",
    );
    assert!(err.message.contains("authorization: Bearer"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_is_refused_as_unrecognized() {
    let server = start_server().await;
    let wrong = Credentials::new(server.operator.access_key_id.clone(), "x".repeat(40));
    let client = server.client_as(Some(wrong)).await;
    refused(
        client.list_functions("", None).await,
        Code::Unauthenticated,
        "UnrecognizedClientException",
    );
    let unknown = Credentials::new("AKIAAAAAAAAAAAAAAAAA", "x".repeat(40));
    let client = server.client_as(Some(unknown)).await;
    refused(
        client.list_functions("", None).await,
        Code::Unauthenticated,
        "UnrecognizedClientException",
    );
    server.stop().await;
}

#[tokio::test]
async fn a_deleted_key_fails_at_once() {
    let server = start_server().await;
    let (alice, key) = user(&server, "alice", Some(FULL_ACCESS)).await;
    alice.list_functions("", None).await.expect("works before");
    server
        .client
        .delete_access_key("alice", &key.access_key_id)
        .await
        .expect("delete key");
    // The same connection, the next call.
    refused(
        alice.list_functions("", None).await,
        Code::Unauthenticated,
        "UnrecognizedClientException",
    );
    server.stop().await;
}

#[tokio::test]
async fn an_inactive_key_fails_until_it_is_active_again() {
    let server = start_server().await;
    let (alice, key) = user(&server, "alice", Some(FULL_ACCESS)).await;
    server
        .client
        .update_access_key("alice", &key.access_key_id, "Inactive")
        .await
        .expect("deactivate");
    refused(
        alice.list_functions("", None).await,
        Code::Unauthenticated,
        "UnrecognizedClientException",
    );
    server
        .client
        .update_access_key("alice", &key.access_key_id, "Active")
        .await
        .expect("activate");
    alice.list_functions("", None).await.expect("works again");
    server.stop().await;
}

#[tokio::test]
async fn a_read_only_user_cannot_create_a_function() {
    let server = start_server().await;
    let (reader, _) = user(&server, "reader", Some(READ_ONLY)).await;
    let err = refused(
        reader
            .create_function(funnel_tests::create_request(
                "sneaky",
                funnel_tests::guest(guests::HELLO),
            ))
            .await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    assert_eq!(
        err.message,
        "User: arn:funnel:iam::000000000000:user/reader is not authorized to perform: \
         lambda:CreateFunction on resource: arn:funnel:lambda:local:000000000000:function:sneaky"
    );
    // What it may do, it can.
    reader
        .list_functions("", None)
        .await
        .expect("read-only lists");
    server.stop().await;
}

#[tokio::test]
async fn an_invoke_only_user_invokes_but_cannot_read_the_environment() {
    let server = start_server().await;
    let mut create = funnel_tests::create_request("hello", funnel_tests::guest(guests::HELLO));
    create.environment = Some(funnel_client::proto::Environment {
        variables: [("DB_PASSWORD".to_string(), "hunter2".to_string())].into(),
    });
    server.client.create_function(create).await.expect("create");
    let (invoker, _) = user(&server, "invoker", Some(INVOKE_ONLY)).await;
    let out = invoker
        .invoke(funnel_tests::invoke_request("hello", r#"{"name":"Ada"}"#))
        .await
        .expect("invoke-only invokes");
    assert_eq!(out.status_code, 200);
    let err = refused(
        invoker.get_function("hello").await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    assert!(err.message.contains("lambda:GetFunction"), "{err}");
    assert!(!err.message.contains("hunter2"));
    server.stop().await;
}

#[tokio::test]
async fn an_explicit_deny_wins_over_an_allow() {
    let server = start_server().await;
    let (alice, _) = user(&server, "alice", Some(FULL_ACCESS)).await;
    server
        .client
        .put_user_policy(
            "alice",
            "no-deletes",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"lambda:Delete*","Resource":"*"}]}"#,
        )
        .await
        .expect("put policy");
    alice
        .create_function(funnel_tests::create_request(
            "f",
            funnel_tests::guest(guests::HELLO),
        ))
        .await
        .expect("allowed by FullAccess");
    refused(
        alice.delete_function("f").await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    // A user with no policy at all may do nothing (but ask who it is).
    let (nobody, _) = user(&server, "nobody", None).await;
    refused(
        nobody.list_functions("", None).await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    let me = nobody.get_caller_identity().await.expect("who am I");
    assert_eq!(me.account, "000000000000");
    assert_eq!(me.arn, "arn:funnel:iam::000000000000:user/nobody");
    assert!(me.user_id.starts_with("AIDA"));
    server.stop().await;
}

#[tokio::test]
async fn iam_keeps_its_rules_and_error_names() {
    let server = start_server().await;
    let client = &server.client;
    let (_, _) = user(&server, "alice", None).await;
    refused(
        client.create_user("alice").await,
        Code::AlreadyExists,
        "EntityAlreadyExistsException",
    );
    client.create_access_key("alice").await.expect("second key");
    refused(
        client.create_access_key("alice").await,
        Code::ResourceExhausted,
        "LimitExceededException",
    );
    refused(
        client.delete_user("alice").await,
        Code::FailedPrecondition,
        "DeleteConflictException",
    );
    refused(
        client
            .put_user_policy("alice", "bad", r#"{"Statement":[{"Effect":"Allow"}]}"#)
            .await,
        Code::InvalidArgument,
        "MalformedPolicyDocumentException",
    );
    refused(
        client
            .attach_user_policy("alice", "arn:funnel:iam::aws:policy/Nope")
            .await,
        Code::NotFound,
        "NoSuchEntityException",
    );
    refused(
        client.get_user("bob").await,
        Code::NotFound,
        "NoSuchEntityException",
    );
    refused(
        client.delete_user("operator").await,
        Code::FailedPrecondition,
        "UnmodifiableEntityException",
    );
    for key in client.list_access_keys("alice").await.expect("keys") {
        client
            .delete_access_key("alice", &key.access_key_id)
            .await
            .expect("delete key");
    }
    client
        .delete_user("alice")
        .await
        .expect("deleted once empty");
    let names: Vec<String> = client
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.user_name)
        .collect();
    assert_eq!(names, ["operator"]);
    server.stop().await;
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled() {
    let server = start_server().await;
    let wrong = server
        .client_as(Some(Credentials::new(
            "AKIAAAAAAAAAAAAAAAAA",
            "x".repeat(40),
        )))
        .await;
    for _ in 0..20 {
        refused(
            wrong.list_functions("", None).await,
            Code::Unauthenticated,
            "UnrecognizedClientException",
        );
    }
    // Now every call from the address waits, the right key's too.
    refused(
        wrong.list_functions("", None).await,
        Code::ResourceExhausted,
        "ThrottlingException",
    );
    refused(
        server.client.list_functions("", None).await,
        Code::ResourceExhausted,
        "ThrottlingException",
    );
    // The window is on the server's clock: once it passes, calls go through.
    server
        .runtime
        .clock()
        .advance(std::time::Duration::from_secs(61));
    server
        .client
        .list_functions("", None)
        .await
        .expect("after the window");
    server.stop().await;
}

#[tokio::test]
async fn health_needs_no_credential() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let server = start_server().await;
    let channel = tonic::transport::Endpoint::from_shared(server.endpoint.clone())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers without a credential");
    assert_eq!(answer.into_inner().status, 1, "SERVING");
    // Reflection too: grpc::reflection_lists_and_describes_the_api calls it
    // with no credential.
    server.stop().await;
}
