//! Users, access keys and identity policies: IAM's calls, with IAM's rules
//! (names, two keys per user, no deleting a user that still has keys or
//! policies) and errors. Every write rebuilds the directory, so a deleted
//! or deactivated key fails from the next call.

use funnel_store::{AccessKeyRecord, AccountRecord, UserRecord};

use super::policy::{self, IdentityPolicy};
use super::seal::random;
use super::{Identities, OPERATOR, Principal};
use crate::error::{Error, Result};

/// The user `CreateAccount` makes in a new account.
pub const ADMIN: &str = "admin";

/// IAM's limit of access keys per user.
const MAX_KEYS: usize = 2;

/// A new access key, its secret in the clear (shown once).
pub struct NewKey {
    pub record: AccessKeyRecord,
    pub secret: String,
}

impl Identities {
    /// First start: the default account, its operator and one key.
    pub(super) fn bootstrap(&self) -> anyhow::Result<()> {
        let store = self.store();
        let home = self.home().to_string();
        if store.get_account(&home)?.is_none() {
            store.create_account(&AccountRecord {
                id: home.clone(),
                name: "default".into(),
                create_date: now(),
            })?;
        }
        if store.get_user(&home, OPERATOR)?.is_none() {
            store.create_user(&new_user(&home, OPERATOR, vec![policy::FULL_ACCESS.into()]))?;
            self.new_key(&home, OPERATOR)?;
            store.flush()?;
            tracing::info!("created the operator user and its access key");
        }
        Ok(())
    }

    fn write<T>(&self, change: impl FnOnce() -> Result<T>) -> Result<T> {
        let _one_at_a_time = self.inner.writes.lock().unwrap_or_else(|e| e.into_inner());
        let out = change()?;
        self.store().flush()?;
        self.reload()?;
        Ok(out)
    }

    /// The user `name` of the caller's account (the caller itself when
    /// `name` is empty).
    pub fn user(&self, caller: &Principal, name: &str) -> Result<UserRecord> {
        let name = if name.is_empty() {
            &caller.user_name
        } else {
            name
        };
        self.store()
            .get_user(&caller.account_id, name)?
            .ok_or_else(|| no_user(name))
    }

    /// A new account, its admin user (with `FunnelFullAccess`) and that
    /// user's first key.
    pub fn create_account(
        &self,
        id: &str,
        name: &str,
    ) -> Result<(AccountRecord, UserRecord, NewKey)> {
        if !crate::tenancy::is_account_id(id) {
            return Err(Error::Validation(format!(
                "AccountId {id:?} must be 12 digits"
            )));
        }
        if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
            return Err(Error::Validation(format!(
                "Name {name:?} must be 1-50 characters"
            )));
        }
        self.write(|| {
            let account = AccountRecord {
                id: id.into(),
                name: name.into(),
                create_date: now(),
            };
            self.store().create_account(&account).map_err(|e| match e {
                funnel_store::StoreError::AlreadyExists(_) => {
                    Error::EntityAlreadyExists(format!("Account {id} already exists."))
                }
                other => other.into(),
            })?;
            let admin = new_user(id, ADMIN, vec![policy::FULL_ACCESS.into()]);
            self.store().create_user(&admin)?;
            let key = self.new_key(id, ADMIN)?;
            tracing::info!(account = id, name, "created an account and its admin");
            Ok((account, admin, key))
        })
    }

    /// The operator sees every account; anyone else, their own.
    pub fn list_accounts(&self, caller: &Principal) -> Result<Vec<AccountRecord>> {
        let mut accounts = self.store().accounts()?;
        if !caller.operator {
            accounts.retain(|a| a.id == caller.account_id);
        }
        Ok(accounts)
    }

    /// A new user in the caller's account, or (the operator only, checked
    /// by authorization) in `account`, which must exist.
    pub fn create_user(
        &self,
        caller: &Principal,
        name: &str,
        account: Option<&str>,
    ) -> Result<UserRecord> {
        validate_name("UserName", name, 64)?;
        let account_id = account.unwrap_or(&caller.account_id);
        if self.store().get_account(account_id)?.is_none() {
            return Err(Error::NoSuchEntity(format!(
                "The account {account_id} cannot be found."
            )));
        }
        self.write(|| {
            let user = new_user(account_id, name, Vec::new());
            self.store().create_user(&user).map_err(|e| match e {
                funnel_store::StoreError::AlreadyExists(_) => {
                    Error::EntityAlreadyExists(format!("User with name {name} already exists."))
                }
                other => other.into(),
            })?;
            Ok(user)
        })
    }

    pub fn delete_user(&self, caller: &Principal, name: &str) -> Result<()> {
        let user = self.user(caller, name)?;
        if user.account_id == self.home() && user.name == OPERATOR {
            return Err(Error::UnmodifiableEntity(
                "The operator cannot be deleted.".into(),
            ));
        }
        self.write(|| {
            if self.keys_of(&user)?.next().is_some() {
                return Err(Error::DeleteConflict(
                    "Cannot delete entity, must delete access keys first.".into(),
                ));
            }
            if !user.attached.is_empty() || !user.inline.is_empty() {
                return Err(Error::DeleteConflict(
                    "Cannot delete entity, must detach all policies first.".into(),
                ));
            }
            self.store().delete_user(&user.account_id, &user.name)?;
            Ok(())
        })
    }

    pub fn list_users(&self, caller: &Principal) -> Result<Vec<UserRecord>> {
        Ok(self.store().users(&caller.account_id)?)
    }

    fn keys_of<'a>(
        &self,
        user: &'a UserRecord,
    ) -> Result<impl Iterator<Item = AccessKeyRecord> + 'a> {
        Ok(self
            .store()
            .access_keys()?
            .into_iter()
            .filter(move |k| k.account_id == user.account_id && k.user_name == user.name))
    }

    /// A new key for the user; its secret is in the answer only.
    pub fn create_access_key(&self, caller: &Principal, name: &str) -> Result<NewKey> {
        let user = self.user(caller, name)?;
        self.write(|| {
            if self.keys_of(&user)?.count() >= MAX_KEYS {
                return Err(Error::LimitExceeded(format!(
                    "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}"
                )));
            }
            self.new_key(&user.account_id, &user.name)
        })
    }

    fn new_key(&self, account_id: &str, user_name: &str) -> Result<NewKey> {
        let access_key_id = format!("AKIA{}", random_text(16, UPPER_DIGITS));
        let secret = random_text(40, SECRET_CHARS);
        let record = AccessKeyRecord {
            sealed_secret: self.key().seal(secret.as_bytes(), access_key_id.as_bytes()),
            access_key_id,
            account_id: account_id.into(),
            user_name: user_name.into(),
            status: "Active".into(),
            create_date: now(),
        };
        self.store().put_access_key(&record)?;
        Ok(NewKey { record, secret })
    }

    /// The user's key `id` (the user is the caller when `name` is empty).
    fn key_of(&self, caller: &Principal, name: &str, id: &str) -> Result<AccessKeyRecord> {
        let user = self.user(caller, name)?;
        self.store()
            .get_access_key(id)?
            .filter(|k| k.account_id == user.account_id && k.user_name == user.name)
            .ok_or_else(|| {
                Error::NoSuchEntity(format!(
                    "The Access Key with id {id} cannot be found for user {}.",
                    user.name
                ))
            })
    }

    pub fn update_access_key(
        &self,
        caller: &Principal,
        name: &str,
        id: &str,
        status: &str,
    ) -> Result<()> {
        if !matches!(status, "Active" | "Inactive") {
            return Err(Error::Validation(format!(
                "Status {status:?} must be Active or Inactive"
            )));
        }
        let mut key = self.key_of(caller, name, id)?;
        self.write(|| {
            key.status = status.into();
            self.store().put_access_key(&key)?;
            Ok(())
        })
    }

    pub fn delete_access_key(&self, caller: &Principal, name: &str, id: &str) -> Result<()> {
        let key = self.key_of(caller, name, id)?;
        self.write(|| {
            self.store().delete_access_key(&key.access_key_id)?;
            Ok(())
        })
    }

    pub fn list_access_keys(&self, caller: &Principal, name: &str) -> Result<Vec<AccessKeyRecord>> {
        let user = self.user(caller, name)?;
        Ok(self.keys_of(&user)?.collect())
    }

    /// Changes a user's policies under the write lock.
    fn change_user(
        &self,
        caller: &Principal,
        name: &str,
        change: impl FnOnce(&mut UserRecord) -> Result<()>,
    ) -> Result<()> {
        self.write(|| {
            let mut user = self.user(caller, name)?;
            change(&mut user)?;
            self.store().put_user(&user)?;
            Ok(())
        })
    }

    pub fn attach_user_policy(&self, caller: &Principal, name: &str, arn: &str) -> Result<()> {
        if !policy::MANAGED.iter().any(|(a, _)| *a == arn) {
            return Err(Error::NoSuchEntity(format!(
                "Policy {arn} does not exist or is not attachable (managed policies: {}).",
                policy::MANAGED
                    .iter()
                    .map(|(a, _)| *a)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        self.change_user(caller, name, |user| {
            if !user.attached.iter().any(|a| a == arn) {
                user.attached.push(arn.into());
            }
            Ok(())
        })
    }

    pub fn detach_user_policy(&self, caller: &Principal, name: &str, arn: &str) -> Result<()> {
        self.change_user(caller, name, |user| {
            let before = user.attached.len();
            user.attached.retain(|a| a != arn);
            if user.attached.len() == before {
                return Err(Error::NoSuchEntity(format!(
                    "Policy {arn} was not found or is not attached to user {}.",
                    user.name
                )));
            }
            Ok(())
        })
    }

    pub fn put_user_policy(
        &self,
        caller: &Principal,
        name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<()> {
        validate_name("PolicyName", policy_name, 128)?;
        IdentityPolicy::parse(document).map_err(Error::MalformedPolicyDocument)?;
        self.change_user(caller, name, |user| {
            user.inline.insert(policy_name.into(), document.into());
            let size: usize = user
                .inline
                .values()
                .map(|d| d.chars().filter(|c| !c.is_whitespace()).count())
                .sum();
            if size > policy::INLINE_LIMIT {
                return Err(Error::LimitExceeded(format!(
                    "Maximum policy size of {} bytes exceeded for user {}",
                    policy::INLINE_LIMIT,
                    user.name
                )));
            }
            Ok(())
        })
    }

    pub fn get_user_policy(
        &self,
        caller: &Principal,
        name: &str,
        policy_name: &str,
    ) -> Result<(String, String)> {
        let user = self.user(caller, name)?;
        let document = user
            .inline
            .get(policy_name)
            .cloned()
            .ok_or_else(|| no_policy(&user.name, policy_name))?;
        Ok((user.name, document))
    }

    pub fn delete_user_policy(
        &self,
        caller: &Principal,
        name: &str,
        policy_name: &str,
    ) -> Result<()> {
        self.change_user(caller, name, |user| {
            user.inline
                .remove(policy_name)
                .map(|_| ())
                .ok_or_else(|| no_policy(&user.name, policy_name))
        })
    }
}

fn new_user(account_id: &str, name: &str, attached: Vec<String>) -> UserRecord {
    UserRecord {
        account_id: account_id.into(),
        name: name.into(),
        user_id: format!("AIDA{}", random_text(17, UPPER_DIGITS)),
        create_date: now(),
        attached,
        inline: Default::default(),
    }
}

fn no_user(name: &str) -> Error {
    Error::NoSuchEntity(format!("The user with name {name} cannot be found."))
}

fn no_policy(user: &str, policy: &str) -> Error {
    Error::NoSuchEntity(format!(
        "The user policy with name {policy} cannot be found for user {user}."
    ))
}

/// IAM's names: 1..=max of letters, digits and `+=,.@_-`.
fn validate_name(field: &str, name: &str, max: usize) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "{field} {name:?} must be 1-{max} letters, digits and +=,.@_-"
        )))
    }
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` characters drawn uniformly from `alphabet` (32 or 64 long).
fn random_text(len: usize, alphabet: &[u8]) -> String {
    debug_assert!(alphabet.len().is_power_of_two());
    let mut bytes = vec![0u8; len];
    random(&mut bytes);
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

/// Now, as IAM's dates (`2026-01-01T00:00:00Z`).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
