//! Helpers for funnel's end-to-end tests: a real server on 127.0.0.1:0,
//! the real client, and real components built from `wasm-functions/`.

pub mod packaged;
pub mod topics;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use funnel_client::{Client, Credentials, Profile, proto};
use funnel_runtime::{CacheStats, Runtime};
use funnel_server::AsyncQueue;
use funnel_server::Gate;
use funnel_server::Logs;
use funnel_server::Metrics;
use funnel_server::{Clock, Config, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Says that a test cannot run here (a packager or interpreter it needs
/// could not be installed). Under CI (`CI` set to anything but `false` or
/// `0`, as `.ci/run` sets it) that is a failure: it panics. Elsewhere it
/// prints a SKIPPED banner (seen with `--nocapture`) and the caller returns,
/// so the test passes without having run.
pub fn skip(what: &str, why: &dyn std::fmt::Display) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    if ci {
        panic!("{what} could not run: {why} (CI is set, so a skip is a failure)");
    }
    eprintln!("\n==== SKIPPED: {what} could not run: {why} ====\n");
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The guests in `wasm-functions/`, one constant each (generated from its
/// workspace members by `build.rs`): a misspelt guest does not compile.
pub mod guests {
    /// A guest crate of `wasm-functions/`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Guest(&'static str);

    impl Guest {
        /// Its crate (and artifact) name.
        pub fn name(self) -> &'static str {
            self.0
        }
    }

    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

pub use guests::Guest;

/// The component of `guest`; every guest in `wasm-functions/` is built once
/// per test process (cargo's own lock and freshness checks make concurrent
/// processes cheap).
pub fn guest(guest: Guest) -> Vec<u8> {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let target_dir = BUILT.get_or_init(|| {
        let root = repo_root();
        let target_dir = root.join("target").join("wasm-functions");
        let workspace = root.join("wasm-functions");
        // No package list: every member of the guest workspace.
        funnel_build::rust::build(&workspace, &target_dir, &[])
            .unwrap_or_else(|err| panic!("building wasm-functions: {err:#}"));
        target_dir
    });
    let path = funnel_build::rust::artifact(target_dir, guest.name());
    std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

/// A server running in this process on an ephemeral port.
pub struct TestServer {
    pub endpoint: String,
    /// The HTTP door (function URLs), on a port of its own.
    pub http: std::net::SocketAddr,
    /// The AWS-compatible endpoint (SigV4), on a port of its own.
    pub aws: std::net::SocketAddr,
    /// What an `https` endpoint is checked against (a self-signed server's
    /// CA).
    pub ca_bundle: Option<PathBuf>,
    /// A client signed in as the operator.
    pub client: Client,
    /// The operator's key, as the server wrote it to its credentials file.
    pub operator: Credentials,
    /// Compiled-code cache counters right after the server opened (what it
    /// loaded at startup).
    pub startup_cache: CacheStats,
    /// The server's runtime: its environments and its (manual) clock.
    pub runtime: Runtime,
    /// The server's log store (same clock).
    pub logs: Logs,
    /// The async queue: its counters.
    pub queue: AsyncQueue,
    /// The concurrency gate: what is running.
    pub gate: Gate,
    /// The server's metrics.
    pub metrics: Metrics,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _data_dir: Option<tempfile::TempDir>,
}

/// Small enough that many test servers fit in one process's address space.
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::with_data_dir(data_dir);
    config.runtime.max_instances = 8;
    config.runtime.max_memory_mb = 1024;
    // A machine with little disk left still runs the suite (its own
    // test fills a disk of its own).
    config.store.min_free_mb = 16;
    config
}

/// Starts a server with a fresh data dir.
pub async fn start_server() -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = start_server_with(test_config(dir.path())).await;
    server._data_dir = Some(dir);
    server
}

/// Starts a server with `config` (its data dir is the caller's) on a manual
/// clock: idle time passes only when a test advances it.
pub async fn start_server_with(config: Config) -> TestServer {
    start_server_on(config, Clock::manual()).await
}

/// Starts a server with `config` on `clock` (a manual one starting at a
/// chosen time, for schedules).
pub async fn start_server_on(config: Config, clock: Clock) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http = http_listener.local_addr().expect("local addr");
    let aws_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let aws = aws_listener.local_addr().expect("local addr");
    let server = Server::open_with_clock(config, clock)
        .await
        .expect("server opens")
        .with_http_listener(http_listener)
        .expect("the HTTP door's listener")
        .with_aws_listener(aws_listener)
        .expect("the AWS endpoint's listener");
    let endpoint = server.endpoint(listener.local_addr().expect("local addr"));
    let ca_bundle = server.ca_bundle().map(Path::to_path_buf);
    let credentials_file = server
        .write_credentials(listener.local_addr().expect("local addr"))
        .expect("credentials written");
    let operator = operator_credentials(&credentials_file);
    let startup_cache = server.cache_stats();
    let runtime = server.runtime();
    let logs = server.logs();
    let queue = server.queue();
    let gate = server.concurrency();
    let metrics = server.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let profile = Profile {
        credentials: Some(operator.clone()),
        ca_bundle: ca_bundle.clone(),
        ..Profile::default()
    };
    let client = Client::connect_profile(&endpoint, &profile)
        .await
        .expect("client connects");
    TestServer {
        endpoint,
        http,
        aws,
        ca_bundle,
        client,
        operator,
        startup_cache,
        runtime,
        logs,
        queue,
        gate,
        metrics,
        stop: Some(stop),
        task: Some(task),
        _data_dir: None,
    }
}

/// The `[default]` profile of a server's credentials file: its operator.
pub fn operator_credentials(file: &Path) -> Credentials {
    Profile::read(file, "default")
        .expect("the credentials file reads")
        .and_then(|profile| profile.credentials)
        .expect("the server wrote the operator's key")
}

impl TestServer {
    /// A new user of the default account with one managed policy
    /// (`FunnelFullAccess`, ...) attached; returns its new key.
    pub async fn member(&self, name: &str, policy: &str) -> Credentials {
        self.client.create_user(name).await.expect("create user");
        self.client
            .attach_user_policy(name, &format!("arn:funnel:iam::aws:policy/{policy}"))
            .await
            .expect("attach policy");
        let key = self.client.create_access_key(name).await.expect("key");
        Credentials::new(key.access_key_id, key.secret_access_key)
    }

    /// A client signed with `credentials` (none: no `authorization`).
    pub async fn client_as(&self, credentials: Option<Credentials>) -> Client {
        let profile = Profile {
            credentials,
            ca_bundle: self.ca_bundle.clone(),
            ..Profile::default()
        };
        Client::connect_profile(&self.endpoint, &profile)
            .await
            .expect("client connects")
    }

    /// Shuts down gracefully and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Creates function `name` from guest `code` with default settings.
    pub async fn create(&self, name: &str, code: Guest) -> proto::FunctionConfiguration {
        self.client
            .create_function(create_request(name, guest(code)))
            .await
            .unwrap_or_else(|err| panic!("creating {name}: {err}"))
    }

    /// Creates function `name` from guest `code` with a timeout.
    pub async fn create_with_timeout(
        &self,
        name: &str,
        code: Guest,
        seconds: i32,
    ) -> proto::FunctionConfiguration {
        let mut request = create_request(name, guest(code));
        request.timeout = Some(seconds);
        self.client
            .create_function(request)
            .await
            .unwrap_or_else(|err| panic!("creating {name}: {err}"))
    }

    /// Creates function `name` from `code` with a MemorySize and Timeout.
    pub async fn create_sized(
        &self,
        name: &str,
        code: Vec<u8>,
        memory_mb: i32,
        seconds: i32,
    ) -> proto::FunctionConfiguration {
        let mut request = create_request(name, code);
        request.memory_size = Some(memory_mb);
        request.timeout = Some(seconds);
        self.client
            .create_function(request)
            .await
            .unwrap_or_else(|err| panic!("creating {name}: {err}"))
    }

    /// Account `account_id`, made by the operator, and a client signed in
    /// as its admin.
    pub async fn account_client(&self, account_id: &str, name: &str) -> Client {
        let created = self
            .client
            .create_account(account_id, name)
            .await
            .unwrap_or_else(|err| panic!("creating account {account_id}: {err}"));
        let key = created.access_key.expect("the admin's key");
        self.client_as(Some(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
        )))
        .await
    }

    /// Runs `work` while `hello` (created here) is invoked five times, and
    /// asserts that every one of those answered; returns what `work` did.
    pub async fn while_hello_answers<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        if self.client.get_function("hello").await.is_err() {
            self.create("hello", guests::HELLO).await;
        }
        let (done, answers) = tokio::join!(work, async {
            let mut answers = Vec::new();
            for _ in 0..5 {
                answers.push(self.invoke("hello", r#"{"name":"Ada"}"#).await);
            }
            answers
        });
        for answer in answers {
            assert_eq!(
                json_of(&answer),
                serde_json::json!({"message": "Hello, Ada!"}),
                "hello stopped answering"
            );
        }
        done
    }

    /// Serves this server's `/metrics` on a port of its own (with
    /// `token`, scrapers must send it); its address, and what stops it.
    pub async fn serve_metrics(
        &self,
        token: Option<&str>,
    ) -> (std::net::SocketAddr, tokio_util::sync::CancellationToken) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(funnel_server::serve_metrics(
            listener,
            self.metrics.clone(),
            token.map(str::to_string),
            stop.clone(),
        ));
        (addr, stop)
    }

    /// Lets anyone call `function`'s URL (Lambda's public-URL statement)
    /// and gives it one of AuthType NONE; returns the URL config.
    pub async fn public_url(&self, function: &str) -> proto::FunctionUrlConfig {
        self.allow_public_url(function).await;
        self.client
            .create_function_url_config(proto::CreateFunctionUrlConfigRequest {
                function_name: function.into(),
                auth_type: "NONE".into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|err| panic!("giving {function} a URL: {err}"))
    }

    /// Adds Lambda's public-URL statement to `function`'s policy: anyone
    /// may call its URL of AuthType NONE.
    pub async fn allow_public_url(&self, function: &str) {
        self.client
            .add_permission(proto::AddPermissionRequest {
                function_name: function.into(),
                statement_id: "FunctionURLAllowPublicAccess".into(),
                action: "lambda:InvokeFunctionUrl".into(),
                principal: "*".into(),
                function_url_auth_type: "NONE".into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|err| panic!("letting anyone call {function}'s URL: {err}"));
    }

    /// The path of `url` on this server's HTTP door (`/url/<id>/`).
    pub fn path_of(&self, url: &proto::FunctionUrlConfig) -> String {
        let origin = format!(
            "{}://{}",
            url.function_url.split("://").next().unwrap_or("http"),
            self.http
        );
        url.function_url
            .strip_prefix(&origin)
            .unwrap_or_else(|| panic!("{} is not on {origin}", url.function_url))
            .to_string()
    }

    /// How many invocations of `function` started (its log's START lines).
    pub async fn starts(&self, function: &str) -> usize {
        self.log_messages(function)
            .await
            .iter()
            .filter(|e| e.message.starts_with("START "))
            .count()
    }

    /// Every event of `function`'s log group, oldest first, following pages;
    /// none when the group does not exist yet (the function never logged).
    pub async fn log_messages(&self, function: &str) -> Vec<proto::FilteredLogEvent> {
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .filter_log_events(proto::FilterLogEventsRequest {
                    log_group_name: funnel_client::log_group(function),
                    next_token: token,
                    ..Default::default()
                })
                .await;
            let page = match page {
                Err(err) if err.error_type.as_deref() == Some("ResourceNotFoundException") => {
                    return all;
                }
                page => page.expect("filter log events"),
            };
            all.extend(page.events);
            if page.next_token.is_empty() {
                return all;
            }
            token = page.next_token;
        }
    }

    /// Adds statement `statement_id` to `function`'s policy: `principal`
    /// (a service) may invoke it, for `source_arn` when not empty.
    pub async fn allow(
        &self,
        function: &str,
        statement_id: &str,
        principal: &str,
        source_arn: &str,
    ) {
        self.client
            .add_permission(proto::AddPermissionRequest {
                function_name: function.into(),
                statement_id: statement_id.into(),
                action: "lambda:InvokeFunction".into(),
                principal: principal.into(),
                source_arn: source_arn.into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|err| panic!("permission for {function}: {err}"));
    }

    /// Invokes `name` with a JSON payload (RequestResponse, log tail).
    pub async fn invoke(&self, name: &str, payload: &str) -> proto::InvokeResponse {
        self.client
            .invoke(invoke_request(name, payload))
            .await
            .unwrap_or_else(|err| panic!("invoking {name}: {err}"))
    }
}

pub fn create_request(name: &str, code: Vec<u8>) -> proto::CreateFunctionRequest {
    proto::CreateFunctionRequest {
        function_name: name.into(),
        code: Some(proto::FunctionCode { zip_file: code }),
        ..Default::default()
    }
}

pub fn invoke_request(name: &str, payload: &str) -> proto::InvokeRequest {
    proto::InvokeRequest {
        function_name: name.into(),
        log_type: "Tail".into(),
        payload: payload.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// The decoded `LogResult` of an invocation.
pub fn log_of(response: &proto::InvokeResponse) -> String {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&response.log_result)
        .expect("LogResult is base64");
    String::from_utf8_lossy(&raw).into_owned()
}

/// The JSON of an invocation's payload.
pub fn json_of(response: &proto::InvokeResponse) -> serde_json::Value {
    serde_json::from_slice(&response.payload).unwrap_or_else(|err| {
        panic!(
            "payload is not JSON ({err}): {:?}",
            String::from_utf8_lossy(&response.payload)
        )
    })
}

/// A parsed `REPORT` line of an invocation's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub request_id: String,
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_size_mb: u64,
    pub max_memory_used_mb: u64,
    /// Present on cold starts only.
    pub init_duration_ms: Option<f64>,
    pub status: Option<String>,
}

/// Parses the REPORT line of `log`, checking Lambda's exact format:
/// `REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\t
/// Memory Size: 128 MB\tMax Memory Used: 3 MB\t[Init Duration: 0.45 ms\t]`.
pub fn report_of(log: &str) -> Report {
    let line = log
        .lines()
        .find(|l| l.starts_with("REPORT RequestId: "))
        .unwrap_or_else(|| panic!("no REPORT line in:\n{log}"));
    let rest = line.strip_prefix("REPORT RequestId: ").unwrap();
    let mut fields: Vec<&str> = rest.split('\t').collect();
    // Every field ends with a tab, except a closing `Status: ...` as Lambda
    // writes it.
    if fields.last().is_some_and(|f| f.starts_with("Status: ")) {
        fields.push("");
    }
    assert_eq!(fields.last(), Some(&""), "REPORT ends with a tab: {line:?}");
    let number = |field: &str, prefix: &str, unit: &str| -> String {
        field
            .strip_prefix(prefix)
            .and_then(|f| f.strip_suffix(unit))
            .unwrap_or_else(|| panic!("expected {prefix}…{unit}, got {field:?} in {line:?}"))
            .to_string()
    };
    let duration = number(fields[1], "Duration: ", " ms");
    assert_eq!(
        duration.split('.').nth(1).map(str::len),
        Some(2),
        "two decimals: {line:?}"
    );
    let mut report = Report {
        request_id: fields[0].to_string(),
        duration_ms: duration.parse().expect("duration"),
        billed_ms: number(fields[2], "Billed Duration: ", " ms")
            .parse()
            .expect("billed"),
        memory_size_mb: number(fields[3], "Memory Size: ", " MB")
            .parse()
            .expect("memory size"),
        max_memory_used_mb: number(fields[4], "Max Memory Used: ", " MB")
            .parse()
            .expect("max memory"),
        init_duration_ms: None,
        status: None,
    };
    for field in &fields[5..fields.len() - 1] {
        if let Some(init) = field.strip_prefix("Init Duration: ") {
            report.init_duration_ms =
                Some(init.strip_suffix(" ms").expect("ms").parse().expect("init"));
        } else if let Some(status) = field.strip_prefix("Status: ") {
            report.status = Some(status.to_string());
        } else {
            panic!("unexpected REPORT field {field:?} in {line:?}");
        }
    }
    report
}

/// A zip archive of `(name, contents)` entries, deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, contents) in entries {
        zip.start_file(*name, options).expect("zip entry");
        zip.write_all(contents).expect("zip write");
    }
    zip.finish().expect("zip finish").into_inner()
}

/// A PublishLayerVersion request for `zip`.
pub fn layer_request(name: &str, zip: Vec<u8>) -> proto::PublishLayerVersionRequest {
    proto::PublishLayerVersionRequest {
        layer_name: name.into(),
        content: Some(proto::LayerVersionContentInput { zip_file: zip }),
        ..Default::default()
    }
}

/// Waits (real time, up to 20 s) until `check` returns `Some`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `GET /metrics` over a plain TCP connection, as a scraper sends it, with
/// this `authorization` header: the response's head and body. A scrape
/// that gets no answer fails rather than hangs.
pub fn scrape_metrics(addr: std::net::SocketAddr, authorization: Option<&str>) -> (String, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("read timeout");
    let header = authorization.map_or(String::new(), |value| format!("Authorization: {value}\r\n"));
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{header}Connection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    (head.to_string(), body.to_string())
}

/// An HTTP response as a client sees it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lower-cased, in order, repeats kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "the body is not JSON ({err}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request to `addr` on a connection of its own (as curl
/// sends it: `Host`, the given headers, `Content-Length` when there is a
/// body), read to the end; fails rather than hangs.
pub async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    // As curl does for a large body: ask first, so that a refusal (413)
    // comes before the body is sent rather than in its middle.
    let expect = body.len() > 1024 * 1024;
    if expect {
        head.push_str("Expect: 100-continue\r\n");
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("request head");
    let mut raw = Vec::new();
    let mut send = true;
    if expect {
        let mut first = [0u8; 1024];
        let wait = std::time::Duration::from_secs(1);
        if let Ok(Ok(n)) = tokio::time::timeout(wait, stream.read(&mut first)).await {
            let answer = &first[..n];
            if answer.starts_with(b"HTTP/1.1 100") {
                let end = answer
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(n, |p| p + 4);
                raw.extend_from_slice(&answer[end..]);
            } else {
                raw.extend_from_slice(answer);
                send = false;
            }
        }
    }
    if send {
        stream.write_all(body).await.expect("request body");
    }
    let read = async {
        let mut buffer = [0u8; 64 * 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), read)
        .await
        .expect("an answer within a minute");
    parse_http_response(&raw)
}

fn parse_http_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A chunked body's bytes (those that came, if it was cut off).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&raw[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .expect("a chunk size");
        if size == 0 {
            return out;
        }
        let start = end + 2;
        // A body cut off mid-chunk (the server gave up): what came.
        if raw.len() < start + size + 2 {
            out.extend_from_slice(&raw[start.min(raw.len())..]);
            return out;
        }
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}
