//! `[[route]]` in a stack file: routes on the account's API (API Gateway
//! HTTP API's shape), each sending matching HTTP requests to a function.
//!
//! ```toml
//! [[route]]
//! route_key = "GET /hello/{name}"      # METHOD /path, {param}, a final {proxy+}, or $default
//! function = "hello-http"
//! # qualifier = "live"                 # an alias or version; $LATEST by default
//! # payload_format_version = "1.0"     # the REST proxy event; 2.0 by default
//! ```
//!
//! Deploying creates a route that is missing and replaces one whose
//! function, qualifier or payload format changed; nothing when all is in
//! place. As with functions, topics and rules, a route the file no longer
//! lists is left alone (`funnel api delete-route` removes it).

use std::collections::BTreeSet;

use funnel_client::{Client, proto};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub route_key: String,
    pub function: String,
    pub qualifier: Option<String>,
    pub payload_format_version: Option<String>,
}

/// A route key declared twice, if any.
pub fn duplicate(routes: &[RouteSpec]) -> Option<&str> {
    let mut seen = BTreeSet::new();
    routes
        .iter()
        .find(|r| !seen.insert(r.route_key.as_str()))
        .map(|r| r.route_key.as_str())
}

/// Deploys the stack's routes; returns what changed.
pub async fn deploy_routes(
    client: &Client,
    specs: &[RouteSpec],
) -> anyhow::Result<Vec<(String, String)>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let existing = client.get_routes().await?;
    let mut changes = Vec::new();
    for spec in specs {
        let label = format!("route {}", spec.route_key);
        let arn = client
            .function_arn(&spec.function)
            .await
            .map_err(|err| anyhow::anyhow!("function {} of {label}: {err}", spec.function))?;
        let qualifier = spec.qualifier.clone().unwrap_or_default();
        let version = spec
            .payload_format_version
            .clone()
            .unwrap_or_else(|| "2.0".into());
        let current = existing.iter().find(|r| r.route_key == spec.route_key);
        let change = match current {
            Some(r)
                if r.target == arn
                    && r.qualifier == qualifier
                    && r.payload_format_version == version =>
            {
                changes.push((label, "unchanged".into()));
                continue;
            }
            Some(_) => {
                client.delete_route(&spec.route_key).await?;
                "replaced"
            }
            None => "created",
        };
        client
            .create_route(proto::CreateRouteRequest {
                route_key: spec.route_key.clone(),
                target: arn,
                qualifier,
                payload_format_version: version,
                ..Default::default()
            })
            .await
            .map_err(|err| anyhow::anyhow!("{label}: {err}"))?;
        changes.push((label, change.into()));
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use crate::stack::Stack;

    fn load(text: &str) -> anyhow::Result<Stack> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("funnel.toml");
        std::fs::write(&path, text).unwrap();
        Stack::load(&path)
    }

    #[test]
    fn routes_and_urls_load_and_mistakes_are_named() {
        let stack = load(
            r#"
            [[function]]
            name = "web"
            crate = "http-greet"
            [function.url]
            auth_type = "NONE"
            cors = { allow_origins = ["*"], max_age = 300 }
            [[route]]
            route_key = "GET /hello/{name}"
            function = "web"
            payload_format_version = "1.0"
            "#,
        )
        .expect("a stack");
        let url = stack.functions[0].url.as_ref().expect("a url");
        assert_eq!(url.auth_type, "NONE");
        assert_eq!(url.cors.as_ref().unwrap().max_age, 300);
        assert_eq!(
            stack.routes[0].payload_format_version.as_deref(),
            Some("1.0")
        );
        let twice = "[[route]]\nroute_key = \"$default\"\nfunction = \"a\"\n\
                     [[route]]\nroute_key = \"$default\"\nfunction = \"b\"\n";
        let err = format!("{:#}", load(twice).unwrap_err());
        assert!(err.contains("\"$default\" is declared twice"), "{err}");
        let err = format!(
            "{:#}",
            load("[[function]]\nname = \"w\"\ncrate = \"w\"\n[function.url]\nauth_type = \"NONE\"\ncors = { AllowOrigins = [\"*\"] }\n")
                .unwrap_err()
        );
        assert!(err.contains("AllowOrigins"), "{err}");
    }
}
