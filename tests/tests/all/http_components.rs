//! `wasi:http/incoming-handler` components behind a function URL: served
//! natively (streamed both ways), in warm environments under the same
//! limits, concurrency and logs as any function.

use funnel_client::proto;
use funnel_tests::{TestServer, eventually, guests, http_request, json_of, start_server};

/// `name` from `http-hello`, public, with a URL; the URL's path.
async fn hello_url(server: &TestServer, name: &str) -> String {
    server.create(name, guests::HTTP_HELLO).await;
    server.path_of(&server.public_url(name).await)
}

#[tokio::test]
async fn a_wasi_http_component_answers_streamed_from_one_warm_instance() {
    let server = start_server().await;
    let root = hello_url(&server, "web").await;

    let first = http_request(
        server.http,
        "GET",
        &format!("{root}greet?who=ada"),
        &[],
        b"",
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(
        first.text(),
        "hello from wasi:http at /greet?who=ada\nreceived 0 bytes\n"
    );
    assert_eq!(first.header("content-type"), Some("text/plain"));
    // Streamed as written: no length known up front.
    assert_eq!(first.header("transfer-encoding"), Some("chunked"));
    let request_id = first
        .header("x-amzn-requestid")
        .expect("x-amzn-RequestId")
        .to_string();

    // An invocation ends when the guest's handle returns, which may be a
    // moment after its client has the whole response; until then its
    // environment is busy, and a request in that moment starts another.
    // Waiting for each one's REPORT makes the next one find it idle.
    let reported = |n: usize| {
        let server = &server;
        eventually("the last request's REPORT", move || async move {
            let log = server.log_messages("web").await;
            let reports = log
                .iter()
                .filter(|e| e.message.starts_with("REPORT "))
                .count();
            (reports >= n).then_some(log)
        })
    };
    reported(1).await;

    // The request body streams in.
    let body = vec![b'x'; 300_000];
    let posted = http_request(server.http, "POST", &format!("{root}upload"), &[], &body).await;
    assert_eq!(
        posted.text(),
        "hello from wasi:http at /upload\nreceived 300000 bytes\n"
    );
    reported(2).await;
    // One instance served them all: warm reuse, not an instance per request.
    let mut served = vec![first.header("x-instance-requests").unwrap().to_string()];
    served.push(posted.header("x-instance-requests").unwrap().to_string());
    for n in 3..=5 {
        let again = http_request(server.http, "GET", &root, &[], b"").await;
        served.push(again.header("x-instance-requests").unwrap().to_string());
        reported(n).await;
    }
    assert_eq!(served, ["1", "2", "3", "4", "5"]);

    // Logged as any invocation: START/END/REPORT each, one Init. (An
    // invocation is recorded when the guest's handle returns, which may
    // be a moment after its client has the whole response.)
    let log = reported(5).await;
    let count = |prefix: &str| log.iter().filter(|e| e.message.starts_with(prefix)).count();
    assert_eq!(count("START "), 5);
    assert_eq!(count("END "), 5);
    assert_eq!(count("REPORT "), 5);
    let inits = log
        .iter()
        .filter(|e| e.message.starts_with("REPORT ") && e.message.contains("Init Duration"))
        .count();
    assert_eq!(inits, 1, "one Init per environment");
    assert!(
        log.iter()
            .any(|e| e.message.starts_with("START ") && e.message.contains(&request_id)),
        "the response's request id is the invocation's"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_wasi_http_component_keeps_the_limits_of_any_function() {
    let server = start_server().await;
    let root = hello_url(&server, "web").await;
    server
        .client
        .put_function_concurrency("web", 0)
        .await
        .expect("reserve 0");
    let throttled = http_request(server.http, "GET", &root, &[], b"").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("1"));
    server
        .client
        .delete_function_concurrency("web")
        .await
        .expect("unreserve");
    let big = vec![b'x'; 6 * 1024 * 1024 + 1];
    let refused = http_request(server.http, "POST", &root, &[], &big).await;
    assert_eq!(refused.status, 413);
    // An event is not what it takes: a direct Invoke says so.
    let invoked = server.invoke("web", "{}").await;
    assert_eq!(invoked.function_error, "Unhandled");
    assert_eq!(json_of(&invoked)["errorType"], "Runtime.InvalidEntrypoint");
    assert_eq!(
        http_request(server.http, "GET", &root, &[], b"")
            .await
            .status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn a_route_serves_a_wasi_http_component_too() {
    let server = start_server().await;
    server.create("web", guests::HTTP_HELLO).await;
    server
        .client
        .create_route(proto::CreateRouteRequest {
            route_key: "GET /files/{proxy+}".into(),
            target: "web".into(),
            ..Default::default()
        })
        .await
        .expect("create route");
    let answer = http_request(server.http, "GET", "/files/a/b.txt?v=2", &[], b"").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.text(),
        "hello from wasi:http at /files/a/b.txt?v=2\nreceived 0 bytes\n"
    );
    eventually("one START line", || async {
        (server.starts("web").await == 1).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_big_response_streams_and_stops_at_20_mb() {
    let server = start_server().await;
    let root = hello_url(&server, "web").await;
    let header = "hello from wasi:http at /?bytes=3000000\nreceived 0 bytes\n";
    // More than the host buffers: the guest waits for the client as it writes.
    let big = http_request(
        server.http,
        "GET",
        &format!("{root}?bytes=3000000"),
        &[],
        b"",
    )
    .await;
    assert_eq!(big.status, 200);
    assert_eq!(big.body.len(), header.len() + 3_000_000);
    assert!(big.text().starts_with(header));
    // Past Lambda's 20 MB streaming limit the response is cut off.
    let cut = http_request(
        server.http,
        "GET",
        &format!("{root}?bytes=25000000"),
        &[],
        b"",
    )
    .await;
    assert_eq!(cut.status, 200);
    assert!(
        cut.body.len() <= 20 * 1024 * 1024,
        "{} bytes went out",
        cut.body.len()
    );
    assert!(cut.body.len() < 25_000_000);
    // The door and the function keep serving.
    let after = http_request(server.http, "GET", &root, &[], b"").await;
    assert_eq!(after.status, 200, "{}", after.text());
    server.stop().await;
}
