//! A data dir written by the previous release (commit f9b201c, before
//! accounts; made with its CLI: functions `hello` (a version, an alias
//! `live`, a layer) and `rec`, bucket `photos` notifying `rec`, an object,
//! topic `orders` subscribed by `rec`, rule `nightly` targeting `rec`, and
//! their logs) opens in this funnel and keeps working, in the home account.

use funnel_client::proto;
use funnel_tests::{json_of, start_server_with, test_config};

/// Unpacks the fixture into a fresh folder; returns it and the data dir.
fn unpack() -> (tempfile::TempDir, std::path::PathBuf) {
    let fixture = funnel_tests::repo_root().join("tests/fixtures/data-dir-f9b201c.tar.gz");
    let dir = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("run tar");
    assert!(status.success(), "unpacking {}", fixture.display());
    let data = dir.path().join("data");
    (dir, data)
}

#[tokio::test]
async fn a_data_dir_from_the_previous_release_opens_and_keeps_working() {
    let (_dir, data) = unpack();
    let server = start_server_with(test_config(&data)).await;
    let client = &server.client;

    // Its functions, version, alias and layer are the home account's.
    let hello = client.get_function("hello").await.expect("hello");
    let config = hello.configuration.expect("configuration");
    assert_eq!(
        config.function_arn,
        "arn:funnel:lambda:local:000000000000:function:hello"
    );
    assert_eq!(config.layers.len(), 1);
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), serde_json::json!({"message": "Hi, Ada!"}));
    let mut live = funnel_tests::invoke_request("hello", r#"{"name":"Ada"}"#);
    live.qualifier = "live".into();
    client.invoke(live).await.expect("the alias");
    // Its logs, written before the upgrade.
    let logs = client
        .filter_log_events(proto::FilterLogEventsRequest {
            log_group_name: "/aws/lambda/hello".into(),
            ..Default::default()
        })
        .await
        .expect("logs");
    assert!(
        logs.events
            .iter()
            .filter(|e| e.message.starts_with("START"))
            .count()
            >= 3,
        "{:?}",
        logs.events
    );

    // Its bucket (a relative path the old server stored) moved with the
    // data dir; the object is there and a new one fires rec.
    let object = client
        .get_object("photos", "pets/cat.txt")
        .await
        .expect("the old object");
    assert_eq!(object.body, b"a cat\n");
    client
        .put_object("photos", "pets/dog.txt", b"a dog".to_vec())
        .await
        .expect("put");
    funnel_tests::eventually("rec hears of the new object", || async {
        server
            .log_messages("rec")
            .await
            .into_iter()
            .any(|e| e.message.contains("pets/dog.txt"))
            .then_some(())
    })
    .await;
    // Its topic, subscription and rule.
    let topics = client.list_all_topics().await.expect("topics");
    assert_eq!(topics, ["arn:funnel:sns:local:000000000000:orders"]);
    client
        .publish(proto::PublishRequest {
            topic_arn: topics[0].clone(),
            message: "order 8 shipped".into(),
            ..Default::default()
        })
        .await
        .expect("publish");
    funnel_tests::eventually("rec hears of the new message", || async {
        server
            .log_messages("rec")
            .await
            .into_iter()
            .any(|e| e.message.contains("order 8 shipped"))
            .then_some(())
    })
    .await;
    let rule = client.describe_rule("nightly").await.expect("rule");
    assert_eq!(rule.created_by, "000000000000");
    // And it now has accounts: the operator's key works (it did above),
    // and its credentials were written.
    assert!(data.join("credentials").is_file());
    server.stop().await;

    // Migrated once: it opens again as it is.
    let again = start_server_with(test_config(&data)).await;
    again.client.get_function("rec").await.expect("rec");
    again.stop().await;
}
