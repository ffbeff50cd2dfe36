//! `AddPermission`, `RemovePermission` and `GetPolicy`: the resource policy
//! of a function, or of one version or alias (see [`crate::policy`]), and the
//! check every trigger makes before it invokes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::functions::Functions;
use crate::policy::{Caller, PermissionRequest, Policy, Statement};

type PolicyKey = (String, String);

/// Parsed policies by (function, qualifier); `None` for "no policy".
#[derive(Clone, Default)]
pub struct PolicyCache {
    inner: Arc<Mutex<Cached>>,
}

#[derive(Default)]
struct Cached {
    policies: HashMap<PolicyKey, Option<Arc<Policy>>>,
    /// Bumped by every clear: a read that started before one is not kept.
    generation: u64,
}

impl PolicyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets everything (a policy was written or removed).
    pub fn clear(&self) {
        let mut cached = self.lock();
        cached.policies.clear();
        cached.generation += 1;
    }

    fn get(&self, key: &PolicyKey) -> (Option<Option<Arc<Policy>>>, u64) {
        let cached = self.lock();
        (cached.policies.get(key).cloned(), cached.generation)
    }

    fn insert(&self, key: PolicyKey, policy: Option<Arc<Policy>>, read_at: u64) {
        let mut cached = self.lock();
        if cached.generation == read_at {
            cached.policies.insert(key, policy);
        }
    }
}

impl Functions {
    /// Adds a statement to the policy of `function_name` (and `qualifier`,
    /// when given); returns the statement as JSON.
    pub async fn add_permission(
        &self,
        function_name: &str,
        qualifier: &str,
        request: &PermissionRequest,
    ) -> Result<String> {
        let (name, qualifier) = self.policy_target(function_name, qualifier)?;
        let resource = self
            .naming()
            .function_arn(&name, (!qualifier.is_empty()).then_some(qualifier.as_str()));
        let statement = Statement::from_request(request, &resource)?;
        let json = serde_json::to_string(&statement).unwrap_or_default();
        let _lock = self.code_lock.lock().await;
        let mut policy = self.stored_policy(&name, &qualifier)?.unwrap_or_default();
        policy.add(statement)?;
        self.store
            .set_policy(&name, &qualifier, Some(&policy.to_json()))?;
        self.policies.clear();
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
        let (name, qualifier) = self.policy_target(function_name, qualifier)?;
        let _lock = self.code_lock.lock().await;
        let mut policy = self
            .stored_policy(&name, &qualifier)?
            .ok_or_else(no_policy)?;
        policy.remove(statement_id)?;
        let document = policy.to_json();
        let kept = (!policy.statement.is_empty()).then_some(document.as_str());
        self.store.set_policy(&name, &qualifier, kept)?;
        self.policies.clear();
        self.store.flush_async().await?;
        tracing::info!(function = %name, qualifier, sid = statement_id, "removed permission");
        Ok(())
    }

    /// The policy document and the function's `RevisionId`.
    pub fn get_policy(&self, function_name: &str, qualifier: &str) -> Result<(String, String)> {
        let (name, qualifier) = self.policy_target(function_name, qualifier)?;
        let record = self.get(&name, &qualifier)?;
        let policy = self.store.get_policy(&name, &qualifier)?.ok_or_else(|| {
            Error::ResourceNotFound("The resource you requested does not exist.".into())
        })?;
        Ok((policy, record.revision_id))
    }

    /// Whether `caller` may invoke `function_name` as a trigger names it
    /// (an unqualified name checks the function's policy; a version or an
    /// alias checks that one's).
    pub fn allows(&self, function_name: &str, qualifier: &str, caller: Caller<'_>) -> Result<bool> {
        let (name, qualifier) = self.policy_target(function_name, qualifier)?;
        let key = (name, qualifier);
        let policy = match self.policies.get(&key) {
            (Some(policy), _) => policy,
            (None, generation) => {
                let policy = self.stored_policy(&key.0, &key.1)?.map(Arc::new);
                self.policies.insert(key, policy.clone(), generation);
                policy
            }
        };
        Ok(policy.is_some_and(|policy| policy.allows(caller)))
    }

    /// The function (which must exist) and qualifier a policy belongs to;
    /// `$LATEST` is the unqualified function's.
    fn policy_target(&self, function_name: &str, qualifier: &str) -> Result<(String, String)> {
        let target = self.resolve(function_name, qualifier)?;
        let qualifier = match target.qualifier.as_deref() {
            None | Some(crate::function::LATEST) => String::new(),
            Some(q) => q.to_string(),
        };
        // The function, and the version or alias named, must exist.
        self.lookup(&target.name, &qualifier)?;
        Ok((target.name, qualifier))
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

fn no_policy() -> Error {
    Error::ResourceNotFound("No policy is associated with the given resource.".into())
}
