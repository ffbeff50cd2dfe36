//! CopyObject: S3's `CopySource`, and the copy, written as PutObject
//! writes an object (a temporary file renamed into place) and firing one
//! `ObjectCreated:Copy`.

use tokio::io::AsyncReadExt as _;

use super::Buckets;
use super::attributes::Attributes;
use super::multipart::PartInfo;
use super::objects::{MAX_OBJECT_BYTES, ObjectInfo};
use crate::error::{Error, Result};

/// The object a `CopySource` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    pub bucket: String,
    pub key: String,
}

/// Reads S3's `CopySource`: `bucket/key` or `/bucket/key`, URL-encoded.
/// funnel keeps no versions: a `?versionId=` other than S3's `null` (the
/// version of an object in an unversioned bucket) is refused.
pub fn parse_copy_source(source: &str) -> Result<CopySource> {
    let bad = |why: &str| {
        Error::InvalidArgument(format!(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey \
             ({source:?} {why})"
        ))
    };
    let (path, query) = match source.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (source, None),
    };
    if let Some(query) = query {
        match query.strip_prefix("versionId=") {
            Some("null") => {}
            Some(_) => {
                return Err(Error::InvalidArgument(format!(
                    "funnel keeps no object versions: the copy source {source:?} names one \
                     (only versionId=null, the current object, is served)"
                )));
            }
            None => return Err(bad("has a query other than versionId")),
        }
    }
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| bad("is not UTF-8 once decoded"))?;
    let path = path.strip_prefix('/').unwrap_or(&path);
    match path.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(CopySource {
            bucket: bucket.to_string(),
            key: key.to_string(),
        }),
        _ => Err(bad("names no bucket and key")),
    }
}

impl Buckets {
    /// Copies `from_key` of `from_bucket` to `to_key` of `to_bucket`, with
    /// the source's type and metadata or, with S3's `MetadataDirective`
    /// REPLACE, `replace`'s. A copy onto itself must change something (a
    /// REPLACE), as S3 requires.
    pub async fn copy_object(
        &self,
        (from_bucket, from_key): (&str, &str),
        (to_bucket, to_key): (&str, &str),
        replace: Option<Attributes>,
    ) -> Result<ObjectInfo> {
        if from_bucket == to_bucket && from_key == to_key && replace.is_none() {
            return Err(Error::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself \
                 without changing the object's metadata, storage class, website redirect \
                 location or encryption attributes."
                    .into(),
            ));
        }
        let (info, _, mut file) = self.get_object(from_bucket, from_key, "").await?;
        if info.size > MAX_OBJECT_BYTES {
            return Err(Error::InvalidRequest(format!(
                "The specified copy source is larger than the maximum allowable size for a copy \
                 source: {MAX_OBJECT_BYTES}"
            )));
        }
        let mut upload = self.begin_put(to_bucket, to_key).await?;
        upload.describe(replace.unwrap_or(info.attributes));
        let mut buffer = vec![0; 256 * 1024];
        loop {
            let read = file
                .read(&mut buffer)
                .await
                .map_err(|e| Error::Service(format!("reading object {from_key}: {e}")))?;
            if read == 0 {
                break;
            }
            upload.write(&buffer[..read]).await?;
        }
        self.finish(upload, "ObjectCreated:Copy", None).await
    }
}

impl Buckets {
    /// UploadPartCopy: part `part_number` of upload `upload_id` (of
    /// `to_key`) is `from_key`'s bytes, or those `range` (S3's
    /// `x-amz-copy-source-range`, `bytes=first-last`) names.
    pub async fn upload_part_copy(
        &self,
        (from_bucket, from_key): (&str, &str),
        range: &str,
        (to_bucket, to_key): (&str, &str),
        (upload_id, part_number): (&str, i32),
    ) -> Result<PartInfo> {
        if !range.is_empty() && !is_closed_range(range) {
            return Err(Error::InvalidArgument(format!(
                "The x-amz-copy-source-range value must be of the form bytes=first-last where                  first and last are the zero-based offsets of the first and last bytes to copy                  ({range:?} given)"
            )));
        }
        let mut part = self
            .begin_part(to_bucket, to_key, upload_id, part_number)
            .await?;
        let (info, range, mut file) = self.get_object(from_bucket, from_key, range).await?;
        let mut left = range.map_or(info.size, |r| r.len());
        let mut buffer = vec![0; 256 * 1024];
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let read = file
                .read(&mut buffer[..want])
                .await
                .map_err(|e| Error::Service(format!("reading object {from_key}: {e}")))?;
            if read == 0 {
                return Err(Error::InvalidRequest(format!(
                    "object {from_key} became shorter while it was copied"
                )));
            }
            part.write(&buffer[..read]).await?;
            left -= read as u64;
        }
        self.finish_part(part, upload_id, part_number).await
    }
}

/// S3's copy range: both ends given (`bytes=first-last`), no suffix form.
fn is_closed_range(range: &str) -> bool {
    range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(first, last)| {
            first
                .parse::<u64>()
                .is_ok_and(|f| last.parse::<u64>().is_ok_and(|l| f <= l))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(source: &str) -> (String, String) {
        let s = parse_copy_source(source).unwrap();
        (s.bucket, s.key)
    }

    #[test]
    fn copy_sources_as_s3_takes_them() {
        let pair = |b: &str, k: &str| (b.to_string(), k.to_string());
        assert_eq!(parsed("photos/a/b.jpg"), pair("photos", "a/b.jpg"));
        assert_eq!(parsed("/photos/a/b.jpg"), pair("photos", "a/b.jpg"));
        assert_eq!(
            parsed("photos/my%20cat%2B1.jpg"),
            pair("photos", "my cat+1.jpg")
        );
        assert_eq!(parsed("photos/a%3Fb"), pair("photos", "a?b"));
        assert_eq!(parsed("photos/k?versionId=null"), pair("photos", "k"));
        for bad in ["photos", "photos/", "/k", "", "photos/k?acl", "photos/%ff"] {
            let err = parse_copy_source(bad).unwrap_err();
            assert_eq!(err.aws_name(), "InvalidArgument", "{bad}");
        }
        let err = parse_copy_source("photos/k?versionId=3HL4kqtJ").unwrap_err();
        assert!(err.message().contains("no object versions"), "{err}");
    }

    #[test]
    fn copy_ranges_name_both_ends() {
        assert!(is_closed_range("bytes=0-99"));
        assert!(is_closed_range("bytes=5-5"));
        for bad in [
            "bytes=-100",
            "bytes=100-",
            "bytes=9-1",
            "0-99",
            "bytes=a-b",
            "bytes=0-1,3-4",
        ] {
            assert!(!is_closed_range(bad), "{bad}");
        }
    }
}
