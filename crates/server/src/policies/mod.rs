//! Resource policies (Lambda's `AddPermission`, `RemovePermission`,
//! `GetPolicy`): the policy of a function, or of one version or alias, and
//! the check every trigger makes before it invokes. The statements and
//! their JSON are in [`document`]; parsed policies are cached ([`cache`]).
//!
//! The policies service knows functions only through the narrow
//! [`Targets`] port the registry implements, so the registry can own the
//! cache's invalidation without a circle between the two.

mod cache;
mod document;

use std::sync::Arc;

use funnel_store::Store;

pub use cache::PolicyCache;
pub use document::{
    Caller, GET_LAYER_VERSION, INVOKE_FUNCTION_URL, PermissionRequest, Policy, Statement,
};
pub(crate) use document::{arn_like, wildcard, wildcard_ignore_case};

use crate::error::{Error, Result};
use crate::function::Naming;

/// What policies need of the function registry.
pub trait Targets: Send + Sync {
    /// The function (which must exist) and qualifier a policy belongs to;
    /// `$LATEST` is the unqualified function's (an empty qualifier). The
    /// version or alias named must exist too.
    fn policy_target(&self, function_name: &str, qualifier: &str) -> Result<(String, String)>;
    /// The `RevisionId` of the function, version or alias.
    fn revision_id(&self, name: &str, qualifier: &str) -> Result<String>;
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Policies {
    store: Store,
    naming: Arc<Naming>,
    cache: PolicyCache,
    targets: Arc<dyn Targets>,
    /// The registry's code lock: a policy is read, changed and written
    /// while no record it belongs to is being deleted.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Policies {
    pub fn new(
        store: Store,
        naming: Arc<Naming>,
        cache: PolicyCache,
        targets: Arc<dyn Targets>,
        write_lock: Arc<tokio::sync::Mutex<()>>,
    ) -> Policies {
        Policies {
            store,
            naming,
            cache,
            targets,
            write_lock,
        }
    }

    /// Adds a statement to the policy of `function_name` (and `qualifier`,
    /// when given); returns the statement as JSON.
    pub async fn add_permission(
        &self,
        function_name: &str,
        qualifier: &str,
        request: &PermissionRequest,
    ) -> Result<String> {
        let (name, qualifier) = self.targets.policy_target(function_name, qualifier)?;
        let resource = self
            .naming
            .function_arn(&name, (!qualifier.is_empty()).then_some(qualifier.as_str()));
        let statement = Statement::from_request(request, &resource)?;
        let json = serde_json::to_string(&statement).unwrap_or_default();
        let _lock = self.write_lock.lock().await;
        let mut policy = self.stored_policy(&name, &qualifier)?.unwrap_or_default();
        policy.add(statement)?;
        self.store
            .set_policy(&name, &qualifier, Some(&policy.to_json()))?;
        self.cache.clear();
        self.store.flush_async().await?;
        tracing::info!(function = %name, qualifier, sid = %request.statement_id, principal = %request.principal, "added permission");
        Ok(json)
    }

    /// Removes statement `statement_id`.
    pub async fn remove_permission(
        &self,
        function_name: &str,
        qualifier: &str,
        statement_id: &str,
    ) -> Result<()> {
        let (name, qualifier) = self.targets.policy_target(function_name, qualifier)?;
        let _lock = self.write_lock.lock().await;
        let mut policy = self
            .stored_policy(&name, &qualifier)?
            .ok_or_else(no_policy)?;
        policy.remove(statement_id)?;
        let document = policy.to_json();
        let kept = (!policy.statement.is_empty()).then_some(document.as_str());
        self.store.set_policy(&name, &qualifier, kept)?;
        self.cache.clear();
        self.store.flush_async().await?;
        tracing::info!(function = %name, qualifier, sid = statement_id, "removed permission");
        Ok(())
    }

    /// The policy document and the function's `RevisionId`.
    pub fn get_policy(&self, function_name: &str, qualifier: &str) -> Result<(String, String)> {
        let (name, qualifier) = self.targets.policy_target(function_name, qualifier)?;
        let revision_id = self.targets.revision_id(&name, &qualifier)?;
        let policy = self.store.get_policy(&name, &qualifier)?.ok_or_else(|| {
            Error::ResourceNotFound("The resource you requested does not exist.".into())
        })?;
        Ok((policy, revision_id))
    }

    /// Whether `caller` may invoke `function_name` as a trigger names it
    /// (an unqualified name checks the function's policy; a version or an
    /// alias checks that one's).
    pub fn allows(&self, function_name: &str, qualifier: &str, caller: Caller<'_>) -> Result<bool> {
        let owner = self
            .naming
            .account_of(&self.naming.parse_function(function_name)?.name)
            .to_string();
        Ok(self
            .cached(function_name, qualifier)?
            .is_some_and(|policy| policy.allows(caller, &owner)))
    }

    /// Whether the policy of a function (`qualifier` empty) or alias lets
    /// anyone call its URL whose AuthType is `auth_type`.
    pub fn allows_url(&self, function: &str, qualifier: &str, auth_type: &str) -> Result<bool> {
        let policy = self.cached_at((function.to_string(), qualifier.to_string()))?;
        Ok(policy.is_some_and(|policy| policy.allows_url(auth_type)))
    }

    /// The policy of a function, version or alias, from the cache.
    fn cached(&self, function_name: &str, qualifier: &str) -> Result<Option<Arc<Policy>>> {
        self.cached_at(self.targets.policy_target(function_name, qualifier)?)
    }

    /// The policy of (function key, qualifier), from the cache.
    fn cached_at(&self, key: (String, String)) -> Result<Option<Arc<Policy>>> {
        Ok(match self.cache.get(&key) {
            (Some(policy), _) => policy,
            (None, generation) => {
                let policy = self.stored_policy(&key.0, &key.1)?.map(Arc::new);
                self.cache.insert(key, policy.clone(), generation);
                policy
            }
        })
    }

    fn stored_policy(&self, name: &str, qualifier: &str) -> Result<Option<Policy>> {
        self.store
            .get_policy(name, qualifier)?
            .map(|json| {
                serde_json::from_str(&json).map_err(|e| {
                    Error::Service(format!("the stored policy of {name} is corrupt: {e}"))
                })
            })
            .transpose()
    }
}

/// Every resource policy another account's caller may be let in by: a
/// function's (`AddPermission`) and a layer version's
/// (`AddLayerVersionPermission`).
pub struct ResourcePolicies {
    pub functions: Policies,
    pub layers: crate::layers::Layers,
}

impl crate::iam::ResourcePolicies for ResourcePolicies {
    fn allows_account(&self, account: &str, action: &str, resource: &str) -> bool {
        if resource.contains(":layer:") {
            return self.layers.allows_account(resource, account, action);
        }
        self.functions.allows_account(account, action, resource)
    }
}

impl Policies {
    /// Whether the function (or version or alias) `resource` (an ARN) has
    /// a statement letting `account` take `action`.
    fn allows_account(&self, account: &str, action: &str, resource: &str) -> bool {
        // Anything that is not a function has no policy here: refused.
        let Ok(function) = self.naming.parse_function(resource) else {
            return false;
        };
        let qualifier = function.qualifier.as_deref().unwrap_or_default();
        self.cached(&function.name, qualifier)
            .ok()
            .flatten()
            .is_some_and(|policy| policy.allows_account(account, action))
    }
}

fn no_policy() -> Error {
    Error::ResourceNotFound("No policy is associated with the given resource.".into())
}
