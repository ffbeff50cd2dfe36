//! Routes on the HTTP door: which account's API a request is for (the
//! home account's at the root of the listener; another's under
//! `/api/<api-id>/` or at the host `<api-id>.execute-api.<anything>`),
//! which of its routes it matches ([`crate::apis`]), and the event of the
//! route's payload format. Routes need no resource policy: the account's
//! owner made them.

use std::net::SocketAddr;

use http::StatusCode;
use hyper::body::Incoming;

use super::response::Format;
use super::{
    HttpDoor, MAX_SYNC_PAYLOAD_BYTES, Reply, component, event, event_v1, internal_error, not_found,
};
use super::{read_body, too_large};
use crate::apis::{PAYLOAD_1_0, Which};

/// How long an API id is ([`crate::apis::api_id`]).
const API_ID_LEN: usize = 10;

impl HttpDoor {
    /// Serves a request that names no function URL: by its API's routes,
    /// or `404 {"message":"Not Found"}` when none matches.
    pub(super) async fn route(
        &self,
        parts: http::request::Parts,
        body: Incoming,
        remote: SocketAddr,
        request_id: &str,
    ) -> Reply {
        let located = locate_api(&parts);
        let which = match &located.api_id {
            Some(id) => Which::Id(id),
            None => Which::Home,
        };
        let Some(matched) = self
            .inner
            .apis
            .find(which, parts.method.as_str(), &located.raw_path)
        else {
            return not_found().into();
        };
        let route = &matched.route;
        let resolved = match self.resolve(&route.function, &route.qualifier).await {
            Ok(Some(resolved)) => resolved,
            Ok(None) => {
                // API Gateway's answer when a route's integration is gone.
                tracing::info!(route = %route.route_key, function = %route.function, "the route's function no longer exists");
                return internal_error(StatusCode::INTERNAL_SERVER_ERROR).into();
            }
            Err(answer) => return answer.into(),
        };
        if resolved.component {
            let raw_path = &located.raw_path;
            return component::serve(self, parts, body, raw_path, &resolved.record, request_id)
                .await;
        }
        let body = match read_body(&parts, body, self.inner.config.body_timeout).await {
            Ok(body) => body,
            Err(answer) => return answer.into(),
        };
        let source_ip = remote.ip().to_string();
        let context = event::Context {
            request_id,
            account_id: &route.account,
            api_id: &matched.api_id,
            domain_name: &located.domain,
            domain_prefix: &matched.api_id,
            route_key: &route.route_key,
            raw_path: &located.raw_path,
            source_ip: &source_ip,
            path_parameters: (!matched.path_parameters.is_empty())
                .then_some(&matched.path_parameters),
            authorizer: None,
            now: self.inner.clock.wall(),
        };
        let (event, format) = if route.payload_format_version == PAYLOAD_1_0 {
            (event_v1::v1(&parts, &body, &context), Format::V1)
        } else {
            (event::v2(&parts, &body, &context), Format::V2)
        };
        let payload = event.to_string().into_bytes();
        if payload.len() > MAX_SYNC_PAYLOAD_BYTES {
            return too_large().into();
        }
        self.invoke(&resolved, payload, request_id, format)
            .await
            .into()
    }
}

/// Which API a request is for and the path below its root.
#[derive(Debug, PartialEq, Eq)]
struct ApiLocated {
    /// `None`: the home account's.
    api_id: Option<String>,
    raw_path: String,
    domain: String,
}

fn locate_api(parts: &http::request::Parts) -> ApiLocated {
    let host = super::host_of(parts);
    let hostname = host.split(':').next().unwrap_or_default().to_string();
    let path = parts.uri.path();
    if let Some((api_id, _)) = hostname.split_once(".execute-api.") {
        return ApiLocated {
            api_id: Some(api_id.to_ascii_lowercase()),
            raw_path: path.to_string(),
            domain: hostname,
        };
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        let (id, below) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        if id.len() == API_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return ApiLocated {
                api_id: Some(id.to_string()),
                raw_path: below.to_string(),
                domain: hostname,
            };
        }
    }
    ApiLocated {
        api_id: None,
        raw_path: path.to_string(),
        domain: hostname,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(uri: &str, host: &str) -> (Option<String>, String, String) {
        let parts = http::Request::get(uri)
            .header("host", host)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let l = locate_api(&parts);
        (l.api_id, l.raw_path, l.domain)
    }

    #[test]
    fn apis_are_found_by_prefix_or_host_else_home() {
        assert_eq!(
            located("/users/42?x=1", "127.0.0.1:7879"),
            (None, "/users/42".into(), "127.0.0.1".into())
        );
        assert_eq!(
            located("/api/abcde12345/users/42", "127.0.0.1:7879"),
            (
                Some("abcde12345".into()),
                "/users/42".into(),
                "127.0.0.1".into()
            )
        );
        assert_eq!(
            located("/api/abcde12345", "localhost").1,
            "/",
            "the API's root"
        );
        assert_eq!(
            located("/users", "abcde12345.execute-api.localhost:7879"),
            (
                Some("abcde12345".into()),
                "/users".into(),
                "abcde12345.execute-api.localhost".into()
            )
        );
        // Not an API id: the home API's own /api/... path.
        assert_eq!(located("/api/docs", "localhost").0, None);
    }
}
