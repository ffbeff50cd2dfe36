//! Metrics: Lambda's per-function counts, scraped from the HTTP `/metrics`
//! endpoint as Prometheus does, and read over gRPC.

use funnel_tests::guests;

use funnel_client::proto;
use funnel_tests::{eventually, start_server};

/// `GET /metrics` over a plain TCP connection, as a scraper sends it.
fn scrape(addr: std::net::SocketAddr) -> String {
    let (head, body) = funnel_tests::scrape_metrics(addr, None);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    body
}

/// The value of the series `name{function="function"}` (0 when absent).
fn value(text: &str, name: &str, function: &str) -> f64 {
    let prefix = format!("{name}{{function=\"{function}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

fn account(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let server = start_server().await;
    let (addr, stop) = server.serve_metrics(None).await;
    server.create("echo", guests::ECHO).await;
    server.create("fail", guests::FAIL).await;
    for _ in 0..3 {
        server.invoke("echo", "{}").await;
    }
    assert_eq!(server.invoke("fail", "{}").await.function_error, "Handled");
    server
        .client
        .put_function_concurrency("echo", 0)
        .await
        .expect("throttle echo");
    let err = server
        .client
        .invoke(funnel_tests::invoke_request("echo", "{}"))
        .await;
    assert!(err.is_err());
    server
        .client
        .delete_function_concurrency("echo")
        .await
        .expect("lift");
    server
        .client
        .invoke(proto::InvokeRequest {
            function_name: "echo".into(),
            invocation_type: "Event".into(),
            ..Default::default()
        })
        .await
        .expect("event");

    let text = eventually("the async event delivered", || async {
        let text = tokio::task::spawn_blocking(move || scrape(addr))
            .await
            .ok()?;
        (value(&text, "funnel_invocations_total", "echo") == 4.0).then_some(text)
    })
    .await;
    // Throttled calls are not invocations.
    assert_eq!(value(&text, "funnel_throttles_total", "echo"), 1.0);
    assert_eq!(value(&text, "funnel_errors_total", "echo"), 0.0);
    assert_eq!(value(&text, "funnel_invocations_total", "fail"), 1.0);
    assert_eq!(value(&text, "funnel_errors_total", "fail"), 1.0);
    assert_eq!(value(&text, "funnel_cold_starts_total", "echo"), 1.0);
    assert_eq!(
        value(&text, "funnel_async_events_received_total", "echo"),
        1.0
    );
    assert_eq!(
        value(&text, "funnel_async_events_dropped_total", "echo"),
        0.0
    );
    assert_eq!(
        value(&text, "funnel_duration_milliseconds_count", "echo"),
        4.0
    );
    assert_eq!(
        value(&text, "funnel_init_duration_milliseconds_count", "echo"),
        1.0
    );
    assert_eq!(value(&text, "funnel_concurrent_executions", "echo"), 0.0);
    assert_eq!(
        account(&text, "funnel_unreserved_concurrent_executions"),
        1000.0
    );
    assert_eq!(account(&text, "funnel_account_concurrent_executions"), 0.0);
    assert_eq!(account(&text, "funnel_async_queue_depth"), 0.0);
    assert!(text.trim_end().ends_with("# EOF"));

    // The same over gRPC, for one function.
    let only_fail = server
        .client
        .get_metrics("fail")
        .await
        .expect("get metrics");
    assert_eq!(value(&only_fail, "funnel_errors_total", "fail"), 1.0);
    assert!(!only_fail.contains("function=\"echo\""), "{only_fail}");
    stop.cancel();
}
