//! `funnel api create-route|get-routes|delete-route|get-api`: routes on
//! the account's API (as `aws apigatewayv2`).

use clap::Subcommand;
use funnel_client::{Client, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Send the requests that match a route key to a function; prints the
    /// route.
    CreateRoute {
        /// `GET /users/{id}`, `ANY /files/{proxy+}` or `$default`.
        #[arg(long)]
        route_key: String,
        /// The function (name or ARN).
        #[arg(long)]
        target: String,
        /// An alias or version ($LATEST by default).
        #[arg(long)]
        qualifier: Option<String>,
        /// 2.0 (the function URL event, default) or 1.0 (the REST proxy
        /// event).
        #[arg(long)]
        payload_format_version: Option<String>,
    },
    /// List the API's routes.
    GetRoutes,
    /// Remove a route.
    DeleteRoute {
        #[arg(long)]
        route_key: String,
    },
    /// Show the API: its ApiId and ApiEndpoint (where curl reaches it).
    GetApi,
}

pub async fn api(client: &Client, command: ApiCommand) -> anyhow::Result<()> {
    match command {
        ApiCommand::CreateRoute {
            route_key,
            target,
            qualifier,
            payload_format_version,
        } => {
            let route = client
                .create_route(proto::CreateRouteRequest {
                    route_key,
                    target,
                    qualifier: qualifier.unwrap_or_default(),
                    payload_format_version: payload_format_version.unwrap_or_default(),
                    ..Default::default()
                })
                .await?;
            print_json(&route_json(&route))
        }
        ApiCommand::GetRoutes => {
            let routes = client.get_routes().await?;
            print_json(&json!({ "Items": routes.iter().map(route_json).collect::<Vec<_>>() }))
        }
        ApiCommand::DeleteRoute { route_key } => {
            client.delete_route(&route_key).await?;
            Ok(())
        }
        ApiCommand::GetApi => {
            let api = client.get_api().await?;
            print_json(&json!({
                "ApiId": api.api_id,
                "ApiEndpoint": api.api_endpoint,
                "Name": api.name,
                "ProtocolType": api.protocol_type,
                "RouteSelectionExpression": api.route_selection_expression,
            }))
        }
    }
}

/// As `aws apigatewayv2 get-route` prints it (Target the function's ARN).
fn route_json(route: &proto::Route) -> Value {
    let mut out = json!({
        "ApiId": route.api_id,
        "RouteId": route.route_id,
        "RouteKey": route.route_key,
        "Target": route.target,
        "PayloadFormatVersion": route.payload_format_version,
        "CreatedDate": route.created_date,
    });
    if !route.qualifier.is_empty() {
        out["Qualifier"] = json!(route.qualifier);
    }
    out
}
