//! The HTTP door: function URL requests to a warm JSON handler
//! (`http-answer`) and to a `wasi:http` component (`http-hello`), against
//! an empty hyper server in this process, at c=1 (p50) and c=32
//! (requests per second, one keep-alive connection per worker). With
//! `--wasmtime-serve`, also `wasmtime serve` of the same component (a fresh
//! instance per request), when a `wasmtime` binary is on the PATH.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use funnel_tests::{guests, test_config};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;

use super::{CONCURRENCY, LATENCY_CALLS, Latency, THROUGHPUT_SECS};

/// What one door (or server) did.
pub struct Measured {
    pub latency: Latency,
    pub rate: f64,
    /// Requests refused with 429 at c=32 (not counted in `rate`).
    pub throttled: u64,
}

pub struct Http {
    pub empty: Measured,
    pub json: Measured,
    pub component: Measured,
    /// `wasmtime serve` of `http-hello`, or why it was not measured.
    pub wasmtime_serve: Result<Measured, String>,
}

/// One request on `sender`: whether it was answered (200, the body
/// starting as `expect` says) rather than throttled (429); panics on
/// anything else.
async fn one(sender: &mut SendRequest<Full<Bytes>>, target: &Target) -> bool {
    let request = http::Request::builder()
        .method(target.method.clone())
        .uri(&target.path)
        .header("host", &target.host)
        .body(Full::new(target.body.clone()))
        .expect("a request");
    sender.ready().await.expect("the connection stays open");
    let response = sender.send_request(request).await.expect("an answer");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    if status == 429 {
        return false;
    }
    assert_eq!(status, 200, "{}: {body:?}", target.path);
    assert!(body.starts_with(target.expect), "{body:?}");
    true
}

/// Where the requests go.
#[derive(Clone)]
struct Target {
    addr: std::net::SocketAddr,
    host: String,
    method: http::Method,
    path: String,
    body: Bytes,
    expect: &'static [u8],
}

/// One keep-alive HTTP/1.1 connection to `addr` (no Nagle).
pub(crate) async fn connect(addr: std::net::SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    sender
}

async fn measure_target(target: &Target) -> Measured {
    let mut sender = connect(target.addr).await;
    let latency = {
        let sender = &mut sender;
        let mut samples = Vec::new();
        for _ in 0..LATENCY_CALLS / 10 {
            assert!(one(sender, target).await, "throttled at c=1");
        }
        for _ in 0..LATENCY_CALLS {
            let started = Instant::now();
            assert!(one(sender, target).await, "throttled at c=1");
            samples.push(started.elapsed());
        }
        super::percentiles(samples)
    };
    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECS);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut sender = connect(target.addr).await;
                let (mut done, mut throttled) = (0u64, 0u64);
                while Instant::now() < deadline {
                    if one(&mut sender, &target).await {
                        done += 1;
                    } else {
                        throttled += 1;
                    }
                }
                (done, throttled)
            })
        })
        .collect();
    let (mut total, mut throttled) = (0, 0);
    for worker in workers {
        let (done, refused) = worker.await.expect("worker");
        total += done;
        throttled += refused;
    }
    Measured {
        latency,
        rate: total as f64 / started.elapsed().as_secs_f64(),
        throttled,
    }
}

/// Answers every request with `200 ok`, as small as an HTTP server gets.
async fn empty_server() -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

pub async fn measure() -> anyhow::Result<Http> {
    let empty_addr = empty_server().await?;
    let empty = measure_target(&Target {
        addr: empty_addr,
        host: empty_addr.to_string(),
        method: http::Method::GET,
        path: "/".into(),
        body: Bytes::new(),
        expect: b"ok",
    })
    .await;

    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path());
    // A component's invocation holds its place until its `handle`
    // returns, a moment after the client has the whole response: with
    // room for 64 per function, 32 clients are not throttled by that.
    config.runtime.max_instances = 128;
    let server = crate::start_server(config).await;
    let mut paths = Vec::new();
    for (name, code) in [
        ("answer", guests::HTTP_ANSWER),
        ("hello", guests::HTTP_HELLO),
    ] {
        server.create(name, code).await;
        let path = server.path_of(&server.public_url(name).await);
        paths.push(path);
    }
    let door = |path: &str, method, body: &'static [u8], expect| Target {
        addr: server.http,
        host: server.http.to_string(),
        method,
        path: path.to_string(),
        body: Bytes::from_static(body),
        expect,
    };
    let json = measure_target(&door(
        &paths[0],
        http::Method::POST,
        br#"{"statusCode":200,"body":"ok"}"#,
        b"ok",
    ))
    .await;
    let component = measure_target(&door(
        &paths[1],
        http::Method::GET,
        b"",
        b"hello from wasi:http",
    ))
    .await;
    server.stop().await;
    let wasmtime_serve = if std::env::args().any(|a| a == "--wasmtime-serve") {
        wasmtime_serve(dir.path()).await
    } else {
        Err("not asked for (--wasmtime-serve)".into())
    };
    Ok(Http {
        empty,
        json,
        component,
        wasmtime_serve,
    })
}

/// `wasmtime serve` of `http-hello`, if a `wasmtime` is on the PATH.
async fn wasmtime_serve(dir: &std::path::Path) -> Result<Measured, String> {
    let component = dir.join("http-hello.wasm");
    std::fs::write(&component, funnel_tests::guest(guests::HTTP_HELLO))
        .map_err(|e| e.to_string())?;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        probe.local_addr().map_err(|e| e.to_string())?.port()
    };
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let child = tokio::process::Command::new("wasmtime")
        // `-Scli`: the guest's std imports wasi:cli (as funnel gives it).
        .args(["serve", "-Scli", "--addr", &addr.to_string()])
        .arg(&component)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!("no wasmtime to run ({e}): cargo install wasmtime-cli --version 48.0.8")
        })?;
    let child = Arc::new(tokio::sync::Mutex::new(child));
    let ready = async {
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .map_err(|_| "wasmtime serve did not start listening within 30 s".to_string())?;
    let measured = measure_target(&Target {
        addr,
        host: addr.to_string(),
        method: http::Method::GET,
        path: "/".into(),
        body: Bytes::new(),
        expect: b"hello from wasi:http",
    })
    .await;
    let _ = child.lock().await.kill().await;
    Ok(measured)
}
