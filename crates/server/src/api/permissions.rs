//! `funnel.v1.Permissions`: resource policies.

use funnel_proto::v1 as pb;
use funnel_proto::v1::permissions_server::Permissions as PermissionsApi;
use tonic::{Request, Response, Status};

use crate::policies::{PermissionRequest, Policies};

pub struct PermissionsService {
    policies: Policies,
}

impl PermissionsService {
    pub fn new(policies: Policies) -> Self {
        PermissionsService { policies }
    }
}

#[tonic::async_trait]
impl PermissionsApi for PermissionsService {
    async fn add_permission(
        &self,
        request: Request<pb::AddPermissionRequest>,
    ) -> Result<Response<pb::AddPermissionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let permission = PermissionRequest {
            statement_id: req.statement_id,
            action: req.action,
            principal: req.principal,
            source_arn: req.source_arn,
            source_account: req.source_account,
            function_url_auth_type: req.function_url_auth_type,
        };
        let statement = self
            .policies
            .add_permission(&req.function_name, &req.qualifier, &permission)
            .await?;
        Ok(Response::new(pb::AddPermissionResponse { statement }))
    }

    async fn remove_permission(
        &self,
        request: Request<pb::RemovePermissionRequest>,
    ) -> Result<Response<pb::RemovePermissionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.policies
            .remove_permission(&req.function_name, &req.qualifier, &req.statement_id)
            .await?;
        Ok(Response::new(pb::RemovePermissionResponse {}))
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::GetPolicyResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let (policy, revision_id) = self
            .policies
            .get_policy(&req.function_name, &req.qualifier)?;
        Ok(Response::new(pb::GetPolicyResponse {
            policy,
            revision_id,
        }))
    }
}
