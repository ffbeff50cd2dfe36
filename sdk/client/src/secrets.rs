//! Secrets Manager: secrets, their versions and staging labels.

use crate::{Client, Result, proto};

impl Client {
    pub async fn create_secret(
        &self,
        request: proto::CreateSecretRequest,
    ) -> Result<proto::CreateSecretResponse> {
        Ok(self
            .secrets
            .clone()
            .create_secret(request)
            .await?
            .into_inner())
    }

    pub async fn put_secret_value(
        &self,
        request: proto::PutSecretValueRequest,
    ) -> Result<proto::PutSecretValueResponse> {
        Ok(self
            .secrets
            .clone()
            .put_secret_value(request)
            .await?
            .into_inner())
    }

    /// The `AWSCURRENT` value of `secret_id` (a name or an ARN), or
    /// `stage`'s.
    pub async fn get_secret_value(
        &self,
        secret_id: &str,
        stage: Option<&str>,
    ) -> Result<proto::GetSecretValueResponse> {
        self.get_secret_value_with(proto::GetSecretValueRequest {
            secret_id: secret_id.into(),
            version_stage: stage.unwrap_or_default().into(),
            ..Default::default()
        })
        .await
    }

    /// GetSecretValue with every field of the request (`version_id`).
    pub async fn get_secret_value_with(
        &self,
        request: proto::GetSecretValueRequest,
    ) -> Result<proto::GetSecretValueResponse> {
        Ok(self
            .secrets
            .clone()
            .get_secret_value(request)
            .await?
            .into_inner())
    }

    pub async fn describe_secret(&self, secret_id: &str) -> Result<proto::DescribeSecretResponse> {
        Ok(self
            .secrets
            .clone()
            .describe_secret(proto::DescribeSecretRequest {
                secret_id: secret_id.into(),
            })
            .await?
            .into_inner())
    }

    /// One page; pass the returned `next_token` back for the next.
    pub async fn list_secrets(
        &self,
        request: proto::ListSecretsRequest,
    ) -> Result<proto::ListSecretsResponse> {
        Ok(self
            .secrets
            .clone()
            .list_secrets(request)
            .await?
            .into_inner())
    }

    /// Every secret `request` asks for, following pages.
    pub async fn list_all_secrets(
        &self,
        mut request: proto::ListSecretsRequest,
    ) -> Result<Vec<proto::SecretListEntry>> {
        let mut all = Vec::new();
        loop {
            let page = self.list_secrets(request.clone()).await?;
            all.extend(page.secret_list);
            if page.next_token.is_empty() {
                return Ok(all);
            }
            request.next_token = page.next_token;
        }
    }

    pub async fn update_secret_version_stage(
        &self,
        request: proto::UpdateSecretVersionStageRequest,
    ) -> Result<proto::UpdateSecretVersionStageResponse> {
        Ok(self
            .secrets
            .clone()
            .update_secret_version_stage(request)
            .await?
            .into_inner())
    }

    pub async fn delete_secret(
        &self,
        request: proto::DeleteSecretRequest,
    ) -> Result<proto::DeleteSecretResponse> {
        Ok(self
            .secrets
            .clone()
            .delete_secret(request)
            .await?
            .into_inner())
    }

    pub async fn restore_secret(&self, secret_id: &str) -> Result<proto::RestoreSecretResponse> {
        Ok(self
            .secrets
            .clone()
            .restore_secret(proto::RestoreSecretRequest {
                secret_id: secret_id.into(),
            })
            .await?
            .into_inner())
    }
}
