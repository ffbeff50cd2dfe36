//! Serving HTTP/1.1 on a listener, for the doors that speak HTTP (function
//! URLs and routes; the AWS-compatible endpoint): a connection cap, a
//! header timeout, TLS when the server has a certificate, and a drain at
//! shutdown that lets requests in flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use funnel_runtime::HttpBody;
use http_body_util::{BodyExt as _, Limited};
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

impl Listening {
    /// A door's listening, with the HTTP limits of `config`.
    pub fn of(
        config: &crate::config::HttpConfig,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        name: &'static str,
    ) -> Listening {
        Listening {
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
            tls,
            name,
        }
    }
}

/// Why a request body could not be read whole.
pub enum BodyError {
    /// Longer than the door takes.
    TooLarge,
    /// Did not arrive within the body timeout.
    TimedOut,
    /// The connection failed while sending it.
    Unreadable(String),
}

/// Reads `body` whole: at most `limit` bytes, within `timeout`.
pub async fn read_body(
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Ok(Err(err)) => Err(BodyError::Unreadable(err.to_string())),
        Err(_) => Err(BodyError::TimedOut),
    }
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
