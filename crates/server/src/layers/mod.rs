//! Layers, as Lambda has them: zip archives published as immutable,
//! numbered layer versions, listed (up to 5, in order) in a function's
//! configuration and seen by its guest merged read-only at `/opt`.
//!
//! Publishing checks and unpacks an archive once ([`archive`]), keyed by its
//! SHA-256; [`views`] builds the merged `/opt` of a layer list from hard
//! links. A function keeps what it needs of each layer (its archive's hash
//! and sizes), so deleting a layer version never breaks a function that
//! uses it: the archive stays until nothing refers to it.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

pub(crate) mod archive;
mod permissions;
pub use permissions::LayerPermission;
mod views;

pub use archive::{ArchiveError, MAX_UNZIPPED_BYTES};
pub use views::LayerViews;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::function::{Naming, now_lambda_format};
use funnel_store::{LayerRef, LayerVersionRecord, Store, StoreError};

/// The most layers a function may list, as Lambda.
pub const MAX_LAYERS: usize = 5;
/// The most a ListLayers / ListLayerVersions page holds, as Lambda.
pub const MAX_PAGE: usize = 50;
const MAX_COMPATIBLE_RUNTIMES: usize = 15;
const MAX_LICENSE_CHARS: usize = 512;
const MAX_LAYER_NAME: usize = 140;

/// A layer version to publish, as the caller gave it.
#[derive(Debug, Default)]
pub struct NewLayerVersion {
    /// A name or the layer's ARN.
    pub layer_name: String,
    pub zip: Vec<u8>,
    pub description: String,
    pub compatible_runtimes: Vec<String>,
    pub license_info: String,
}

/// `[a-zA-Z0-9-_]{1,140}`, as Lambda's LayerName.
pub fn validate_layer_name(name: &str) -> Result<()> {
    let ok = (1..=MAX_LAYER_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameterValue(format!(
            "LayerName {name:?} is invalid: it must be 1 to {MAX_LAYER_NAME} letters, digits, '-' and '_', or a layer ARN"
        )))
    }
}

/// Lambda's limit on a function's code and its layers together, unzipped.
pub fn check_total_size(code_size: u64, layers: &[LayerRef]) -> Result<()> {
    let total = code_size + layers.iter().map(|l| l.unpacked_size).sum::<u64>();
    if total > MAX_UNZIPPED_BYTES {
        return Err(Error::InvalidParameterValue(format!(
            "Function code combined with layers exceeds the maximum allowed size of \
             {MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )));
    }
    Ok(())
}

/// The layers service. Cheap to clone.
#[derive(Clone)]
pub struct Layers {
    store: Store,
    naming: Arc<Naming>,
    /// Unpacked layers and the merged `/opt` views built from them.
    views: Arc<LayerViews>,
    /// Held while archives are stored or released together with the
    /// records that use them (shared with the registry, whose functions
    /// use layers): a delete cannot release what a create is about to use.
    code_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Layers {
    pub fn new(store: Store, naming: Naming, views: LayerViews) -> Layers {
        Layers {
            store,
            naming: Arc::new(naming),
            views: Arc::new(views),
            code_lock: Arc::default(),
        }
    }

    pub fn naming(&self) -> &Arc<Naming> {
        &self.naming
    }

    pub fn code_lock(&self) -> &Arc<tokio::sync::Mutex<()>> {
        &self.code_lock
    }

    /// Where the merged `/opt` of `layers` is, if they have any files.
    pub fn view_path(&self, layers: &[LayerRef]) -> Option<std::path::PathBuf> {
        self.views.view_path(layers)
    }

    pub async fn publish_layer_version(&self, new: NewLayerVersion) -> Result<LayerVersionRecord> {
        let (name, _) = self.parse_layer(&new.layer_name)?;
        crate::function::validate_description(&new.description)?;
        if new.compatible_runtimes.len() > MAX_COMPATIBLE_RUNTIMES {
            return Err(Error::InvalidParameterValue(format!(
                "CompatibleRuntimes lists {} runtimes: at most {MAX_COMPATIBLE_RUNTIMES} are allowed",
                new.compatible_runtimes.len()
            )));
        }
        if new.license_info.chars().count() > MAX_LICENSE_CHARS {
            return Err(Error::InvalidParameterValue(format!(
                "LicenseInfo is longer than {MAX_LICENSE_CHARS} characters"
            )));
        }
        if new.zip.is_empty() {
            return Err(Error::InvalidParameterValue(
                "Content.ZipFile is required: the layer's zip archive".into(),
            ));
        }
        let sha256 = hex::encode(Sha256::digest(&new.zip));
        let views = self.views.clone();
        let (zip, sha) = (new.zip, sha256.clone());
        let (zip, unpacked_size) = tokio::task::spawn_blocking(move || {
            let size = views.unpack(&zip, &sha);
            size.map(|size| (zip, size))
        })
        .await
        .map_err(|e| Error::Service(format!("unpacking a layer: {e}")))?
        .map_err(|err| match err {
            ArchiveError::Refused(_) => Error::InvalidParameterValue(err.to_string()),
            ArchiveError::Io(_) => Error::Service(err.to_string()),
        })?;
        let record = LayerVersionRecord {
            name,
            version: 0,
            description: new.description,
            compatible_runtimes: new.compatible_runtimes,
            license_info: new.license_info,
            created_date: now_lambda_format(),
            content_sha256: sha256,
            code_size: zip.len() as u64,
            unpacked_size,
            policy: None,
        };
        let _code = self.code_lock.lock().await;
        let record = self.store.publish_layer_version(record, &zip)?;
        self.store.flush_async().await?;
        tracing::info!(layer = %record.name, version = record.version, unpacked_size, "published layer version");
        Ok(record)
    }

    /// A layer version, by name (or layer ARN) and number.
    pub fn get_layer_version(&self, layer_name: &str, version: i64) -> Result<LayerVersionRecord> {
        let (name, _) = self.parse_layer(layer_name)?;
        let number = u32::try_from(version).map_err(|_| {
            Error::InvalidParameterValue(format!("VersionNumber {version} is out of range"))
        })?;
        self.store
            .get_layer_version(&name, number)?
            .ok_or_else(|| self.layer_not_found(&name, number))
    }

    /// A layer version, by its ARN.
    pub fn get_layer_version_by_arn(&self, arn: &str) -> Result<LayerVersionRecord> {
        match self.parse_layer(arn)? {
            (name, Some(version)) => self.get_layer_version(&name, version.into()),
            (_, None) => Err(Error::InvalidParameterValue(format!(
                "Arn {arn:?} is not a layer version ARN: it must end with :<version>"
            ))),
        }
    }

    /// Layers in name order with their newest version (that matches
    /// `compatible_runtime`, when given), a page at a time.
    pub fn list_layers(
        &self,
        compatible_runtime: &str,
        marker: &str,
        max_items: Option<i32>,
        owns: impl Fn(&str) -> bool,
    ) -> Result<(Vec<LayerVersionRecord>, Option<String>)> {
        let limit = crate::function::page_size(max_items, MAX_PAGE)?;
        let mut newest: BTreeMap<String, LayerVersionRecord> = BTreeMap::new();
        for version in self.store.all_layer_versions()? {
            // Only the caller's account's layers, before paging: a marker
            // never names another account's.
            if owns(&version.name) && matches_runtime(&version, compatible_runtime) {
                newest.insert(version.name.clone(), version);
            }
        }
        let mut page: Vec<_> = newest
            .into_values()
            .filter(|v| marker.is_empty() || v.name.as_str() > marker)
            .take(limit + 1)
            .collect();
        let next = (page.len() > limit).then(|| page[limit - 1].name.clone());
        page.truncate(limit);
        Ok((page, next))
    }

    /// A layer's versions, newest first, a page at a time.
    pub fn list_layer_versions(
        &self,
        layer_name: &str,
        compatible_runtime: &str,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<(Vec<LayerVersionRecord>, Option<String>)> {
        let (name, _) = self.parse_layer(layer_name)?;
        let limit = crate::function::page_size(max_items, MAX_PAGE)?;
        let after: Option<u32> = match marker {
            "" => None,
            marker => Some(marker.parse().map_err(|_| {
                Error::InvalidParameterValue(format!("Marker {marker:?} is not valid"))
            })?),
        };
        let mut page: Vec<_> = self
            .store
            .layer_versions(&name)?
            .into_iter()
            .rev()
            .filter(|v| after.is_none_or(|after| v.version < after))
            .filter(|v| matches_runtime(v, compatible_runtime))
            .take(limit + 1)
            .collect();
        let next = (page.len() > limit).then(|| page[limit - 1].version.to_string());
        page.truncate(limit);
        Ok((page, next))
    }

    /// Deletes a layer version. Functions that use it keep its files; a
    /// version that does not exist is not an error, as in Lambda.
    pub async fn delete_layer_version(&self, layer_name: &str, version: i64) -> Result<()> {
        let (name, _) = self.parse_layer(layer_name)?;
        let Ok(number) = u32::try_from(version) else {
            return Ok(());
        };
        let _code = self.code_lock.lock().await;
        let record = match self.store.delete_layer_version(&name, number) {
            Ok(record) => record,
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        self.store
            .remove_layer_content_if_unused(&record.content_sha256)?;
        self.store.flush_async().await?;
        tracing::info!(layer = %name, version = number, "deleted layer version");
        Ok(())
    }

    /// The layer versions named by `arns`, checked as Lambda checks a
    /// function's layer list.
    /// The layer versions `arns` name, for a function of `account`: its
    /// own account's, or another's shared with it (one that is not is
    /// refused alike whether it exists or not).
    pub(crate) fn resolve(&self, arns: &[String], account: &str) -> Result<Vec<LayerRef>> {
        if arns.len() > MAX_LAYERS {
            return Err(Error::InvalidParameterValue(format!(
                "Layers lists {} layers: a function can use at most {MAX_LAYERS}",
                arns.len()
            )));
        }
        let mut layers: Vec<LayerRef> = Vec::with_capacity(arns.len());
        let mut names = Vec::with_capacity(arns.len());
        for arn in arns {
            let (name, Some(number)) = self.parse_layer(arn)? else {
                return Err(Error::InvalidParameterValue(format!(
                    "Layer {arn:?} is not a layer version ARN: it must end with :<version>"
                )));
            };
            if names.contains(&name) {
                return Err(Error::InvalidParameterValue(format!(
                    "Two different versions of the same layer are not allowed: {name}"
                )));
            }
            let record = self.store.get_layer_version(&name, number)?;
            if self.naming.account_of(&name) != account
                && !record
                    .as_ref()
                    .is_some_and(|r| permissions::shared_with(r, account))
            {
                return Err(Error::AccessDenied(format!(
                    "Account {account} is not authorized to perform: lambda:GetLayerVersion on \
                     resource: {}: the layer's account has not shared it \
                     (AddLayerVersionPermission)",
                    self.layer_arn(&name, Some(number))
                )));
            }
            let version = record.ok_or_else(|| {
                Error::InvalidParameterValue(format!(
                    "Layer version {} does not exist.",
                    self.layer_arn(&name, Some(number))
                ))
            })?;
            layers.push(LayerRef {
                arn: self.layer_arn(&name, Some(number)),
                content_sha256: version.content_sha256,
                code_size: version.code_size,
                unpacked_size: version.unpacked_size,
            });
            names.push(name);
        }
        Ok(layers)
    }

    /// Drops the archives of `old` that `new` does not use and nothing else
    /// does. Their folders go at the next start (an environment that is
    /// finishing a call may still read them). Call with `code_lock` held.
    pub(crate) fn release(&self, old: &[LayerRef], new: &[LayerRef]) -> Result<()> {
        for layer in old {
            if !new.iter().any(|n| n.content_sha256 == layer.content_sha256) {
                self.store
                    .remove_layer_content_if_unused(&layer.content_sha256)?;
            }
        }
        Ok(())
    }

    /// Makes sure every function's `/opt` is on disk (the data dir's layers
    /// folder may have been cleared), and removes what nothing uses.
    pub(crate) fn prepare_all(&self) -> Result<()> {
        let mut lists = Vec::new();
        for function in self.store.all_functions()? {
            lists.extend(
                self.store
                    .versions(&function.name)?
                    .into_iter()
                    .map(|v| v.layers),
            );
            lists.push(function.layers);
        }
        lists.retain(|l| !l.is_empty());
        for layers in &lists {
            self.ensure_view(layers)?;
        }
        let known = self.store.layer_content_hashes()?;
        let removed = self
            .views
            .sweep(&lists, &known)
            .map_err(|e| Error::Service(format!("cleaning the layers folder: {e}")))?;
        if removed > 0 {
            tracing::info!(removed, "removed unused layer folders");
        }
        Ok(())
    }

    /// Builds the `/opt` view of `layers` (off the async threads).
    pub(crate) async fn prepare(&self, layers: &[LayerRef]) -> Result<()> {
        if layers.is_empty() {
            return Ok(());
        }
        let (this, layers) = (self.clone(), layers.to_vec());
        tokio::task::spawn_blocking(move || this.ensure_view(&layers))
            .await
            .map_err(|e| Error::Service(format!("preparing layers: {e}")))?
    }

    fn ensure_view(&self, layers: &[LayerRef]) -> Result<()> {
        self.views
            .ensure(layers, |sha| {
                self.store
                    .get_layer_content(sha)
                    .map_err(std::io::Error::other)?
                    .ok_or_else(|| std::io::Error::other(format!("layer archive {sha} is missing")))
            })
            .map_err(|e| Error::Service(format!("preparing /opt: {e}")))
    }

    /// `arn:funnel:lambda:<region>:<account>:layer:<name>[:<version>]`.
    pub fn layer_arn(&self, name: &str, version: Option<u32>) -> String {
        self.naming.layer_arn(name, version)
    }

    /// A layer name (the home account's), or a layer (version) ARN of this
    /// region (any account): the layer's key and the version.
    fn parse_layer(&self, input: &str) -> Result<(String, Option<u32>)> {
        let naming = &self.naming;
        let parts: Vec<&str> = input.split(':').collect();
        let (account, name, version) = match parts.as_slice() {
            [name] => (naming.account_id.as_str(), *name, None),
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "layer",
                name,
                rest @ ..,
            ] if rest.len() <= 1 => {
                if !matches!(*partition, "funnel" | "aws")
                    || *region != naming.region
                    || !crate::tenancy::is_account_id(account)
                {
                    return Err(Error::InvalidParameterValue(format!(
                        "Layer ARN {input:?} is not of this server (region {}, 12-digit accounts)",
                        naming.region
                    )));
                }
                (*account, *name, rest.first().copied())
            }
            _ => {
                return Err(Error::InvalidParameterValue(format!(
                    "{input:?} is neither a layer name nor a layer ARN"
                )));
            }
        };
        validate_layer_name(name)?;
        let version = version
            .map(|v| {
                v.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
                    Error::InvalidParameterValue(format!(
                        "Layer ARN {input:?} has an invalid version {v:?}"
                    ))
                })
            })
            .transpose()?;
        Ok((naming.key_in(account, name), version))
    }

    fn layer_not_found(&self, name: &str, version: u32) -> Error {
        Error::ResourceNotFound(format!(
            "The resource you requested does not exist. ({})",
            self.layer_arn(name, Some(version))
        ))
    }
}

fn matches_runtime(version: &LayerVersionRecord, runtime: &str) -> bool {
    runtime.is_empty() || version.compatible_runtimes.iter().any(|r| r == runtime)
}
