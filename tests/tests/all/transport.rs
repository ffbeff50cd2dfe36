//! The boundary on the wire: TLS with funnel's self-signed bundle, the
//! refusal of a non-loopback listener without TLS, and the bearer token
//! of a `/metrics` endpoint.

use funnel_client::{Client, Credentials, Profile};
use funnel_tests::{start_server_with, test_config};

/// Only over TLS may this user list functions.
const SECURE_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:ListFunctions","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#;

#[tokio::test]
async fn tls_with_the_self_signed_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.tls.self_signed = true;
    let server = start_server_with(config).await;
    assert!(
        server.endpoint.starts_with("https://127.0.0.1:"),
        "{}",
        server.endpoint
    );
    let bundle = server.ca_bundle.clone().expect("a CA bundle");
    assert_eq!(
        bundle,
        std::path::absolute(dir.path().join("tls/ca.pem")).unwrap()
    );

    // The credentials file says where and how to connect, as the CLI reads it.
    let profile = Profile::read(&dir.path().join("credentials"), "default")
        .expect("reads")
        .expect("a default profile");
    assert_eq!(profile.endpoint.as_deref(), Some(server.endpoint.as_str()));
    assert_eq!(profile.ca_bundle.as_deref(), Some(bundle.as_path()));
    let operator = Client::connect_profile(&server.endpoint, &profile)
        .await
        .expect("connects over TLS");
    operator
        .get_caller_identity()
        .await
        .expect("the operator's key works over TLS");

    // The listener is TLS: aws:SecureTransport holds.
    server.client.create_user("tls-only").await.expect("user");
    server
        .client
        .put_user_policy("tls-only", "secure", SECURE_ONLY)
        .await
        .expect("policy");
    let key = server
        .client
        .create_access_key("tls-only")
        .await
        .expect("key");
    let user = server
        .client_as(Some(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await;
    user.list_functions("", None)
        .await
        .expect("allowed over TLS");
    // The same policy over plain text (loopback) allows nothing.
    let plain = funnel_tests::start_server().await;
    plain.client.create_user("tls-only").await.expect("user");
    plain
        .client
        .put_user_policy("tls-only", "secure", SECURE_ONLY)
        .await
        .expect("policy");
    let key = plain
        .client
        .create_access_key("tls-only")
        .await
        .expect("key");
    let err = plain
        .client_as(Some(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await
        .list_functions("", None)
        .await
        .expect_err("denied without TLS");
    assert_eq!(err.error_type.as_deref(), Some("AccessDeniedException"));
    plain.stop().await;

    // Without the bundle the server's certificate is not trusted, and plain
    // HTTP/2 gets no answer from the TLS port.
    let untrusted = Profile {
        credentials: profile.credentials.clone(),
        ..Profile::default()
    };
    let result = match Client::connect_profile(&server.endpoint, &untrusted).await {
        Ok(client) => client.get_caller_identity().await.map(|_| ()),
        Err(err) => Err(err),
    };
    let err = result.expect_err("an untrusted certificate");
    assert!(
        err.message.to_ascii_lowercase().contains("certificate"),
        "{err}"
    );
    let plain = server.endpoint.replace("https://", "http://");
    let result = match Client::connect_profile(&plain, &untrusted).await {
        Ok(client) => client.get_caller_identity().await.map(|_| ()),
        Err(err) => Err(err),
    };
    result.expect_err("plain text to a TLS port");
    server.stop().await;
}

#[tokio::test]
async fn tls_with_a_certificate_of_ones_own() {
    // A certificate and key made elsewhere (here: another server's
    // self-signed set), given as files.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(elsewhere.path());
    config.tls.self_signed = true;
    let maker = start_server_with(config).await;
    maker.stop().await;
    let tls = elsewhere.path().join("tls");

    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.tls.cert = Some(tls.join("cert.pem"));
    config.tls.key = Some(tls.join("key.pem"));
    // What clients must trust, for the credentials file.
    config.tls.ca_bundle = Some(tls.join("ca.pem"));
    let server = start_server_with(config).await;
    assert!(
        server.endpoint.starts_with("https://"),
        "{}",
        server.endpoint
    );
    assert_eq!(server.ca_bundle, Some(tls.join("ca.pem")));
    let profile = Profile {
        credentials: Some(server.operator.clone()),
        ca_bundle: Some(tls.join("ca.pem")),
        ..Profile::default()
    };
    Client::connect_profile(&server.endpoint, &profile)
        .await
        .expect("connects")
        .get_caller_identity()
        .await
        .expect("trusted through the bundle it is given");
    // Without it, the system's roots do not know this CA.
    let untrusted = Profile {
        credentials: Some(server.operator.clone()),
        ..Profile::default()
    };
    let refused = match Client::connect_profile(&server.endpoint, &untrusted).await {
        Ok(client) => client.get_caller_identity().await.map(|_| ()),
        Err(err) => Err(err),
    };
    refused.expect_err("an unknown issuer");
    server.stop().await;
}

#[tokio::test]
async fn a_non_loopback_listener_needs_tls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = funnel_server::Server::open(test_config(dir.path()))
        .await
        .expect("opens");
    let refused = server
        .write_credentials(addr)
        .expect_err("no credentials for a port that will not serve");
    assert!(
        format!("{refused:#}").contains("--insecure-listen"),
        "{refused:#}"
    );
    let err = server
        .serve(listener, std::future::pending())
        .await
        .expect_err("refused");
    let message = format!("{err:#}");
    assert!(message.contains("without TLS"), "{message}");
    assert!(message.contains("--tls self-signed"), "{message}");

    // On a lab network the operator may say so.
    let mut config = test_config(dir.path());
    config.insecure_listen = true;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = funnel_server::Server::open(config).await.expect("opens");
    let file = server.write_credentials(addr).expect("written");
    let operator = funnel_tests::operator_credentials(&file);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let client = Client::connect_with(format!("http://127.0.0.1:{}", addr.port()), Some(operator))
        .await
        .expect("connects");
    client.get_caller_identity().await.expect("serves");
    let _ = stop.send(());
    serving.await.expect("task").expect("stopped cleanly");
}

/// `GET /metrics` with this `authorization` header: the status line and
/// the body.
fn scrape(addr: std::net::SocketAddr, authorization: Option<&str>) -> (String, String) {
    let (head, body) = funnel_tests::scrape_metrics(addr, authorization);
    (head.lines().next().unwrap_or_default().to_string(), body)
}

#[tokio::test]
async fn metrics_with_a_token_need_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server_with(test_config(dir.path())).await;
    let (addr, stop) = server.serve_metrics(Some("s3cret")).await;
    let scraped = tokio::task::spawn_blocking(move || {
        [None, Some("Bearer wrong"), Some("Bearer s3cret")].map(|auth| scrape(addr, auth))
    })
    .await
    .expect("scrapes");
    assert!(scraped[0].0.contains(" 401 "), "{:?}", scraped[0]);
    assert!(scraped[1].0.contains(" 401 "), "{:?}", scraped[1]);
    assert!(scraped[2].0.contains(" 200 "), "{:?}", scraped[2]);
    assert!(scraped[2].1.contains("# EOF"), "{}", scraped[2].1);
    stop.cancel();

    // A non-loopback /metrics without a token does not start.
    let mut config = test_config(dir.path());
    config.metrics.listen = Some("0.0.0.0:0".parse().unwrap());
    let err = config.validate().expect_err("refused");
    assert!(format!("{err}").contains("--metrics-token"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn idle_sockets_do_not_hold_the_metrics_endpoint() {
    let server = funnel_tests::start_server().await;
    let (addr, stop) = server.serve_metrics(None).await;
    let scraped = tokio::task::spawn_blocking(move || {
        // More idle connections than the endpoint serves at once, sending
        // nothing: their time runs out and a scraper gets through.
        let idle: Vec<_> = (0..32)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        let started = std::time::Instant::now();
        let answer = scrape(addr, None);
        drop(idle);
        (answer, started.elapsed())
    })
    .await
    .expect("scrapes");
    let ((status, body), waited) = scraped;
    assert!(status.contains(" 200 "), "{status}");
    assert!(body.contains("# EOF"), "{body}");
    assert!(waited < std::time::Duration::from_secs(20), "{waited:?}");
    stop.cancel();
    server.stop().await;
}

#[tokio::test]
async fn the_api_port_caps_connections_and_how_long_a_call_takes() {
    use std::time::Duration;
    let dir = tempfile::tempdir().expect("temp dir");
    // The functions are made (and compiled) first, without the short
    // request timeout: a compile on a loaded machine is not what this
    // test times.
    let setup = funnel_tests::start_server_with(funnel_tests::test_config(dir.path())).await;
    setup
        .create_with_timeout("spin", funnel_tests::guests::SPIN, 10)
        .await;
    setup.create("hello", funnel_tests::guests::HELLO).await;
    setup.stop().await;
    let mut config = funnel_tests::test_config(dir.path());
    config.api.max_connections = 2;
    config.api.request_timeout = Duration::from_secs(1);
    let server = funnel_tests::start_server_with(config).await;
    // The test's own client holds one connection; a second fits.
    let second = server.client_as(Some(server.operator.clone())).await;
    second
        .get_clock()
        .await
        .expect("the second connection is served");
    // A third waits for one of them to close.
    let third = tokio::spawn({
        let endpoint = server.endpoint.clone();
        let operator = server.operator.clone();
        async move {
            let profile = funnel_client::Profile {
                credentials: Some(operator),
                ..Default::default()
            };
            let client = funnel_client::Client::connect_profile(&endpoint, &profile).await?;
            client.get_clock().await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served at once"
    );
    drop(second);
    let answered = tokio::time::timeout(Duration::from_secs(20), third)
        .await
        .expect("served once the second closed")
        .expect("task");
    answered.expect("the third connection's call");

    // A call that outlasts api.request_timeout is answered with an error
    // (and stopped); the server keeps serving.
    let started = std::time::Instant::now();
    let out = server
        .client
        .invoke(funnel_tests::invoke_request("spin", "{}"))
        .await;
    let err = out.expect_err("past the request timeout").to_string();
    assert!(err.to_lowercase().contains("timeout"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    let out = server.invoke("hello", r#"{"name":"Ada"}"#).await;
    assert_eq!(
        funnel_tests::json_of(&out),
        serde_json::json!({"message": "Hello, Ada!"})
    );
    server.stop().await;
}

/// The HTTP door serves TLS with the API port's certificate: a URL is
/// `https`, curl trusting the bundle gets the function's answer, and a
/// plain-text request gets no answer.
#[tokio::test]
async fn the_http_door_serves_tls_with_the_same_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    config.tls.self_signed = true;
    let server = start_server_with(config).await;
    server
        .create("web", funnel_tests::guests::HTTP_ANSWER)
        .await;
    let url = server.public_url("web").await.function_url;
    assert!(
        url.starts_with(&format!("https://{}/url/", server.http)),
        "{url}"
    );
    let bundle = server.ca_bundle.clone().expect("a CA bundle");
    let curl = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&bundle)
        .args(["-d", r#"{"statusCode":200,"body":"over tls"}"#])
        .arg(&url)
        .output()
        .await;
    let out = match curl {
        Ok(out) => out,
        Err(err) => return funnel_tests::skip("curl over TLS", &err),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over tls");
    let plain = {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(server.http).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        raw
    };
    assert!(
        !plain.starts_with(b"HTTP/"),
        "a plain-text request was served"
    );
    server.stop().await;
}
