//! Tracing's new traces: a file written into a bucket's folder and a
//! schedule's fire each start a trace of their own, rooted at `s3 event`
//! and `schedule fire`, with the function's queue and invocation under it.

use std::time::Duration;

use funnel_client::{Target, proto};
use funnel_tests::{eventually, guests, start_server_with, test_config};

/// The one trace that ran `function`, once its invocation is in it.
async fn trace_of(server: &funnel_tests::TestServer, function: &str) -> proto::Trace {
    eventually(&format!("a trace through {function}"), || async {
        let listed = server
            .client
            .list_traces(proto::ListTracesRequest {
                function_name: function.into(),
                ..Default::default()
            })
            .await
            .ok()?;
        let [summary] = listed.as_slice() else {
            return None;
        };
        let trace = server.client.get_trace(&summary.trace_id).await.ok()?;
        trace
            .spans
            .iter()
            .any(|s| s.name == "funnel.invoke")
            .then_some(trace)
    })
    .await
}

/// Asserts `trace` is root → funnel.queue → funnel.invoke of `function`.
fn assert_rooted(trace: &proto::Trace, root: &str, function: &str) {
    let find = |name: &str| {
        trace
            .spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} in {trace:#?}"))
    };
    let top = find(root);
    assert_eq!(top.parent_span_id, "", "{root} starts the trace");
    let queue = find("funnel.queue");
    assert_eq!(queue.parent_span_id, top.span_id);
    let invoke = find("funnel.invoke");
    assert_eq!(invoke.parent_span_id, queue.span_id);
    assert_eq!(invoke.function_name, function);
    assert_eq!(trace.summary.as_ref().map(|s| s.root.as_str()), Some(root));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_write_and_a_schedule_fire_each_start_a_trace() {
    let data = tempfile::tempdir().expect("temp dir");
    let folder = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(data.path());
    config.buckets.roots.push(folder.path().to_path_buf());
    config.tracing.sample_rate = 1.0;
    let server = start_server_with(config).await;

    server.create("thumbs", guests::RECORDER).await;
    server
        .allow("thumbs", "s3", "s3.amazonaws.com", "arn:funnel:s3:::photos")
        .await;
    let path = folder.path().join("photos");
    std::fs::create_dir(&path).expect("bucket folder");
    server
        .client
        .create_bucket("photos", Some(&path.to_string_lossy()))
        .await
        .expect("bucket");
    server
        .client
        .put_bucket_notification_configuration(
            "photos",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "thumbs".into(),
                    lambda_function_arn: "arn:funnel:lambda:local:000000000000:function:thumbs"
                        .into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await
        .expect("notifications");
    std::fs::write(path.join("cat.jpg"), b"jpeg").expect("a file written into the folder");
    let trace = trace_of(&server, "thumbs").await;
    assert_rooted(&trace, "s3 event", "thumbs");
    let event = trace.spans.iter().find(|s| s.name == "s3 event").unwrap();
    assert!(
        event
            .attributes
            .iter()
            .any(|a| a.key == "key" && a.value == "cat.jpg"),
        "{event:#?}"
    );

    server.create("audit", guests::RECORDER).await;
    server
        .allow(
            "audit",
            "events",
            "events.amazonaws.com",
            "arn:funnel:events:local:000000000000:rule/hourly",
        )
        .await;
    server
        .client
        .put_schedule("hourly", "rate(1 hour)")
        .await
        .expect("rule");
    server
        .client
        .put_targets(
            "hourly",
            vec![Target {
                id: "audit".into(),
                function: "audit".into(),
                input: None,
            }],
        )
        .await
        .expect("targets");
    server
        .client
        .advance_clock(Duration::from_secs(3600))
        .await
        .expect("advance");
    let trace = trace_of(&server, "audit").await;
    assert_rooted(&trace, "schedule fire", "audit");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_continues_the_callers_trace_to_each_subscriber() {
    use funnel_tests::topics::{allow_sns, subscribe};
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    let orders = server.client.create_topic("orders").await.expect("topic");
    for function in ["audit", "ship"] {
        server.create(function, guests::RECORDER).await;
        allow_sns(&server, function, &orders).await;
        subscribe(&server, &orders, function, None).await;
    }
    let trace_id = "8bf92f3577b34da6a3ce929d0e0e4736";
    server
        .client
        .publish_traced(
            proto::PublishRequest {
                topic_arn: orders.clone(),
                message: "order 7".into(),
                ..Default::default()
            },
            &[("traceparent", &format!("00-{trace_id}-00f067aa0ba902b7-01"))],
        )
        .await
        .expect("publish");
    let trace = eventually("both deliveries in the trace", || async {
        let trace = server.client.get_trace(trace_id).await.ok()?;
        let invokes = trace
            .spans
            .iter()
            .filter(|s| s.name == "funnel.invoke")
            .count();
        (invokes == 2).then_some(trace)
    })
    .await;
    let span = |name: &str| {
        trace
            .spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} in {trace:#?}"))
    };
    let request = span("grpc Publish");
    assert_eq!(request.parent_span_id, "00f067aa0ba902b7");
    let publish = span("sns publish");
    assert_eq!(publish.parent_span_id, request.span_id);
    let mut delivered: Vec<&str> = Vec::new();
    for deliver in trace.spans.iter().filter(|s| s.name == "sns deliver") {
        assert_eq!(deliver.parent_span_id, publish.span_id);
        let queue = trace
            .spans
            .iter()
            .find(|s| s.name == "funnel.queue" && s.parent_span_id == deliver.span_id)
            .expect("its queue span");
        let invoke = trace
            .spans
            .iter()
            .find(|s| s.name == "funnel.invoke" && s.parent_span_id == queue.span_id)
            .expect("its invocation");
        delivered.push(&invoke.function_name);
    }
    delivered.sort();
    assert_eq!(delivered, ["audit", "ship"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accounts_traces_are_its_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    let team = server.account_client("111111111111", "team").await;
    team.create_function(funnel_tests::create_request(
        "echo",
        funnel_tests::guest(guests::ECHO),
    ))
    .await
    .expect("create");
    let trace_id = "9bf92f3577b34da6a3ce929d0e0e4736";
    team.invoke_traced(
        funnel_tests::invoke_request("echo", "{}"),
        &[("traceparent", &format!("00-{trace_id}-00f067aa0ba902b7-01"))],
    )
    .await
    .expect("invoke");
    let theirs = team.get_trace(trace_id).await.expect("their trace");
    let invoke = theirs
        .spans
        .iter()
        .find(|s| s.name == "funnel.invoke")
        .expect("the invocation");
    assert_eq!(invoke.function_name, "echo", "named in its account");
    assert_eq!(team.list_traces(Default::default()).await.unwrap().len(), 1);
    let refused = server
        .client
        .get_trace(trace_id)
        .await
        .expect_err("another account's trace");
    assert_eq!(refused.code, funnel_client::Code::NotFound);
    assert!(
        server
            .client
            .list_traces(Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}
