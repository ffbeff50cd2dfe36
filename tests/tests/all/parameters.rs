//! Parameter Store's model through the real client: the overwrite rule,
//! versions, reads by path, SecureStrings sealed unless decrypted, and
//! who may read.

use funnel_client::{Client, Code, Error, proto};
use funnel_tests::start_server;

fn refused<T: std::fmt::Debug>(result: Result<T, Error>, code: Code, name: &str) -> Error {
    let err = result.expect_err("refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(err.error_type.as_deref(), Some(name), "{err}");
    err
}

fn request(name: &str, value: &str, kind: &str, overwrite: bool) -> proto::PutParameterRequest {
    proto::PutParameterRequest {
        name: name.into(),
        value: value.into(),
        r#type: kind.into(),
        overwrite,
        ..Default::default()
    }
}

async fn put(client: &Client, name: &str, value: &str, kind: &str) -> i64 {
    client
        .put_parameter(request(name, value, kind, false))
        .await
        .unwrap_or_else(|err| panic!("putting {name}: {err}"))
        .version
}

fn names(parameters: &[proto::Parameter]) -> Vec<&str> {
    parameters.iter().map(|p| p.name.as_str()).collect()
}

#[tokio::test]
async fn parameters_keep_versions_and_need_overwrite() {
    let server = start_server().await;
    let client = &server.client;
    assert_eq!(
        put(client, "/app/db-url", "postgres://one", "String").await,
        1
    );
    refused(
        client
            .put_parameter(request("/app/db-url", "postgres://two", "String", false))
            .await,
        Code::AlreadyExists,
        "ParameterAlreadyExists",
    );
    let second = client
        .put_parameter(request("/app/db-url", "postgres://two", "", true))
        .await
        .expect("overwrite");
    assert_eq!((second.version, second.tier.as_str()), (2, "Standard"));
    let got = client
        .get_parameter("/app/db-url", false)
        .await
        .expect("get");
    assert_eq!(
        (got.value.as_str(), got.version, got.r#type.as_str()),
        ("postgres://two", 2, "String"),
        "the type kept on overwrite"
    );
    assert_eq!(
        got.arn,
        "arn:funnel:ssm:local:000000000000:parameter/app/db-url"
    );
    let first = client
        .get_parameter("/app/db-url:1", false)
        .await
        .expect("v1");
    assert_eq!(
        (first.value.as_str(), first.selector.as_str()),
        ("postgres://one", ":1")
    );
    refused(
        client.get_parameter("/app/db-url:9", false).await,
        Code::NotFound,
        "ParameterVersionNotFound",
    );
    refused(
        client.get_parameter("/app/nope", false).await,
        Code::NotFound,
        "ParameterNotFound",
    );
    for bad in ["app/no-slash", "/aws/reserved", "/a//b", "/has space"] {
        refused(
            client
                .put_parameter(request(bad, "v", "String", false))
                .await,
            Code::InvalidArgument,
            "ValidationException",
        );
    }
    refused(
        client.put_parameter(request("/new", "v", "", false)).await,
        Code::InvalidArgument,
        "ValidationException",
    );
    refused(
        client
            .put_parameter(request("/big", &"x".repeat(4097), "String", false))
            .await,
        Code::InvalidArgument,
        "ValidationException",
    );

    // A SecureString: sealed unless read with decryption.
    put(
        client,
        "/app/db-pass",
        "correct horse battery staple",
        "SecureString",
    )
    .await;
    let sealed = client
        .get_parameter("/app/db-pass", false)
        .await
        .expect("get");
    assert_eq!(sealed.r#type, "SecureString");
    assert_ne!(sealed.value, "correct horse battery staple");
    assert!(!sealed.value.contains("horse"));
    let clear = client
        .get_parameter("/app/db-pass", true)
        .await
        .expect("get");
    assert_eq!(clear.value, "correct horse battery staple");

    // By path, one level or all; the plain names and the path itself aside.
    put(client, "/app/prod/region", "eu", "StringList").await;
    put(client, "/app/prod/deep/flag", "on", "String").await;
    put(client, "/app", "the path itself", "String").await;
    put(client, "plain", "p", "String").await;
    let one = client
        .get_all_parameters_by_path("/app", false, true)
        .await
        .expect("by path");
    assert_eq!(names(&one), ["/app/db-pass", "/app/db-url"]);
    assert_eq!(one[0].value, "correct horse battery staple");
    let all = client
        .get_all_parameters_by_path("/app/", true, false)
        .await
        .expect("recursive");
    assert_eq!(
        names(&all),
        [
            "/app/db-pass",
            "/app/db-url",
            "/app/prod/deep/flag",
            "/app/prod/region"
        ]
    );
    assert_ne!(all[0].value, "correct horse battery staple");
    // Pages of at most 10, followed by the client.
    for i in 0..12 {
        put(client, &format!("/many/p{i:02}"), "v", "String").await;
    }
    let page = client
        .get_parameters_by_path(proto::GetParametersByPathRequest {
            path: "/many".into(),
            ..Default::default()
        })
        .await
        .expect("page");
    assert_eq!(page.parameters.len(), 10);
    assert!(!page.next_token.is_empty());
    let many = client
        .get_all_parameters_by_path("/many", false, false)
        .await
        .expect("all pages");
    assert_eq!(many.len(), 12);

    let got = client
        .get_parameters(vec!["/app/db-url".into(), "/missing".into()], false)
        .await
        .expect("get parameters");
    assert_eq!(names(&got.parameters), ["/app/db-url"]);
    assert_eq!(got.invalid_parameters, ["/missing"]);

    let described = client
        .describe_all_parameters(vec![proto::ParameterStringFilter {
            key: "Path".into(),
            option: "Recursive".into(),
            values: vec!["/app".into()],
        }])
        .await
        .expect("describe");
    let secure: Vec<_> = described
        .iter()
        .filter(|p| p.r#type == "SecureString")
        .collect();
    assert_eq!(secure.len(), 1);
    assert_eq!(secure[0].key_id, "alias/aws/ssm");
    assert_eq!(
        secure[0].last_modified_user,
        "arn:funnel:iam::000000000000:user/operator"
    );
    assert_eq!(described.len(), 4);

    client
        .delete_parameter("/app/db-url")
        .await
        .expect("delete");
    refused(
        client.get_parameter("/app/db-url:1", false).await,
        Code::NotFound,
        "ParameterNotFound",
    );
    refused(
        client.delete_parameter("/app/db-url").await,
        Code::NotFound,
        "ParameterNotFound",
    );
}

#[tokio::test]
async fn reading_a_parameter_needs_a_grant_and_stays_in_its_account() {
    let server = start_server().await;
    put(
        &server.client,
        "/app/db-pass",
        "home-secret",
        "SecureString",
    )
    .await;

    let reader = server.member("reader", "FunnelReadOnly").await;
    let reader = server.client_as(Some(reader)).await;
    let listed = reader
        .describe_all_parameters(vec![])
        .await
        .expect("described");
    assert_eq!(listed.len(), 1);
    for denied in [
        reader.get_parameter("/app/db-pass", true).await.map(|_| ()),
        reader
            .get_all_parameters_by_path("/app", true, true)
            .await
            .map(|_| ()),
        reader
            .get_parameters(vec!["/app/db-pass".into()], true)
            .await
            .map(|_| ()),
    ] {
        refused(denied, Code::PermissionDenied, "AccessDeniedException");
    }

    let team = server.account_client("111111111111", "team").await;
    refused(
        team.get_parameter("/app/db-pass", true).await,
        Code::NotFound,
        "ParameterNotFound",
    );
    refused(
        team.get_parameter(
            "arn:funnel:ssm:local:000000000000:parameter/app/db-pass",
            true,
        )
        .await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    put(&team, "/app/db-pass", "team-secret", "SecureString").await;
    let theirs = team.get_parameter("/app/db-pass", true).await.expect("get");
    assert_eq!(theirs.value, "team-secret");
    assert_eq!(
        theirs.arn,
        "arn:funnel:ssm:local:111111111111:parameter/app/db-pass"
    );
    let ours = server
        .client
        .get_parameter("/app/db-pass", true)
        .await
        .expect("get");
    assert_eq!(ours.value, "home-secret");
}
