//! Graceful shutdown: a stop lets in-flight calls finish, but only for the
//! configured grace; the data written before is there on the next start.

use funnel_tests::guests;
use std::time::Duration;

use funnel_tests::{invoke_request, json_of, start_server_with, test_config};

#[tokio::test]
async fn in_flight_calls_finish_before_the_server_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    server.create_with_timeout("spin", guests::SPIN, 1).await;

    // A call that takes its whole second is running when the stop comes.
    let client = server.client.clone();
    let call = tokio::spawn(async move { client.invoke(invoke_request("spin", "{}")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop().await;

    let out = call
        .await
        .expect("task")
        .expect("the in-flight call got its answer");
    assert_eq!(out.function_error, "Unhandled");
    assert_eq!(json_of(&out)["errorType"], "Sandbox.Timedout");

    // The function is still there after a restart.
    let again = start_server_with(test_config(dir.path())).await;
    again
        .client
        .get_function("spin")
        .await
        .expect("still there");
    again.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_past_its_grace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.shutdown_grace = Duration::from_millis(200);
    let server = start_server_with(config).await;
    server.create_with_timeout("spin", guests::SPIN, 30).await;

    let client = server.client.clone();
    let call = tokio::spawn(async move { client.invoke(invoke_request("spin", "{}")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Stopping returns (well before the call's 30 s timeout) and the
    // abandoned call fails instead of hanging.
    server.stop().await;
    let result = call.await.expect("task");
    assert!(result.is_err(), "the call was cut off: {result:?}");
}

#[tokio::test]
async fn a_server_that_cannot_start_stops_what_it_started() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    server.create("rec", guests::RECORDER).await;
    server.stop().await;

    // /metrics cannot listen: its port is taken. That is found after the
    // server opened the database, loaded the functions and set up the API.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut config = test_config(dir.path());
    config.metrics.listen = Some(taken.local_addr().expect("addr"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = listener.local_addr().expect("addr");
    let server = funnel_server::Server::open(config).await.expect("opens");
    let err = server
        .serve(listener, std::future::pending())
        .await
        .expect_err("serving without its /metrics port");
    assert!(
        format!("{err:#}").contains("listening for /metrics"),
        "{err:#}"
    );

    // Nothing it started is left running: the API port is closed, and the
    // data dir (which a running task would keep locked) opens again at once,
    // with what was there.
    assert!(tokio::net::TcpStream::connect(api).await.is_err());
    let again = start_server_with(test_config(dir.path())).await;
    again.client.get_function("rec").await.expect("still there");
    again.stop().await;
}
