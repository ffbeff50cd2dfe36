//! The tower layer in front of every gRPC service: finds the method's IAM
//! action, authenticates the `authorization` metadata and puts the
//! [`Caller`] on the request for the handler, which names the resource and
//! authorizes. Health and reflection pass untouched; a method with no
//! action is refused (fail closed).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use super::{Caller, Identities, actions};
use crate::error::Error;

#[derive(Clone)]
pub struct AuthLayer {
    identities: Identities,
    secure: bool,
    /// Calls that write are refused below it.
    disk: crate::disk::DiskFloor,
}

impl AuthLayer {
    /// `secure`: the listener speaks TLS (what `aws:SecureTransport` says).
    pub fn new(identities: Identities, secure: bool, disk: crate::disk::DiskFloor) -> Self {
        AuthLayer {
            identities,
            secure,
            disk,
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    layer: AuthLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Authenticated<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        // The clone that was made ready is the one that serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if actions::is_open(path) {
            return Box::pin(inner.call(request));
        }
        let refused = |err: Error| -> Self::Future {
            let status: tonic::Status = err.into();
            Box::pin(std::future::ready(Ok(status.into_http())))
        };
        let Some(action) = actions::action_of(path) else {
            return refused(Error::AccessDenied(format!(
                "{path} is not a method funnel knows"
            )));
        };
        let source_ip = source_ip(&request);
        let principal = match self.layer.identities.authenticate(
            request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
            source_ip,
        ) {
            Ok(principal) => principal,
            Err(err) => return refused(err),
        };
        if crate::disk::writes(action)
            && let Err(err) = self.layer.disk.check()
        {
            return refused(err);
        }
        let authorized = Arc::new(AtomicBool::new(false));
        request.extensions_mut().insert(Caller {
            principal,
            resource_policies: self.layer.identities.resource_policies(),
            action,
            source_ip,
            secure: self.layer.secure,
            authorized: authorized.clone(),
        });
        Box::pin(async move {
            let response = inner.call(request).await?;
            // A handler that answered without authorizing is a bug that
            // would let any user do anything: loud in tests, logged in
            // production.
            if !response.headers().contains_key("grpc-status")
                && !authorized.load(Ordering::Relaxed)
            {
                tracing::error!(action, "a handler answered without authorizing the call");
                debug_assert!(false, "{action} answered without authorizing the call");
            }
            Ok(response)
        })
    }
}

fn source_ip<B>(request: &http::Request<B>) -> Option<IpAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .map(TlsConnectInfo::get_ref)
        })
        .and_then(|info| info.remote_addr())
        .map(|addr| addr.ip())
}

impl Caller {
    /// For a stream whose messages are each authorized as they come: the
    /// handler has taken charge of authorization.
    pub fn authorizes_each_message(&self) {
        self.authorized.store(true, Ordering::Relaxed);
    }
}
