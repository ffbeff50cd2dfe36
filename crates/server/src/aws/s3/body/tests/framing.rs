//! Unsigned trailers, the decoded length, malformed framing, and the
//! exact requests botocore makes.

use std::convert::Infallible;

use bytes::Bytes;
use http_body::Frame;

use super::super::checksum::Algorithm;
use super::super::*;
use super::{Case, SEED, code, drain, handed_out, split, unsigned_body};
use crate::aws::sigv4::Payload;

#[test]
fn unsigned_trailer_checks_the_crc32_it_carries() {
    let case = Case::aws(UNSIGNED_TRAILER, SEED, 11).with("x-amz-trailer", "x-amz-checksum-crc32");
    let right = unsigned_body(&[b"hello world"], &["x-amz-checksum-crc32:DUoRhQ=="]);
    let (bytes, verified) = case.run_full(&right, &[]).unwrap();
    assert_eq!(bytes, b"hello world");
    assert_eq!(verified.checksum().unwrap().value, "DUoRhQ==");
    // Spaces after the colon (S3 takes them).
    let spaced = unsigned_body(&[b"hello world"], &["x-amz-checksum-crc32: DUoRhQ=="]);
    assert!(case.run(&spaced, &[]).is_ok());
    let wrong = unsigned_body(&[b"hello world"], &["x-amz-checksum-crc32:yZRlqg=="]);
    let err = case.run(&wrong, &[7]).unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        (
            "BadDigest",
            "The CRC32 you specified did not match the calculated checksum."
        )
    );
    let garbled = unsigned_body(&[b"hello world"], &["x-amz-checksum-crc32:not=base-64"]);
    let err = case.run(&garbled, &[]).unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        (
            "InvalidRequest",
            "Value for x-amz-checksum-crc32 trailing header is invalid."
        )
    );
    for trailer in [
        &[][..],
        &["x-amz-checksum-crc32c:yZRlqg=="],
        &["x-amz-checksum-crc32:DUoRhQ==", "bonus: trailer"],
        &["no colon"],
        &[
            "x-amz-checksum-crc32:DUoRhQ==",
            "x-amz-trailer-signature:00",
        ],
    ] {
        let body = unsigned_body(&[b"hello world"], trailer);
        assert_eq!(
            code(case.run(&body, &[])),
            "MalformedTrailerError",
            "{trailer:?}"
        );
    }
    // An empty line before the trailer ends the body early (S3 too).
    let mut early = unsigned_body(&[b"hello world"], &[]);
    early.extend_from_slice(b"x-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
    assert_eq!(code(case.run(&early, &[])), "MalformedTrailerError");
}

#[test]
fn the_decoded_length_must_be_the_declared_one() {
    let body = unsigned_body(&[b"hello", b" world"], &[]);
    for declared in [10, 12, 5] {
        let case = Case::aws(UNSIGNED_TRAILER, SEED, declared);
        let err = case.run(&body, &[]).unwrap_err();
        assert_eq!(err.code, "IncompleteBody", "declared {declared}");
    }
    // Past the declared length: refused before the excess is handed out.
    let case = Case::aws(UNSIGNED_TRAILER, SEED, 5);
    let (seen, err) = handed_out(case.verified(split(&body, &[])).unwrap());
    assert_eq!((seen, err.code.as_str()), (5, "IncompleteBody"));
    // A zero chunk mid-way is the end: too short.
    let mut twice = unsigned_body(&[b"hello"], &[]);
    twice.extend(unsigned_body(&[b" world"], &[]));
    assert_eq!(
        code(Case::aws(UNSIGNED_TRAILER, SEED, 11).run(&twice, &[])),
        "IncompleteBody"
    );
    // Missing or not a number: S3's MissingContentLength.
    let case = Case::aws(UNSIGNED_TRAILER, SEED, 11);
    let missing = case.without("x-amz-decoded-content-length");
    assert_eq!(code(missing.run(&body, &[])), "MissingContentLength");
    let case = Case::aws(UNSIGNED_TRAILER, SEED, 11).with("x-amz-decoded-content-length", "eleven");
    assert_eq!(code(case.run(&body, &[])), "MissingContentLength");
}

#[test]
fn malformed_framing_is_refused_and_never_buffered_without_bound() {
    let case = Case::aws(UNSIGNED_TRAILER, SEED, 11);
    // An endless header line, 100 bytes a frame: refused within the
    // line's bound, never read on.
    let endless = (0..).map(|i: usize| {
        assert!(
            i * 100 <= 2 * chunked::MAX_LINE,
            "read on past the line bound"
        );
        let data = if i == 0 {
            b"b;".repeat(50)
        } else {
            b"x".repeat(100)
        };
        Ok::<_, Infallible>(Frame::data(Bytes::from(data)))
    });
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(endless));
    assert_eq!(code(drain(case.verified(body).unwrap())), "IncompleteBody");
    let mut digits = vec![b'0'; 40];
    digits.extend_from_slice(b"b\r\nhello world\r\n0\r\n\r\n");
    assert_eq!(code(case.run(&digits, &[])), "IncompleteBody");
    let bare_newlines = b"b\nhello world\n0\n\n";
    assert_eq!(code(case.run(bare_newlines, &[])), "IncompleteBody");
    let lf_only = b"b \nhello world\r\n0\r\n\r\n";
    assert_eq!(code(case.run(lf_only, &[])), "IncompleteBody");
    let no_crlf_after_data = b"b\r\nhello worldXY0\r\n\r\n";
    assert_eq!(code(case.run(no_crlf_after_data, &[])), "IncompleteBody");
    // Endless trailer lines: refused after a few, never read on.
    let endless = (0..).map(|i: usize| {
        assert!(i < 20, "read on past the trailer bound");
        let data = if i == 0 {
            &b"b\r\nhello world\r\n0\r\n"[..]
        } else {
            b"x-amz-meta-a:b\r\n"
        };
        Ok::<_, Infallible>(Frame::data(Bytes::from_static(data)))
    });
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(endless));
    assert_eq!(
        code(drain(case.verified(body).unwrap())),
        "MalformedTrailerError"
    );
}

/// A request botocore made, as `fixtures/capture.py` wrote it.
fn botocore(name: &str) -> (http::request::Parts, Vec<u8>, String) {
    let text = match name {
        "https" => include_str!("fixtures/botocore-https.json"),
        "https-small-chunks" => include_str!("fixtures/botocore-https-small-chunks.json"),
        "http" => include_str!("fixtures/botocore-http.json"),
        _ => unreachable!(),
    };
    let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut request = http::Request::builder()
        .method(fixture["method"].as_str().unwrap())
        .uri(fixture["url"].as_str().unwrap());
    for pair in fixture["headers"].as_array().unwrap() {
        request = request.header(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    let parts = request.body(()).unwrap().into_parts().0;
    let body = fixture["body"].as_str().unwrap().as_bytes().to_vec();
    (parts, body, fixture["secret"].as_str().unwrap().to_owned())
}

#[test]
fn botocore_put_object_bytes_verify() {
    let object = b"hello from botocore, over aws-chunked\n".repeat(3);
    for (name, payload) in [
        ("https", UNSIGNED_TRAILER),
        ("https-small-chunks", UNSIGNED_TRAILER),
        ("http", ""),
    ] {
        let (parts, body, secret) = botocore(name);
        let signature = crate::aws::sigv4::parse(&parts).unwrap();
        let head = crate::aws::sigv4::verify_head(
            &signature,
            &parts,
            secret.as_bytes(),
            signature.amz_date,
        );
        let head = head.unwrap();
        if payload.is_empty() {
            assert!(matches!(head, Payload::Sha256(_)), "{name}: {head:?}");
        } else {
            assert_eq!(head, Payload::Streaming(payload.into()), "{name}");
        }
        for cuts in [vec![], (0..body.len()).collect::<Vec<_>>()] {
            let verified = super::verified(
                split(&body, &cuts),
                &parts,
                head.clone(),
                &signature,
                secret.as_bytes(),
                1 << 20,
            );
            let (bytes, verified) = drain(verified.unwrap()).unwrap();
            assert_eq!(bytes, object, "{name}");
            let checksum = verified.checksum().unwrap();
            assert_eq!(
                (checksum.algorithm, checksum.value.as_str()),
                (Algorithm::Crc32, "jSU/AQ==")
            );
        }
        // One byte of the object changed: the CRC32 (or SHA-256) catches it.
        let mut changed = body.clone();
        let at = changed.windows(5).position(|w| w == b"hello").unwrap();
        changed[at] = b'j';
        let verified = super::verified(
            split(&changed, &[]),
            &parts,
            head,
            &signature,
            secret.as_bytes(),
            1 << 20,
        );
        let err = drain(verified.unwrap()).unwrap_err();
        let expected = if payload.is_empty() {
            "XAmzContentSHA256Mismatch"
        } else {
            "BadDigest"
        };
        assert_eq!(err.code, expected, "{name}");
    }
}
