//! Secrets Manager's model through the real client: versions and staging
//! labels, deletion with a recovery window on the virtual clock, who may
//! read; values never in clear in the data dir; the master key rotated
//! with everything still readable, and a wrong one refused at start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use funnel_client::{Client, Code, Credentials, Error, proto};
use funnel_tests::{guests, json_of, start_server, start_server_with, test_config};

const TEAM: &str = "111111111111";

fn refused<T: std::fmt::Debug>(result: Result<T, Error>, code: Code, name: &str) -> Error {
    let err = result.expect_err("refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(err.error_type.as_deref(), Some(name), "{err}");
    err
}

/// A value no test would write by chance.
fn distinctive(what: &str) -> String {
    format!("{what}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut out = String::new();
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(std::process::id().into());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

async fn create(client: &Client, name: &str, value: &str) -> proto::CreateSecretResponse {
    client
        .create_secret(proto::CreateSecretRequest {
            name: name.into(),
            secret_string: Some(value.into()),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|err| panic!("creating {name}: {err}"))
}

async fn put(
    client: &Client,
    id: &str,
    value: &str,
    stages: &[&str],
) -> proto::PutSecretValueResponse {
    client
        .put_secret_value(proto::PutSecretValueRequest {
            secret_id: id.into(),
            secret_string: Some(value.into()),
            version_stages: stages.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|err| panic!("putting {id}: {err}"))
}

async fn value(client: &Client, id: &str, stage: Option<&str>) -> String {
    client
        .get_secret_value(id, stage)
        .await
        .unwrap_or_else(|err| panic!("reading {id}: {err}"))
        .secret_string
        .expect("a string value")
}

#[tokio::test]
async fn versions_move_their_labels_and_deletion_waits_for_its_window() {
    let server = start_server().await;
    let client = &server.client;
    let created = create(client, "db-pass", "one").await;
    let prefix = "arn:funnel:secretsmanager:local:000000000000:secret:db-pass-";
    assert!(created.arn.starts_with(prefix), "{}", created.arn);
    assert_eq!(created.arn.len(), prefix.len() + 6);
    let first = created.version_id.clone();
    refused(
        client
            .create_secret(proto::CreateSecretRequest {
                name: "db-pass".into(),
                secret_string: Some("again".into()),
                ..Default::default()
            })
            .await,
        Code::AlreadyExists,
        "ResourceExistsException",
    );

    // A new value: AWSCURRENT moves to it, AWSPREVIOUS to the one before.
    let second = put(client, "db-pass", "two", &[]).await;
    assert_eq!(second.version_stages, ["AWSCURRENT"]);
    assert_eq!(value(client, "db-pass", None).await, "two");
    assert_eq!(value(client, "db-pass", Some("AWSPREVIOUS")).await, "one");
    assert_eq!(value(client, &created.arn, None).await, "two", "by ARN");
    let third = put(client, "db-pass", "three", &["AWSCURRENT"]).await;
    let previous = client
        .get_secret_value("db-pass", Some("AWSPREVIOUS"))
        .await
        .expect("previous");
    assert_eq!(previous.version_id, second.version_id);
    let by_id = client
        .get_secret_value_with(proto::GetSecretValueRequest {
            secret_id: "db-pass".into(),
            version_id: first.clone(),
            ..Default::default()
        })
        .await
        .expect("by version id");
    assert_eq!(by_id.secret_string.as_deref(), Some("one"));
    assert!(
        by_id.version_stages.is_empty(),
        "no label left on the first"
    );

    // A label of our own, then AWSCURRENT moved back by hand.
    let canary = put(client, "db-pass", "four", &["canary"]).await;
    assert_eq!(value(client, "db-pass", Some("canary")).await, "four");
    assert_eq!(value(client, "db-pass", None).await, "three");
    client
        .update_secret_version_stage(proto::UpdateSecretVersionStageRequest {
            secret_id: "db-pass".into(),
            version_stage: "AWSCURRENT".into(),
            move_to_version_id: canary.version_id.clone(),
            remove_from_version_id: third.version_id.clone(),
        })
        .await
        .expect("move AWSCURRENT");
    assert_eq!(value(client, "db-pass", None).await, "four");
    assert_eq!(value(client, "db-pass", Some("AWSPREVIOUS")).await, "three");
    let described = client.describe_secret("db-pass").await.expect("describe");
    let mut labels = described.version_ids_to_stages[&canary.version_id]
        .stages
        .clone();
    labels.sort();
    assert_eq!(labels, ["AWSCURRENT", "canary"]);
    assert_eq!(
        described.version_ids_to_stages[&third.version_id].stages,
        ["AWSPREVIOUS"]
    );
    refused(
        client
            .update_secret_version_stage(proto::UpdateSecretVersionStageRequest {
                secret_id: "db-pass".into(),
                version_stage: "AWSCURRENT".into(),
                remove_from_version_id: canary.version_id.clone(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidParameterException",
    );
    refused(
        client.get_secret_value("db-pass", Some("nope")).await,
        Code::NotFound,
        "ResourceNotFoundException",
    );

    // Binary values, and the listing.
    client
        .create_secret(proto::CreateSecretRequest {
            name: "signing-key".into(),
            secret_binary: Some(vec![0, 159, 146, 150]),
            description: "the webhook key".into(),
            tags: vec![proto::Tag {
                key: "team".into(),
                value: "payments".into(),
            }],
            ..Default::default()
        })
        .await
        .expect("binary secret");
    let binary = client
        .get_secret_value("signing-key", None)
        .await
        .expect("read");
    assert_eq!(
        binary.secret_binary.as_deref(),
        Some(&[0, 159, 146, 150][..])
    );
    assert_eq!(binary.secret_string, None);
    let listed = client
        .list_all_secrets(proto::ListSecretsRequest::default())
        .await
        .expect("list");
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db-pass", "signing-key"]);
    let tagged = client
        .list_all_secrets(proto::ListSecretsRequest {
            filters: vec![proto::Filter {
                key: "tag-value".into(),
                values: vec!["pay".into()],
            }],
            ..Default::default()
        })
        .await
        .expect("filtered");
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0].description, "the webhook key");

    // Deleted with a window: described, not read, restorable.
    refused(
        client
            .delete_secret(proto::DeleteSecretRequest {
                secret_id: "db-pass".into(),
                recovery_window_in_days: Some(3),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidParameterException",
    );
    let deleted = client
        .delete_secret(proto::DeleteSecretRequest {
            secret_id: "db-pass".into(),
            recovery_window_in_days: Some(7),
            ..Default::default()
        })
        .await
        .expect("delete");
    let now = server.client.get_clock().await.expect("clock").time;
    let now_ms = chrono::DateTime::parse_from_rfc3339(&now)
        .expect("RFC 3339")
        .timestamp_millis();
    assert_eq!(deleted.deletion_date, now_ms + 7 * 86_400_000);
    refused(
        client.get_secret_value("db-pass", None).await,
        Code::FailedPrecondition,
        "InvalidRequestException",
    );
    refused(
        client
            .put_secret_value(proto::PutSecretValueRequest {
                secret_id: "db-pass".into(),
                secret_string: Some("five".into()),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "InvalidRequestException",
    );
    assert!(
        client
            .describe_secret("db-pass")
            .await
            .expect("described")
            .deleted_date
            .is_some()
    );
    client.restore_secret("db-pass").await.expect("restore");
    assert_eq!(value(client, "db-pass", None).await, "four");

    // The window passes on the virtual clock: gone, name free again.
    client
        .delete_secret(proto::DeleteSecretRequest {
            secret_id: "db-pass".into(),
            recovery_window_in_days: Some(7),
            ..Default::default()
        })
        .await
        .expect("delete again");
    server
        .client
        .advance_clock(Duration::from_secs(6 * 86_400))
        .await
        .expect("advance");
    assert!(
        client.describe_secret("db-pass").await.is_ok(),
        "still in its window"
    );
    server
        .client
        .advance_clock(Duration::from_secs(86_400))
        .await
        .expect("advance");
    refused(
        client.describe_secret("db-pass").await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    let again = create(client, "db-pass", "new").await;
    assert_ne!(again.arn, created.arn, "a new secret, a new ARN");
    refused(
        client.get_secret_value(&created.arn, None).await,
        Code::NotFound,
        "ResourceNotFoundException",
    );

    // Forced: gone at once.
    client
        .delete_secret(proto::DeleteSecretRequest {
            secret_id: "signing-key".into(),
            force_delete_without_recovery: true,
            ..Default::default()
        })
        .await
        .expect("force delete");
    refused(
        client.get_secret_value("signing-key", None).await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
}

#[tokio::test]
async fn reading_a_secret_needs_a_grant_and_stays_in_its_account() {
    let server = start_server().await;
    let created = create(&server.client, "db-pass", "home-value").await;

    // Another account names its own secrets; ours by ARN is refused.
    let team = server.account_client(TEAM, "team").await;
    refused(
        team.get_secret_value("db-pass", None).await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    refused(
        team.get_secret_value(&created.arn, None).await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    create(&team, "db-pass", "team-value").await;
    assert_eq!(value(&team, "db-pass", None).await, "team-value");
    assert_eq!(value(&server.client, "db-pass", None).await, "home-value");
    let team_secrets = team
        .list_all_secrets(proto::ListSecretsRequest::default())
        .await
        .expect("list");
    assert_eq!(team_secrets.len(), 1);
    assert!(team_secrets[0].arn.contains(&format!(":{TEAM}:")));

    // A user of our account with a read-only policy may describe, not read.
    let reader = server.member("reader", "FunnelReadOnly").await;
    let reader = server.client_as(Some(reader)).await;
    reader.describe_secret("db-pass").await.expect("describe");
    refused(
        reader.get_secret_value("db-pass", None).await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    let invoker = server.member("invoker", "FunnelInvokeOnly").await;
    refused(
        server
            .client_as(Some(invoker))
            .await
            .get_secret_value("db-pass", None)
            .await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );

    // A grant written as for AWS (the ARN's random suffix as ??????).
    server.client.create_user("app").await.expect("user");
    server
        .client
        .put_user_policy(
            "app",
            "read-db-pass",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                "Action":"secretsmanager:GetSecretValue",
                "Resource":"arn:funnel:secretsmanager:local:000000000000:secret:db-pass-??????"}]}"#,
        )
        .await
        .expect("policy");
    let key = server.client.create_access_key("app").await.expect("key");
    let app = server
        .client_as(Some(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await;
    assert_eq!(value(&app, "db-pass", None).await, "home-value");
    create(&server.client, "other", "x").await;
    refused(
        app.get_secret_value("other", None).await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    refused(
        app.describe_secret("db-pass").await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
}

/// Every file under `dir` (sled's included) holding `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn no_value_is_written_to_the_data_dir_in_clear() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    let secret = distinctive("secret-string");
    let binary = distinctive("secret-binary");
    let previous = distinctive("previous-value");
    let secure = distinctive("secure-string");
    let plain = distinctive("plain-string");
    create(&server.client, "db-pass", &previous).await;
    put(&server.client, "db-pass", &secret, &[]).await;
    server
        .client
        .create_secret(proto::CreateSecretRequest {
            name: "blob".into(),
            secret_binary: Some(binary.clone().into_bytes()),
            ..Default::default()
        })
        .await
        .expect("binary");
    for (name, value, kind) in [
        ("/app/pass", &secure, "SecureString"),
        ("/app/url", &plain, "String"),
    ] {
        server
            .client
            .put_parameter(proto::PutParameterRequest {
                name: name.into(),
                value: value.clone(),
                r#type: kind.into(),
                ..Default::default()
            })
            .await
            .expect("parameter");
    }
    // Read back, so reads leave nothing behind either.
    assert_eq!(value(&server.client, "db-pass", None).await, secret);
    let read = server
        .client
        .get_parameter("/app/pass", true)
        .await
        .expect("read");
    assert_eq!(read.value, secure);
    let opaque = server
        .client
        .get_parameter("/app/pass", false)
        .await
        .expect("read");
    assert_ne!(opaque.value, secure, "without decryption: the ciphertext");
    server.stop().await;

    // The search works: the plain String parameter is there.
    assert!(
        !files_holding(dir.path(), plain.as_bytes()).is_empty(),
        "the search would find a value in clear"
    );
    for value in [&secret, &binary, &previous, &secure] {
        let found = files_holding(dir.path(), value.as_bytes());
        assert!(found.is_empty(), "{value} in clear in {found:?}");
    }
}

/// What the data dir's key file holds.
fn key_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("master.key")).expect("master.key")
}

#[tokio::test]
async fn a_rotated_master_key_keeps_everything_readable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = start_server_with(test_config(dir.path())).await;
    first.create("hello", guests::HELLO).await;
    create(&first.client, "db-pass", "rotated-secret").await;
    first
        .client
        .put_parameter(proto::PutParameterRequest {
            name: "/app/pass".into(),
            value: "rotated-parameter".into(),
            r#type: "SecureString".into(),
            ..Default::default()
        })
        .await
        .expect("parameter");
    let account = first
        .client
        .create_account(TEAM, "team")
        .await
        .expect("account");
    let key = account.access_key.expect("the admin's key");
    let team_admin = Credentials::new(key.access_key_id, key.secret_access_key);
    let team = first.client_as(Some(team_admin.clone())).await;
    create(&team, "team-secret", "team-value").await;
    let member = first.member("reader", "FunnelReadOnly").await;
    let operator = first.operator.clone();
    first.stop().await;

    let before = key_of(dir.path());
    let rotation =
        funnel_server::rotate_master_key(dir.path(), None).expect("rotate the master key");
    assert_eq!(
        rotation.access_keys, 3,
        "operator, team admin, reader: {rotation:?}"
    );
    assert_eq!(rotation.data_keys, 2, "the home account's and the team's");
    assert!(rotation.compiled_removed >= 1, "{rotation:?}");
    assert_ne!(key_of(dir.path()), before);

    let second = start_server_with(test_config(dir.path())).await;
    assert_eq!(second.operator, operator, "the same access keys");
    assert_eq!(second.startup_cache.misses, 1, "hello compiled again");
    assert_eq!(
        value(&second.client, "db-pass", None).await,
        "rotated-secret"
    );
    let parameter = second
        .client
        .get_parameter("/app/pass", true)
        .await
        .expect("read");
    assert_eq!(parameter.value, "rotated-parameter");
    let reader = second.client_as(Some(member)).await;
    reader
        .describe_secret("db-pass")
        .await
        .expect("the member's key still works");
    let out = second.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), serde_json::json!({"message": "Hello, Ada!"}));
    // The team's admin key, and its secret through the team's data key.
    let team = second.client_as(Some(team_admin)).await;
    assert_eq!(value(&team, "team-secret", None).await, "team-value");
    second.stop().await;
}

/// Opening `dir` with `config` fails; the error names `key`.
async fn refused_at_start(config: funnel_server::Config, key: &Path) -> String {
    let err = match funnel_server::Server::open_with_clock(config, funnel_server::Clock::manual())
        .await
    {
        Ok(_) => panic!("a server opened with the wrong master key"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains(&key.display().to_string()), "{err}");
    err
}

#[tokio::test]
async fn a_wrong_master_key_is_refused_at_start_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = start_server_with(test_config(dir.path())).await;
    first.create("hello", guests::HELLO).await;
    create(&first.client, "db-pass", "kept-value").await;
    first.stop().await;
    let snapshot = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<(PathBuf, Vec<u8>)> = ["master.key", "credentials"]
            .iter()
            .map(|name| (dir.join(name), std::fs::read(dir.join(name)).expect("read")))
            .collect();
        for entry in std::fs::read_dir(dir.join("compiled"))
            .expect("compiled")
            .flatten()
        {
            files.push((entry.path(), std::fs::read(entry.path()).expect("read")));
        }
        files.sort();
        files
    };
    let before = snapshot(dir.path());

    // Another key named by the operator.
    let other = dir.path().join("other.key");
    std::fs::write(&other, "ab".repeat(32)).expect("write");
    let mut config = test_config(dir.path());
    config.master_key_file = Some(other.clone());
    let err = refused_at_start(config, &other).await;
    assert!(err.contains("not the one"), "{err}");
    assert_eq!(snapshot(dir.path()), before);
    assert_eq!(
        std::fs::read_to_string(&other).expect("read"),
        "ab".repeat(32)
    );

    // The data dir's own key missing: refused, not made again.
    let key = dir.path().join("master.key");
    let kept = std::fs::read(&key).expect("read");
    std::fs::remove_file(&key).expect("remove");
    let err = refused_at_start(test_config(dir.path()), &key).await;
    assert!(err.contains("missing"), "{err}");
    assert!(!key.exists(), "no new key made over sealed data");
    std::fs::write(&key, kept).expect("put back");
    assert_eq!(snapshot(dir.path()), before);

    // With the right key, everything is there.
    let again = start_server_with(test_config(dir.path())).await;
    assert_eq!(again.startup_cache.misses, 0, "the compiled code was kept");
    assert_eq!(value(&again.client, "db-pass", None).await, "kept-value");
    again.stop().await;
}
