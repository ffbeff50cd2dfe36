//! Route keys (`GET /users/{id}`, `ANY /{proxy+}`, `$default`): parsed
//! once when a route is made or loaded, then matched against request
//! paths by API Gateway HTTP API's rules.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The methods a route key may name (`ANY` is any of them, and any other).
const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// The key of the route that catches what no other route matches.
pub const DEFAULT_ROUTE: &str = "$default";

/// A parsed route key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    /// `$default`.
    Default,
    /// `METHOD /path`.
    Path {
        /// `None` for `ANY`.
        method: Option<String>,
        segments: Vec<Segment>,
    },
}

/// One `/`-separated part of a route's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `{name}`: any one non-empty segment.
    Param(String),
    /// `{name+}`, last: one or more segments.
    Greedy(String),
}

/// What two routes must not share: the method and the path with its
/// parameters unnamed (`GET /users/{id}` and `GET /users/{name}` are one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shape(String);

impl RouteKey {
    /// Parses `key`; the error (BadRequestException) names what is wrong.
    pub fn parse(key: &str) -> Result<RouteKey> {
        let bad = |why: String| Error::BadRequest(format!("RouteKey {key:?} is invalid: {why}"));
        if key == DEFAULT_ROUTE {
            return Ok(RouteKey::Default);
        }
        let Some((method, path)) = key.split_once(' ') else {
            return Err(bad(
                "it must be `METHOD /path` (e.g. `GET /users/{id}`) or `$default`".into(),
            ));
        };
        if !METHODS.contains(&method) {
            return Err(bad(format!(
                "method {method:?} is not one of {}",
                METHODS.join(", ")
            )));
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Err(bad(format!("the path {path:?} must start with /")));
        };
        let mut segments = Vec::new();
        let mut names = Vec::new();
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        for (i, part) in parts.iter().enumerate() {
            let segment = if let Some(inner) =
                part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
            {
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(name) => (name, true),
                    None => (inner, false),
                };
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                {
                    return Err(bad(format!(
                        "path parameter {part:?} must be {{name}} or {{name+}}, the name of letters, digits, _, - or ."
                    )));
                }
                if names.contains(&name) {
                    return Err(bad(format!("path parameter {name:?} appears twice")));
                }
                names.push(name);
                if greedy {
                    if i + 1 != parts.len() {
                        return Err(bad(format!(
                            "the greedy path parameter {part:?} must be the last segment"
                        )));
                    }
                    Segment::Greedy(name.to_string())
                } else {
                    Segment::Param(name.to_string())
                }
            } else {
                if part.is_empty() {
                    return Err(bad(
                        "the path has an empty segment (`//` or a trailing /)".into()
                    ));
                }
                if let Some(c) = part
                    .chars()
                    .find(|c| matches!(c, '{' | '}' | '?' | '#' | ' ') || c.is_control())
                {
                    return Err(bad(format!(
                        "path segment {part:?} holds {c:?}: a parameter must be a whole segment"
                    )));
                }
                Segment::Literal(part.to_string())
            };
            segments.push(segment);
        }
        Ok(RouteKey::Path {
            method: (method != "ANY").then(|| method.to_string()),
            segments,
        })
    }

    /// What a conflicting route would share with this one.
    pub fn shape(&self) -> Shape {
        match self {
            RouteKey::Default => Shape(DEFAULT_ROUTE.into()),
            RouteKey::Path { method, segments } => {
                let mut shape = method.clone().unwrap_or_else(|| "ANY".into());
                shape.push(' ');
                for segment in segments {
                    shape.push('/');
                    match segment {
                        Segment::Literal(text) => shape.push_str(text),
                        Segment::Param(_) => shape.push_str("{}"),
                        Segment::Greedy(_) => shape.push_str("{+}"),
                    }
                }
                Shape(shape)
            }
        }
    }

    /// How specific the route is: smaller sorts first and wins. Path
    /// first, segment by segment (a literal over `{param}` over
    /// `{proxy+}`), then a method over `ANY`. Two routes that match the
    /// same path have the same literals where both have literals, so
    /// this order alone picks the most specific of them.
    pub fn rank(&self) -> (Vec<u8>, bool) {
        match self {
            RouteKey::Default => (vec![u8::MAX], true),
            RouteKey::Path { method, segments } => (
                segments
                    .iter()
                    .map(|s| match s {
                        Segment::Literal(_) => 0,
                        Segment::Param(_) => 1,
                        Segment::Greedy(_) => 2,
                    })
                    .collect(),
                method.is_none(),
            ),
        }
    }

    /// The path parameters, when a request of `method` for `path` (from
    /// `/`, still percent-encoded) matches this route (`$default` matches
    /// nothing here: it is what is left).
    pub fn matches(&self, method: &str, path: &str) -> Option<BTreeMap<String, String>> {
        let RouteKey::Path {
            method: wanted,
            segments,
        } = self
        else {
            return None;
        };
        if wanted.as_deref().is_some_and(|m| m != method) {
            return None;
        }
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut parameters = BTreeMap::new();
        for (i, segment) in segments.iter().enumerate() {
            match segment {
                Segment::Greedy(name) => {
                    let remaining = parts.get(i..)?;
                    if remaining.is_empty() || remaining.iter().all(|p| p.is_empty()) {
                        return None;
                    }
                    parameters.insert(name.clone(), percent_decode(&remaining.join("/")));
                    return Some(parameters);
                }
                Segment::Literal(text) => {
                    let part = parts.get(i)?;
                    if *part != text && percent_decode(part) != *text {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let part = parts.get(i).filter(|p| !p.is_empty())?;
                    parameters.insert(name.clone(), percent_decode(part));
                }
            }
        }
        (parts.len() == segments.len()).then_some(parameters)
    }

    /// The path of a route (`/users/{id}`), for payload format 1.0's
    /// `resource`; `$default` for the default route.
    pub fn resource(key: &str) -> &str {
        key.split_once(' ').map_or(key, |(_, path)| path)
    }
}

/// `%XX` escapes decoded (API Gateway decodes parameters before passing
/// them on); a malformed escape, or bytes that are not UTF-8, stay as
/// they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> RouteKey {
        RouteKey::parse(text).unwrap()
    }

    fn params(route: &str, method: &str, path: &str) -> Option<Vec<(String, String)>> {
        key(route)
            .matches(method, path)
            .map(|p| p.into_iter().collect())
    }

    #[test]
    fn bad_keys_are_named() {
        for (text, why) in [
            ("GET", "METHOD /path"),
            ("FETCH /a", "method \"FETCH\""),
            ("get /a", "method"),
            ("GET a", "start with /"),
            ("GET /a//b", "empty segment"),
            ("GET /a/", "empty segment"),
            ("GET /a{id}", "whole segment"),
            ("GET /{}", "path parameter"),
            ("GET /{a b}", "path parameter"),
            ("GET /{proxy+}/more", "last segment"),
            ("GET /{id}/{id}", "twice"),
            ("$other", "METHOD /path"),
        ] {
            let err = RouteKey::parse(text).unwrap_err();
            assert_eq!(err.aws_name(), "BadRequestException", "{text}");
            assert!(err.message().contains(why), "{text}: {}", err.message());
            assert!(err.message().contains(text), "{text}: {}", err.message());
        }
        assert_eq!(key("$default"), RouteKey::Default);
        assert!(RouteKey::parse("ANY /").is_ok());
    }

    #[test]
    fn paths_match_segment_by_segment() {
        let p = |pairs: &[(&str, &str)]| {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(params("GET /users", "GET", "/users"), p(&[]));
        assert_eq!(params("GET /users", "POST", "/users"), None);
        assert_eq!(params("ANY /users", "POST", "/users"), p(&[]));
        assert_eq!(params("GET /users", "GET", "/users/42"), None);
        assert_eq!(
            params("GET /users/{id}", "GET", "/users/a%20b"),
            p(&[("id", "a b")])
        );
        assert_eq!(params("GET /users/{id}", "GET", "/users/"), None);
        assert_eq!(params("GET /users/{id}", "GET", "/users"), None);
        assert_eq!(
            params("GET /files/{proxy+}", "GET", "/files/a/b/c.txt"),
            p(&[("proxy", "a/b/c.txt")])
        );
        assert_eq!(params("GET /files/{proxy+}", "GET", "/files"), None);
        assert_eq!(params("GET /files/{proxy+}", "GET", "/files/"), None);
        assert_eq!(params("GET /", "GET", "/"), p(&[]));
        assert_eq!(params("GET /", "GET", "/a"), None);
        assert_eq!(key("$default").matches("GET", "/"), None);
    }

    #[test]
    fn shapes_ignore_parameter_names_only() {
        assert_eq!(
            key("GET /users/{id}").shape(),
            key("GET /users/{name}").shape()
        );
        assert_ne!(
            key("GET /users/{id}").shape(),
            key("ANY /users/{id}").shape()
        );
        assert_ne!(key("GET /users/{id}").shape(), key("GET /users/me").shape());
        assert_ne!(
            key("GET /users/{id}").shape(),
            key("GET /users/{id+}").shape()
        );
    }

    #[test]
    fn the_most_specific_route_sorts_first() {
        let mut keys = vec![
            "ANY /{proxy+}",
            "GET /pets/{proxy+}",
            "ANY /pets/dog/{id}",
            "GET /pets/dog/{id}",
            "GET /pets/dog/1",
            "$default",
        ];
        keys.sort_by_key(|k| key(k).rank());
        assert_eq!(
            keys,
            [
                "GET /pets/dog/1",
                "GET /pets/dog/{id}",
                "ANY /pets/dog/{id}",
                "GET /pets/{proxy+}",
                "ANY /{proxy+}",
                "$default"
            ]
        );
        assert_eq!(RouteKey::resource("GET /pets/{id}"), "/pets/{id}");
        assert_eq!(RouteKey::resource("$default"), "$default");
    }
}
