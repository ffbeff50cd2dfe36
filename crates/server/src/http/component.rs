//! Requests to `wasi:http` components: handed over as they arrive (the
//! body streams into the guest as the client sends it, at most 6 MB), the
//! response streamed back as the guest writes it (at most 20 MB, Lambda's
//! response-streaming limit). The guest sees the path below the URL's
//! root.

use std::sync::Arc;

use funnel_store::FunctionRecord;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;

use super::response::Format;
use super::{HttpDoor, MAX_BODY_BYTES, Reply, refused, shape, too_large};
use crate::dispatch::HttpRun;

/// The most a component's response body may stream.
const MAX_STREAMED_BYTES: usize = 20 * 1024 * 1024;

/// Runs `record`'s component on the request.
pub(super) async fn serve(
    door: &HttpDoor,
    mut parts: http::request::Parts,
    body: Incoming,
    raw_path: &str,
    record: &Arc<FunctionRecord>,
    request_id: &str,
) -> Reply {
    if super::declares_too_much(&parts) {
        return too_large().into();
    }
    let path_and_query = match parts.uri.query() {
        Some(query) => format!("{raw_path}?{query}"),
        None => raw_path.to_string(),
    };
    parts.uri = match http::Uri::builder().path_and_query(path_and_query).build() {
        Ok(uri) => uri,
        Err(_) => {
            return super::Answer::message(http::StatusCode::BAD_REQUEST, "Bad Request").into();
        }
    };
    let body = Limited::new(body, MAX_BODY_BYTES).boxed_unsync();
    let request = http::Request::from_parts(parts, body);
    match door
        .inner
        .dispatcher
        .run_http(record, request_id.to_string(), request)
        .await
    {
        Ok(HttpRun::Response(response)) => Reply::Streamed(
            response.map(|body| Limited::new(body, MAX_STREAMED_BYTES).boxed_unsync()),
        ),
        Ok(HttpRun::Failed(result)) => shape(&record.name, result, Format::V2).into(),
        Err(err) => refused(err).into(),
    }
}
