//! HTTP as a user meets it: `funnel up` with the example stack serves the
//! route `GET /hello/{name}` and the function URL of `http-greet`, and
//! `curl` (the real one) calls them; the CLI makes and changes a URL and
//! reads the API; a second deploy puts back what the stack says.

use std::process::Command;

use crate::common::{Up, funnel, ok, operator, repo_root};

/// An HTTP answer as `curl -i` printed it.
struct Curled {
    status: u16,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Curled {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `curl -sS -i ARGS`.
fn curl(args: &[&str]) -> Curled {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "60"])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Curled {
        status,
        headers,
        body: body.to_string(),
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn funnel_up_serves_the_example_route_and_url_to_curl() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();
    let addr = up.http_addr();
    assert!(
        up.seen
            .iter()
            .any(|l| l.contains("deployed") && l.contains("route GET /hello/{name}")),
        "{:?}",
        up.seen
    );

    // The route.
    let hello = curl(&[&format!("http://{addr}/hello/Ada")]);
    assert_eq!(hello.status, 200, "{}", hello.body);
    assert_eq!(hello.body, "Hello, Ada!");
    assert_eq!(hello.header("content-type"), Some("text/plain"));
    assert!(hello.header("x-amzn-requestid").is_some());
    let missing = curl(&[&format!("http://{addr}/nowhere")]);
    assert_eq!(missing.status, 404);
    assert_eq!(
        json(&missing.body),
        serde_json::json!({"message": "Not Found"})
    );
    let api = json(&ok(&funnel(&endpoint, &["api", "get-api"])));
    assert_eq!(api["ApiEndpoint"], format!("http://{addr}"));
    let routes = json(&ok(&funnel(&endpoint, &["api", "get-routes"])));
    assert_eq!(routes["Items"][0]["RouteKey"], "GET /hello/{name}");
    assert_eq!(routes["Items"][0]["PayloadFormatVersion"], "2.0");

    // The stack's URL: public (the deploy added the permission), with CORS.
    let config = json(&ok(&funnel(
        &endpoint,
        &["function", "get-url-config", "http-greet"],
    )));
    let url = config["FunctionUrl"]
        .as_str()
        .expect("FunctionUrl")
        .to_string();
    assert!(url.starts_with(&format!("http://{addr}/url/")), "{url}");
    assert_eq!(config["Cors"]["AllowOrigins"], serde_json::json!(["*"]));
    let answer = curl(&[&url]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, "Hello, world!");
    let preflight = curl(&[
        "-X",
        "OPTIONS",
        "-H",
        "Origin: https://app.example.com",
        "-H",
        "Access-Control-Request-Method: GET",
        &url,
    ]);
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));

    // A URL made from the CLI; then AuthType FUNNEL wants an access key.
    ok(&funnel(
        &endpoint,
        &["function", "delete-url-config", "http-greet"],
    ));
    assert_eq!(curl(&[&url]).status, 404);
    let made = json(&ok(&funnel(
        &endpoint,
        &[
            "function",
            "create-url-config",
            "http-greet",
            "--auth-type",
            "NONE",
        ],
    )));
    let url = made["FunctionUrl"]
        .as_str()
        .expect("FunctionUrl")
        .to_string();
    assert_eq!(curl(&[&url]).body, "Hello, world!");
    ok(&funnel(
        &endpoint,
        &[
            "function",
            "update-url-config",
            "http-greet",
            "--auth-type",
            "FUNNEL",
        ],
    ));
    assert_eq!(curl(&[&url]).status, 403);
    let key = operator(data_dir.path());
    let bearer = format!(
        "Authorization: Bearer {}:{}",
        key.access_key_id, key.secret_access_key
    );
    let answer = curl(&["-H", &bearer, &url]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, "Hello, world!");

    // Deploying again: the route is unchanged, the URL is put back to NONE.
    let stack = repo_root().join("funnel.toml");
    let out = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("route GET /hello/{name}: unchanged"),
        "{said}"
    );
    assert!(said.contains("url http-greet: updated"), "{said}");
    assert!(
        !said.contains("FunctionURLAllowPublicAccess: added"),
        "{said}"
    );
    assert_eq!(curl(&[&url]).body, "Hello, world!");
    let out = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("url http-greet: unchanged"), "{said}");
}
