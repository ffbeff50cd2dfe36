//! Function URLs end to end: the control plane over gRPC, requests over
//! real HTTP to the server's HTTP door, real wasm answering.

use funnel_client::{Credentials, proto};
use funnel_tests::{
    HttpResponse, TestServer, create_request, guest, guests, http_request, start_server,
};
use serde_json::json;

/// Creates `name` from `code`, lets anyone call its URL, and gives it one;
/// returns the URL config.
async fn public_url(
    server: &TestServer,
    name: &str,
    code: funnel_tests::Guest,
) -> proto::FunctionUrlConfig {
    server.create(name, code).await;
    server.public_url(name).await
}

async fn url(
    server: &TestServer,
    name: &str,
    qualifier: &str,
    auth_type: &str,
) -> proto::FunctionUrlConfig {
    server
        .client
        .create_function_url_config(proto::CreateFunctionUrlConfigRequest {
            function_name: name.into(),
            qualifier: qualifier.into(),
            auth_type: auth_type.into(),
            ..Default::default()
        })
        .await
        .expect("create function url config")
}

fn url_id(config: &proto::FunctionUrlConfig) -> String {
    config
        .function_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

async fn get(server: &TestServer, target: &str, headers: &[(&str, &str)]) -> HttpResponse {
    http_request(server.http, "GET", target, headers, b"").await
}

async fn post(server: &TestServer, target: &str, body: &str) -> HttpResponse {
    http_request(
        server.http,
        "POST",
        target,
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn a_url_runs_the_function_with_lambdas_2_0_event() {
    let server = start_server().await;
    let config = public_url(&server, "web", guests::HTTP_ANSWER).await;
    assert_eq!(config.auth_type, "NONE");
    assert_eq!(config.invoke_mode, "BUFFERED");
    assert_eq!(
        config.function_arn,
        "arn:funnel:lambda:local:000000000000:function:web"
    );
    let root = server.path_of(&config);
    let id = url_id(&config);
    assert_eq!(id.len(), 32);

    let answer = get(
        &server,
        &format!("{root}users/42?a=1&a=2&b=x%20y"),
        &[
            ("User-Agent", "curl/8.5.0"),
            ("X-Trace", "one"),
            ("X-Trace", "two"),
            ("Cookie", "session=abc; theme=dark"),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let event = answer.json();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/users/42");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y");
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "1,2", "b": "x y"})
    );
    assert_eq!(event["cookies"], json!(["session=abc", "theme=dark"]));
    assert_eq!(event["headers"]["x-trace"], "one,two");
    assert_eq!(event["headers"]["user-agent"], "curl/8.5.0");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(event["isBase64Encoded"], false);
    assert!(event.get("body").is_none());
    let context = &event["requestContext"];
    assert_eq!(context["accountId"], "000000000000");
    assert_eq!(context["apiId"], id);
    assert_eq!(context["domainPrefix"], id);
    assert_eq!(context["domainName"], "127.0.0.1");
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/users/42");
    assert_eq!(context["http"]["protocol"], "HTTP/1.1");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "curl/8.5.0");
    assert_eq!(context["routeKey"], "$default");
    assert_eq!(context["stage"], "$default");
    assert!(
        context["time"]
            .as_str()
            .is_some_and(|t| t.ends_with(" +0000"))
    );
    assert!(context["timeEpoch"].as_u64().is_some());
    // The response's request id is the invocation's (the one in its log).
    let request_id = answer.header("x-amzn-requestid").expect("x-amzn-RequestId");
    assert_eq!(context["requestId"], request_id);
    let starts: Vec<String> = server
        .log_messages("web")
        .await
        .into_iter()
        .filter(|e| e.message.starts_with("START "))
        .map(|e| e.message)
        .collect();
    assert!(
        starts.iter().any(|m| m.contains(request_id)),
        "no START line for {request_id}: {starts:?}"
    );
    // The event is what aws_lambda_events reads as a function URL request.
    let typed: aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest =
        serde_json::from_value(event.clone()).expect("aws_lambda_events reads the event");
    assert_eq!(typed.raw_path.as_deref(), Some("/users/42"));
    assert_eq!(typed.request_context.http.method.as_deref(), Some("GET"));

    // The same URL by host name; and without the trailing slash.
    let by_host = get(
        &server,
        "/users/7",
        &[(
            "Host",
            &format!("{id}.lambda-url.localhost:{}", server.http.port()),
        )],
    )
    .await;
    assert_eq!(by_host.status, 200, "{}", by_host.text());
    assert_eq!(by_host.json()["rawPath"], "/users/7");
    assert_eq!(
        by_host.json()["requestContext"]["domainName"],
        format!("{id}.lambda-url.localhost")
    );
    let bare = get(&server, root.trim_end_matches('/'), &[]).await;
    assert_eq!(bare.json()["rawPath"], "/");

    // A binary body travels as base64; a text one as it is.
    let binary = http_request(
        server.http,
        "PUT",
        &format!("{root}upload"),
        &[("content-type", "application/octet-stream")],
        &[0, 159, 146, 150],
    )
    .await;
    let event = binary.json();
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "AJ+Slg==");
    assert_eq!(event["requestContext"]["http"]["method"], "PUT");
    server.stop().await;
}

#[tokio::test]
async fn the_functions_answer_becomes_the_response() {
    let server = start_server().await;
    let config = public_url(&server, "web", guests::HTTP_ANSWER).await;
    let root = server.path_of(&config);

    let made = post(
        &server,
        &root,
        r#"{"statusCode": 201, "headers": {"x-made": "yes", "content-type": "text/plain"},
            "cookies": ["a=1; Path=/", "b=2"], "body": "made"}"#,
    )
    .await;
    assert_eq!(made.status, 201);
    assert_eq!(made.header("x-made"), Some("yes"));
    assert_eq!(made.header("content-type"), Some("text/plain"));
    assert_eq!(made.headers("set-cookie"), ["a=1; Path=/", "b=2"]);
    assert_eq!(made.text(), "made");

    let decoded = post(
        &server,
        &root,
        r#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}"#,
    )
    .await;
    assert_eq!(decoded.text(), "hi");

    // JSON without statusCode is the body of a 200.
    let plain = post(&server, &root, r#"{"hello": "world"}"#).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.json(), json!({"hello": "world"}));

    // An answer that is no response is the function's fault: 502.
    let bad = post(&server, &root, r#"{"statusCode": "soon"}"#).await;
    assert_eq!(bad.status, 502);
    assert_eq!(bad.json(), json!({"message": "Internal Server Error"}));
    server.stop().await;
}

#[tokio::test]
async fn failures_timeouts_and_throttles_are_502_504_and_429() {
    let server = start_server().await;
    let failing = public_url(&server, "failing", guests::FAIL).await;
    let answer = get(&server, &server.path_of(&failing), &[]).await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.json(), json!({"message": "Internal Server Error"}));
    assert_eq!(answer.header("x-amz-function-error"), Some("Handled"));
    assert!(answer.header("x-amzn-requestid").is_some());

    server
        .client
        .create_function({
            let mut request = create_request("spin", guest(guests::SPIN));
            request.timeout = Some(1);
            request
        })
        .await
        .expect("create spin");
    server.allow_public_url("spin").await;
    let spinning = url(&server, "spin", "", "NONE").await;
    let answer = get(&server, &server.path_of(&spinning), &[]).await;
    assert_eq!(answer.status, 504, "{}", answer.text());

    let throttled = public_url(&server, "throttled", guests::ECHO).await;
    server
        .client
        .put_function_concurrency("throttled", 0)
        .await
        .expect("reserve 0");
    let answer = get(&server, &server.path_of(&throttled), &[]).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(
        answer.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    server.stop().await;
}

#[tokio::test]
async fn auth_type_none_needs_the_policy_and_funnel_needs_an_allowed_key() {
    let server = start_server().await;
    server.create("open", guests::HTTP_ANSWER).await;
    let open = url(&server, "open", "", "NONE").await;
    let root = server.path_of(&open);
    // No statement letting everyone in: Lambda's 403.
    let refused = get(&server, &root, &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json(), json!({"Message": "Forbidden"}));
    // An InvokeFunction statement for everyone is not a URL's.
    server.allow("open", "everyone", "*", "").await;
    assert_eq!(get(&server, &root, &[]).await.status, 403);
    server.allow_public_url("open").await;
    assert_eq!(get(&server, &root, &[]).await.status, 200);

    server.create("private", guests::HTTP_ANSWER).await;
    let private = url(&server, "private", "", "FUNNEL").await;
    let root = server.path_of(&private);
    let bearer =
        |key: &Credentials| format!("Bearer {}:{}", key.access_key_id, key.secret_access_key);
    let missing = get(&server, &root, &[]).await;
    assert_eq!(missing.status, 403);
    assert_eq!(missing.json(), json!({"Message": "Forbidden"}));
    assert_eq!(
        missing.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    let wrong = Credentials::new(
        server.operator.access_key_id.clone(),
        "not-the-secret".to_string(),
    );
    let answer = get(&server, &root, &[("Authorization", &bearer(&wrong))]).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.header("x-amzn-errortype"),
        Some("UnrecognizedClientException")
    );
    let reader = server.member("reader", "FunnelReadOnly").await;
    let answer = get(&server, &root, &[("Authorization", &bearer(&reader))]).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.header("x-amzn-errortype"),
        Some("AccessDeniedException")
    );
    let invoker = server.member("invoker", "FunnelInvokeOnly").await;
    let answer = get(&server, &root, &[("Authorization", &bearer(&invoker))]).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    // The caller is in the event, as Lambda's IAM authorizer puts it.
    let iam = &answer.json()["requestContext"]["authorizer"]["iam"];
    assert_eq!(iam["accessKey"], invoker.access_key_id.as_str());
    assert_eq!(iam["userArn"], "arn:funnel:iam::000000000000:user/invoker");
    assert_eq!(iam["accountId"], "000000000000");
    // A public statement does not open a FUNNEL URL to everyone.
    server.allow_public_url("private").await;
    assert_eq!(get(&server, &root, &[]).await.status, 403);
    server.stop().await;
}

#[tokio::test]
async fn cors_preflights_are_answered_without_running_the_function() {
    let server = start_server().await;
    server.create("api", guests::HTTP_ANSWER).await;
    server.allow_public_url("api").await;
    let config = server
        .client
        .create_function_url_config(proto::CreateFunctionUrlConfigRequest {
            function_name: "api".into(),
            auth_type: "NONE".into(),
            cors: Some(proto::Cors {
                allow_origins: vec!["https://app.example.com".into()],
                allow_methods: vec!["GET".into(), "POST".into()],
                allow_headers: vec!["content-type".into()],
                expose_headers: vec!["x-made".into()],
                max_age: 300,
                allow_credentials: true,
            }),
            ..Default::default()
        })
        .await
        .expect("create with CORS");
    let root = server.path_of(&config);
    let preflight = http_request(
        server.http,
        "OPTIONS",
        &root,
        &[
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET,POST")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(preflight.header("access-control-max-age"), Some("300"));
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        server.starts("api").await,
        0,
        "a preflight ran the function"
    );
    // Another origin gets no allowance.
    let other = http_request(
        server.http,
        "OPTIONS",
        &root,
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await;
    assert!(other.header("access-control-allow-origin").is_none());
    // The real request's answer carries the settings, over the function's.
    let answer = http_request(
        server.http,
        "POST",
        &root,
        &[("Origin", "https://app.example.com")],
        br#"{"statusCode": 200, "headers": {"access-control-allow-origin": "*"}, "body": "ok"}"#,
    )
    .await;
    assert_eq!(answer.text(), "ok");
    assert_eq!(
        answer.headers("access-control-allow-origin"),
        ["https://app.example.com"]
    );
    assert_eq!(
        answer.header("access-control-expose-headers"),
        Some("x-made")
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_oversized_bodies_413() {
    let server = start_server().await;
    let config = public_url(&server, "web", guests::HTTP_ANSWER).await;
    for target in [
        "/",
        "/users/42",
        "/url/",
        &format!("/url/{}/", "a".repeat(32)),
    ] {
        let answer = get(&server, target, &[]).await;
        assert_eq!(answer.status, 404, "{target}");
        assert_eq!(answer.json(), json!({"message": "Not Found"}));
        assert!(answer.header("x-amzn-requestid").is_some());
    }
    let big = vec![b'x'; 6 * 1024 * 1024 + 1];
    let answer = http_request(
        server.http,
        "POST",
        &server.path_of(&config),
        &[("content-type", "text/plain")],
        &big,
    )
    .await;
    assert_eq!(answer.status, 413);
    // A request that is not HTTP gets a 400, and the door keeps serving.
    let garbage = {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(server.http).await.unwrap();
        stream
            .write_all(b"\x00\x01 not http\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        String::from_utf8_lossy(&raw).into_owned()
    };
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage:?}");
    assert_eq!(
        get(&server, &server.path_of(&config), &[]).await.status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn url_configs_are_lambdas_and_go_with_their_function() {
    let server = start_server().await;
    let config = public_url(&server, "web", guests::HTTP_ANSWER).await;
    let root = server.path_of(&config);
    let client = &server.client;

    // What a create is refused with.
    let refused = |function: &'static str, qualifier: String, auth_type: &'static str| async move {
        client
            .create_function_url_config(proto::CreateFunctionUrlConfigRequest {
                function_name: function.into(),
                qualifier,
                auth_type: auth_type.into(),
                ..Default::default()
            })
            .await
            .unwrap_err()
            .to_string()
    };
    let again = refused("web", String::new(), "NONE").await;
    assert!(again.contains("ResourceConflictException"), "{again}");
    let bad = refused("web", "live".into(), "AWS_IAM").await;
    assert!(bad.contains("ResourceNotFoundException"), "{bad}");
    let bad = refused("nope", String::new(), "NONE").await;
    assert!(bad.contains("ResourceNotFoundException"), "{bad}");

    // An alias gets a URL of its own; a version cannot.
    let published = client
        .publish_version(proto::PublishVersionRequest {
            function_name: "web".into(),
            ..Default::default()
        })
        .await
        .expect("publish");
    client
        .create_alias(proto::CreateAliasRequest {
            function_name: "web".into(),
            name: "live".into(),
            function_version: published.version.clone(),
            ..Default::default()
        })
        .await
        .expect("alias");
    let version = refused("web", published.version.clone(), "NONE").await;
    assert!(
        version.contains("InvalidParameterValueException"),
        "{version}"
    );
    let bad_type = refused("web", "live".into(), "AWS_IAM").await;
    assert!(bad_type.contains("NONE or FUNNEL"), "{bad_type}");
    let live = url(&server, "web", "live", "FUNNEL").await;
    assert_eq!(
        live.function_arn,
        "arn:funnel:lambda:local:000000000000:function:web:live"
    );
    assert_ne!(live.function_url, config.function_url);
    let listed = client
        .list_function_url_configs("web", "", None)
        .await
        .expect("list");
    let urls: Vec<&str> = listed
        .function_url_configs
        .iter()
        .map(|c| c.function_url.as_str())
        .collect();
    assert_eq!(
        urls,
        [config.function_url.as_str(), live.function_url.as_str()]
    );
    let first = client
        .list_function_url_configs("web", "", Some(1))
        .await
        .expect("a page");
    assert_eq!(first.function_url_configs.len(), 1);
    let rest = client
        .list_function_url_configs("web", &first.next_marker, Some(1))
        .await
        .expect("the next page");
    assert_eq!(rest.function_url_configs[0].function_url, live.function_url);
    assert!(rest.next_marker.is_empty());

    // Update changes what is given and keeps the URL.
    let updated = client
        .update_function_url_config(proto::UpdateFunctionUrlConfigRequest {
            function_name: "web".into(),
            auth_type: "FUNNEL".into(),
            cors: Some(proto::Cors {
                allow_origins: vec!["*".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("update");
    assert_eq!(updated.function_url, config.function_url);
    assert_eq!(updated.auth_type, "FUNNEL");
    assert_eq!(updated.cors.as_ref().unwrap().allow_origins, ["*"]);
    assert_eq!(updated.creation_time, config.creation_time);
    assert_eq!(get(&server, &root, &[]).await.status, 403);
    let got = client
        .get_function_url_config("web", "")
        .await
        .expect("get");
    assert_eq!(got.auth_type, "FUNNEL");

    // Deleting the alias takes its URL; deleting the function, every one.
    client
        .delete_alias("web", "live")
        .await
        .expect("delete alias");
    let gone = client
        .get_function_url_config("web", "live")
        .await
        .unwrap_err();
    assert!(
        gone.to_string().contains("ResourceNotFoundException"),
        "{gone}"
    );
    assert_eq!(get(&server, &server.path_of(&live), &[]).await.status, 404);
    client
        .delete_function_url_config("web", "")
        .await
        .expect("delete url config");
    let again = client
        .delete_function_url_config("web", "")
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("ResourceNotFoundException"),
        "{again}"
    );
    assert_eq!(get(&server, &root, &[]).await.status, 404);
    let remade = url(&server, "web", "", "NONE").await;
    assert_ne!(remade.function_url, config.function_url);
    client
        .delete_function("web")
        .await
        .expect("delete function");
    assert_eq!(
        get(&server, &server.path_of(&remade), &[]).await.status,
        404
    );
    let listed = client.list_function_url_configs("web", "", None).await;
    assert!(listed.is_err(), "the function is gone");
    server.stop().await;
}
