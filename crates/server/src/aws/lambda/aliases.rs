//! Aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases
//! (with `RoutingConfig.AdditionalVersionWeights`).

use std::collections::HashMap;

use funnel_proto::json;
use funnel_proto::v1 as pb;
use funnel_proto::v1::functions_server::Functions as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;

use super::{AwsError, Call, created, no_content, ok};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RoutingConfig {
    additional_version_weights: HashMap<String, f64>,
}

impl From<RoutingConfig> for pb::AliasRoutingConfiguration {
    fn from(r: RoutingConfig) -> Self {
        pb::AliasRoutingConfiguration {
            additional_version_weights: r.additional_version_weights,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateAlias {
    name: String,
    function_version: String,
    description: String,
    routing_config: Option<RoutingConfig>,
}

pub async fn create(call: &Call<'_>, function_name: String) -> Answer {
    let body: CreateAlias = call.body(&[])?;
    let message = pb::CreateAliasRequest {
        function_name,
        name: body.name,
        function_version: body.function_version,
        description: body.description,
        routing_config: body.routing_config.map(Into::into),
    };
    let functions = &call.services().functions;
    let alias = call
        .grpc("/funnel.v1.Functions/CreateAlias", message, |r| {
            functions.create_alias(r)
        })
        .await?;
    Ok(created(&json::alias(&alias)))
}

pub async fn get(call: &Call<'_>, function_name: String, name: String) -> Answer {
    let message = pb::GetAliasRequest {
        function_name,
        name,
    };
    let functions = &call.services().functions;
    let alias = call
        .grpc("/funnel.v1.Functions/GetAlias", message, |r| {
            functions.get_alias(r)
        })
        .await?;
    Ok(ok(&json::alias(&alias)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateAlias {
    function_version: Option<String>,
    description: Option<String>,
    routing_config: Option<RoutingConfig>,
    revision_id: String,
}

pub async fn update(call: &Call<'_>, function_name: String, name: String) -> Answer {
    let body: UpdateAlias = call.body(&[])?;
    let message = pb::UpdateAliasRequest {
        function_name,
        name,
        function_version: body.function_version,
        description: body.description,
        routing_config: body.routing_config.map(Into::into),
        revision_id: body.revision_id,
    };
    let functions = &call.services().functions;
    let alias = call
        .grpc("/funnel.v1.Functions/UpdateAlias", message, |r| {
            functions.update_alias(r)
        })
        .await?;
    Ok(ok(&json::alias(&alias)))
}

pub async fn delete(call: &Call<'_>, function_name: String, name: String) -> Answer {
    let message = pb::DeleteAliasRequest {
        function_name,
        name,
    };
    let functions = &call.services().functions;
    call.grpc("/funnel.v1.Functions/DeleteAlias", message, |r| {
        functions.delete_alias(r)
    })
    .await?;
    Ok(no_content())
}

pub async fn list(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::ListAliasesRequest {
        function_name,
        function_version: call.query_or_empty("FunctionVersion"),
        marker: call.query_or_empty("Marker"),
        max_items: call.query_number("MaxItems")?,
    };
    let functions = &call.services().functions;
    let page = call
        .grpc("/funnel.v1.Functions/ListAliases", message, |r| {
            functions.list_aliases(r)
        })
        .await?;
    Ok(ok(&json::aliases(&page)))
}
