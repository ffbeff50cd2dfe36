//! Filter patterns for log events, the unstructured subset of CloudWatch
//! Logs' syntax: space-separated terms that must all appear, `"quoted
//! phrases"` matched whole, `-term` that must not appear, and `?term` of
//! which at least one must appear. Matching is case-sensitive, as in
//! CloudWatch. An empty pattern matches everything.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pattern {
    all: Vec<String>,
    none: Vec<String>,
    any: Vec<String>,
}

impl Pattern {
    pub fn parse(text: &str) -> Pattern {
        let mut pattern = Pattern::default();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (prefix, body) = match rest.as_bytes()[0] {
                b'-' => ('-', &rest[1..]),
                b'?' => ('?', &rest[1..]),
                _ => (' ', rest),
            };
            let (term, after) = match body.strip_prefix('"') {
                Some(quoted) => match quoted.find('"') {
                    Some(end) => (&quoted[..end], &quoted[end + 1..]),
                    None => (quoted, ""),
                },
                None => match body.find(char::is_whitespace) {
                    Some(end) => (&body[..end], &body[end..]),
                    None => (body, ""),
                },
            };
            if !term.is_empty() {
                let list = match prefix {
                    '-' => &mut pattern.none,
                    '?' => &mut pattern.any,
                    _ => &mut pattern.all,
                };
                list.push(term.to_string());
            }
            rest = after.trim_start();
        }
        pattern
    }

    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn terms_phrases_exclusions_and_alternatives() {
        let line = "ERROR payment failed for order 42";
        assert!(Pattern::parse("").matches(line));
        assert!(Pattern::parse("ERROR").matches(line));
        assert!(Pattern::parse("ERROR order").matches(line));
        assert!(!Pattern::parse("ERROR refund").matches(line));
        assert!(Pattern::parse("\"payment failed\"").matches(line));
        assert!(!Pattern::parse("\"failed payment\"").matches(line));
        assert!(!Pattern::parse("ERROR -payment").matches(line));
        assert!(Pattern::parse("?WARN ?ERROR").matches(line));
        assert!(!Pattern::parse("?WARN ?INFO").matches(line));
        assert!(!Pattern::parse("error").matches(line), "case-sensitive");
    }
}
