//! `funnel.v1.SecretsManager`: secrets, their versions and staging labels.
//!
//! A secret is authorized on its full ARN (random suffix included) when it
//! exists, so policies written for AWS's ARNs (`secret:db-pass-??????`)
//! apply; a name that names nothing is authorized on the ARN without the
//! suffix (then not found). Names resolve in the caller's account; an ARN
//! names its own.

use std::collections::HashMap;

use funnel_proto::v1 as pb;
use funnel_proto::v1::secrets_manager_server::SecretsManager as SecretsManagerApi;
use funnel_store::{SecretRecord, TagRecord};
use tonic::{Request, Response, Status};

use crate::error::{Error, Result};
use crate::iam::{self, Caller, Resource};
use crate::secrets::{NewSecret, SecretFilter, SecretPayload, Vault, versions_to_stages};

/// ListSecrets' page, at most and by default.
const PAGE: usize = 100;

pub struct SecretsManagerService {
    vault: Vault,
}

impl SecretsManagerService {
    pub fn new(vault: Vault) -> Self {
        SecretsManagerService { vault }
    }

    /// Authorizes the call on the secret `id` names (see the module
    /// docs); returns the caller and the account the secret is in.
    fn authorize<T: Resource>(&self, request: &Request<T>, id: &str) -> Result<(Caller, String)> {
        let caller = iam::caller_of(request.extensions())?;
        let account = crate::tenancy::arn_account(id)
            .unwrap_or(&caller.principal.account_id)
            .to_string();
        let resource = match self.vault.describe_secret(&account, id) {
            Ok(record) => record.arn,
            Err(_) => request.get_ref().resource(&caller.scope()),
        };
        iam::authorize(&caller, &resource)?;
        Ok((caller, account))
    }
}

fn tags(given: Vec<pb::Tag>) -> Vec<TagRecord> {
    given
        .into_iter()
        .map(|t| TagRecord {
            key: t.key,
            value: t.value,
        })
        .collect()
}

fn pb_tags(kept: &[TagRecord]) -> Vec<pb::Tag> {
    kept.iter()
        .map(|t| pb::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

fn stages_map(record: &SecretRecord) -> HashMap<String, pb::VersionStages> {
    versions_to_stages(record)
        .into_iter()
        .map(|(version, stages)| (version, pb::VersionStages { stages }))
        .collect()
}

fn some(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

#[tonic::async_trait]
impl SecretsManagerApi for SecretsManagerService {
    async fn create_secret(
        &self,
        request: Request<pb::CreateSecretRequest>,
    ) -> Result<Response<pb::CreateSecretResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.into_inner();
        let value = SecretPayload::of(req.secret_string, req.secret_binary, false)?;
        let (record, version_id) = self
            .vault
            .create_secret(
                &caller.principal.account_id,
                NewSecret {
                    name: req.name,
                    description: req.description,
                    value,
                    tags: tags(req.tags),
                    client_request_token: req.client_request_token,
                },
            )
            .await?;
        Ok(Response::new(pb::CreateSecretResponse {
            arn: record.arn,
            name: record.name,
            version_id: version_id.unwrap_or_default(),
        }))
    }

    async fn put_secret_value(
        &self,
        request: Request<pb::PutSecretValueRequest>,
    ) -> Result<Response<pb::PutSecretValueResponse>, Status> {
        let (_, account) = self.authorize(&request, &request.get_ref().secret_id)?;
        let req = request.into_inner();
        let value = SecretPayload::of(req.secret_string, req.secret_binary, true)?
            .ok_or_else(|| Error::InvalidRequestState("No secret value was given.".into()))?;
        let (record, version_id, version_stages) = self
            .vault
            .put_secret_value(
                &account,
                &req.secret_id,
                value,
                &req.client_request_token,
                req.version_stages,
            )
            .await?;
        Ok(Response::new(pb::PutSecretValueResponse {
            arn: record.arn,
            name: record.name,
            version_id,
            version_stages,
        }))
    }

    async fn get_secret_value(
        &self,
        request: Request<pb::GetSecretValueRequest>,
    ) -> Result<Response<pb::GetSecretValueResponse>, Status> {
        let (_, account) = self.authorize(&request, &request.get_ref().secret_id)?;
        let req = request.into_inner();
        let (value, created) = self.vault.get_secret_value(
            &account,
            &req.secret_id,
            some(&req.version_id),
            some(&req.version_stage),
        )?;
        Ok(Response::new(pb::GetSecretValueResponse {
            arn: value.arn,
            name: value.name,
            version_id: value.version_id,
            secret_string: value.secret_string,
            secret_binary: value.secret_binary,
            version_stages: value.version_stages,
            created_date: created,
        }))
    }

    async fn describe_secret(
        &self,
        request: Request<pb::DescribeSecretRequest>,
    ) -> Result<Response<pb::DescribeSecretResponse>, Status> {
        let (_, account) = self.authorize(&request, &request.get_ref().secret_id)?;
        let record = self
            .vault
            .describe_secret(&account, &request.get_ref().secret_id)?;
        Ok(Response::new(pb::DescribeSecretResponse {
            version_ids_to_stages: stages_map(&record),
            tags: pb_tags(&record.tags),
            arn: record.arn,
            name: record.name,
            description: record.description,
            created_date: record.created_ms,
            last_changed_date: record.last_changed_ms,
            deleted_date: record.deleted_ms,
            deletion_date: record.deletion_ms,
        }))
    }

    async fn list_secrets(
        &self,
        request: Request<pb::ListSecretsRequest>,
    ) -> Result<Response<pb::ListSecretsResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.into_inner();
        let limit = match req.max_results {
            None => PAGE,
            Some(n @ 1..=100) => n as usize,
            Some(n) => {
                return Err(Error::InvalidParameter(format!(
                    "MaxResults {n} must be between 1 and {PAGE}"
                ))
                .into());
            }
        };
        let filters: Vec<SecretFilter> = req
            .filters
            .into_iter()
            .map(|f| SecretFilter {
                key: f.key,
                values: f.values,
            })
            .collect();
        let (records, next) = self.vault.list_secrets(
            &caller.principal.account_id,
            req.include_planned_deletion,
            &filters,
            &req.next_token,
            limit,
        )?;
        Ok(Response::new(pb::ListSecretsResponse {
            secret_list: records
                .into_iter()
                .map(|record| pb::SecretListEntry {
                    secret_versions_to_stages: stages_map(&record),
                    tags: pb_tags(&record.tags),
                    arn: record.arn,
                    name: record.name,
                    description: record.description,
                    created_date: record.created_ms,
                    last_changed_date: record.last_changed_ms,
                    deleted_date: record.deleted_ms,
                })
                .collect(),
            next_token: next.unwrap_or_default(),
        }))
    }

    async fn update_secret_version_stage(
        &self,
        request: Request<pb::UpdateSecretVersionStageRequest>,
    ) -> Result<Response<pb::UpdateSecretVersionStageResponse>, Status> {
        let (_, account) = self.authorize(&request, &request.get_ref().secret_id)?;
        let req = request.into_inner();
        let record = self
            .vault
            .update_secret_version_stage(
                &account,
                &req.secret_id,
                &req.version_stage,
                some(&req.move_to_version_id),
                some(&req.remove_from_version_id),
            )
            .await?;
        Ok(Response::new(pb::UpdateSecretVersionStageResponse {
            arn: record.arn,
            name: record.name,
        }))
    }

    async fn delete_secret(
        &self,
        request: Request<pb::DeleteSecretRequest>,
    ) -> Result<Response<pb::DeleteSecretResponse>, Status> {
        let (_, account) = self.authorize(&request, &request.get_ref().secret_id)?;
        let req = request.into_inner();
        let (record, deletion_date) = self
            .vault
            .delete_secret(
                &account,
                &req.secret_id,
                req.recovery_window_in_days,
                req.force_delete_without_recovery,
            )
            .await?;
        Ok(Response::new(pb::DeleteSecretResponse {
            arn: record.arn,
            name: record.name,
            deletion_date,
        }))
    }

    async fn restore_secret(
        &self,
        request: Request<pb::RestoreSecretRequest>,
    ) -> Result<Response<pb::RestoreSecretResponse>, Status> {
        let (_, account) = self.authorize(&request, &request.get_ref().secret_id)?;
        let record = self
            .vault
            .restore_secret(&account, &request.get_ref().secret_id)
            .await?;
        Ok(Response::new(pb::RestoreSecretResponse {
            arn: record.arn,
            name: record.name,
        }))
    }
}
