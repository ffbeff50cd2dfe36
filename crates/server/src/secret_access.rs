//! What a function may read of its account's secrets and parameters
//! (`SecretAccess`), and the bridge that lets the runtime's
//! `funnel:function/secrets` import and `{{resolve:...}}` variables read
//! them from the vault, checked against those grants at every read.
//!
//! A grant is a name or a prefix ending in `*` (`db-pass`, `/app/*`); a
//! bare one names a secret or a parameter, `secretsmanager:NAME` or
//! `ssm:NAME` only one kind. Grants hold names, never values, and are
//! checked at call time: a read of anything not granted is refused with
//! `AccessDeniedException` naming it, before the vault is asked. A function
//! reads only its own account's secrets.
//!
//! This module must not hold or log a value: what the vault returns goes
//! straight to the guest.

use funnel_runtime::{
    Grantee, GuestParameter, GuestSecret, SecretError, SecretFuture, SecretSource,
};

use crate::error::{Error, Result};
use crate::function::Naming;

/// The most grants one function may hold.
pub const MAX_GRANTS: usize = 100;
/// The longest grant (SSM's longest parameter name, with a prefix).
const MAX_GRANT_LEN: usize = 2048;

const SECRETS_PREFIX: &str = "secretsmanager:";
const PARAMETERS_PREFIX: &str = "ssm:";

/// What a read is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Secret,
    Parameter,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::Parameter => "parameter",
        }
    }
}

/// Checks a function's grants as a caller gave them; returns them as
/// stored (in order, without repeats).
pub fn validate(grants: &[String]) -> Result<Vec<String>> {
    if grants.len() > MAX_GRANTS {
        return Err(Error::InvalidParameterValue(format!(
            "SecretAccess lists {} names: at most {MAX_GRANTS} are allowed (use a prefix ending in *)",
            grants.len()
        )));
    }
    let mut kept: Vec<String> = Vec::with_capacity(grants.len());
    for grant in grants {
        check(grant).map_err(|why| {
            Error::InvalidParameterValue(format!("SecretAccess names {grant:?}: {why}"))
        })?;
        if !kept.contains(grant) {
            kept.push(grant.clone());
        }
    }
    Ok(kept)
}

fn check(grant: &str) -> std::result::Result<(), String> {
    if grant.starts_with("arn:") {
        return Err("give the secret's or parameter's name, not its ARN".into());
    }
    let pattern = grant
        .strip_prefix(SECRETS_PREFIX)
        .or_else(|| grant.strip_prefix(PARAMETERS_PREFIX))
        .unwrap_or(grant);
    if pattern.is_empty() || grant.len() > MAX_GRANT_LEN {
        return Err(format!("a name is 1 to {MAX_GRANT_LEN} characters"));
    }
    let name = pattern.strip_suffix('*').unwrap_or(pattern);
    // Secrets Manager's and Parameter Store's name characters; a `*` only
    // at the end.
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{bad:?} is not allowed: names hold letters, digits and /_+=.@-, and a prefix \
             ends in one * (secretsmanager: or ssm: before it grants one kind only)"
        ));
    }
    Ok(())
}

/// Whether `grants` let a function read the `kind` named `name`.
pub fn grants(grants: &[String], kind: Kind, name: &str) -> bool {
    grants.iter().any(|grant| {
        let pattern = match (
            grant.strip_prefix(SECRETS_PREFIX),
            grant.strip_prefix(PARAMETERS_PREFIX),
        ) {
            (Some(pattern), _) if kind == Kind::Secret => pattern,
            (_, Some(pattern)) if kind == Kind::Parameter => pattern,
            (Some(_), _) | (_, Some(_)) => return false,
            (None, None) => grant.as_str(),
        };
        match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == pattern,
        }
    })
}

/// The refusal of a read not granted: names what was asked for, and how
/// to grant it.
pub fn not_granted(function: &str, kind: Kind, name: &str) -> SecretError {
    SecretError::new(
        "AccessDeniedException",
        format!(
            "function {} is not granted {} {name} (add it to the function's SecretAccess)",
            crate::tenancy::name(function),
            kind.noun()
        ),
    )
}

/// The runtime's [`SecretSource`]: what a function reads, from the vault,
/// in the function's own account, when its grants allow it.
pub struct VaultReader {
    vault: crate::secrets::Vault,
    naming: Naming,
}

impl VaultReader {
    pub fn new(vault: crate::secrets::Vault, naming: Naming) -> Self {
        VaultReader { vault, naming }
    }

    /// Checks `id` as a guest named it: a name must be granted before
    /// anything is read (an ungranted name learns nothing, not even
    /// whether it exists); an ARN must be of the reader's account, and
    /// what it names is checked once read. Returns whether it is an ARN.
    fn check_named(
        &self,
        reader: &Grantee,
        kind: Kind,
        id: &str,
    ) -> std::result::Result<bool, SecretError> {
        if id.starts_with("arn:") {
            let account = self.naming.account_of(&reader.function_name);
            if crate::tenancy::arn_account(id) != Some(account) {
                return Err(not_granted(&reader.function_name, kind, id));
            }
            return Ok(true);
        }
        // `NAME:VERSION` reads a version of NAME (parameters).
        let name = id.split(':').next().unwrap_or(id);
        if grants(&reader.granted, kind, name) {
            Ok(false)
        } else {
            Err(not_granted(&reader.function_name, kind, name))
        }
    }
}

/// A vault's refusal, as the guest sees it (its AWS name and message).
fn refused(err: Error) -> SecretError {
    SecretError::new(err.aws_name(), err.message())
}

fn guest_parameter(p: crate::secrets::ParameterValue) -> GuestParameter {
    GuestParameter {
        name: p.name,
        arn: p.arn,
        kind: p.kind,
        value: p.value,
        version: p.version,
    }
}

impl SecretSource for VaultReader {
    fn secret<'a>(
        &'a self,
        reader: &'a Grantee,
        id: &'a str,
        stage: Option<&'a str>,
    ) -> SecretFuture<'a, GuestSecret> {
        Box::pin(async move {
            let by_arn = self.check_named(reader, Kind::Secret, id)?;
            let account = self.naming.account_of(&reader.function_name);
            let value = self
                .vault
                .secret_value(account, id, stage)
                .map_err(refused)?;
            if by_arn && !grants(&reader.granted, Kind::Secret, &value.name) {
                return Err(not_granted(&reader.function_name, Kind::Secret, id));
            }
            Ok(GuestSecret {
                name: value.name,
                arn: value.arn,
                version_id: value.version_id,
                version_stages: value.version_stages,
                secret_string: value.secret_string,
                secret_binary: value.secret_binary,
            })
        })
    }

    fn parameter<'a>(
        &'a self,
        reader: &'a Grantee,
        name: &'a str,
    ) -> SecretFuture<'a, GuestParameter> {
        Box::pin(async move {
            let by_arn = self.check_named(reader, Kind::Parameter, name)?;
            let account = self.naming.account_of(&reader.function_name);
            let value = self.vault.parameter(account, name, true).map_err(refused)?;
            if by_arn && !grants(&reader.granted, Kind::Parameter, &value.name) {
                return Err(not_granted(&reader.function_name, Kind::Parameter, name));
            }
            Ok(guest_parameter(value))
        })
    }

    fn parameters_by_path<'a>(
        &'a self,
        reader: &'a Grantee,
        path: &'a str,
        recursive: bool,
    ) -> SecretFuture<'a, Vec<GuestParameter>> {
        Box::pin(async move {
            let account = self.naming.account_of(&reader.function_name);
            let found = self
                .vault
                .parameters_by_path(account, path, recursive, true)
                .map_err(refused)?;
            // The ones not granted are left out, as if absent.
            Ok(found
                .into_iter()
                .filter(|p| grants(&reader.granted, Kind::Parameter, &p.name))
                .map(guest_parameter)
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(grants: &[&str]) -> Vec<String> {
        grants.iter().map(|g| g.to_string()).collect()
    }

    #[test]
    fn names_prefixes_and_kinds_grant_what_they_say() {
        let granted = list(&["db-pass", "/app/*", "ssm:token", "secretsmanager:prod-*"]);
        assert!(grants(&granted, Kind::Secret, "db-pass"));
        assert!(grants(&granted, Kind::Parameter, "db-pass"));
        assert!(!grants(&granted, Kind::Secret, "db-pass2"));
        assert!(grants(&granted, Kind::Parameter, "/app/db-url"));
        assert!(grants(&granted, Kind::Parameter, "/app/prod/db-url"));
        assert!(!grants(&granted, Kind::Parameter, "/application"));
        assert!(!grants(&granted, Kind::Parameter, "/app"));
        assert!(grants(&granted, Kind::Parameter, "token"));
        assert!(!grants(&granted, Kind::Secret, "token"));
        assert!(grants(&granted, Kind::Secret, "prod-db"));
        assert!(!grants(&granted, Kind::Parameter, "prod-db"));
        assert!(grants(&list(&["*"]), Kind::Secret, "anything"));
        assert!(!grants(&[], Kind::Secret, "db-pass"));
    }

    #[test]
    fn bad_grants_are_refused_with_the_name() {
        let refused = |g: &str| validate(&list(&[g])).unwrap_err().to_string();
        assert!(refused("").contains("1 to"));
        assert!(refused("ssm:").contains("1 to"));
        assert!(refused("/app/*/x").contains("'*'"));
        assert!(refused("db pass").contains("' '"));
        assert!(refused("arn:funnel:secretsmanager:local:000000000000:secret:x").contains("ARN"));
        assert!(refused("s3:bucket").contains("':'"));
        let many: Vec<String> = (0..=MAX_GRANTS).map(|i| format!("s{i}")).collect();
        assert!(validate(&many).is_err());
        assert_eq!(
            validate(&list(&["a", "/b/*", "a"])).unwrap(),
            list(&["a", "/b/*"])
        );
    }

    mod through_the_vault {
        use super::*;
        use crate::secrets::tests::{OTHER, TEAM, vault};
        use crate::secrets::{NewSecret, PutParameter, SecretPayload, Vault};

        async fn secret(vault: &Vault, account: &str, name: &str, value: &str) -> String {
            let (record, _) = vault
                .create_secret(
                    account,
                    NewSecret {
                        name: name.into(),
                        description: String::new(),
                        value: Some(SecretPayload::String(value.into())),
                        tags: vec![],
                        client_request_token: String::new(),
                    },
                )
                .await
                .unwrap();
            vault.secret_value(account, &record.name, None).unwrap().arn
        }

        async fn parameter(vault: &Vault, name: &str, value: &str) {
            vault
                .put_parameter(
                    TEAM,
                    PutParameter {
                        name: name.into(),
                        value: value.into(),
                        kind: Some("SecureString".into()),
                        description: None,
                        overwrite: false,
                        tier: String::new(),
                        data_type: String::new(),
                        tags: vec![],
                        user_arn: String::new(),
                    },
                )
                .await
                .unwrap();
        }

        fn reader(grants: &[&str]) -> Grantee {
            Grantee {
                function_name: format!("{TEAM}:reader"),
                granted: grants.iter().map(|g| g.to_string()).collect(),
            }
        }

        #[tokio::test]
        async fn a_function_reads_its_own_accounts_granted_secrets_only() {
            let dir = tempfile::tempdir().unwrap();
            let vault = vault(dir.path());
            let arn = secret(&vault, TEAM, "db-pass", "hunter2").await;
            let other_arn = secret(&vault, TEAM, "other", "x").await;
            let foreign_arn = secret(&vault, OTHER, "db-pass", "theirs").await;
            let source = VaultReader::new(vault, Naming::home("local", "000000000000"));
            let granted = reader(&["db-pass"]);

            let read = source.secret(&granted, "db-pass", None).await.unwrap();
            assert_eq!(read.secret_string.as_deref(), Some("hunter2"));
            assert_eq!(read.version_stages, ["AWSCURRENT"]);
            let by_arn = source.secret(&granted, &arn, None).await.unwrap();
            assert_eq!(by_arn.secret_string.as_deref(), Some("hunter2"));

            // Refused without reading: an ungranted name, even a missing
            // one; an ARN of another secret or of another account.
            for id in ["other", "missing", other_arn.as_str(), foreign_arn.as_str()] {
                let err = source.secret(&granted, id, None).await.unwrap_err();
                assert_eq!(err.code, "AccessDeniedException", "{id}: {err:?}");
                assert!(err.message.contains(id), "{err:?}");
            }
            let err = source
                .secret(&reader(&["missing"]), "missing", None)
                .await
                .unwrap_err();
            assert_eq!(err.code, "ResourceNotFoundException");
        }

        #[tokio::test]
        async fn parameters_are_read_decrypted_and_listed_only_when_granted() {
            let dir = tempfile::tempdir().unwrap();
            let vault = vault(dir.path());
            parameter(&vault, "/app/db-url", "postgres://db").await;
            parameter(&vault, "/app/deep/key", "k").await;
            parameter(&vault, "/ops/token", "t").await;
            let source = VaultReader::new(vault, Naming::home("local", "000000000000"));
            let granted = reader(&["/app/*"]);

            let read = source.parameter(&granted, "/app/db-url").await.unwrap();
            assert_eq!(
                (read.kind.as_str(), read.value.as_str()),
                ("SecureString", "postgres://db")
            );
            let err = source.parameter(&granted, "/ops/token").await.unwrap_err();
            assert_eq!(err.code, "AccessDeniedException");
            let err = source.parameter(&granted, "/app/none").await.unwrap_err();
            assert_eq!(err.code, "ParameterNotFound");
            let listed = source
                .parameters_by_path(&granted, "/", true)
                .await
                .unwrap();
            let names: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["/app/db-url", "/app/deep/key"]);
        }
    }
}
