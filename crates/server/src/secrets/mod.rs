//! The vault: Secrets Manager's secrets and Parameter Store's parameters,
//! per account, sealed at rest.
//!
//! Each account has a data key (32 random bytes, made with its first
//! sealed value) sealed by the master key (`iam::seal`); every secret
//! version and every SecureString is sealed under its account's data key
//! (XChaCha20-Poly1305), bound to the record it belongs to (a secret
//! version to its secret's ARN and version id, a parameter version to its
//! account, name and version number), so sealed bytes moved to another
//! record do not open. Values never reach the store, logs, errors or
//! metrics in clear: the store keeps sealed bytes, errors name secrets and
//! parameters but never carry values, and [`SecretValue`] and
//! [`ParameterValue`] print themselves without theirs.
//!
//! - `manager`: Secrets Manager's model: names and ARNs, versions with
//!   staging labels, deletion with a recovery window, restore.
//! - `parameters`: Parameter Store's: hierarchical names, `String`,
//!   `StringList` and `SecureString`, versions, reads by path.
//!
//! What the vault must not do: decide who may read (the API authorizes
//! callers, the runtime checks a function's grants), or keep anything in
//! clear beyond the data keys it holds in memory.

mod manager;
mod parameters;
mod rules;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use funnel_runtime::Clock;
use funnel_store::{DataKeyRecord, Store};

use crate::error::{Error, Result};
use crate::iam::seal::{self, MasterKey};

pub use parameters::{ParameterFilter, PutParameter, SECURE_STRING};
pub use rules::{NewSecret, SecretFilter, SecretPayload, versions_to_stages};

/// Secrets Manager's and Parameter Store's data, sealed. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    master: MasterKey,
    region: String,
    clock: Clock,
    /// Account → its data key, opened once.
    data_keys: RwLock<HashMap<String, Arc<MasterKey>>>,
    /// Writes, one at a time: each reads, changes and writes records.
    writes: Mutex<()>,
}

/// A secret's value, as `GetSecretValue` answers it (one of the two
/// values is set).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue {
    pub name: String,
    pub arn: String,
    pub version_id: String,
    pub version_stages: Vec<String>,
    pub secret_string: Option<String>,
    pub secret_binary: Option<Vec<u8>>,
}

/// A parameter's value, as `GetParameter` answers it: a SecureString read
/// without decryption has its sealed value (base64), as AWS shows the
/// ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct ParameterValue {
    pub name: String,
    pub arn: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    pub value: String,
    pub version: i64,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretValue")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("version_id", &self.version_id)
            .field("version_stages", &self.version_stages)
            .field(
                "secret_string",
                &self.secret_string.as_ref().map(|_| "<hidden>"),
            )
            .field(
                "secret_binary",
                &self.secret_binary.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

impl std::fmt::Debug for ParameterValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value: &dyn std::fmt::Debug = if self.kind == parameters::SECURE_STRING {
            &"<hidden>"
        } else {
            &self.value
        };
        f.debug_struct("ParameterValue")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("kind", &self.kind)
            .field("value", value)
            .field("version", &self.version)
            .finish()
    }
}

impl Vault {
    pub fn new(store: Store, master: MasterKey, region: &str, clock: Clock) -> Vault {
        Vault {
            inner: Arc::new(Inner {
                store,
                master,
                region: region.to_string(),
                clock,
                data_keys: RwLock::default(),
                writes: Mutex::new(()),
            }),
        }
    }

    /// The `AWSCURRENT` value (or `stage`'s) of the secret `id` (a name or
    /// an ARN) of `account`. A secret that waits for deletion is
    /// `InvalidRequestException`; an unknown one, or an ARN of another
    /// account, `ResourceNotFoundException`.
    pub fn secret_value(
        &self,
        account: &str,
        id: &str,
        stage: Option<&str>,
    ) -> Result<SecretValue> {
        self.get_secret_value(account, id, None, stage)
            .map(|(value, _)| value)
    }

    /// The parameter `name` of `account` (optionally `name:version`);
    /// `ParameterNotFound` if there is none.
    pub fn parameter(
        &self,
        account: &str,
        name: &str,
        with_decryption: bool,
    ) -> Result<ParameterValue> {
        self.get_parameter(account, name, with_decryption)
            .map(|(value, _)| value)
    }

    /// Every parameter of `account` under `path` (`/app`: `/app/x`, and with
    /// `recursive` `/app/x/y` too), in name order.
    pub fn parameters_by_path(
        &self,
        account: &str,
        path: &str,
        recursive: bool,
        with_decryption: bool,
    ) -> Result<Vec<ParameterValue>> {
        let mut all = Vec::new();
        let mut after = String::new();
        loop {
            let page = self.get_parameters_by_path(
                account,
                path,
                recursive,
                with_decryption,
                &after,
                1000,
            )?;
            let Some(last) = page.last() else {
                return Ok(all);
            };
            after = last.0.name.clone();
            all.extend(page.into_iter().map(|(value, _)| value));
        }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.wall_ms()
    }

    /// Holds off other writes while a write reads and changes records.
    fn write_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the writes so far durable.
    async fn flush(&self) -> Result<()> {
        Ok(self.store().flush_async().await?)
    }

    /// `account`'s data key; made (and stored, sealed) if it has none and
    /// `create`.
    fn data_key(&self, account: &str, create: bool) -> Result<Option<Arc<MasterKey>>> {
        if let Some(key) = self
            .inner
            .data_keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
        {
            return Ok(Some(key.clone()));
        }
        let record = match self.store().data_key(account)? {
            Some(record) => record,
            None if create => {
                let mut bytes = [0u8; 32];
                seal::random(&mut bytes);
                // Another writer may have made one first: theirs is kept.
                self.store().create_data_key(&DataKeyRecord {
                    account_id: account.to_string(),
                    sealed: self
                        .inner
                        .master
                        .seal(&bytes, &seal::data_key_context(account)),
                    created_ms: self.now_ms(),
                })?
            }
            None => return Ok(None),
        };
        let bytes: [u8; 32] = self
            .inner
            .master
            .unseal(&record.sealed, &seal::data_key_context(account))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                Error::DecryptionFailure(format!(
                    "the data key of account {account} does not open with the master key"
                ))
            })?;
        let key = Arc::new(MasterKey::from_bytes(bytes));
        self.inner
            .data_keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_string(), key.clone());
        Ok(Some(key))
    }

    /// `value` sealed under `account`'s data key, bound to `context`.
    fn seal(&self, account: &str, value: &[u8], context: &[u8]) -> Result<String> {
        let key = self
            .data_key(account, true)?
            .ok_or_else(|| Error::Service(format!("account {account} has no data key")))?;
        Ok(key.seal(value, context))
    }

    /// What [`Vault::seal`] sealed; `what` names the record for the error.
    fn unseal(&self, account: &str, sealed: &str, context: &[u8], what: &str) -> Result<Vec<u8>> {
        let failed = || {
            Error::DecryptionFailure(format!(
                "the value of {what} does not open with its account's data key"
            ))
        };
        let key = self.data_key(account, false)?.ok_or_else(failed)?;
        key.unseal(sealed, context).ok_or_else(failed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const TEAM: &str = "111111111111";
    pub const OTHER: &str = "222222222222";

    pub fn vault(dir: &std::path::Path) -> Vault {
        let store = Store::open(&dir.join("db")).unwrap();
        Vault::new(
            store,
            MasterKey::from_bytes([7; 32]),
            "local",
            Clock::manual(),
        )
    }

    #[test]
    fn values_do_not_print() {
        let secret = SecretValue {
            name: "db".into(),
            arn: "arn".into(),
            version_id: "v".into(),
            version_stages: vec!["AWSCURRENT".into()],
            secret_string: Some("hunter2".into()),
            secret_binary: Some(b"hunter3".to_vec()),
        };
        let printed = format!("{secret:?}");
        assert!(!printed.contains("hunter"), "{printed}");
        assert!(printed.contains("db"));
        let mut parameter = ParameterValue {
            name: "/app/pass".into(),
            arn: "arn".into(),
            kind: "SecureString".into(),
            value: "hunter4".into(),
            version: 1,
        };
        assert!(!format!("{parameter:?}").contains("hunter4"));
        parameter.kind = "String".into();
        assert!(format!("{parameter:?}").contains("hunter4"));
    }

    #[test]
    fn each_account_has_its_own_data_key_sealed_by_the_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        assert!(vault.data_key(TEAM, false).unwrap().is_none());
        let team = vault.data_key(TEAM, true).unwrap().unwrap();
        let other = vault.data_key(OTHER, true).unwrap().unwrap();
        let sealed = team.seal(b"x", b"c");
        assert!(other.unseal(&sealed, b"c").is_none());
        // Read back from the store by a fresh vault (same master key).
        let store = vault.store().clone();
        let again = Vault::new(
            store.clone(),
            MasterKey::from_bytes([7; 32]),
            "local",
            Clock::manual(),
        );
        let team_again = again.data_key(TEAM, false).unwrap().unwrap();
        assert_eq!(team_again.unseal(&sealed, b"c").as_deref(), Some(&b"x"[..]));
        // Under another master key it does not open.
        let wrong = Vault::new(
            store,
            MasterKey::from_bytes([8; 32]),
            "local",
            Clock::manual(),
        );
        assert!(matches!(
            wrong.data_key(TEAM, false),
            Err(Error::DecryptionFailure(_))
        ));
    }
}
