//! Resource policies, as the JSON documents Lambda returns.

use super::{Result, Store};

fn policy_key(function: &str, qualifier: &str) -> Vec<u8> {
    let mut key = function.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(qualifier.as_bytes());
    key
}

impl Store {
    /// The policy document of a function (`qualifier` empty) or of one of
    /// its versions or aliases.
    pub fn get_policy(&self, function: &str, qualifier: &str) -> Result<Option<String>> {
        Ok(self
            .policies
            .get(policy_key(function, qualifier))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Replaces (or with `None`, removes) a policy document.
    pub fn set_policy(&self, function: &str, qualifier: &str, policy: Option<&str>) -> Result<()> {
        let key = policy_key(function, qualifier);
        match policy {
            Some(policy) => self.policies.insert(key, policy.as_bytes())?,
            None => self.policies.remove(key)?,
        };
        Ok(())
    }

    /// Removes every policy of a function and of its versions and aliases.
    pub fn delete_policies(&self, function: &str) -> Result<()> {
        for key in self.policies.scan_prefix(policy_key(function, "")).keys() {
            self.policies.remove(key?)?;
        }
        Ok(())
    }
}
