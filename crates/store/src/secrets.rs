//! Secrets and parameters, as sealed bytes: each account's data key
//! (sealed by the master key), Secrets Manager's secrets and their
//! versions, Parameter Store's parameters and their versions, and the id
//! of the master key that sealed what is here.
//!
//! Sealing is the server's business: a secret's value or a SecureString
//! reaches the store sealed and leaves it sealed. Only the server's vault
//! writes these trees, one write at a time, so the store checks no
//! revisions; what must change together (a secret and its versions, every
//! sealed key on a master key rotation) changes in one transaction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{AccessKeyRecord, Result, Store, StoreError, decode, encode};

/// The `meta` key of the master key's id.
const MASTER_KEY_ID: &str = "master_key_id";

/// An account's data key: 32 random bytes, sealed by the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataKeyRecord {
    pub account_id: String,
    /// Hex, as the master key seals.
    pub sealed: String,
    /// Milliseconds since the epoch.
    pub created_ms: i64,
}

/// A tag (`Key`, `Value`), as Secrets Manager and SSM keep them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    pub key: String,
    pub value: String,
}

/// A secret: what Secrets Manager describes of it. Its values are
/// [`SecretVersionRecord`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    pub account_id: String,
    pub name: String,
    /// `arn:funnel:secretsmanager:<region>:<account>:secret:<name>-<6 random>`.
    pub arn: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
    /// Milliseconds since the epoch.
    pub created_ms: i64,
    pub last_changed_ms: i64,
    /// When `DeleteSecret` was called, if the secret waits for deletion.
    #[serde(default)]
    pub deleted_ms: Option<i64>,
    /// When the secret goes for good (the end of the recovery window).
    #[serde(default)]
    pub deletion_ms: Option<i64>,
    /// Staging label → the version it is on (a label is on one version
    /// at most).
    #[serde(default)]
    pub stages: BTreeMap<String, String>,
}

/// One version of a secret's value, sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretVersionRecord {
    pub version_id: String,
    pub created_ms: i64,
    /// `SecretBinary` (else `SecretString`).
    pub binary: bool,
    /// Hex, as the account's data key seals.
    pub sealed: String,
}

/// One version of a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterRecord {
    pub account_id: String,
    pub name: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// The value; a SecureString's sealed (hex), by the account's data key.
    pub value: String,
    #[serde(default)]
    pub description: String,
    /// 1, 2, ...
    pub version: u64,
    pub last_modified_ms: i64,
    /// The ARN of the user who wrote this version.
    #[serde(default)]
    pub last_modified_user: String,
    /// `Standard` or `Advanced`.
    pub tier: String,
    /// `text`.
    pub data_type: String,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
}

/// `account`, NUL, `name`: a secret's key, and a parameter's (and the
/// prefix of their versions' keys with one more NUL).
fn named(account: &str, name: &str) -> Vec<u8> {
    let mut key = account.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

fn version_key(account: &str, name: &str, version: &[u8]) -> Vec<u8> {
    let mut key = named(account, name);
    key.push(0);
    key.extend_from_slice(version);
    key
}

fn aborted(err: TransactionError<StoreError>) -> StoreError {
    match err {
        TransactionError::Abort(err) => err,
        TransactionError::Storage(err) => StoreError::Db(err),
    }
}

impl Store {
    /// The id of the master key that sealed this store's keys, once one
    /// has been recorded.
    pub fn master_key_id(&self) -> Result<Option<String>> {
        Ok(self
            .meta
            .get(MASTER_KEY_ID)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn set_master_key_id(&self, id: &str) -> Result<()> {
        self.meta.insert(MASTER_KEY_ID, id.as_bytes())?;
        Ok(())
    }

    /// Whether anything here is sealed by the master key (an access key or
    /// a data key).
    pub fn has_sealed(&self) -> Result<bool> {
        Ok(!self.access_keys.is_empty() || !self.data_keys.is_empty())
    }

    pub fn data_key(&self, account: &str) -> Result<Option<DataKeyRecord>> {
        self.data_keys
            .get(account)?
            .map(|v| decode(account, &v))
            .transpose()
    }

    /// Stores an account's data key unless it has one; returns the one it
    /// has either way.
    pub fn create_data_key(&self, record: &DataKeyRecord) -> Result<DataKeyRecord> {
        match self.data_keys.compare_and_swap(
            record.account_id.as_bytes(),
            None as Option<&[u8]>,
            Some(encode(record)),
        )? {
            Ok(()) => Ok(record.clone()),
            Err(existing) => decode(
                &record.account_id,
                &existing
                    .current
                    .ok_or_else(|| StoreError::NotFound(record.account_id.clone()))?,
            ),
        }
    }

    /// Every account's data key.
    pub fn data_keys(&self) -> Result<Vec<DataKeyRecord>> {
        super::page(&self.data_keys, None, usize::MAX)
    }

    /// Replaces every sealed access key secret and data key with the ones
    /// given (the same records, sealed by a new master key) and records
    /// the new key's id, in one transaction: the store is wholly under
    /// the old key or wholly under the new one.
    pub fn reseal(
        &self,
        access_keys: &[AccessKeyRecord],
        data_keys: &[DataKeyRecord],
        master_key_id: &str,
    ) -> Result<()> {
        (&self.access_keys, &self.data_keys, &self.meta)
            .transaction(|(keys, data, meta)| {
                for key in access_keys {
                    keys.insert(key.access_key_id.as_bytes(), encode(key))?;
                }
                for key in data_keys {
                    data.insert(key.account_id.as_bytes(), encode(key))?;
                }
                meta.insert(MASTER_KEY_ID, master_key_id.as_bytes())?;
                Ok(())
            })
            .map_err(aborted)?;
        self.flush()
    }

    pub fn secret(&self, account: &str, name: &str) -> Result<Option<SecretRecord>> {
        self.secrets
            .get(named(account, name))?
            .map(|v| decode(name, &v))
            .transpose()
    }

    /// An account's secrets whose names sort after `after`, in name order,
    /// at most `limit`.
    pub fn secrets(&self, account: &str, after: &str, limit: usize) -> Result<Vec<SecretRecord>> {
        let prefix = named(account, "");
        let start = named(account, after);
        self.secrets
            .range(start.clone()..)
            .filter(|entry| !matches!(entry, Ok((key, _)) if *key == *start))
            .take_while(|entry| !matches!(entry, Ok((key, _)) if !key.starts_with(&prefix)))
            .take(limit)
            .map(|entry| decode("secrets", &entry?.1))
            .collect()
    }

    pub fn secret_version(
        &self,
        account: &str,
        name: &str,
        version_id: &str,
    ) -> Result<Option<SecretVersionRecord>> {
        self.secret_versions
            .get(version_key(account, name, version_id.as_bytes()))?
            .map(|v| decode(version_id, &v))
            .transpose()
    }

    /// A secret's versions, in version id order.
    pub fn secret_versions(&self, account: &str, name: &str) -> Result<Vec<SecretVersionRecord>> {
        self.secret_versions
            .scan_prefix(version_key(account, name, b""))
            .values()
            .map(|v| decode(name, &v?))
            .collect()
    }

    /// Creates a secret with its first versions; `AlreadyExists` if the
    /// account has a secret of that name (deleted or not).
    pub fn create_secret(
        &self,
        record: &SecretRecord,
        versions: &[SecretVersionRecord],
    ) -> Result<()> {
        let key = named(&record.account_id, &record.name);
        (&self.secrets, &self.secret_versions)
            .transaction(|(secrets, stored)| {
                if secrets.get(&key)?.is_some() {
                    return Err(ConflictableTransactionError::Abort(
                        StoreError::AlreadyExists(record.name.clone()),
                    ));
                }
                secrets.insert(key.clone(), encode(record))?;
                for version in versions {
                    stored.insert(
                        version_key(
                            &record.account_id,
                            &record.name,
                            version.version_id.as_bytes(),
                        ),
                        encode(version),
                    )?;
                }
                Ok(())
            })
            .map_err(aborted)
    }

    /// Replaces a secret's record, adds versions and removes others, in
    /// one transaction.
    pub fn write_secret(
        &self,
        record: &SecretRecord,
        put: &[SecretVersionRecord],
        remove: &[String],
    ) -> Result<()> {
        let (account, name) = (&record.account_id, &record.name);
        (&self.secrets, &self.secret_versions)
            .transaction(|(secrets, versions)| {
                secrets.insert(named(account, name), encode(record))?;
                for version in put {
                    versions.insert(
                        version_key(account, name, version.version_id.as_bytes()),
                        encode(version),
                    )?;
                }
                for id in remove {
                    versions.remove(version_key(account, name, id.as_bytes()))?;
                }
                Ok(())
            })
            .map_err(aborted)
    }

    /// Removes a secret and every version of it; whether there was one.
    pub fn delete_secret(&self, account: &str, name: &str) -> Result<bool> {
        let versions: Vec<sled::IVec> = self
            .secret_versions
            .scan_prefix(version_key(account, name, b""))
            .keys()
            .collect::<std::result::Result<_, _>>()?;
        let key = named(account, name);
        (&self.secrets, &self.secret_versions)
            .transaction(|(secrets, stored)| {
                for version in &versions {
                    stored.remove(version)?;
                }
                Ok(secrets.remove(key.clone())?.is_some())
            })
            .map_err(aborted)
    }

    /// A parameter's latest version (`None`), or the version asked for.
    pub fn parameter(
        &self,
        account: &str,
        name: &str,
        version: Option<u64>,
    ) -> Result<Option<ParameterRecord>> {
        let found = match version {
            Some(v) => self
                .parameters
                .get(version_key(account, name, &v.to_be_bytes()))?,
            None => self
                .parameters
                .scan_prefix(version_key(account, name, b""))
                .values()
                .next_back()
                .transpose()?,
        };
        found.map(|v| decode(name, &v)).transpose()
    }

    /// A parameter's version numbers, oldest first.
    pub fn parameter_versions(&self, account: &str, name: &str) -> Result<Vec<u64>> {
        let prefix = version_key(account, name, b"");
        self.parameters
            .scan_prefix(&prefix)
            .keys()
            .map(|k| Ok(super::read_u64(&k?[prefix.len()..])))
            .collect()
    }

    /// Stores a parameter's new version and removes the versions named
    /// (the oldest, past the number kept), in one transaction.
    pub fn put_parameter(&self, record: &ParameterRecord, remove: &[u64]) -> Result<()> {
        let (account, name) = (&record.account_id, &record.name);
        self.parameters
            .transaction(|tree| {
                tree.insert(
                    version_key(account, name, &record.version.to_be_bytes()),
                    encode(record),
                )?;
                for version in remove {
                    tree.remove(version_key(account, name, &version.to_be_bytes()))?;
                }
                Ok(())
            })
            .map_err(aborted)
    }

    /// Removes every version of a parameter; whether there was one.
    pub fn delete_parameter(&self, account: &str, name: &str) -> Result<bool> {
        let keys: Vec<sled::IVec> = self
            .parameters
            .scan_prefix(version_key(account, name, b""))
            .keys()
            .collect::<std::result::Result<_, _>>()?;
        self.parameters
            .transaction(|tree| {
                for key in &keys {
                    tree.remove(key)?;
                }
                Ok(!keys.is_empty())
            })
            .map_err(aborted)
    }

    /// The latest version of each of an account's parameters whose name
    /// starts with `prefix` and sorts after `after`, in name order, that
    /// `keep` keeps, at most `limit`.
    pub fn parameters(
        &self,
        account: &str,
        prefix: &str,
        after: &str,
        limit: usize,
        keep: &dyn Fn(&ParameterRecord) -> bool,
    ) -> Result<Vec<ParameterRecord>> {
        let mut out: Vec<ParameterRecord> = Vec::new();
        let mut last: Option<ParameterRecord> = None;
        let take = |record: ParameterRecord, out: &mut Vec<ParameterRecord>| {
            if record.name.as_str() > after && keep(&record) {
                out.push(record);
            }
        };
        for value in self.parameters.scan_prefix(named(account, prefix)).values() {
            let record: ParameterRecord = decode("parameters", &value?)?;
            // Versions of one name are together, oldest first: a name's
            // last is its latest.
            if let Some(previous) = last.take_if(|p| p.name != record.name) {
                take(previous, &mut out);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            last = Some(record);
        }
        if let Some(previous) = last {
            take(previous, &mut out);
        }
        out.truncate(limit);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEAM: &str = "111111111111";

    fn parameter(name: &str, version: u64, value: &str) -> ParameterRecord {
        ParameterRecord {
            account_id: TEAM.into(),
            name: name.into(),
            kind: "String".into(),
            value: value.into(),
            description: String::new(),
            version,
            last_modified_ms: 0,
            last_modified_user: String::new(),
            tier: "Standard".into(),
            data_type: "text".into(),
            tags: vec![],
        }
    }

    #[test]
    fn parameters_list_their_latest_version_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (name, version) in [("/app", 1), ("/app/a", 1), ("/app/a", 2), ("/app/b/c", 1)] {
            store
                .put_parameter(&parameter(name, version, &format!("{name}@{version}")), &[])
                .unwrap();
        }
        store
            .put_parameter(&parameter("/app/a", 3, "a@3"), &[1])
            .unwrap();
        // Another account's is not listed.
        let mut other = parameter("/app/z", 1, "z");
        other.account_id = "222222222222".into();
        store.put_parameter(&other, &[]).unwrap();

        let all = |prefix: &str, after: &str, limit: usize| -> Vec<String> {
            store
                .parameters(TEAM, prefix, after, limit, &|_| true)
                .unwrap()
                .into_iter()
                .map(|p| p.value)
                .collect()
        };
        assert_eq!(all("/app/", "", 10), ["a@3", "/app/b/c@1"]);
        assert_eq!(all("/app", "", 10), ["/app@1", "a@3", "/app/b/c@1"]);
        assert_eq!(all("/app", "", 2), ["/app@1", "a@3"]);
        assert_eq!(all("/app", "/app/a", 2), ["/app/b/c@1"]);
        assert_eq!(store.parameter_versions(TEAM, "/app/a").unwrap(), [2, 3]);
        assert_eq!(
            store
                .parameter(TEAM, "/app/a", None)
                .unwrap()
                .unwrap()
                .value,
            "a@3"
        );
        assert_eq!(
            store
                .parameter(TEAM, "/app/a", Some(2))
                .unwrap()
                .unwrap()
                .value,
            "/app/a@2"
        );
        assert!(store.parameter(TEAM, "/app/a", Some(1)).unwrap().is_none());
        assert!(store.delete_parameter(TEAM, "/app/a").unwrap());
        assert!(!store.delete_parameter(TEAM, "/app/a").unwrap());
        assert!(store.parameter(TEAM, "/app/a", None).unwrap().is_none());
    }

    #[test]
    fn a_secret_and_its_versions_come_and_go_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let secret = SecretRecord {
            account_id: TEAM.into(),
            name: "db".into(),
            arn: "arn".into(),
            description: String::new(),
            tags: vec![],
            created_ms: 1,
            last_changed_ms: 1,
            deleted_ms: None,
            deletion_ms: None,
            stages: BTreeMap::from([("AWSCURRENT".into(), "v1".into())]),
        };
        let version = |id: &str| SecretVersionRecord {
            version_id: id.into(),
            created_ms: 1,
            binary: false,
            sealed: "00".into(),
        };
        store.create_secret(&secret, &[version("v1")]).unwrap();
        assert!(matches!(
            store.create_secret(&secret, &[version("v9")]),
            Err(StoreError::AlreadyExists(_))
        ));
        assert!(store.secret_version(TEAM, "db", "v9").unwrap().is_none());
        store
            .write_secret(&secret, &[version("v2")], &["v1".into()])
            .unwrap();
        let ids: Vec<String> = store
            .secret_versions(TEAM, "db")
            .unwrap()
            .into_iter()
            .map(|v| v.version_id)
            .collect();
        assert_eq!(ids, ["v2"]);
        assert_eq!(store.secrets(TEAM, "", 10).unwrap().len(), 1);
        assert!(store.secrets(TEAM, "db", 10).unwrap().is_empty());
        assert!(store.delete_secret(TEAM, "db").unwrap());
        assert!(store.secret(TEAM, "db").unwrap().is_none());
        assert!(store.secret_versions(TEAM, "db").unwrap().is_empty());
    }
}
