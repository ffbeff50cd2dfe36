//! Published versions and aliases.

use super::{AliasRecord, FunctionRecord, Result, Store, StoreError, decode, encode};

impl Store {
    /// Stores a published version (its `version` field is its number).
    pub fn put_version(&self, record: &FunctionRecord) -> Result<()> {
        let number: u32 = record.version.parse().unwrap_or(0);
        self.versions
            .insert(version_key(&record.name, number), encode(record))?;
        Ok(())
    }

    pub fn get_version(&self, name: &str, number: u32) -> Result<Option<FunctionRecord>> {
        self.versions
            .get(version_key(name, number))?
            .map(|value| decode(name, &value))
            .transpose()
    }

    /// A function's published versions, in number order.
    pub fn versions(&self, name: &str) -> Result<Vec<FunctionRecord>> {
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(0);
        self.versions
            .scan_prefix(prefix)
            .values()
            .map(|value| decode(name, &value?))
            .collect()
    }

    /// Removes one published version; returns it.
    pub fn delete_version(&self, name: &str, number: u32) -> Result<FunctionRecord> {
        let value = self
            .versions
            .remove(version_key(name, number))?
            .ok_or_else(|| StoreError::NotFound(format!("{name}:{number}")))?;
        decode(name, &value)
    }
}

impl Store {
    /// Inserts a new alias; fails with `AlreadyExists` if the name is taken.
    pub fn create_alias(&self, alias: &AliasRecord) -> Result<()> {
        self.aliases
            .compare_and_swap(
                alias_key(&alias.function_name, &alias.name),
                None as Option<&[u8]>,
                Some(encode(alias)),
            )?
            .map_err(|_| StoreError::AlreadyExists(alias.name.clone()))
    }

    /// Replaces an existing alias; fails with `NotFound` if there is none.
    pub fn put_alias(&self, alias: &AliasRecord) -> Result<()> {
        let key = alias_key(&alias.function_name, &alias.name);
        if !self.aliases.contains_key(&key)? {
            return Err(StoreError::NotFound(alias.name.clone()));
        }
        self.aliases.insert(key, encode(alias))?;
        Ok(())
    }

    pub fn get_alias(&self, function_name: &str, name: &str) -> Result<Option<AliasRecord>> {
        self.aliases
            .get(alias_key(function_name, name))?
            .map(|value| decode(name, &value))
            .transpose()
    }

    /// A function's aliases, in name order.
    pub fn aliases(&self, function_name: &str) -> Result<Vec<AliasRecord>> {
        self.aliases
            .scan_prefix(alias_key(function_name, ""))
            .values()
            .map(|value| decode(function_name, &value?))
            .collect()
    }

    pub fn delete_alias(&self, function_name: &str, name: &str) -> Result<AliasRecord> {
        let value = self
            .aliases
            .remove(alias_key(function_name, name))?
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        decode(name, &value)
    }
}

fn alias_key(function_name: &str, name: &str) -> Vec<u8> {
    let mut key = function_name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

fn version_key(name: &str, number: u32) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&number.to_be_bytes());
    key
}
