//! The body checks, fed bodies cut at awkward places. The signed examples
//! are AWS's own (S3 API reference, "Signature Calculations for the
//! Authorization Header: Transferring Payload in Multiple Chunks" and
//! "... Including Trailing Headers"); the botocore fixtures are the exact
//! requests botocore 1.43 makes (`tests/fixtures/capture.py`).

mod checks;
mod framing;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_core::Stream;
use hmac::{Hmac, Mac as _};
use http_body::{Body, Frame};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use super::checksum::Algorithm;
use super::*;
use crate::aws::sigv4::{Payload, Signature};

pub(super) const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TIMESTAMP: &str = "20130524T000000Z";
const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The seed signature and chunk signatures of the chunked-upload example.
const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const CHUNK_SIGNATURES: [&str; 3] = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];
/// The same upload with a CRC32C trailer (66560 'a's: `sOO8/Q==`).
const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
const TRAILER_CHUNK_SIGNATURES: [&str; 3] = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
];
const TRAILER_SIGNATURE: &str = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

/// A request head and what `verify_head` said of it.
pub(super) struct Case {
    pub headers: Vec<(&'static str, String)>,
    pub payload: Payload,
    pub signature: Signature,
    pub limit: u64,
}

impl Case {
    /// AWS's example request (its signature is checked elsewhere: only the
    /// scope, time and seed matter here).
    pub fn aws(mode: &str, seed: &str, decoded_length: usize) -> Case {
        Case {
            headers: vec![
                ("content-encoding", "aws-chunked".into()),
                ("x-amz-content-sha256", mode.into()),
                ("x-amz-decoded-content-length", decoded_length.to_string()),
            ],
            payload: Payload::Streaming(mode.into()),
            signature: Signature {
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                date: "20130524".into(),
                region: "us-east-1".into(),
                service: "s3".into(),
                amz_date: chrono::DateTime::from_timestamp(1_369_353_600, 0).unwrap(),
                signed_headers: vec!["host".into()],
                signature: seed.into(),
                presigned: false,
                expires: None,
            },
            limit: 1 << 30,
        }
    }

    /// A plain body under `payload`.
    pub fn plain(payload: Payload) -> Case {
        Case {
            headers: Vec::new(),
            payload,
            ..Case::aws("", SEED, 0)
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    pub fn without(mut self, name: &'static str) -> Case {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    pub fn verified<B>(&self, body: B) -> Result<Verified, AwsError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.verified_at("PUT", "/examplebucket/chunkObject.txt", body)
    }

    pub fn verified_at<B>(&self, method: &str, path: &str, body: B) -> Result<Verified, AwsError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("https://s3.amazonaws.com{path}"));
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let parts = request.body(()).unwrap().into_parts().0;
        verified(
            body,
            &parts,
            self.payload.clone(),
            &self.signature,
            SECRET.as_bytes(),
            self.limit,
        )
    }

    /// The decoded bytes of `body` cut at `cuts`, if every check passed.
    pub fn run(&self, body: &[u8], cuts: &[usize]) -> Result<Vec<u8>, AwsError> {
        self.run_full(body, cuts).map(|(bytes, _)| bytes)
    }

    pub fn run_full(&self, body: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, Verified), AwsError> {
        let verified = self.verified(split(body, cuts))?;
        drain(verified)
    }
}

/// `body` as frames cut at `cuts` (sorted, deduplicated, in range).
pub(super) fn split(
    body: &[u8],
    cuts: &[usize],
) -> impl Body<Data = Bytes, Error = Infallible> + Send + 'static {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(body.len())).collect();
    cuts.push(0);
    cuts.push(body.len());
    cuts.sort_unstable();
    cuts.dedup();
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = cuts
        .windows(2)
        .map(|w| Ok(Frame::data(Bytes::copy_from_slice(&body[w[0]..w[1]]))))
        .collect();
    http_body_util::StreamBody::new(futures_util::stream::iter(frames))
}

/// Reads a stream over a ready body to its end: the bytes if it ended
/// cleanly, else its error, which must have been its last item.
pub(super) fn drain(mut verified: Verified) -> Result<(Vec<u8>, Verified), AwsError> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut bytes = Vec::new();
    loop {
        match Pin::new(&mut verified).poll_next(&mut cx) {
            Poll::Pending => panic!("a ready body never waits"),
            Poll::Ready(None) => {
                assert!(verified.md5().is_some(), "a clean end has its MD5");
                return Ok((bytes, verified));
            }
            Poll::Ready(Some(Ok(data))) => {
                assert!(!data.is_empty(), "no empty items");
                bytes.extend_from_slice(&data);
            }
            Poll::Ready(Some(Err(err))) => {
                let next = Pin::new(&mut verified).poll_next(&mut cx);
                assert!(
                    matches!(next, Poll::Ready(None)),
                    "an error is the last item"
                );
                assert!(verified.md5().is_none() && verified.checksum().is_none());
                return Err(err);
            }
        }
    }
}

/// How many bytes a failing stream handed out before its error.
pub(super) fn handed_out(mut verified: Verified) -> (usize, AwsError) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut seen = 0;
    loop {
        match Pin::new(&mut verified).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(data))) => seen += data.len(),
            Poll::Ready(Some(Err(err))) => return (seen, err),
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

pub(super) fn code(result: Result<impl std::fmt::Debug, AwsError>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(err) => err.code,
    }
}

fn hmac_hex(key: &[u8], message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Signs as a client does, from the documented strings to sign (checked
/// against AWS's values in `the_test_signer_reproduces_aws_values`).
struct TestSigner {
    key: [u8; 32],
    previous: String,
}

impl TestSigner {
    fn new(seed: &str) -> TestSigner {
        let signature = Case::aws("", seed, 0).signature;
        TestSigner {
            key: crate::aws::sigv4::signing_key(SECRET.as_bytes(), &signature),
            previous: seed.into(),
        }
    }

    fn chunk(&mut self, data: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{TIMESTAMP}\n{SCOPE}\n{}\n{EMPTY_SHA256}\n{}",
            self.previous,
            hex::encode(Sha256::digest(data))
        );
        self.previous = hmac_hex(&self.key, &sts);
        self.previous.clone()
    }

    fn trailer(&mut self, canonical: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{TIMESTAMP}\n{SCOPE}\n{}\n{}",
            self.previous,
            hex::encode(Sha256::digest(canonical))
        );
        hmac_hex(&self.key, &sts)
    }
}

/// A signed `aws-chunked` body of `chunks` (the empty last one added),
/// with `trailer` lines (`name:value`) signed when there are any.
fn signed_body(seed: &str, chunks: &[&[u8]], trailer: Option<&[&str]>) -> Vec<u8> {
    let mut signer = TestSigner::new(seed);
    let mut out = Vec::new();
    for data in chunks.iter().copied().chain([&b""[..]]) {
        let signature = signer.chunk(data);
        out.extend(format!("{:x};chunk-signature={signature}\r\n", data.len()).bytes());
        if !data.is_empty() {
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(lines) = trailer {
        let canonical: String = lines.iter().map(|l| format!("{l}\n")).collect();
        for line in lines {
            out.extend(format!("{line}\r\n").bytes());
        }
        let signature = signer.trailer(&canonical);
        out.extend(format!("x-amz-trailer-signature:{signature}\r\n").bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// An unsigned `aws-chunked` body with trailer lines.
pub(super) fn unsigned_body(chunks: &[&[u8]], trailer: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for data in chunks {
        out.extend(format!("{:x}\r\n", data.len()).bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for line in trailer {
        out.extend(format!("{line}\r\n").bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// AWS's example body, written out as the documentation shows it.
fn aws_example(signatures: [&str; 3], trailer: &str) -> Vec<u8> {
    let mut body = format!("10000;chunk-signature={}\r\n", signatures[0]).into_bytes();
    body.extend(vec![b'a'; 65536]);
    body.extend(format!("\r\n400;chunk-signature={}\r\n", signatures[1]).bytes());
    body.extend(vec![b'a'; 1024]);
    body.extend(format!("\r\n0;chunk-signature={}\r\n", signatures[2]).bytes());
    body.extend(trailer.bytes());
    body.extend_from_slice(b"\r\n");
    body
}

fn aws_trailer_example() -> (Case, Vec<u8>) {
    let case = Case::aws(SIGNED_CHUNKS_TRAILER, TRAILER_SEED, 66560)
        .with("x-amz-trailer", "x-amz-checksum-crc32c");
    let trailer = format!(
        "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{TRAILER_SIGNATURE}\r\n"
    );
    (case, aws_example(TRAILER_CHUNK_SIGNATURES, &trailer))
}

#[test]
fn the_test_signer_reproduces_aws_values() {
    let mut signer = TestSigner::new(SEED);
    assert_eq!(signer.chunk(&[b'a'; 65536]), CHUNK_SIGNATURES[0]);
    assert_eq!(signer.chunk(&[b'a'; 1024]), CHUNK_SIGNATURES[1]);
    assert_eq!(signer.chunk(b""), CHUNK_SIGNATURES[2]);
    let mut signer = TestSigner::new(TRAILER_SEED);
    for (data, expected) in [&[b'a'; 65536][..], &[b'a'; 1024], b""]
        .into_iter()
        .zip(TRAILER_CHUNK_SIGNATURES)
    {
        assert_eq!(signer.chunk(data), expected);
    }
    assert_eq!(
        signer.trailer("x-amz-checksum-crc32c:sOO8/Q==\n"),
        TRAILER_SIGNATURE
    );
    // The writer makes the documented body.
    let body = signed_body(SEED, &[&[b'a'; 65536], &[b'a'; 1024]], None);
    assert_eq!(body, aws_example(CHUNK_SIGNATURES, ""));
    assert_eq!(body.len(), 66824, "the documented Content-Length");
}

#[test]
fn aws_chunked_upload_example_verifies_however_it_is_cut() {
    let case = Case::aws(SIGNED_CHUNKS, SEED, 66560);
    let body = aws_example(CHUNK_SIGNATURES, "");
    let every_byte: Vec<usize> = (0..body.len()).collect();
    for cuts in [
        vec![],
        vec![1, 2, 3, 85, 86, 87, 88],
        vec![65621, 65622, 65623, 65624, 65625, 65700],
        vec![4096, 8192, 65000, 66000, 66800],
        every_byte,
    ] {
        let (bytes, verified) = case.run_full(&body, &cuts).unwrap();
        assert_eq!(bytes, vec![b'a'; 66560]);
        assert_eq!(
            hex::encode(verified.md5().unwrap()),
            "da0d2e17cd5a8f14633c6b4aebad7e02"
        );
        assert_eq!(verified.checksum(), None);
        assert_eq!(verified.decoded_length(), Some(66560));
    }
}

#[test]
fn aws_chunked_upload_example_fails_for_any_one_byte_changed() {
    let case = Case::aws(SIGNED_CHUNKS, SEED, 66560);
    let body = aws_example(CHUNK_SIGNATURES, "");
    // A data byte of each chunk, a hex digit of each chunk signature.
    for at in [88, 40_000, 65623, 65626 + 86, 66000, 66761, 66800] {
        let mut changed = body.clone();
        changed[at] = if changed[at] == b'a' { b'b' } else { b'0' };
        if changed == body {
            changed[at] = b'1';
        }
        assert_eq!(
            code(case.run(&changed, &[at])),
            "SignatureDoesNotMatch",
            "at {at}"
        );
    }
    // Another seed: the first chunk already fails, after its bytes.
    let other = Case::aws(SIGNED_CHUNKS, TRAILER_SEED, 66560);
    let (seen, err) = handed_out(other.verified(split(&body, &[1000])).unwrap());
    assert_eq!((err.code.as_str(), seen), ("SignatureDoesNotMatch", 65536));
}

#[test]
fn aws_trailer_example_verifies_with_its_crc32c() {
    let (case, body) = aws_trailer_example();
    for cuts in [
        vec![],
        vec![66800, 66850, 66900],
        (66700..body.len()).collect(),
    ] {
        let (bytes, verified) = case.run_full(&body, &cuts).unwrap();
        assert_eq!(bytes.len(), 66560);
        let checksum = verified.checksum().unwrap();
        assert_eq!(
            (checksum.algorithm, checksum.value.as_str()),
            (Algorithm::Crc32c, "sOO8/Q==")
        );
    }
}

#[test]
fn aws_trailer_example_fails_when_its_trailer_is_touched() {
    let (case, body) = aws_trailer_example();
    let text = String::from_utf8(body.clone()).unwrap();
    let changed = |from: &str, to: &str| text.replacen(from, to, 1).into_bytes();
    // The checksum is signed: changing it breaks the trailer signature.
    let other_value = changed("sOO8/Q==", "AAAAAA==");
    assert_eq!(code(case.run(&other_value, &[])), "SignatureDoesNotMatch");
    let other_signature = changed(TRAILER_SIGNATURE, &TRAILER_SEED[..64]);
    assert_eq!(
        code(case.run(&other_signature, &[])),
        "SignatureDoesNotMatch"
    );
    // No trailer signature: cut short, as S3 says.
    let unsigned = changed(
        &format!("x-amz-trailer-signature:{TRAILER_SIGNATURE}\r\n"),
        "",
    );
    assert_eq!(code(case.run(&unsigned, &[])), "IncompleteBody");
    // Signed, but the checksum is not the body's.
    let wrong = signed_body(
        TRAILER_SEED,
        &[&[b'a'; 65536], &[b'a'; 1024]],
        Some(&["x-amz-checksum-crc32c:AAAAAA=="]),
    );
    let err = case.run(&wrong, &[]).unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        (
            "BadDigest",
            "The CRC32C you specified did not match the calculated checksum."
        )
    );
    // A trailer naming another checksum than x-amz-trailer.
    let other_name = signed_body(
        TRAILER_SEED,
        &[&[b'a'; 65536], &[b'a'; 1024]],
        Some(&["x-amz-checksum-crc32:sK4Y7A=="]),
    );
    assert_eq!(code(case.run(&other_name, &[])), "MalformedTrailerError");
}

/// A small signed body with a CRC32 trailer, over 3 chunks.
fn small_signed() -> (Case, Vec<u8>) {
    let data = b"hello world";
    let case = Case::aws(SIGNED_CHUNKS_TRAILER, SEED, data.len())
        .with("x-amz-trailer", "x-amz-checksum-crc32");
    let body = signed_body(
        SEED,
        &[&data[..4], &data[4..10], &data[10..]],
        Some(&["x-amz-checksum-crc32:DUoRhQ=="]),
    );
    (case, body)
}

#[test]
fn small_bodies_decode_cut_at_every_place() {
    let (case, body) = small_signed();
    for i in 0..body.len() {
        assert_eq!(case.run(&body, &[i]).unwrap(), b"hello world", "{i}");
    }
    let every_byte: Vec<usize> = (0..body.len()).collect();
    assert_eq!(case.run(&body, &every_byte).unwrap(), b"hello world");
    let unsigned =
        Case::aws(UNSIGNED_TRAILER, SEED, 11).with("x-amz-trailer", "x-amz-checksum-crc32");
    let body = unsigned_body(&[b"hello", b" world"], &["x-amz-checksum-crc32:DUoRhQ=="]);
    for i in 0..body.len() {
        for j in i..body.len() {
            assert_eq!(
                unsigned.run(&body, &[i, j]).unwrap(),
                b"hello world",
                "{i} {j}"
            );
        }
    }
}

#[test]
fn every_truncation_of_a_body_fails() {
    let (case, body) = small_signed();
    // S3 accepts a trailer without its closing empty line.
    for end in 0..body.len() - 2 {
        let result = case.run(&body[..end], &[end / 2]);
        assert_eq!(code(result), "IncompleteBody", "cut at {end}");
    }
    let unsigned =
        Case::aws(UNSIGNED_TRAILER, SEED, 11).with("x-amz-trailer", "x-amz-checksum-crc32");
    let body = unsigned_body(&[b"hello", b" world"], &["x-amz-checksum-crc32:DUoRhQ=="]);
    for end in 0..body.len() - 2 {
        let result = unsigned.run(&body[..end], &[]);
        let err = result.unwrap_err();
        assert!(
            ["IncompleteBody", "MalformedTrailerError"].contains(&err.code.as_str()),
            "cut at {end}: {err:?}"
        );
    }
    assert_eq!(
        unsigned.run(&body[..body.len() - 2], &[]).unwrap(),
        b"hello world"
    );
}

#[test]
fn a_signed_chunk_needs_exactly_its_signature() {
    let case = Case::aws(SIGNED_CHUNKS, SEED, 5);
    for body in [
        &b"5\r\nhello\r\n0\r\n\r\n"[..],
        b"5;chunk-signature=\r\nhello\r\n0;chunk-signature=\r\n\r\n",
        b"5;chunk-signature=00;x=y\r\nhello\r\n0\r\n\r\n",
    ] {
        assert_eq!(code(case.run(body, &[])), "IncompleteBody");
    }
    let body = b"5;chunk-signature=0000\r\nhello\r\n0;chunk-signature=0000\r\n\r\n";
    assert_eq!(code(case.run(body, &[])), "SignatureDoesNotMatch");
    // Spaces around the fields are fine (S3 takes them).
    let mut signer = TestSigner::new(SEED);
    let (first, last) = (signer.chunk(b"hello"), signer.chunk(b""));
    let body =
        format!("5 ; chunk-signature = {first} \r\nhello\r\n0;chunk-signature={last}\r\n\r\n");
    assert_eq!(case.run(body.as_bytes(), &[3]).unwrap(), b"hello");
}

proptest! {
    #[test]
    fn any_cuts_decode_the_same(cuts in prop::collection::vec(0usize..400, 0..12)) {
        let (case, body) = small_signed();
        prop_assert_eq!(case.run(&body, &cuts).unwrap(), b"hello world".to_vec());
        let unsigned = Case::aws(UNSIGNED_TRAILER, SEED, 11)
            .with("x-amz-trailer", "x-amz-checksum-crc32");
        let body = unsigned_body(&[b"hel", b"lo wor", b"ld"], &["x-amz-checksum-crc32:DUoRhQ=="]);
        prop_assert_eq!(unsigned.run(&body, &cuts).unwrap(), b"hello world".to_vec());
    }

    #[test]
    fn no_garbage_decodes_cleanly_as_signed(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let case = Case::aws(SIGNED_CHUNKS, SEED, body.len());
        prop_assert!(case.run(&body, &[body.len() / 3]).is_err());
    }
}
