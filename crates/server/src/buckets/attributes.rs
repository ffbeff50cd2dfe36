//! What an object carries besides its bytes, as S3 keeps it: the media
//! type its writer gave, and user metadata (S3's `x-amz-meta-*`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// S3's cap on user metadata: names and values together, in bytes.
pub const MAX_METADATA_BYTES: usize = 2 * 1024;
/// What S3 answers for an object whose writer gave no type.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// An object's media type and user metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Empty when the writer gave none.
    pub content_type: String,
    /// Names lowercased, as HTTP headers carry them.
    pub metadata: BTreeMap<String, String>,
}

impl Attributes {
    /// A writer's attributes, checked: each must travel as an HTTP header,
    /// and the metadata stays within S3's 2 KB.
    pub fn new(
        content_type: &str,
        metadata: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Attributes> {
        let metadata: BTreeMap<String, String> = metadata
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        let size: usize = metadata.iter().map(|(n, v)| n.len() + v.len()).sum();
        if size > MAX_METADATA_BYTES {
            return Err(Error::MetadataTooLarge(format!(
                "Your metadata headers exceed the maximum allowed metadata size: {size} bytes \
                 of names and values, {MAX_METADATA_BYTES} allowed"
            )));
        }
        for (name, value) in &metadata {
            if name.is_empty()
                || http::HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes()).is_err()
            {
                return Err(Error::InvalidArgument(format!(
                    "metadata name {name:?} cannot be an HTTP header name"
                )));
            }
            if http::HeaderValue::from_str(value).is_err() {
                return Err(Error::InvalidArgument(format!(
                    "the value of metadata {name:?} cannot be an HTTP header value \
                     (visible ASCII, spaces and tabs)"
                )));
            }
        }
        if http::HeaderValue::from_str(content_type).is_err() {
            return Err(Error::InvalidArgument(format!(
                "content type {content_type:?} cannot be an HTTP header value"
            )));
        }
        Ok(Attributes {
            content_type: content_type.to_string(),
            metadata,
        })
    }

    /// The type to answer with.
    pub fn content_type(&self) -> &str {
        if self.content_type.is_empty() {
            DEFAULT_CONTENT_TYPE
        } else {
            &self.content_type
        }
    }

    /// As the object index keeps them.
    pub fn of_entry(entry: &funnel_store::ObjectEntry) -> Attributes {
        Attributes {
            content_type: entry.content_type.clone(),
            metadata: entry.metadata.clone(),
        }
    }

    /// As an upload in progress keeps them.
    pub fn of_upload(record: &funnel_store::UploadRecord) -> Attributes {
        Attributes {
            content_type: record.content_type.clone(),
            metadata: record.metadata.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_are_lowercased_and_the_type_defaults_as_s3s() {
        let a = Attributes::new("", meta(&[("Camera", "X100")])).unwrap();
        assert_eq!(a.metadata.get("camera").map(String::as_str), Some("X100"));
        assert_eq!(a.content_type(), "binary/octet-stream");
        let a = Attributes::new("image/jpeg", []).unwrap();
        assert_eq!(a.content_type(), "image/jpeg");
    }

    #[test]
    fn metadata_past_2_kb_or_not_a_header_is_refused() {
        let at_cap = "v".repeat(MAX_METADATA_BYTES - 1);
        assert!(Attributes::new("", meta(&[("k", &at_cap)])).is_ok());
        let over = "v".repeat(MAX_METADATA_BYTES);
        let err = Attributes::new("", meta(&[("k", &over)])).unwrap_err();
        assert_eq!(err.aws_name(), "MetadataTooLarge");
        for (name, value) in [("a b", "v"), ("", "v"), ("k", "line\nbreak")] {
            let err = Attributes::new("", meta(&[(name, value)])).unwrap_err();
            assert_eq!(err.aws_name(), "InvalidArgument", "{name:?} {value:?}");
        }
        let err = Attributes::new("text/plain\r\nx: y", []).unwrap_err();
        assert_eq!(err.aws_name(), "InvalidArgument");
    }
}
