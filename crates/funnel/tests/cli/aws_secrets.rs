//! Secrets Manager and Parameter Store through the AWS-compatible
//! endpoint, driven by the real aws CLI against `funnel up`: a secret
//! created, read, given a new version (AWSCURRENT moves, AWSPREVIOUS keeps
//! the old), described, listed, deleted and restored; parameters put
//! (a SecureString read in clear only with decryption), read by path,
//! described and deleted; each service's errors by their AWS names.

use serde_json::json;

use crate::aws_cli::Aws;
use crate::common::Up;

#[test]
fn the_aws_cli_keeps_secrets_and_parameters() {
    if !Aws::available("the aws CLI secrets tests") {
        return;
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start_with(data_dir.path(), &[]);
    let aws = Aws::of(&mut up);

    let made = aws.json(&[
        "secretsmanager",
        "create-secret",
        "--name",
        "db-pass",
        "--secret-string",
        "first",
        "--description",
        "the database's",
    ]);
    let arn = made["ARN"].as_str().expect("ARN").to_string();
    assert!(
        arn.starts_with("arn:funnel:secretsmanager:local:000000000000:secret:db-pass-"),
        "{made}"
    );
    let got = aws.json(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "db-pass",
    ]);
    assert_eq!(got["SecretString"], "first", "{got}");
    assert_eq!(got["VersionStages"], json!(["AWSCURRENT"]), "{got}");
    assert!(got["CreatedDate"].is_number(), "{got}");
    let first_version = got["VersionId"].clone();

    aws.json(&[
        "secretsmanager",
        "put-secret-value",
        "--secret-id",
        &arn,
        "--secret-string",
        "second",
    ]);
    let current = aws.json(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "db-pass",
    ]);
    assert_eq!(current["SecretString"], "second");
    let previous = aws.json(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "db-pass",
        "--version-stage",
        "AWSPREVIOUS",
    ]);
    assert_eq!(previous["SecretString"], "first");
    assert_eq!(previous["VersionId"], first_version);

    let described = aws.json(&[
        "secretsmanager",
        "describe-secret",
        "--secret-id",
        "db-pass",
    ]);
    assert_eq!(described["Description"], "the database's", "{described}");
    assert_eq!(
        described["VersionIdsToStages"].as_object().map(|m| m.len()),
        Some(2),
        "{described}"
    );
    let listed = aws.json(&["secretsmanager", "list-secrets"]);
    assert_eq!(listed["SecretList"][0]["Name"], "db-pass", "{listed}");

    let deleted = aws.json(&[
        "secretsmanager",
        "delete-secret",
        "--secret-id",
        "db-pass",
        "--recovery-window-in-days",
        "7",
    ]);
    assert!(deleted["DeletionDate"].is_number(), "{deleted}");
    aws.fails_with(
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "db-pass",
        ],
        "InvalidRequestException",
    );
    aws.json(&["secretsmanager", "restore-secret", "--secret-id", "db-pass"]);
    let back = aws.json(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "db-pass",
    ]);
    assert_eq!(back["SecretString"], "second");
    aws.fails_with(
        &["secretsmanager", "get-secret-value", "--secret-id", "nope"],
        "ResourceNotFoundException",
    );
    aws.fails_with(
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "db-pass",
            "--secret-string",
            "x",
        ],
        "ResourceExistsException",
    );

    // Parameters.
    let put = aws.json(&[
        "ssm",
        "put-parameter",
        "--name",
        "/app/prod/db-url",
        "--value",
        "postgres://db",
        "--type",
        "String",
    ]);
    assert_eq!(put["Version"], 1, "{put}");
    aws.json(&[
        "ssm",
        "put-parameter",
        "--name",
        "/app/prod/token",
        "--value",
        "s3cr3t",
        "--type",
        "SecureString",
    ]);
    let plain = aws.json(&["ssm", "get-parameter", "--name", "/app/prod/db-url"]);
    assert_eq!(plain["Parameter"]["Value"], "postgres://db", "{plain}");
    let sealed = aws.json(&["ssm", "get-parameter", "--name", "/app/prod/token"]);
    assert_ne!(sealed["Parameter"]["Value"], "s3cr3t", "{sealed}");
    let clear = aws.json(&[
        "ssm",
        "get-parameter",
        "--name",
        "/app/prod/token",
        "--with-decryption",
    ]);
    assert_eq!(clear["Parameter"]["Value"], "s3cr3t", "{clear}");
    let by_path = aws.json(&[
        "ssm",
        "get-parameters-by-path",
        "--path",
        "/app/prod",
        "--with-decryption",
    ]);
    let mut names: Vec<&str> = by_path["Parameters"]
        .as_array()
        .expect("Parameters")
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["/app/prod/db-url", "/app/prod/token"], "{by_path}");
    let some = aws.json(&[
        "ssm",
        "get-parameters",
        "--names",
        "/app/prod/db-url",
        "/app/none",
    ]);
    assert_eq!(some["InvalidParameters"], json!(["/app/none"]), "{some}");
    let described = aws.json(&["ssm", "describe-parameters"]);
    assert_eq!(
        described["Parameters"].as_array().map(Vec::len),
        Some(2),
        "{described}"
    );
    aws.fails_with(
        &[
            "ssm",
            "put-parameter",
            "--name",
            "/app/prod/db-url",
            "--value",
            "other",
            "--type",
            "String",
        ],
        "ParameterAlreadyExists",
    );
    aws.json(&["ssm", "delete-parameter", "--name", "/app/prod/db-url"]);
    aws.fails_with(
        &["ssm", "get-parameter", "--name", "/app/prod/db-url"],
        "ParameterNotFound",
    );
    drop(up);
}
