//! What a caller gives Secrets Manager and the rules it must meet: the
//! value (string or binary, 64 KB at most), names, labels, tokens, tags,
//! ListSecrets' filters, and the limits; shared by the operations in
//! `manager`.

use std::collections::BTreeMap;

use funnel_store::{SecretRecord, TagRecord};

use crate::error::{Error, Result};

pub const CURRENT: &str = "AWSCURRENT";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// A value's limit (bytes), string or binary.
pub const MAX_VALUE_BYTES: usize = 65_536;
/// Versions kept per secret; past it the oldest without a label goes.
pub(super) const MAX_VERSIONS: usize = 100;
pub(super) const MAX_LABELS_PER_VERSION: usize = 20;
pub(super) const MAX_TAGS: usize = 50;
pub(super) const MAX_DESCRIPTION: usize = 2048;
pub const DEFAULT_RECOVERY_DAYS: i64 = 30;
pub(super) const DAY_MS: i64 = 86_400_000;

pub(super) const NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
pub(super) const MARKED_DELETED: &str =
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

    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            SecretPayload::String(s) => s.as_bytes(),
            SecretPayload::Binary(b) => b,
        }
    }

    pub(super) fn is_binary(&self) -> bool {
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
pub(super) fn version_context(arn: &str, version_id: &str) -> Vec<u8> {
    format!("secret\0{arn}\0{version_id}").into_bytes()
}

pub(super) fn validate_name(name: &str) -> Result<()> {
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

pub(super) fn validate_label(label: &str) -> Result<()> {
    if label.is_empty() || label.len() > 256 || label.chars().any(char::is_control) {
        return Err(Error::InvalidParameter(format!(
            "Invalid staging label {label:?}: 1-256 characters"
        )));
    }
    Ok(())
}

pub(super) fn validate_token(token: &str) -> Result<()> {
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

pub(super) fn validate_tags(tags: &[TagRecord]) -> Result<()> {
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
pub(super) fn arn_suffix() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 6];
    crate::iam::seal::random(&mut bytes);
    bytes
        .iter()
        .map(|b| CHARS[usize::from(*b) % CHARS.len()] as char)
        .collect()
}

pub(super) fn matches_filter(record: &SecretRecord, filter: &SecretFilter) -> Result<bool> {
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
