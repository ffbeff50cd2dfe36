//! Provisioned concurrency: for a published version or an alias, that many
//! execution environments are started ahead of time (their Init phase runs
//! then, so calls they serve report no Init Duration) and kept warm; calls
//! beyond them spill to on-demand environments. Configs are stored and
//! provisioned again when the server starts. Status goes `IN_PROGRESS` →
//! `READY` (or `FAILED`, with the reason).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Dispatcher;
use crate::error::{Error, Result};
use crate::function::LATEST;
use funnel_store::FunctionRecord;

/// Where each config is, by (function, qualifier).
#[derive(Clone, Default)]
pub(super) struct States {
    inner: Arc<Mutex<HashMap<(String, String), ProvisionedView>>>,
}

/// Lambda's `ProvisionedConcurrencyConfig` as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedView {
    pub requested: u32,
    /// Environments started so far.
    pub allocated: u32,
    /// `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: &'static str,
    pub status_reason: String,
    pub last_modified: String,
}

impl States {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), ProvisionedView>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Dispatcher {
    pub async fn put_provisioned_concurrency(
        &self,
        function_name: &str,
        qualifier: &str,
        count: i32,
    ) -> Result<ProvisionedView> {
        let (name, qualifier, record) = self.provisioned_target(function_name, qualifier)?;
        // One version's environments serve one config: a version and an
        // alias of it cannot both have one.
        for (other_name, other_qualifier, _) in self.store.provisioned()? {
            if other_name != name || other_qualifier == qualifier {
                continue;
            }
            if let Ok((_, _, other)) = self.provisioned_target(&other_name, &other_qualifier)
                && other.version == record.version
            {
                return Err(Error::ResourceConflict(format!(
                    "version {} of {name} already has provisioned concurrency through {name}:{other_qualifier}: \
                     delete that config first",
                    record.version
                )));
            }
        }
        let usage = self.gate.usage();
        let most = self.gate.reserved(&name).unwrap_or(
            usage
                .unreserved_limit
                .saturating_sub(crate::concurrency::MIN_UNRESERVED)
                .min(self.gate.share_limit())
                .max(1),
        );
        let count = u32::try_from(count)
            .ok()
            .filter(|n| (1..=most).contains(n))
            .ok_or_else(|| {
                Error::InvalidParameterValue(format!(
                    "ProvisionedConcurrentExecutions {count} is out of range: it must be between 1 and {most} \
                     (the function's reserved concurrency, or what the account leaves unreserved, \
                     at most its share of the instance slots, runtime.max_share)"
                ))
            })?;
        self.store.set_provisioned(&name, &qualifier, Some(count))?;
        self.store.flush_async().await?;
        let view = ProvisionedView {
            requested: count,
            allocated: 0,
            status: "IN_PROGRESS",
            status_reason: String::new(),
            last_modified: crate::function::now_lambda_format(),
        };
        self.provisioned
            .lock()
            .insert((name.clone(), qualifier.clone()), view.clone());
        let this = self.clone();
        tokio::spawn(async move { this.provision(name, qualifier, record, count).await });
        Ok(view)
    }

    pub fn get_provisioned_concurrency(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<ProvisionedView> {
        let target = self.functions.resolve(function_name, qualifier)?;
        let qualifier = target.qualifier.unwrap_or_default();
        let key = (target.name.clone(), qualifier.clone());
        let stored = self
            .store
            .provisioned()?
            .into_iter()
            .any(|(name, q, _)| name == key.0 && q == key.1);
        let mut states = self.provisioned.lock();
        if !stored {
            // Gone with its function or version.
            states.remove(&key);
        }
        states
            .get(&key)
            .cloned()
            .ok_or_else(|| not_found(&target.name, &qualifier))
    }

    pub async fn delete_provisioned_concurrency(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<()> {
        let target = self.functions.resolve(function_name, qualifier)?;
        let qualifier = target.qualifier.unwrap_or_default();
        let key = (target.name.clone(), qualifier.clone());
        if self.provisioned.lock().remove(&key).is_none() {
            return Err(not_found(&target.name, &qualifier));
        }
        self.store.set_provisioned(&target.name, &qualifier, None)?;
        self.store.flush_async().await?;
        if let Ok((_, _, record)) = self.provisioned_target(&target.name, &qualifier) {
            self.runtime
                .unprovision(&record.name, &record.version)
                .await;
        }
        Ok(())
    }

    /// Provisions every stored config again (at startup).
    pub fn provision_stored(&self) {
        let stored = match self.store.provisioned() {
            Ok(stored) => stored,
            Err(err) => {
                tracing::error!(cause = %err, "reading provisioned concurrency configs");
                return;
            }
        };
        for (name, qualifier, count) in stored {
            match self.provisioned_target(&name, &qualifier) {
                Ok((name, qualifier, record)) => {
                    self.provisioned.lock().insert(
                        (name.clone(), qualifier.clone()),
                        ProvisionedView {
                            requested: count,
                            allocated: 0,
                            status: "IN_PROGRESS",
                            status_reason: String::new(),
                            last_modified: crate::function::now_lambda_format(),
                        },
                    );
                    let this = self.clone();
                    tokio::spawn(
                        async move { this.provision(name, qualifier, record, count).await },
                    );
                }
                Err(err) => {
                    tracing::warn!(function = %name, qualifier, cause = %err, "provisioned concurrency config no longer applies")
                }
            }
        }
    }

    async fn provision(&self, name: String, qualifier: String, record: FunctionRecord, count: u32) {
        let result = match self.functions.prepared(&record).await {
            Ok(prepared) => self
                .runtime
                .provision(&prepared, self.environment_config(&record), count as usize)
                .await
                .map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        let group = crate::logs::log_group(&record.name);
        let mut states = self.provisioned.lock();
        let Some(state) = states.get_mut(&(name.clone(), qualifier.clone())) else {
            return;
        };
        match result {
            Ok(started) => {
                for (stream, output) in &started {
                    if !output.is_empty() {
                        self.logs.record(&group, stream, output);
                    }
                }
                state.allocated = count;
                state.status = "READY";
                tracing::info!(function = %name, qualifier, count, "provisioned concurrency ready");
            }
            Err(why) => {
                state.status = "FAILED";
                state.status_reason = why.clone();
                tracing::error!(function = %name, qualifier, cause = %why, "provisioned concurrency failed");
            }
        }
    }

    /// A published version or an alias (of a published version), and the
    /// version record its environments run.
    fn provisioned_target(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<(String, String, FunctionRecord)> {
        let target = self.functions.resolve(function_name, qualifier)?;
        let qualifier = match target.qualifier.as_deref() {
            None | Some(LATEST) => {
                return Err(Error::InvalidParameterValue(
                    "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
                        .into(),
                ));
            }
            Some(q) => q.to_string(),
        };
        let version = if qualifier.bytes().all(|b| b.is_ascii_digit()) {
            qualifier.clone()
        } else {
            let alias = self.functions.get_alias(&target.name, &qualifier)?;
            if alias.function_version == LATEST {
                return Err(Error::InvalidParameterValue(format!(
                    "Alias {qualifier} points to $LATEST: provisioned concurrency needs a published version"
                )));
            }
            alias.function_version
        };
        let number: u32 = version
            .parse()
            .map_err(|_| self.functions.not_found(&target))?;
        let record = self
            .store
            .get_version(&target.name, number)?
            .ok_or_else(|| self.functions.not_found(&target))?;
        Ok((target.name, qualifier, record))
    }

    /// Provisioned environments of `function_name`'s version not serving a
    /// call now.
    pub fn provisioned_idle(&self, function_name: &str, version: &str) -> usize {
        self.runtime.provisioned_idle(function_name, version)
    }
}

fn not_found(name: &str, qualifier: &str) -> Error {
    Error::ProvisionedConcurrencyConfigNotFound(format!(
        "No Provisioned Concurrency Config found for this function: {name}:{qualifier}"
    ))
}
