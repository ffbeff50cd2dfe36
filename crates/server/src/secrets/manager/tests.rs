use super::super::tests::{OTHER, TEAM, vault};
use super::*;

fn string(s: &str) -> Option<SecretPayload> {
    Some(SecretPayload::String(s.into()))
}

async fn create(vault: &Vault, name: &str, value: &str) -> SecretRecord {
    vault
        .create_secret(
            TEAM,
            NewSecret {
                name: name.into(),
                description: String::new(),
                value: string(value),
                tags: vec![],
                client_request_token: String::new(),
            },
        )
        .await
        .unwrap()
        .0
}

fn current(vault: &Vault, id: &str) -> String {
    vault
        .secret_value(TEAM, id, None)
        .unwrap()
        .secret_string
        .unwrap()
}

#[tokio::test]
async fn versions_move_awscurrent_and_awsprevious() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let record = create(&vault, "db-pass", "one").await;
    assert!(
        record
            .arn
            .starts_with("arn:funnel:secretsmanager:local:111111111111:secret:db-pass-")
    );
    assert_eq!(
        record.arn.len(),
        "arn:funnel:secretsmanager:local:111111111111:secret:db-pass-".len() + 6
    );
    let (_, two, stages) = vault
        .put_secret_value(TEAM, "db-pass", string("two").unwrap(), "", vec![])
        .await
        .unwrap();
    assert_eq!(stages, [CURRENT]);
    assert_eq!(current(&vault, "db-pass"), "two");
    let previous = vault.secret_value(TEAM, "db-pass", Some(PREVIOUS)).unwrap();
    assert_eq!(previous.secret_string.as_deref(), Some("one"));
    assert_eq!(previous.version_stages, [PREVIOUS]);
    // By ARN, full or without its suffix.
    assert_eq!(current(&vault, &record.arn), "two");
    let partial = record.arn[..record.arn.len() - 7].to_string();
    assert_eq!(current(&vault, &partial), "two");
    // Another account's ARN or name is not found from this one.
    assert!(matches!(
        vault.secret_value(OTHER, &record.arn, None),
        Err(Error::ResourceNotFound(_))
    ));
    assert!(matches!(
        vault.secret_value(OTHER, "db-pass", None),
        Err(Error::ResourceNotFound(_))
    ));

    // A custom label, then moved back to the first version.
    let (_, three, _) = vault
        .put_secret_value(
            TEAM,
            "db-pass",
            string("three").unwrap(),
            "",
            vec!["canary".into()],
        )
        .await
        .unwrap();
    assert_eq!(
        current(&vault, "db-pass"),
        "two",
        "a custom label alone leaves AWSCURRENT"
    );
    let canary = vault.secret_value(TEAM, "db-pass", Some("canary")).unwrap();
    assert_eq!(canary.version_id, three);
    let moved = vault
        .update_secret_version_stage(TEAM, "db-pass", CURRENT, Some(&three), None)
        .await;
    assert!(
        matches!(moved, Err(Error::InvalidParameter(_))),
        "RemoveFromVersionId is needed"
    );
    vault
        .update_secret_version_stage(TEAM, "db-pass", CURRENT, Some(&three), Some(&two))
        .await
        .unwrap();
    assert_eq!(current(&vault, "db-pass"), "three");
    let previous = vault.secret_value(TEAM, "db-pass", Some(PREVIOUS)).unwrap();
    assert_eq!(previous.version_id, two);
    let removed = vault
        .update_secret_version_stage(TEAM, "db-pass", CURRENT, None, Some(&three))
        .await;
    assert!(matches!(removed, Err(Error::InvalidParameter(_))));
    vault
        .update_secret_version_stage(TEAM, "db-pass", "canary", None, Some(&three))
        .await
        .unwrap();
    assert!(matches!(
        vault.secret_value(TEAM, "db-pass", Some("canary")),
        Err(Error::ResourceNotFound(_))
    ));
    // A version by id.
    let (first, _) = vault
        .get_secret_value(TEAM, "db-pass", Some(&record.stages[CURRENT]), None)
        .unwrap();
    assert_eq!(first.secret_string.as_deref(), Some("one"));
    assert!(first.version_stages.is_empty());
}

#[tokio::test]
async fn a_token_makes_a_put_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    create(&vault, "api", "one").await;
    let token = "0123456789abcdef0123456789abcdef";
    let (_, id, _) = vault
        .put_secret_value(TEAM, "api", string("two").unwrap(), token, vec![])
        .await
        .unwrap();
    assert_eq!(id, token);
    let (_, again, _) = vault
        .put_secret_value(TEAM, "api", string("two").unwrap(), token, vec![])
        .await
        .unwrap();
    assert_eq!(again, token);
    assert_eq!(
        vault
            .secret_value(TEAM, "api", Some(PREVIOUS))
            .unwrap()
            .secret_string
            .as_deref(),
        Some("one"),
        "the repeat changed nothing"
    );
    let other = vault
        .put_secret_value(TEAM, "api", string("three").unwrap(), token, vec![])
        .await;
    assert!(matches!(other, Err(Error::ResourceExists(_))));
}

#[tokio::test]
async fn binary_values_and_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    vault
        .create_secret(
            TEAM,
            NewSecret {
                name: "key".into(),
                description: "a signing key".into(),
                value: Some(SecretPayload::Binary(vec![0, 1, 2, 255])),
                tags: vec![],
                client_request_token: String::new(),
            },
        )
        .await
        .unwrap();
    let value = vault.secret_value(TEAM, "key", None).unwrap();
    assert_eq!(value.secret_binary.as_deref(), Some(&[0, 1, 2, 255][..]));
    assert_eq!(value.secret_string, None);
    let big = "x".repeat(MAX_VALUE_BYTES);
    assert!(SecretPayload::of(Some(big.clone()), None, true).is_ok());
    assert!(matches!(
        SecretPayload::of(Some(big + "x"), None, true),
        Err(Error::InvalidParameter(_))
    ));
    assert!(matches!(
        SecretPayload::of(Some("a".into()), Some(vec![1]), true),
        Err(Error::InvalidParameter(_))
    ));
    assert!(SecretPayload::of(None, None, false).unwrap().is_none());
}

#[tokio::test]
async fn deletion_waits_for_its_window_and_can_be_undone() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    create(&vault, "db", "one").await;
    assert!(matches!(
        vault.delete_secret(TEAM, "db", Some(6), false).await,
        Err(Error::InvalidParameter(_))
    ));
    assert!(matches!(
        vault.delete_secret(TEAM, "db", Some(7), true).await,
        Err(Error::InvalidParameter(_))
    ));
    let (_, at) = vault
        .delete_secret(TEAM, "db", Some(7), false)
        .await
        .unwrap();
    assert_eq!(at, vault.now_ms() + 7 * DAY_MS);
    assert!(matches!(
        vault.secret_value(TEAM, "db", None),
        Err(Error::InvalidRequestState(_))
    ));
    assert!(
        vault
            .describe_secret(TEAM, "db")
            .unwrap()
            .deleted_ms
            .is_some()
    );
    assert!(
        vault
            .list_secrets(TEAM, false, &[], "", 10)
            .unwrap()
            .0
            .is_empty()
    );
    assert_eq!(
        vault.list_secrets(TEAM, true, &[], "", 10).unwrap().0.len(),
        1
    );
    vault.restore_secret(TEAM, "db").await.unwrap();
    assert_eq!(current(&vault, "db"), "one");

    // The window ends: the secret is gone, and the name free again.
    vault.delete_secret(TEAM, "db", None, false).await.unwrap();
    vault.inner.clock.advance(std::time::Duration::from_millis(
        (DEFAULT_RECOVERY_DAYS * DAY_MS) as u64,
    ));
    assert!(matches!(
        vault.describe_secret(TEAM, "db"),
        Err(Error::ResourceNotFound(_))
    ));
    assert!(
        vault
            .store()
            .secret_versions(TEAM, "db")
            .unwrap()
            .is_empty()
    );
    let again = create(&vault, "db", "new").await;
    assert_eq!(current(&vault, &again.arn), "new");

    // Forced: gone at once.
    vault.delete_secret(TEAM, "db", None, true).await.unwrap();
    assert!(matches!(
        vault.restore_secret(TEAM, "db").await,
        Err(Error::ResourceNotFound(_))
    ));
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    for name in ["app/a", "app/b", "db", "App/c"] {
        create(&vault, name, "v").await;
    }
    let names = |filters: &[SecretFilter], limit| -> (Vec<String>, Option<String>) {
        let (records, next) = vault.list_secrets(TEAM, false, filters, "", limit).unwrap();
        (records.into_iter().map(|r| r.name).collect(), next)
    };
    let filter = |key: &str, value: &str| SecretFilter {
        key: key.into(),
        values: vec![value.into()],
    };
    assert_eq!(names(&[], 10).0, ["App/c", "app/a", "app/b", "db"]);
    assert_eq!(
        names(&[filter("name", "app/")], 10).0,
        ["App/c", "app/a", "app/b"]
    );
    assert_eq!(names(&[filter("name", "!app")], 10).0, ["db"]);
    let (page, next) = names(&[], 2);
    assert_eq!(page, ["App/c", "app/a"]);
    let (rest, end) = vault
        .list_secrets(TEAM, false, &[], next.as_deref().unwrap(), 2)
        .unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(end, None);
    assert!(matches!(
        vault.list_secrets(TEAM, false, &[filter("color", "x")], "", 10),
        Err(Error::InvalidParameter(_))
    ));
}

#[tokio::test]
async fn a_sealed_value_opens_only_in_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let a = create(&vault, "a", "alpha").await;
    let b = create(&vault, "b", "beta").await;
    // Move a's sealed version into b's place: it must not open there.
    let store = vault.store();
    let a_version = store
        .secret_version(TEAM, "a", &a.stages[CURRENT])
        .unwrap()
        .unwrap();
    let mut planted = a_version.clone();
    planted.version_id = b.stages[CURRENT].clone();
    store.write_secret(&b, &[planted], &[]).unwrap();
    assert!(matches!(
        vault.secret_value(TEAM, "b", None),
        Err(Error::DecryptionFailure(_))
    ));
    assert_eq!(current(&vault, "a"), "alpha");
    // Nothing stored holds the value in clear.
    assert!(!a_version.sealed.contains(&hex::encode("alpha")));
}
