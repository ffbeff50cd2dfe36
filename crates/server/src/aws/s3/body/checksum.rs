//! S3's checksums of an object's bytes: the flexible ones
//! (`x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`, base64 of the
//! big-endian digest, in a header or named by `x-amz-trailer` and sent in
//! the `aws-chunked` trailer) and `Content-MD5`. Reads what a request
//! declares and hashes; the comparison happens in [`super::Verified`].
//! Errors carry S3's codes and messages.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crc_fast::CrcAlgorithm;
use http::HeaderMap;
use sha2::Digest as _;

use crate::aws::errors::AwsError;

/// A flexible checksum algorithm S3 accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Crc32,
        Algorithm::Crc32c,
        Algorithm::Crc64Nvme,
        Algorithm::Sha1,
        Algorithm::Sha256,
    ];

    /// As S3 spells it (`x-amz-sdk-checksum-algorithm`, `ChecksumAlgorithm`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    /// The header (or trailer) that carries it.
    pub fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64Nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    fn of_header(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.header().eq_ignore_ascii_case(name))
    }

    fn of_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }
}

/// A checksum the request carried and the bytes matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: Algorithm,
    /// Base64 of the digest, as S3 answers it.
    pub value: String,
}

/// A running digest of the decoded bytes.
pub(super) enum Hasher {
    Crc32(crc_fast::Digest),
    Crc64(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub(super) fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Crc32 => Hasher::Crc32(crc_fast::Digest::new(CrcAlgorithm::Crc32IsoHdlc)),
            Algorithm::Crc32c => Hasher::Crc32(crc_fast::Digest::new(CrcAlgorithm::Crc32Iscsi)),
            Algorithm::Crc64Nvme => Hasher::Crc64(crc_fast::Digest::new(CrcAlgorithm::Crc64Nvme)),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    pub(super) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32(d) | Hasher::Crc64(d) => d.update(data),
            Hasher::Sha1(d) => d.update(data),
            Hasher::Sha256(d) => d.update(data),
        }
    }

    /// The digest, big-endian (a CRC as its 4 or 8 bytes).
    pub(super) fn finish(self) -> Vec<u8> {
        match self {
            // A 32-bit CRC is the low half of crc-fast's u64.
            Hasher::Crc32(d) => (d.finalize() as u32).to_be_bytes().to_vec(),
            Hasher::Crc64(d) => d.finalize().to_be_bytes().to_vec(),
            Hasher::Sha1(d) => d.finalize().to_vec(),
            Hasher::Sha256(d) => d.finalize().to_vec(),
        }
    }
}

/// Where the checksum to verify comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expected {
    /// An `x-amz-checksum-*` header: its decoded digest.
    Header(Algorithm, Vec<u8>),
    /// Named by `x-amz-trailer`; its value arrives in the trailer.
    Trailer(Algorithm),
}

impl Expected {
    pub(super) fn algorithm(&self) -> Algorithm {
        match self {
            Expected::Header(algorithm, _) | Expected::Trailer(algorithm) => *algorithm,
        }
    }
}

/// Headers that start like a checksum but are not one (S3 tolerates them
/// on a PUT).
const NOT_CHECKSUMS: [&str; 3] = [
    "x-amz-checksum-type",
    "x-amz-checksum-algorithm",
    "x-amz-checksum-mode",
];

/// The checksum a request declares, checked as S3 checks it before reading
/// the body. `trailer_allowed`: the payload is an `aws-chunked` body with a
/// trailer (`STREAMING-...-TRAILER`).
pub(super) fn expected(
    headers: &HeaderMap,
    trailer_allowed: bool,
) -> Result<Option<Expected>, AwsError> {
    let mut in_headers = Vec::new();
    for name in headers.keys() {
        let name = name.as_str();
        if !name.starts_with("x-amz-checksum-") || NOT_CHECKSUMS.contains(&name) {
            continue;
        }
        let algorithm = Algorithm::of_header(name).ok_or_else(|| {
            invalid("The algorithm type you specified in x-amz-checksum- header is invalid.")
        })?;
        in_headers.push(algorithm);
    }
    let trailer = match headers.get("x-amz-trailer") {
        Some(value) => trailer_names(value.to_str().unwrap_or("\u{0}"))?,
        None => Vec::new(),
    };
    if in_headers.len() + trailer.len() > 1 {
        return Err(invalid(if in_headers.len() == 1 && trailer.len() == 1 {
            "Expecting a single x-amz-checksum- header"
        } else {
            MULTIPLE
        }));
    }
    let expected = match (in_headers.first(), trailer.first()) {
        (Some(&algorithm), _) => {
            let value = headers
                .get(algorithm.header())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| decode(algorithm, v))
                .ok_or_else(|| {
                    invalid(format!(
                        "Value for {} header is invalid.",
                        algorithm.header()
                    ))
                })?;
            Some(Expected::Header(algorithm, value))
        }
        (None, Some(_)) if !trailer_allowed => return Err(malformed_trailer()),
        (None, Some(&algorithm)) => Some(Expected::Trailer(algorithm)),
        (None, None) => None,
    };
    if let Some(sdk) = headers.get("x-amz-sdk-checksum-algorithm") {
        let named = sdk.to_str().ok().and_then(Algorithm::of_name);
        match (&expected, named) {
            (None, _) => {
                return Err(invalid(
                    "x-amz-sdk-checksum-algorithm specified, but no corresponding \
                     x-amz-checksum-* or x-amz-trailer headers were found.",
                ));
            }
            (Some(expected), Some(named)) if expected.algorithm() == named => {}
            (Some(_), _) => {
                return Err(invalid(
                    "Value for x-amz-sdk-checksum-algorithm header is invalid.",
                ));
            }
        }
    }
    Ok(expected)
}

const MULTIPLE: &str =
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.";

/// The checksums `x-amz-trailer` names: a comma-separated list, trailing
/// empty items tolerated as S3 tolerates them; only checksums supported.
fn trailer_names(value: &str) -> Result<Vec<Algorithm>, AwsError> {
    let mut items: Vec<&str> = value.trim().split(',').map(str::trim).collect();
    while items.last().is_some_and(|item| item.is_empty()) {
        items.pop();
    }
    items
        .into_iter()
        .map(|item| {
            Algorithm::of_header(item).ok_or_else(|| {
                invalid("The value specified in the x-amz-trailer header is not supported")
            })
        })
        .collect()
}

/// The digest a header or trailer value carries (base64 of exactly the
/// digest's length).
pub(super) fn decode(algorithm: Algorithm, value: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(value.trim())
        .ok()
        .filter(|digest| digest.len() == algorithm.digest_len())
}

/// `Content-MD5`, decoded.
pub(super) fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, AwsError> {
    let Some(value) = headers.get("content-md5") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| STANDARD.decode(v.trim()).ok())
        .and_then(|digest| <[u8; 16]>::try_from(digest).ok())
        .map(Some)
        .ok_or_else(|| {
            AwsError::new(
                "InvalidDigest",
                "The Content-MD5 you specified was invalid.",
            )
        })
}

pub(super) fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidRequest", message)
}

pub(super) fn malformed_trailer() -> AwsError {
    AwsError::new(
        "MalformedTrailerError",
        "The request contained trailing data that was not well-formed or did not conform \
         to our published schema.",
    )
}

/// The bytes do not match the checksum sent.
pub(super) fn mismatch(algorithm: Algorithm) -> AwsError {
    AwsError::new(
        "BadDigest",
        format!(
            "The {} you specified did not match the calculated checksum.",
            algorithm.name()
        ),
    )
}

pub(super) fn md5_mismatch() -> AwsError {
    AwsError::new(
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
    )
}
