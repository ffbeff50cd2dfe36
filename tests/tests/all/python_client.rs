//! A client in another language, generated from `proto/` alone, creates a
//! function and invokes it: `examples/python/funnel_client.py` with grpcio,
//! against a real server. The venv lives under `target/` and is reused.

use funnel_tests::guests;
use std::path::Path;
use std::process::Command;

use funnel_tests::{repo_root, start_server};

/// The grpcio-tools release the example is tested with.
const GRPCIO_TOOLS: &str = "grpcio-tools==1.85.1";

fn python_with_grpc(venv: &Path) -> Option<std::path::PathBuf> {
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status();
        match made {
            Ok(status) if status.success() => {}
            Ok(status) => panic!("python3 -m venv {} failed ({status})", venv.display()),
            Err(err) => {
                funnel_tests::skip("the cross-language client test (python3 is missing)", &err);
                return None;
            }
        }
    }
    let has_grpc = Command::new(&python)
        .args(["-c", "import grpc_tools"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_grpc {
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                GRPCIO_TOOLS,
            ])
            .status()
            .expect("run pip");
        assert!(status.success(), "pip install {GRPCIO_TOOLS} failed");
    }
    Some(python)
}

#[tokio::test]
async fn a_python_client_from_the_proto_alone_creates_and_invokes() {
    let venv = repo_root().join("target").join("python-client-venv");
    let Some(python) = tokio::task::spawn_blocking(move || python_with_grpc(&venv))
        .await
        .expect("venv")
    else {
        return;
    };
    let server = start_server().await;
    let hello = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(hello.path(), funnel_tests::guest(guests::HELLO)).expect("write hello.wasm");

    let script = repo_root().join("examples/python/funnel_client.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(&server.endpoint)
        .arg(hello.path())
        .env("FUNNEL_ACCESS_KEY_ID", &server.operator.access_key_id)
        .env(
            "FUNNEL_SECRET_ACCESS_KEY",
            &server.operator.secret_access_key,
        )
        .output()
        .await
        .expect("run the python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("created arn:funnel:lambda:local:000000000000:function:hello-py"),
        "{stdout}"
    );
    assert!(stdout.contains("status 200 error ''"), "{stdout}");
    assert!(
        stdout.contains(r#"payload {"message":"Hej, Python!"}"#),
        "{stdout}"
    );
    assert!(
        stdout.contains("error ResourceNotFoundException"),
        "{stdout}"
    );

    // What Python created is what the Rust client sees.
    let created = server.client.get_function("hello-py").await.expect("get");
    let config = created.configuration.expect("configuration");
    assert_eq!(
        config.environment.expect("env").variables["GREETING"],
        "Hej"
    );
    server.stop().await;
}
