//! Python and Node.js from the command line, as the README shows them:
//! `funnel function create NAME --runtime … --handler … --code DIR` builds
//! the folder with the real packager, and `funnel invoke` runs it. When a
//! packager cannot be installed that half is skipped (a failure under CI).

use crate::common::{Up, funnel, ok, repo_root};

fn packager(ready: anyhow::Result<std::path::PathBuf>, what: &str) -> bool {
    match ready {
        Ok(_) => true,
        Err(why) => {
            funnel_tests::skip(
                &format!("{what} (its packager is missing)"),
                &format!("{why:#}"),
            );
            false
        }
    }
}

#[test]
fn python_and_nodejs_functions_from_their_folders() {
    let python = packager(funnel_build::python::componentize_py(), "the Python half");
    let nodejs = packager(funnel_build::nodejs::componentize_js(), "the Node.js half");
    if !python && !nodejs {
        return;
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let cases = [
        (
            python,
            "hello-py",
            "python",
            "lambda_function.lambda_handler",
        ),
        (nodejs, "hello-js", "nodejs", "index.handler"),
    ];
    for (ready, name, runtime, handler) in cases {
        if !ready {
            continue;
        }
        let folder = repo_root().join("examples").join(name);
        let created = ok(&funnel(
            &endpoint,
            &[
                "function",
                "create",
                name,
                "--runtime",
                runtime,
                "--handler",
                handler,
                "--code",
                &folder.to_string_lossy(),
            ],
        ));
        assert!(
            created.contains(&format!("\"Runtime\":\"{runtime}\"")),
            "{created}"
        );
        assert!(
            created.contains(&format!("\"Handler\":\"{handler}\"")),
            "{created}"
        );
        let said = ok(&funnel(
            &endpoint,
            &["invoke", name, "--payload", r#"{"name":"Ada"}"#],
        ));
        assert!(said.contains("Hello, Ada!"), "{name}: {said}");
        let got = ok(&funnel(&endpoint, &["function", "get", name]));
        assert!(got.contains(&format!("\"Handler\":\"{handler}\"")), "{got}");
        // Rebuilt from the folder with the stored Runtime and Handler.
        let updated = ok(&funnel(
            &endpoint,
            &[
                "function",
                "update-code",
                name,
                "--code",
                &folder.to_string_lossy(),
            ],
        ));
        assert!(
            updated.contains(&format!("\"Runtime\":\"{runtime}\"")),
            "{updated}"
        );
        let said = ok(&funnel(
            &endpoint,
            &["invoke", name, "--payload", r#"{"name":"Bo"}"#],
        ));
        assert!(said.contains("Hello, Bo!"), "{name}: {said}");
    }
    // A stack builds a source folder too, and an unchanged one deploys
    // nothing (the build is reused: the packagers never build the same
    // bytes twice).
    if python {
        let stack_dir = tempfile::tempdir().expect("stack dir");
        let stack = stack_dir.path().join("funnel.toml");
        std::fs::write(
            &stack,
            format!(
                "[[function]]\nname = \"stacked-py\"\ncode = {:?}\nruntime = \"python3.12\"\n",
                repo_root().join("examples/hello-py")
            ),
        )
        .expect("stack file");
        let first = funnel(&endpoint, &["deploy", &stack.to_string_lossy()]);
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        assert!(String::from_utf8_lossy(&first.stderr).contains("stacked-py: created"));
        let second = funnel(&endpoint, &["deploy", &stack.to_string_lossy()]);
        let said = String::from_utf8_lossy(&second.stderr);
        assert!(said.contains("stacked-py: unchanged"), "{said}");
        let got = ok(&funnel(&endpoint, &["function", "get", "stacked-py"]));
        assert!(got.contains("\"Runtime\":\"python3.12\""), "{got}");
        assert!(
            got.contains("\"Handler\":\"lambda_function.lambda_handler\""),
            "{got}"
        );
        let said = ok(&funnel(
            &endpoint,
            &["invoke", "stacked-py", "--payload", r#"{"name":"Cy"}"#],
        ));
        assert!(said.contains("Hello, Cy!"), "{said}");
    }
    let bad = funnel(
        &endpoint,
        &[
            "function",
            "create",
            "nope",
            "--code",
            &repo_root().join("examples").to_string_lossy(),
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--runtime"));
}

#[test]
fn a_rust_crate_folder_builds_the_same_way() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let folder = repo_root().join("wasm-functions").join("hello");
    let created = ok(&funnel(
        &endpoint,
        &[
            "function",
            "create",
            "hello-rs",
            "--code",
            &folder.to_string_lossy(),
        ],
    ));
    assert!(created.contains("\"Runtime\":\"rust\""), "{created}");
    let said = ok(&funnel(
        &endpoint,
        &["invoke", "hello-rs", "--payload", r#"{"name":"Ada"}"#],
    ));
    assert!(said.contains("Hello, Ada!"), "{said}");
}
