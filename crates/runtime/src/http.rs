//! Components of the `wasi:http/proxy` world: a request handed to the
//! guest's `wasi:http/incoming-handler` export in a warm environment, its
//! response streamed back as the guest writes it. The environment stays
//! busy (and the call timed) until the guest's `handle` returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use tokio::sync::oneshot;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::{WasiHttpHooks, WasiHttpView as _};

use super::host::Host;
use super::{GuestError, Outcome};

/// Any error a body may end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request's or response's body, as it crosses the runtime's boundary.
pub type HttpBody = UnsyncBoxBody<Bytes, BoxError>;

/// One HTTP request for a `wasi:http` component.
pub struct HttpCall {
    pub request_id: String,
    /// The URI's path (and query) is what the guest sees as its path.
    pub request: http::Request<HttpBody>,
}

/// A running `wasi:http` invocation: the response, once the guest sets
/// one, and the outcome, once its `handle` returns.
pub struct HttpInvocation {
    /// The guest's response (its body streams while the guest writes it),
    /// or why it failed to make one. Closed without a value when the guest
    /// ends (or is stopped) before setting a response: the outcome says why.
    pub response: oneshot::Receiver<Result<http::Response<HttpBody>, String>>,
    /// The invocation as a whole. Dropping it stops the guest.
    pub outcome:
        std::pin::Pin<Box<dyn Future<Output = Result<Outcome, super::InvokeError>> + Send>>,
}

/// `wasi:http/outgoing-handler`: funnel grants no network, so every
/// request a guest sends is refused.
pub struct NoOutgoingRequests;

impl WasiHttpHooks for NoOutgoingRequests {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }

    /// Writes the host buffers before the guest must wait for the client:
    /// with room for a few, a short response is written without the guest
    /// yielding (a guest's `blocking-write-and-flush` waits for room after
    /// each write). At most this many × [`OUTGOING_CHUNK_BYTES`] is held
    /// on the host for one response.
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        OUTGOING_BUFFER_CHUNKS
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        OUTGOING_CHUNK_BYTES
    }
}

/// Writes of a response body the host holds before the guest waits.
const OUTGOING_BUFFER_CHUNKS: usize = 16;
/// The most one write may carry (the guest's `check-write` says so).
const OUTGOING_CHUNK_BYTES: usize = 64 * 1024;

/// The resources of one request in `host`'s table: the incoming request
/// and the outparam whose `set` sends the response to `respond`. The flag
/// says whether the guest set a response.
pub(crate) fn request_resources(
    host: &mut Host,
    request: http::Request<HttpBody>,
    respond: oneshot::Sender<Result<http::Response<HttpBody>, String>>,
) -> wasmtime::Result<(
    wasmtime::component::Resource<wasmtime_wasi_http::p2::types::HostIncomingRequest>,
    wasmtime::component::Resource<wasmtime_wasi_http::p2::types::HostResponseOutparam>,
    Arc<AtomicBool>,
)> {
    let request = request.map(|body| {
        body.map_err(|e| wasmtime_wasi_http::Error::InternalError(Some(e.to_string())))
            .boxed_unsync()
    });
    let set = Arc::new(AtomicBool::new(false));
    let mut view = host.http();
    let incoming = view.new_incoming_request(Scheme::Http, request)?;
    let outparam = view.new_response_outparam_from_callback({
        let set = set.clone();
        move |response: Result<http::Response<_>, ErrorCode>| {
            set.store(true, Ordering::Release);
            let response = response
                .map(|response| {
                    response.map(|body| body.map_err(|e| Box::new(e) as BoxError).boxed_unsync())
                })
                .map_err(|code| format!("{code:?}"));
            let _ = respond.send(response);
        }
    })?;
    Ok((incoming, outparam, set))
}

/// The guest's `handle` returned without setting a response.
pub(crate) fn no_response(request_id: &str) -> GuestError {
    GuestError::unhandled(
        "Runtime.NoResponse",
        format!(
            "RequestId: {request_id} Error: the component's wasi:http handler returned without \
             setting a response"
        ),
    )
}
