//! `[function.url]` in a stack file: the function's URL (Lambda's
//! `FunctionUrlConfig`) on the HTTP listener.
//!
//! ```toml
//! [function.url]
//! auth_type = "NONE"                   # or "FUNNEL": an access key's user allowed lambda:InvokeFunctionUrl
//! # Lambda's Cors keys in snake case (all optional):
//! cors = { allow_origins = ["https://app.example.com"], allow_methods = ["GET", "POST"], max_age = 300 }
//! ```
//!
//! Deploying creates the URL, or updates a config whose `auth_type` or
//! `cors` changed (the URL itself stays). For `auth_type = "NONE"` it also
//! adds the statement Lambda requires before anyone may call the URL
//! (Sid `FunctionURLAllowPublicAccess`: `lambda:InvokeFunctionUrl` for `*`
//! with `FunctionUrlAuthType NONE`), so a stack's URL answers out of the
//! box. A URL the file no longer declares is left alone
//! (`funnel function delete-url-config` removes it).

use funnel_client::{Client, proto};
use serde::Deserialize;

/// The statement id Lambda's console uses for a public URL.
const PUBLIC_SID: &str = "FunctionURLAllowPublicAccess";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlSpec {
    /// `NONE` or `FUNNEL`.
    pub auth_type: String,
    pub cors: Option<CorsSpec>,
}

/// Lambda's `Cors` object, its keys in snake case.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSpec {
    pub allow_credentials: bool,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_origins: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: i32,
}

impl CorsSpec {
    fn to_proto(&self) -> proto::Cors {
        proto::Cors {
            allow_credentials: self.allow_credentials,
            allow_headers: self.allow_headers.clone(),
            allow_methods: self.allow_methods.clone(),
            allow_origins: self.allow_origins.clone(),
            expose_headers: self.expose_headers.clone(),
            max_age: self.max_age,
        }
    }
}

/// Deploys `function`'s URL; returns what changed.
pub async fn deploy_url(
    client: &Client,
    function: &str,
    spec: &UrlSpec,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut changes = Vec::new();
    let label = format!("url {function}");
    // An empty Cors message means "no CORS" to the server.
    let cors = spec
        .cors
        .as_ref()
        .map(CorsSpec::to_proto)
        .unwrap_or_default();
    match client.get_function_url_config(function, "").await {
        Ok(current) => {
            if current.auth_type == spec.auth_type && current.cors.unwrap_or_default() == cors {
                changes.push((label, format!("unchanged ({})", current.function_url)));
            } else {
                let updated = client
                    .update_function_url_config(proto::UpdateFunctionUrlConfigRequest {
                        function_name: function.into(),
                        auth_type: spec.auth_type.clone(),
                        cors: Some(cors),
                        ..Default::default()
                    })
                    .await?;
                changes.push((label, format!("updated ({})", updated.function_url)));
            }
        }
        Err(err) if err.error_type.as_deref() == Some("ResourceNotFoundException") => {
            let created = client
                .create_function_url_config(proto::CreateFunctionUrlConfigRequest {
                    function_name: function.into(),
                    auth_type: spec.auth_type.clone(),
                    cors: spec.cors.as_ref().map(CorsSpec::to_proto),
                    ..Default::default()
                })
                .await?;
            changes.push((label, format!("created ({})", created.function_url)));
        }
        Err(err) => return Err(err.into()),
    }
    if spec.auth_type == "NONE" {
        changes.extend(ensure_public(client, function).await?);
    }
    Ok(changes)
}

/// Adds the statement that lets anyone call the URL, unless it is there.
async fn ensure_public(
    client: &Client,
    function: &str,
) -> anyhow::Result<Option<(String, String)>> {
    super::ensure_statement(
        client,
        proto::AddPermissionRequest {
            function_name: function.into(),
            statement_id: PUBLIC_SID.into(),
            action: "lambda:InvokeFunctionUrl".into(),
            principal: "*".into(),
            function_url_auth_type: "NONE".into(),
            ..Default::default()
        },
    )
    .await
}
