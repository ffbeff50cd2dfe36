//! A backup taken while the server is busy (async invokes and creates
//! going on) restores into a data dir that holds everything acknowledged
//! before it began: queued events, functions, versions, aliases,
//! subscriptions, objects and the keys that sign in.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use funnel_client::proto;
use funnel_store::Queued;
use funnel_tests::topics::{allow_sns, subscribe};
use funnel_tests::{create_request, guest, guests, json_of, start_server_with, test_config};

#[derive(Default)]
struct Acked {
    events: BTreeSet<String>,
    functions: BTreeSet<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_everything_acknowledged_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&dir.path().join("a"));
    // Accepted events stay queued: the backup must carry them.
    config.queue.workers = Some(0);
    let server = start_server_with(config).await;
    let client = server.client.clone();
    server.create("hello", guests::HELLO).await;
    client
        .publish_version(proto::PublishVersionRequest {
            function_name: "hello".into(),
            ..Default::default()
        })
        .await
        .expect("version");
    client
        .create_alias(proto::CreateAliasRequest {
            function_name: "hello".into(),
            name: "live".into(),
            function_version: "1".into(),
            ..Default::default()
        })
        .await
        .expect("alias");
    let topic = client.create_topic("orders").await.expect("topic");
    allow_sns(&server, "hello", &topic).await;
    let subscription = subscribe(&server, &topic, "hello", None).await;
    client.create_bucket("photos", None).await.expect("bucket");
    client
        .put_object("photos", "cats/tom.txt", b"a cat".to_vec())
        .await
        .expect("put");

    // Load: async invokes and new functions, acknowledged as they go.
    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut load = Vec::new();
    for worker in 0..3 {
        let (client, acked, stop) = (client.clone(), acked.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.is_cancelled() {
                let out = client
                    .invoke(proto::InvokeRequest {
                        function_name: "hello".into(),
                        invocation_type: "Event".into(),
                        payload: format!(r#"{{"worker":{worker},"n":{n}}}"#).into_bytes(),
                        ..Default::default()
                    })
                    .await
                    .expect("accepted");
                acked.lock().unwrap().events.insert(out.request_id);
                n += 1;
            }
        }));
    }
    {
        let (client, acked, stop) = (client.clone(), acked.clone(), stop.clone());
        let code = guest(guests::ECHO);
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.is_cancelled() {
                let name = format!("echo-{n}");
                client
                    .create_function(create_request(&name, code.clone()))
                    .await
                    .expect("create");
                acked.lock().unwrap().functions.insert(name);
                n += 1;
            }
        }));
    }
    funnel_tests::eventually("the load is going", || async {
        let acked = acked.lock().unwrap();
        (acked.events.len() > 50 && acked.functions.len() > 2).then_some(())
    })
    .await;
    let file = dir.path().join("backup.fnl");
    let before = {
        let acked = acked.lock().unwrap();
        (acked.events.clone(), acked.functions.clone())
    };
    let bytes = client.backup_to(&file, true).await.expect("backup");
    let after_events = acked.lock().unwrap().events.len();
    stop.cancel();
    for task in load {
        task.await.expect("load");
    }
    assert!(
        after_events > before.0.len(),
        "the backup was taken under load"
    );
    assert_eq!(std::fs::metadata(&file).unwrap().len(), bytes);
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the backup holds the master key");
    }
    server.stop().await;

    // Restore into a new folder; the queue holds every event acknowledged
    // before the backup.
    let restored = dir.path().join("b");
    let summary = funnel_server::backup::restore(&file, &restored).expect("restore");
    assert!(summary.records > 0 && summary.files >= 2, "{summary:?}");
    {
        let store = funnel_store::Store::open(&restored.join("db")).expect("store");
        let queued: BTreeSet<String> = store
            .due_events(i64::MAX, usize::MAX)
            .expect("queue")
            .into_iter()
            .filter_map(|(_, queued)| match queued {
                Queued::Event(event) => Some(event.request_id),
                Queued::Group(_) => None,
            })
            .collect();
        let lost: Vec<_> = before.0.difference(&queued).collect();
        assert!(
            lost.is_empty(),
            "{} acknowledged events lost: {lost:?}",
            lost.len()
        );
    }

    // A server on the restored data dir: the same keys sign in, and it
    // has everything.
    let mut config = test_config(&restored);
    config.queue.workers = Some(0);
    let server = start_server_with(config).await;
    let client = &server.client;
    for name in &before.1 {
        client
            .get_function(name)
            .await
            .expect("a function acknowledged before");
    }
    let versions = client
        .list_versions_by_function("hello", "", None)
        .await
        .expect("versions");
    assert_eq!(versions.versions.len(), 2, "$LATEST and 1");
    client.get_alias("hello", "live").await.expect("alias");
    let subscriptions = client
        .list_subscriptions_by_topic(&topic)
        .await
        .expect("subscriptions");
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(subscriptions[0].subscription_arn, subscription);
    let object = client
        .get_object("photos", "cats/tom.txt")
        .await
        .expect("the object's file came back");
    assert_eq!(object.body, b"a cat");
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(json_of(&out), serde_json::json!({"message": "Hello, Ada!"}));
    server.stop().await;
}
