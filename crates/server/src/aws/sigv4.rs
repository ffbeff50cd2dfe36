//! AWS Signature Version 4, checked on the server side.
//!
//! Owns reading a request's signature ([`parse`], no secret needed, so the
//! caller can look the access key up) and checking it ([`verify`]) the way
//! botocore (the aws CLI, boto3) and the AWS SDKs compute it. It knows nothing
//! of keys, users or policies, and it does not decode `aws-chunked` bodies: for
//! `STREAMING-*` payloads it checks the seed signature only and the caller
//! checks the chunks with [`signing_key`].
//!
//! Canonicalization, as the clients do it:
//! - path: S3 signs the wire path as sent; every other service signs the wire
//!   path with `.`/`..`/empty segments removed, then URI-encoded again (so a
//!   wire `%3A` is signed as `%253A`);
//! - query: each name and value percent-decoded then re-encoded (RFC 3986
//!   unreserved kept), sorted; a literal `+` is signed as `%2B`, and as a space
//!   when that fails, since clients disagree and AWS accepts both;
//! - headers: the listed ones, values trimmed, inner whitespace collapsed,
//!   repeated values joined with `,`; `host` falls back to the URI authority.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const MAX_SKEW_MINUTES: i64 = 15;
const MAX_EXPIRES: u64 = 604_800;
const QUERY_PARAMS: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, \
     X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires \
     parameters.";
const NO_DATE: &str =
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
const BAD_DATE: &str = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Payloads whose `aws-chunked` body the caller decodes and checks.
const STREAMING_PAYLOADS: [&str; 3] = [
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
];

/// The parsed signature of a request: who signs, for what scope, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub access_key_id: String,
    /// `yyyymmdd` of the credential scope.
    pub date: String,
    pub region: String,
    /// `lambda`, `sns`, `s3`, `events`, `logs`, `sts`, ...
    pub service: String,
    /// `X-Amz-Date` (header or query), or the `Date` header.
    pub amz_date: DateTime<Utc>,
    /// Lower-case, in the order listed.
    pub signed_headers: Vec<String>,
    /// Hex, as sent.
    pub signature: String,
    /// Carried in the query string (a presigned URL).
    pub presigned: bool,
    /// `X-Amz-Expires` of a presigned URL, in seconds.
    pub expires: Option<u64>,
}

/// Why a request's signature is refused. Messages are worded like AWS's.
#[derive(Debug, thiserror::Error)]
pub enum SigError {
    /// No `Authorization` header and no `X-Amz-Signature` query parameter: the
    /// caller decides (AWS: `MissingAuthenticationToken`).
    #[error("Missing Authentication Token")]
    Missing,
    /// AWS: `IncompleteSignature` (S3: `AuthorizationQueryParametersError`).
    #[error("{0}")]
    Malformed(String),
    /// AWS: `InvalidSignatureException`; S3: `RequestTimeTooSkewed`.
    #[error("{0}")]
    TimeSkew(String),
    /// A presigned URL past its `X-Amz-Expires` (S3: `AccessDenied`).
    #[error("Request has expired ({0})")]
    Expired(String),
    /// AWS: `InvalidSignatureException`, whose message shows the two strings
    /// we signed, as here; S3: `SignatureDoesNotMatch`, whose body has them.
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method. \
         Consult the service documentation for details.\n\n\
         The Canonical String for this request should have been\n'{canonical_request}'\n\n\
         The String-to-Sign should have been\n'{string_to_sign}'\n"
    )]
    Mismatch {
        canonical_request: String,
        string_to_sign: String,
    },
    /// The signature holds but the body is not the one `x-amz-content-sha256`
    /// names (S3: `XAmzContentSHA256Mismatch`); holds the body's digest, hex.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed ({0}).")]
    ContentSha256Mismatch(String),
    /// A header-signed S3 request without `x-amz-content-sha256` (S3:
    /// `InvalidRequest`).
    #[error("Missing required header for this request: x-amz-content-sha256")]
    MissingContentSha256,
    /// An `x-amz-content-sha256` value not handled here (S3: `InvalidArgument`).
    #[error(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER \
         or a valid sha256 value, not '{0}'."
    )]
    UnsupportedPayload(String),
}

/// Step 1 (no secret needed): the signature a request carries.
pub fn parse(parts: &Parts) -> Result<Signature, SigError> {
    let query = query_pairs(parts.uri.query().unwrap_or_default());
    let in_query = query.iter().any(|(k, _)| {
        ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"].contains(&k.as_str())
    });
    match (parts.headers.get(http::header::AUTHORIZATION), in_query) {
        (None, false) => Err(SigError::Missing),
        (Some(_), true) => Err(malformed(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter \
             or the Authorization header should be specified",
        )),
        (Some(header), false) => from_header(header, parts),
        (None, true) => from_query(&query),
    }
}

/// Step 2: checks it, given the key's secret, the whole body, and now.
pub fn verify(
    sig: &Signature,
    parts: &Parts,
    body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SigError> {
    check_time(sig, now)?;
    let declared = declared_payload(parts)?;
    let payload_hash = match &declared {
        Some(value) => value.clone(),
        None if sig.presigned && sig.service == "s3" => UNSIGNED_PAYLOAD.to_owned(),
        None => hex::encode(Sha256::digest(body)),
    };
    check_signature(sig, parts, &payload_hash, secret)?;
    if let Some(provided) = declared.filter(|v| is_sha256_hex(v)) {
        let computed = hex::encode(Sha256::digest(body));
        if !provided.eq_ignore_ascii_case(&computed) {
            return Err(SigError::ContentSha256Mismatch(computed));
        }
    }
    Ok(())
}

/// What the body of a request whose head checked out must still be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// The SHA-256 (hex, lower case) `x-amz-content-sha256` named.
    Sha256(String),
    /// Anything: `UNSIGNED-PAYLOAD`, or a presigned URL.
    Unsigned,
    /// An `aws-chunked` body; holds the `x-amz-content-sha256` value
    /// (`STREAMING-...`).
    Streaming(String),
}

/// Step 2 for a body still to be read (S3's objects): checks the signature
/// over the head and the payload hash the request declares, and says what
/// the body must be. S3 wants `x-amz-content-sha256` on every
/// header-signed request.
pub fn verify_head(
    sig: &Signature,
    parts: &Parts,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<Payload, SigError> {
    check_time(sig, now)?;
    let declared = match declared_payload(parts)? {
        Some(value) => value,
        None if sig.presigned => UNSIGNED_PAYLOAD.to_owned(),
        None => return Err(SigError::MissingContentSha256),
    };
    check_signature(sig, parts, &declared, secret)?;
    Ok(if declared == UNSIGNED_PAYLOAD {
        Payload::Unsigned
    } else if is_sha256_hex(&declared) {
        Payload::Sha256(declared.to_ascii_lowercase())
    } else {
        Payload::Streaming(declared)
    })
}

fn check_signature(
    sig: &Signature,
    parts: &Parts,
    payload_hash: &str,
    secret: &[u8],
) -> Result<(), SigError> {
    let key = signing_key(secret, sig);
    let creq = canonical_request(sig, parts, payload_hash, false);
    let sts = string_to_sign(sig, &creq);
    let mut good = matches(&key, &sts, &sig.signature);
    if !good && parts.uri.query().is_some_and(|q| q.contains('+')) {
        let spaced = string_to_sign(sig, &canonical_request(sig, parts, payload_hash, true));
        good = matches(&key, &spaced, &sig.signature);
    }
    if good {
        Ok(())
    } else {
        Err(SigError::Mismatch {
            canonical_request: creq,
            string_to_sign: sts,
        })
    }
}

impl Signature {
    /// The credential scope: `yyyymmdd/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }

    /// `X-Amz-Date` as signed: `yyyymmddThhmmssZ`.
    pub fn timestamp(&self) -> String {
        stamp(self.amz_date)
    }
}

/// The key that signs this scope: what a caller needs to check the chunk
/// signatures of an `aws-chunked` body.
pub fn signing_key(secret: &[u8], sig: &Signature) -> [u8; 32] {
    let mut key = b"AWS4".to_vec();
    key.extend_from_slice(secret);
    let mut out = hmac(&key, sig.date.as_bytes());
    for part in [
        sig.region.as_bytes(),
        sig.service.as_bytes(),
        TERMINATOR.as_bytes(),
    ] {
        out = hmac(&out, part);
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn matches(key: &[u8; 32], string_to_sign: &str, provided: &str) -> bool {
    let expected = hex::encode(hmac(key, string_to_sign.as_bytes()));
    expected.as_bytes().ct_eq(provided.as_bytes()).into()
}

fn malformed(message: impl Into<String>) -> SigError {
    SigError::Malformed(message.into())
}

fn from_header(header: &http::HeaderValue, parts: &Parts) -> Result<Signature, SigError> {
    let value = header
        .to_str()
        .map_err(|_| malformed("Authorization header is not valid ASCII"))?
        .trim();
    let (algorithm, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(malformed(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for item in rest.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, value)) = item.split_once('=') else {
            return Err(malformed(format!(
                "Authorization header requires each component to be of the form key=value, \
                 not '{item}'"
            )));
        };
        let value = Some(value.trim()).filter(|v| !v.is_empty());
        match name.trim() {
            "Credential" => credential = value,
            "SignedHeaders" => signed_headers = value,
            "Signature" => signature = value,
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        let missing: Vec<String> = [
            ("Credential", credential),
            ("Signature", signature),
            ("SignedHeaders", signed_headers),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| format!("Authorization header requires '{n}' parameter."))
        .collect();
        return Err(malformed(missing.join(" ")));
    };
    let header = |name| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default())
    };
    let amz_date = match (header("x-amz-date"), header("date")) {
        (Some(v), _) => parse_amz_date(v),
        // botocore signs with `Date` when the request has one.
        (None, Some(v)) => DateTime::parse_from_rfc2822(v)
            .ok()
            .map(|d| d.with_timezone(&Utc)),
        (None, None) => return Err(malformed(NO_DATE)),
    }
    .ok_or_else(|| malformed(BAD_DATE))?;
    build(credential, amz_date, signed_headers, signature, false, None)
}

fn from_query(query: &[(String, String)]) -> Result<Signature, SigError> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let required = (
        get("X-Amz-Algorithm"),
        get("X-Amz-Credential"),
        get("X-Amz-Signature"),
        get("X-Amz-Date"),
        get("X-Amz-SignedHeaders"),
    );
    let (Some(algorithm), Some(credential), Some(signature), Some(date), Some(signed_headers)) =
        required
    else {
        return Err(malformed(QUERY_PARAMS));
    };
    if algorithm != ALGORITHM {
        return Err(malformed(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\""
        )));
    }
    let amz_date = parse_amz_date(date).ok_or_else(|| malformed(BAD_DATE))?;
    let expires = match get("X-Amz-Expires") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= MAX_EXPIRES => Some(n),
            Ok(_) => {
                return Err(malformed(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
                )));
            }
            Err(_) => return Err(malformed("X-Amz-Expires should be a number")),
        },
    };
    let sig = build(
        credential,
        amz_date,
        signed_headers,
        signature,
        true,
        expires,
    )?;
    if sig.service == "s3" && expires.is_none() {
        return Err(malformed(QUERY_PARAMS));
    }
    Ok(sig)
}

fn build(
    credential: &str,
    amz_date: DateTime<Utc>,
    signed_headers: &str,
    signature: &str,
    presigned: bool,
    expires: Option<u64>,
) -> Result<Signature, SigError> {
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(malformed(format!(
            "Credential must have exactly 5 slash-delimited elements, \
             e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if terminator != TERMINATOR {
        return Err(malformed(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )));
    }
    if [access_key_id, region, service]
        .iter()
        .any(|s| s.is_empty())
    {
        return Err(malformed(format!(
            "Credential has an empty element: '{credential}'"
        )));
    }
    let day = amz_date.format("%Y%m%d").to_string();
    if date != day {
        return Err(malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{date}' != '{day}', from '{}'.",
            stamp(amz_date)
        )));
    }
    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(malformed(format!(
            "SignedHeaders has an empty name: '{}'",
            signed_headers.join(";")
        )));
    }
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(malformed(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(Signature {
        access_key_id: access_key_id.to_owned(),
        date: day,
        region: region.to_owned(),
        service: service.to_owned(),
        amz_date,
        signed_headers,
        signature: signature.to_owned(),
        presigned,
        expires,
    })
}

fn check_time(sig: &Signature, now: DateTime<Utc>) -> Result<(), SigError> {
    let skew = Duration::minutes(MAX_SKEW_MINUTES);
    if sig.amz_date > now + skew {
        return Err(SigError::TimeSkew(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            stamp(sig.amz_date),
            stamp(now + skew),
            stamp(now)
        )));
    }
    match sig.expires.filter(|_| sig.presigned) {
        Some(expires) => {
            // At most a week (checked in `parse`), so the sum cannot overflow.
            let end = sig.amz_date + Duration::seconds(expires.min(MAX_EXPIRES) as i64);
            if now >= end {
                return Err(SigError::Expired(format!(
                    "X-Amz-Date {} plus X-Amz-Expires {expires} s is {}, now {}",
                    stamp(sig.amz_date),
                    stamp(end),
                    stamp(now)
                )));
            }
        }
        None if sig.amz_date < now - skew => {
            return Err(SigError::TimeSkew(format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                stamp(sig.amz_date),
                stamp(now - skew),
                stamp(now)
            )));
        }
        None => {}
    }
    Ok(())
}

/// The `x-amz-content-sha256` header when present and acceptable.
fn declared_payload(parts: &Parts) -> Result<Option<String>, SigError> {
    let Some(value) = parts.headers.get("x-amz-content-sha256") else {
        return Ok(None);
    };
    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
    if value == UNSIGNED_PAYLOAD
        || STREAMING_PAYLOADS.contains(&value.as_str())
        || is_sha256_hex(&value)
    {
        Ok(Some(value))
    } else {
        Err(SigError::UnsupportedPayload(value))
    }
}

fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn string_to_sign(sig: &Signature, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}/{}/{}/{TERMINATOR}\n{}",
        stamp(sig.amz_date),
        sig.date,
        sig.region,
        sig.service,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn canonical_request(
    sig: &Signature,
    parts: &Parts,
    payload_hash: &str,
    plus_as_space: bool,
) -> String {
    let mut out = format!(
        "{}\n{}\n{}\n",
        parts.method,
        canonical_uri(parts.uri.path(), sig.service == "s3"),
        canonical_query(parts.uri.query().unwrap_or_default(), plus_as_space)
    );
    for name in &sig.signed_headers {
        let values: Vec<String> = parts
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let value = match (values.is_empty(), name.as_str(), parts.uri.authority()) {
            (true, "host", Some(authority)) => authority.to_string(),
            _ => values.join(","),
        };
        out.push_str(&format!("{name}:{value}\n"));
    }
    out.push_str(&format!(
        "\n{}\n{payload_hash}",
        sig.signed_headers.join(";")
    ));
    out
}

fn canonical_uri(path: &str, s3: bool) -> String {
    match path {
        "" => "/".to_owned(),
        _ if s3 => path.to_owned(),
        _ => uri_encode(normalize_path(path).as_bytes(), true),
    }
}

/// RFC 3986 section 5.2.4 dot-segment removal, empty segments dropped, a
/// trailing slash kept (botocore's `normalize_url_path`).
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    let trailing = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

fn canonical_query(query: &str, plus_as_space: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let encode = |s: &str| uri_encode(&percent_decode(s, plus_as_space), false);
            (encode(name), encode(value))
        })
        .filter(|(name, _)| name != "X-Amz-Signature")
        .collect();
    pairs.sort();
    let pairs: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join("&")
}

/// The query's parameters, decoded (`+` kept as is), for reading the
/// presigned parameters.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| String::from_utf8_lossy(&percent_decode(s, false)).into_owned();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn percent_decode(s: &str, plus_as_space: bool) -> Vec<u8> {
    let bytes = s.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            (b'+', ..) if plus_as_space => out.push(b' '),
            (byte, ..) => out.push(byte),
        }
        i += 1;
    }
    out
}

fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `yyyymmddThhmmssZ`, digits only (chrono's parser would accept signs and
/// longer years).
fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !digits(0..8) || !digits(9..15) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let year = i32::try_from(n(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, n(4..6)?, n(6..8)?)?
        .and_hms_opt(n(9..11)?, n(11..13)?, n(13..15)?)
        .map(|t| t.and_utc())
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests;
