//! Lambda's CORS for function URLs: preflight requests are answered from
//! the URL's `Cors` settings without invoking the function; other answers
//! to an allowed origin get the settings' headers (replacing any the
//! function set).

use funnel_store::CorsRecord;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};

/// Whether `request` is a CORS preflight (OPTIONS with an Origin and the
/// method it asks about).
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The headers of a preflight's answer (none when the origin is not
/// allowed: the browser then refuses the request): an answer's, and what
/// may be asked for and for how long.
pub fn preflight(cors: &CorsRecord, headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = actual(cors, headers);
    if out.is_empty() {
        return out;
    }
    push_list(
        &mut out,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &cors.allow_methods,
    );
    push_list(
        &mut out,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        &cors.allow_headers,
    );
    if cors.max_age > 0 {
        out.push((
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(cors.max_age),
        ));
    }
    out
}

/// `name: a,b,c` of `items`, when there are any.
fn push_list(out: &mut Vec<(HeaderName, HeaderValue)>, name: HeaderName, items: &[String]) {
    if !items.is_empty()
        && let Ok(value) = HeaderValue::try_from(items.join(","))
    {
        out.push((name, value));
    }
}

/// The headers an answer to `headers`'s origin gets.
pub fn actual(cors: &CorsRecord, headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let Some(origin) = allowed_origin(cors, headers) else {
        return Vec::new();
    };
    let mut out = vec![(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)];
    push_list(
        &mut out,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        &cors.expose_headers,
    );
    if cors.allow_credentials {
        out.push((
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        ));
    }
    out.push((header::VARY, HeaderValue::from_static("Origin")));
    out
}

/// The Access-Control-Allow-Origin for the request's Origin, if allowed:
/// `*` when any origin is and credentials are not; else the origin itself.
fn allowed_origin(cors: &CorsRecord, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    let any = cors.allow_origins.iter().any(|o| o == "*");
    if any && !cors.allow_credentials {
        return Some(HeaderValue::from_static("*"));
    }
    let listed = cors
        .allow_origins
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(text));
    (any || listed).then(|| origin.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> CorsRecord {
        CorsRecord {
            allow_credentials: credentials,
            allow_headers: vec!["content-type".into(), "x-token".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_origins: origins.iter().map(|o| o.to_string()).collect(),
            expose_headers: vec!["x-request".into()],
            max_age: 600,
        }
    }

    fn from(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::try_from(origin).unwrap());
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        headers
    }

    fn get(out: &[(HeaderName, HeaderValue)], name: HeaderName) -> Option<&str> {
        out.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_str().unwrap())
    }

    #[test]
    fn a_preflight_from_a_listed_origin_is_answered_with_the_settings() {
        let headers = from("https://app.example.com");
        assert!(is_preflight(&Method::OPTIONS, &headers));
        assert!(!is_preflight(&Method::GET, &headers));
        let out = preflight(&cors(&["https://app.example.com"], true), &headers);
        assert_eq!(
            get(&out, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("https://app.example.com")
        );
        assert_eq!(
            get(&out, header::ACCESS_CONTROL_ALLOW_METHODS),
            Some("GET,POST")
        );
        assert_eq!(
            get(&out, header::ACCESS_CONTROL_ALLOW_HEADERS),
            Some("content-type,x-token")
        );
        assert_eq!(get(&out, header::ACCESS_CONTROL_MAX_AGE), Some("600"));
        assert_eq!(
            get(&out, header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            Some("true")
        );
    }

    #[test]
    fn other_origins_get_nothing_and_a_wildcard_gets_a_star() {
        assert!(
            preflight(
                &cors(&["https://app.example.com"], false),
                &from("https://evil.example")
            )
            .is_empty()
        );
        let out = actual(&cors(&["*"], false), &from("https://any.example"));
        assert_eq!(get(&out, header::ACCESS_CONTROL_ALLOW_ORIGIN), Some("*"));
        assert_eq!(
            get(&out, header::ACCESS_CONTROL_EXPOSE_HEADERS),
            Some("x-request")
        );
        // With credentials a browser refuses `*`: the origin is echoed.
        let out = actual(&cors(&["*"], true), &from("https://any.example"));
        assert_eq!(
            get(&out, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("https://any.example")
        );
    }
}
