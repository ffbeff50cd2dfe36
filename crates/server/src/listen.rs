//! Serving HTTP/1.1 on a listener, for the doors that speak HTTP (function
//! URLs and routes; the AWS-compatible endpoint): a connection cap, a
//! header timeout, TLS when the server has a certificate, and a drain at
//! shutdown that lets requests in flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use funnel_runtime::HttpBody;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What a door answers requests with.
pub trait Handler: Clone + Send + Sync + 'static {
    fn handle(
        &self,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
    ) -> impl Future<Output = hyper::Response<HttpBody>> + Send;
}

/// A listener's limits and transport.
#[derive(Clone)]
pub struct Listening {
    pub max_connections: usize,
    /// For the request head (and the TLS handshake).
    pub header_timeout: Duration,
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Names the listener in logs (`HTTP`, `AWS`).
    pub name: &'static str,
}

/// Serves `listener` with `handler` until `stop`; then lets the requests
/// in flight finish and returns.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    listening: Listening,
    handler: H,
    stop: CancellationToken,
) {
    const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
    let connections = Arc::new(tokio::sync::Semaphore::new(listening.max_connections));
    let tracker = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(listener = listening.name, cause = %err, "cannot accept a connection");
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (handler, listening, stop) = (handler.clone(), listening.clone(), stop.clone());
        tracker.spawn(async move {
            match listening.tls.clone() {
                None => connection(stream, remote, &listening, handler, stop).await,
                Some(tls) => {
                    let accept = tokio_rustls::TlsAcceptor::from(tls).accept(stream);
                    match tokio::time::timeout(listening.header_timeout, accept).await {
                        Ok(Ok(stream)) => {
                            connection(stream, remote, &listening, handler, stop).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%remote, cause = %err, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
    tracker.close();
    tracker.wait().await;
}

/// Serves one connection (plain or TLS) until the client closes it or
/// `stop` (then its requests in flight finish first).
async fn connection<Io, H>(
    stream: Io,
    remote: SocketAddr,
    listening: &Listening,
    handler: H,
    stop: CancellationToken,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler.handle(request, remote).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(listening.header_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = served {
        tracing::debug!(%remote, cause = %err, "HTTP connection ended");
    }
}
