//! `funnel function create-url-config|get-url-config|update-url-config|
//! delete-url-config|list-url-configs`: function URLs.

use clap::Args;
use funnel_client::{Client, json, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Args)]
pub struct UrlConfigArgs {
    pub name: String,
    /// An alias (the function's $LATEST by default).
    #[arg(long)]
    pub qualifier: Option<String>,
    /// NONE (anyone; the resource policy must allow it) or FUNNEL (an
    /// access key, `Authorization: Bearer ID:SECRET`).
    #[arg(long)]
    pub auth_type: Option<String>,
    /// Lambda's Cors object as JSON, e.g.
    /// '{"AllowOrigins":["https://app.example.com"],"AllowMethods":["GET"]}';
    /// '{}' removes CORS (update-url-config).
    #[arg(long)]
    pub cors: Option<String>,
    /// BUFFERED (default) or RESPONSE_STREAM.
    #[arg(long)]
    pub invoke_mode: Option<String>,
}

pub async fn create(client: &Client, args: UrlConfigArgs) -> anyhow::Result<()> {
    let Some(auth_type) = args.auth_type else {
        anyhow::bail!("--auth-type is required: NONE or FUNNEL");
    };
    let qualifier = args.qualifier.unwrap_or_default();
    let config = client
        .create_function_url_config(proto::CreateFunctionUrlConfigRequest {
            function_name: args.name.clone(),
            qualifier: qualifier.clone(),
            auth_type: auth_type.clone(),
            cors: args.cors.as_deref().map(parse_cors).transpose()?,
            invoke_mode: args.invoke_mode.unwrap_or_default(),
        })
        .await?;
    if auth_type == "NONE" && !public(client, &args.name, &qualifier).await {
        let qualified = if qualifier.is_empty() {
            String::new()
        } else {
            format!(" --qualifier {qualifier}")
        };
        eprintln!(
            "note: AuthType NONE: the URL answers 403 Forbidden until the function's resource \
             policy lets everyone call it (as Lambda requires):\n  funnel function add-permission \
             {} --statement-id FunctionURLAllowPublicAccess --action lambda:InvokeFunctionUrl \
             --principal '*' --function-url-auth-type NONE{qualified}",
            args.name
        );
    }
    print_json(&json::url_config(&config))
}

/// Whether the policy has a statement letting everyone call the URL.
async fn public(client: &Client, name: &str, qualifier: &str) -> bool {
    let Ok(got) = client.get_policy(name, qualifier).await else {
        return false;
    };
    let policy: Value = serde_json::from_str(&got.policy).unwrap_or_default();
    policy["Statement"].as_array().is_some_and(|statements| {
        statements.iter().any(|s| {
            s["Effect"] == "Allow"
                && s["Principal"] == "*"
                && (s["Action"] == "lambda:InvokeFunctionUrl" || s["Action"] == "lambda:*")
        })
    })
}

pub async fn update(client: &Client, args: UrlConfigArgs) -> anyhow::Result<()> {
    let config = client
        .update_function_url_config(proto::UpdateFunctionUrlConfigRequest {
            function_name: args.name,
            qualifier: args.qualifier.unwrap_or_default(),
            auth_type: args.auth_type.unwrap_or_default(),
            cors: args.cors.as_deref().map(parse_cors).transpose()?,
            invoke_mode: args.invoke_mode.unwrap_or_default(),
        })
        .await?;
    print_json(&json::url_config(&config))
}

pub async fn get(client: &Client, name: &str, qualifier: Option<String>) -> anyhow::Result<()> {
    let config = client
        .get_function_url_config(name, &qualifier.unwrap_or_default())
        .await?;
    print_json(&json::url_config(&config))
}

pub async fn list(client: &Client, name: &str) -> anyhow::Result<()> {
    let mut configs = Vec::new();
    let mut marker = String::new();
    loop {
        let page = client
            .list_function_url_configs(name, &marker, None)
            .await?;
        configs.extend(page.function_url_configs.iter().map(json::url_config));
        if page.next_marker.is_empty() {
            break;
        }
        marker = page.next_marker;
    }
    print_json(&json!({ "FunctionUrlConfigs": configs }))
}

/// Lambda's `Cors` JSON (PascalCase keys, every one optional).
fn parse_cors(text: &str) -> anyhow::Result<proto::Cors> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields, default)]
    struct Cors {
        allow_credentials: bool,
        allow_headers: Vec<String>,
        allow_methods: Vec<String>,
        allow_origins: Vec<String>,
        expose_headers: Vec<String>,
        max_age: i32,
    }
    let cors: Cors = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "--cors is not Lambda's Cors JSON ({e}); keys: AllowCredentials, AllowHeaders, \
             AllowMethods, AllowOrigins, ExposeHeaders, MaxAge"
        )
    })?;
    Ok(proto::Cors {
        allow_credentials: cors.allow_credentials,
        allow_headers: cors.allow_headers,
        allow_methods: cors.allow_methods,
        allow_origins: cors.allow_origins,
        expose_headers: cors.expose_headers,
        max_age: cors.max_age,
    })
}
