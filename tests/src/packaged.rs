//! Helpers for tests of Python and Node.js handlers: building a source
//! folder with the real packager (installed by funnel on first use) and
//! deploying it.
//!
//! When a packager cannot be installed (no Python or Node.js, no route to
//! the registry) [`built`] reports it through [`crate::skip`] (a failure
//! under CI) and returns None.

use std::path::Path;
use std::sync::Mutex;

use funnel_build::{self as packaging, Language};
use funnel_client::proto;

use crate::{TestServer, create_request, json_of, log_of, repo_root};

/// Builds `folder` (relative to the repository) for `language` into
/// `target/packaged-guests/`; None, with the reason printed, when its
/// packager is missing.
pub fn built(folder: &str, language: Language) -> Option<Vec<u8>> {
    // One install at a time: tests run in parallel.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let tool = {
        let _one = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
        match language {
            Language::Python => packaging::python::componentize_py().map(|_| ()),
            Language::Nodejs => packaging::nodejs::componentize_js().map(|_| ()),
            Language::Rust => Ok(()),
        }
    };
    if let Err(why) = tool {
        crate::skip(
            &format!("{language:?} handler tests (their packager is missing)"),
            &format!("{why:#}"),
        );
        return None;
    }
    let out_dir = repo_root().join("target").join("packaged-guests");
    std::fs::create_dir_all(&out_dir).expect("output folder");
    let name = Path::new(folder).file_name().expect("a folder name");
    let out = out_dir.join(name).with_extension("wasm");
    let source = repo_root().join(folder);
    packaging::build(&source, language, language.default_handler(), &out)
        .unwrap_or_else(|e| panic!("building {folder}: {e:#}"));
    Some(std::fs::read(&out).expect("the built component"))
}

/// Creates function `name` from `code` with `memory` MB, `timeout`
/// seconds, and `STAGE=test` in its environment.
pub async fn deploy(server: &TestServer, name: &str, code: Vec<u8>, memory: i32, timeout: i32) {
    let mut request = create_request(name, code);
    request.memory_size = Some(memory);
    request.timeout = Some(timeout);
    request.environment = Some(proto::Environment {
        variables: [("STAGE".to_string(), "test".to_string())].into(),
    });
    server
        .client
        .create_function(request)
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e}"));
}

/// Invokes a Lambda-tutorial greeter `function` (128 MB) with Ada's name:
/// it answers `{"statusCode": 200, "message": "Hello, Ada!"}` and logs its
/// greeting with the memory size and request id from its context.
pub async fn assert_greets_ada(server: &TestServer, function: &str) {
    let out = server.invoke(function, r#"{"name":"Ada"}"#).await;
    assert_eq!(out.function_error, "", "{}", log_of(&out));
    assert_eq!(
        json_of(&out),
        serde_json::json!({"statusCode": 200, "message": "Hello, Ada!"})
    );
    let log = log_of(&out);
    assert!(log.contains("greeting Ada (128 MB, request "), "{log}");
}

/// A probe's `{"op":"hog"}` (allocates without bound) and `{"op":"spin"}`
/// (never returns) are stopped, and the next call, in a fresh
/// environment, works.
pub async fn assert_limits_hold(server: &TestServer, function: &str) {
    let out = server.invoke(function, r#"{"op":"hog"}"#).await;
    assert_ne!(out.function_error, "", "a hog is stopped");
    let out = server.invoke(function, r#"{"op":"spin"}"#).await;
    let error = json_of(&out);
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("timed out"),
        "{error}"
    );
    let out = server.invoke(function, r#"{"op":"echo"}"#).await;
    assert_eq!(out.function_error, "");
}
