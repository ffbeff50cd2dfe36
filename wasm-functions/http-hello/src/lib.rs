//! A `wasi:http/incoming-handler` component (not a funnel JSON handler):
//! answers `hello from wasi:http at <path>`, with how many bytes the
//! request's body held, and in `x-instance-requests` how many requests
//! this instance has served (a warm instance counts up). With
//! `?bytes=N` it streams N more bytes after the greeting.
use std::sync::atomic::{AtomicU64, Ordering};

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

static SERVED: AtomicU64 = AtomicU64::new(0);

struct HttpHello;

impl Guest for HttpHello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let path = request.path_with_query().unwrap_or_default();
        let mut received = 0usize;
        if let Ok(body) = request.consume()
            && let Ok(stream) = body.stream()
        {
            while let Ok(chunk) = stream.blocking_read(64 * 1024) {
                received += chunk.len();
            }
        }
        let headers = Fields::from_list(&[
            ("content-type".to_string(), b"text/plain".to_vec()),
            (
                "x-instance-requests".to_string(),
                served.to_string().into_bytes(),
            ),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("a body");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("a body stream");
        // Two writes: the response streams as it is written.
        let _ = stream.blocking_write_and_flush(format!("hello from wasi:http at {path}\n").as_bytes());
        let _ = stream.blocking_write_and_flush(format!("received {received} bytes\n").as_bytes());
        // `?bytes=N`: N more bytes of `x`, 4 KiB per write (a big response,
        // written faster than a client reads it).
        let extra: usize = path
            .split_once("bytes=")
            .and_then(|(_, n)| n.split('&').next()?.parse().ok())
            .unwrap_or(0);
        let block = [b'x'; 4096];
        let mut left = extra;
        while left > 0 {
            let n = left.min(block.len());
            if stream.blocking_write_and_flush(&block[..n]).is_err() {
                break;
            }
            left -= n;
        }
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
    }
}

wasip2::http::proxy::export!(HttpHello);
