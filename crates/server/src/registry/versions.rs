//! Published versions: immutable snapshots of a function's `$LATEST` code
//! and configuration, numbered 1, 2, ... and never renumbered. Each version
//! has its own execution environments; `$LATEST` changing never touches a
//! published version.

use crate::error::{Error, Result};
use crate::function::FunctionRef;
use crate::function::now_lambda_format;
use crate::registry::Registry;
use funnel_store::FunctionRecord;

/// The most a ListVersionsByFunction page holds, as Lambda.
pub const MAX_PAGE: usize = 50;

impl Registry {
    /// Publishes `$LATEST` as a new version, or returns the newest version if
    /// nothing changed since it was published (as Lambda does). With
    /// `code_sha256`, publishes only if `$LATEST`'s code still has that hash.
    pub async fn publish_version(
        &self,
        function_name: &str,
        description: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
    ) -> Result<FunctionRecord> {
        crate::function::validate_description(description)?;
        let target = self.resolve(function_name, "")?;
        let _code = self.code_lock.lock().await;
        let latest = self
            .store
            .get_function(&target.name)?
            .ok_or_else(|| self.not_found(&target))?;
        if revision_id.is_some_and(|given| given != latest.revision_id) {
            return Err(crate::registry::stale_revision("GetFunction"));
        }
        if !code_sha256.is_empty() && code_sha256 != Registry::code_sha256_base64(&latest) {
            return Err(Error::PreconditionFailed(format!(
                "CodeSha256 {code_sha256} does not match the code of $LATEST ({})",
                Registry::code_sha256_base64(&latest)
            )));
        }
        if let Some(newest) = self.store.versions(&target.name)?.pop()
            && same_code_and_configuration(&newest, &latest)
        {
            return Ok(newest);
        }
        let (_, latest) = self
            .store
            .update_function(&target.name, revision_id, |record| record.last_version += 1)
            .map_err(|err| self.store_error(err, &target))?;
        let version = FunctionRecord {
            version: latest.last_version.to_string(),
            description: if description.is_empty() {
                latest.description.clone()
            } else {
                description.to_string()
            },
            last_modified: now_lambda_format(),
            last_version: 0,
            revision_id: funnel_store::new_revision_id(),
            ..latest.clone()
        };
        self.store.put_version(&version)?;
        self.records.invalidate(&target.name);
        self.store.flush_async().await?;
        tracing::info!(function = %version.name, version = %version.version, "published version");
        Ok(version)
    }

    /// `$LATEST` and the published versions, a page at a time; returns the
    /// page and the marker of the next.
    pub fn list_versions(
        &self,
        function_name: &str,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<(Vec<FunctionRecord>, Option<String>)> {
        let target = self.resolve(function_name, "")?;
        let limit = crate::function::page_size(max_items, MAX_PAGE)?;
        let latest = self
            .store
            .get_function(&target.name)?
            .ok_or_else(|| self.not_found(&target))?;
        let mut all = vec![latest];
        all.extend(self.store.versions(&target.name)?);
        let start = match marker {
            "" => 0,
            marker => all
                .iter()
                .position(|v| v.version == marker)
                .map(|i| i + 1)
                .ok_or_else(|| {
                    Error::InvalidParameterValue(format!("Marker {marker:?} is not valid"))
                })?,
        };
        let page: Vec<_> = all.iter().skip(start).take(limit).cloned().collect();
        let next = (start + page.len() < all.len())
            .then(|| page.last().map(|v| v.version.clone()))
            .flatten();
        Ok((page, next))
    }

    /// Deletes one published version (its environments are retired).
    pub(crate) async fn delete_version(&self, target: &FunctionRef, version: &str) -> Result<()> {
        let number: u32 = version.parse().map_err(|_| self.not_found(target))?;
        let _code = self.code_lock.lock().await;
        let aliases = self.aliases_of(&target.name, version)?;
        if !aliases.is_empty() {
            return Err(Error::ResourceConflict(format!(
                "Unable to delete version because the following aliases reference it: {aliases:?}"
            )));
        }
        let record = self
            .store
            .delete_version(&target.name, number)
            .map_err(|err| self.store_error(err, target))?;
        self.store.set_provisioned(&target.name, version, None)?;
        self.store.set_policy(&target.name, version, None)?;
        self.policies.clear();
        self.records.invalidate(&target.name);
        self.release_code(&record.code_sha256)?;
        self.layers.release(&record.layers, &[])?;
        self.store.flush_async().await?;
        drop(_code);
        self.runtime
            .retire_function(&target.name, Some(version))
            .await;
        tracing::info!(function = %target.name, version, "deleted version");
        Ok(())
    }
}

/// Whether publishing `latest` would repeat `version`.
fn same_code_and_configuration(version: &FunctionRecord, latest: &FunctionRecord) -> bool {
    version.code_sha256 == latest.code_sha256
        && version.memory_size == latest.memory_size
        && version.timeout == latest.timeout
        && version.ephemeral_storage == latest.ephemeral_storage
        && version.environment == latest.environment
        && version.layers == latest.layers
        && version.bucket_access == latest.bucket_access
        && version.topic_access == latest.topic_access
        && version.secret_access == latest.secret_access
        && version.runtime == latest.runtime
        && version.handler == latest.handler
}
