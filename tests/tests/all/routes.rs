//! Routes end to end (API Gateway HTTP API's shape): routes made over
//! gRPC, requests over real HTTP to the server's HTTP door, real wasm
//! answering. The `http-answer` guest echoes its event, so each test sees
//! exactly what a route sent.

use funnel_client::{Client, Code, Credentials, Error, proto};
use funnel_tests::{HttpResponse, TestServer, guests, http_request, start_server};
use serde_json::{Value, json};

const TEAM: &str = "111111111111";

async fn route(client: &Client, key: &str, target: &str, version: &str) -> proto::Route {
    client
        .create_route(proto::CreateRouteRequest {
            route_key: key.into(),
            target: target.into(),
            payload_format_version: version.into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|err| panic!("creating route {key}: {err}"))
}

fn refused(result: Result<impl std::fmt::Debug, Error>, code: Code, name: &str) -> String {
    let err = result.expect_err("refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(err.error_type.as_deref(), Some(name), "{err}");
    err.message
}

async fn get(server: &TestServer, target: &str) -> HttpResponse {
    http_request(server.http, "GET", target, &[], b"").await
}

/// The event `http-answer` echoed, for a route of either format.
fn event_of(answer: &HttpResponse) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    if body["statusCode"] == 200 {
        return serde_json::from_str(body["body"].as_str().expect("a 1.0 body")).expect("JSON");
    }
    body
}

#[tokio::test]
async fn a_route_runs_its_function_with_the_2_0_event() {
    let server = start_server().await;
    server.create("web", guests::HTTP_ANSWER).await;
    let made = route(&server.client, "GET /users/{id}", "web", "").await;
    assert_eq!(made.route_key, "GET /users/{id}");
    assert_eq!(made.payload_format_version, "2.0");
    assert_eq!(
        made.target,
        "arn:funnel:lambda:local:000000000000:function:web"
    );
    assert_eq!(made.route_id.len(), 7);
    let api = server.client.get_api().await.expect("get api");
    assert_eq!(api.api_id, made.api_id);
    assert_eq!(api.api_id.len(), 10);
    assert_eq!(api.api_endpoint, format!("http://{}", server.http));

    let answer = http_request(
        server.http,
        "GET",
        "/users/a%20b?x=1&x=2",
        &[("User-Agent", "curl/8.5.0"), ("X-Trace", "one")],
        b"",
    )
    .await;
    let event = event_of(&answer);
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "GET /users/{id}");
    assert_eq!(event["rawPath"], "/users/a%20b");
    assert_eq!(event["rawQueryString"], "x=1&x=2");
    assert_eq!(event["queryStringParameters"], json!({"x": "1,2"}));
    assert_eq!(event["pathParameters"], json!({"id": "a b"}));
    assert_eq!(event["headers"]["x-trace"], "one");
    let context = &event["requestContext"];
    assert_eq!(context["accountId"], "000000000000");
    assert_eq!(context["apiId"], api.api_id.as_str());
    assert_eq!(context["domainName"], "127.0.0.1");
    assert_eq!(context["routeKey"], "GET /users/{id}");
    assert_eq!(context["stage"], "$default");
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/users/a%20b");
    assert_eq!(context["http"]["userAgent"], "curl/8.5.0");
    assert_eq!(
        answer.header("x-amzn-requestid"),
        context["requestId"].as_str()
    );
    // The route is GET only; nothing else matches, so: API Gateway's 404.
    let other = http_request(server.http, "POST", "/users/42", &[], b"").await;
    assert_eq!(other.status, 404);
    assert_eq!(other.json(), json!({"message": "Not Found"}));
}

#[tokio::test]
async fn a_1_0_route_sends_the_rest_proxy_event_and_needs_a_status_back() {
    let server = start_server().await;
    server.create("web", guests::HTTP_ANSWER).await;
    let made = route(&server.client, "POST /v1/{proxy+}", "web", "1.0").await;
    assert_eq!(made.payload_format_version, "1.0");
    let answer = http_request(
        server.http,
        "POST",
        "/v1/a/b%2Fc?x=1&x=2&y=z",
        &[
            ("User-Agent", "curl/8.5.0"),
            ("X-Trace", "one"),
            ("X-Trace", "two"),
            ("Content-Type", "text/plain"),
        ],
        b"hello there",
    )
    .await;
    let event = event_of(&answer);
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["resource"], "/v1/{proxy+}");
    assert_eq!(event["path"], "/v1/a/b%2Fc");
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["headers"]["x-trace"], "two");
    assert_eq!(event["multiValueHeaders"]["x-trace"], json!(["one", "two"]));
    assert_eq!(event["queryStringParameters"], json!({"x": "2", "y": "z"}));
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"x": ["1", "2"], "y": ["z"]})
    );
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b/c"}));
    assert_eq!(event["stageVariables"], Value::Null);
    assert_eq!(event["body"], "hello there");
    assert_eq!(event["isBase64Encoded"], false);
    let context = &event["requestContext"];
    assert_eq!(context["accountId"], "000000000000");
    assert_eq!(context["apiId"], made.api_id.as_str());
    assert_eq!(context["httpMethod"], "POST");
    assert_eq!(context["path"], "/v1/a/b%2Fc");
    assert_eq!(context["resourcePath"], "/v1/{proxy+}");
    assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["identity"]["userAgent"], "curl/8.5.0");
    assert_eq!(context["protocol"], "HTTP/1.1");
    assert_eq!(context["stage"], "$default");
    assert_eq!(
        answer.header("x-amzn-requestid"),
        context["requestId"].as_str()
    );
    assert!(context["requestTimeEpoch"].as_u64().is_some());

    // A 1.0 answer: multiValueHeaders become repeated headers.
    let asked = json!({"statusCode": 201, "headers": {"x-one": "1"},
        "multiValueHeaders": {"x-many": ["a", "b"]}, "body": "made"});
    let answer = http_request(
        server.http,
        "POST",
        "/v1/x",
        &[("content-type", "application/json")],
        asked.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(answer.header("x-one"), Some("1"));
    assert_eq!(answer.headers("x-many"), ["a", "b"]);
    assert_eq!(answer.text(), "made");
    // Without a statusCode, 1.0 is a 502 (2.0 would make it a 200).
    let answer = http_request(
        server.http,
        "POST",
        "/v1/x",
        &[("content-type", "application/json")],
        br#"{"message":"hi"}"#,
    )
    .await;
    assert_eq!(answer.status, 502, "{}", answer.text());
    assert_eq!(answer.json(), json!({"message": "Internal Server Error"}));
}

#[tokio::test]
async fn the_most_specific_route_wins_and_default_takes_the_rest() {
    let server = start_server().await;
    server.create("web", guests::HTTP_ANSWER).await;
    for key in [
        "ANY /{proxy+}",
        "GET /pets/{proxy+}",
        "GET /pets/dog/{id}",
        "GET /pets/dog/1",
        "ANY /things",
        "GET /things",
        "$default",
    ] {
        route(&server.client, key, "web", "").await;
    }
    for (method, path, key, parameters) in [
        ("GET", "/pets/dog/1", "GET /pets/dog/1", Value::Null),
        (
            "GET",
            "/pets/dog/2",
            "GET /pets/dog/{id}",
            json!({"id": "2"}),
        ),
        (
            "GET",
            "/pets/cat/tom",
            "GET /pets/{proxy+}",
            json!({"proxy": "cat/tom"}),
        ),
        (
            "POST",
            "/pets/dog/1",
            "ANY /{proxy+}",
            json!({"proxy": "pets/dog/1"}),
        ),
        ("GET", "/things", "GET /things", Value::Null),
        ("DELETE", "/things", "ANY /things", Value::Null),
        // `{proxy+}` needs at least one segment: `/` is left to $default.
        ("GET", "/", "$default", Value::Null),
    ] {
        let answer = http_request(server.http, method, path, &[], b"").await;
        let event = event_of(&answer);
        assert_eq!(event["routeKey"], key, "{method} {path}");
        assert_eq!(event["rawPath"], path, "{method} {path}");
        assert_eq!(
            event.get("pathParameters").cloned().unwrap_or(Value::Null),
            parameters,
            "{method} {path}"
        );
    }
    // Paths under /url/ are function URLs', never a route's.
    assert_eq!(get(&server, "/url/nothing-here/").await.status, 404);
}

#[tokio::test]
async fn conflicting_and_malformed_routes_are_refused_by_name() {
    let server = start_server().await;
    server.create("web", guests::HTTP_ANSWER).await;
    route(&server.client, "GET /users/{id}", "web", "").await;
    route(&server.client, "$default", "web", "").await;
    let create = |key: &str, target: &str, version: &str| {
        server.client.create_route(proto::CreateRouteRequest {
            route_key: key.into(),
            target: target.into(),
            payload_format_version: version.into(),
            ..Default::default()
        })
    };
    let message = refused(
        create("GET /users/{name}", "web", "").await,
        Code::AlreadyExists,
        "ConflictException",
    );
    assert!(message.contains("GET /users/{id}"), "{message}");
    refused(
        create("$default", "web", "").await,
        Code::AlreadyExists,
        "ConflictException",
    );
    // Another method, or another shape, is another route.
    route(&server.client, "ANY /users/{id}", "web", "").await;
    route(&server.client, "GET /users/{id}/posts", "web", "").await;
    for (key, why) in [
        ("GET users", "must start with /"),
        ("FETCH /users", "FETCH"),
        ("GET /files/{proxy+}/x", "last segment"),
        ("GET /a{b}", "whole segment"),
    ] {
        let message = refused(
            create(key, "web", "").await,
            Code::InvalidArgument,
            "BadRequestException",
        );
        assert!(message.contains(why), "{key}: {message}");
    }
    let message = refused(
        create("GET /v", "web", "3.0").await,
        Code::InvalidArgument,
        "BadRequestException",
    );
    assert!(message.contains("PayloadFormatVersion"), "{message}");
    let message = refused(
        create("GET /ghost", "ghost", "").await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    assert!(message.contains("ghost"), "{message}");

    let keys: Vec<String> = server
        .client
        .get_routes()
        .await
        .expect("get routes")
        .into_iter()
        .map(|r| r.route_key)
        .collect();
    assert_eq!(
        keys,
        [
            "$default",
            "ANY /users/{id}",
            "GET /users/{id}",
            "GET /users/{id}/posts"
        ]
    );
    server
        .client
        .delete_route("$default")
        .await
        .expect("delete");
    refused(
        server.client.delete_route("$default").await,
        Code::NotFound,
        "NotFoundException",
    );
    // Without $default, nothing matched is API Gateway's 404.
    let answer = get(&server, "/nothing/here").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json(), json!({"message": "Not Found"}));
}

#[tokio::test]
async fn without_routes_every_path_is_not_found() {
    let server = start_server().await;
    for path in ["/", "/users/42", "/api/abcdefghij/x"] {
        let answer = get(&server, path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.json(), json!({"message": "Not Found"}), "{path}");
    }
}

#[tokio::test]
async fn another_accounts_api_is_served_under_its_own_prefix_and_host() {
    let server = start_server().await;
    let created = server
        .client
        .create_account(TEAM, "team-b")
        .await
        .expect("create account");
    let key = created.access_key.expect("key");
    let team = server
        .client_as(Some(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await;
    team.create_function(funnel_tests::create_request(
        "web",
        funnel_tests::guest(guests::HTTP_ANSWER),
    ))
    .await
    .expect("create");
    route(&team, "GET /team/{x}", "web", "").await;
    let api = team.get_api().await.expect("get api");
    let home = server.client.get_api().await.expect("get api");
    assert_ne!(api.api_id, home.api_id);
    assert_eq!(
        api.api_endpoint,
        format!("http://{}/api/{}", server.http, api.api_id)
    );
    // The team's routes are not the home account's.
    assert!(server.client.get_routes().await.unwrap().is_empty());
    assert_eq!(get(&server, "/team/1").await.status, 404);

    let event = event_of(&get(&server, &format!("/api/{}/team/1", api.api_id)).await);
    assert_eq!(event["rawPath"], "/team/1");
    assert_eq!(event["pathParameters"], json!({"x": "1"}));
    assert_eq!(event["requestContext"]["accountId"], TEAM);
    assert_eq!(event["requestContext"]["apiId"], api.api_id.as_str());
    let host = format!("{}.execute-api.localhost", api.api_id);
    let answer = http_request(server.http, "GET", "/team/2", &[("Host", &host)], b"").await;
    let event = event_of(&answer);
    assert_eq!(event["rawPath"], "/team/2");
    assert_eq!(event["requestContext"]["domainName"], host.as_str());
    // Another account's API id is not the caller's.
    refused(
        team.create_route(proto::CreateRouteRequest {
            api_id: home.api_id.clone(),
            route_key: "GET /x".into(),
            target: "web".into(),
            ..Default::default()
        })
        .await,
        Code::NotFound,
        "NotFoundException",
    );
}

#[tokio::test]
async fn a_route_whose_function_is_gone_answers_500() {
    let server = start_server().await;
    server.create("web", guests::HTTP_ANSWER).await;
    route(&server.client, "GET /web", "web", "").await;
    assert_eq!(get(&server, "/web").await.status, 200);
    server.client.delete_function("web").await.expect("delete");
    let answer = get(&server, "/web").await;
    assert_eq!(answer.status, 500, "{}", answer.text());
    assert_eq!(answer.json(), json!({"message": "Internal Server Error"}));
}
