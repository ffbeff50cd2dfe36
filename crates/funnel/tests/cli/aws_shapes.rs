//! funnel's AWS endpoint beside moto's server, asked the same boto3 calls
//! (`aws_shapes.py`): Lambda, SNS, EventBridge, CloudWatch Logs and STS,
//! each answer compared by HTTP status and the structure of its body (keys,
//! list elements, value types; never values), and one not-found error per
//! service by code and status. The differences must be exactly the known
//! ones ([`CONFIGURATION`] and [`KNOWN`]): a new one fails the test, and so
//! does one that went away (then the list and the README's, under "Use the
//! AWS CLI and SDKs", lose it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::{Up, repo_root};

/// Where a `FunctionConfiguration` sits in each Lambda answer that has one.
const CONFIGURATIONS: &[&str] = &[
    "lambda.CreateFunction: ",
    "lambda.GetFunction: Configuration.",
    "lambda.GetFunctionConfiguration: ",
    "lambda.ListFunctions: Functions[].",
    "lambda.UpdateFunctionConfiguration: ",
    "lambda.PublishVersion: ",
    "lambda.ListVersionsByFunction: Versions[].",
];

/// How every `FunctionConfiguration` differs, field by field, and why.
const CONFIGURATION: &[(&str, &str)] = &[
    (
        "Architectures: funnel absent vs moto list",
        "a component has no CPU architecture; Lambda's enum is x86_64|arm64",
    ),
    (
        "RevisionId: funnel str vs moto absent",
        "moto's: Lambda sends it (botocore's model has it)",
    ),
    (
        "Role: funnel absent vs moto str",
        "Role is accepted and ignored: a function acts with its own grants, not an IAM role",
    ),
    (
        "SnapStart: funnel absent vs moto dict",
        "no SnapStart: compiled code is cached and instantiated per call",
    ),
    (
        "TracingConfig: funnel absent vs moto dict",
        "no X-Ray tracing",
    ),
];

/// The other differences from moto, as the script prints them, with why
/// each stays.
const KNOWN: &[(&str, &str)] = &[
    (
        "lambda.CreateFunction: LastUpdateStatus: funnel str vs moto absent",
        "funnel's create is done when it answers (State Active, not Pending)",
    ),
    (
        "lambda.GetAlias: HTTPStatusCode: funnel 200 vs moto 201",
        "moto's: botocore's model says 200",
    ),
    (
        "lambda.AddPermission: HTTPStatusCode: funnel 201 vs moto 200",
        "moto's: botocore's model says 201",
    ),
    (
        "lambda.Invoke: ExecutedVersion: funnel str vs moto absent",
        "moto without docker runs no code and sends no X-Amz-Executed-Version",
    ),
    (
        "lambda.Invoke: LogResult: funnel str vs moto absent",
        "moto without docker runs no code and has no log tail",
    ),
    (
        "logs.DescribeLogGroups: logGroups[].logGroupClass: funnel str vs moto absent",
        "CloudWatch sends STANDARD; moto 5.2 leaves it out",
    ),
    (
        "logs.DescribeLogGroups: logGroups[].retentionInDays: funnel int vs moto absent",
        "funnel keeps events a set number of days and says so; moto's group has no retention",
    ),
    (
        "logs.FilterLogEvents: events[].timestamp: funnel int vs moto float",
        "moto's: the model's timestamp is a long (milliseconds)",
    ),
    (
        "logs.FilterLogEvents: searchedLogStreams: funnel absent vs moto list",
        "deprecated since 2020 (always empty); funnel leaves it out",
    ),
    (
        "s3.GetObject: ChecksumCRC32: funnel absent vs moto str",
        "funnel checks a PutObject's checksum but does not keep it; botocore then skips \
         validating the download",
    ),
    (
        "s3.CopyObject: CopyObjectResult.ChecksumCRC32: funnel absent vs moto str",
        "the same: no checksum is kept",
    ),
    (
        "s3.ListObjectsV2: Contents[].ChecksumAlgorithm: funnel absent vs moto list",
        "the same: no checksum is kept",
    ),
    (
        "s3.ListObjectsV2 (delimiter): Contents[].ChecksumAlgorithm: funnel absent vs moto list",
        "the same: no checksum is kept",
    ),
    (
        "s3.HeadBucket: AccessPointAlias: funnel bool vs moto absent",
        "moto's: S3 sends x-amz-access-point-alias (false for a bucket)",
    ),
    (
        "s3.ListObjects: Marker: funnel str vs moto absent",
        "moto's: S3 writes <Marker> (empty on the first page)",
    ),
    (
        "s3.ListObjects: Prefix: funnel str vs moto absent",
        "moto's: S3 writes <Prefix> (empty when none was asked)",
    ),
    (
        "s3.CompleteMultipartUpload: VersionId: funnel absent vs moto str",
        "moto's: S3 sends a version id only for a versioned bucket (funnel has no versioning)",
    ),
];

/// Every known difference: [`CONFIGURATION`] at each of [`CONFIGURATIONS`],
/// and [`KNOWN`].
fn known() -> BTreeSet<String> {
    let configurations = CONFIGURATIONS.iter().flat_map(|at| {
        CONFIGURATION
            .iter()
            .map(move |(field, _)| format!("{at}{field}"))
    });
    configurations
        .chain(KNOWN.iter().map(|(line, _)| line.to_string()))
        .collect()
}

/// An interpreter with boto3 and moto's server: `python3` when it has them,
/// else a venv under `target/` (made once, then reused) that pip fills.
pub fn python() -> Option<PathBuf> {
    let has_them = |python: &Path| {
        Command::new(python)
            .args(["-c", "import boto3, moto, moto.server"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let system = PathBuf::from("python3");
    if has_them(&system) {
        return Some(system);
    }
    let venv = repo_root().join("target").join("aws-shapes-venv");
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        match Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
        {
            Ok(status) if status.success() => {}
            Ok(status) => {
                funnel_tests::skip(
                    "the moto shape comparison",
                    &format!("python3 -m venv: {status}"),
                );
                return None;
            }
            Err(err) => {
                funnel_tests::skip("the moto shape comparison (python3 is missing)", &err);
                return None;
            }
        }
    }
    if !has_them(&python) {
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["boto3", "moto[server]"])
            .status();
        if !installed.as_ref().is_ok_and(|s| s.success()) || !has_them(&python) {
            funnel_tests::skip(
                "the moto shape comparison",
                &format!("pip install boto3 moto[server] failed: {installed:?}"),
            );
            return None;
        }
    }
    Some(python)
}

/// `moto_server` as a child, ended with the test.
struct Moto {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Moto {
    fn start(python: &Path, dir: &Path) -> Moto {
        // moto takes a port, not a listener: a free one, released for it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = dir.join("moto.log");
        let out = std::fs::File::create(&log).expect("moto log");
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("moto log"))
            .stderr(out)
            .spawn()
            .expect("start moto_server");
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn funnel_answers_boto3_in_the_shapes_moto_does() {
    let Some(python) = python() else {
        return;
    };
    let data_dir = tempfile::tempdir().expect("temp dir");
    let dir = data_dir.path();
    let wasm = dir.join("echo.wasm");
    std::fs::write(&wasm, funnel_tests::guest(funnel_tests::guests::ECHO)).expect("echo.wasm");
    let moto = Moto::start(&python, dir);
    let mut up = Up::start(&dir.join("data"));
    up.endpoint();
    let line = up.wait_for("export AWS_ENDPOINT_URL=");
    let value = |name: &str| {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {line:?}"))
            .to_string()
    };

    let script = repo_root().join("crates/funnel/tests/cli/aws_shapes.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--funnel", &value("AWS_ENDPOINT_URL")])
        .args([
            "--funnel-credentials",
            &value("AWS_SHARED_CREDENTIALS_FILE"),
        ])
        .args(["--moto", &moto.url])
        .arg("--wasm")
        .arg(&wasm)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("run aws_shapes.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "aws_shapes.py failed ({}): {stderr}\nmoto said:\n{}",
        out.status,
        std::fs::read_to_string(&moto.log).unwrap_or_default()
    );
    eprintln!("funnel vs moto ({}):\n{stdout}", stderr.trim());

    let found: BTreeSet<String> = stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let known = known();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "the differences from moto changed\nnew (fix funnel, or list each with its reason):\n{}\n\
         gone (take them out of KNOWN and the README):\n{}",
        lines(&new),
        lines(&gone)
    );
}

fn lines(items: &[&String]) -> String {
    items.iter().map(|l| format!("  {l}\n")).collect()
}
