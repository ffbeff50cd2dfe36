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

use funnel_store::{SecretRecord, SecretVersionRecord, StoreError, TagRecord};

use super::{SecretValue, Vault};
use crate::error::{Error, Result};

pub const CURRENT: &str = "AWSCURRENT";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// A value's limit (bytes), string or binary.
pub const MAX_VALUE_BYTES: usize = 65_536;
/// Versions kept per secret; past it the oldest without a label goes.
const MAX_VERSIONS: usize = 100;
const MAX_LABELS_PER_VERSION: usize = 20;
const MAX_TAGS: usize = 50;
const MAX_DESCRIPTION: usize = 2048;
pub const DEFAULT_RECOVERY_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

const NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
const MARKED_DELETED: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";

/// A secret's value as given: `SecretString` or `SecretBinary`.
pub enum SecretPayload {
    String(String),
    Binary(Vec<u8>),
}

impl SecretPayload {
    /// The one value given; `required` refuses none.
    pub fn of(
        string: Option<String>,
        binary: Option<Vec<u8>>,
        required: bool,
    ) -> Result<Option<SecretPayload>> {
        let payload = match (string, binary) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidParameter(
                    "You can't specify both a binary secret value and a string secret value in \
                     the same secret."
                        .into(),
                ));
            }
            (Some(s), None) => Some(SecretPayload::String(s)),
            (None, Some(b)) => Some(SecretPayload::Binary(b)),
            (None, None) if required => {
                return Err(Error::InvalidRequestState(
                    "You must provide either SecretString or SecretBinary.".into(),
                ));
            }
            (None, None) => None,
        };
        if let Some(p) = &payload {
            let len = p.bytes().len();
            if len == 0 || len > MAX_VALUE_BYTES {
                return Err(Error::InvalidParameter(format!(
                    "The secret value must be 1 to {MAX_VALUE_BYTES} bytes (it is {len})."
                )));
            }
        }
        Ok(payload)
    }

    fn bytes(&self) -> &[u8] {
        match self {
            SecretPayload::String(s) => s.as_bytes(),
            SecretPayload::Binary(b) => b,
        }
    }

    fn is_binary(&self) -> bool {
        matches!(self, SecretPayload::Binary(_))
    }
}

/// `CreateSecret`'s request.
pub struct NewSecret {
    pub name: String,
    pub description: String,
    pub value: Option<SecretPayload>,
    pub tags: Vec<TagRecord>,
    /// The first version's id, if the caller chose it.
    pub client_request_token: String,
}

/// A `ListSecrets` filter: `name`, `description`, `tag-key`, `tag-value`
/// or `all`; a secret matches if any value is a prefix of its field (case
/// aside), or, for a value starting with `!`, if none is.
pub struct SecretFilter {
    pub key: String,
    pub values: Vec<String>,
}

/// What is bound to a version's sealed value: its secret and its id.
fn version_context(arn: &str, version_id: &str) -> Vec<u8> {
    format!("secret\0{arn}\0{version_id}").into_bytes()
}

fn validate_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!(
            "Invalid name {name:?}: a secret name is 1-512 characters of letters, digits and \
             /_+=.@-"
        )))
    }
}

fn validate_label(label: &str) -> Result<()> {
    if label.is_empty() || label.len() > 256 || label.chars().any(char::is_control) {
        return Err(Error::InvalidParameter(format!(
            "Invalid staging label {label:?}: 1-256 characters"
        )));
    }
    Ok(())
}

fn validate_token(token: &str) -> Result<()> {
    let valid = (32..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if token.is_empty() || valid {
        Ok(())
    } else {
        Err(Error::InvalidParameter(
            "ClientRequestToken must be 32-64 letters, digits, - or _".into(),
        ))
    }
}

fn validate_tags(tags: &[TagRecord]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::InvalidParameter(format!(
            "A secret has at most {MAX_TAGS} tags"
        )));
    }
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 || tag.value.chars().count() > 256 {
            return Err(Error::InvalidParameter(format!(
                "Invalid tag {:?}: a key is 1-128 characters, a value at most 256",
                tag.key
            )));
        }
    }
    Ok(())
}

/// The labels on `version_id`.
pub fn stages_of(record: &SecretRecord, version_id: &str) -> Vec<String> {
    record
        .stages
        .iter()
        .filter(|(_, v)| *v == version_id)
        .map(|(label, _)| label.clone())
        .collect()
}

/// Version id → its labels, for every version that has one.
pub fn versions_to_stages(record: &SecretRecord) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (label, version) in &record.stages {
        out.entry(version.clone()).or_default().push(label.clone());
    }
    out
}

/// Six random letters and digits: the end of a secret's ARN.
fn arn_suffix() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 6];
    crate::iam::seal::random(&mut bytes);
    bytes
        .iter()
        .map(|b| CHARS[usize::from(*b) % CHARS.len()] as char)
        .collect()
}

fn matches_filter(record: &SecretRecord, filter: &SecretFilter) -> Result<bool> {
    let fields: Vec<&str> = match filter.key.as_str() {
        "name" => vec![&record.name],
        "description" => vec![&record.description],
        "tag-key" => record.tags.iter().map(|t| t.key.as_str()).collect(),
        "tag-value" => record.tags.iter().map(|t| t.value.as_str()).collect(),
        "all" => [record.name.as_str(), record.description.as_str()]
            .into_iter()
            .chain(
                record
                    .tags
                    .iter()
                    .flat_map(|t| [t.key.as_str(), t.value.as_str()]),
            )
            .collect(),
        other => {
            return Err(Error::InvalidParameter(format!(
                "Invalid filter key {other:?}: name, description, tag-key, tag-value or all"
            )));
        }
    };
    let starts =
        |field: &str, prefix: &str| field.to_lowercase().starts_with(&prefix.to_lowercase());
    let mut any = false;
    for value in &filter.values {
        let hit = match value.strip_prefix('!') {
            Some(not) => !fields.iter().any(|f| starts(f, not)),
            None => fields.iter().any(|f| starts(f, value)),
        };
        any |= hit;
    }
    Ok(any)
}

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
mod tests {
    use super::super::tests::{OTHER, TEAM, vault};
    use super::*;

    fn string(s: &str) -> Option<SecretPayload> {
        Some(SecretPayload::String(s.into()))
    }

    async fn create(vault: &Vault, name: &str, value: &str) -> SecretRecord {
        vault
            .create_secret(
                TEAM,
                NewSecret {
                    name: name.into(),
                    description: String::new(),
                    value: string(value),
                    tags: vec![],
                    client_request_token: String::new(),
                },
            )
            .await
            .unwrap()
            .0
    }

    fn current(vault: &Vault, id: &str) -> String {
        vault
            .secret_value(TEAM, id, None)
            .unwrap()
            .secret_string
            .unwrap()
    }

    #[tokio::test]
    async fn versions_move_awscurrent_and_awsprevious() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        let record = create(&vault, "db-pass", "one").await;
        assert!(
            record
                .arn
                .starts_with("arn:funnel:secretsmanager:local:111111111111:secret:db-pass-")
        );
        assert_eq!(
            record.arn.len(),
            "arn:funnel:secretsmanager:local:111111111111:secret:db-pass-".len() + 6
        );
        let (_, two, stages) = vault
            .put_secret_value(TEAM, "db-pass", string("two").unwrap(), "", vec![])
            .await
            .unwrap();
        assert_eq!(stages, [CURRENT]);
        assert_eq!(current(&vault, "db-pass"), "two");
        let previous = vault.secret_value(TEAM, "db-pass", Some(PREVIOUS)).unwrap();
        assert_eq!(previous.secret_string.as_deref(), Some("one"));
        assert_eq!(previous.version_stages, [PREVIOUS]);
        // By ARN, full or without its suffix.
        assert_eq!(current(&vault, &record.arn), "two");
        let partial = record.arn[..record.arn.len() - 7].to_string();
        assert_eq!(current(&vault, &partial), "two");
        // Another account's ARN or name is not found from this one.
        assert!(matches!(
            vault.secret_value(OTHER, &record.arn, None),
            Err(Error::ResourceNotFound(_))
        ));
        assert!(matches!(
            vault.secret_value(OTHER, "db-pass", None),
            Err(Error::ResourceNotFound(_))
        ));

        // A custom label, then moved back to the first version.
        let (_, three, _) = vault
            .put_secret_value(
                TEAM,
                "db-pass",
                string("three").unwrap(),
                "",
                vec!["canary".into()],
            )
            .await
            .unwrap();
        assert_eq!(
            current(&vault, "db-pass"),
            "two",
            "a custom label alone leaves AWSCURRENT"
        );
        let canary = vault.secret_value(TEAM, "db-pass", Some("canary")).unwrap();
        assert_eq!(canary.version_id, three);
        let moved = vault
            .update_secret_version_stage(TEAM, "db-pass", CURRENT, Some(&three), None)
            .await;
        assert!(
            matches!(moved, Err(Error::InvalidParameter(_))),
            "RemoveFromVersionId is needed"
        );
        vault
            .update_secret_version_stage(TEAM, "db-pass", CURRENT, Some(&three), Some(&two))
            .await
            .unwrap();
        assert_eq!(current(&vault, "db-pass"), "three");
        let previous = vault.secret_value(TEAM, "db-pass", Some(PREVIOUS)).unwrap();
        assert_eq!(previous.version_id, two);
        let removed = vault
            .update_secret_version_stage(TEAM, "db-pass", CURRENT, None, Some(&three))
            .await;
        assert!(matches!(removed, Err(Error::InvalidParameter(_))));
        vault
            .update_secret_version_stage(TEAM, "db-pass", "canary", None, Some(&three))
            .await
            .unwrap();
        assert!(matches!(
            vault.secret_value(TEAM, "db-pass", Some("canary")),
            Err(Error::ResourceNotFound(_))
        ));
        // A version by id.
        let (first, _) = vault
            .get_secret_value(TEAM, "db-pass", Some(&record.stages[CURRENT]), None)
            .unwrap();
        assert_eq!(first.secret_string.as_deref(), Some("one"));
        assert!(first.version_stages.is_empty());
    }

    #[tokio::test]
    async fn a_token_makes_a_put_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        create(&vault, "api", "one").await;
        let token = "0123456789abcdef0123456789abcdef";
        let (_, id, _) = vault
            .put_secret_value(TEAM, "api", string("two").unwrap(), token, vec![])
            .await
            .unwrap();
        assert_eq!(id, token);
        let (_, again, _) = vault
            .put_secret_value(TEAM, "api", string("two").unwrap(), token, vec![])
            .await
            .unwrap();
        assert_eq!(again, token);
        assert_eq!(
            vault
                .secret_value(TEAM, "api", Some(PREVIOUS))
                .unwrap()
                .secret_string
                .as_deref(),
            Some("one"),
            "the repeat changed nothing"
        );
        let other = vault
            .put_secret_value(TEAM, "api", string("three").unwrap(), token, vec![])
            .await;
        assert!(matches!(other, Err(Error::ResourceExists(_))));
    }

    #[tokio::test]
    async fn binary_values_and_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        vault
            .create_secret(
                TEAM,
                NewSecret {
                    name: "key".into(),
                    description: "a signing key".into(),
                    value: Some(SecretPayload::Binary(vec![0, 1, 2, 255])),
                    tags: vec![],
                    client_request_token: String::new(),
                },
            )
            .await
            .unwrap();
        let value = vault.secret_value(TEAM, "key", None).unwrap();
        assert_eq!(value.secret_binary.as_deref(), Some(&[0, 1, 2, 255][..]));
        assert_eq!(value.secret_string, None);
        let big = "x".repeat(MAX_VALUE_BYTES);
        assert!(SecretPayload::of(Some(big.clone()), None, true).is_ok());
        assert!(matches!(
            SecretPayload::of(Some(big + "x"), None, true),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(
            SecretPayload::of(Some("a".into()), Some(vec![1]), true),
            Err(Error::InvalidParameter(_))
        ));
        assert!(SecretPayload::of(None, None, false).unwrap().is_none());
    }

    #[tokio::test]
    async fn deletion_waits_for_its_window_and_can_be_undone() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        create(&vault, "db", "one").await;
        assert!(matches!(
            vault.delete_secret(TEAM, "db", Some(6), false).await,
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(
            vault.delete_secret(TEAM, "db", Some(7), true).await,
            Err(Error::InvalidParameter(_))
        ));
        let (_, at) = vault
            .delete_secret(TEAM, "db", Some(7), false)
            .await
            .unwrap();
        assert_eq!(at, vault.now_ms() + 7 * DAY_MS);
        assert!(matches!(
            vault.secret_value(TEAM, "db", None),
            Err(Error::InvalidRequestState(_))
        ));
        assert!(
            vault
                .describe_secret(TEAM, "db")
                .unwrap()
                .deleted_ms
                .is_some()
        );
        assert!(
            vault
                .list_secrets(TEAM, false, &[], "", 10)
                .unwrap()
                .0
                .is_empty()
        );
        assert_eq!(
            vault.list_secrets(TEAM, true, &[], "", 10).unwrap().0.len(),
            1
        );
        vault.restore_secret(TEAM, "db").await.unwrap();
        assert_eq!(current(&vault, "db"), "one");

        // The window ends: the secret is gone, and the name free again.
        vault.delete_secret(TEAM, "db", None, false).await.unwrap();
        vault.inner.clock.advance(std::time::Duration::from_millis(
            (DEFAULT_RECOVERY_DAYS * DAY_MS) as u64,
        ));
        assert!(matches!(
            vault.describe_secret(TEAM, "db"),
            Err(Error::ResourceNotFound(_))
        ));
        assert!(
            vault
                .store()
                .secret_versions(TEAM, "db")
                .unwrap()
                .is_empty()
        );
        let again = create(&vault, "db", "new").await;
        assert_eq!(current(&vault, &again.arn), "new");

        // Forced: gone at once.
        vault.delete_secret(TEAM, "db", None, true).await.unwrap();
        assert!(matches!(
            vault.restore_secret(TEAM, "db").await,
            Err(Error::ResourceNotFound(_))
        ));
    }

    #[tokio::test]
    async fn listing_filters_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        for name in ["app/a", "app/b", "db", "App/c"] {
            create(&vault, name, "v").await;
        }
        let names = |filters: &[SecretFilter], limit| -> (Vec<String>, Option<String>) {
            let (records, next) = vault.list_secrets(TEAM, false, filters, "", limit).unwrap();
            (records.into_iter().map(|r| r.name).collect(), next)
        };
        let filter = |key: &str, value: &str| SecretFilter {
            key: key.into(),
            values: vec![value.into()],
        };
        assert_eq!(names(&[], 10).0, ["App/c", "app/a", "app/b", "db"]);
        assert_eq!(
            names(&[filter("name", "app/")], 10).0,
            ["App/c", "app/a", "app/b"]
        );
        assert_eq!(names(&[filter("name", "!app")], 10).0, ["db"]);
        let (page, next) = names(&[], 2);
        assert_eq!(page, ["App/c", "app/a"]);
        let (rest, end) = vault
            .list_secrets(TEAM, false, &[], next.as_deref().unwrap(), 2)
            .unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(end, None);
        assert!(matches!(
            vault.list_secrets(TEAM, false, &[filter("color", "x")], "", 10),
            Err(Error::InvalidParameter(_))
        ));
    }

    #[tokio::test]
    async fn a_sealed_value_opens_only_in_its_own_record() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        let a = create(&vault, "a", "alpha").await;
        let b = create(&vault, "b", "beta").await;
        // Move a's sealed version into b's place: it must not open there.
        let store = vault.store();
        let a_version = store
            .secret_version(TEAM, "a", &a.stages[CURRENT])
            .unwrap()
            .unwrap();
        let mut planted = a_version.clone();
        planted.version_id = b.stages[CURRENT].clone();
        store.write_secret(&b, &[planted], &[]).unwrap();
        assert!(matches!(
            vault.secret_value(TEAM, "b", None),
            Err(Error::DecryptionFailure(_))
        ));
        assert_eq!(current(&vault, "a"), "alpha");
        // Nothing stored holds the value in clear.
        assert!(!a_version.sealed.contains(&hex::encode("alpha")));
    }
}
