//! The credentials file the server keeps in its data dir: the operator's
//! key as the `[default]` profile, in the aws CLI's INI shape, with the
//! endpoint it serves on (and the CA bundle, with TLS). Written 0600; the
//! other profiles in it, and other keys of `[default]`, are left alone.

use std::path::Path;

use anyhow::Context as _;

use super::{Identities, OPERATOR};

impl Identities {
    /// The operator's first active key: (id, secret).
    pub fn operator_key(&self) -> anyhow::Result<Option<(String, String)>> {
        for key in self.store().access_keys()? {
            if key.account_id == self.home() && key.user_name == OPERATOR && key.status == "Active"
            {
                let secret = self.unseal(&key).map_err(|e| anyhow::anyhow!("{e}"))?;
                return Ok(Some((key.access_key_id, String::from_utf8(secret)?)));
            }
        }
        Ok(None)
    }

    /// Writes the operator's profile to `path`; `false` if the operator
    /// has no active key (nothing is written).
    pub fn write_credentials(
        &self,
        path: &Path,
        endpoint: &str,
        ca_bundle: Option<&Path>,
    ) -> anyhow::Result<bool> {
        let Some((id, secret)) = self.operator_key()? else {
            return Ok(false);
        };
        let existing = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let ca_bundle = ca_bundle.map(|p| p.display().to_string());
        let values = [
            ("aws_access_key_id", Some(id.as_str())),
            ("aws_secret_access_key", Some(secret.as_str())),
            ("endpoint", Some(endpoint)),
            ("ca_bundle", ca_bundle.as_deref()),
        ];
        let text = set_profile(&existing, "default", &values);
        crate::write_private(path, &text)
            .with_context(|| format!("writing the credentials file {}", path.display()))?;
        Ok(true)
    }
}

/// `text` with `profile`'s keys set (or removed, for `None`); the profile
/// is added at the top if missing.
fn set_profile(text: &str, profile: &str, values: &[(&str, Option<&str>)]) -> String {
    let header = format!("[{profile}]");
    let mut out = Vec::new();
    let mut in_profile = false;
    let mut found = false;
    let put = |out: &mut Vec<String>| {
        for (key, value) in values {
            if let Some(value) = value {
                out.push(format!("{key} = {value}"));
            }
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_profile = trimmed == header;
            out.push(line.to_string());
            if in_profile {
                found = true;
                put(&mut out);
            }
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        if in_profile && values.iter().any(|(k, _)| *k == key) {
            continue;
        }
        out.push(line.to_string());
    }
    if !found {
        let mut head = vec![header];
        put(&mut head);
        if !out.is_empty() {
            head.push(String::new());
        }
        head.extend(out);
        out = head;
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_is_set_and_others_are_kept() {
        let values = [
            ("aws_access_key_id", Some("AKIA1")),
            ("endpoint", Some("http://x")),
        ];
        assert_eq!(
            set_profile("", "default", &values),
            "[default]\naws_access_key_id = AKIA1\nendpoint = http://x\n"
        );
        let before =
            "[team]\naws_access_key_id = T\n\n[default]\naws_access_key_id = OLD\nregion = local\n";
        assert_eq!(
            set_profile(before, "default", &values),
            "[team]\naws_access_key_id = T\n\n[default]\naws_access_key_id = AKIA1\nendpoint = http://x\nregion = local\n"
        );
    }
}
