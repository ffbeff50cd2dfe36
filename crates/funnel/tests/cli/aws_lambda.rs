//! Lambda's control plane through the AWS endpoint, driven by the real aws
//! CLI as a user would: a function created from a zip, invoked, changed,
//! published, aliased with routing; its policy, concurrency, async
//! settings and URL; a layer; then deleted. Each answer is checked for the
//! values it must carry, and each error for its AWS name.

use std::io::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::aws_cli::Aws;
use crate::common::Up;

/// `aws lambda ...` calls.
trait Lambda {
    fn ok(&self, args: &[&str]) -> Value;
    fn lambda_fails(&self, args: &[&str], code: &str) -> String;
    fn invoke(
        &self,
        dir: &Path,
        function: &str,
        qualifier: Option<&str>,
        payload: &str,
    ) -> (Value, Value);
}

impl Lambda for Aws {
    /// `aws lambda ARGS`, which must succeed; its JSON.
    fn ok(&self, args: &[&str]) -> Value {
        self.json(&[&["lambda"], args].concat())
    }

    /// `aws lambda ARGS`, which must fail with the AWS error `code`.
    fn lambda_fails(&self, args: &[&str], code: &str) -> String {
        self.fails_with(&[&["lambda"], args].concat(), code)
    }

    /// Invokes `function` (with `--qualifier` when given) with `payload`;
    /// returns the CLI's summary and the function's answer.
    fn invoke(
        &self,
        dir: &Path,
        function: &str,
        qualifier: Option<&str>,
        payload: &str,
    ) -> (Value, Value) {
        let out = dir.join("out.json");
        let out = out.to_str().unwrap();
        let mut args = vec![
            "invoke",
            "--function-name",
            function,
            "--payload",
            payload,
            "--cli-binary-format",
            "raw-in-base64-out",
        ];
        if let Some(qualifier) = qualifier {
            args.extend(["--qualifier", qualifier]);
        }
        args.push(out);
        let said = self.ok(&args);
        let answer = std::fs::read_to_string(out).expect("the invocation's answer");
        let answer = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
        (said, answer)
    }
}

/// A zip archive of `files`, written to `dir/name`; its path.
fn zip_file(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> String {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (file, bytes) in files {
        zip.start_file(*file, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    }
    let path = dir.join(name);
    std::fs::write(&path, zip.finish().expect("zip").into_inner()).expect("write zip");
    format!("fileb://{}", path.display())
}

fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

#[test]
fn the_aws_cli_manages_a_function_from_create_to_delete() {
    if !Aws::available("the aws CLI Lambda tests") {
        return;
    }
    let hello = funnel_tests::guest(funnel_tests::guests::HELLO);
    let echo = funnel_tests::guest(funnel_tests::guests::ECHO);
    let data_dir = tempfile::tempdir().expect("temp dir");
    let dir = data_dir.path();
    let mut up = Up::start(dir);
    up.endpoint();
    let aws = Aws::of(&mut up);

    // CreateFunction from a zip holding the component; Role is accepted
    // and ignored.
    let hello_zip = zip_file(dir, "hello.zip", &[("hello.wasm", &hello)]);
    let created = aws.ok(&[
        "create-function",
        "--function-name",
        "greeter",
        "--runtime",
        "provided.al2023",
        "--handler",
        "bootstrap",
        "--role",
        "arn:aws:iam::000000000000:role/ignored",
        "--zip-file",
        &hello_zip,
        "--memory-size",
        "256",
        "--timeout",
        "5",
        "--description",
        "greets",
        "--environment",
        "Variables={GREETING=Hello}",
    ]);
    assert_eq!(created["FunctionName"], "greeter", "{created}");
    assert_eq!(created["MemorySize"], 256, "{created}");
    assert_eq!(created["Timeout"], 5, "{created}");
    assert_eq!(created["Runtime"], "provided.al2023", "{created}");
    assert_eq!(created["Version"], "$LATEST", "{created}");
    assert_eq!(created["CodeSize"], hello.len(), "{created}");
    assert_eq!(created["CodeSha256"], sha256_base64(&hello), "{created}");
    assert_eq!(created["Environment"]["Variables"]["GREETING"], "Hello");
    let (said, answer) = aws.invoke(dir, "greeter", None, r#"{"name":"Ada"}"#);
    assert_eq!(said["StatusCode"], 200, "{said}");
    assert_eq!(answer["message"], "Hello, Ada!");

    // A member funnel cannot honour is refused, not dropped.
    let stderr = aws.lambda_fails(
        &[
            "create-function",
            "--function-name",
            "walled",
            "--role",
            "r",
            "--zip-file",
            &hello_zip,
            "--vpc-config",
            "SubnetIds=subnet-1",
        ],
        "InvalidParameterValueException",
    );
    assert!(stderr.contains("VpcConfig"), "{stderr}");

    // UpdateFunctionConfiguration, then version 1.
    let updated = aws.ok(&[
        "update-function-configuration",
        "--function-name",
        "greeter",
        "--memory-size",
        "512",
        "--environment",
        "Variables={GREETING=Hi}",
    ]);
    assert_eq!(updated["MemorySize"], 512, "{updated}");
    assert_eq!(updated["Timeout"], 5, "{updated}");
    assert_eq!(updated["Environment"]["Variables"]["GREETING"], "Hi");
    let (_, answer) = aws.invoke(dir, "greeter", None, r#"{"name":"Ada"}"#);
    assert_eq!(answer["message"], "Hi, Ada!");
    let v1 = aws.ok(&["publish-version", "--function-name", "greeter"]);
    assert_eq!(v1["Version"], "1", "{v1}");

    // UpdateFunctionCode, published as version 2 (the aws CLI insists on
    // a zip; the component may sit in a folder of it).
    let echo_zip = zip_file(dir, "echo.zip", &[("target/echo.wasm", &echo)]);
    let v2 = aws.ok(&[
        "update-function-code",
        "--function-name",
        "greeter",
        "--zip-file",
        &echo_zip,
        "--publish",
    ]);
    assert_eq!(v2["Version"], "2", "{v2}");
    assert_eq!(v2["CodeSha256"], sha256_base64(&echo), "{v2}");
    let versions = aws.ok(&["list-versions-by-function", "--function-name", "greeter"]);
    let listed: Vec<&str> = versions["Versions"]
        .as_array()
        .expect("Versions")
        .iter()
        .filter_map(|v| v["Version"].as_str())
        .collect();
    assert_eq!(listed, ["$LATEST", "1", "2"], "{versions}");

    // An alias on version 1 routing every call to version 2, then none.
    let alias = aws.ok(&[
        "create-alias",
        "--function-name",
        "greeter",
        "--name",
        "live",
        "--function-version",
        "1",
        "--routing-config",
        r#"{"AdditionalVersionWeights":{"2":1.0}}"#,
    ]);
    assert!(
        alias["AliasArn"]
            .as_str()
            .unwrap()
            .ends_with(":function:greeter:live"),
        "{alias}"
    );
    assert_eq!(alias["RoutingConfig"]["AdditionalVersionWeights"]["2"], 1.0);
    let (said, answer) = aws.invoke(dir, "greeter", Some("live"), r#"{"name":"Ada"}"#);
    assert_eq!(said["ExecutedVersion"], "2", "{said}");
    assert_eq!(answer, serde_json::json!({"name": "Ada"}));
    let alias = aws.ok(&[
        "update-alias",
        "--function-name",
        "greeter",
        "--name",
        "live",
        "--routing-config",
        r#"{"AdditionalVersionWeights":{}}"#,
        "--description",
        "steady",
    ]);
    assert_eq!(alias["Description"], "steady", "{alias}");
    let (said, answer) = aws.invoke(dir, "greeter", Some("live"), r#"{"name":"Ada"}"#);
    assert_eq!(said["ExecutedVersion"], "1", "{said}");
    assert_eq!(answer["message"], "Hi, Ada!");
    let got = aws.ok(&["get-alias", "--function-name", "greeter", "--name", "live"]);
    assert_eq!(got["FunctionVersion"], "1", "{got}");
    let aliases = aws.ok(&["list-aliases", "--function-name", "greeter"]);
    assert_eq!(aliases["Aliases"][0]["Name"], "live", "{aliases}");

    // The resource policy.
    let added = aws.ok(&[
        "add-permission",
        "--function-name",
        "greeter",
        "--statement-id",
        "photos",
        "--action",
        "lambda:InvokeFunction",
        "--principal",
        "s3.amazonaws.com",
        "--source-arn",
        "arn:aws:s3:::photos",
    ]);
    let statement: Value = serde_json::from_str(added["Statement"].as_str().expect("a string"))
        .expect("the statement is JSON");
    assert_eq!(statement["Sid"], "photos", "{statement}");
    let policy = aws.ok(&["get-policy", "--function-name", "greeter"]);
    let document: Value =
        serde_json::from_str(policy["Policy"].as_str().expect("Policy is a string")).unwrap();
    assert_eq!(document["Statement"][0]["Sid"], "photos", "{document}");
    assert_eq!(
        document["Statement"][0]["Principal"]["Service"], "s3.amazonaws.com",
        "{document}"
    );
    aws.ok(&[
        "remove-permission",
        "--function-name",
        "greeter",
        "--statement-id",
        "photos",
    ]);
    aws.lambda_fails(
        &[
            "remove-permission",
            "--function-name",
            "greeter",
            "--statement-id",
            "photos",
        ],
        "ResourceNotFoundException",
    );

    // Reserved concurrency.
    let put = aws.ok(&[
        "put-function-concurrency",
        "--function-name",
        "greeter",
        "--reserved-concurrent-executions",
        "5",
    ]);
    assert_eq!(put["ReservedConcurrentExecutions"], 5, "{put}");
    let got = aws.ok(&["get-function-concurrency", "--function-name", "greeter"]);
    assert_eq!(got["ReservedConcurrentExecutions"], 5, "{got}");
    aws.ok(&["delete-function-concurrency", "--function-name", "greeter"]);
    let got = aws.ok(&["get-function-concurrency", "--function-name", "greeter"]);
    assert!(got.get("ReservedConcurrentExecutions").is_none(), "{got}");

    // Asynchronous invocation settings.
    let put = aws.ok(&[
        "put-function-event-invoke-config",
        "--function-name",
        "greeter",
        "--maximum-retry-attempts",
        "1",
        "--maximum-event-age-in-seconds",
        "120",
    ]);
    assert_eq!(put["MaximumRetryAttempts"], 1, "{put}");
    let got = aws.ok(&[
        "get-function-event-invoke-config",
        "--function-name",
        "greeter",
    ]);
    assert_eq!(got["MaximumRetryAttempts"], 1, "{got}");
    assert_eq!(got["MaximumEventAgeInSeconds"], 120, "{got}");
    assert!(
        got["FunctionArn"]
            .as_str()
            .unwrap()
            .contains(":function:greeter"),
        "{got}"
    );
    // LastModified is a timestamp member: epoch seconds on the wire (which
    // a v1 CLI prints as is), and it is now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    match &got["LastModified"] {
        Value::Number(at) => assert!((at.as_f64().unwrap() - now).abs() < 600.0, "{got}"),
        // A v2 CLI prints timestamps as ISO 8601.
        Value::String(at) => assert!(at.starts_with("20"), "{got}"),
        other => panic!("LastModified {other}"),
    }

    // A layer.
    let layer_zip = zip_file(dir, "layer.zip", &[("data/greeting.txt", b"Hej")]);
    let layer = aws.ok(&[
        "publish-layer-version",
        "--layer-name",
        "greeter-data",
        "--zip-file",
        &layer_zip,
        "--compatible-runtimes",
        "provided.al2023",
        "--description",
        "greetings",
    ]);
    assert_eq!(layer["Version"], 1, "{layer}");
    assert!(
        layer["LayerVersionArn"]
            .as_str()
            .unwrap()
            .ends_with(":layer:greeter-data:1"),
        "{layer}"
    );
    let layers = aws.ok(&["list-layers"]);
    let found = layers["Layers"]
        .as_array()
        .expect("Layers")
        .iter()
        .find(|l| l["LayerName"] == "greeter-data")
        .unwrap_or_else(|| panic!("greeter-data in {layers}"));
    assert_eq!(found["LatestMatchingVersion"]["Version"], 1, "{layers}");
    assert_eq!(found["LatestMatchingVersion"]["Description"], "greetings");
    let got = aws.ok(&[
        "get-layer-version",
        "--layer-name",
        "greeter-data",
        "--version-number",
        "1",
    ]);
    assert_eq!(got["CompatibleRuntimes"][0], "provided.al2023", "{got}");
    let shared = aws.ok(&[
        "add-layer-version-permission",
        "--layer-name",
        "greeter-data",
        "--version-number",
        "1",
        "--statement-id",
        "everyone",
        "--action",
        "lambda:GetLayerVersion",
        "--principal",
        "*",
    ]);
    assert!(
        shared["RevisionId"].as_str().is_some_and(|r| !r.is_empty()),
        "{shared}"
    );
    let policy = aws.ok(&[
        "get-layer-version-policy",
        "--layer-name",
        "greeter-data",
        "--version-number",
        "1",
    ]);
    let document: Value = serde_json::from_str(policy["Policy"].as_str().expect("a string"))
        .expect("the policy is JSON");
    assert_eq!(document["Statement"][0]["Sid"], "everyone", "{document}");

    // A function URL.
    let url = aws.ok(&[
        "create-function-url-config",
        "--function-name",
        "greeter",
        "--auth-type",
        "NONE",
    ]);
    assert!(
        url["FunctionUrl"].as_str().unwrap().starts_with("http://"),
        "{url}"
    );
    let got = aws.ok(&["get-function-url-config", "--function-name", "greeter"]);
    assert_eq!(got["AuthType"], "NONE", "{got}");
    assert_eq!(got["FunctionUrl"], url["FunctionUrl"], "{got}");
    let urls = aws.ok(&["list-function-url-configs", "--function-name", "greeter"]);
    assert_eq!(urls["FunctionUrlConfigs"].as_array().map(Vec::len), Some(1));
    aws.ok(&["delete-function-url-config", "--function-name", "greeter"]);
    aws.lambda_fails(
        &["get-function-url-config", "--function-name", "greeter"],
        "ResourceNotFoundException",
    );

    // What funnel does not serve says so.
    let stderr = aws.lambda_fails(&["list-event-source-mappings"], "UnknownOperationException");
    assert!(stderr.contains("event-source-mappings"), "{stderr}");

    // Gone.
    aws.ok(&["delete-function", "--function-name", "greeter"]);
    aws.lambda_fails(
        &["get-function", "--function-name", "greeter"],
        "ResourceNotFoundException",
    );
}
