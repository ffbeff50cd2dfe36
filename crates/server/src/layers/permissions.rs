//! Layer version permissions (Lambda's `AddLayerVersionPermission`,
//! `RemoveLayerVersionPermission`, `GetLayerVersionPolicy`): statements
//! that let another account — or every account — read a layer version and
//! run its functions with it.

use sha2::{Digest as _, Sha256};

use super::Layers;
use crate::error::{Error, Result};
use crate::policies::{GET_LAYER_VERSION, Policy, Statement};
use funnel_store::LayerVersionRecord;

/// What `AddLayerVersionPermission` was asked for.
pub struct LayerPermission<'a> {
    pub statement_id: &'a str,
    pub action: &'a str,
    pub principal: &'a str,
    pub revision_id: &'a str,
}

impl Layers {
    /// Adds a statement to a layer version's policy; returns it (JSON) and
    /// the policy's new revision.
    pub async fn add_layer_version_permission(
        &self,
        layer: &str,
        version: i64,
        permission: LayerPermission<'_>,
    ) -> Result<(String, String)> {
        let _lock = self.code_lock.lock().await;
        let record = self.get_layer_version(layer, version)?;
        check_revision(&record, permission.revision_id)?;
        let resource = self.layer_arn(&record.name, Some(record.version));
        let statement = Statement::for_layer(
            permission.statement_id,
            permission.action,
            permission.principal,
            &resource,
        )?;
        let json = serde_json::to_string(&statement).unwrap_or_default();
        let mut policy = policy_of(&record)?.unwrap_or_default();
        policy.add(statement)?;
        let document = policy.to_json();
        self.store
            .set_layer_version_policy(&record.name, record.version, Some(&document))?;
        self.store.flush_async().await?;
        tracing::info!(layer = %record.name, version = record.version, principal = permission.principal, "added layer version permission");
        Ok((json, revision(Some(&document))))
    }

    /// Removes statement `statement_id` from a layer version's policy.
    pub async fn remove_layer_version_permission(
        &self,
        layer: &str,
        version: i64,
        statement_id: &str,
        revision_id: &str,
    ) -> Result<()> {
        let _lock = self.code_lock.lock().await;
        let record = self.get_layer_version(layer, version)?;
        check_revision(&record, revision_id)?;
        let mut policy = policy_of(&record)?.ok_or_else(no_policy)?;
        policy.remove(statement_id)?;
        let document = policy.to_json();
        let kept = (!policy.statement.is_empty()).then_some(document.as_str());
        self.store
            .set_layer_version_policy(&record.name, record.version, kept)?;
        self.store.flush_async().await?;
        Ok(())
    }

    /// A layer version's policy document and its revision.
    pub fn get_layer_version_policy(&self, layer: &str, version: i64) -> Result<(String, String)> {
        let record = self.get_layer_version(layer, version)?;
        let document = record.policy.clone().ok_or_else(no_policy)?;
        Ok((document, revision(record.policy.as_deref())))
    }

    /// Whether the layer version `arn` lets `account` take `action`: its
    /// own account always may (its callers still need their own
    /// permission), another only through a statement.
    pub fn allows_account(&self, arn: &str, account: &str, action: &str) -> bool {
        let Ok(record) = self.get_layer_version_by_arn(arn) else {
            return false;
        };
        if self.naming.account_of(&record.name) == account {
            return true;
        }
        matches!(policy_of(&record), Ok(Some(policy)) if policy.allows_account(account, action))
    }
}

/// Whether `record`'s policy shares it with `account`.
pub(super) fn shared_with(record: &LayerVersionRecord, account: &str) -> bool {
    matches!(policy_of(record), Ok(Some(policy)) if policy.allows_account(account, GET_LAYER_VERSION))
}

fn policy_of(record: &LayerVersionRecord) -> Result<Option<Policy>> {
    record
        .policy
        .as_deref()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| {
                Error::Service(format!(
                    "the stored policy of layer {} version {} is corrupt: {e}",
                    record.name, record.version
                ))
            })
        })
        .transpose()
}

/// A policy's revision: a digest of its document (empty: no policy).
fn revision(document: Option<&str>) -> String {
    let digest = Sha256::digest(document.unwrap_or_default().as_bytes());
    let hex = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn check_revision(record: &LayerVersionRecord, given: &str) -> Result<()> {
    if given.is_empty() || given == revision(record.policy.as_deref()) {
        return Ok(());
    }
    Err(Error::PreconditionFailed(
        "The RevisionId provided does not match the latest RevisionId for the Lambda function or \
         alias. Call the GetFunction or the GetAlias API to retrieve the latest RevisionId for \
         your resource."
            .into(),
    ))
}

fn no_policy() -> Error {
    Error::ResourceNotFound("No policy is associated with the given resource.".into())
}
