//! The real aws CLI pointed at one `funnel up`'s AWS endpoint, with the
//! keys `funnel up` says to export: what the AWS endpoint tests drive.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::Up;

pub struct Aws {
    pub endpoint: String,
    /// The credentials file the calls sign with.
    pub credentials: PathBuf,
    /// `--cli-binary-format raw-in-base64-out` on a v2 CLI; a v1 CLI sends
    /// `--payload` raw and has no such option.
    raw_payload: &'static [&'static str],
}

impl Aws {
    /// Whether the aws CLI is here; a loud skip (a failure under CI) if not.
    pub fn available(what: &str) -> bool {
        match Command::new("aws").arg("--version").output() {
            Ok(_) => true,
            Err(err) => {
                funnel_tests::skip(what, &err);
                false
            }
        }
    }

    /// Reads the `export AWS_ENDPOINT_URL=... AWS_SHARED_CREDENTIALS_FILE=...`
    /// line `funnel up` prints.
    pub fn of(up: &mut Up) -> Aws {
        let line = up.wait_for("export AWS_ENDPOINT_URL=");
        let value = |name: &str| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("{name} in {line:?}"))
                .to_string()
        };
        let version = Command::new("aws")
            .arg("--version")
            .output()
            .expect("aws --version");
        let version = String::from_utf8_lossy(&version.stdout).into_owned()
            + &String::from_utf8_lossy(&version.stderr);
        Aws {
            endpoint: value("AWS_ENDPOINT_URL"),
            credentials: PathBuf::from(value("AWS_SHARED_CREDENTIALS_FILE")),
            raw_payload: if version.starts_with("aws-cli/1.") {
                &[]
            } else {
                &["--cli-binary-format", "raw-in-base64-out"]
            },
        }
    }

    /// The same endpoint, signing with the keys in `credentials`.
    pub fn with_credentials(&self, credentials: PathBuf) -> Aws {
        Aws {
            endpoint: self.endpoint.clone(),
            credentials,
            raw_payload: self.raw_payload,
        }
    }

    /// `aws ARGS` (JSON output, one attempt, nothing from the user's own
    /// AWS setup); `--cli-binary-format X` is dropped on a v1 CLI.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new("aws");
        command.args(["--endpoint-url", &self.endpoint, "--output", "json"]);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if *arg == "--cli-binary-format" {
                args.next();
                command.args(self.raw_payload);
            } else {
                command.arg(arg);
            }
        }
        command
            .env("AWS_SHARED_CREDENTIALS_FILE", &self.credentials)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_DEFAULT_REGION", "local")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_PAGER", "")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .expect("run aws")
    }

    /// `aws ARGS`, which must succeed; its JSON (null when it printed none,
    /// as for a 204).
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// As [`Aws::json`], but `None` when what it reads does not exist yet
    /// (`ResourceNotFoundException`: a log group before its first line).
    pub fn json_if_found(&self, args: &[&str]) -> Option<Value> {
        let out = self.run(args);
        if !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("(ResourceNotFoundException)")
        {
            return None;
        }
        Some(self.json(args))
    }

    /// `aws ARGS`, which must fail; its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "aws {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `aws ARGS`, which must fail with the AWS error `code`; its stderr.
    pub fn fails_with(&self, args: &[&str], code: &str) -> String {
        let stderr = self.fails(args);
        assert!(
            stderr.contains(&format!("({code})")),
            "aws {args:?} should fail with {code}; it said {stderr}"
        );
        stderr
    }
}
