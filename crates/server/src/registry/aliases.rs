//! Aliases: names that point at a version, with optional weighted routing
//! of a share of invocations to one additional version (Lambda's
//! `RoutingConfig.AdditionalVersionWeights`), for gradual rollouts and
//! one-call rollbacks.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::function::{FunctionRef, LATEST};
use crate::registry::Registry;
use funnel_store::{AliasRecord, StoreError};

/// The most a ListAliases page holds, as Lambda.
pub const MAX_PAGE: usize = 50;

/// An alias to create or change; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct AliasChange {
    pub function_version: Option<String>,
    pub description: Option<String>,
    /// `Some(empty)` removes the routing.
    pub routing: Option<BTreeMap<String, f64>>,
    /// Change only if the alias's RevisionId is still this one.
    pub revision_id: Option<String>,
}

/// `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, 1 to 128 characters, as Lambda.
pub fn validate_alias_name(name: &str) -> Result<()> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameterValue(format!(
            "Alias name {name:?} is invalid: 1 to 128 letters, digits, '-' and '_', not only digits"
        )))
    }
}

impl Registry {
    pub async fn create_alias(
        &self,
        function_name: &str,
        name: &str,
        change: AliasChange,
    ) -> Result<AliasRecord> {
        validate_alias_name(name)?;
        let target = self.resolve(function_name, "")?;
        let function_version = change
            .function_version
            .ok_or_else(|| Error::InvalidParameterValue("FunctionVersion is required".into()))?;
        let alias = AliasRecord {
            function_name: target.name.clone(),
            name: name.to_string(),
            function_version,
            description: change.description.unwrap_or_default(),
            additional_version: routing(change.routing.unwrap_or_default())?,
            revision_id: funnel_store::new_revision_id(),
        };
        self.check_alias(&target, &alias)?;
        let _code = self.code_lock.lock().await;
        self.store.create_alias(&alias).map_err(|err| match err {
            StoreError::AlreadyExists(_) => {
                Error::ResourceConflict(format!("Alias already exists: {}", self.alias_arn(&alias)))
            }
            other => other.into(),
        })?;
        self.store.flush_async().await?;
        Ok(alias)
    }

    pub fn get_alias(&self, function_name: &str, name: &str) -> Result<AliasRecord> {
        let target = self.resolve(function_name, "")?;
        self.store
            .get_alias(&target.name, name)?
            .ok_or_else(|| self.alias_not_found(&target, name))
    }

    pub async fn update_alias(
        &self,
        function_name: &str,
        name: &str,
        change: AliasChange,
    ) -> Result<AliasRecord> {
        let target = self.resolve(function_name, "")?;
        let _code = self.code_lock.lock().await;
        let mut alias = self
            .store
            .get_alias(&target.name, name)?
            .ok_or_else(|| self.alias_not_found(&target, name))?;
        // Every alias write holds `code_lock`: this check and the write
        // below are one step for other writers.
        if change
            .revision_id
            .is_some_and(|given| given != alias.revision_id)
        {
            return Err(crate::registry::stale_revision("GetAlias"));
        }
        alias.revision_id = funnel_store::new_revision_id();
        if let Some(version) = change.function_version {
            alias.function_version = version;
        }
        if let Some(description) = change.description {
            alias.description = description;
        }
        if let Some(routing_config) = change.routing {
            alias.additional_version = routing(routing_config)?;
        }
        self.check_alias(&target, &alias)?;
        self.store.put_alias(&alias)?;
        self.store.flush_async().await?;
        Ok(alias)
    }

    pub async fn delete_alias(&self, function_name: &str, name: &str) -> Result<()> {
        let target = self.resolve(function_name, "")?;
        let _code = self.code_lock.lock().await;
        self.store
            .delete_alias(&target.name, name)
            .map_err(|err| match err {
                StoreError::NotFound(_) => self.alias_not_found(&target, name),
                other => other.into(),
            })?;
        self.store.set_policy(&target.name, name, None)?;
        self.store.delete_function_url(&target.name, name)?;
        self.policies.clear();
        self.store.flush_async().await?;
        Ok(())
    }

    /// Aliases of a function (optionally only those pointing at a version),
    /// a page at a time; returns the page and the marker of the next.
    pub fn list_aliases(
        &self,
        function_name: &str,
        function_version: &str,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<(Vec<AliasRecord>, Option<String>)> {
        let target = self.resolve(function_name, "")?;
        if self.store.get_function(&target.name)?.is_none() {
            return Err(self.not_found(&target));
        }
        let limit = crate::function::page_size(max_items, MAX_PAGE)?;
        let mut aliases: Vec<_> = self
            .store
            .aliases(&target.name)?
            .into_iter()
            .filter(|a| function_version.is_empty() || a.function_version == function_version)
            .filter(|a| marker.is_empty() || a.name.as_str() > marker)
            .collect();
        let next = (aliases.len() > limit).then(|| aliases[limit - 1].name.clone());
        aliases.truncate(limit);
        Ok((aliases, next))
    }

    /// The version an invocation through `alias` runs, `draw` being a
    /// uniform random number in [0, 1).
    pub(crate) fn route(&self, target: &FunctionRef, alias: &str, draw: f64) -> Result<String> {
        let alias = self
            .store
            .get_alias(&target.name, alias)?
            .ok_or_else(|| self.not_found(target))?;
        Ok(match alias.additional_version {
            Some((version, weight)) if draw < weight => version,
            _ => alias.function_version,
        })
    }

    /// Names of the aliases that route to `version`.
    pub(crate) fn aliases_of(&self, function_name: &str, version: &str) -> Result<Vec<String>> {
        Ok(self
            .store
            .aliases(function_name)?
            .into_iter()
            .filter(|a| {
                a.function_version == version
                    || a.additional_version
                        .as_ref()
                        .is_some_and(|(v, _)| v == version)
            })
            .map(|a| a.name)
            .collect())
    }

    pub fn alias_arn(&self, alias: &AliasRecord) -> String {
        self.naming()
            .function_arn(&alias.function_name, Some(&alias.name))
    }

    fn alias_not_found(&self, target: &FunctionRef, name: &str) -> Error {
        Error::ResourceNotFound(format!(
            "Alias not found: {}",
            self.naming().function_arn(&target.name, Some(name))
        ))
    }

    /// The versions the alias names exist; routing only between published
    /// versions, and not to the primary one.
    fn check_alias(&self, target: &FunctionRef, alias: &AliasRecord) -> Result<()> {
        self.check_version_exists(target, &alias.function_version)?;
        if let Some((version, _)) = &alias.additional_version {
            if alias.function_version == LATEST || version == LATEST {
                return Err(Error::InvalidParameterValue(
                    "$LATEST cannot be used with RoutingConfig: route between published versions"
                        .into(),
                ));
            }
            if *version == alias.function_version {
                return Err(Error::InvalidParameterValue(format!(
                    "RoutingConfig routes to version {version}, which is already the alias's FunctionVersion"
                )));
            }
            self.check_version_exists(target, version)?;
        }
        Ok(())
    }

    fn check_version_exists(&self, target: &FunctionRef, version: &str) -> Result<()> {
        let exists = match version {
            LATEST => self.store.get_function(&target.name)?.is_some(),
            number => match number.parse::<u32>() {
                Ok(n) => self.store.get_version(&target.name, n)?.is_some(),
                Err(_) => {
                    return Err(Error::InvalidParameterValue(format!(
                        "FunctionVersion {version:?} is invalid: $LATEST or a version number"
                    )));
                }
            },
        };
        if exists {
            Ok(())
        } else {
            Err(Error::ResourceNotFound(format!(
                "Function not found: {}",
                self.naming().function_arn(&target.name, Some(version))
            )))
        }
    }
}

/// Lambda's AdditionalVersionWeights: at most one version, weight 0..=1.
fn routing(weights: BTreeMap<String, f64>) -> Result<Option<(String, f64)>> {
    if weights.len() > 1 {
        return Err(Error::InvalidParameterValue(
            "RoutingConfig.AdditionalVersionWeights takes at most one version".into(),
        ));
    }
    match weights.into_iter().next() {
        None => Ok(None),
        Some((version, weight)) if (0.0..=1.0).contains(&weight) => Ok(Some((version, weight))),
        Some((version, weight)) => Err(Error::InvalidParameterValue(format!(
            "RoutingConfig weight {weight} for version {version} is out of range: it must be between 0.0 and 1.0"
        ))),
    }
}
