//! Checksums, `Content-MD5`, `x-amz-content-sha256`, limits and a broken
//! connection, over plain bodies.

use std::convert::Infallible;

use bytes::Bytes;
use http_body::Frame;

use super::super::checksum::{Algorithm, Hasher};
use super::super::*;
use super::{Case, SEED, code, drain, handed_out, split, unsigned_body};
use crate::aws::sigv4::Payload;

/// "hello world" under each algorithm: from Python's zlib and hashlib,
/// and for CRC32C and CRC64/NVME a bitwise reflected CRC (polynomials
/// 0x82F63B78 and 0x9A6C9329AC4BC9B5, init and xorout all ones) that
/// gives the catalogue's check values for "123456789" (0xE3069283,
/// 0xAE8B14860A799888):
///
/// ```python
/// def crc(data, poly, width):
///     mask = (1 << width) - 1; c = mask
///     for b in data:
///         c ^= b
///         for _ in range(8): c = (c >> 1) ^ poly if c & 1 else c >> 1
///     return c ^ mask
/// ```
const HELLO_WORLD: [(Algorithm, &str); 5] = [
    (Algorithm::Crc32, "DUoRhQ=="),
    (Algorithm::Crc32c, "yZRlqg=="),
    (Algorithm::Crc64Nvme, "jSnVw/bqjr4="),
    (Algorithm::Sha1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
    (
        Algorithm::Sha256,
        "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
    ),
];

fn base64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

#[test]
fn each_algorithm_hashes_to_the_known_values() {
    for (algorithm, expected) in HELLO_WORLD {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(base64(&hasher.finish()), expected, "{algorithm:?}");
    }
    // The catalogue check values themselves.
    for (algorithm, check) in [
        (Algorithm::Crc32, "cbf43926"),
        (Algorithm::Crc32c, "e3069283"),
        (Algorithm::Crc64Nvme, "ae8b14860a799888"),
    ] {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(b"123456789");
        assert_eq!(hex::encode(hasher.finish()), check, "{algorithm:?}");
    }
}

#[test]
fn a_checksum_header_is_verified_over_the_bytes() {
    for (algorithm, value) in HELLO_WORLD {
        let case = Case::plain(Payload::Unsigned)
            .with(algorithm.header(), value)
            .with("x-amz-sdk-checksum-algorithm", algorithm.name());
        let (bytes, verified) = case.run_full(b"hello world", &[3, 9]).unwrap();
        assert_eq!(bytes, b"hello world");
        let checksum = verified.checksum().unwrap();
        assert_eq!(
            (checksum.algorithm, checksum.value.as_str()),
            (algorithm, value)
        );
        let err = case.run(b"hello worle", &[]).unwrap_err();
        assert_eq!(err.code, "BadDigest");
        assert_eq!(
            err.message,
            format!(
                "The {} you specified did not match the calculated checksum.",
                algorithm.name()
            )
        );
    }
}

#[test]
fn checksum_headers_are_checked_before_the_body_is_read() {
    let plain = || Case::plain(Payload::Unsigned);
    let message = |case: Case| {
        let err = case.verified(split(b"", &[])).err().unwrap();
        (err.code, err.message)
    };
    let invalid = |m: &str| ("InvalidRequest".to_string(), m.to_string());
    assert_eq!(
        message(plain().with("x-amz-checksum-crc32", "bad")),
        invalid("Value for x-amz-checksum-crc32 header is invalid.")
    );
    // A SHA-256 is not a CRC32: the length counts too.
    assert_eq!(
        message(plain().with("x-amz-checksum-crc32", HELLO_WORLD[4].1)),
        invalid("Value for x-amz-checksum-crc32 header is invalid.")
    );
    assert_eq!(
        message(plain().with("x-amz-checksum-bad", "DUoRhQ==")),
        invalid("The algorithm type you specified in x-amz-checksum- header is invalid.")
    );
    assert_eq!(
        message(
            plain()
                .with("x-amz-checksum-crc32", "DUoRhQ==")
                .with("x-amz-checksum-crc32c", "yZRlqg==")
        ),
        invalid(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    );
    assert_eq!(
        message(plain().with("x-amz-sdk-checksum-algorithm", "CRC32")),
        invalid(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* \
             or x-amz-trailer headers were found."
        )
    );
    assert_eq!(
        message(
            plain()
                .with("x-amz-checksum-crc32", "DUoRhQ==")
                .with("x-amz-sdk-checksum-algorithm", "SHA256")
        ),
        invalid("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    );
    // A trailer needs a STREAMING-...-TRAILER body.
    let (code, _) = message(plain().with("x-amz-trailer", "x-amz-checksum-crc32"));
    assert_eq!(code, "MalformedTrailerError");
    let streaming = || Case::aws(UNSIGNED_TRAILER, SEED, 11);
    for trailer in ["foo", "x-amz-content-sha256", ", x-amz-checksum-crc32"] {
        assert_eq!(
            message(streaming().with("x-amz-trailer", trailer)),
            invalid("The value specified in the x-amz-trailer header is not supported"),
            "{trailer}"
        );
    }
    assert_eq!(
        message(streaming().with(
            "x-amz-trailer",
            "x-amz-checksum-crc32, x-amz-checksum-sha256"
        )),
        invalid(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    );
    assert_eq!(
        message(
            streaming()
                .with("x-amz-trailer", "x-amz-checksum-crc32")
                .with("x-amz-checksum-crc32", "DUoRhQ==")
        ),
        invalid("Expecting a single x-amz-checksum- header")
    );
    // Trailing commas are tolerated, as are the non-checksum headers that
    // share the prefix.
    let body = unsigned_body(&[b"hello world"], &["x-amz-checksum-crc32:DUoRhQ=="]);
    for trailer in [
        "x-amz-checksum-crc32,",
        "x-amz-checksum-crc32, ",
        "X-Amz-Checksum-CRC32",
    ] {
        let case = streaming()
            .with("x-amz-trailer", trailer)
            .with("x-amz-checksum-type", "COMPOSITE");
        assert_eq!(case.run(&body, &[]).unwrap(), b"hello world", "{trailer}");
    }
}

#[test]
fn content_md5_is_checked() {
    let md5 = "XrY7u+Ae7tCTyyK7j1rNww==";
    let case = Case::plain(Payload::Unsigned).with("content-md5", md5);
    let (_, verified) = case.run_full(b"hello world", &[5]).unwrap();
    assert_eq!(
        hex::encode(verified.md5().unwrap()),
        "5eb63bbbe01eeed093cb22bb8f5acdc3"
    );
    let err = case.run(b"hello worle", &[]).unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        (
            "BadDigest",
            "The Content-MD5 you specified did not match what we received."
        )
    );
    for invalid in ["invalid", "DUoRhQ=="] {
        let case = Case::plain(Payload::Unsigned).with("content-md5", invalid);
        let err = case.verified(split(b"", &[])).err().unwrap();
        assert_eq!(
            (err.code.as_str(), err.message.as_str()),
            (
                "InvalidDigest",
                "The Content-MD5 you specified was invalid."
            )
        );
    }
    // Over an aws-chunked body, MD5 is of the decoded bytes.
    let chunked = Case::aws(UNSIGNED_TRAILER, SEED, 11).with("content-md5", md5);
    assert!(
        chunked
            .run(&unsigned_body(&[b"hello", b" world"], &[]), &[])
            .is_ok()
    );
}

#[test]
fn the_payload_sha256_is_checked_and_comes_first() {
    let sha = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
    let case = Case::plain(Payload::Sha256(sha.into()));
    assert_eq!(case.run(b"hello world", &[1]).unwrap(), b"hello world");
    let err = case.run(b"hello worle", &[]).unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        (
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    );
    // Wrong MD5 and wrong CRC too: S3 names the SHA-256.
    let all = case
        .with("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
        .with("x-amz-checksum-crc32", "AAAAAA==");
    assert_eq!(
        code(all.run(b"hello worle", &[])),
        "XAmzContentSHA256Mismatch"
    );
    // `Content-Encoding: aws-chunked` on a hashed payload is no framing.
    let declared = Case::plain(Payload::Sha256(sha.into())).with("content-encoding", "aws-chunked");
    assert_eq!(declared.run(b"hello world", &[]).unwrap(), b"hello world");
}

#[test]
fn a_plain_body_is_as_long_as_its_content_length() {
    let case = Case::plain(Payload::Unsigned).with("content-length", "11");
    let verified = case.verified(split(b"", &[])).unwrap();
    assert_eq!(verified.decoded_length(), Some(11));
    assert_eq!(case.run(b"hello world", &[]).unwrap(), b"hello world");
    for body in [&b"hello worl"[..], b"hello world!"] {
        assert_eq!(code(case.run(body, &[])), "IncompleteBody");
    }
    // The excess is never handed out.
    let (seen, err) = handed_out(case.verified(split(b"hello world!", &[11])).unwrap());
    assert_eq!((seen, err.code.as_str()), (11, "IncompleteBody"));
    assert_eq!(
        Case::plain(Payload::Unsigned)
            .verified(split(b"", &[]))
            .unwrap()
            .decoded_length(),
        None
    );
}

#[test]
fn the_size_limit_is_obeyed_and_enforced() {
    let limited = |case: Case| Case { limit: 11, ..case };
    // At the limit: fine.
    let plain = limited(Case::plain(Payload::Unsigned));
    assert_eq!(plain.run(b"hello world", &[4]).unwrap(), b"hello world");
    // Declared over it: refused before reading.
    let declared = limited(Case::plain(Payload::Unsigned).with("content-length", "12"));
    let err = declared.verified(split(b"", &[])).err().unwrap();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        (
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size"
        )
    );
    let chunked = limited(Case::aws(UNSIGNED_TRAILER, SEED, 12));
    assert_eq!(code(chunked.verified(split(b"", &[]))), "EntityTooLarge");
    // Undeclared and over it: an error after the bytes within it.
    let verified = plain.verified(split(b"hello world!", &[6])).unwrap();
    assert_eq!(code(drain(verified)), "EntityTooLarge");
}

#[test]
fn a_broken_connection_is_an_error_item_after_the_bytes() {
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
        Ok(Frame::data(Bytes::from_static(b"hello "))),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )),
    ];
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
    let verified = Case::plain(Payload::Unsigned).verified(body).unwrap();
    let mut stream = verified;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut next = || futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), &mut cx);
    assert!(matches!(next(), std::task::Poll::Ready(Some(Ok(b))) if b == "hello "));
    assert!(matches!(next(), std::task::Poll::Ready(Some(Err(e))) if e.code == "IncompleteBody"));
    assert!(matches!(next(), std::task::Poll::Ready(None)));
}

#[test]
fn http_trailers_and_empty_frames_are_passed_over() {
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = vec![
        Ok(Frame::data(Bytes::new())),
        Ok(Frame::data(Bytes::from_static(b"hello world"))),
        Ok(Frame::trailers(http::HeaderMap::new())),
    ];
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
    let verified = Case::plain(Payload::Unsigned).verified(body).unwrap();
    assert_eq!(drain(verified).unwrap().0, b"hello world");
}

#[tokio::test]
async fn read_small_collects_up_to_its_limit() {
    let case = Case::aws(UNSIGNED_TRAILER, SEED, 11);
    let body = unsigned_body(&[b"hello", b" world"], &[]);
    let verified = case.verified(split(&body, &[3, 9])).unwrap();
    assert_eq!(read_small(verified, 11).await.unwrap(), "hello world");
    let too_big = |result: Result<Bytes, AwsError>| {
        let err = result.unwrap_err();
        (err.code, err.message)
    };
    let expected = (
        "MaxMessageLengthExceeded".to_string(),
        "Your request was too big.".to_string(),
    );
    // Declared over the limit.
    let verified = case.verified(split(&body, &[])).unwrap();
    assert_eq!(too_big(read_small(verified, 10).await), expected);
    // Not declared, and over it.
    let verified = Case::plain(Payload::Unsigned)
        .verified(split(b"hello world", &[2]))
        .unwrap();
    assert_eq!(too_big(read_small(verified, 10).await), expected);
    // A failed check is the error.
    let bad = Case::plain(Payload::Unsigned).with("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==");
    let verified = bad.verified(split(b"hello world", &[])).unwrap();
    assert_eq!(
        read_small(verified, 100).await.unwrap_err().code,
        "BadDigest"
    );
}

#[test]
fn complete_multipart_upload_leaves_the_object_checksum_alone() {
    // The object's composite CRC32, not the XML's.
    let case = Case::plain(Payload::Unsigned)
        .with("x-amz-checksum-crc32", "DUoRhQ==-3")
        .with("x-amz-checksum-type", "COMPOSITE");
    let xml = b"<CompleteMultipartUpload/>";
    let verified = case
        .verified_at("POST", "/bucket/key?uploadId=abc", split(xml, &[]))
        .unwrap();
    let (bytes, verified) = drain(verified).unwrap();
    assert_eq!((bytes.as_slice(), verified.checksum()), (&xml[..], None));
    // Elsewhere the same header is the body's, and invalid.
    assert_eq!(
        code(case.verified_at("POST", "/bucket/key?uploads", split(xml, &[]))),
        "InvalidRequest"
    );
}

#[test]
fn verified_is_send_and_unpin() {
    fn sendable<T: Send + Unpin + 'static>() {}
    sendable::<Verified>();
}
