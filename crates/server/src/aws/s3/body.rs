//! An S3 request's body as verified object bytes, streamed: never the
//! whole object in memory.
//!
//! Owns what the body must be once [`sigv4::verify_head`] has checked the
//! head: the `x-amz-content-sha256` digest, the `aws-chunked` framing of a
//! `STREAMING-*` payload with its chunk and trailer signatures
//! ([`chunked`]), the flexible checksum and `Content-MD5` ([`checksum`]),
//! the decoded length and a size limit. It does not touch storage, keys or
//! the S3 operation.
//!
//! The promise to the consumer, who writes the bytes somewhere temporary:
//! [`Verified`] ends cleanly (`None` after `Ok` items) only when every
//! check passed. A failed check, a framing error or a broken connection is
//! an `Err` item, always the last, after whatever bytes came before it;
//! those bytes must be thrown away.
//!
//! Errors are S3's codes and messages: `XAmzContentSHA256Mismatch`,
//! `SignatureDoesNotMatch`, `BadDigest`, `InvalidDigest`, `InvalidRequest`,
//! `MalformedTrailerError`, `IncompleteBody`, `MissingContentLength`,
//! `EntityTooLarge`, `MaxMessageLengthExceeded`.

mod checksum;
mod chunked;
#[cfg(test)]
mod tests;

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use futures_core::{FusedStream, Stream};
use http::HeaderMap;
use http_body::Body;
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use md5::Md5;
use sha2::{Digest as _, Sha256};

pub use checksum::Checksum;
use checksum::{Expected, Hasher};
use chunked::{Decoder, Signer, Step};

use super::super::errors::AwsError;
use super::super::sigv4::{self, Payload, Signature};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
const SIGNED_CHUNKS: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const SIGNED_CHUNKS_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

/// The decoded, verified bytes of a request body, as a stream (see the
/// module's promise). After a clean end, [`Verified::md5`] and
/// [`Verified::checksum`] say what the bytes hashed to.
pub struct Verified {
    body: UnsyncBoxBody<Bytes, BoxError>,
    /// `None`: the body is the object's bytes as they come.
    chunked: Option<Chunked>,
    decoded_length: Option<u64>,
    limit: u64,
    received: u64,
    /// `x-amz-content-sha256`'s digest and the running one.
    sha256: Option<(Sha256, [u8; 32])>,
    md5: Option<Md5>,
    content_md5: Option<[u8; 16]>,
    checksum: Option<(Hasher, Expected)>,
    /// The checksum trailer's value, once the trailer is read.
    trailer_value: Option<String>,
    phase: Phase,
}

struct Chunked {
    decoder: Decoder,
    /// Received bytes not decoded yet.
    pending: Bytes,
}

enum Phase {
    Streaming,
    Verified {
        md5: [u8; 16],
        checksum: Option<Checksum>,
    },
    Failed,
}

/// Prepares `body` for reading as the object's bytes, given what
/// [`sigv4::verify_head`] said it must be. Refuses at once what the head
/// alone shows wrong (a malformed checksum header, a missing decoded
/// length, a declared size over `limit`). `secret` is the signer's, for
/// chunk signatures. The checksum headers of a CompleteMultipartUpload
/// are left to it: they are the object's.
pub fn verified<B>(
    body: B,
    parts: &http::request::Parts,
    payload: Payload,
    signature: &Signature,
    secret: &[u8],
    limit: u64,
) -> Result<Verified, AwsError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let headers = &parts.headers;
    let content_md5 = checksum::content_md5(headers)?;
    let streaming = match &payload {
        Payload::Streaming(mode) => Some(match mode.as_str() {
            UNSIGNED_TRAILER => (false, true),
            SIGNED_CHUNKS => (true, false),
            SIGNED_CHUNKS_TRAILER => (true, true),
            other => {
                return Err(AwsError::new(
                    "InvalidArgument",
                    format!("x-amz-content-sha256 value {other} is not supported"),
                ));
            }
        }),
        Payload::Sha256(_) | Payload::Unsigned => None,
    };
    let trailer_allowed = streaming.is_some_and(|(_, trailer)| trailer);
    let expected = if completes_upload(parts) {
        None
    } else {
        checksum::expected(headers, trailer_allowed)?
    };
    let (chunked, decoded_length) = match streaming {
        Some((signed, trailer)) => {
            let declared =
                header_u64(headers, "x-amz-decoded-content-length").ok_or_else(|| {
                    AwsError::new(
                        "MissingContentLength",
                        "You must provide the Content-Length HTTP header.",
                    )
                })?;
            let signer =
                signed.then(|| Signer::new(sigv4::signing_key(secret, signature), signature));
            let trailer_checksum = match &expected {
                Some(Expected::Trailer(algorithm)) => Some(*algorithm),
                _ => None,
            };
            let decoder = Decoder::new(declared, signer, signed && trailer, trailer_checksum);
            let chunked = Chunked {
                decoder,
                pending: Bytes::new(),
            };
            (Some(chunked), Some(declared))
        }
        None => (None, header_u64(headers, "content-length")),
    };
    if decoded_length.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let sha256 = match &payload {
        Payload::Sha256(digest) => {
            let mut expected = [0; 32];
            hex::decode_to_slice(digest, &mut expected).map_err(|_| sha256_mismatch())?;
            Some((Sha256::new(), expected))
        }
        _ => None,
    };
    Ok(Verified {
        body: body.map_err(Into::into).boxed_unsync(),
        chunked,
        decoded_length,
        limit,
        received: 0,
        sha256,
        md5: Some(Md5::new()),
        content_md5,
        checksum: expected.map(|e| (Hasher::new(e.algorithm()), e)),
        trailer_value: None,
        phase: Phase::Streaming,
    })
}

/// The whole (small) body of an XML request: S3's
/// `MaxMessageLengthExceeded` past `limit` bytes.
pub async fn read_small(mut verified: Verified, limit: usize) -> Result<Bytes, AwsError> {
    let too_big = || AwsError::new("MaxMessageLengthExceeded", "Your request was too big.");
    if verified.decoded_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut out = BytesMut::new();
    while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut verified).poll_next(cx)).await {
        let data = item?;
        if out.len() + data.len() > limit {
            return Err(too_big());
        }
        out.extend_from_slice(&data);
    }
    Ok(out.freeze())
}

impl Verified {
    /// How many object bytes the request says it carries:
    /// `x-amz-decoded-content-length` for `aws-chunked`, else
    /// `Content-Length` (`None` for a body without one).
    pub fn decoded_length(&self) -> Option<u64> {
        self.decoded_length
    }

    /// The MD5 of the bytes (an object's ETag), after a clean end.
    pub fn md5(&self) -> Option<[u8; 16]> {
        match &self.phase {
            Phase::Verified { md5, .. } => Some(*md5),
            _ => None,
        }
    }

    /// The flexible checksum the request sent and the bytes matched, after
    /// a clean end.
    pub fn checksum(&self) -> Option<&Checksum> {
        match &self.phase {
            Phase::Verified { checksum, .. } => checksum.as_ref(),
            _ => None,
        }
    }

    /// Reads and drops what is left of the request, up to `limit` bytes,
    /// waiting at most `idle` for each piece: an answer given before the
    /// body was read then reaches a client still sending it (a connection
    /// closed with unread bytes is reset, and the client loses the answer).
    pub async fn drain(mut self, limit: u64, idle: std::time::Duration) {
        let mut left = limit;
        while left > 0 {
            match tokio::time::timeout(idle, self.body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    let read = frame.data_ref().map_or(0, |data| data.len() as u64);
                    left = left.saturating_sub(read.max(1));
                }
                _ => return,
            }
        }
    }

    /// Counts, limits and hashes object bytes on their way out.
    fn pass(&mut self, data: &[u8]) -> Result<(), AwsError> {
        self.received += data.len() as u64;
        if self.received > self.limit {
            return Err(too_large());
        }
        if self.chunked.is_none() && self.decoded_length.is_some_and(|n| self.received > n) {
            return Err(chunked::wrong_length());
        }
        if let Some((sha, _)) = &mut self.sha256 {
            sha.update(data);
        }
        if let Some(md5) = &mut self.md5 {
            md5.update(data);
        }
        if let Some((hasher, _)) = &mut self.checksum {
            hasher.update(data);
        }
        Ok(())
    }

    /// The checks that need every byte, in S3's order of precedence.
    fn finish(&mut self) -> Result<(), AwsError> {
        if self.chunked.is_none() && self.decoded_length.is_some_and(|n| self.received != n) {
            return Err(chunked::wrong_length());
        }
        if let Some((sha, expected)) = self.sha256.take()
            && sha.finalize()[..] != expected[..]
        {
            return Err(sha256_mismatch());
        }
        let md5: [u8; 16] = self.md5.take().unwrap_or_default().finalize().into();
        if self.content_md5.is_some_and(|expected| expected != md5) {
            return Err(checksum::md5_mismatch());
        }
        let checksum = match self.checksum.take() {
            None => None,
            Some((hasher, expected)) => {
                let algorithm = expected.algorithm();
                let sent = match expected {
                    Expected::Header(_, digest) => digest,
                    Expected::Trailer(_) => self
                        .trailer_value
                        .as_deref()
                        .and_then(|value| checksum::decode(algorithm, value))
                        .ok_or_else(|| {
                            checksum::invalid(format!(
                                "Value for {} trailing header is invalid.",
                                algorithm.header()
                            ))
                        })?,
                };
                if hasher.finish() != sent {
                    return Err(checksum::mismatch(algorithm));
                }
                Some(Checksum {
                    algorithm,
                    value: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sent),
                })
            }
        };
        self.phase = Phase::Verified { md5, checksum };
        Ok(())
    }

    /// The next item, `None` meaning "need the next frame of the body".
    fn advance(&mut self) -> Option<Result<Bytes, AwsError>> {
        let chunked = self.chunked.as_mut()?;
        match chunked.decoder.step(&mut chunked.pending) {
            Err(err) => Some(Err(err)),
            Ok(Step::More) => None,
            Ok(Step::Data(data)) => Some(self.pass(&data).map(|()| data)),
            Ok(Step::Done(value)) => {
                self.trailer_value = value;
                Some(self.finish().map(|()| Bytes::new()))
            }
        }
    }

    fn end_of_body(&mut self) -> Result<(), AwsError> {
        if let Some(chunked) = &mut self.chunked {
            self.trailer_value = chunked.decoder.end()?;
        }
        self.finish()
    }
}

impl Stream for Verified {
    type Item = Result<Bytes, AwsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if !matches!(this.phase, Phase::Streaming) {
                return Poll::Ready(None);
            }
            let outcome = match this.advance() {
                Some(outcome) => outcome,
                None => match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                    Some(Ok(frame)) => match (frame.into_data(), &mut this.chunked) {
                        (Ok(data), Some(chunked)) => {
                            chunked.pending = data;
                            continue;
                        }
                        (Ok(data), None) => this.pass(&data).map(|()| data),
                        // HTTP trailers: not where S3 looks.
                        (Err(_), _) => continue,
                    },
                    Some(Err(err)) => {
                        tracing::debug!(cause = %err, "an S3 request body broke off");
                        Err(chunked::malformed())
                    }
                    None => this.end_of_body().map(|()| Bytes::new()),
                },
            };
            match outcome {
                Err(err) => {
                    this.phase = Phase::Failed;
                    return Poll::Ready(Some(Err(err)));
                }
                Ok(data) if data.is_empty() => continue,
                Ok(data) => return Poll::Ready(Some(Ok(data))),
            }
        }
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("chunked", &self.chunked.is_some())
            .field("decoded_length", &self.decoded_length)
            .field("received", &self.received)
            .field("verified", &self.md5().is_some())
            .finish_non_exhaustive()
    }
}

impl FusedStream for Verified {
    fn is_terminated(&self) -> bool {
        !matches!(self.phase, Phase::Streaming)
    }
}

/// CompleteMultipartUpload (`POST ?uploadId=`): its `x-amz-checksum-*`
/// headers are the whole object's (a composite one ends `-<parts>`), not
/// its XML body's; the operation reads them.
fn completes_upload(parts: &http::request::Parts) -> bool {
    parts.method == http::Method::POST
        && form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .any(|(name, _)| name == "uploadId")
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn too_large() -> AwsError {
    AwsError::new(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )
}

fn sha256_mismatch() -> AwsError {
    AwsError::new(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
}
