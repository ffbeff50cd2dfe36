//! Finding credentials as the aws CLI does: the environment pair first,
//! then a profile of a shared credentials file (INI: `[profile]`,
//! `aws_access_key_id`, `aws_secret_access_key`, and funnel's `endpoint`
//! and `ca_bundle`).
//!
//! - `FUNNEL_ACCESS_KEY_ID` and `FUNNEL_SECRET_ACCESS_KEY`;
//! - `FUNNEL_CA_BUNDLE` before the profile's `ca_bundle`;
//! - else the profile (`FUNNEL_PROFILE`, else `default`) in the first file
//!   that exists of `FUNNEL_SHARED_CREDENTIALS_FILE`,
//!   `./.funnel/credentials` (where `funnel up` writes the operator's) and
//!   `~/.funnel/credentials`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};

/// An access key: what every call is signed with
/// (`authorization: Bearer <id>:<secret>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .finish()
    }
}

/// What a profile holds.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub credentials: Option<Credentials>,
    pub endpoint: Option<String>,
    pub ca_bundle: Option<PathBuf>,
    /// The file it was read from.
    pub file: Option<PathBuf>,
}

impl Credentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    /// The metadata value every call carries.
    pub(crate) fn header(&self) -> Result<MetadataValue<Ascii>, String> {
        format!("Bearer {}:{}", self.access_key_id, self.secret_access_key)
            .parse()
            .map_err(|_| "the access key holds characters a header cannot carry".to_string())
    }

    /// The `FUNNEL_ACCESS_KEY_ID`/`FUNNEL_SECRET_ACCESS_KEY` pair, if both
    /// are set.
    pub fn from_env() -> Option<Credentials> {
        let id = std::env::var("FUNNEL_ACCESS_KEY_ID").ok()?;
        let secret = std::env::var("FUNNEL_SECRET_ACCESS_KEY").ok()?;
        Some(Credentials::new(id, secret))
    }
}

impl Profile {
    /// The chain above. `profile` overrides `FUNNEL_PROFILE`; a profile
    /// named that way must exist.
    pub fn discover(profile: Option<&str>) -> Result<Profile, String> {
        let named = profile
            .map(str::to_string)
            .or_else(|| std::env::var("FUNNEL_PROFILE").ok());
        let name = named.clone().unwrap_or_else(|| "default".into());
        let mut found = match Profile::file() {
            Some(file) => {
                let profile = Profile::read(&file, &name)?;
                match profile {
                    Some(profile) => profile,
                    None if named.is_some() => {
                        return Err(format!("profile {name:?} is not in {}", file.display()));
                    }
                    None => Profile::default(),
                }
            }
            None if named.is_some() => {
                return Err(format!(
                    "profile {name:?}: no credentials file (FUNNEL_SHARED_CREDENTIALS_FILE, \
                     ./.funnel/credentials, ~/.funnel/credentials)"
                ));
            }
            None => Profile::default(),
        };
        if let Some(credentials) = Credentials::from_env() {
            found.credentials = Some(credentials);
        }
        if let Some(bundle) = std::env::var_os("FUNNEL_CA_BUNDLE").filter(|b| !b.is_empty()) {
            found.ca_bundle = Some(bundle.into());
        }
        Ok(found)
    }

    /// The first credentials file that exists.
    pub fn file() -> Option<PathBuf> {
        let home =
            std::env::var_os("HOME").map(|home| Path::new(&home).join(".funnel/credentials"));
        std::env::var_os("FUNNEL_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .into_iter()
            .chain([PathBuf::from(".funnel/credentials")])
            .chain(home)
            .find(|path| path.is_file())
    }

    /// `profile` of the INI file at `path`, if it has one.
    pub fn read(path: &Path, profile: &str) -> Result<Option<Profile>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let Some(values) = section(&text, profile) else {
            return Ok(None);
        };
        let get = |key: &str| values.get(key).filter(|v| !v.is_empty()).cloned();
        let credentials = match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(id), Some(secret)) => Some(Credentials::new(id, secret)),
            (None, None) => None,
            _ => {
                return Err(format!(
                    "profile {profile:?} in {} needs both aws_access_key_id and aws_secret_access_key",
                    path.display()
                ));
            }
        };
        Ok(Some(Profile {
            credentials,
            endpoint: get("endpoint"),
            ca_bundle: get("ca_bundle").map(PathBuf::from),
            file: Some(path.to_path_buf()),
        }))
    }
}

/// The `key = value` pairs of `[name]` (or `[profile name]`, as the aws
/// CLI's config file writes it).
fn section(text: &str, name: &str) -> Option<HashMap<String, String>> {
    let mut values: Option<HashMap<String, String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.trim();
            inside = header == name || header.strip_prefix("profile ").map(str::trim) == Some(name);
            if inside && values.is_none() {
                values = Some(HashMap::new());
            }
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            values
                .get_or_insert_with(HashMap::new)
                .insert(key.trim().to_string(), value.trim().to_string());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_as_the_aws_cli_reads_them() {
        let text = "# comment\n[default]\naws_access_key_id = AKIA1\naws_secret_access_key=s1\nendpoint = http://127.0.0.1:1\n\n[profile team]\naws_access_key_id = AKIA2\naws_secret_access_key = s2\n";
        let default = section(text, "default").unwrap();
        assert_eq!(default["aws_access_key_id"], "AKIA1");
        assert_eq!(default["aws_secret_access_key"], "s1");
        assert_eq!(default["endpoint"], "http://127.0.0.1:1");
        assert_eq!(section(text, "team").unwrap()["aws_access_key_id"], "AKIA2");
        assert!(section(text, "other").is_none());
    }
}
