//! Secrets and parameters reach a function only through its grants
//! (`SecretAccess`): the `funnel:function/secrets` import and
//! `{{resolve:...}}` variables, read through the real vault, with the
//! environment's cache on the virtual clock; `restart-environments`; and
//! variables shown only to callers allowed `lambda:GetFunctionConfiguration`.
//! The guests (`wasm-functions/secret-reader` and its Python and
//! JavaScript twins) return a hash and a length of what they read, never a
//! value, so the tests compare hashes.

use std::time::Duration;

use funnel_build::Language;
use funnel_client::proto;
use funnel_tests::guests::{ENV, SECRET_READER};
use funnel_tests::packaged::built;
use funnel_tests::{
    TestServer, create_request, eventually, guest, invoke_request, json_of, log_of, start_server,
};

const PASSWORD: &str = "correct horse battery staple";
const DB_URL: &str = "postgres://app@db.internal:5432/app";

/// What the reader guests return for `value`.
fn digest(value: &str) -> serde_json::Value {
    use sha2::Digest as _;
    serde_json::json!({
        "sha256": hex::encode(sha2::Sha256::digest(value.as_bytes())),
        "length": value.len(),
    })
}

/// `{"sha256", "length"}` of a reader's answer.
fn read(out: &proto::InvokeResponse) -> serde_json::Value {
    assert_eq!(out.function_error, "", "{}", log_of(out));
    let answer = json_of(out);
    serde_json::json!({"sha256": answer["sha256"], "length": answer["length"]})
}

async fn create_secret(server: &TestServer, name: &str, value: &str) {
    server
        .client
        .create_secret(proto::CreateSecretRequest {
            name: name.into(),
            secret_string: Some(value.into()),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("creating secret {name}: {e}"));
}

async fn put_secret_value(server: &TestServer, name: &str, value: &str) {
    server
        .client
        .put_secret_value(proto::PutSecretValueRequest {
            secret_id: name.into(),
            secret_string: Some(value.into()),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("putting a value of {name}: {e}"));
}

async fn put_parameter(server: &TestServer, name: &str, kind: &str, value: &str) {
    server
        .client
        .put_parameter(proto::PutParameterRequest {
            name: name.into(),
            value: value.into(),
            r#type: kind.into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("putting parameter {name}: {e}"));
}

/// Creates `name` from `code` granted `grants`, with `variables`.
async fn deploy(
    server: &TestServer,
    name: &str,
    code: Vec<u8>,
    grants: &[&str],
    variables: &[(&str, &str)],
) -> proto::FunctionConfiguration {
    let mut request = create_request(name, code);
    request.timeout = Some(30);
    request.secret_access = Some(proto::SecretAccess {
        names: grants.iter().map(|g| g.to_string()).collect(),
    });
    request.environment = Some(proto::Environment {
        variables: variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    });
    server
        .client
        .create_function(request)
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e}"))
}

/// An error the guest let through: (FunctionError, errorType, errorMessage).
fn failure(out: &proto::InvokeResponse) -> (String, String, String) {
    let error = json_of(out);
    (
        out.function_error.clone(),
        error["errorType"].as_str().unwrap_or_default().to_string(),
        error["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_granted_guest_reads_what_it_is_granted_and_nothing_else() {
    let server = start_server().await;
    create_secret(&server, "db-pass", PASSWORD).await;
    create_secret(&server, "other-team", "not yours").await;
    put_parameter(&server, "/app/db-url", "SecureString", DB_URL).await;
    put_parameter(&server, "/app/region", "String", "local").await;
    put_parameter(&server, "/ops/token", "SecureString", "ops only").await;
    let granted = ["db-pass", "/app/*", "missing", "ssm:/nothing-here"];
    let config = deploy(&server, "reader", guest(SECRET_READER), &granted, &[]).await;
    assert_eq!(
        config.secret_access.map(|a| a.names),
        Some(granted.iter().map(|g| g.to_string()).collect())
    );
    deploy(&server, "stranger", guest(SECRET_READER), &[], &[]).await;

    let secret = server.invoke("reader", r#"{"name":"db-pass"}"#).await;
    assert_eq!(read(&secret), digest(PASSWORD));
    let parameter = server
        .invoke("reader", r#"{"parameter":"/app/db-url"}"#)
        .await;
    assert_eq!(read(&parameter), digest(DB_URL));
    assert_eq!(json_of(&parameter)["type"], "SecureString");
    let path = server
        .invoke("reader", r#"{"path":"/","recursive":true}"#)
        .await;
    assert_eq!(
        json_of(&path),
        serde_json::json!({"/app/db-url": digest(DB_URL), "/app/region": digest("local")}),
        "only the granted parameters, decrypted"
    );

    // Not granted: refused, naming what was asked for.
    for (function, event, named) in [
        ("stranger", r#"{"name":"db-pass"}"#, "db-pass"),
        ("reader", r#"{"name":"other-team"}"#, "other-team"),
        ("reader", r#"{"parameter":"/ops/token"}"#, "/ops/token"),
        // ssm: grants a parameter only.
        ("reader", r#"{"name":"/nothing-here"}"#, "/nothing-here"),
    ] {
        let out = server.invoke(function, event).await;
        let (kind, error_type, message) = failure(&out);
        assert_eq!(kind, "Handled", "{function} {event}: {}", log_of(&out));
        assert_eq!(error_type, "AccessDeniedException", "{message}");
        assert!(message.contains(named), "{message}");
    }
    // Granted but absent.
    let (_, error_type, _) = failure(&server.invoke("reader", r#"{"name":"missing"}"#).await);
    assert_eq!(error_type, "ResourceNotFoundException");
    let (_, error_type, _) = failure(
        &server
            .invoke("reader", r#"{"parameter":"/app/none"}"#)
            .await,
    );
    assert_eq!(error_type, "ParameterNotFound");

    // The grants are names: nothing any caller reads holds a value.
    let shown = format!("{:?}", server.client.get_function("reader").await.unwrap());
    let logs = format!("{:?}", server.log_messages("reader").await);
    for value in [PASSWORD, DB_URL, "not yours", "ops only"] {
        assert!(!shown.contains(value) && !logs.contains(value));
    }
    server.stop().await;
}

#[tokio::test]
async fn grants_are_checked_when_stored_and_replaced_by_an_update() {
    let server = start_server().await;
    create_secret(&server, "db-pass", PASSWORD).await;
    let mut bad = create_request("bad", guest(SECRET_READER));
    bad.secret_access = Some(proto::SecretAccess {
        names: vec!["/app/*/x".into()],
    });
    let err = server.client.create_function(bad).await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(err.message.contains("/app/*/x"), "{err}");

    deploy(&server, "reader", guest(SECRET_READER), &[], &[]).await;
    let (_, denied, _) = failure(&server.invoke("reader", r#"{"name":"db-pass"}"#).await);
    assert_eq!(denied, "AccessDeniedException");
    // An update of the grants starts new environments with them.
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            secret_access: Some(proto::SecretAccess {
                names: vec!["db-pass".into()],
            }),
            ..Default::default()
        })
        .await
        .expect("update");
    let out = server.invoke("reader", r#"{"name":"db-pass"}"#).await;
    assert_eq!(read(&out), digest(PASSWORD));
    server
        .client
        .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
            function_name: "reader".into(),
            secret_access: Some(proto::SecretAccess { names: vec![] }),
            ..Default::default()
        })
        .await
        .expect("update");
    let (_, denied, _) = failure(&server.invoke("reader", r#"{"name":"db-pass"}"#).await);
    assert_eq!(denied, "AccessDeniedException");
    server.stop().await;
}

#[tokio::test]
async fn a_reference_resolves_inside_the_guest_and_is_shown_as_written() {
    let server = start_server().await;
    create_secret(
        &server,
        "db-creds",
        r#"{"username":"app","password":"s3cret-pw"}"#,
    )
    .await;
    put_parameter(&server, "/app/db-url", "SecureString", DB_URL).await;
    let variables = [
        ("DB_URL", "{{resolve:ssm:/app/db-url}}"),
        (
            "DB_PASS",
            "{{resolve:secretsmanager:db-creds:SecretString:password}}",
        ),
        (
            "DSN",
            "user={{resolve:secretsmanager:db-creds:SecretString:username}} host=db",
        ),
        ("PLAIN", "as is"),
    ];
    deploy(
        &server,
        "env",
        guest(ENV),
        &["db-creds", "/app/*"],
        &variables,
    )
    .await;
    let seen = json_of(&server.invoke("env", "{}").await);
    assert_eq!(seen["DB_URL"], DB_URL);
    assert_eq!(seen["DB_PASS"], "s3cret-pw");
    assert_eq!(seen["DSN"], "user=app host=db");
    assert_eq!(seen["PLAIN"], "as is");

    // Stored and shown as written, never resolved.
    let shown = server.client.get_function("env").await.unwrap();
    let stored = shown.configuration.unwrap().environment.unwrap().variables;
    for (key, value) in variables {
        assert_eq!(stored[key], value);
    }

    // A reference the function is not granted fails its environment's
    // start, and so the call, naming the secret and nothing of its value.
    deploy(
        &server,
        "ungranted",
        guest(ENV),
        &["/app/*"],
        &variables[..2],
    )
    .await;
    let out = server.invoke("ungranted", "{}").await;
    let (kind, error_type, message) = failure(&out);
    assert_eq!(kind, "Unhandled", "{}", log_of(&out));
    assert_eq!(error_type, "AccessDeniedException");
    assert!(
        message.contains("db-creds") && message.contains("DB_PASS"),
        "{message}"
    );
    let everything = format!("{out:?}{:?}", server.log_messages("ungranted").await);
    assert!(!everything.contains("s3cret-pw") && !everything.contains(DB_URL));

    // A reference funnel cannot resolve is refused when stored.
    let mut bad = create_request("bad", guest(ENV));
    bad.environment = Some(proto::Environment {
        variables: [("X".to_string(), "{{resolve:vault:x}}".to_string())].into(),
    });
    let err = server.client.create_function(bad).await.unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    server.stop().await;
}

#[tokio::test]
async fn rotation_reaches_a_warm_environment_after_the_ttl_and_at_once_after_a_restart() {
    let server = start_server().await;
    create_secret(&server, "db-pass", "one").await;
    deploy(&server, "reader", guest(SECRET_READER), &["db-pass"], &[]).await;
    let reads = || async { read(&server.invoke("reader", r#"{"name":"db-pass"}"#).await) };
    assert_eq!(reads().await, digest("one"));

    put_secret_value(&server, "db-pass", "two").await;
    assert_eq!(reads().await, digest("one"), "the warm environment's cache");
    let clock = server.runtime.clock().clone();
    clock.advance(Duration::from_secs(299));
    assert_eq!(reads().await, digest("one"), "299 s: still cached");
    clock.advance(Duration::from_secs(1));
    assert_eq!(reads().await, digest("two"), "300 s: read again");
    assert_eq!(server.starts("reader").await, 4);
    assert_eq!(
        server
            .log_messages("reader")
            .await
            .iter()
            .filter(|e| e.message.contains("Init Duration"))
            .count(),
        1,
        "one environment served every call"
    );

    put_secret_value(&server, "db-pass", "three").await;
    assert_eq!(reads().await, digest("two"));
    let retired = server
        .client
        .restart_environments("reader")
        .await
        .expect("restart");
    assert_eq!(retired, 1);
    assert_eq!(
        reads().await,
        digest("three"),
        "a new environment reads anew"
    );
    let err = server
        .client
        .restart_environments("nobody")
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceNotFoundException"));
    server.stop().await;
}

#[tokio::test]
async fn python_and_javascript_handlers_read_a_secret() {
    let server = start_server().await;
    create_secret(&server, "db-pass", PASSWORD).await;
    put_parameter(&server, "/app/db-url", "SecureString", DB_URL).await;
    for (folder, language) in [
        ("wasm-functions/secret-reader-py", Language::Python),
        ("wasm-functions/secret-reader-js", Language::Nodejs),
    ] {
        let Some(code) = built(folder, language) else {
            continue;
        };
        let name = format!("reader-{language:?}").to_lowercase();
        let mut request = create_request(&name, code.clone());
        request.memory_size = Some(256);
        request.timeout = Some(30);
        request.secret_access = Some(proto::SecretAccess {
            names: vec!["db-pass".into(), "/app/*".into()],
        });
        server
            .client
            .create_function(request)
            .await
            .expect("create");
        let secret = server.invoke(&name, r#"{"name":"db-pass"}"#).await;
        assert_eq!(read(&secret), digest(PASSWORD), "{folder}");
        let parameter = server.invoke(&name, r#"{"parameter":"/app/db-url"}"#).await;
        assert_eq!(read(&parameter), digest(DB_URL), "{folder}");
        let (kind, error_type, message) =
            failure(&server.invoke(&name, r#"{"name":"other"}"#).await);
        assert_eq!(
            (kind.as_str(), error_type.as_str()),
            ("Handled", "AccessDeniedException"),
            "{folder}: {message}"
        );
        assert!(message.contains("other"), "{folder}: {message}");
    }
    server.stop().await;
}

#[tokio::test]
async fn variables_are_shown_only_to_callers_allowed_to_read_the_configuration() {
    let server = start_server().await;
    deploy(
        &server,
        "env",
        guest(ENV),
        &[],
        &[("API_TOKEN", "pasted-in-by-mistake")],
    )
    .await;
    let variables_of = |config: &proto::FunctionConfiguration| {
        config
            .environment
            .as_ref()
            .map(|e| e.variables.get("API_TOKEN").cloned())
    };
    // The operator always sees them.
    let own = server.client.get_function("env").await.unwrap();
    assert_eq!(
        variables_of(own.configuration.as_ref().unwrap()),
        Some(Some("pasted-in-by-mistake".into()))
    );
    // lambda:Get* covers GetFunctionConfiguration.
    let reader = server.member("reader", "FunnelReadOnly").await;
    let reader = server.client_as(Some(reader)).await;
    let seen = reader.get_function("env").await.unwrap();
    assert!(variables_of(seen.configuration.as_ref().unwrap()).is_some());

    // A caller allowed GetFunction and ListFunctions only sees the rest.
    server.client.create_user("lister").await.unwrap();
    server
        .client
        .put_user_policy(
            "lister",
            "list",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                "Action":["lambda:GetFunction","lambda:ListFunctions"],"Resource":"*"}]}"#,
        )
        .await
        .unwrap();
    let key = server.client.create_access_key("lister").await.unwrap();
    let lister = server
        .client_as(Some(funnel_client::Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await;
    let got = lister.get_function("env").await.unwrap();
    let config = got.configuration.unwrap();
    assert_eq!(config.function_name, "env");
    assert_eq!(variables_of(&config), None);
    let listed = lister.list_all_functions().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(variables_of(&listed[0]), None);
    // And the JSON the CLI prints leaves Environment out, not empty.
    let printed = funnel_client::json::configuration(&listed[0]);
    assert!(printed.get("Environment").is_none(), "{printed}");
    // GetFunctionConfiguration is its own action: the lister may not,
    // and a caller allowed only it reads the configuration, variables too.
    let refused = lister.get_function_configuration("env").await.unwrap_err();
    assert_eq!(refused.error_type.as_deref(), Some("AccessDeniedException"));
    server.client.create_user("configurer").await.unwrap();
    server
        .client
        .put_user_policy(
            "configurer",
            "config",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                "Action":"lambda:GetFunctionConfiguration","Resource":"*"}]}"#,
        )
        .await
        .unwrap();
    let key = server.client.create_access_key("configurer").await.unwrap();
    let configurer = server
        .client_as(Some(funnel_client::Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await;
    let config = configurer.get_function_configuration("env").await.unwrap();
    assert_eq!(config.function_name, "env");
    assert_eq!(
        variables_of(&config),
        Some(Some("pasted-in-by-mistake".into()))
    );
    let refused = configurer.get_function("env").await.unwrap_err();
    assert_eq!(refused.error_type.as_deref(), Some("AccessDeniedException"));
    server.stop().await;
}

#[tokio::test]
async fn a_restart_starts_provisioned_environments_again_with_new_values() {
    let server = start_server().await;
    create_secret(&server, "db-pass", "one").await;
    deploy(&server, "reader", guest(SECRET_READER), &["db-pass"], &[]).await;
    let version = server
        .client
        .publish_version(proto::PublishVersionRequest {
            function_name: "reader".into(),
            ..Default::default()
        })
        .await
        .expect("publish")
        .version;
    server
        .client
        .put_provisioned_concurrency_config("reader", &version, 1)
        .await
        .expect("provision");
    let provisioned_ready = || {
        eventually("a provisioned environment idle", || async {
            (server.runtime.provisioned_idle("reader", &version) == 1).then_some(())
        })
    };
    provisioned_ready().await;
    let call = || async {
        let mut request = invoke_request("reader", r#"{"name":"db-pass"}"#);
        request.qualifier = version.clone();
        request.log_type = "Tail".into();
        server.client.invoke(request).await.expect("invoke")
    };
    let first = call().await;
    assert_eq!(read(&first), digest("one"));
    assert!(!log_of(&first).contains("Init Duration"), "provisioned");

    put_secret_value(&server, "db-pass", "two").await;
    assert_eq!(read(&call().await), digest("one"), "cached");
    server
        .client
        .restart_environments("reader")
        .await
        .expect("restart");
    provisioned_ready().await;
    let after = call().await;
    assert_eq!(read(&after), digest("two"));
    assert!(
        !log_of(&after).contains("Init Duration"),
        "a provisioned environment again, started by the restart: {}",
        log_of(&after)
    );
    server.stop().await;
}
