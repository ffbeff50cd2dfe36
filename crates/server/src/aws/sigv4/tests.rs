//! The AWS test suite's vectors, requests signed by the `aws-sigv4` crate and
//! by botocore, and the edge cases of time, shape and payload.

use super::*;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use chrono::TimeZone;
use std::time::{Duration as StdDuration, UNIX_EPOCH};

const SUITE_SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// The AWS SigV4 test suite (as shipped with the `aws-sigv4` crate), signed
/// requests as a server receives them: the request line of a vector with a
/// raw UTF-8 query is written percent-encoded, as it travels.
const SUITE: &[(&str, &str)] = &[
    (
        "get-vanilla (header)",
        "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    (
        "get-vanilla (query)",
        "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\nHost:example.amazonaws.com",
    ),
    (
        "get-vanilla-query-order-key-case (header)",
        "GET /?Param2=value2&Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    (
        "get-vanilla-query-order-encoded (header)",
        "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
    ),
    (
        "get-vanilla-query-order-encoded (query)",
        "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787 HTTP/1.1\nHost:example.amazonaws.com",
    ),
    (
        "get-vanilla-query-unreserved (header)",
        "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    ),
    (
        "get-vanilla-utf8-query (header)",
        "GET /?%E1%88%B4=bar HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    ),
    (
        "get-vanilla-empty-query-key (header)",
        "GET /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
    ),
    (
        "get-header-value-trim (header)",
        "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1: value1\nMy-Header2: \"a   b   c\"\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ),
    (
        "get-header-value-order (header)",
        "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
    ),
    (
        "get-header-key-duplicate (header)",
        "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    ),
    (
        "get-vanilla-with-session-token (header)",
        "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    ),
    (
        "get-vanilla-with-session-token (query)",
        "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267&X-Amz-Signature=7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c HTTP/1.1\nHost:example.amazonaws.com",
    ),
    (
        "get-unreserved (header)",
        "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    ),
    (
        "get-slash-dot-slash-normalized (header)",
        "GET /./ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    (
        "get-slashes-normalized (header)",
        "GET //example// HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
    ),
    (
        "get-relative-relative-normalized (header)",
        "GET /example1/example2/../.. HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    (
        "get-slash-pointless-dot-normalized (header)",
        "GET /./example HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
    ),
    (
        "post-vanilla-empty-query-value (header)",
        "POST /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    ),
    (
        "post-x-www-form-urlencoded (header)",
        "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\nContent-Length:13\nX-Amz-Date:20150830T123600Z\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\n\nParam1=value1",
    ),
    (
        "post-x-www-form-urlencoded (query)",
        "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Expires=3600&X-Amz-Signature=89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9 HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\nContent-Length:13\n\nParam1=value1",
    ),
    (
        "post-x-www-form-urlencoded-parameters (header)",
        "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded; charset=utf-8\nHost:example.amazonaws.com\nContent-Length:13\nX-Amz-Date:20150830T123600Z\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422\n\nParam1=value1",
    ),
    (
        "post-sts-header-after (header)",
        "POST / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ),
    (
        "post-sts-header-before (query)",
        "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=AQoDYXdzEPT%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI%2FqkPpKPi%2FkMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d%2Bxo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz%2BscqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR%2FoLxBA%3D%3D&X-Amz-Signature=46c2e3c63c1dbe7d39f8ada16fe7f001c1f56c5791441565323677f96308871c HTTP/1.1\nHost:example.amazonaws.com",
    ),
    (
        "double-url-encode (header)",
        "POST /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations\nHost:lambda.us-east-2.amazonaws.com\nX-Amz-Date:20210511T154045Z\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20210511/us-east-2/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=4b93abbcc68be32bd64c18e2c71150660ab4c29bbd6c32a383a7517a88fc1804",
    ),
];

/// A raw HTTP/1.1 request as hyper hands it over: origin-form URI, header
/// values without surrounding whitespace.
fn request(raw: &str) -> (Parts, Vec<u8>) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let first: Vec<&str> = lines.next().unwrap().split(' ').collect();
    let mut builder = http::Request::builder().method(first[0]).uri(first[1]);
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        builder = builder.header(name, value.trim());
    }
    (
        builder.body(()).unwrap().into_parts().0,
        body.as_bytes().to_vec(),
    )
}

fn check(parts: &Parts, body: &[u8], secret: &[u8]) -> Result<Signature, SigError> {
    let sig = parse(parts)?;
    verify(&sig, parts, body, secret, sig.amz_date)?;
    Ok(sig)
}

fn with_uri(parts: &Parts, uri: String) -> Parts {
    let mut parts = parts.clone();
    parts.uri = uri.parse().unwrap();
    parts
}

#[test]
fn suite_vectors_verify_and_any_change_fails() {
    for (name, raw) in SUITE {
        let (parts, body) = request(raw);
        check(&parts, &body, SUITE_SECRET).unwrap_or_else(|e| panic!("{name}: {e:?}"));

        let mut secret = SUITE_SECRET.to_vec();
        secret[0] ^= 1;
        let err = check(&parts, &body, &secret).unwrap_err();
        assert!(
            matches!(err, SigError::Mismatch { .. }),
            "{name} secret: {err:?}"
        );

        let mut longer = body.clone();
        longer.push(b'x');
        let err = check(&parts, &longer, SUITE_SECRET).unwrap_err();
        let declared = parts.headers.contains_key("x-amz-content-sha256");
        match err {
            SigError::ContentSha256Mismatch(_) if declared => {}
            SigError::Mismatch { .. } if !declared => {}
            other => panic!("{name} body: {other:?}"),
        }

        let mut host = parts.clone();
        host.headers
            .insert("host", "example.amazonaws.co".parse().unwrap());
        let err = check(&host, &body, SUITE_SECRET).unwrap_err();
        assert!(
            matches!(err, SigError::Mismatch { .. }),
            "{name} host: {err:?}"
        );

        let query = parts
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let path = with_uri(&parts, format!("{}x{query}", parts.uri.path()));
        let err = check(&path, &body, SUITE_SECRET).unwrap_err();
        assert!(
            matches!(err, SigError::Mismatch { .. }),
            "{name} path: {err:?}"
        );
    }
}

#[test]
fn mismatch_carries_what_we_signed() {
    let (parts, _) = request(SUITE[0].1);
    match check(&parts, b"", b"not the secret") {
        Err(SigError::Mismatch {
            canonical_request,
            string_to_sign,
        }) => {
            assert_eq!(
                canonical_request,
                "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
                 host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            );
            assert_eq!(
                string_to_sign,
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
                 bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// get-utf8 and get-space give their path unencoded and sign it encoded once:
/// a server only sees the encoded wire path, which only S3 signs as is (the
/// `aws-sigv4` crate skips these two vectors too). Both rules, on them:
#[test]
fn canonical_uri_encodes_the_wire_path_again_except_for_s3() {
    assert_eq!(canonical_uri("/%E1%88%B4", true), "/%E1%88%B4");
    assert_eq!(
        canonical_uri("/example%20space/", true),
        "/example%20space/"
    );
    assert_eq!(canonical_uri("/%E1%88%B4", false), "/%25E1%2588%25B4");
    assert_eq!(
        canonical_uri("/example%20space/", false),
        "/example%2520space/"
    );
    assert_eq!(canonical_uri("/a/./b/../c//d/..", false), "/a/c/");
    assert_eq!(canonical_uri("/bucket//a/../b", true), "/bucket//a/../b");
    assert_eq!(canonical_uri("/$LATEST:x@y", false), "/%24LATEST%3Ax%40y");
}

#[test]
fn canonical_query_decodes_then_encodes() {
    assert_eq!(canonical_query("b=2&a=%7e&a=1&c", false), "a=1&a=~&b=2&c=");
    assert_eq!(
        canonical_query("q=a+b%20c&x=%zz", false),
        "q=a%2Bb%20c&x=%25zz"
    );
    assert_eq!(canonical_query("q=a+b", true), "q=a%20b");
    assert_eq!(
        canonical_query("X-Amz-Signature=ab&k=%24LATEST", false),
        "k=%24LATEST"
    );
}

// Signed by botocore 1.43.11 (`create_client(...).invoke` / `get_caller_identity`
// / `put_object` / `generate_presigned_url`, signature_version s3v4) against
// http://127.0.0.1:9001 at 20261205T120000Z; the headers are those the HTTP
// client sends, User-Agent and amz-sdk-* left out (unsigned).
const BOTO_SECRET: &[u8] = b"funnel/secret+KEY";
const BOTO_LAMBDA: &str = "POST /2015-03-31/functions/hello%3Alive/invocations?Qualifier=%24LATEST HTTP/1.1
Host: 127.0.0.1:9001
X-Amz-Date: 20261205T120000Z
Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUNNEL/20261205/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=3a88e543ddf0875a0513b7f5b675acbc93d94569cea25d731ff142e9a1a6501d
Content-Length: 17

{\"name\": \"world\"}";
const BOTO_STS: &str = "POST / HTTP/1.1
Host: 127.0.0.1:9001
Content-Type: application/x-www-form-urlencoded; charset=utf-8
X-Amz-Date: 20261205T120000Z
Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUNNEL/20261205/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=861363723ebc51739e61507b3742c7190f1fcc387f6bf2416eec6189f21c1354
Content-Length: 43

Action=GetCallerIdentity&Version=2011-06-15";
const BOTO_S3_PUT: &str = "PUT /photos/2026/a%20b%2Bc%241.txt HTTP/1.1
Host: 127.0.0.1:9001
Expect: 100-continue
x-amz-checksum-crc32: fJy43g==
x-amz-sdk-checksum-algorithm: CRC32
X-Amz-Date: 20261205T120000Z
X-Amz-Content-SHA256: f2ff189a4ef686231302becc266e6c8d5eee814b868d11631f7660073fc9b613
Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUNNEL/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-checksum-crc32;x-amz-content-sha256;x-amz-date;x-amz-sdk-checksum-algorithm, Signature=2d82ebd3f6fb40977adea32fb123f186c1395dface1ed042849296e7500d8bdd
Content-Length: 8

hello s3";
const BOTO_S3_PRESIGNED: &str = "GET /photos/2026/a%20b%2Bc%241.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDFUNNEL%2F20261205%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261205T120000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=39cdea9101a6a903a6ffc69d13b750ea33016554fde22b0dd87eaf8956dae893 HTTP/1.1
Host: 127.0.0.1:9001";

#[test]
fn botocore_requests_verify() {
    for raw in [BOTO_LAMBDA, BOTO_STS, BOTO_S3_PUT, BOTO_S3_PRESIGNED] {
        let (parts, body) = request(raw);
        let sig = check(&parts, &body, BOTO_SECRET).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
        assert_eq!(sig.access_key_id, "AKIDFUNNEL");
        let err = check(&parts, &body, b"funnel/secret+KEz").unwrap_err();
        assert!(matches!(err, SigError::Mismatch { .. }), "{err:?}");
    }
    let (parts, _) = request(BOTO_LAMBDA);
    let sig = parse(&parts).unwrap();
    assert_eq!(
        (sig.service.as_str(), sig.region.as_str()),
        ("lambda", "us-east-1")
    );
    let unqualified = with_uri(
        &parts,
        "/2015-03-31/functions/hello%3Alive/invocations".into(),
    );
    let err = check(&unqualified, br#"{"name": "world"}"#, BOTO_SECRET).unwrap_err();
    assert!(matches!(err, SigError::Mismatch { .. }), "{err:?}");
    let (parts, _) = request(BOTO_S3_PRESIGNED);
    let sig = parse(&parts).unwrap();
    assert!(sig.presigned);
    assert_eq!(sig.expires, Some(600));
}

fn at(stamp: &str) -> DateTime<Utc> {
    parse_amz_date(stamp).unwrap()
}

fn sdk_sign(
    service: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: SignableBody<'_>,
    settings: SigningSettings,
) -> Parts {
    let identity =
        aws_credential_types::Credentials::new("AKIDSDK", "sdk/secret", None, None, "test").into();
    let time = UNIX_EPOCH + StdDuration::from_secs(at("20261205T120000Z").timestamp() as u64);
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(method, url, headers.iter().copied(), body).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req.into_parts().0
}

/// What hyper hands over for HTTP/1.1: the authority moved to `Host`.
fn as_http1(parts: &Parts) -> Parts {
    let mut parts = parts.clone();
    let host = parts.uri.authority().unwrap().to_string();
    parts.headers.insert("host", host.parse().unwrap());
    let origin = parts.uri.path_and_query().unwrap().to_string();
    parts.uri = origin.parse().unwrap();
    parts
}

fn s3_settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings
}

#[test]
fn aws_sigv4_crate_requests_verify() {
    let now = at("20261205T120400Z");
    let json = br#"{"hello":"world"}"#;
    let form = b"Action=GetCallerIdentity&Version=2011-06-15";
    let put = b"some bytes";
    let cases: Vec<(Parts, &[u8])> = vec![
        (
            sdk_sign(
                "lambda",
                "POST",
                "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/hello/invocations",
                &[("content-type", "application/json")],
                SignableBody::Bytes(json),
                SigningSettings::default(),
            ),
            json,
        ),
        (
            sdk_sign(
                "lambda",
                "POST",
                "http://127.0.0.1:9001/2015-03-31/functions/hello%3Alive/invocations?Qualifier=%24LATEST",
                &[],
                SignableBody::Bytes(json),
                SigningSettings::default(),
            ),
            json,
        ),
        (
            sdk_sign(
                "sts",
                "POST",
                "https://sts.eu-west-1.amazonaws.com/",
                &[("content-type", "application/x-www-form-urlencoded")],
                SignableBody::Bytes(form),
                SigningSettings::default(),
            ),
            form,
        ),
        (
            sdk_sign(
                "s3",
                "PUT",
                "https://s3.eu-west-1.amazonaws.com/bucket/key%20with%20space",
                &[],
                SignableBody::Bytes(put),
                s3_settings(),
            ),
            put,
        ),
        (
            sdk_sign(
                "s3",
                "PUT",
                "https://s3.eu-west-1.amazonaws.com/bucket/key%20with%20space",
                &[],
                SignableBody::UnsignedPayload,
                s3_settings(),
            ),
            put,
        ),
        (
            sdk_sign(
                "s3",
                "PUT",
                "https://s3.eu-west-1.amazonaws.com/bucket/chunked",
                &[("content-encoding", "aws-chunked")],
                SignableBody::StreamingSignedPayloadTrailer,
                s3_settings(),
            ),
            b"decoded by the caller",
        ),
        (
            sdk_sign(
                "s3",
                "GET",
                "https://s3.eu-west-1.amazonaws.com/bucket/a%2Bb%20c.txt?versionId=3",
                &[],
                SignableBody::UnsignedPayload,
                {
                    let mut settings = s3_settings();
                    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
                    settings.signature_location = SignatureLocation::QueryParams;
                    settings.expires_in = Some(StdDuration::from_secs(300));
                    settings
                },
            ),
            b"",
        ),
        (
            // The crate signs a literal `+` in the query as a space.
            sdk_sign(
                "logs",
                "GET",
                "https://logs.eu-west-1.amazonaws.com/?q=a+b",
                &[],
                SignableBody::Bytes(b""),
                SigningSettings::default(),
            ),
            b"",
        ),
    ];
    for (parts, body) in &cases {
        for parts in [parts.clone(), as_http1(parts)] {
            let sig = parse(&parts).unwrap_or_else(|e| panic!("{parts:?}: {e:?}"));
            verify(&sig, &parts, body, b"sdk/secret", now)
                .unwrap_or_else(|e| panic!("{parts:?}: {e:?}"));
            let err = verify(&sig, &parts, body, b"sdk/secreT", now).unwrap_err();
            assert!(matches!(err, SigError::Mismatch { .. }), "{err:?}");
        }
    }
    let (presigned, _) = &cases[6];
    let sig = parse(presigned).unwrap();
    assert_eq!((sig.presigned, sig.expires), (true, Some(300)));
    let err = verify(&sig, presigned, b"", b"sdk/secret", at("20261205T120500Z")).unwrap_err();
    assert!(matches!(err, SigError::Expired(_)), "{err:?}");
    let (signed_put, body) = &cases[3];
    let sig = parse(signed_put).unwrap();
    match verify(&sig, signed_put, b"some bytez", b"sdk/secret", now) {
        Err(SigError::ContentSha256Mismatch(computed)) => {
            assert_eq!(computed, hex::encode(Sha256::digest(b"some bytez")));
            assert_ne!(computed, hex::encode(Sha256::digest(body)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn time_skew_is_fifteen_minutes_either_way() {
    let (parts, _) = request(SUITE[0].1);
    let sig = parse(&parts).unwrap();
    let signed = at("20150830T123600Z");
    for now in [
        signed - Duration::minutes(15),
        signed + Duration::minutes(15),
    ] {
        verify(&sig, &parts, b"", SUITE_SECRET, now).unwrap();
    }
    match verify(
        &sig,
        &parts,
        b"",
        SUITE_SECRET,
        signed + Duration::seconds(901),
    ) {
        Err(SigError::TimeSkew(m)) => assert_eq!(
            m,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
             (20150830T125101Z - 15 min.)"
        ),
        other => panic!("{other:?}"),
    }
    match verify(
        &sig,
        &parts,
        b"",
        SUITE_SECRET,
        signed - Duration::seconds(901),
    ) {
        Err(SigError::TimeSkew(m)) => {
            assert!(m.starts_with("Signature not yet current: 20150830T123600Z"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn presigned_lives_until_expires_and_not_before_its_date() {
    let (parts, _) = request(BOTO_S3_PRESIGNED);
    let sig = parse(&parts).unwrap();
    let signed = at("20261205T120000Z");
    verify(
        &sig,
        &parts,
        b"",
        BOTO_SECRET,
        signed + Duration::seconds(599),
    )
    .unwrap();
    verify(
        &sig,
        &parts,
        b"",
        BOTO_SECRET,
        signed - Duration::minutes(15),
    )
    .unwrap();
    let err = verify(
        &sig,
        &parts,
        b"",
        BOTO_SECRET,
        signed + Duration::seconds(600),
    )
    .unwrap_err();
    assert!(matches!(err, SigError::Expired(_)), "{err:?}");
    assert!(err.to_string().starts_with("Request has expired"));
    let err = verify(
        &sig,
        &parts,
        b"",
        BOTO_SECRET,
        signed - Duration::seconds(901),
    )
    .unwrap_err();
    assert!(matches!(err, SigError::TimeSkew(_)), "{err:?}");

    let week = with_uri(
        &parts,
        parts
            .uri
            .to_string()
            .replace("Expires=600", "Expires=604801"),
    );
    let err = parse(&week).unwrap_err();
    assert!(
        matches!(&err, SigError::Malformed(m) if m.contains("604800")),
        "{err:?}"
    );
    let none = with_uri(
        &parts,
        parts.uri.to_string().replace("&X-Amz-Expires=600", ""),
    );
    let err = parse(&none).unwrap_err();
    assert!(
        matches!(&err, SigError::Malformed(m) if m.contains("X-Amz-Expires")),
        "{err:?}"
    );
}

fn header_request(authorization: &str, date: &str) -> Parts {
    let mut builder = http::Request::builder()
        .uri("/")
        .header("host", "example.amazonaws.com")
        .header("x-amz-date", date);
    if !authorization.is_empty() {
        builder = builder.header("authorization", authorization);
    }
    builder.body(()).unwrap().into_parts().0
}

fn malformed_message(parts: &Parts) -> String {
    match parse(parts) {
        Err(SigError::Malformed(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_and_malformed_signatures() {
    let date = "20150830T123600Z";
    assert!(matches!(
        parse(&header_request("", date)),
        Err(SigError::Missing)
    ));

    let good = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,SignedHeaders=host;x-amz-date,Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let parts = header_request(good, date);
    check(&parts, b"", SUITE_SECRET).unwrap();

    let m = malformed_message(&header_request(
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab",
        date,
    ));
    assert_eq!(m, "Authorization header requires 'Credential' parameter.");
    let m = malformed_message(&header_request("AWS4-HMAC-SHA256", date));
    assert!(
        m.contains("'Credential'") && m.contains("'Signature'") && m.contains("'SignedHeaders'"),
        "{m}"
    );
    let m = malformed_message(&header_request(
        &good.replace("host;x-amz-date", "x-amz-date"),
        date,
    ));
    assert!(m.contains("'Host'"), "{m}");
    let m = malformed_message(&header_request(
        &good.replace("20150830/", "20150831/"),
        date,
    ));
    assert!(
        m.starts_with("Date in Credential scope does not match"),
        "{m}"
    );
    let m = malformed_message(&header_request(&good.replace("/aws4_request", ""), date));
    assert!(m.contains("5 slash-delimited"), "{m}");
    let m = malformed_message(&header_request(
        &good.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
        date,
    ));
    assert!(m.contains("Unsupported AWS 'algorithm'"), "{m}");
    let m = malformed_message(&header_request(good, "2015-08-30T12:36:00Z"));
    assert!(m.contains("ISO8601"), "{m}");
    let mut no_date = parts.clone();
    no_date.headers.remove("x-amz-date");
    assert!(malformed_message(&no_date).contains("'X-Amz-Date' or a 'Date'"));

    let mut both = header_request(good, date);
    both.uri = "/?X-Amz-Signature=ab".parse().unwrap();
    assert!(malformed_message(&both).starts_with("Only one auth mechanism"));
    let mut partial = header_request("", date);
    partial.uri = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256".parse().unwrap();
    assert!(
        malformed_message(&partial).starts_with("Query-string authentication version 4 requires")
    );
}

#[test]
fn the_date_header_stands_in_for_x_amz_date() {
    // botocore signs with `Date` (and no X-Amz-Date) when a request has one.
    let mut parts = header_request(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "20150830T123600Z",
    );
    parts.headers.remove("x-amz-date");
    parts
        .headers
        .insert("date", "Sun, 30 Aug 2015 12:36:00 GMT".parse().unwrap());
    let sig = parse(&parts).unwrap();
    assert_eq!(
        sig.amz_date,
        Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap()
    );
    // The signed list names x-amz-date, now absent: the canonical request differs.
    let err = verify(&sig, &parts, b"", SUITE_SECRET, sig.amz_date).unwrap_err();
    assert!(matches!(err, SigError::Mismatch { .. }), "{err:?}");
}

#[test]
fn payload_declarations() {
    let (parts, body) = request(BOTO_S3_PUT);
    let sig = parse(&parts).unwrap();
    for value in ["STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "sha256", ""] {
        let mut odd = parts.clone();
        odd.headers
            .insert("x-amz-content-sha256", value.parse().unwrap());
        let err = verify(&sig, &odd, &body, BOTO_SECRET, sig.amz_date).unwrap_err();
        assert!(
            matches!(&err, SigError::UnsupportedPayload(v) if v == value),
            "{err:?}"
        );
    }
    // A body that does not match the declared digest, under a good signature.
    let err = verify(&sig, &parts, b"hello s4", BOTO_SECRET, sig.amz_date).unwrap_err();
    assert!(matches!(err, SigError::ContentSha256Mismatch(_)), "{err:?}");
}

#[test]
fn errors_never_show_the_secret() {
    let (parts, body) = request(BOTO_LAMBDA);
    let err = check(&parts, &body, b"funnel/other+KEY").unwrap_err();
    let sig = parse(&parts).unwrap();
    for shown in [format!("{err:?}"), err.to_string(), format!("{sig:?}")] {
        assert!(!shown.contains("funnel/other+KEY") && !shown.contains("funnel/secret+KEY"));
    }
}
