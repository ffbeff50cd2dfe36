//! The AWS-compatible endpoint as a user meets it: `funnel up` prints the
//! exports, and the real aws CLI (signing with SigV4 from funnel's own
//! credentials file) invokes the example stack's `hello`, reads functions
//! and asks who it is; a wrong secret and an unknown key are refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::aws_cli::Aws;
use crate::common::{Up, funnel, ok};

/// A credentials file for `id` and `secret`.
fn credentials_file(dir: &Path, id: &str, secret: &str) -> PathBuf {
    let path = dir.join(format!("credentials-{id}"));
    std::fs::write(
        &path,
        format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    )
    .expect("write credentials");
    path
}

#[test]
fn the_aws_cli_invokes_and_reads_functions_with_funnels_own_keys() {
    if !Aws::available("the aws CLI tests") {
        return;
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let grpc_endpoint = up.endpoint();
    let aws = Aws::of(&mut up);
    let out_file = data_dir.path().join("out.json");
    let out_path = out_file.to_str().unwrap();

    // The issue's command: the greeting lands in out.json.
    let said = aws.json(&[
        "lambda",
        "invoke",
        "--function-name",
        "hello",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--payload",
        r#"{"name":"Ada"}"#,
        out_path,
    ]);
    assert_eq!(said["StatusCode"], 200, "{said}");
    assert_eq!(said["ExecutedVersion"], "$LATEST", "{said}");
    let greeting: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).expect("JSON");
    assert_eq!(greeting, serde_json::json!({"message": "Hello, Ada!"}));

    // The log tail, as Lambda returns it (base64; the CLI prints it as is).
    let said = aws.json(&[
        "lambda",
        "invoke",
        "--function-name",
        "hello",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--payload",
        r#"{"name":"Tail"}"#,
        "--log-type",
        "Tail",
        out_path,
    ]);
    let tail = said["LogResult"].as_str().expect("LogResult");
    use base64::Engine as _;
    let tail = base64::engine::general_purpose::STANDARD
        .decode(tail)
        .expect("base64");
    let tail = String::from_utf8_lossy(&tail);
    assert!(tail.contains("hello: greeting Tail"), "{tail}");
    assert!(tail.contains("REPORT RequestId:"), "{tail}");

    // Asynchronous: 202 and nothing else.
    let said = aws.json(&[
        "lambda",
        "invoke",
        "--function-name",
        "hello",
        "--invocation-type",
        "Event",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--payload",
        r#"{"name":"Later"}"#,
        out_path,
    ]);
    assert_eq!(said["StatusCode"], 202, "{said}");

    // Reads.
    let function = aws.json(&["lambda", "get-function", "--function-name", "hello"]);
    assert_eq!(function["Configuration"]["FunctionName"], "hello");
    assert_eq!(function["Configuration"]["MemorySize"], 128);
    let config = aws.json(&[
        "lambda",
        "get-function-configuration",
        "--function-name",
        "arn:funnel:lambda:local:000000000000:function:hello",
    ]);
    assert_eq!(config["Timeout"], 3, "{config}");
    let listed = aws.json(&["lambda", "list-functions"]);
    let names: Vec<&str> = listed["Functions"]
        .as_array()
        .expect("Functions")
        .iter()
        .filter_map(|f| f["FunctionName"].as_str())
        .collect();
    assert!(names.contains(&"hello"), "{listed}");
    let me = aws.json(&["sts", "get-caller-identity"]);
    assert_eq!(me["Account"], "000000000000", "{me}");
    assert!(
        me["Arn"].as_str().unwrap().ends_with(":user/operator"),
        "{me}"
    );

    // Errors carry AWS's names.
    aws.fails_with(
        &["lambda", "get-function", "--function-name", "nosuch"],
        "ResourceNotFoundException",
    );

    // A wrong secret for the operator's key, and a key nobody has.
    let text = std::fs::read_to_string(&aws.credentials).unwrap();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("aws_access_key_id = "))
        .or_else(|| {
            text.lines()
                .find_map(|l| l.strip_prefix("aws_access_key_id="))
        })
        .expect("the operator's key id")
        .trim()
        .to_string();
    let wrong = credentials_file(
        data_dir.path(),
        &id,
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    );
    aws.with_credentials(wrong)
        .fails_with(&["lambda", "list-functions"], "InvalidSignatureException");
    let stranger = credentials_file(
        data_dir.path(),
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    );
    aws.with_credentials(stranger).fails_with(
        &["sts", "get-caller-identity"],
        "UnrecognizedClientException",
    );

    // `funnel aws-profile` writes a profile the aws CLI uses with no
    // --endpoint-url at all; other profiles in the files are kept.
    let config = data_dir.path().join("aws-config");
    let shared = data_dir.path().join("aws-credentials");
    std::fs::write(&config, "[profile other]\nregion = eu-west-1\n").unwrap();
    let out = funnel(
        &grpc_endpoint,
        &[
            "aws-profile",
            "--endpoint-url",
            &aws.endpoint,
            "--config-file",
            config.to_str().unwrap(),
            "--credentials-file",
            shared.to_str().unwrap(),
        ],
    );
    ok(&out);
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("[profile other]")
    );
    let out = Command::new("aws")
        .args(["--profile", "funnel", "sts", "get-caller-identity"])
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &shared)
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("run aws");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(me["Account"], "000000000000", "{me}");
}
