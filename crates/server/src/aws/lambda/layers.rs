//! Layers: PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn,
//! ListLayers, ListLayerVersions, DeleteLayerVersion, and a layer
//! version's policy (Add/RemoveLayerVersionPermission, GetLayerVersionPolicy).

use funnel_proto::json;
use funnel_proto::v1 as pb;
use funnel_proto::v1::layers_server::Layers as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;

use super::{AwsError, Call, blob, created, invalid, no_content, ok, unsupported};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Content {
    zip_file: String,
    s3_bucket: String,
    s3_key: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Publish {
    description: String,
    content: Content,
    compatible_runtimes: Vec<String>,
    license_info: String,
}

pub async fn publish(call: &Call<'_>, layer_name: String) -> Answer {
    let body: Publish = call.body(&[])?;
    if !body.content.s3_bucket.is_empty() || !body.content.s3_key.is_empty() {
        return Err(unsupported(
            "Content.S3Bucket",
            "a layer is uploaded as Content.ZipFile",
        ));
    }
    if body.content.zip_file.is_empty() {
        return Err(invalid("Content.ZipFile is required".into()));
    }
    let message = pb::PublishLayerVersionRequest {
        layer_name,
        description: body.description,
        content: Some(pb::LayerVersionContentInput {
            zip_file: blob("ZipFile", &body.content.zip_file)?,
        }),
        compatible_runtimes: body.compatible_runtimes,
        license_info: body.license_info,
    };
    let layers = &call.services().layers;
    let version = call
        .grpc("/funnel.v1.Layers/PublishLayerVersion", message, |r| {
            layers.publish_layer_version(r)
        })
        .await?;
    Ok(created(&json::layer_version(&version)))
}

pub async fn get(call: &Call<'_>, layer_name: String, version_number: i64) -> Answer {
    let message = pb::GetLayerVersionRequest {
        layer_name,
        version_number,
    };
    let layers = &call.services().layers;
    let version = call
        .grpc("/funnel.v1.Layers/GetLayerVersion", message, |r| {
            layers.get_layer_version(r)
        })
        .await?;
    Ok(ok(&json::layer_version(&version)))
}

pub async fn get_by_arn(call: &Call<'_>) -> Answer {
    let message = pb::GetLayerVersionByArnRequest {
        arn: call.query_or_empty("Arn"),
    };
    let layers = &call.services().layers;
    let version = call
        .grpc("/funnel.v1.Layers/GetLayerVersionByArn", message, |r| {
            layers.get_layer_version_by_arn(r)
        })
        .await?;
    Ok(ok(&json::layer_version(&version)))
}

pub async fn list(call: &Call<'_>) -> Answer {
    let message = pb::ListLayersRequest {
        compatible_runtime: call.query_or_empty("CompatibleRuntime"),
        marker: call.query_or_empty("Marker"),
        max_items: call.query_number("MaxItems")?,
    };
    let layers = &call.services().layers;
    let page = call
        .grpc("/funnel.v1.Layers/ListLayers", message, |r| {
            layers.list_layers(r)
        })
        .await?;
    Ok(ok(&json::layers(&page)))
}

pub async fn list_versions(call: &Call<'_>, layer_name: String) -> Answer {
    let message = pb::ListLayerVersionsRequest {
        layer_name,
        compatible_runtime: call.query_or_empty("CompatibleRuntime"),
        marker: call.query_or_empty("Marker"),
        max_items: call.query_number("MaxItems")?,
    };
    let layers = &call.services().layers;
    let page = call
        .grpc("/funnel.v1.Layers/ListLayerVersions", message, |r| {
            layers.list_layer_versions(r)
        })
        .await?;
    Ok(ok(&json::layer_versions(&page)))
}

pub async fn delete(call: &Call<'_>, layer_name: String, version_number: i64) -> Answer {
    let message = pb::DeleteLayerVersionRequest {
        layer_name,
        version_number,
    };
    let layers = &call.services().layers;
    call.grpc("/funnel.v1.Layers/DeleteLayerVersion", message, |r| {
        layers.delete_layer_version(r)
    })
    .await?;
    Ok(no_content())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AddPermission {
    statement_id: String,
    action: String,
    principal: String,
    organization_id: String,
}

pub async fn add_permission(call: &Call<'_>, layer_name: String, version_number: i64) -> Answer {
    let body: AddPermission = call.body(&[])?;
    let message = pb::AddLayerVersionPermissionRequest {
        layer_name,
        version_number,
        statement_id: body.statement_id,
        action: body.action,
        principal: body.principal,
        organization_id: body.organization_id,
        revision_id: call.query_or_empty("RevisionId"),
    };
    let layers = &call.services().layers;
    let added = call
        .grpc(
            "/funnel.v1.Layers/AddLayerVersionPermission",
            message,
            |r| layers.add_layer_version_permission(r),
        )
        .await?;
    Ok(created(&json::layer_statement(&added)))
}

pub async fn get_policy(call: &Call<'_>, layer_name: String, version_number: i64) -> Answer {
    let message = pb::GetLayerVersionPolicyRequest {
        layer_name,
        version_number,
    };
    let layers = &call.services().layers;
    let policy = call
        .grpc("/funnel.v1.Layers/GetLayerVersionPolicy", message, |r| {
            layers.get_layer_version_policy(r)
        })
        .await?;
    Ok(ok(&json::layer_policy(&policy)))
}

pub async fn remove_permission(
    call: &Call<'_>,
    layer_name: String,
    version_number: i64,
    statement_id: String,
) -> Answer {
    let message = pb::RemoveLayerVersionPermissionRequest {
        layer_name,
        version_number,
        statement_id,
        revision_id: call.query_or_empty("RevisionId"),
    };
    let layers = &call.services().layers;
    call.grpc(
        "/funnel.v1.Layers/RemoveLayerVersionPermission",
        message,
        |r| layers.remove_layer_version_permission(r),
    )
    .await?;
    Ok(no_content())
}
