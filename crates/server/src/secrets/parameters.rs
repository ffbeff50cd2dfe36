//! Parameter Store's model: a parameter has a name (plain, or a path of
//! up to 15 levels: `/app/prod/db-url`), a type (`String`, `StringList`,
//! `SecureString`), a value (4 KB, 8 KB in the Advanced tier) and
//! versions 1, 2, ... (the last 100 are kept). Replacing a value needs
//! `Overwrite`; a SecureString's value is sealed, and read back in clear
//! only `WithDecryption`. Errors are SSM's names.

use funnel_store::{ParameterRecord, TagRecord};

use super::{ParameterValue, Vault};
use crate::error::{Error, Result};

pub const STRING: &str = "String";
pub const STRING_LIST: &str = "StringList";
pub const SECURE_STRING: &str = "SecureString";

const STANDARD: &str = "Standard";
const ADVANCED: &str = "Advanced";
const STANDARD_VALUE_CHARS: usize = 4096;
const ADVANCED_VALUE_CHARS: usize = 8192;
const MAX_VERSIONS: usize = 100;
const MAX_LEVELS: usize = 15;
const MAX_NAME: usize = 1011;
const MAX_DESCRIPTION: usize = 1024;
const MAX_TAGS: usize = 50;

/// `PutParameter`'s request.
pub struct PutParameter {
    pub name: String,
    pub value: String,
    /// Required for a new parameter; an overwrite keeps the type unless
    /// given.
    pub kind: Option<String>,
    /// An overwrite keeps the description unless given.
    pub description: Option<String>,
    pub overwrite: bool,
    /// `Standard` (the default), `Advanced` or `Intelligent-Tiering`.
    pub tier: String,
    /// `text` (the default).
    pub data_type: String,
    pub tags: Vec<TagRecord>,
    /// Who writes it (an IAM user's ARN).
    pub user_arn: String,
}

/// A `DescribeParameters` filter (`ParameterFilters`): `Name` (`Equals`,
/// `BeginsWith`), `Type` (`Equals`), `Path` (`OneLevel`, `Recursive`).
pub struct ParameterFilter {
    pub key: String,
    pub option: String,
    pub values: Vec<String>,
}

/// One `DescribeParameters` filter, ready to test a record.
type Check = Box<dyn Fn(&ParameterRecord) -> bool>;

/// What is bound to a parameter version's sealed value.
fn parameter_context(account: &str, name: &str, version: u64) -> Vec<u8> {
    format!("parameter\0{account}\0{name}\0{version}").into_bytes()
}

fn invalid(text: String) -> Error {
    Error::Validation(text)
}

fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(invalid(format!(
            "Parameter name {name:?} must be 1-{MAX_NAME} characters"
        )));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
    {
        return Err(invalid(format!(
            "Parameter name {name:?}: only a-z, A-Z, 0-9, _ . - and / are allowed"
        )));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(invalid(format!(
            "Parameter name {name:?} must be a fully qualified name (a path starts with /)"
        )));
    }
    if name.ends_with('/') || name.contains("//") {
        return Err(invalid(format!(
            "Parameter name {name:?}: a path has no empty level"
        )));
    }
    if levels(name) > MAX_LEVELS {
        return Err(invalid(format!(
            "Parameter name {name:?} has more than {MAX_LEVELS} levels"
        )));
    }
    let first = name.trim_start_matches('/').to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err(invalid(format!(
            "Parameter name {name:?}: a name can't be prefixed with \"aws\" or \"ssm\" \
             (case-insensitive)"
        )));
    }
    Ok(())
}

/// The levels of a path (`/a/b`: 2; a plain name: 1).
fn levels(name: &str) -> usize {
    name.trim_start_matches('/').split('/').count()
}

/// A path as `GetParametersByPath` takes it: starts with `/`; returned
/// with a trailing `/` (the prefix of what is under it).
fn path_prefix(path: &str) -> Result<String> {
    if !path.starts_with('/')
        || path.contains("//")
        || !path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
    {
        return Err(invalid(format!(
            "The parameter path {path:?} is not valid: a path starts with / and holds a-z, \
             A-Z, 0-9, _ . - and /"
        )));
    }
    if path != "/" && levels(path) > MAX_LEVELS {
        return Err(invalid(format!(
            "The parameter path {path:?} has more than {MAX_LEVELS} levels"
        )));
    }
    Ok(if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    })
}

/// Whether `name` is under `prefix` (from [`path_prefix`]): one level
/// down, or any number with `recursive`.
fn under(name: &str, prefix: &str, recursive: bool) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && (recursive || !rest.contains('/')))
}

fn validate_kind(kind: &str) -> Result<()> {
    match kind {
        STRING | STRING_LIST | SECURE_STRING => Ok(()),
        other => Err(invalid(format!(
            "1 validation error detected: Value '{other}' at 'type' failed to satisfy \
             constraint: Member must satisfy enum value set: [SecureString, StringList, String]"
        ))),
    }
}

impl Vault {
    /// `arn:funnel:ssm:<region>:<account>:parameter/<name without its
    /// leading />`.
    pub fn parameter_arn(&self, account: &str, name: &str) -> String {
        format!(
            "arn:funnel:ssm:{}:{account}:parameter/{}",
            self.inner.region,
            name.trim_start_matches('/')
        )
    }

    /// A parameter named by a caller: a name, `name:version`, or its ARN
    /// (this account's); the name and the version asked for.
    fn parameter_ref(&self, account: &str, given: &str) -> Result<(String, Option<u64>)> {
        let arn_prefix = format!("arn:funnel:ssm:{}:{account}:parameter/", self.inner.region);
        let (text, from_arn) = match given.strip_prefix(&arn_prefix) {
            Some(rest) => (rest, true),
            None if given.starts_with("arn:") => {
                return Err(Error::ParameterNotFound(format!(
                    "Parameter {given} not found."
                )));
            }
            None => (given, false),
        };
        let (name, version) = match text.rsplit_once(':') {
            Some((name, selector)) => {
                let version = selector.parse::<u64>().map_err(|_| {
                    invalid(format!(
                        "Parameter selector {selector:?} is not a version number (funnel has no \
                         labels)"
                    ))
                })?;
                (name, Some(version))
            }
            None => (text, None),
        };
        let name = if !from_arn {
            name.to_string()
        } else if name.contains('/') {
            format!("/{name}")
        } else {
            // `/x` and `x` have the same ARN: the path wins if it exists.
            let slashed = format!("/{name}");
            if self.store().parameter(account, &slashed, None)?.is_some() {
                slashed
            } else {
                name.to_string()
            }
        };
        Ok((name, version))
    }

    /// `PutParameter`: the new version's number, and its tier.
    pub async fn put_parameter(&self, account: &str, put: PutParameter) -> Result<(u64, String)> {
        validate_name(&put.name)?;
        if let Some(kind) = &put.kind {
            validate_kind(kind)?;
        }
        let tier = match put.tier.as_str() {
            "" | STANDARD | "Intelligent-Tiering"
                if put.value.chars().count() <= STANDARD_VALUE_CHARS =>
            {
                STANDARD
            }
            "Intelligent-Tiering" | ADVANCED => ADVANCED,
            STANDARD | "" => {
                return Err(invalid(format!(
                    "Standard tier parameters support a maximum parameter value of \
                     {STANDARD_VALUE_CHARS} characters. To create a larger parameter value, \
                     upgrade the parameter to use the advanced-parameter tier."
                )));
            }
            other => {
                return Err(invalid(format!(
                    "Tier {other:?} is not one of Standard, Advanced, Intelligent-Tiering"
                )));
            }
        };
        let chars = put.value.chars().count();
        if chars == 0 || chars > ADVANCED_VALUE_CHARS {
            return Err(invalid(format!(
                "A parameter value is 1-{ADVANCED_VALUE_CHARS} characters (it is {chars})"
            )));
        }
        let data_type = match put.data_type.as_str() {
            "" | "text" => "text",
            other => {
                return Err(invalid(format!(
                    "DataType {other:?} is not supported (text)"
                )));
            }
        };
        if let Some(description) = &put.description
            && description.chars().count() > MAX_DESCRIPTION
        {
            return Err(invalid(format!(
                "A description is at most {MAX_DESCRIPTION} characters"
            )));
        }
        if !put.tags.is_empty() && put.overwrite {
            return Err(invalid(
                "Invalid request: tags and overwrite can't be used together. To create a \
                 parameter with tags, please remove overwrite flag. To update tags for an \
                 existing parameter, please use AddTagsToResource or RemoveTagsFromResource."
                    .into(),
            ));
        }
        if put.tags.len() > MAX_TAGS {
            return Err(invalid(format!("A parameter has at most {MAX_TAGS} tags")));
        }
        let written = {
            let _one = self.write_lock();
            let previous = self.store().parameter(account, &put.name, None)?;
            if previous.is_some() && !put.overwrite {
                return Err(Error::ParameterAlreadyExists(
                    "The parameter already exists. To overwrite this value, set the overwrite \
                     option in the request to true."
                        .into(),
                ));
            }
            let kind = match (&put.kind, &previous) {
                (Some(kind), _) => kind.clone(),
                (None, Some(previous)) => previous.kind.clone(),
                (None, None) => {
                    return Err(invalid(
                        "A parameter type is required when you create a parameter.".into(),
                    ));
                }
            };
            let version = previous.as_ref().map_or(1, |p| p.version + 1);
            let value = if kind == SECURE_STRING {
                self.seal(
                    account,
                    put.value.as_bytes(),
                    &parameter_context(account, &put.name, version),
                )?
            } else {
                put.value
            };
            let record = ParameterRecord {
                account_id: account.to_string(),
                name: put.name.clone(),
                kind,
                value,
                description: match (put.description, &previous) {
                    (Some(description), _) => description,
                    (None, Some(previous)) => previous.description.clone(),
                    (None, None) => String::new(),
                },
                version,
                last_modified_ms: self.now_ms(),
                last_modified_user: put.user_arn,
                tier: tier.to_string(),
                data_type: data_type.to_string(),
                tags: match &previous {
                    Some(previous) => previous.tags.clone(),
                    None => put.tags,
                },
            };
            let versions = self.store().parameter_versions(account, &put.name)?;
            let over = (versions.len() + 1).saturating_sub(MAX_VERSIONS);
            self.store().put_parameter(&record, &versions[..over])?;
            (version, tier.to_string())
        };
        self.flush().await?;
        Ok(written)
    }

    /// A record's value as a read shows it: a SecureString opened with
    /// `with_decryption`, else its sealed bytes (base64).
    fn shown(&self, record: &ParameterRecord, with_decryption: bool) -> Result<ParameterValue> {
        let value = if record.kind != SECURE_STRING {
            record.value.clone()
        } else if with_decryption {
            let bytes = self.unseal(
                &record.account_id,
                &record.value,
                &parameter_context(&record.account_id, &record.name, record.version),
                &format!("parameter {}", record.name),
            )?;
            String::from_utf8(bytes).map_err(|_| {
                Error::DecryptionFailure(format!(
                    "the value of parameter {} is not UTF-8",
                    record.name
                ))
            })?
        } else {
            use base64::Engine as _;
            let sealed = hex::decode(&record.value).unwrap_or_default();
            base64::engine::general_purpose::STANDARD.encode(sealed)
        };
        Ok(ParameterValue {
            name: record.name.clone(),
            arn: self.parameter_arn(&record.account_id, &record.name),
            kind: record.kind.clone(),
            value,
            version: record.version as i64,
        })
    }

    /// `GetParameter`: the value and the version's record (its times and
    /// metadata; its `value` as stored).
    pub fn get_parameter(
        &self,
        account: &str,
        given: &str,
        with_decryption: bool,
    ) -> Result<(ParameterValue, ParameterRecord)> {
        let (name, version) = self.parameter_ref(account, given)?;
        let record = match version {
            None => self
                .store()
                .parameter(account, &name, None)?
                .ok_or_else(|| Error::ParameterNotFound(format!("Parameter {name} not found.")))?,
            Some(v) => match self.store().parameter(account, &name, Some(v))? {
                Some(record) => record,
                None if self.store().parameter(account, &name, None)?.is_some() => {
                    return Err(Error::ParameterVersionNotFound(format!(
                        "Systems Manager could not find version {v} of {name}. Verify the \
                         version and try again."
                    )));
                }
                None => {
                    return Err(Error::ParameterNotFound(format!(
                        "Parameter {name} not found."
                    )));
                }
            },
        };
        Ok((self.shown(&record, with_decryption)?, record))
    }

    /// `GetParametersByPath`: up to `limit` parameters under `path` after
    /// the name `after`, in name order.
    pub fn get_parameters_by_path(
        &self,
        account: &str,
        path: &str,
        recursive: bool,
        with_decryption: bool,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(ParameterValue, ParameterRecord)>> {
        let prefix = path_prefix(path)?;
        let records = self
            .store()
            .parameters(account, &prefix, after, limit, &|p| {
                under(&p.name, &prefix, recursive)
            })?;
        records
            .into_iter()
            .map(|record| Ok((self.shown(&record, with_decryption)?, record)))
            .collect()
    }

    /// `DeleteParameter`: every version goes.
    pub async fn delete_parameter(&self, account: &str, name: &str) -> Result<()> {
        let deleted = {
            let _one = self.write_lock();
            self.store().delete_parameter(account, name)?
        };
        if !deleted {
            return Err(Error::ParameterNotFound(format!(
                "Parameter {name} not found."
            )));
        }
        self.flush().await
    }

    /// `DescribeParameters`: the latest version of up to `limit`
    /// parameters after the name `after` that every filter keeps, in name
    /// order (records as stored: a SecureString's value sealed).
    pub fn describe_parameters(
        &self,
        account: &str,
        filters: &[ParameterFilter],
        after: &str,
        limit: usize,
    ) -> Result<Vec<ParameterRecord>> {
        // The narrowest prefix a filter allows, and each filter checked.
        let mut prefix = String::new();
        let mut checks: Vec<Check> = Vec::new();
        for filter in filters {
            let values = filter.values.clone();
            match (filter.key.as_str(), filter.option.as_str()) {
                ("Name", "" | "Equals") => checks.push(Box::new(move |p| values.contains(&p.name))),
                ("Name", "BeginsWith") => checks.push(Box::new(move |p| {
                    values.iter().any(|v| p.name.starts_with(v))
                })),
                ("Type", "" | "Equals") => checks.push(Box::new(move |p| values.contains(&p.kind))),
                ("Path", option @ ("" | "OneLevel" | "Recursive")) => {
                    let recursive = option == "Recursive";
                    let prefixes = values
                        .iter()
                        .map(|v| path_prefix(v))
                        .collect::<Result<Vec<_>>>()?;
                    if let [only] = prefixes.as_slice() {
                        prefix = only.clone();
                    }
                    checks.push(Box::new(move |p| {
                        prefixes
                            .iter()
                            .any(|prefix| under(&p.name, prefix, recursive))
                    }))
                }
                (key, option) => {
                    return Err(invalid(format!(
                        "The filter {key} with option {option:?} is not supported: Name \
                         (Equals, BeginsWith), Type (Equals), Path (OneLevel, Recursive)"
                    )));
                }
            }
        }
        Ok(self
            .store()
            .parameters(account, &prefix, after, limit, &|p| {
                checks.iter().all(|check| check(p))
            })?)
    }
}

#[cfg(test)]
mod tests;
