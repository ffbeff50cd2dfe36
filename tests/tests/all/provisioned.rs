//! Provisioned concurrency: environments started before the first call and
//! serving it with no Init Duration, calls beyond them spilling over to
//! on-demand environments, trapped environments replaced, and the metrics
//! that show it.

use funnel_client::proto;
use funnel_tests::guests;
use funnel_tests::{TestServer, eventually, invoke_request, log_of, report_of, start_server};

/// Creates `name` from `guest`, publishes version 1, provisions `count`
/// environments for it and waits for `READY`.
async fn provisioned(server: &TestServer, name: &str, guest: guests::Guest, count: i32) -> String {
    server.create(name, guest).await;
    let version = server
        .client
        .publish_version(proto::PublishVersionRequest {
            function_name: name.into(),
            ..Default::default()
        })
        .await
        .expect("publish")
        .version;
    server
        .client
        .put_provisioned_concurrency_config(name, &version, count)
        .await
        .expect("put provisioned concurrency");
    eventually("READY", || async {
        let got = server
            .client
            .get_provisioned_concurrency_config(name, &version)
            .await
            .ok()?;
        (got.status == "READY").then_some(())
    })
    .await;
    version
}

/// An invocation of `name:version` with its log tail.
fn call(name: &str, version: &str, payload: &str) -> proto::InvokeRequest {
    let mut request = invoke_request(name, payload);
    request.qualifier = version.into();
    request.log_type = "Tail".into();
    request
}

/// The value of `series` (a full series name with its labels), if present.
fn metric(server: &TestServer, series: &str) -> Option<f64> {
    let text = server.metrics.render();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
}

#[tokio::test]
async fn provisioned_environments_are_ready_before_the_first_call() {
    let server = start_server().await;
    server.create("p", guests::COUNTER).await;
    let v1 = server
        .client
        .publish_version(proto::PublishVersionRequest {
            function_name: "p".into(),
            ..Default::default()
        })
        .await
        .expect("publish");
    let err = server
        .client
        .put_provisioned_concurrency_config("p", "$LATEST", 1)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );
    let put = server
        .client
        .put_provisioned_concurrency_config("p", &v1.version, 2)
        .await
        .expect("put");
    assert_eq!(put.requested_provisioned_concurrent_executions, 2);
    let ready = eventually("READY", || async {
        let got = server
            .client
            .get_provisioned_concurrency_config("p", &v1.version)
            .await
            .ok()?;
        (got.status == "READY").then_some(got)
    })
    .await;
    assert_eq!(ready.allocated_provisioned_concurrent_executions, 2);
    assert_eq!(ready.available_provisioned_concurrent_executions, 2);
    assert_eq!(server.runtime.idle_environments(), 2);
    let mut request = funnel_tests::invoke_request("p", "{}");
    request.qualifier = v1.version.clone();
    request.log_type = "Tail".into();
    let out = server.client.invoke(request).await.expect("invoke");
    let report = funnel_tests::report_of(&funnel_tests::log_of(&out));
    assert_eq!(
        report.init_duration_ms, None,
        "no Init Duration when provisioned"
    );
    server
        .client
        .delete_provisioned_concurrency_config("p", &v1.version)
        .await
        .expect("delete");
    let err = server
        .client
        .get_provisioned_concurrency_config("p", &v1.version)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_type.as_deref(),
        Some("ProvisionedConcurrencyConfigNotFoundException")
    );
}

#[tokio::test]
async fn calls_beyond_the_provisioned_environments_spill_over_to_on_demand_ones() {
    let server = start_server().await;
    let version = provisioned(&server, "p", guests::RECORDER, 1).await;
    let utilization = r#"funnel_provisioned_concurrency_utilization{function="p",version="1"}"#;
    assert_eq!(metric(&server, utilization), Some(0.0));

    // The first call holds the one provisioned environment...
    let first = tokio::spawn({
        let client = server.client.clone();
        let request = call("p", &version, r#"{"sleep_ms":400}"#);
        async move { client.invoke(request).await.expect("first call") }
    });
    eventually("the provisioned environment busy", || async {
        (server.runtime.provisioned_idle("p", &version) == 0).then_some(())
    })
    .await;
    assert_eq!(metric(&server, utilization), Some(1.0));
    assert_eq!(
        metric(
            &server,
            r#"funnel_provisioned_concurrent_executions{function="p",version="1"}"#
        ),
        Some(1.0)
    );
    // ...so the second starts an on-demand one, with an Init Duration.
    let second = server
        .client
        .invoke(call("p", &version, "{}"))
        .await
        .expect("second call");
    let first = first.await.expect("first task");
    assert_eq!(report_of(&log_of(&first)).init_duration_ms, None);
    assert!(
        report_of(&log_of(&second)).init_duration_ms.is_some(),
        "a spilled-over call is a cold start: {}",
        log_of(&second)
    );
    assert_eq!(
        metric(
            &server,
            r#"funnel_provisioned_concurrency_invocations_total{function="p"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &server,
            r#"funnel_provisioned_concurrency_spillover_invocations_total{function="p"}"#
        ),
        Some(1.0)
    );
    assert_eq!(metric(&server, utilization), Some(0.0));

    // The provisioned environment is back, and serves the next call warm.
    let third = server
        .client
        .invoke(call("p", &version, "{}"))
        .await
        .expect("third call");
    assert_eq!(report_of(&log_of(&third)).init_duration_ms, None);

    // An alias of the version cannot get a second config for it.
    server
        .client
        .create_alias(proto::CreateAliasRequest {
            function_name: "p".into(),
            name: "live".into(),
            function_version: version.clone(),
            ..Default::default()
        })
        .await
        .expect("alias");
    let err = server
        .client
        .put_provisioned_concurrency_config("p", "live", 1)
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("ResourceConflictException"));

    // Once the config is deleted the version's series are gone.
    server
        .client
        .delete_provisioned_concurrency_config("p", &version)
        .await
        .expect("delete");
    assert_eq!(metric(&server, utilization), None);
}

#[tokio::test]
async fn a_provisioned_environment_that_traps_is_replaced() {
    let server = start_server().await;
    let version = provisioned(&server, "p", guests::RECORDER, 1).await;
    let trapped = server
        .client
        .invoke(call("p", &version, r#"{"panic":true}"#))
        .await
        .expect("invoke");
    assert_eq!(trapped.function_error, "Unhandled");
    eventually("a replacement", || async {
        (server.runtime.provisioned_idle("p", &version) == 1).then_some(())
    })
    .await;
    let after = server
        .client
        .invoke(call("p", &version, "{}"))
        .await
        .expect("invoke");
    assert_eq!(after.function_error, "");
    assert_eq!(
        report_of(&log_of(&after)).init_duration_ms,
        None,
        "the replacement was started ahead of the call"
    );
    let ready = server
        .client
        .get_provisioned_concurrency_config("p", &version)
        .await
        .expect("get");
    assert_eq!(ready.status, "READY");
    assert_eq!(ready.available_provisioned_concurrent_executions, 1);
}

#[tokio::test]
async fn deleting_the_config_mid_call_leaves_no_provisioned_environment_behind() {
    let server = start_server().await;
    let version = provisioned(&server, "p", guests::RECORDER, 1).await;
    let busy = tokio::spawn({
        let client = server.client.clone();
        let request = call("p", &version, r#"{"sleep_ms":300}"#);
        async move { client.invoke(request).await.expect("call") }
    });
    eventually("the provisioned environment busy", || async {
        (server.runtime.provisioned_idle("p", &version) == 0).then_some(())
    })
    .await;
    server
        .client
        .delete_provisioned_concurrency_config("p", &version)
        .await
        .expect("delete");
    busy.await.expect("call task");
    // It came back (before the answer was sent) as an ordinary warm
    // environment, not a provisioned one.
    assert_eq!(server.runtime.provisioned_idle("p", &version), 0);
    assert_eq!(server.runtime.idle_environments(), 1);
    assert!(server.runtime.provisioned_usage().is_empty());
}
