use super::super::tests::{TEAM, vault};
use super::*;

fn put(name: &str, value: &str, kind: &str, overwrite: bool) -> PutParameter {
    PutParameter {
        name: name.into(),
        value: value.into(),
        kind: (!kind.is_empty()).then(|| kind.to_string()),
        description: None,
        overwrite,
        tier: String::new(),
        data_type: String::new(),
        tags: vec![],
        user_arn: "arn:funnel:iam::111111111111:user/admin".into(),
    }
}

#[tokio::test]
async fn overwrite_is_needed_and_versions_count_up() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let (v, tier) = vault
        .put_parameter(TEAM, put("/app/db-url", "one", STRING, false))
        .await
        .unwrap();
    assert_eq!((v, tier.as_str()), (1, "Standard"));
    assert!(matches!(
        vault
            .put_parameter(TEAM, put("/app/db-url", "two", STRING, false))
            .await,
        Err(Error::ParameterAlreadyExists(_))
    ));
    let (v, _) = vault
        .put_parameter(TEAM, put("/app/db-url", "two", "", true))
        .await
        .unwrap();
    assert_eq!(v, 2);
    let value = vault.parameter(TEAM, "/app/db-url", false).unwrap();
    assert_eq!(
        (value.value.as_str(), value.version, value.kind.as_str()),
        ("two", 2, STRING)
    );
    assert_eq!(
        value.arn,
        "arn:funnel:ssm:local:111111111111:parameter/app/db-url"
    );
    assert_eq!(
        vault.parameter(TEAM, "/app/db-url:1", false).unwrap().value,
        "one"
    );
    assert_eq!(
        vault.parameter(TEAM, &value.arn, false).unwrap().value,
        "two"
    );
    assert!(matches!(
        vault.parameter(TEAM, "/app/db-url:3", false),
        Err(Error::ParameterVersionNotFound(_))
    ));
    assert!(matches!(
        vault.parameter(TEAM, "/app/nope", false),
        Err(Error::ParameterNotFound(_))
    ));
    assert!(matches!(
        vault.parameter("222222222222", "/app/db-url", false),
        Err(Error::ParameterNotFound(_))
    ));
    vault.delete_parameter(TEAM, "/app/db-url").await.unwrap();
    assert!(matches!(
        vault.delete_parameter(TEAM, "/app/db-url").await,
        Err(Error::ParameterNotFound(_))
    ));
    // Plain names too, and the rules on names.
    vault
        .put_parameter(TEAM, put("plain", "p", STRING_LIST, false))
        .await
        .unwrap();
    assert_eq!(vault.parameter(TEAM, "plain", false).unwrap().value, "p");
    for bad in ["app/x", "/app/", "/a//b", "/aws/x", "SSM-x", "/a b", ""] {
        assert!(
            matches!(
                vault
                    .put_parameter(TEAM, put(bad, "v", STRING, false))
                    .await,
                Err(Error::Validation(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        vault.put_parameter(TEAM, put("/new", "v", "", false)).await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        vault
            .put_parameter(TEAM, put("/new", "v", "Secret", false))
            .await,
        Err(Error::Validation(_))
    ));
    let big = "x".repeat(STANDARD_VALUE_CHARS + 1);
    assert!(matches!(
        vault
            .put_parameter(TEAM, put("/big", &big, STRING, false))
            .await,
        Err(Error::Validation(_))
    ));
    let mut advanced = put("/big", &big, STRING, false);
    advanced.tier = ADVANCED.into();
    assert_eq!(
        vault.put_parameter(TEAM, advanced).await.unwrap().1,
        ADVANCED
    );
}

#[tokio::test]
async fn secure_strings_are_sealed_and_opened_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    vault
        .put_parameter(TEAM, put("/app/pass", "s3cr3t-value", SECURE_STRING, false))
        .await
        .unwrap();
    let stored = vault
        .store()
        .parameter(TEAM, "/app/pass", None)
        .unwrap()
        .unwrap();
    assert!(!stored.value.contains("s3cr3t"));
    let opaque = vault.parameter(TEAM, "/app/pass", false).unwrap();
    assert_ne!(opaque.value, "s3cr3t-value");
    assert!(!opaque.value.is_empty());
    let clear = vault.parameter(TEAM, "/app/pass", true).unwrap();
    assert_eq!(clear.value, "s3cr3t-value");
    // Its sealed value moved to another parameter does not open.
    let mut moved = stored.clone();
    moved.name = "/app/other".into();
    vault.store().put_parameter(&moved, &[]).unwrap();
    assert!(matches!(
        vault.parameter(TEAM, "/app/other", true),
        Err(Error::DecryptionFailure(_))
    ));
}

#[tokio::test]
async fn by_path_one_level_or_all_and_described() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    for name in ["/app/a", "/app/b/c", "/app/b/d/e", "/apple", "/app"] {
        vault
            .put_parameter(TEAM, put(name, name, STRING, false))
            .await
            .unwrap();
    }
    vault
        .put_parameter(TEAM, put("/app/s", "hidden", SECURE_STRING, false))
        .await
        .unwrap();
    let names = |recursive, decrypt| -> Vec<(String, String)> {
        vault
            .parameters_by_path(TEAM, "/app", recursive, decrypt)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect()
    };
    let one = names(false, true);
    assert_eq!(
        one.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["/app/a", "/app/s"]
    );
    assert_eq!(one[1].1, "hidden");
    let all = names(true, false);
    assert_eq!(
        all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["/app/a", "/app/b/c", "/app/b/d/e", "/app/s"]
    );
    assert_ne!(all[3].1, "hidden");
    let paged = vault
        .get_parameters_by_path(TEAM, "/app/", true, false, "/app/b/c", 2)
        .unwrap();
    assert_eq!(paged.len(), 2);
    assert_eq!(paged[0].0.name, "/app/b/d/e");
    assert!(matches!(
        vault.get_parameters_by_path(TEAM, "app", true, false, "", 10),
        Err(Error::Validation(_))
    ));

    let described = |filters: &[ParameterFilter]| -> Vec<String> {
        vault
            .describe_parameters(TEAM, filters, "", 50)
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect()
    };
    let filter = |key: &str, option: &str, value: &str| ParameterFilter {
        key: key.into(),
        option: option.into(),
        values: vec![value.into()],
    };
    assert_eq!(described(&[]).len(), 6);
    assert_eq!(
        described(&[filter("Type", "Equals", SECURE_STRING)]),
        ["/app/s"]
    );
    assert_eq!(
        described(&[filter("Name", "BeginsWith", "/appl")]),
        ["/apple"]
    );
    assert_eq!(
        described(&[filter("Path", "OneLevel", "/app/b")]),
        ["/app/b/c"]
    );
    assert_eq!(
        described(&[filter("Path", "Recursive", "/app/b")]),
        ["/app/b/c", "/app/b/d/e"]
    );
}
