//! Secrets Manager's model: a secret has a name, an ARN (the name and six
//! random characters, as AWS suffixes them, so a secret made again under
//! an old name is not the old one), a description, tags, and versions
//! (a `VersionId` each) with staging labels: `AWSCURRENT` on the value
//! reads get, `AWSPREVIOUS` on the one before, and labels of the caller's
//! own. A label is on one version at most. `DeleteSecret` schedules the
//! deletion after a recovery window (7-30 days, 30 by default) during
//! which the secret can be described and restored but not read or
//! changed; the secret goes when a call meets it after the window.
//! Errors are Secrets Manager's names.

use std::collections::BTreeMap;

use funnel_store::{SecretRecord, SecretVersionRecord, StoreError};

use super::{SecretValue, Vault};
use crate::error::{Error, Result};

use super::rules::*;

impl Vault {
    /// `arn:funnel:secretsmanager:<region>:<account>:secret:`.
    fn secret_arn_prefix(&self, account: &str) -> String {
        format!(
            "arn:funnel:secretsmanager:{}:{account}:secret:",
            self.inner.region
        )
    }

    /// The secret `id` names in `account` (a name, a full ARN, or an ARN
    /// without the random suffix), if it exists; one whose recovery
    /// window has ended is deleted now and is not found.
    fn locate(&self, account: &str, id: &str) -> Result<Option<SecretRecord>> {
        let found = match id.strip_prefix(&self.secret_arn_prefix(account)) {
            Some(rest) => {
                let full = rest
                    .len()
                    .checked_sub(7)
                    .filter(|&at| rest.as_bytes()[at] == b'-')
                    .map(|at| &rest[..at]);
                match full
                    .map(|name| self.store().secret(account, name))
                    .transpose()?
                {
                    Some(Some(record)) if record.arn == id => Some(record),
                    _ => self.store().secret(account, rest)?,
                }
            }
            // Another account's ARN, or another service's: not here.
            None if id.starts_with("arn:") => None,
            None => self.store().secret(account, id)?,
        };
        match found {
            Some(record) if record.deletion_ms.is_some_and(|at| at <= self.now_ms()) => {
                self.store().delete_secret(account, &record.name)?;
                tracing::info!(
                    account,
                    secret = %record.name,
                    "deleted a secret at the end of its recovery window"
                );
                Ok(None)
            }
            found => Ok(found),
        }
    }

    /// The secret `id` names, which must exist and not wait for deletion.
    fn live(&self, account: &str, id: &str) -> Result<SecretRecord> {
        match self.locate(account, id)? {
            None => Err(Error::ResourceNotFound(NOT_FOUND.into())),
            Some(record) if record.deleted_ms.is_some() => {
                Err(Error::InvalidRequestState(MARKED_DELETED.into()))
            }
            Some(record) => Ok(record),
        }
    }

    fn sealed_version(
        &self,
        account: &str,
        arn: &str,
        version_id: &str,
        value: &SecretPayload,
    ) -> Result<SecretVersionRecord> {
        Ok(SecretVersionRecord {
            version_id: version_id.to_string(),
            created_ms: self.now_ms(),
            binary: value.is_binary(),
            sealed: self.seal(account, value.bytes(), &version_context(arn, version_id))?,
        })
    }

    /// `CreateSecret`: the new secret, and its first version's id if it
    /// was given a value.
    pub async fn create_secret(
        &self,
        account: &str,
        new: NewSecret,
    ) -> Result<(SecretRecord, Option<String>)> {
        validate_name(&new.name)?;
        validate_tags(&new.tags)?;
        validate_token(&new.client_request_token)?;
        if new.description.chars().count() > MAX_DESCRIPTION {
            return Err(Error::InvalidParameter(format!(
                "A description is at most {MAX_DESCRIPTION} characters"
            )));
        }
        let created = {
            let _one = self.write_lock();
            match self.locate(account, &new.name)? {
                Some(existing) if existing.deleted_ms.is_some() => {
                    return Err(Error::InvalidRequestState(
                        "You can't create this secret because a secret with this name is \
                         already scheduled for deletion."
                            .into(),
                    ));
                }
                Some(_) => {
                    return Err(Error::ResourceExists(format!(
                        "The operation failed because the secret {} already exists.",
                        new.name
                    )));
                }
                None => {}
            }
            let now = self.now_ms();
            let arn = format!(
                "{}{}-{}",
                self.secret_arn_prefix(account),
                new.name,
                arn_suffix()
            );
            let mut record = SecretRecord {
                account_id: account.to_string(),
                name: new.name.clone(),
                arn,
                description: new.description,
                tags: new.tags,
                created_ms: now,
                last_changed_ms: now,
                deleted_ms: None,
                deletion_ms: None,
                stages: BTreeMap::new(),
            };
            let mut versions = Vec::new();
            if let Some(value) = &new.value {
                let id = match new.client_request_token.as_str() {
                    "" => uuid::Uuid::new_v4().to_string(),
                    token => token.to_string(),
                };
                versions.push(self.sealed_version(account, &record.arn, &id, value)?);
                record.stages.insert(CURRENT.into(), id);
            }
            self.store()
                .create_secret(&record, &versions)
                .map_err(|e| match e {
                    StoreError::AlreadyExists(name) => Error::ResourceExists(format!(
                        "The operation failed because the secret {name} already exists."
                    )),
                    other => other.into(),
                })?;
            let version = versions.pop().map(|v| v.version_id);
            (record, version)
        };
        self.flush().await?;
        tracing::info!(account, secret = %created.0.name, "created a secret");
        Ok(created)
    }

    /// `PutSecretValue`: a new version with `stages` (`AWSCURRENT` by
    /// default; the version that had `AWSCURRENT` gets `AWSPREVIOUS`).
    /// Returns the secret, the version's id and its labels. The same
    /// `ClientRequestToken` with the same value again changes nothing.
    pub async fn put_secret_value(
        &self,
        account: &str,
        id: &str,
        value: SecretPayload,
        client_request_token: &str,
        stages: Vec<String>,
    ) -> Result<(SecretRecord, String, Vec<String>)> {
        validate_token(client_request_token)?;
        let stages = if stages.is_empty() {
            vec![CURRENT.to_string()]
        } else {
            stages
        };
        for label in &stages {
            validate_label(label)?;
        }
        if stages.len() > MAX_LABELS_PER_VERSION {
            return Err(Error::LimitExceeded(format!(
                "A version has at most {MAX_LABELS_PER_VERSION} staging labels"
            )));
        }
        let put = {
            let _one = self.write_lock();
            let mut record = self.live(account, id)?;
            let version_id = match client_request_token {
                "" => uuid::Uuid::new_v4().to_string(),
                token => token.to_string(),
            };
            if let Some(existing) =
                self.store()
                    .secret_version(account, &record.name, &version_id)?
            {
                let stored = self.unseal(
                    account,
                    &existing.sealed,
                    &version_context(&record.arn, &version_id),
                    &format!("secret {}", record.name),
                )?;
                if existing.binary != value.is_binary() || stored != value.bytes() {
                    return Err(Error::ResourceExists(
                        "You can't modify an existing version, you can only create a new version."
                            .into(),
                    ));
                }
                let labels = stages_of(&record, &version_id);
                return Ok((record, version_id, labels));
            }
            let version = self.sealed_version(account, &record.arn, &version_id, &value)?;
            for label in &stages {
                if label == CURRENT
                    && let Some(current) = record.stages.get(CURRENT).cloned()
                {
                    record.stages.insert(PREVIOUS.into(), current);
                }
                record.stages.insert(label.clone(), version_id.clone());
            }
            record.last_changed_ms = self.now_ms();
            let remove = self.versions_past_the_cap(account, &record, 1)?;
            self.store().write_secret(&record, &[version], &remove)?;
            let labels = stages_of(&record, &version_id);
            (record, version_id, labels)
        };
        self.flush().await?;
        Ok(put)
    }

    /// The oldest versions without a label, past [`MAX_VERSIONS`] once
    /// `adding` more are stored.
    fn versions_past_the_cap(
        &self,
        account: &str,
        record: &SecretRecord,
        adding: usize,
    ) -> Result<Vec<String>> {
        let mut versions = self.store().secret_versions(account, &record.name)?;
        let over = (versions.len() + adding).saturating_sub(MAX_VERSIONS);
        versions.retain(|v| !record.stages.values().any(|id| *id == v.version_id));
        versions.sort_by_key(|v| v.created_ms);
        Ok(versions
            .into_iter()
            .take(over)
            .map(|v| v.version_id)
            .collect())
    }

    /// `GetSecretValue`: the version `version_id` names, or the one with
    /// `stage` (`AWSCURRENT` when neither is given); with its creation
    /// time.
    pub fn get_secret_value(
        &self,
        account: &str,
        id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<(SecretValue, i64)> {
        let record = self.live(account, id)?;
        let version_id = match (version_id, stage) {
            (Some(version), Some(stage)) => {
                if record.stages.get(stage).map(String::as_str) != Some(version) {
                    return Err(Error::InvalidParameter(format!(
                        "The staging label {stage} is not on version {version}."
                    )));
                }
                version.to_string()
            }
            (Some(version), None) => version.to_string(),
            (None, stage) => {
                let stage = stage.unwrap_or(CURRENT);
                record.stages.get(stage).cloned().ok_or_else(|| {
                    Error::ResourceNotFound(format!(
                        "Secrets Manager can't find the specified secret value for staging \
                         label: {stage}"
                    ))
                })?
            }
        };
        let version = self
            .store()
            .secret_version(account, &record.name, &version_id)?
            .ok_or_else(|| {
                Error::ResourceNotFound(format!(
                    "Secrets Manager can't find the specified secret value for VersionId: \
                     {version_id}"
                ))
            })?;
        let what = format!("secret {}", record.name);
        let bytes = self.unseal(
            account,
            &version.sealed,
            &version_context(&record.arn, &version_id),
            &what,
        )?;
        let (secret_string, secret_binary) = if version.binary {
            (None, Some(bytes))
        } else {
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::DecryptionFailure(format!("the value of {what} is not UTF-8"))
            })?;
            (Some(text), None)
        };
        Ok((
            SecretValue {
                version_stages: stages_of(&record, &version_id),
                name: record.name,
                arn: record.arn,
                version_id,
                secret_string,
                secret_binary,
            },
            version.created_ms,
        ))
    }

    /// `DescribeSecret`: the secret, even while it waits for deletion.
    pub fn describe_secret(&self, account: &str, id: &str) -> Result<SecretRecord> {
        self.locate(account, id)?
            .ok_or_else(|| Error::ResourceNotFound(NOT_FOUND.into()))
    }

    /// `ListSecrets`: up to `limit` of the account's secrets after the
    /// name `after`, in name order, that every filter matches (those
    /// waiting for deletion only with `include_deleted`); and the name to
    /// continue after, if there are more.
    pub fn list_secrets(
        &self,
        account: &str,
        include_deleted: bool,
        filters: &[SecretFilter],
        after: &str,
        limit: usize,
    ) -> Result<(Vec<SecretRecord>, Option<String>)> {
        const BATCH: usize = 256;
        let now = self.now_ms();
        let mut out = Vec::new();
        let mut cursor = after.to_string();
        loop {
            let batch = self.store().secrets(account, &cursor, BATCH)?;
            let Some(last) = batch.last() else {
                return Ok((out, None));
            };
            cursor = last.name.clone();
            let ended = batch.len() < BATCH;
            for record in batch {
                if record.deletion_ms.is_some_and(|at| at <= now) {
                    // Gone: `locate` deletes it.
                    self.locate(account, &record.name)?;
                    continue;
                }
                if record.deleted_ms.is_some() && !include_deleted {
                    continue;
                }
                let mut kept = true;
                for filter in filters {
                    kept &= matches_filter(&record, filter)?;
                }
                if !kept {
                    continue;
                }
                if out.len() == limit {
                    let next = out.last().map(|r: &SecretRecord| r.name.clone());
                    return Ok((out, next));
                }
                out.push(record);
            }
            if ended {
                return Ok((out, None));
            }
        }
    }

    /// `UpdateSecretVersionStage`: moves `stage` to `move_to` (from
    /// `remove_from`, which must be where it is, if it is anywhere), or
    /// removes it from `remove_from`. `AWSCURRENT` cannot be removed, only
    /// moved; the version it leaves gets `AWSPREVIOUS`.
    pub async fn update_secret_version_stage(
        &self,
        account: &str,
        id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<SecretRecord> {
        validate_label(stage)?;
        let updated = {
            let _one = self.write_lock();
            let mut record = self.live(account, id)?;
            let current = record.stages.get(stage).cloned();
            if let Some(from) = remove_from
                && current.as_deref() != Some(from)
            {
                return Err(Error::InvalidParameter(format!(
                    "The staging label {stage} is not attached to version {from}."
                )));
            }
            match move_to {
                Some(to) => {
                    if self
                        .store()
                        .secret_version(account, &record.name, to)?
                        .is_none()
                    {
                        return Err(Error::ResourceNotFound(format!(
                            "Secrets Manager can't find the specified secret version: {to}"
                        )));
                    }
                    if let Some(on) = &current
                        && on != to
                        && remove_from.is_none()
                    {
                        return Err(Error::InvalidParameter(format!(
                            "The staging label {stage} is attached to version {on}: name it in \
                             RemoveFromVersionId to move the label."
                        )));
                    }
                    if current.as_deref() != Some(to) {
                        if stages_of(&record, to).len() >= MAX_LABELS_PER_VERSION {
                            return Err(Error::LimitExceeded(format!(
                                "A version has at most {MAX_LABELS_PER_VERSION} staging labels"
                            )));
                        }
                        if stage == CURRENT
                            && let Some(old) = current
                        {
                            record.stages.insert(PREVIOUS.into(), old);
                        }
                        record.stages.insert(stage.to_string(), to.to_string());
                    }
                }
                None => {
                    if remove_from.is_none() {
                        return Err(Error::InvalidParameter(
                            "Give MoveToVersionId, RemoveFromVersionId or both.".into(),
                        ));
                    }
                    if stage == CURRENT {
                        return Err(Error::InvalidParameter(
                            "AWSCURRENT can only be moved to another version, not removed.".into(),
                        ));
                    }
                    record.stages.remove(stage);
                }
            }
            record.last_changed_ms = self.now_ms();
            self.store().write_secret(&record, &[], &[])?;
            record
        };
        self.flush().await?;
        Ok(updated)
    }

    /// `DeleteSecret`: schedules the deletion after `recovery_days` (7-30,
    /// 30 by default), or deletes now with `force`. Returns the secret
    /// and when it goes (ms).
    pub async fn delete_secret(
        &self,
        account: &str,
        id: &str,
        recovery_days: Option<i64>,
        force: bool,
    ) -> Result<(SecretRecord, i64)> {
        if force && recovery_days.is_some() {
            return Err(Error::InvalidParameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with \
                 RecoveryWindowInDays."
                    .into(),
            ));
        }
        let days = recovery_days.unwrap_or(DEFAULT_RECOVERY_DAYS);
        if !(7..=30).contains(&days) {
            return Err(Error::InvalidParameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).".into(),
            ));
        }
        let deleted = {
            let _one = self.write_lock();
            let mut record = self
                .locate(account, id)?
                .ok_or_else(|| Error::ResourceNotFound(NOT_FOUND.into()))?;
            let now = self.now_ms();
            if force {
                self.store().delete_secret(account, &record.name)?;
                (record, now)
            } else {
                if record.deleted_ms.is_some() {
                    return Err(Error::InvalidRequestState(MARKED_DELETED.into()));
                }
                let at = now + days * DAY_MS;
                record.deleted_ms = Some(now);
                record.deletion_ms = Some(at);
                self.store().write_secret(&record, &[], &[])?;
                (record, at)
            }
        };
        self.flush().await?;
        tracing::info!(account, secret = %deleted.0.name, force, "deleted a secret");
        Ok(deleted)
    }

    /// `RestoreSecret`: cancels a scheduled deletion (a secret that is
    /// not deleted is left as it is).
    pub async fn restore_secret(&self, account: &str, id: &str) -> Result<SecretRecord> {
        let restored = {
            let _one = self.write_lock();
            let mut record = self
                .locate(account, id)?
                .ok_or_else(|| Error::ResourceNotFound(NOT_FOUND.into()))?;
            if record.deleted_ms.is_some() {
                record.deleted_ms = None;
                record.deletion_ms = None;
                self.store().write_secret(&record, &[], &[])?;
            }
            record
        };
        self.flush().await?;
        Ok(restored)
    }
}

#[cfg(test)]
mod tests;
