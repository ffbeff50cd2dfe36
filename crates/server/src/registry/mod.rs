//! The function registry: function records and their lifecycle (create,
//! read, list, update, delete), published versions ([`versions`]), aliases
//! and their weighted routing ([`aliases`]), reserved concurrency
//! ([`reserved`]), and how a name and qualifier resolve to a record. Validates every input (Lambda's rules and error names), keeps
//! the store and the runtime's prepared code in step, and flushes before it
//! answers. It does not run functions: that is `dispatch`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};

mod aliases;
mod reserved;
mod versions;

pub use aliases::AliasChange;

use crate::error::{Error, Result};
use crate::function::{self, FunctionRef, LATEST, Naming, now_lambda_format};
use crate::grants::{self, Proposed};
use crate::layers::Layers;
use crate::policies::PolicyCache;
use funnel_runtime::{CodeError, Prepared, Runtime};
use funnel_store::{FunctionRecord, Store, StoreError};

/// The most a ListFunctions page holds, as Lambda.
pub const MAX_PAGE: usize = 50;

/// A function to create, as the caller gave it.
#[derive(Debug, Default)]
pub struct NewFunction {
    pub name: String,
    pub code: Vec<u8>,
    pub description: String,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub ephemeral_storage: Option<i32>,
    pub environment: BTreeMap<String, String>,
    /// Layer version ARNs, in order.
    pub layers: Vec<String>,
    /// Bucket name → `read` or `read-write`.
    pub bucket_access: BTreeMap<String, String>,
    /// Topics the guest may publish to: names or ARNs of this server.
    pub topic_access: Vec<String>,
    /// Secrets and parameters the guest may read (names, prefixes).
    pub secret_access: Vec<String>,
    /// Lambda's `Runtime` and `Handler` (recorded; the code is built).
    pub runtime: String,
    pub handler: String,
}

/// Configuration fields to change; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct ConfigChanges {
    pub description: Option<String>,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub ephemeral_storage: Option<i32>,
    pub environment: Option<BTreeMap<String, String>>,
    /// Replaces the layer list (an empty list removes every layer).
    pub layers: Option<Vec<String>>,
    /// Replaces the bucket grants (an empty map removes every grant).
    pub bucket_access: Option<BTreeMap<String, String>>,
    /// Replaces the topic grants (an empty list removes every grant).
    pub topic_access: Option<Vec<String>>,
    /// Replaces the secret grants (an empty list removes every grant).
    pub secret_access: Option<Vec<String>>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    /// Change only if the function's RevisionId is still this one.
    pub revision_id: Option<String>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    runtime: Runtime,
    naming: Arc<Naming>,
    /// The largest MemorySize this server's instance pool can hold.
    max_memory_mb: u32,
    /// Records read recently, so invocations skip the store.
    records: Arc<RecordCache>,
    /// Resource policies as read, by (function, qualifier): cleared here
    /// whenever a record a policy belongs to is deleted.
    policies: PolicyCache,
    /// Held while code blobs are stored or released together with the
    /// records that use them, so a delete cannot release code that a
    /// concurrent create is about to use.
    code_lock: Arc<tokio::sync::Mutex<()>>,
    /// The layer versions a function's layer list names, and their `/opt`.
    layers: Layers,
    /// The account's concurrency gate.
    gate: crate::concurrency::Gate,
}

impl Registry {
    pub fn new(
        store: Store,
        runtime: Runtime,
        max_memory_mb: u32,
        layers: Layers,
        gate: crate::concurrency::Gate,
    ) -> Self {
        Registry {
            gate,
            naming: layers.naming().clone(),
            code_lock: layers.code_lock().clone(),
            layers,
            store,
            runtime,
            max_memory_mb,
            records: Arc::default(),
            policies: PolicyCache::default(),
        }
    }

    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// How many functions there are.
    /// How many functions `owns` (keys of one account).
    pub fn count(&self, owns: impl Fn(&str) -> bool) -> Result<usize> {
        Ok(self
            .store
            .all_functions()?
            .iter()
            .filter(|f| owns(&f.name))
            .count())
    }

    /// The account's concurrency gate (reserved concurrency is set here).
    pub fn gate(&self) -> &crate::concurrency::Gate {
        &self.gate
    }

    /// The layers service (a function's `/opt` is built from it).
    pub fn layers(&self) -> &Layers {
        &self.layers
    }

    /// The cache the policies service reads (this registry clears it).
    pub fn policy_cache(&self) -> PolicyCache {
        self.policies.clone()
    }

    /// The lock held while code and policies change with the records that
    /// use them.
    pub fn code_lock(&self) -> &Arc<tokio::sync::Mutex<()>> {
        &self.code_lock
    }

    /// Base64 SHA-256, as Lambda reports `CodeSha256`.
    pub fn code_sha256_base64(record: &FunctionRecord) -> String {
        hex::decode(&record.code_sha256)
            .map(|raw| base64::engine::general_purpose::STANDARD.encode(raw))
            .unwrap_or_default()
    }

    pub async fn create(&self, new: NewFunction) -> Result<FunctionRecord> {
        // The key: the name, in its account.
        function::validate_name(crate::tenancy::name(&new.name))?;
        function::validate_description(&new.description)?;
        function::validate_environment(&new.environment)?;
        function::validate_runtime(&new.runtime, &new.handler)?;
        grants::check_bucket_access(&self.store, &self.naming, &new.name, &new.bucket_access)?;
        let topic_access = grants::topic_access(&self.naming, &new.name, &new.topic_access)?;
        let secret_access = crate::secret_access::validate(&new.secret_access)?;
        if let Some(cycle) = grants::find_trigger_loop(
            &self.store,
            &self.naming,
            Proposed::Grants(&new.name, &new.bucket_access),
        )? {
            return Err(trigger_loop(&cycle));
        }
        let memory_size = new
            .memory_size
            .map(|mb| self.validate_memory(mb))
            .transpose()?
            .unwrap_or(function::DEFAULT_MEMORY_MB);
        let timeout = new
            .timeout
            .map(function::validate_timeout)
            .transpose()?
            .unwrap_or(function::DEFAULT_TIMEOUT_S);
        let ephemeral_storage = new
            .ephemeral_storage
            .map(function::validate_ephemeral_storage)
            .transpose()?
            .unwrap_or(function::DEFAULT_EPHEMERAL_STORAGE_MB);
        if self.store.get_function(&new.name)?.is_some() {
            return Err(already_exists(&new.name));
        }
        let code_size = new.code.len() as u64;
        let layers = self
            .layers
            .resolve(&new.layers, self.naming.account_of(&new.name))?;
        crate::layers::check_total_size(code_size, &layers)?;
        let (code_sha256, code) = self.prepare_new_code(new.code).await?;
        let _code = self.code_lock.lock().await;
        self.store.put_code(&code_sha256, &code)?;
        let record = FunctionRecord {
            name: new.name,
            description: new.description,
            memory_size,
            timeout,
            ephemeral_storage,
            environment: new.environment,
            code_sha256,
            code_size,
            last_modified: now_lambda_format(),
            version: LATEST.into(),
            last_version: 0,
            revision_id: funnel_store::new_revision_id(),
            layers,
            bucket_access: new.bucket_access,
            topic_access,
            secret_access,
            runtime: new.runtime,
            handler: new.handler,
        };
        self.layers.prepare(&record.layers).await?;
        let created = self.store.create_function(&record);
        self.records.invalidate(&record.name);
        match created {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(name)) => {
                self.release_code(&record.code_sha256)?;
                return Err(already_exists(&name));
            }
            Err(err) => return Err(err.into()),
        }
        self.store.flush_async().await?;
        tracing::info!(function = %record.name, code_sha256 = %record.code_sha256, "created function");
        Ok(record)
    }

    /// The function a caller named (a name or an ARN, and a qualifier).
    pub fn get(&self, function_name: &str, qualifier: &str) -> Result<FunctionRecord> {
        self.lookup(function_name, qualifier)
            .map(|(_, record)| FunctionRecord::clone(&record))
    }

    /// The function a caller named, and how it was named (the qualifier).
    /// Served from memory after the first read; every write of a record
    /// invalidates its entry.
    pub fn lookup(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<(FunctionRef, Arc<FunctionRecord>)> {
        let target = self.resolve(function_name, qualifier)?;
        let routed;
        let version = match target.qualifier.as_deref() {
            None => LATEST,
            Some(q) if q == LATEST || q.bytes().all(|b| b.is_ascii_digit()) => q,
            Some(alias) => {
                routed = self.route(&target, alias, random_draw())?;
                routed.as_str()
            }
        };
        if let Some(record) = self.records.get(&target.name, version) {
            return Ok((target, record));
        }
        let generation = self.records.generation();
        let found = match version {
            LATEST => self.store.get_function(&target.name)?,
            number => match number.parse::<u32>() {
                Ok(number) => self.store.get_version(&target.name, number)?,
                Err(_) => None,
            },
        };
        match found {
            Some(record) => {
                let record = Arc::new(record);
                self.records
                    .insert(&target.name, version, record.clone(), generation);
                Ok((target, record))
            }
            None => Err(self.not_found(&target)),
        }
    }

    /// One page of functions in name order, and the marker of the next.
    /// A page of the functions `owns` (keys of one account), in key order.
    pub fn list(
        &self,
        marker: &str,
        max_items: Option<i32>,
        owns: impl Fn(&str) -> bool,
    ) -> Result<(Vec<FunctionRecord>, Option<String>)> {
        const BATCH: usize = 256;
        let limit = crate::function::page_size(max_items, MAX_PAGE)?;
        let mut after = (!marker.is_empty()).then(|| marker.to_string());
        // One extra tells whether there is a next page.
        let mut page = Vec::new();
        loop {
            let batch = self.store.list_functions(after.as_deref(), BATCH)?;
            let done = batch.len() < BATCH;
            after = batch.last().map(|f| f.name.clone());
            page.extend(batch.into_iter().filter(|f| owns(&f.name)));
            if done || page.len() > limit {
                break;
            }
        }
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|f| f.name.clone())
        } else {
            None
        };
        Ok((page, next))
    }

    /// Replaces `$LATEST`'s code; with `revision_id`, only if the function
    /// is still at that revision.
    pub async fn update_code(
        &self,
        function_name: &str,
        code: Vec<u8>,
        revision_id: Option<&str>,
    ) -> Result<FunctionRecord> {
        let target = self.resolve(function_name, "")?;
        let Some(current) = self.store.get_function(&target.name)? else {
            return Err(self.not_found(&target));
        };
        let code_size = code.len() as u64;
        crate::layers::check_total_size(code_size, &current.layers)?;
        let (code_sha256, code) = self.prepare_new_code(code).await?;
        let _code = self.code_lock.lock().await;
        self.store.put_code(&code_sha256, &code)?;
        let (old, new) = self
            .store
            .update_function(&target.name, revision_id, |record| {
                record.code_sha256 = code_sha256.clone();
                record.code_size = code_size;
                record.last_modified = now_lambda_format();
            })
            .map_err(|err| self.store_error(err, &target))?;
        self.records.invalidate(&target.name);
        if old.code_sha256 != new.code_sha256 {
            self.release_code(&old.code_sha256)?;
        }
        self.store.flush_async().await?;
        drop(_code);
        self.runtime.retire_function(&new.name, Some(LATEST)).await;
        tracing::info!(function = %new.name, code_sha256 = %new.code_sha256, "updated function code");
        Ok(new)
    }

    pub async fn update_configuration(
        &self,
        function_name: &str,
        changes: ConfigChanges,
    ) -> Result<FunctionRecord> {
        let target = self.resolve(function_name, "")?;
        if let Some(description) = &changes.description {
            function::validate_description(description)?;
        }
        if let Some(environment) = &changes.environment {
            function::validate_environment(environment)?;
        }
        if changes.runtime.is_some() || changes.handler.is_some() {
            function::validate_runtime(
                changes.runtime.as_deref().unwrap_or_default(),
                changes.handler.as_deref().unwrap_or_default(),
            )?;
        }
        let topic_access = changes
            .topic_access
            .as_deref()
            .map(|topics| grants::topic_access(&self.naming, &target.name, topics))
            .transpose()?;
        let secret_access = changes
            .secret_access
            .as_deref()
            .map(crate::secret_access::validate)
            .transpose()?;
        if let Some(access) = &changes.bucket_access {
            grants::check_bucket_access(&self.store, &self.naming, &target.name, access)?;
            if let Some(cycle) = grants::find_trigger_loop(
                &self.store,
                &self.naming,
                Proposed::Grants(&target.name, access),
            )? {
                return Err(trigger_loop(&cycle));
            }
        }
        let memory_size = changes
            .memory_size
            .map(|mb| self.validate_memory(mb))
            .transpose()?;
        let timeout = changes
            .timeout
            .map(function::validate_timeout)
            .transpose()?;
        let ephemeral_storage = changes
            .ephemeral_storage
            .map(function::validate_ephemeral_storage)
            .transpose()?;
        let layers = changes
            .layers
            .as_deref()
            .map(|arns| {
                self.layers
                    .resolve(arns, self.naming.account_of(&target.name))
            })
            .transpose()?;
        if let Some(layers) = &layers {
            let current = self
                .store
                .get_function(&target.name)?
                .ok_or_else(|| self.not_found(&target))?;
            crate::layers::check_total_size(current.code_size, layers)?;
            self.layers.prepare(layers).await?;
        }
        let _code = self.code_lock.lock().await;
        let (old, new) = self
            .store
            .update_function(&target.name, changes.revision_id.as_deref(), |record| {
                if let Some(description) = &changes.description {
                    record.description = description.clone();
                }
                if let Some(environment) = &changes.environment {
                    record.environment = environment.clone();
                }
                if let Some(memory_size) = memory_size {
                    record.memory_size = memory_size;
                }
                if let Some(timeout) = timeout {
                    record.timeout = timeout;
                }
                if let Some(ephemeral_storage) = ephemeral_storage {
                    record.ephemeral_storage = ephemeral_storage;
                }
                if let Some(layers) = &layers {
                    record.layers = layers.clone();
                }
                if let Some(access) = &changes.bucket_access {
                    record.bucket_access = access.clone();
                }
                if let Some(topics) = &topic_access {
                    record.topic_access = topics.clone();
                }
                if let Some(secrets) = &secret_access {
                    record.secret_access = secrets.clone();
                }
                if let Some(runtime) = &changes.runtime {
                    record.runtime = runtime.clone();
                }
                if let Some(handler) = &changes.handler {
                    record.handler = handler.clone();
                }
                record.last_modified = now_lambda_format();
            })
            .map_err(|err| self.store_error(err, &target))?;
        self.records.invalidate(&target.name);
        self.layers.release(&old.layers, &new.layers)?;
        self.store.flush_async().await?;
        drop(_code);
        self.runtime.retire_function(&new.name, Some(LATEST)).await;
        tracing::info!(function = %new.name, "updated function configuration");
        Ok(new)
    }

    /// Restarts the function's execution environments (every version's):
    /// the next calls start afresh and read its secrets anew. Returns how
    /// many idle environments were retired at once.
    pub async fn restart_environments(&self, function_name: &str) -> Result<usize> {
        let target = self.resolve(function_name, "")?;
        if self.store.get_function(&target.name)?.is_none() {
            return Err(self.not_found(&target));
        }
        let retired = self.runtime.restart_function(&target.name).await;
        tracing::info!(function = %target.name, retired, "restarted environments");
        Ok(retired)
    }

    /// Deletes the function with all its versions, or (with a version
    /// qualifier) one published version.
    pub async fn delete(&self, function_name: &str, qualifier: &str) -> Result<()> {
        let target = self.resolve(function_name, qualifier)?;
        match target.qualifier.as_deref() {
            Some(LATEST) => Err(Error::InvalidParameterValue(
                "$LATEST version cannot be deleted without deleting the function.".into(),
            )),
            Some(version) if version.bytes().all(|b| b.is_ascii_digit()) => {
                self.delete_version(&target, version).await
            }
            Some(alias) => Err(Error::InvalidParameterValue(format!(
                "Qualifier {alias} is an alias: delete it with DeleteAlias"
            ))),
            None => {
                let _code = self.code_lock.lock().await;
                let record = self
                    .store
                    .delete_function(&target.name)
                    .map_err(|err| self.store_error(err, &target))?;
                self.store.delete_event_invoke_config(&target.name, None)?;
                self.store.set_reserved_concurrency(&target.name, None)?;
                self.store.delete_policies(&target.name)?;
                self.store.delete_function_urls(&target.name)?;
                self.policies.clear();
                for (name, qualifier, _) in self.store.provisioned()? {
                    if name == target.name {
                        self.store.set_provisioned(&name, &qualifier, None)?;
                    }
                }
                let _ = self.gate.set_reserved(&target.name, None);
                for alias in self.store.aliases(&target.name)? {
                    self.store.delete_alias(&target.name, &alias.name)?;
                }
                let versions = self.store.versions(&target.name)?;
                for version in &versions {
                    self.store
                        .delete_version(&target.name, version.version.parse().unwrap_or(0))?;
                }
                self.records.invalidate(&target.name);
                self.release_code(&record.code_sha256)?;
                self.layers.release(&record.layers, &[])?;
                for version in &versions {
                    self.release_code(&version.code_sha256)?;
                    self.layers.release(&version.layers, &[])?;
                }
                self.store.flush_async().await?;
                drop(_code);
                self.runtime.retire_function(&record.name, None).await;
                tracing::info!(function = %record.name, versions = versions.len(), "deleted function");
                Ok(())
            }
        }
    }

    /// The prepared code of `record`, loading (from the compiled-code cache
    /// or by compiling) on first use.
    pub async fn prepared(&self, record: &FunctionRecord) -> Result<Arc<Prepared>> {
        if let Some(prepared) = self.runtime.prepared(&record.code_sha256) {
            return Ok(prepared);
        }
        let (runtime, store, sha) = (
            self.runtime.clone(),
            self.store.clone(),
            record.code_sha256.clone(),
        );
        let loaded = tokio::task::spawn_blocking(move || {
            runtime.prepare(&sha, || {
                store
                    .get_code(&sha)
                    .map_err(|e| CodeError::Internal(e.to_string()))?
                    .map(Cow::Owned)
                    .ok_or_else(|| {
                        CodeError::Internal(format!("code {sha} is missing from the store"))
                    })
            })
        })
        .await
        .map_err(|e| Error::Service(format!("loading code: {e}")))?;
        loaded.map_err(|err| {
            Error::Service(format!("function {} cannot be loaded: {err}", record.name))
        })
    }

    /// Loads every function's code (from the compiled-code cache when it
    /// is there), so the first invocations do not pay for it. A function
    /// whose code cannot be loaded is logged and left for its invocations
    /// to report.
    pub async fn load_all(&self) -> Result<usize> {
        for (name, reserved) in self.store.reserved_concurrency()? {
            if let Err(why) = self.gate.set_reserved(&name, Some(reserved)) {
                tracing::error!(function = %name, reserved, cause = %why, "reserved concurrency no longer fits the account limit; ignored");
            }
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.layers.prepare_all())
            .await
            .map_err(|e| Error::Service(format!("preparing layers: {e}")))??;
        let records = self.store.all_functions()?;
        for record in &records {
            if let Err(err) = self.prepared(record).await {
                tracing::error!(function = %record.name, cause = %err, "could not load function code");
            }
        }
        Ok(records.len())
    }

    /// Resolves a name or ARN and qualifier (`$LATEST` or a version number;
    /// whether that version exists is for the caller to find out).
    pub fn resolve(&self, function_name: &str, qualifier: &str) -> Result<FunctionRef> {
        let mut target = self.naming.parse_function(function_name)?;
        if !qualifier.is_empty() {
            if target.qualifier.as_deref().is_some_and(|q| q != qualifier) {
                return Err(Error::InvalidParameterValue(format!(
                    "The derived qualifier from the function name does not match the specified qualifier ({qualifier})"
                )));
            }
            target.qualifier = Some(qualifier.to_string());
        }
        match target.qualifier.as_deref() {
            None | Some(LATEST) => Ok(target),
            Some(q) if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) => Ok(target),
            Some(alias) if aliases::validate_alias_name(alias).is_ok() => Ok(target),
            Some(_) => Err(self.not_found(&target)),
        }
    }

    /// Lambda's range, and what this server's instance pool can hold.
    fn validate_memory(&self, mb: i32) -> Result<u32> {
        let mb = function::validate_memory(mb)?;
        if mb > self.max_memory_mb {
            return Err(Error::InvalidParameterValue(format!(
                "MemorySize {mb} exceeds this server's maximum of {} MB (runtime.max_memory_mb)",
                self.max_memory_mb
            )));
        }
        Ok(mb)
    }

    pub(crate) fn not_found(&self, target: &FunctionRef) -> Error {
        Error::ResourceNotFound(format!(
            "Function not found: {}",
            self.naming
                .function_arn(&target.name, target.qualifier.as_deref())
        ))
    }

    pub(crate) fn store_error(&self, err: StoreError, target: &FunctionRef) -> Error {
        match err {
            StoreError::NotFound(_) => self.not_found(target),
            StoreError::StaleRevision { .. } => stale_revision("GetFunction"),
            other => other.into(),
        }
    }

    /// Checks and compiles `code` (caching its compiled form); returns its
    /// hex SHA-256. The caller stores the bytes once it commits to them.
    async fn prepare_new_code(&self, code: Vec<u8>) -> Result<(String, Vec<u8>)> {
        let sha = hex::encode(Sha256::digest(&code));
        if self.runtime.prepared(&sha).is_some() {
            return Ok((sha, code));
        }
        let runtime = self.runtime.clone();
        tokio::task::spawn_blocking(move || {
            let prepared = runtime.prepare(&sha, || Ok(Cow::Borrowed(&code)));
            prepared.map(|_| (sha, code))
        })
        .await
        .map_err(|e| Error::Service(format!("preparing code: {e}")))?
        .map_err(|err| match err {
            CodeError::Invalid(why) => Error::InvalidParameterValue(why),
            CodeError::Internal(why) => Error::Service(why),
        })
    }

    /// Drops code that no function uses any more. Call with `code_lock` held.
    pub(crate) fn release_code(&self, sha256: &str) -> Result<()> {
        if self.store.remove_code_if_unused(sha256)? {
            self.runtime.forget(sha256);
        }
        Ok(())
    }
}

/// Function records by name. A read that raced with a write must not put
/// the old record back: entries are only inserted if no invalidation
/// happened since the read began.
/// A uniform draw in [0, 1) for weighted alias routing (from the OS's
/// randomness, through uuid, which the server already uses). The low 53
/// bits of a v4 UUID are all random (its version and variant bits are
/// higher up).
fn random_draw() -> f64 {
    const BITS: u32 = 53;
    let random = uuid::Uuid::new_v4().as_u128() as u64 & ((1u64 << BITS) - 1);
    random as f64 / (1u64 << BITS) as f64
}

/// The invalidation generation, and records by (name, version).
type CachedRecords = (u64, HashMap<(String, String), Arc<FunctionRecord>>);

#[derive(Default)]
pub(crate) struct RecordCache {
    inner: std::sync::Mutex<CachedRecords>,
}

impl RecordCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CachedRecords> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, name: &str, version: &str) -> Option<Arc<FunctionRecord>> {
        self.lock()
            .1
            .get(&(name.to_string(), version.to_string()))
            .cloned()
    }

    fn generation(&self) -> u64 {
        self.lock().0
    }

    fn insert(&self, name: &str, version: &str, record: Arc<FunctionRecord>, read_at: u64) {
        let mut inner = self.lock();
        if inner.0 == read_at {
            inner
                .1
                .insert((name.to_string(), version.to_string()), record);
        }
    }

    /// Forgets every version of `name`.
    pub(crate) fn invalidate(&self, name: &str) {
        let mut inner = self.lock();
        inner.0 += 1;
        inner.1.retain(|(cached, _), _| cached != name);
    }
}

/// Lambda's answer to an update that names an old RevisionId.
pub(crate) fn stale_revision(read_with: &str) -> Error {
    Error::PreconditionFailed(format!(
        "The Revision Id provided does not match the latest Revision Id. \
         Call the {read_with} API to retrieve the latest Revision Id"
    ))
}

fn already_exists(name: &str) -> Error {
    Error::ResourceConflict(format!(
        "Function already exist: {}",
        crate::tenancy::name(name)
    ))
}

/// Lambda's `LastModified` format: `2026-11-26T17:40:32.123+0000`.
fn trigger_loop(cycle: &str) -> Error {
    Error::InvalidParameterValue(format!(
        "this bucket access would make a trigger loop ({cycle}): the function's writes would invoke \
         it again forever; let it write to another bucket"
    ))
}

impl crate::policies::Targets for Registry {
    /// The function (which must exist) and qualifier a policy belongs to;
    /// `$LATEST` is the unqualified function's.
    fn policy_target(&self, function_name: &str, qualifier: &str) -> Result<(String, String)> {
        let target = self.resolve(function_name, qualifier)?;
        let qualifier = match target.qualifier.as_deref() {
            None | Some(crate::function::LATEST) => String::new(),
            Some(q) => q.to_string(),
        };
        // The function, and the version or alias named, must exist. By
        // ARN: a key of another account (`<account>:<name>`) would read as
        // a name and a qualifier.
        self.lookup(&self.naming.function_arn(&target.name, None), &qualifier)?;
        Ok((target.name, qualifier))
    }

    fn revision_id(&self, name: &str, qualifier: &str) -> Result<String> {
        Ok(self.get(name, qualifier)?.revision_id)
    }
}
