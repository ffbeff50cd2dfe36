//! The `aws-chunked` framing of a `STREAMING-*` payload, decoded as bytes
//! arrive, in whatever pieces the network cuts them:
//!
//! ```text
//! hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n
//! [name:value\r\n ...] [x-amz-trailer-signature:sig\r\n] \r\n
//! ```
//!
//! Owns the framing, the chunk-signature chain (seeded by the request's
//! signature) and the trailer's signature and shape. Knows nothing of
//! checksums beyond the trailer's name, nor of limits beyond the decoded
//! length the request declared. A chunk's data is handed on before its
//! signature (which needs the whole chunk) is checked: the caller keeps
//! nothing until the decoder says [`Step::Done`]. Buffering is bounded: a
//! header or trailer line longer than [`MAX_LINE`] is an error.
//!
//! Malformed framing is S3's `IncompleteBody` ("The request body terminated
//! unexpectedly"), which S3 answers for any of it.

use bytes::{Buf as _, Bytes};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::checksum::{self, Algorithm};
use crate::aws::errors::AwsError;
use crate::aws::sigv4::Signature;

/// The longest header or trailer line, CRLF excluded (a signed chunk's is
/// under 100 bytes, a checksum trailer's under 90).
pub(super) const MAX_LINE: usize = 1024;
/// The most trailer lines (a checksum and its signature, with room).
const MAX_TRAILERS: usize = 8;
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

/// Checks the chain of chunk signatures (and the trailer's) of a
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` body.
pub(super) struct Signer {
    key: [u8; 32],
    timestamp: String,
    scope: String,
    /// The signature the next one chains from: the request's, then each
    /// chunk's.
    previous: String,
}

impl Signer {
    /// `key` is [`crate::aws::sigv4::signing_key`] of the request's scope.
    pub(super) fn new(key: [u8; 32], signature: &Signature) -> Signer {
        Signer {
            key,
            timestamp: signature.timestamp(),
            scope: signature.scope(),
            previous: signature.signature.to_ascii_lowercase(),
        }
    }

    fn chunk(&mut self, data_sha256: &str, provided: &str) -> Result<(), AwsError> {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{data_sha256}",
            self.timestamp, self.scope, self.previous
        );
        self.check(&string_to_sign, provided)
    }

    fn trailer(&mut self, canonical: &[u8], provided: &str) -> Result<(), AwsError> {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.timestamp,
            self.scope,
            self.previous,
            hex::encode(Sha256::digest(canonical))
        );
        self.check(&string_to_sign, provided)
    }

    fn check(&mut self, string_to_sign: &str, provided: &str) -> Result<(), AwsError> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(string_to_sign.as_bytes());
        let expected = hex::encode(mac.finalize().into_bytes());
        let provided = provided.to_ascii_lowercase();
        if bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
            self.previous = expected;
            Ok(())
        } else {
            Err(AwsError::new(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you \
                 provided. Check your key and signing method.",
            ))
        }
    }
}

/// What [`Decoder::step`] got from its input.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Object bytes (a slice of the input).
    Data(Bytes),
    /// The input is used up; more is needed.
    More,
    /// The body is complete and checked, with the value of the checksum
    /// trailer `x-amz-trailer` named (if it named one).
    Done(Option<String>),
}

enum State {
    /// Reading a chunk's header line.
    Header,
    /// Inside a chunk's data: how many bytes are left.
    Data(u64),
    /// After a chunk's data: how much of its CRLF has been seen.
    DataEnd(usize),
    /// After the last chunk: reading trailer lines up to an empty one.
    Trailer,
    Done,
}

pub(super) struct Decoder {
    state: State,
    /// A header or trailer line split across inputs (at most `MAX_LINE`
    /// + CRLF).
    line: Vec<u8>,
    signer: Option<Signer>,
    /// The current chunk's SHA-256 and provided signature (signed bodies).
    chunk: Option<(Sha256, String)>,
    signed_trailer: bool,
    /// The checksum trailer `x-amz-trailer` named.
    trailer: Option<Algorithm>,
    trailers: Vec<(String, String)>,
    /// `x-amz-decoded-content-length`.
    declared: u64,
    decoded: u64,
}

impl Decoder {
    /// `signer` for signed chunks; `signed_trailer` for
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`.
    pub(super) fn new(
        declared: u64,
        signer: Option<Signer>,
        signed_trailer: bool,
        trailer: Option<Algorithm>,
    ) -> Decoder {
        Decoder {
            state: State::Header,
            line: Vec::new(),
            signer,
            chunk: None,
            signed_trailer,
            trailer,
            trailers: Vec::new(),
            declared,
            decoded: 0,
        }
    }

    /// Decodes what it can of `input` (consuming it): object bytes, or a
    /// request for more, or the end.
    pub(super) fn step(&mut self, input: &mut Bytes) -> Result<Step, AwsError> {
        loop {
            match self.state {
                State::Done => {
                    // S3 ignores what follows the trailer's empty line.
                    input.clear();
                    return Ok(Step::More);
                }
                State::Data(left) => {
                    if input.is_empty() {
                        return Ok(Step::More);
                    }
                    let n = left.min(input.len() as u64) as usize;
                    let data = input.split_to(n);
                    if let Some((sha, _)) = &mut self.chunk {
                        sha.update(&data);
                    }
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd(0)
                    } else {
                        State::Data(left)
                    };
                    return Ok(Step::Data(data));
                }
                State::DataEnd(mut seen) => {
                    while seen < 2 {
                        let Some(&byte) = input.first() else {
                            self.state = State::DataEnd(seen);
                            return Ok(Step::More);
                        };
                        if byte != b"\r\n"[seen] {
                            return Err(malformed());
                        }
                        input.advance(1);
                        seen += 1;
                    }
                    self.check_chunk()?;
                    self.state = State::Header;
                }
                State::Header => {
                    let Some(line) = self.take_line(input)? else {
                        return Ok(Step::More);
                    };
                    self.header(&line)?;
                }
                State::Trailer => {
                    let Some(line) = self.take_line(input)? else {
                        return Ok(Step::More);
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                        return Ok(Step::Done(self.finish_trailer()?));
                    }
                    self.trailer_line(&line)?;
                }
            }
        }
    }

    /// The body ended: whether it ended where it may. Like S3, the
    /// trailer's closing empty line may be missing.
    pub(super) fn end(&mut self) -> Result<Option<String>, AwsError> {
        match self.state {
            State::Trailer if self.line.is_empty() => {
                self.state = State::Done;
                self.finish_trailer()
            }
            _ => Err(malformed()),
        }
    }

    /// A whole line (CRLF stripped), or `None` when `input` ended first.
    fn take_line(&mut self, input: &mut Bytes) -> Result<Option<Vec<u8>>, AwsError> {
        let (take, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        if self.line.len() + take > MAX_LINE + 2 {
            return Err(malformed());
        }
        self.line.extend_from_slice(&input[..take]);
        input.advance(take);
        if !complete {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if !line.ends_with(b"\r\n") {
            return Err(malformed());
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }

    /// `hex-size[;chunk-signature=sig]`.
    fn header(&mut self, line: &[u8]) -> Result<(), AwsError> {
        let line = std::str::from_utf8(line).map_err(|_| malformed())?;
        let mut fields = line.split(';');
        let size = fields.next().unwrap_or_default().trim();
        if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        let size = u64::from_str_radix(size, 16).map_err(|_| malformed())?;
        if self.signer.is_some() {
            // Exactly `chunk-signature=<sig>` (S3 allows spaces around).
            let signature = match (fields.next(), fields.next()) {
                (Some(field), None) => match field.split_once('=') {
                    Some((name, value)) if name.trim() == "chunk-signature" => value.trim(),
                    _ => return Err(malformed()),
                },
                _ => return Err(malformed()),
            };
            if signature.is_empty() {
                return Err(malformed());
            }
            self.chunk = Some((Sha256::new(), signature.to_owned()));
        }
        self.decoded = self
            .decoded
            .checked_add(size)
            .filter(|&n| n <= self.declared)
            .ok_or_else(wrong_length)?;
        if size > 0 {
            self.state = State::Data(size);
            return Ok(());
        }
        if self.decoded != self.declared {
            return Err(wrong_length());
        }
        self.check_chunk()?;
        self.state = State::Trailer;
        Ok(())
    }

    fn check_chunk(&mut self) -> Result<(), AwsError> {
        if let (Some(signer), Some((sha, provided))) = (&mut self.signer, self.chunk.take()) {
            signer.chunk(&hex::encode(sha.finalize()), &provided)?;
        }
        Ok(())
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), AwsError> {
        if self.trailers.len() == MAX_TRAILERS {
            return Err(checksum::malformed_trailer());
        }
        let line = std::str::from_utf8(line).map_err(|_| checksum::malformed_trailer())?;
        let (name, value) = line
            .split_once(':')
            .ok_or_else(checksum::malformed_trailer)?;
        self.trailers
            .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        Ok(())
    }

    /// Checks the trailer's signature and shape; the checksum's value.
    fn finish_trailer(&mut self) -> Result<Option<String>, AwsError> {
        let trailers = std::mem::take(&mut self.trailers);
        let (signatures, fields): (Vec<_>, Vec<_>) = trailers
            .into_iter()
            .partition(|(name, _)| name == TRAILER_SIGNATURE);
        match (self.signed_trailer, &mut self.signer, signatures.last()) {
            (true, Some(signer), Some((_, provided))) => {
                let mut canonical: Vec<u8> = fields
                    .iter()
                    .flat_map(|(name, value)| format!("{name}:{value}\n").into_bytes())
                    .collect();
                if canonical.is_empty() {
                    canonical.push(b'\n');
                }
                signer.trailer(&canonical, provided)?;
            }
            // S3: a signed trailer without its signature is cut short.
            (true, _, None) => return Err(malformed()),
            (false, _, Some(_)) => return Err(checksum::malformed_trailer()),
            _ => {}
        }
        let mut value = None;
        for (name, field) in fields {
            match self.trailer {
                // A repeated trailer: the last one counts (as in S3).
                Some(algorithm) if name == algorithm.header() => value = Some(field),
                _ => return Err(checksum::malformed_trailer()),
            }
        }
        if self.trailer.is_some() && value.is_none() {
            return Err(checksum::malformed_trailer());
        }
        Ok(value)
    }
}

pub(super) fn malformed() -> AwsError {
    AwsError::new("IncompleteBody", "The request body terminated unexpectedly")
}

/// The decoded bytes are not `x-amz-decoded-content-length` long.
pub(super) fn wrong_length() -> AwsError {
    AwsError::new(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
    )
}
