//! `funnel.v1.Layers`: proto messages in, domain calls, proto messages out.

use base64::Engine as _;
use funnel_proto::v1 as pb;
use funnel_proto::v1::layers_server::Layers as LayersApi;
use tonic::{Request, Response, Status};

use crate::layers::{LayerPermission, Layers, NewLayerVersion};
use funnel_store::LayerVersionRecord;

pub struct LayersService {
    layers: Layers,
    quotas: crate::quotas::Quotas,
}

impl LayersService {
    pub fn new(layers: Layers, quotas: crate::quotas::Quotas) -> Self {
        LayersService { layers, quotas }
    }

    fn layer_version(&self, record: LayerVersionRecord) -> pb::LayerVersion {
        let sha = hex::decode(&record.content_sha256).unwrap_or_default();
        pb::LayerVersion {
            content: Some(pb::LayerVersionContentOutput {
                location: format!("sha256:{}", record.content_sha256),
                code_sha256: base64::engine::general_purpose::STANDARD.encode(sha),
                code_size: record.code_size as i64,
                unpacked_size: record.unpacked_size as i64,
            }),
            layer_arn: self.layers.layer_arn(&record.name, None),
            layer_version_arn: self.layers.layer_arn(&record.name, Some(record.version)),
            description: record.description,
            created_date: record.created_date,
            version: record.version.into(),
            compatible_runtimes: record.compatible_runtimes,
            license_info: record.license_info,
        }
    }

    fn list_item(&self, record: LayerVersionRecord) -> pb::LayerVersionsListItem {
        pb::LayerVersionsListItem {
            layer_version_arn: self.layers.layer_arn(&record.name, Some(record.version)),
            version: record.version.into(),
            description: record.description,
            created_date: record.created_date,
            compatible_runtimes: record.compatible_runtimes,
            license_info: record.license_info,
        }
    }
}

#[tonic::async_trait]
impl LayersApi for LayersService {
    async fn publish_layer_version(
        &self,
        request: Request<pb::PublishLayerVersionRequest>,
    ) -> Result<Response<pb::LayerVersion>, Status> {
        let caller = crate::iam::check(&request)?;
        self.quotas.layer_version(&caller)?;
        let req = request.into_inner();
        let record = self
            .layers
            .publish_layer_version(NewLayerVersion {
                layer_name: caller.layer(&req.layer_name),
                zip: req.content.map(|c| c.zip_file).unwrap_or_default(),
                description: req.description,
                compatible_runtimes: req.compatible_runtimes,
                license_info: req.license_info,
            })
            .await?;
        Ok(Response::new(self.layer_version(record)))
    }

    async fn get_layer_version(
        &self,
        request: Request<pb::GetLayerVersionRequest>,
    ) -> Result<Response<pb::LayerVersion>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let record = self
            .layers
            .get_layer_version(&caller.layer(&req.layer_name), req.version_number)?;
        Ok(Response::new(self.layer_version(record)))
    }

    async fn get_layer_version_by_arn(
        &self,
        request: Request<pb::GetLayerVersionByArnRequest>,
    ) -> Result<Response<pb::LayerVersion>, Status> {
        crate::iam::check(&request)?;
        let record = self
            .layers
            .get_layer_version_by_arn(&request.into_inner().arn)?;
        Ok(Response::new(self.layer_version(record)))
    }

    async fn list_layers(
        &self,
        request: Request<pb::ListLayersRequest>,
    ) -> Result<Response<pb::ListLayersResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let (page, next) = self.layers.list_layers(
            &req.compatible_runtime,
            &req.marker,
            req.max_items,
            |key| caller.owns(key),
        )?;
        let layers = page
            .into_iter()
            .map(|newest| pb::LayersListItem {
                layer_name: crate::tenancy::name(&newest.name).to_string(),
                layer_arn: self.layers.layer_arn(&newest.name, None),
                latest_matching_version: Some(self.list_item(newest)),
            })
            .collect();
        Ok(Response::new(pb::ListLayersResponse {
            layers,
            next_marker: next.unwrap_or_default(),
        }))
    }

    async fn list_layer_versions(
        &self,
        request: Request<pb::ListLayerVersionsRequest>,
    ) -> Result<Response<pb::ListLayerVersionsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let (page, next) = self.layers.list_layer_versions(
            &caller.layer(&req.layer_name),
            &req.compatible_runtime,
            &req.marker,
            req.max_items,
        )?;
        Ok(Response::new(pb::ListLayerVersionsResponse {
            layer_versions: page.into_iter().map(|v| self.list_item(v)).collect(),
            next_marker: next.unwrap_or_default(),
        }))
    }

    async fn delete_layer_version(
        &self,
        request: Request<pb::DeleteLayerVersionRequest>,
    ) -> Result<Response<pb::DeleteLayerVersionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.layers
            .delete_layer_version(&caller.layer(&req.layer_name), req.version_number)
            .await?;
        Ok(Response::new(pb::DeleteLayerVersionResponse {}))
    }

    async fn add_layer_version_permission(
        &self,
        request: Request<pb::AddLayerVersionPermissionRequest>,
    ) -> Result<Response<pb::AddLayerVersionPermissionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let (statement, revision_id) = self
            .layers
            .add_layer_version_permission(
                &caller.layer(&req.layer_name),
                req.version_number,
                LayerPermission {
                    statement_id: &req.statement_id,
                    action: &req.action,
                    principal: &req.principal,
                    revision_id: &req.revision_id,
                },
            )
            .await?;
        Ok(Response::new(pb::AddLayerVersionPermissionResponse {
            statement,
            revision_id,
        }))
    }

    async fn remove_layer_version_permission(
        &self,
        request: Request<pb::RemoveLayerVersionPermissionRequest>,
    ) -> Result<Response<pb::RemoveLayerVersionPermissionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.layers
            .remove_layer_version_permission(
                &caller.layer(&req.layer_name),
                req.version_number,
                &req.statement_id,
                &req.revision_id,
            )
            .await?;
        Ok(Response::new(pb::RemoveLayerVersionPermissionResponse {}))
    }

    async fn get_layer_version_policy(
        &self,
        request: Request<pb::GetLayerVersionPolicyRequest>,
    ) -> Result<Response<pb::GetLayerVersionPolicyResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let (policy, revision_id) = self
            .layers
            .get_layer_version_policy(&caller.layer(&req.layer_name), req.version_number)?;
        Ok(Response::new(pb::GetLayerVersionPolicyResponse {
            policy,
            revision_id,
        }))
    }
}
