//! Untrusted code meets a bounded compiler: a component whose functions
//! would take Cranelift minutes and gigabytes is refused before it is
//! compiled, and a compile past `runtime.compile_timeout` is refused too;
//! other functions keep answering meanwhile.

use std::time::Duration;

use funnel_tests::{create_request, guest, guests, start_server, start_server_with, test_config};

/// A component with one function of `locals` i64 locals and `blocks`
/// blocks that each branch and write a local: SSA construction's work
/// grows with their product (measured: 5,000 locals and ~100,000 blocks
/// took 70 s and 3.7 GB to compile).
fn compile_bomb(locals: u32, blocks: u32) -> Vec<u8> {
    let mut body = String::new();
    for i in 0..blocks {
        let (a, b) = (i % locals, (i * 7 + 3) % locals);
        body.push_str(&format!(
            "(block local.get {a} local.get {b} i64.add local.set {b} \
             local.get {a} i32.wrap_i64 br_if 0 local.get {b} local.set {a})\n"
        ));
    }
    let sum: String = (0..locals)
        .map(|l| format!("local.get {l} "))
        .collect::<String>()
        + &"i64.add ".repeat(locals as usize - 1);
    let wat = format!(
        "(component (core module (func (export \"f\") (result i64) (local {}) {body} {sum})))",
        "i64 ".repeat(locals as usize)
    );
    wat::parse_str(&wat).expect("the bomb assembles")
}

#[tokio::test]
async fn a_compile_bomb_is_refused_and_hello_keeps_answering() {
    let server = start_server().await;
    let bomb = compile_bomb(5_000, 100_000);
    let created = server
        .while_hello_answers(server.client.create_function(create_request("bomb", bomb)))
        .await;
    let refused = created.expect_err("the bomb is refused").to_string();
    assert!(
        refused.contains("InvalidParameterValueException"),
        "{refused}"
    );
    assert!(refused.contains("compile bomb"), "{refused}");
    assert!(
        server.client.get_function("bomb").await.is_err(),
        "nothing of it was kept"
    );
    // A small one of the same shape passes the bounds: it is refused only
    // for exporting no handler.
    let refused = server
        .client
        .create_function(create_request("small", compile_bomb(10, 100)))
        .await
        .expect_err("no handler")
        .to_string();
    assert!(!refused.contains("compile bomb"), "{refused}");
    assert!(refused.contains("handler"), "{refused}");
    server.stop().await;
}

#[tokio::test]
async fn a_compile_past_the_deadline_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.runtime.compile_timeout = Duration::ZERO;
    let server = start_server_with(config).await;
    let refused = server
        .client
        .create_function(create_request("hello", guest(guests::HELLO)))
        .await
        .expect_err("no compile finishes in no time")
        .to_string();
    assert!(
        refused.contains("InvalidParameterValueException"),
        "{refused}"
    );
    assert!(refused.contains("runtime.compile_timeout"), "{refused}");
    server.stop().await;
}
