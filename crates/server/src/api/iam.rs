//! `funnel.v1.Iam` and `funnel.v1.Sts`: users, access keys, identity
//! policies, and who the caller is.

use funnel_proto::v1 as pb;
use funnel_proto::v1::iam_server::Iam as IamApi;
use funnel_proto::v1::sts_server::Sts as StsApi;
use funnel_store::{AccessKeyRecord, AccountRecord, UserRecord};
use tonic::{Request, Response, Status};

use crate::iam::{self, Identities, policy};

pub struct IamService {
    identities: Identities,
}

impl IamService {
    pub fn new(identities: Identities) -> Self {
        IamService { identities }
    }
}

fn user(record: UserRecord) -> pb::User {
    pb::User {
        path: "/".into(),
        arn: iam::user_arn(&record.account_id, &record.name),
        user_name: record.name,
        user_id: record.user_id,
        create_date: record.create_date,
    }
}

fn account(record: AccountRecord) -> pb::Account {
    pb::Account {
        account_id: record.id,
        name: record.name,
        create_date: record.create_date,
    }
}

fn key_metadata(key: AccessKeyRecord) -> pb::AccessKeyMetadata {
    pb::AccessKeyMetadata {
        user_name: key.user_name,
        access_key_id: key.access_key_id,
        status: key.status,
        create_date: key.create_date,
    }
}

#[tonic::async_trait]
impl IamApi for IamService {
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        let account = (!req.account_id.is_empty()).then_some(req.account_id.as_str());
        let created = self
            .identities
            .create_user(&caller.principal, &req.user_name, account)?;
        Ok(Response::new(pb::CreateUserResponse {
            user: Some(user(created)),
        }))
    }

    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let caller = iam::check(&request)?;
        if !caller.principal.operator {
            return Err(crate::error::Error::AccessDenied(format!(
                "User: {} is not authorized to perform: funnel:CreateAccount: only the operator \
                 creates accounts",
                caller.principal.arn
            ))
            .into());
        }
        let req = request.into_inner();
        let (created, admin, key) = self.identities.create_account(&req.account_id, &req.name)?;
        Ok(Response::new(pb::CreateAccountResponse {
            account: Some(account(created)),
            user: Some(user(admin)),
            access_key: Some(pb::AccessKey {
                user_name: key.record.user_name,
                access_key_id: key.record.access_key_id,
                status: key.record.status,
                secret_access_key: key.secret,
                create_date: key.record.create_date,
            }),
        }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let caller = iam::check(&request)?;
        let accounts = self.identities.list_accounts(&caller.principal)?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: accounts.into_iter().map(account).collect(),
        }))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        let caller = iam::check(&request)?;
        let found = self
            .identities
            .user(&caller.principal, &request.get_ref().user_name)?;
        Ok(Response::new(pb::GetUserResponse {
            user: Some(user(found)),
        }))
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let caller = iam::check(&request)?;
        self.identities
            .delete_user(&caller.principal, &request.get_ref().user_name)?;
        Ok(Response::new(pb::DeleteUserResponse {}))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let caller = iam::check(&request)?;
        let users = self.identities.list_users(&caller.principal)?;
        Ok(Response::new(pb::ListUsersResponse {
            users: users.into_iter().map(user).collect(),
        }))
    }

    async fn create_access_key(
        &self,
        request: Request<pb::CreateAccessKeyRequest>,
    ) -> Result<Response<pb::CreateAccessKeyResponse>, Status> {
        let caller = iam::check(&request)?;
        let key = self
            .identities
            .create_access_key(&caller.principal, &request.get_ref().user_name)?;
        Ok(Response::new(pb::CreateAccessKeyResponse {
            access_key: Some(pb::AccessKey {
                user_name: key.record.user_name,
                access_key_id: key.record.access_key_id,
                status: key.record.status,
                secret_access_key: key.secret,
                create_date: key.record.create_date,
            }),
        }))
    }

    async fn update_access_key(
        &self,
        request: Request<pb::UpdateAccessKeyRequest>,
    ) -> Result<Response<pb::UpdateAccessKeyResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        self.identities.update_access_key(
            &caller.principal,
            &req.user_name,
            &req.access_key_id,
            &req.status,
        )?;
        Ok(Response::new(pb::UpdateAccessKeyResponse {}))
    }

    async fn delete_access_key(
        &self,
        request: Request<pb::DeleteAccessKeyRequest>,
    ) -> Result<Response<pb::DeleteAccessKeyResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        self.identities
            .delete_access_key(&caller.principal, &req.user_name, &req.access_key_id)?;
        Ok(Response::new(pb::DeleteAccessKeyResponse {}))
    }

    async fn list_access_keys(
        &self,
        request: Request<pb::ListAccessKeysRequest>,
    ) -> Result<Response<pb::ListAccessKeysResponse>, Status> {
        let caller = iam::check(&request)?;
        let keys = self
            .identities
            .list_access_keys(&caller.principal, &request.get_ref().user_name)?;
        Ok(Response::new(pb::ListAccessKeysResponse {
            access_key_metadata: keys.into_iter().map(key_metadata).collect(),
        }))
    }

    async fn attach_user_policy(
        &self,
        request: Request<pb::AttachUserPolicyRequest>,
    ) -> Result<Response<pb::AttachUserPolicyResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        self.identities
            .attach_user_policy(&caller.principal, &req.user_name, &req.policy_arn)?;
        Ok(Response::new(pb::AttachUserPolicyResponse {}))
    }

    async fn detach_user_policy(
        &self,
        request: Request<pb::DetachUserPolicyRequest>,
    ) -> Result<Response<pb::DetachUserPolicyResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        self.identities
            .detach_user_policy(&caller.principal, &req.user_name, &req.policy_arn)?;
        Ok(Response::new(pb::DetachUserPolicyResponse {}))
    }

    async fn list_attached_user_policies(
        &self,
        request: Request<pb::ListAttachedUserPoliciesRequest>,
    ) -> Result<Response<pb::ListAttachedUserPoliciesResponse>, Status> {
        let caller = iam::check(&request)?;
        let found = self
            .identities
            .user(&caller.principal, &request.get_ref().user_name)?;
        Ok(Response::new(pb::ListAttachedUserPoliciesResponse {
            attached_policies: found
                .attached
                .into_iter()
                .map(|arn| pb::AttachedPolicy {
                    policy_name: policy::managed_name(&arn).to_string(),
                    policy_arn: arn,
                })
                .collect(),
        }))
    }

    async fn put_user_policy(
        &self,
        request: Request<pb::PutUserPolicyRequest>,
    ) -> Result<Response<pb::PutUserPolicyResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        self.identities.put_user_policy(
            &caller.principal,
            &req.user_name,
            &req.policy_name,
            &req.policy_document,
        )?;
        Ok(Response::new(pb::PutUserPolicyResponse {}))
    }

    async fn get_user_policy(
        &self,
        request: Request<pb::GetUserPolicyRequest>,
    ) -> Result<Response<pb::GetUserPolicyResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        let (user_name, policy_document) =
            self.identities
                .get_user_policy(&caller.principal, &req.user_name, &req.policy_name)?;
        Ok(Response::new(pb::GetUserPolicyResponse {
            user_name,
            policy_name: req.policy_name.clone(),
            policy_document,
        }))
    }

    async fn delete_user_policy(
        &self,
        request: Request<pb::DeleteUserPolicyRequest>,
    ) -> Result<Response<pb::DeleteUserPolicyResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.get_ref();
        self.identities
            .delete_user_policy(&caller.principal, &req.user_name, &req.policy_name)?;
        Ok(Response::new(pb::DeleteUserPolicyResponse {}))
    }

    async fn list_user_policies(
        &self,
        request: Request<pb::ListUserPoliciesRequest>,
    ) -> Result<Response<pb::ListUserPoliciesResponse>, Status> {
        let caller = iam::check(&request)?;
        let found = self
            .identities
            .user(&caller.principal, &request.get_ref().user_name)?;
        Ok(Response::new(pb::ListUserPoliciesResponse {
            policy_names: found.inline.into_keys().collect(),
        }))
    }
}

pub struct StsService;

#[tonic::async_trait]
impl StsApi for StsService {
    async fn get_caller_identity(
        &self,
        request: Request<pb::GetCallerIdentityRequest>,
    ) -> Result<Response<pb::GetCallerIdentityResponse>, Status> {
        let caller = iam::check(&request)?;
        let principal = &caller.principal;
        Ok(Response::new(pb::GetCallerIdentityResponse {
            user_id: principal.user_id.clone(),
            account: principal.account_id.clone(),
            arn: principal.arn.clone(),
        }))
    }
}
