//! S3 event helpers.

/// An object key as S3 events carry it, decoded: events form-encode keys
/// (Python's `urllib.parse.unquote_plus` undoes it), so `my+cat%C3%A9.jpg`
/// is the key `my caté.jpg`. A `+` in a key arrives as `%2B` and survives.
///
/// ```
/// assert_eq!(funnel_function::s3::decode_key("photos/my+cat.jpg").unwrap(), "photos/my cat.jpg");
/// ```
pub fn decode_key(key: &str) -> Result<String, std::str::Utf8Error> {
    // '+' first: a literal '+' is %2B by now.
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
}

#[cfg(test)]
mod tests {
    use super::decode_key;

    #[test]
    fn keys_are_decoded_like_unquote_plus() {
        assert_eq!(
            decode_key("photos/my+cat.jpg").unwrap(),
            "photos/my cat.jpg"
        );
        assert_eq!(decode_key("a%2Bb%20c%C3%A9.txt").unwrap(), "a+b cé.txt");
        assert_eq!(decode_key("plain.txt").unwrap(), "plain.txt");
        assert!(decode_key("bad%FF").is_err());
    }
}
