//! A damaged data dir: a record that does not decode in each of the
//! store's trees. The server still starts, sets each aside in the
//! quarantine (listed, counted, dropped by the operator), and delivers
//! everything else: an event queued before the damage, new invocations,
//! publishes.

use std::time::Duration;

use funnel_client::proto;
use funnel_tests::topics::{allow_sns, publish, subscribe, wait_for_message};
use funnel_tests::{eventually, guests, json_of, start_server_with, test_config};

#[tokio::test]
async fn a_bad_record_in_every_tree_is_set_aside_and_the_rest_delivered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = start_server_with(test_config(dir.path())).await;
    first.create("hello", guests::HELLO).await;
    first.create("rec", guests::RECORDER).await;
    first.create("failing", guests::FAIL).await;
    let topic = first.client.create_topic("orders").await.expect("topic");
    allow_sns(&first, "rec", &topic).await;
    subscribe(&first, &topic, "rec", None).await;
    // An event whose retry is queued (due a minute on) when the data dir
    // is damaged.
    let mut event = funnel_tests::invoke_request("failing", "{}");
    event.invocation_type = "Event".into();
    first.client.invoke(event).await.expect("accepted");
    eventually("the first attempt", || async {
        (first.starts("failing").await == 1).then_some(())
    })
    .await;
    first.stop().await;

    // Garbage under a new key of every tree the store reads records from,
    // and a log record that does not decode.
    let db = dir.path().join("db");
    let swept = {
        let store = funnel_store::Store::open(&db).expect("the store opens");
        let swept = store.swept_trees();
        for tree in &swept {
            store
                .insert_raw(tree, b"corrupt", b"\xff{ not a record")
                .expect("write garbage");
        }
        let mut log_key = b"/aws/lambda/hello\0".to_vec();
        log_key.extend_from_slice(&1u64.to_be_bytes()); // its time: 1 ms
        log_key.extend_from_slice(&u64::MAX.to_be_bytes()); // its id
        store
            .insert_raw("logs", &log_key, b"{")
            .expect("write garbage");
        store.flush().expect("flush");
        swept
    };
    assert!(swept.len() >= 20, "{swept:?}");

    let second = start_server_with(test_config(dir.path())).await;
    let client = &second.client;
    let listed = client.list_quarantined().await.expect("list");
    let mut trees: Vec<&str> = listed.iter().map(|r| r.tree.as_str()).collect();
    trees.sort();
    let mut expected = swept.clone();
    expected.sort();
    assert_eq!(trees, expected, "one per tree, at start");
    assert!(listed.iter().all(|r| r.key_text == "corrupt"), "{listed:?}");
    assert!(listed.iter().all(|r| !r.error.is_empty()));
    let metrics = client.get_metrics("").await.expect("metrics");
    assert!(
        metrics.contains(&format!("funnel_records_quarantined_total {}", swept.len())),
        "{metrics}"
    );

    // The rest works: the queued retry runs when it is due, functions
    // answer, publishes are delivered.
    second.runtime.clock().advance(Duration::from_secs(61));
    eventually("the queued retry", || async {
        (second.starts("failing").await >= 2).then_some(())
    })
    .await;
    let out = second.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), serde_json::json!({"message": "Hello, Ada!"}));
    publish(&second, &topic, "after the damage", &[]).await;
    wait_for_message(&second, "rec", "after the damage").await;
    // The damaged log record is set aside when a read meets it.
    let logs = client
        .filter_log_events(proto::FilterLogEventsRequest {
            log_group_name: "/aws/lambda/hello".into(),
            ..Default::default()
        })
        .await
        .expect("hello's log reads");
    assert!(!logs.events.is_empty());
    let listed = client.list_quarantined().await.expect("list");
    assert!(listed.iter().any(|r| r.tree == "logs"), "{listed:?}");

    // The operator drops them; another account may not look.
    let key = hex::encode(b"corrupt");
    client
        .drop_quarantined("functions", &key)
        .await
        .expect("drop");
    let again = client.drop_quarantined("functions", &key).await;
    assert!(
        again.is_err_and(|e| e.to_string().contains("ResourceNotFoundException")),
        "dropped once"
    );
    assert_eq!(
        client.list_quarantined().await.expect("list").len(),
        swept.len()
    );
    // The quarantine is the server's: another account may not look.
    let other = second.account_client("111111111111", "other").await;
    let refused = other.list_quarantined().await;
    assert!(
        refused.is_err_and(|e| e.to_string().contains("AccessDenied")),
        "another account may not read the quarantine"
    );
    second.stop().await;
}
