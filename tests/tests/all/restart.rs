//! Data survives a restart, and the second start loads compiled code from
//! the on-disk cache instead of recompiling.

use funnel_tests::guests;
use funnel_tests::{json_of, start_server_with, test_config};
use serde_json::json;

#[tokio::test]
async fn functions_survive_a_restart_and_load_from_the_compiled_cache() {
    let dir = tempfile::tempdir().expect("temp dir");

    let first = start_server_with(test_config(dir.path())).await;
    assert_eq!(
        first.startup_cache.hits + first.startup_cache.misses,
        0,
        "nothing to load yet"
    );
    first.create("hello", guests::HELLO).await;
    first.create("echo", guests::ECHO).await;
    let before = first.client.get_function("hello").await.expect("get");
    first.stop().await;

    let second = start_server_with(test_config(dir.path())).await;
    assert_eq!(
        second.startup_cache.misses, 0,
        "nothing recompiled: {:?}",
        second.startup_cache
    );
    assert_eq!(
        second.startup_cache.hits, 2,
        "both functions came from the cache"
    );
    let after = second
        .client
        .get_function("hello")
        .await
        .expect("get after restart");
    assert_eq!(after.configuration, before.configuration);
    let out = second.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));
    second.stop().await;

    // A cache from another engine (or a corrupt file) is not trusted: wipe
    // it and the third start recompiles, then works the same.
    std::fs::remove_dir_all(dir.path().join("compiled")).expect("remove cache");
    let third = start_server_with(test_config(dir.path())).await;
    assert_eq!(third.startup_cache.misses, 2);
    let out = third.invoke("echo", r#"{"a":1}"#).await;
    assert_eq!(json_of(&out), json!({"a": 1}));
    third.stop().await;
}

#[tokio::test]
async fn with_power_durability_everything_is_fsynced_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.store.durability = funnel_server::config::Durability::Power;
    config.queue.workers = Some(0);
    let first = start_server_with(config.clone()).await;
    first.create("hello", guests::HELLO).await;
    first
        .client
        .create_bucket("photos", None)
        .await
        .expect("bucket");
    first
        .client
        .put_object("photos", "a.txt", b"kept".to_vec())
        .await
        .expect("put");
    let mut event = funnel_tests::invoke_request("hello", "{}");
    event.invocation_type = "Event".into();
    first.client.invoke(event).await.expect("accepted");
    first.stop().await;

    let second = start_server_with(config).await;
    assert_eq!(second.queue.stats().depth, 1, "the accepted event");
    let object = second
        .client
        .get_object("photos", "a.txt")
        .await
        .expect("the object");
    assert_eq!(object.body, b"kept");
    let out = second.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), json!({"message": "Hello, Ada!"}));
    second.stop().await;
}
