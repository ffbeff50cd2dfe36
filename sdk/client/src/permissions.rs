//! Resource policies: who may invoke a function.

use crate::{Client, Result, proto};

impl Client {
    /// Adds a statement to a function's policy; returns it as JSON.
    pub async fn add_permission(&self, request: proto::AddPermissionRequest) -> Result<String> {
        Ok(self
            .permissions
            .clone()
            .add_permission(request)
            .await?
            .into_inner()
            .statement)
    }

    pub async fn remove_permission(
        &self,
        function_name: &str,
        statement_id: &str,
        qualifier: &str,
    ) -> Result<()> {
        self.permissions
            .clone()
            .remove_permission(proto::RemovePermissionRequest {
                function_name: function_name.into(),
                statement_id: statement_id.into(),
                qualifier: qualifier.into(),
            })
            .await?;
        Ok(())
    }

    /// The policy document (JSON) and the function's RevisionId.
    pub async fn get_policy(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<proto::GetPolicyResponse> {
        Ok(self
            .permissions
            .clone()
            .get_policy(proto::GetPolicyRequest {
                function_name: function_name.into(),
                qualifier: qualifier.into(),
            })
            .await?
            .into_inner())
    }
}
