//! Identities: accounts, their users (with identity policies) and the
//! users' access keys. Secrets are stored sealed; sealing is the server's
//! business, the store keeps the bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, decode, encode};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// 12 digits.
    pub id: String,
    pub name: String,
    /// ISO 8601.
    pub create_date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub account_id: String,
    pub name: String,
    /// IAM's unique id (`AIDA...`).
    pub user_id: String,
    pub create_date: String,
    /// Managed policy ARNs, in the order attached.
    #[serde(default)]
    pub attached: Vec<String>,
    /// Inline policies: name → document (JSON, as given).
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    /// `AKIA...`, 20 characters.
    pub access_key_id: String,
    pub account_id: String,
    pub user_name: String,
    /// `Active` or `Inactive`.
    pub status: String,
    pub create_date: String,
    /// The secret access key, sealed by the server (hex).
    pub sealed_secret: String,
}

fn user_key(account_id: &str, name: &str) -> Vec<u8> {
    let mut key = account_id.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

impl Store {
    pub fn get_account(&self, id: &str) -> Result<Option<AccountRecord>> {
        self.accounts.get(id)?.map(|v| decode(id, &v)).transpose()
    }

    /// Inserts an account; fails with `AlreadyExists` if the id is taken.
    pub fn create_account(&self, record: &AccountRecord) -> Result<()> {
        self.accounts
            .compare_and_swap(
                record.id.as_bytes(),
                None as Option<&[u8]>,
                Some(encode(record)),
            )?
            .map_err(|_| StoreError::AlreadyExists(format!("account {}", record.id)))
    }

    /// Every account, in id order.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>> {
        super::page(&self.accounts, None, usize::MAX)
    }

    /// Inserts a user; fails with `AlreadyExists` if the account has one of
    /// that name.
    pub fn create_user(&self, record: &UserRecord) -> Result<()> {
        self.users
            .compare_and_swap(
                user_key(&record.account_id, &record.name),
                None as Option<&[u8]>,
                Some(encode(record)),
            )?
            .map_err(|_| StoreError::AlreadyExists(format!("user {}", record.name)))
    }

    pub fn get_user(&self, account_id: &str, name: &str) -> Result<Option<UserRecord>> {
        self.users
            .get(user_key(account_id, name))?
            .map(|v| decode(name, &v))
            .transpose()
    }

    /// Replaces a user's record (its policies).
    pub fn put_user(&self, record: &UserRecord) -> Result<()> {
        self.users
            .insert(user_key(&record.account_id, &record.name), encode(record))?;
        Ok(())
    }

    pub fn delete_user(&self, account_id: &str, name: &str) -> Result<bool> {
        Ok(self.users.remove(user_key(account_id, name))?.is_some())
    }

    /// The users of an account, in name order.
    pub fn users(&self, account_id: &str) -> Result<Vec<UserRecord>> {
        self.users
            .scan_prefix(user_key(account_id, ""))
            .values()
            .map(|v| decode("users", &v?))
            .collect()
    }

    /// Every user of every account.
    pub fn all_users(&self) -> Result<Vec<UserRecord>> {
        super::page(&self.users, None, usize::MAX)
    }

    /// Inserts or replaces an access key.
    pub fn put_access_key(&self, record: &AccessKeyRecord) -> Result<()> {
        self.access_keys
            .insert(record.access_key_id.as_bytes(), encode(record))?;
        Ok(())
    }

    pub fn get_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>> {
        self.access_keys
            .get(id)?
            .map(|v| decode(id, &v))
            .transpose()
    }

    pub fn delete_access_key(&self, id: &str) -> Result<bool> {
        Ok(self.access_keys.remove(id)?.is_some())
    }

    /// Every access key, in id order.
    pub fn access_keys(&self) -> Result<Vec<AccessKeyRecord>> {
        super::page(&self.access_keys, None, usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(account: &str, name: &str) -> UserRecord {
        UserRecord {
            account_id: account.into(),
            name: name.into(),
            user_id: format!("AIDA{name}"),
            create_date: "2026-01-01T00:00:00Z".into(),
            attached: vec![],
            inline: BTreeMap::new(),
        }
    }

    #[test]
    fn users_are_unique_per_account() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_user(&user("000000000000", "alice")).unwrap();
        store.create_user(&user("111111111111", "alice")).unwrap();
        store.create_user(&user("000000000000", "bob")).unwrap();
        assert!(matches!(
            store.create_user(&user("000000000000", "alice")),
            Err(StoreError::AlreadyExists(_))
        ));
        let names: Vec<String> = store
            .users("000000000000")
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        assert!(store.delete_user("111111111111", "alice").unwrap());
        assert!(store.get_user("111111111111", "alice").unwrap().is_none());
        assert!(store.get_user("000000000000", "alice").unwrap().is_some());
    }
}
