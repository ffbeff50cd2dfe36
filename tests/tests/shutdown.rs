//! Graceful shutdown: a stop lets in-flight calls finish, but only for the
//! configured grace; the data written before is there on the next start.

use std::time::Duration;

use funnel_tests::{invoke_request, json_of, start_server_with, test_config};

#[tokio::test]
async fn in_flight_calls_finish_before_the_server_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    server.create_with_timeout("spin", "spin", 1).await;

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
    server.create_with_timeout("spin", "spin", 30).await;

    let client = server.client.clone();
    let call = tokio::spawn(async move { client.invoke(invoke_request("spin", "{}")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Stopping returns (well before the call's 30 s timeout) and the
    // abandoned call fails instead of hanging.
    server.stop().await;
    let result = call.await.expect("task");
    assert!(result.is_err(), "the call was cut off: {result:?}");
}
