//! Users, access keys, identity policies (IAM), and who the caller is
//! (STS). Requests are the proto messages; an empty `user_name` means the
//! caller's own user where IAM allows it.

use crate::{Client, Result, proto};

impl Client {
    pub async fn create_user(&self, user_name: &str) -> Result<proto::User> {
        self.create_user_in(user_name, "").await
    }

    /// A user in another account (the operator only); `account_id` empty:
    /// the caller's.
    pub async fn create_user_in(&self, user_name: &str, account_id: &str) -> Result<proto::User> {
        let response = self
            .iam
            .clone()
            .create_user(proto::CreateUserRequest {
                user_name: user_name.into(),
                account_id: account_id.into(),
            })
            .await?
            .into_inner();
        Ok(response.user.unwrap_or_default())
    }

    /// A new account with its admin user and that user's key (the
    /// operator only).
    pub async fn create_account(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<proto::CreateAccountResponse> {
        Ok(self
            .iam
            .clone()
            .create_account(proto::CreateAccountRequest {
                account_id: account_id.into(),
                name: name.into(),
            })
            .await?
            .into_inner())
    }

    pub async fn list_accounts(&self) -> Result<Vec<proto::Account>> {
        Ok(self
            .iam
            .clone()
            .list_accounts(proto::ListAccountsRequest {})
            .await?
            .into_inner()
            .accounts)
    }

    pub async fn get_user(&self, user_name: &str) -> Result<proto::User> {
        let response = self
            .iam
            .clone()
            .get_user(proto::GetUserRequest {
                user_name: user_name.into(),
            })
            .await?
            .into_inner();
        Ok(response.user.unwrap_or_default())
    }

    pub async fn delete_user(&self, user_name: &str) -> Result<()> {
        self.iam
            .clone()
            .delete_user(proto::DeleteUserRequest {
                user_name: user_name.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<proto::User>> {
        Ok(self
            .iam
            .clone()
            .list_users(proto::ListUsersRequest {})
            .await?
            .into_inner()
            .users)
    }

    /// A new key; its secret is in this answer only.
    pub async fn create_access_key(&self, user_name: &str) -> Result<proto::AccessKey> {
        let response = self
            .iam
            .clone()
            .create_access_key(proto::CreateAccessKeyRequest {
                user_name: user_name.into(),
            })
            .await?
            .into_inner();
        Ok(response.access_key.unwrap_or_default())
    }

    /// `status`: `Active` or `Inactive`.
    pub async fn update_access_key(
        &self,
        user_name: &str,
        access_key_id: &str,
        status: &str,
    ) -> Result<()> {
        self.iam
            .clone()
            .update_access_key(proto::UpdateAccessKeyRequest {
                user_name: user_name.into(),
                access_key_id: access_key_id.into(),
                status: status.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn delete_access_key(&self, user_name: &str, access_key_id: &str) -> Result<()> {
        self.iam
            .clone()
            .delete_access_key(proto::DeleteAccessKeyRequest {
                user_name: user_name.into(),
                access_key_id: access_key_id.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn list_access_keys(&self, user_name: &str) -> Result<Vec<proto::AccessKeyMetadata>> {
        Ok(self
            .iam
            .clone()
            .list_access_keys(proto::ListAccessKeysRequest {
                user_name: user_name.into(),
            })
            .await?
            .into_inner()
            .access_key_metadata)
    }

    /// Attaches a managed policy
    /// (`arn:funnel:iam::aws:policy/FunnelInvokeOnly`, ...).
    pub async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<()> {
        self.iam
            .clone()
            .attach_user_policy(proto::AttachUserPolicyRequest {
                user_name: user_name.into(),
                policy_arn: policy_arn.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn detach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<()> {
        self.iam
            .clone()
            .detach_user_policy(proto::DetachUserPolicyRequest {
                user_name: user_name.into(),
                policy_arn: policy_arn.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn list_attached_user_policies(
        &self,
        user_name: &str,
    ) -> Result<Vec<proto::AttachedPolicy>> {
        Ok(self
            .iam
            .clone()
            .list_attached_user_policies(proto::ListAttachedUserPoliciesRequest {
                user_name: user_name.into(),
            })
            .await?
            .into_inner()
            .attached_policies)
    }

    /// Puts an inline policy (IAM's JSON), replacing one of that name.
    pub async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        policy_document: &str,
    ) -> Result<()> {
        self.iam
            .clone()
            .put_user_policy(proto::PutUserPolicyRequest {
                user_name: user_name.into(),
                policy_name: policy_name.into(),
                policy_document: policy_document.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn get_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
    ) -> Result<proto::GetUserPolicyResponse> {
        Ok(self
            .iam
            .clone()
            .get_user_policy(proto::GetUserPolicyRequest {
                user_name: user_name.into(),
                policy_name: policy_name.into(),
            })
            .await?
            .into_inner())
    }

    pub async fn delete_user_policy(&self, user_name: &str, policy_name: &str) -> Result<()> {
        self.iam
            .clone()
            .delete_user_policy(proto::DeleteUserPolicyRequest {
                user_name: user_name.into(),
                policy_name: policy_name.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn list_user_policies(&self, user_name: &str) -> Result<Vec<String>> {
        Ok(self
            .iam
            .clone()
            .list_user_policies(proto::ListUserPoliciesRequest {
                user_name: user_name.into(),
            })
            .await?
            .into_inner()
            .policy_names)
    }

    /// Who the calls are made as: account, user ARN and user id.
    pub async fn get_caller_identity(&self) -> Result<proto::GetCallerIdentityResponse> {
        Ok(self
            .sts
            .clone()
            .get_caller_identity(proto::GetCallerIdentityRequest {})
            .await?
            .into_inner())
    }
}
