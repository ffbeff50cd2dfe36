//! GetObject's and HeadObject's `Range`, as S3 reads the HTTP header: one
//! range of bytes (`bytes=first-last`, `bytes=first-`, `bytes=-suffix`).
//! A header S3 cannot read is ignored (the whole object); one it reads but
//! the object cannot satisfy is `InvalidRange`.

use crate::error::{Error, Result};

/// The bytes `first..=last` of an object of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
    pub size: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// `Content-Range`: `bytes first-last/size`.
    pub fn content_range(&self) -> String {
        format!("bytes {}-{}/{}", self.first, self.last, self.size)
    }
}

/// The range `header` asks of an object of `size` bytes: `None` for the
/// whole object (no header, or one that does not parse, or more than one
/// range, as S3 does).
pub fn parse(header: &str, size: u64) -> Result<Option<ByteRange>> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let unsatisfiable = || {
        Error::InvalidRange(format!(
            "The requested range is not satisfiable: {header} of an object of {size} bytes"
        ))
    };
    if first.trim().is_empty() {
        // The last `suffix` bytes.
        let Some(suffix) = number(last) else {
            return Ok(None);
        };
        if suffix == 0 || size == 0 {
            return Err(unsatisfiable());
        }
        return Ok(Some(ByteRange {
            first: size.saturating_sub(suffix),
            last: size - 1,
            size,
        }));
    }
    let Some(first) = number(first) else {
        return Ok(None);
    };
    let last = match last.trim() {
        "" => None,
        text => match number(text) {
            Some(last) if last >= first => Some(last),
            // `5-2`, `1-x`, `0-1,4-5`: not a range S3 reads.
            _ => return Ok(None),
        },
    };
    if first >= size {
        return Err(unsatisfiable());
    }
    Ok(Some(ByteRange {
        first,
        last: last.unwrap_or(size - 1).min(size - 1),
        size,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(header: &str, size: u64) -> Option<(u64, u64)> {
        parse(header, size).unwrap().map(|r| (r.first, r.last))
    }

    #[test]
    fn the_three_forms_clipped_to_the_object() {
        assert_eq!(range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(range("bytes=90-200", 100), Some((90, 99)));
        assert_eq!(range("bytes=95-", 100), Some((95, 99)));
        assert_eq!(range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(range("bytes=-500", 100), Some((0, 99)));
        assert_eq!(range("bytes=7-7", 100), Some((7, 7)));
        let r = parse("bytes=10-19", 100).unwrap().unwrap();
        assert_eq!((r.len(), r.content_range()), (10, "bytes 10-19/100".into()));
    }

    #[test]
    fn what_does_not_parse_is_the_whole_object() {
        for header in [
            "",
            "bytes",
            "items=0-1",
            "bytes=5-2",
            "bytes=a-b",
            "bytes=-",
            "bytes=0-1,4-5",
            "bytes=-1-2",
            "bytes=+1-2",
        ] {
            assert_eq!(range(header, 100), None, "{header}");
        }
    }

    #[test]
    fn past_the_end_is_invalid_range() {
        for (header, size) in [
            ("bytes=100-", 100),
            ("bytes=100-200", 100),
            ("bytes=0-", 0),
            ("bytes=-0", 100),
            ("bytes=-5", 0),
        ] {
            let err = parse(header, size).unwrap_err();
            assert_eq!(err.aws_name(), "InvalidRange", "{header}");
        }
    }
}
