//! `funnel secretsmanager` and `funnel ssm` from the command line, with
//! the aws CLI's flags and JSON; `funnel admin rotate-master-key` on a
//! stopped server's data dir (refused while it serves), after which the
//! next start reads everything as before.

use crate::common::{funnel, ok, register};
use crate::crash::Served;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(ok(out).trim()).expect("JSON on stdout")
}

fn failed(out: &std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn secrets_and_parameters_from_the_command_line_and_a_rotated_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let mut served = Served::start_with(&data_dir, &[]);
    let endpoint = served.endpoint.clone();
    register(&endpoint, &data_dir);
    let cli = |args: &[&str]| funnel(&endpoint, args);

    let created = json(&cli(&[
        "secretsmanager",
        "create-secret",
        "--name",
        "db-pass",
        "--secret-string",
        "first",
        "--description",
        "the database",
        "--tags",
        "Key=team,Value=payments",
    ]));
    let arn = created["ARN"].as_str().expect("ARN").to_string();
    assert!(arn.starts_with("arn:funnel:secretsmanager:local:000000000000:secret:db-pass-"));
    let put = json(&cli(&[
        "secretsmanager",
        "put-secret-value",
        "--secret-id",
        "db-pass",
        "--secret-string",
        "second",
    ]));
    assert_eq!(put["VersionStages"], serde_json::json!(["AWSCURRENT"]));
    let got = json(&cli(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        &arn,
    ]));
    assert_eq!(got["SecretString"], "second");
    assert_eq!(got["VersionStages"], serde_json::json!(["AWSCURRENT"]));
    assert!(got["CreatedDate"].as_f64().is_some(), "{got}");
    let previous = json(&cli(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "db-pass",
        "--version-stage",
        "AWSPREVIOUS",
    ]));
    assert_eq!(previous["SecretString"], "first");
    let key_file = dir.path().join("key.bin");
    std::fs::write(&key_file, [0u8, 1, 2, 255]).expect("write");
    ok(&cli(&[
        "secretsmanager",
        "create-secret",
        "--name",
        "signing-key",
        "--secret-binary",
        &format!("fileb://{}", key_file.display()),
    ]));
    let binary = json(&cli(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "signing-key",
    ]));
    assert_eq!(binary["SecretBinary"], "AAEC/w==");
    let described = json(&cli(&[
        "secretsmanager",
        "describe-secret",
        "--secret-id",
        "db-pass",
    ]));
    assert_eq!(described["Description"], "the database");
    assert_eq!(
        described["Tags"],
        serde_json::json!([{"Key": "team", "Value": "payments"}])
    );
    assert_eq!(
        described["VersionIdsToStages"]
            .as_object()
            .expect("map")
            .len(),
        2
    );
    let listed = json(&cli(&[
        "secretsmanager",
        "list-secrets",
        "--filters",
        "Key=name,Values=db",
    ]));
    assert_eq!(listed["SecretList"].as_array().expect("list").len(), 1);
    let deleted = json(&cli(&[
        "secretsmanager",
        "delete-secret",
        "--secret-id",
        "signing-key",
        "--recovery-window-in-days",
        "7",
    ]));
    assert!(deleted["DeletionDate"].as_f64().is_some(), "{deleted}");
    let said = failed(&cli(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "signing-key",
    ]));
    assert!(said.contains("InvalidRequestException"), "{said}");
    ok(&cli(&[
        "secretsmanager",
        "restore-secret",
        "--secret-id",
        "signing-key",
    ]));

    let version = json(&cli(&[
        "ssm",
        "put-parameter",
        "--name",
        "/app/db-url",
        "--value",
        "postgres://db/app",
        "--type",
        "SecureString",
    ]));
    assert_eq!(
        version,
        serde_json::json!({"Version": 1, "Tier": "Standard"})
    );
    let said = failed(&cli(&[
        "ssm",
        "put-parameter",
        "--name",
        "/app/db-url",
        "--value",
        "postgres://db/other",
    ]));
    assert!(said.contains("ParameterAlreadyExists"), "{said}");
    let version = json(&cli(&[
        "ssm",
        "put-parameter",
        "--name",
        "/app/db-url",
        "--value",
        "postgres://db/v2",
        "--overwrite",
    ]));
    assert_eq!(version["Version"], 2);
    ok(&cli(&[
        "ssm",
        "put-parameter",
        "--name",
        "/app/deep/flag",
        "--value",
        "on",
        "--type",
        "String",
    ]));
    let opaque = json(&cli(&["ssm", "get-parameter", "--name", "/app/db-url"]));
    assert_ne!(opaque["Parameter"]["Value"], "postgres://db/v2");
    let clear = json(&cli(&[
        "ssm",
        "get-parameter",
        "--name",
        "/app/db-url",
        "--with-decryption",
    ]));
    assert_eq!(clear["Parameter"]["Value"], "postgres://db/v2");
    assert_eq!(clear["Parameter"]["Type"], "SecureString");
    let one_level = json(&cli(&["ssm", "get-parameters-by-path", "--path", "/app"]));
    assert_eq!(one_level["Parameters"].as_array().expect("list").len(), 1);
    let all = json(&cli(&[
        "ssm",
        "get-parameters-by-path",
        "--path",
        "/app",
        "--recursive",
    ]));
    assert_eq!(all["Parameters"].as_array().expect("list").len(), 2);
    let described = json(&cli(&[
        "ssm",
        "describe-parameters",
        "--parameter-filters",
        "Key=Type,Option=Equals,Values=SecureString",
    ]));
    assert_eq!(described["Parameters"][0]["Name"], "/app/db-url");
    assert_eq!(described["Parameters"][0]["KeyId"], "alias/aws/ssm");

    // Rotating while the server serves is refused (its store is locked).
    let rotate = || {
        funnel(
            "http://127.0.0.1:9",
            &[
                "admin",
                "rotate-master-key",
                "--data-dir",
                data_dir.to_str().unwrap(),
            ],
        )
    };
    let said = failed(&rotate());
    assert!(said.contains("stop the server"), "{said}");
    served.kill_9();
    let key_before = std::fs::read_to_string(data_dir.join("master.key")).expect("key");
    let rotated = json(&rotate());
    assert_eq!(rotated["AccessKeys"], 1, "{rotated}");
    assert_eq!(rotated["DataKeys"], 1, "{rotated}");
    assert_ne!(
        std::fs::read_to_string(data_dir.join("master.key")).expect("key"),
        key_before
    );

    let again = Served::start_with(&data_dir, &[]);
    register(&again.endpoint, &data_dir);
    let got = json(&funnel(
        &again.endpoint,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "db-pass",
        ],
    ));
    assert_eq!(got["SecretString"], "second");
    let clear = json(&funnel(
        &again.endpoint,
        &[
            "ssm",
            "get-parameter",
            "--name",
            "/app/db-url",
            "--with-decryption",
        ],
    ));
    assert_eq!(clear["Parameter"]["Value"], "postgres://db/v2");
}
