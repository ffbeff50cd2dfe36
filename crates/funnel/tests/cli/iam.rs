//! Credentials as a new user meets them: `funnel up` in a folder writes
//! `.funnel/credentials`, and the CLI run in that folder finds the key and
//! the endpoint there with no flag and no variable; `iam` verbs print aws's
//! JSON.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};

use crate::common::{funnel_bin, ok};

/// `funnel ARGS` in `dir`, with none of the variables that would point it
/// elsewhere.
fn funnel_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(funnel_bin());
    command.current_dir(dir).args(args).stdin(Stdio::null());
    for var in [
        "FUNNEL_ENDPOINT",
        "FUNNEL_PROFILE",
        "FUNNEL_ACCESS_KEY_ID",
        "FUNNEL_SECRET_ACCESS_KEY",
        "FUNNEL_SHARED_CREDENTIALS_FILE",
    ] {
        command.env_remove(var);
    }
    // No ~/.funnel/credentials of the machine's user either.
    command.env("HOME", dir.join("home"));
    command.envs(env.iter().copied());
    command.output().expect("run funnel")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(ok(out).trim()).expect("JSON on stdout")
}

/// `funnel up ARGS` in `dir`, once it says it is up; and that line.
fn up_in(dir: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    let mut up = Command::new(funnel_bin())
        .current_dir(dir)
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--aws-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("funnel up");
    let mut lines = BufReader::new(up.stderr.take().expect("stderr")).lines();
    let mut said = Vec::new();
    for line in lines.by_ref().map_while(Result::ok) {
        let ready = line.contains("funnel is up at ");
        said.push(line);
        if ready {
            break;
        }
    }
    // Keep reading: a closed pipe would end the server at its next log line.
    std::thread::spawn(move || lines.for_each(drop));
    let ready = said.pop().unwrap_or_default();
    assert!(ready.contains(".funnel/credentials"), "{said:?} {ready}");
    (up, ready)
}

#[test]
fn the_cli_finds_the_operator_in_the_folder_funnel_up_ran_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut up, _) = up_in(dir.path(), &[]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .expect("exists")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(".funnel"), 0o700);
        assert_eq!(mode(".funnel/credentials"), 0o600);
        assert_eq!(mode(".funnel/master.key"), 0o600);
    }

    let me = json(&funnel_in(dir.path(), &["sts", "get-caller-identity"], &[]));
    assert_eq!(me["Account"], "000000000000");
    assert_eq!(me["Arn"], "arn:funnel:iam::000000000000:user/operator");

    let created = json(&funnel_in(
        dir.path(),
        &["iam", "create-user", "--user-name", "alice"],
        &[],
    ));
    assert_eq!(created["User"]["UserName"], "alice");
    ok(&funnel_in(
        dir.path(),
        &[
            "iam",
            "attach-user-policy",
            "--user-name",
            "alice",
            "--policy-arn",
            "arn:funnel:iam::aws:policy/FunnelReadOnly",
        ],
        &[],
    ));
    let key = json(&funnel_in(
        dir.path(),
        &["iam", "create-access-key", "--user-name", "alice"],
        &[],
    ));
    let id = key["AccessKey"]["AccessKeyId"]
        .as_str()
        .expect("id")
        .to_string();
    let secret = key["AccessKey"]["SecretAccessKey"]
        .as_str()
        .expect("secret")
        .to_string();
    assert_eq!(key["AccessKey"]["Status"], "Active");

    // The environment pair wins over the file: alice reads but cannot write.
    let as_alice = [
        ("FUNNEL_ACCESS_KEY_ID", id.as_str()),
        ("FUNNEL_SECRET_ACCESS_KEY", secret.as_str()),
    ];
    let me = json(&funnel_in(
        dir.path(),
        &["sts", "get-caller-identity"],
        &as_alice,
    ));
    assert_eq!(me["Arn"], "arn:funnel:iam::000000000000:user/alice");
    let denied = funnel_in(dir.path(), &["topic", "create", "t"], &as_alice);
    assert!(!denied.status.success());
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.contains("AccessDeniedException: User: arn:funnel:iam::000000000000:user/alice is not authorized to perform: sns:CreateTopic"),
        "{stderr}"
    );

    // The operator makes an account; its admin's key works at once.
    let account = json(&funnel_in(
        dir.path(),
        &[
            "account",
            "create",
            "--account-id",
            "111111111111",
            "--name",
            "team-a",
        ],
        &[],
    ));
    assert_eq!(account["Account"]["Id"], "111111111111");
    assert_eq!(
        account["User"]["Arn"],
        "arn:funnel:iam::111111111111:user/admin"
    );
    let team = [
        (
            "FUNNEL_ACCESS_KEY_ID",
            account["AccessKey"]["AccessKeyId"].as_str().expect("id"),
        ),
        (
            "FUNNEL_SECRET_ACCESS_KEY",
            account["AccessKey"]["SecretAccessKey"]
                .as_str()
                .expect("secret"),
        ),
    ];
    let me = json(&funnel_in(
        dir.path(),
        &["sts", "get-caller-identity"],
        &team,
    ));
    assert_eq!(me["Account"], "111111111111");
    // alice cannot make accounts.
    let refused = funnel_in(
        dir.path(),
        &[
            "account",
            "create",
            "--account-id",
            "222222222222",
            "--name",
            "x",
        ],
        &as_alice,
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("AccessDeniedException"));

    // A profile that is not there is an error naming it.
    let missing = funnel_in(dir.path(), &["--profile", "nope", "function", "list"], &[]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("\"nope\""));
    let _ = up.kill();
    let _ = up.wait();
}

#[test]
fn with_tls_self_signed_the_cli_trusts_the_bundle_it_is_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut up, ready) = up_in(dir.path(), &["--tls", "self-signed"]);
    assert!(
        ready.contains("funnel is up at https://127.0.0.1:"),
        "{ready}"
    );
    let credentials = std::fs::read_to_string(dir.path().join(".funnel/credentials")).unwrap();
    assert!(credentials.contains("endpoint = https://"), "{credentials}");
    assert!(credentials.contains("ca_bundle = /"), "{credentials}");

    // The profile's endpoint and bundle: no flag needed.
    let me = json(&funnel_in(dir.path(), &["sts", "get-caller-identity"], &[]));
    assert_eq!(me["Arn"], "arn:funnel:iam::000000000000:user/operator");
    // A bundle that does not hold the server's CA is refused.
    let other = dir.path().join("other.pem");
    std::fs::write(&other, "").unwrap();
    let refused = funnel_in(
        dir.path(),
        &["sts", "get-caller-identity"],
        &[("FUNNEL_CA_BUNDLE", other.to_str().unwrap())],
    );
    assert!(!refused.status.success());
    // --ca-bundle wins over the variable.
    let bundle = dir.path().join(".funnel/tls/ca.pem");
    ok(&funnel_in(
        dir.path(),
        &["--ca-bundle", bundle.to_str().unwrap(), "function", "list"],
        &[("FUNNEL_CA_BUNDLE", other.to_str().unwrap())],
    ));
    let _ = up.kill();
    let _ = up.wait();
}

#[test]
fn serving_beyond_loopback_without_tls_is_refused_before_anything_is_made() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = funnel_in(dir.path(), &["serve", "--listen", "0.0.0.0:0"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without TLS"), "{stderr}");
    assert!(stderr.contains("--insecure-listen"), "{stderr}");
    assert!(!dir.path().join(".funnel").exists());
}
