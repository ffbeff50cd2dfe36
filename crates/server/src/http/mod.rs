//! The HTTP door: function URLs and routes served over HTTP/1.1 on
//! `--http-listen`.
//! A request is found by its URL id (in the path, `/url/<url-id>/...`, or
//! the host, `<url-id>.lambda-url.localhost`), checked against the URL's
//! AuthType, turned into Lambda's payload format 2.0 event ([`event`]) and
//! run like any invocation (same environments, limits, concurrency, logs
//! and metrics); the answer becomes the response by Lambda's rules
//! ([`response`]). CORS preflights are answered here ([`cors`]). A request
//! that names no URL goes to an account's API routes ([`routes`]), whose
//! payload format may be 1.0 ([`event_v1`]). A `wasi:http` component gets
//! the request itself instead of an event, streamed both ways
//! ([`component`]). With a certificate (the API port's), the door serves
//! TLS. Its own answers (refusals, failures, shaped results) are in
//! [`answers`].
//!
//! Every response carries `x-amzn-RequestId`; for a request that ran, it is
//! the invocation's request id (the one in the function's log).

mod answers;
mod component;
mod cors;
mod event;
mod event_v1;
mod response;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use funnel_runtime::{Clock, HttpBody};
use http::{HeaderValue, StatusCode};
use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::HttpConfig;
use crate::dispatch::{Dispatcher, RunCall};
use crate::error::Error;
use crate::function::MAX_SYNC_PAYLOAD_BYTES;
use crate::iam::Identities;
use crate::policies::{INVOKE_FUNCTION_URL, Policies};
use crate::registry::Registry;
use crate::urls::{AUTH_FUNNEL, FunctionUrls};
use answers::{Reply, failed, forbidden, internal_error, not_found, refused, shape, too_large};
use funnel_store::FunctionUrlRecord;
use response::{Answer, Format};

/// A request body larger than this is refused (413), as Lambda's 6 MB
/// invoke payload.
const MAX_BODY_BYTES: usize = MAX_SYNC_PAYLOAD_BYTES;

/// What the door works with (handles, each cheap to clone).
pub struct Parts {
    pub urls: FunctionUrls,
    pub apis: crate::apis::Apis,
    pub policies: Policies,
    pub identities: Identities,
    pub functions: Registry,
    pub dispatcher: Dispatcher,
    pub clock: Clock,
    pub config: HttpConfig,
    /// TLS, when the server has a certificate (the API port's).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct HttpDoor {
    inner: Arc<Parts>,
}

impl HttpDoor {
    pub fn new(parts: Parts) -> HttpDoor {
        HttpDoor {
            inner: Arc::new(parts),
        }
    }

    /// Serves `listener` until `stop`; then lets the requests in flight
    /// finish (their invocations are stopped by the dispatcher when the
    /// shutdown grace runs out) and returns.
    pub async fn serve(self, listener: TcpListener, stop: CancellationToken) {
        let listening =
            crate::listen::Listening::of(&self.inner.config, self.inner.tls.clone(), "HTTP");
        crate::listen::serve(listener, listening, self, stop).await;
    }
}

impl crate::listen::Handler for HttpDoor {
    async fn handle(
        &self,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
    ) -> hyper::Response<HttpBody> {
        let request_id = uuid::Uuid::new_v4().to_string();
        // The caller's trace (traceparent or X-Amzn-Trace-Id), continued.
        let tracer = self.inner.dispatcher.tracer().clone();
        let begun = tracer.begin_told(|| {
            crate::traces::Incoming::from_headers(|name| {
                request.headers().get(name).and_then(|v| v.to_str().ok())
            })
        });
        let trace = begun.trace;
        // The caller that sent its trace is told it back.
        let told = trace.filter(|_| begun.from_caller);
        let mut span = tracer
            .span(trace.as_ref(), "http request", "")
            .map(|mut span| {
                span.attr("method", request.method().as_str());
                span.attr("path", request.uri().path());
                span
            });
        let request = match span.as_mut() {
            // A function URL's request is its function's account's work.
            Some(span) => {
                let (parts, body) = request.into_parts();
                let url = locate(&parts).map(|l| self.inner.urls.by_id(&l.url_id));
                if let Some(Ok(Some(url))) = url {
                    let naming = self.inner.functions.naming();
                    span.set_account(naming.account_of(&url.function));
                }
                hyper::Request::from_parts(parts, body)
            }
            None => request,
        };
        let within = span.as_ref().map(|s| s.context()).or(trace);
        let tracestate = told
            .and_then(|_| request.headers().get("tracestate"))
            .cloned();
        let answered = crate::traces::within(within, self.answer(request, remote, &request_id));
        let mut response = match answered.await {
            Reply::Buffered(answer) => answer.into_response(),
            Reply::Streamed(response) => response,
        };
        if let Ok(id) = HeaderValue::try_from(request_id) {
            response.headers_mut().insert("x-amzn-requestid", id);
        }
        if let Some(trace) = &told {
            let headers = response.headers_mut();
            for (name, value) in crate::traces::context::answer_headers(trace) {
                if let Ok(value) = HeaderValue::try_from(value) {
                    headers.insert(name, value);
                }
            }
            if let Some(tracestate) = tracestate {
                headers.insert("tracestate", tracestate);
            }
        }
        if let Some(mut span) = span {
            span.attr("status", response.status().as_u16());
            if response.status().is_server_error() {
                span.fail(response.status().as_str());
            }
            tracer.end(span);
        }
        response
    }
}

impl HttpDoor {
    async fn answer(
        &self,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
        request_id: &str,
    ) -> Reply {
        let (parts, body) = request.into_parts();
        let Some(located) = locate(&parts) else {
            return self.route(parts, body, remote, request_id).await;
        };
        let url = match self.inner.urls.by_id(&located.url_id) {
            Ok(Some(url)) => url,
            Ok(None) => return not_found().into(),
            Err(err) => return failed(&err).into(),
        };
        if let Some(cors) = &url.cors
            && cors::is_preflight(&parts.method, &parts.headers)
        {
            return Answer {
                status: StatusCode::OK,
                headers: cors::preflight(cors, &parts.headers),
                body: Bytes::new(),
            }
            .into();
        }
        let authorizer = match self.authorize(&url, &parts.headers, remote) {
            Ok(authorizer) => authorizer,
            Err(answer) => return answer.into(),
        };
        let resolved = match self.resolve(&url.function, &url.qualifier).await {
            Ok(Some(resolved)) => resolved,
            Ok(None) => return not_found().into(),
            Err(answer) => return answer.into(),
        };
        let cors = url
            .cors
            .as_ref()
            .map(|cors| cors::actual(cors, &parts.headers))
            .unwrap_or_default();
        let mut reply = if resolved.component {
            let raw_path = &located.raw_path;
            component::serve(self, parts, body, raw_path, &resolved.record, request_id).await
        } else {
            self.json_url(
                parts,
                body,
                &located,
                &url,
                (remote, authorizer),
                &resolved,
                request_id,
            )
            .await
            .into()
        };
        if !cors.is_empty() {
            reply.set_cors(cors);
        }
        reply
    }

    /// A JSON handler's URL request: the body read whole, the 2.0 event,
    /// the answer by Lambda's rules.
    #[allow(clippy::too_many_arguments)]
    async fn json_url(
        &self,
        parts: http::request::Parts,
        body: Incoming,
        located: &Located,
        url: &FunctionUrlRecord,
        (remote, authorizer): (SocketAddr, Option<serde_json::Value>),
        resolved: &Resolved,
        request_id: &str,
    ) -> Answer {
        let body = match read_body(&parts, body, self.inner.config.body_timeout).await {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let source_ip = remote.ip().to_string();
        let event = event::v2(
            &parts,
            &body,
            &event::Context {
                request_id,
                account_id: self.inner.functions.naming().account_of(&url.function),
                api_id: &url.url_id,
                domain_name: &located.domain,
                domain_prefix: &url.url_id,
                route_key: "$default",
                raw_path: &located.raw_path,
                source_ip: &source_ip,
                path_parameters: None,
                authorizer,
                now: self.inner.clock.wall(),
            },
        );
        let payload = event.to_string().into_bytes();
        if payload.len() > MAX_SYNC_PAYLOAD_BYTES {
            return too_large();
        }
        self.invoke(resolved, payload, request_id, Format::V2).await
    }

    /// What `function` (a key) at `qualifier` runs now, and whether it is
    /// a `wasi:http` component; `None` when the function (or the alias or
    /// version) does not exist.
    async fn resolve(&self, function: &str, qualifier: &str) -> Result<Option<Resolved>, Answer> {
        let naming = self.inner.functions.naming();
        let found = self
            .inner
            .functions
            .lookup(&naming.function_arn(function, None), qualifier);
        let (target, record) = match found {
            Ok(found) => found,
            Err(Error::ResourceNotFound(_)) => return Ok(None),
            Err(err) => return Err(failed(&err)),
        };
        let prepared = self
            .inner
            .functions
            .prepared(&record)
            .await
            .map_err(|err| failed(&err))?;
        Ok(Some(Resolved {
            target,
            component: prepared.is_http(),
            record,
        }))
    }

    /// Whether the caller may call `url`: for `NONE`, the function's
    /// resource policy must let anyone; for `FUNNEL`, the access key in
    /// `Authorization` must be valid and its user allowed
    /// `lambda:InvokeFunctionUrl`. The caller's identity, as
    /// `requestContext.authorizer`, when there is one.
    fn authorize(
        &self,
        url: &FunctionUrlRecord,
        headers: &http::HeaderMap,
        remote: SocketAddr,
    ) -> Result<Option<serde_json::Value>, Answer> {
        if url.auth_type != AUTH_FUNNEL {
            return match self.inner.policies.allows_url(
                &url.function,
                &url.qualifier,
                &url.auth_type,
            ) {
                Ok(true) => Ok(None),
                Ok(false) => {
                    tracing::info!(function = %url.function, qualifier = %url.qualifier, "refused a URL request: the resource policy does not allow lambda:InvokeFunctionUrl for everyone");
                    Err(forbidden("AccessDeniedException"))
                }
                Err(err) => Err(failed(&err)),
            };
        }
        let authorization = headers.get(http::header::AUTHORIZATION);
        let identities = &self.inner.identities;
        let principal = identities
            .authenticate(authorization.map(HeaderValue::as_bytes), Some(remote.ip()))
            .map_err(|err| forbidden(err.aws_name()))?;
        let caller = identities.caller(
            principal.clone(),
            INVOKE_FUNCTION_URL,
            Some(remote.ip()),
            self.inner.tls.is_some(),
        );
        crate::iam::authorize(&caller, &self.inner.urls.function_arn(url))
            .map_err(|err| forbidden(err.aws_name()))?;
        let access_key = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| token.trim().split_once(':'))
            .map(|(id, _)| id.to_string());
        Ok(Some(json!({
            "iam": {
                "accessKey": access_key,
                "accountId": principal.account_id,
                "callerId": principal.user_id,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": principal.arn,
                "userId": principal.user_id,
            }
        })))
    }

    /// Runs a JSON handler with `payload` and shapes its answer by
    /// `format`'s rules.
    async fn invoke(
        &self,
        resolved: &Resolved,
        payload: Vec<u8>,
        request_id: &str,
        format: Format,
    ) -> Answer {
        let call = RunCall {
            request_id: request_id.to_string(),
            payload,
            client_context: None,
            chain_depth: 0,
            tail: false,
            origin: crate::recordings::Origin::sync(crate::recordings::Door::Http),
            trace: crate::traces::current(),
        };
        let record = &resolved.record;
        match self
            .inner
            .dispatcher
            .run(&resolved.target, record, call)
            .await
        {
            Ok(result) => shape(&record.name, result, format),
            Err(err) => refused(err),
        }
    }
}

/// What a URL or route runs now.
struct Resolved {
    target: crate::function::FunctionRef,
    record: Arc<funnel_store::FunctionRecord>,
    /// A `wasi:http` component (else a JSON handler).
    component: bool,
}

/// Where a request is going: its URL id, the path below the URL's root,
/// and the domain it was sent to.
struct Located {
    url_id: String,
    raw_path: String,
    domain: String,
}

/// `<url-id>.lambda-url.<anything>` as the host, or `/url/<url-id>/...`
/// as the path.
fn locate(parts: &http::request::Parts) -> Option<Located> {
    let host = host_of(parts);
    let path = parts.uri.path();
    let hostname = host.split(':').next().unwrap_or_default();
    if let Some((url_id, _)) = hostname.split_once(".lambda-url.") {
        return Some(Located {
            url_id: url_id.to_ascii_lowercase(),
            raw_path: path.to_string(),
            domain: hostname.to_string(),
        });
    }
    let rest = path.strip_prefix("/url/")?;
    let (url_id, below) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    Some(Located {
        url_id: url_id.to_string(),
        raw_path: below.to_string(),
        domain: hostname.to_string(),
    })
}

/// The host a request was sent to (`HOST[:PORT]`), from its URI or its
/// `Host` header.
fn host_of(parts: &http::request::Parts) -> String {
    parts
        .uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Whether the request's `Content-Length` is over [`MAX_BODY_BYTES`].
fn declares_too_much(parts: &http::request::Parts) -> bool {
    parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
}

/// The request's body, at most [`MAX_BODY_BYTES`], read within `timeout`.
async fn read_body(
    parts: &http::request::Parts,
    body: Incoming,
    timeout: std::time::Duration,
) -> Result<Bytes, Answer> {
    if declares_too_much(parts) {
        return Err(too_large());
    }
    use crate::listen::BodyError;
    crate::listen::read_body(body, MAX_BODY_BYTES, timeout)
        .await
        .map_err(|err| match err {
            BodyError::TooLarge => too_large(),
            BodyError::Unreadable(err) => Answer::message(
                StatusCode::BAD_REQUEST,
                &format!("Bad Request: the body could not be read: {err}"),
            ),
            BodyError::TimedOut => Answer::message(StatusCode::REQUEST_TIMEOUT, "Request Timeout"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(uri: &str, host: Option<&str>) -> Option<(String, String, String)> {
        let mut request = http::Request::get(uri);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let parts = request.body(()).unwrap().into_parts().0;
        locate(&parts).map(|l| (l.url_id, l.raw_path, l.domain))
    }

    #[test]
    fn urls_are_found_by_path_or_by_host() {
        let id = "abcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(
            located(&format!("/url/{id}/users/42?x=1"), Some("127.0.0.1:7879")),
            Some((id.into(), "/users/42".into(), "127.0.0.1".into()))
        );
        assert_eq!(
            located(&format!("/url/{id}"), None).map(|l| l.1),
            Some("/".into())
        );
        assert_eq!(
            located(
                "/users/42",
                Some(&format!("{id}.lambda-url.localhost:7879"))
            ),
            Some((
                id.into(),
                "/users/42".into(),
                format!("{id}.lambda-url.localhost")
            ))
        );
        assert_eq!(located("/users/42", Some("127.0.0.1:7879")), None);
    }
}
