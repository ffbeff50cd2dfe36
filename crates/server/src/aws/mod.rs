//! The AWS-compatible endpoint (`--aws-listen`, default `127.0.0.1:7880`):
//! the aws CLI, boto3 and the AWS SDKs talk to funnel with
//! `--endpoint-url` as the only change.
//!
//! A request is signed with SigV4 ([`sigv4`]) by an access key of a funnel
//! user; the signature's credential scope names the service (`lambda`,
//! `s3`, `sts`, ...), which picks the adapter ([`lambda`], [`s3`], [`sts`]). An adapter
//! only translates: it calls the same gRPC handler the API port runs
//! ([`Door::call`]), as the signer, under the same IAM policies, and
//! shapes the answer (or the error, [`errors`]) as that service's wire
//! protocol does. Every response carries `x-amzn-RequestId`.

mod errors;
mod events;
mod json11;
mod lambda;
mod logs;
mod s3;
mod secretsmanager;
mod sigv4;
mod sns;
mod ssm;
mod sts;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use funnel_runtime::HttpBody;
use http::HeaderValue;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::HttpConfig;
use crate::iam::{Identities, Principal};
use errors::{AwsError, Protocol};

/// The largest request body: a 50 MB function zip, base64 in JSON.
const MAX_BODY_BYTES: usize = crate::api::MAX_MESSAGE_BYTES;

/// What the endpoint works with.
pub struct Parts {
    pub identities: Identities,
    /// The gRPC handlers the API port serves (the same instances).
    pub services: crate::api::Services,
    /// Its limits: the HTTP door's.
    pub config: HttpConfig,
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Calls that write are refused below it.
    pub disk: crate::disk::DiskFloor,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Door {
    inner: Arc<Parts>,
}

/// Who is calling, once the signature checked out.
pub struct Signer {
    pub principal: Arc<Principal>,
    pub remote: SocketAddr,
    /// The caller's trace headers, handed to the handlers as gRPC
    /// metadata (so `X-Amzn-Trace-Id` continues its trace here too).
    pub trace: Vec<(&'static str, http::HeaderValue)>,
}

impl Signer {
    /// The trace headers of a request.
    pub fn trace_of(headers: &http::HeaderMap) -> Vec<(&'static str, http::HeaderValue)> {
        crate::traces::context::HEADERS
            .iter()
            .filter_map(|name| Some((*name, headers.get(*name)?.clone())))
            .collect()
    }
}

/// A request as an adapter gets it: verified, body read.
pub struct Request {
    pub parts: http::request::Parts,
    pub body: Bytes,
    pub signer: Signer,
    /// The `x-amzn-RequestId` of the response.
    pub request_id: String,
}

impl Door {
    pub fn new(parts: Parts) -> Door {
        Door {
            inner: Arc::new(parts),
        }
    }

    /// How long a request body may take (S3's: between two pieces).
    pub fn body_timeout(&self) -> std::time::Duration {
        self.inner.config.body_timeout
    }

    /// Serves `listener` until `stop`, then lets requests in flight finish.
    pub async fn serve(self, listener: TcpListener, stop: CancellationToken) {
        let listening =
            crate::listen::Listening::of(&self.inner.config, self.inner.tls.clone(), "AWS");
        crate::listen::serve(listener, listening, self, stop).await;
    }

    async fn answer(
        &self,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
        request_id: &str,
    ) -> Result<hyper::Response<HttpBody>, (Protocol, AwsError)> {
        let (parts, body) = request.into_parts();
        let signature = sigv4::parse(&parts);
        let protocol = Protocol::of(signature.as_ref().ok().map(|s| s.service.as_str()), &parts);
        if protocol == Protocol::RestXml {
            let request = hyper::Request::from_parts(parts, body);
            return Ok(s3::handle(self, request, signature, remote, request_id).await);
        }
        let fail = |err: AwsError| (protocol, err);
        let body = read_body(body, self.inner.config.body_timeout)
            .await
            .map_err(fail)?;
        let signature = signature.map_err(|e| fail(e.into()))?;
        let ip = Some(remote.ip());
        let principal = self
            .inner
            .identities
            .signer(&signature.access_key_id, ip)
            .map_err(|e| fail(e.into()))?;
        if let Err(err) = sigv4::verify(
            &signature,
            &parts,
            &body,
            principal.secret(),
            chrono::Utc::now(),
        ) {
            self.inner.identities.signature_failed(ip);
            return Err(fail(err.into()));
        }
        let trace = Signer::trace_of(&parts.headers);
        let request = Request {
            parts,
            body,
            signer: Signer {
                principal,
                remote,
                trace,
            },
            request_id: request_id.to_string(),
        };
        match signature.service.as_str() {
            "lambda" => lambda::handle(self, request).await.map_err(fail),
            "sts" => sts::handle(self, request).await.map_err(fail),
            "sns" => sns::handle(self, request).await.map_err(fail),
            "events" => events::handle(self, request).await.map_err(fail),
            "logs" => logs::handle(self, request).await.map_err(fail),
            "secretsmanager" => secretsmanager::handle(self, request).await.map_err(fail),
            "ssm" => ssm::handle(self, request).await.map_err(fail),
            other => Err(fail(AwsError::new(
                "UnknownOperationException",
                format!(
                    "funnel's AWS endpoint does not serve the {other:?} service (it serves lambda, s3, sns, events, logs, secretsmanager, ssm and sts)"
                ),
            ))),
        }
    }

    /// Runs the gRPC handler `method` (whose path names its IAM action, as
    /// on the API port) as the signer: the same code, the same
    /// authorization.
    pub async fn call<Req, Res, Fut>(
        &self,
        signer: &Signer,
        path: &str,
        message: Req,
        method: impl FnOnce(tonic::Request<Req>) -> Fut,
    ) -> Result<Res, AwsError>
    where
        Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
    {
        let Some(action) = crate::iam::actions::action_of(path) else {
            return Err(AwsError::new(
                "AccessDeniedException",
                format!("{path} is not a method funnel knows"),
            ));
        };
        if crate::disk::writes(action) {
            self.inner.disk.check()?;
        }
        let secure = self.inner.tls.is_some();
        let caller = self.inner.identities.caller(
            signer.principal.clone(),
            action,
            Some(signer.remote.ip()),
            secure,
        );
        let mut request = tonic::Request::new(message);
        request.extensions_mut().insert(caller.clone());
        for (name, value) in &signer.trace {
            if let Ok(value) = tonic::metadata::MetadataValue::try_from(value.as_bytes()) {
                request.metadata_mut().insert(*name, value);
            }
        }
        let response = method(request).await?;
        if !caller.was_authorized() {
            tracing::error!(action, "a handler answered without authorizing the call");
            debug_assert!(false, "{action} answered without authorizing the call");
            return Err(AwsError::new(
                "ServiceException",
                format!("{action} was not authorized"),
            ));
        }
        Ok(response.into_inner())
    }
}

impl crate::listen::Handler for Door {
    async fn handle(
        &self,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
    ) -> hyper::Response<HttpBody> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut response = match self.answer(request, remote, &request_id).await {
            Ok(response) => response,
            Err((protocol, err)) => errors::response(protocol, &err, &request_id),
        };
        if let Ok(id) = HeaderValue::try_from(request_id) {
            response.headers_mut().insert("x-amzn-requestid", id);
        }
        response
    }
}

async fn read_body(body: Incoming, timeout: std::time::Duration) -> Result<Bytes, AwsError> {
    use crate::listen::BodyError;
    crate::listen::read_body(body, MAX_BODY_BYTES, timeout)
        .await
        .map_err(|err| match err {
            BodyError::TimedOut => {
                AwsError::new("RequestTimeout", "the request body did not arrive in time")
            }
            BodyError::TooLarge => AwsError::new(
                "RequestTooLargeException",
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            BodyError::Unreadable(err) => AwsError::new(
                "InvalidRequestContentException",
                format!("the request body could not be read: {err}"),
            ),
        })
}

/// A buffered response.
pub fn respond(
    status: http::StatusCode,
    headers: &[(&str, String)],
    body: impl Into<Bytes>,
) -> hyper::Response<HttpBody> {
    let body = http_body_util::Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = status;
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(*name),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
