//! Stack files (`funnel.toml`): the functions a project declares, deployed
//! idempotently through the API. Deploying the same file twice changes
//! nothing; a changed file updates exactly what changed.
//!
//! ```toml
//! [[layer]]
//! name = "shared-config"
//! path = "layers/config"      # a folder (zipped for you) or a .zip file
//! description = "Settings every function reads from /opt"
//!
//! [[function]]
//! name = "hello"
//! crate = "hello"             # built from ./wasm-functions for wasm32-wasip2
//! # code = "build/hello.wasm" # or a component file
//! memory = 128
//! timeout = 3
//! description = "Greets by name"
//! env = { GREETING = "Hello" }
//! layers = ["shared-config"]  # stack layers (their newest version) or layer version ARNs
//! publish = true              # publish a version when $LATEST changed
//!
//! [[function.alias]]
//! name = "live"               # points at the version just published...
//! # version = "3"             # ...or at a fixed one
//! # routing = { "2" = 0.1 }   # and sends 10% to another
//! ```
//!
//! Buckets and their notifications: see [`buckets`]; topics and their
//! subscriptions: see [`topics`]; schedule rules and their targets: see
//! [`rules`]; a function's URL (`[function.url]`): see [`urls`]; its
//! retries and destinations (`[function.event_invoke_config]`): see
//! [`invoke_config`]; routes on the account's API: see [`routes`];
//! faults injected on purpose: see [`faults`].
//!
//! Layers publish a new version only when their files changed; `publish`
//! returns the newest version when nothing changed (as PublishVersion
//! does), so an unchanged stack publishes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use funnel_client::{Client, proto};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use funnel_server::{DEFAULT_EPHEMERAL_STORAGE_MB, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S};

pub mod buckets;
pub mod faults;
#[cfg(test)]
mod fuzz;
pub mod invoke_config;
pub mod routes;
pub mod rules;
pub mod topics;
pub mod urls;
use buckets::BucketSpec;
use faults::FaultSpec;
use invoke_config::InvokeConfigSpec;
use routes::RouteSpec;
use rules::RuleSpec;
use topics::TopicSpec;
use urls::UrlSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// Where `crate = "..."` functions are built from, relative to the stack
    /// file. Default `wasm-functions`.
    #[serde(default = "default_workspace")]
    pub workspace: PathBuf,
    #[serde(default, rename = "layer")]
    pub layers: Vec<LayerSpec>,
    #[serde(default, rename = "function")]
    pub functions: Vec<FunctionSpec>,
    #[serde(default, rename = "bucket")]
    pub buckets: Vec<BucketSpec>,
    #[serde(default, rename = "topic")]
    pub topics: Vec<TopicSpec>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteSpec>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub name: String,
    /// A folder (zipped, files in name order) or a .zip file, relative to
    /// the stack file.
    pub path: PathBuf,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub compatible_runtimes: Vec<String>,
    #[serde(default)]
    pub license_info: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasSpec {
    pub name: String,
    /// `$LATEST` or a version number; the version this deploy published
    /// when omitted.
    pub version: Option<String>,
    #[serde(default)]
    pub description: String,
    /// At most one other version and the share of calls it gets.
    #[serde(default)]
    pub routing: BTreeMap<String, f64>,
}

fn default_workspace() -> PathBuf {
    PathBuf::from("wasm-functions")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    pub name: String,
    /// A component file, or a source folder to build (Python, Node.js,
    /// Rust), relative to the stack file.
    pub code: Option<PathBuf>,
    /// What a source folder holds: python, nodejs or rust (guessed when
    /// left out); recorded as the function's Runtime.
    pub runtime: Option<String>,
    /// MODULE.FUNCTION of a source folder's handler (Lambda's defaults
    /// when left out); recorded as the function's Handler.
    pub handler: Option<String>,
    /// A crate of the guest workspace to build.
    #[serde(rename = "crate")]
    pub krate: Option<String>,
    pub memory: Option<i32>,
    pub timeout: Option<i32>,
    /// Size of /tmp in MB.
    pub ephemeral_storage: Option<i32>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Names of the stack's layers, or layer version ARNs, in order.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Buckets the guest sees at /buckets/NAME: `read` or `read-write`.
    #[serde(default)]
    pub bucket_access: BTreeMap<String, String>,
    /// Topics (names) the guest may publish to.
    #[serde(default)]
    pub topic_access: Vec<String>,
    /// Secrets and parameters the guest may read: names and prefixes
    /// ending in `*` (`["db-pass", "/app/*"]`). Values never go in a stack
    /// file: `env` may reference them (`{{resolve:ssm:/app/db-url}}`).
    #[serde(default)]
    pub secret_access: Vec<String>,
    /// Publish `$LATEST` as a version after deploying it.
    #[serde(default)]
    pub publish: bool,
    #[serde(default, rename = "alias")]
    pub aliases: Vec<AliasSpec>,
    /// The function's URL on the HTTP listener.
    pub url: Option<UrlSpec>,
    /// Retries and destinations of its asynchronous calls.
    pub event_invoke_config: Option<InvokeConfigSpec>,
}

/// What a deploy did to one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated { code: bool, configuration: bool },
    Unchanged,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Created => write!(f, "created"),
            Change::Updated {
                code: true,
                configuration: true,
            } => write!(f, "updated code and configuration"),
            Change::Updated { code: true, .. } => write!(f, "updated code"),
            Change::Updated { .. } => write!(f, "updated configuration"),
            Change::Unchanged => write!(f, "unchanged"),
        }
    }
}

impl Stack {
    /// Reads and checks a stack file.
    pub fn load(path: &Path) -> anyhow::Result<Stack> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let stack: Stack =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut layer_names = BTreeSet::new();
        for l in &stack.layers {
            if !layer_names.insert(l.name.as_str()) {
                bail!("{}: layer {:?} is declared twice", path.display(), l.name);
            }
        }
        let mut bucket_names = BTreeSet::new();
        for b in &stack.buckets {
            if !bucket_names.insert(b.name.as_str()) {
                bail!("{}: bucket {:?} is declared twice", path.display(), b.name);
            }
        }
        if let Some(key) = routes::duplicate(&stack.routes) {
            bail!("{}: route {key:?} is declared twice", path.display());
        }
        let mut names = BTreeSet::new();
        for f in &stack.functions {
            for a in &f.aliases {
                if a.version.is_none() && !f.publish {
                    bail!(
                        "{}: alias {:?} of function {:?} needs `version`, or `publish = true` on the function",
                        path.display(),
                        a.name,
                        f.name
                    );
                }
            }
            if !names.insert(f.name.as_str()) {
                bail!(
                    "{}: function {:?} is declared twice",
                    path.display(),
                    f.name
                );
            }
            match (&f.code, &f.krate) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => bail!(
                    "{}: function {:?} needs exactly one of `code` (a .wasm file) or `crate` (a guest crate to build)",
                    path.display(),
                    f.name
                ),
            }
        }
        Ok(stack)
    }
}

/// Deploys the stack file at `path` through `client`; returns what
/// happened to each layer, function, version and alias, in file order
/// (`("hello", "unchanged")`, `("layer shared-config", "published version 2")`).
pub async fn deploy(client: &Client, path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let stack = Stack::load(path)?;
    let path =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut changes = Vec::new();
    let mut layer_arns = BTreeMap::new();
    for spec in &stack.layers {
        let (arn, change) = deploy_layer(client, spec, &base)
            .await
            .with_context(|| format!("deploying layer {}", spec.name))?;
        layer_arns.insert(spec.name.clone(), arn);
        changes.push((format!("layer {}", spec.name), change));
    }
    // Buckets before functions (a function may be granted one), their
    // notifications after (they name functions).
    for spec in &stack.buckets {
        let change = buckets::deploy_bucket(client, spec, &base)
            .await
            .with_context(|| format!("deploying bucket {}", spec.name))?;
        changes.push((format!("bucket {}", spec.name), change));
    }
    let code_paths = resolve_code(&stack, &base).await?;
    for spec in &stack.functions {
        let code_path = &code_paths[&spec.name];
        let code =
            std::fs::read(code_path).with_context(|| format!("reading {}", code_path.display()))?;
        let layers = spec
            .layers
            .iter()
            .map(|l| layer_arns.get(l).cloned().unwrap_or_else(|| l.clone()))
            .collect();
        let change = deploy_function(client, &base, spec, code, layers)
            .await
            .with_context(|| format!("deploying function {}", spec.name))?;
        changes.push((spec.name.clone(), change.to_string()));
        let published = if spec.publish {
            let (version, change) = publish(client, &spec.name)
                .await
                .with_context(|| format!("publishing function {}", spec.name))?;
            changes.push((format!("{} version", spec.name), change));
            Some(version)
        } else {
            None
        };
        for alias in &spec.aliases {
            let change = deploy_alias(client, &spec.name, alias, published.as_deref())
                .await
                .with_context(|| format!("deploying alias {}:{}", spec.name, alias.name))?;
            changes.push((format!("alias {}:{}", spec.name, alias.name), change));
        }
        if let Some(url) = &spec.url {
            let done = urls::deploy_url(client, &spec.name, url)
                .await
                .with_context(|| format!("deploying the URL of function {}", spec.name))?;
            changes.extend(done);
        }
    }
    for spec in &stack.topics {
        let done = topics::deploy_topic(client, spec)
            .await
            .with_context(|| format!("deploying topic {}", spec.name))?;
        changes.extend(done);
    }
    // After topics and functions: destinations name them.
    for spec in &stack.functions {
        if let Some(config) = &spec.event_invoke_config {
            let done = invoke_config::deploy_invoke_config(client, &spec.name, config)
                .await
                .with_context(|| format!("deploying the event invoke config of {}", spec.name))?;
            changes.push(done);
        }
    }
    for spec in &stack.rules {
        let done = rules::deploy_rule(client, spec)
            .await
            .with_context(|| format!("deploying rule {}", spec.name))?;
        changes.extend(done);
    }
    changes.extend(
        routes::deploy_routes(client, &stack.routes)
            .await
            .context("deploying routes")?,
    );
    for spec in &stack.buckets {
        let done = buckets::deploy_notifications(client, spec)
            .await
            .with_context(|| format!("deploying the notifications of bucket {}", spec.name))?;
        changes.extend(done);
    }
    // Last: the functions they act on are in place.
    changes.extend(
        faults::deploy_faults(client, &stack.faults)
            .await
            .context("deploying faults")?,
    );
    Ok(changes)
}

/// Adds statement `sid` (letting `principal` invoke `function` for
/// `source_arn`) unless the function's policy has it; returns the change.
async fn ensure_permission(
    client: &Client,
    function: &str,
    sid: &str,
    principal: &str,
    source_arn: &str,
) -> anyhow::Result<Option<(String, String)>> {
    ensure_statement(
        client,
        proto::AddPermissionRequest {
            function_name: function.into(),
            statement_id: sid.into(),
            action: "lambda:InvokeFunction".into(),
            principal: principal.into(),
            source_arn: source_arn.into(),
            ..Default::default()
        },
    )
    .await
}

/// Adds `statement` to its function's policy unless a statement of its id
/// is there; returns the change.
async fn ensure_statement(
    client: &Client,
    statement: proto::AddPermissionRequest,
) -> anyhow::Result<Option<(String, String)>> {
    let (function, sid) = (
        statement.function_name.clone(),
        statement.statement_id.clone(),
    );
    let has_statement = match client.get_policy(&function, "").await {
        Ok(policy) => policy.policy.contains(&format!("\"Sid\":\"{sid}\"")),
        Err(err) if err.error_type.as_deref() == Some("ResourceNotFoundException") => false,
        Err(err) => return Err(err.into()),
    };
    if has_statement {
        return Ok(None);
    }
    client.add_permission(statement).await?;
    Ok(Some((
        format!("permission {function} {sid}"),
        "added".into(),
    )))
}

/// Publishes the layer's files unless its newest version has them already;
/// returns the version ARN to use and what happened.
async fn deploy_layer(
    client: &Client,
    spec: &LayerSpec,
    base: &Path,
) -> anyhow::Result<(String, String)> {
    let path = base.join(&spec.path);
    let zip = if path.is_dir() {
        crate::cli::zip_folder(&path)?
    } else {
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
    };
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    let newest = client
        .list_layer_versions(proto::ListLayerVersionsRequest {
            layer_name: spec.name.clone(),
            max_items: Some(1),
            ..Default::default()
        })
        .await?
        .layer_versions
        .into_iter()
        .next();
    if let Some(newest) = newest {
        let current = client.get_layer_version(&spec.name, newest.version).await?;
        let same_files = current.content.is_some_and(|c| c.code_sha256 == sha);
        if same_files
            && current.description == spec.description
            && current.compatible_runtimes == spec.compatible_runtimes
            && current.license_info == spec.license_info
        {
            let change = format!("unchanged (version {})", newest.version);
            return Ok((newest.layer_version_arn, change));
        }
    }
    let published = client
        .publish_layer_version(proto::PublishLayerVersionRequest {
            layer_name: spec.name.clone(),
            description: spec.description.clone(),
            content: Some(proto::LayerVersionContentInput { zip_file: zip }),
            compatible_runtimes: spec.compatible_runtimes.clone(),
            license_info: spec.license_info.clone(),
        })
        .await?;
    let change = format!("published version {}", published.version);
    Ok((published.layer_version_arn, change))
}

/// Publishes `$LATEST` (which returns the newest version when nothing
/// changed); returns the version and what happened.
async fn publish(client: &Client, function: &str) -> anyhow::Result<(String, String)> {
    let mut known = BTreeSet::new();
    let mut marker = String::new();
    loop {
        let page = client
            .list_versions_by_function(function, &marker, None)
            .await?;
        known.extend(page.versions.into_iter().map(|v| v.version));
        if page.next_marker.is_empty() {
            break;
        }
        marker = page.next_marker;
    }
    let version = client
        .publish_version(proto::PublishVersionRequest {
            function_name: function.to_string(),
            ..Default::default()
        })
        .await?
        .version;
    let change = if known.contains(&version) {
        format!("unchanged (version {version})")
    } else {
        format!("published version {version}")
    };
    Ok((version, change))
}

async fn deploy_alias(
    client: &Client,
    function: &str,
    spec: &AliasSpec,
    published: Option<&str>,
) -> anyhow::Result<String> {
    let version = spec
        .version
        .as_deref()
        .or(published)
        .context("the alias names no version and the function publishes none")?
        .to_string();
    let routing = proto::AliasRoutingConfiguration {
        additional_version_weights: spec.routing.clone().into_iter().collect(),
    };
    match client.get_alias(function, &spec.name).await {
        Ok(current) => {
            let current_routing: BTreeMap<String, f64> = current
                .routing_config
                .map(|r| r.additional_version_weights.into_iter().collect())
                .unwrap_or_default();
            if current.function_version == version
                && current.description == spec.description
                && current_routing == spec.routing
            {
                return Ok(format!("unchanged (version {version})"));
            }
            client
                .update_alias(proto::UpdateAliasRequest {
                    function_name: function.to_string(),
                    name: spec.name.clone(),
                    function_version: Some(version.clone()),
                    description: Some(spec.description.clone()),
                    routing_config: Some(routing),
                    revision_id: current.revision_id,
                })
                .await?;
            Ok(format!("now version {version}"))
        }
        Err(err) if err.error_type.as_deref() == Some("ResourceNotFoundException") => {
            client
                .create_alias(proto::CreateAliasRequest {
                    function_name: function.to_string(),
                    name: spec.name.clone(),
                    function_version: version.clone(),
                    description: spec.description.clone(),
                    routing_config: Some(routing),
                })
                .await?;
            Ok(format!("created (version {version})"))
        }
        Err(err) => Err(err.into()),
    }
}

/// The component file of each function, building guest crates first.
async fn resolve_code(stack: &Stack, base: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let crates: Vec<String> = stack
        .functions
        .iter()
        .filter_map(|f| f.krate.clone())
        .collect();
    let built = if crates.is_empty() {
        BTreeMap::new()
    } else {
        let workspace = base.join(&stack.workspace);
        // The workspace's own target folder (`./target/wasm-functions` for
        // the default layout), so stacks sharing a workspace share builds.
        let target_dir = workspace
            .parent()
            .unwrap_or(base)
            .join("target")
            .join("wasm-functions");
        tokio::task::spawn_blocking(move || {
            let crates: Vec<&str> = crates.iter().map(String::as_str).collect();
            funnel_build::rust::build(&workspace, &target_dir, &crates)
        })
        .await??
    };
    let mut paths = BTreeMap::new();
    for f in &stack.functions {
        let path = match (&f.code, &f.krate) {
            (Some(code), _) if base.join(code).is_dir() => {
                let (runtime, handler) = runtime_and_handler(f, base)?;
                let language = funnel_build::Language::parse(&runtime)?;
                let (source, cache) = (base.join(code), base.join("target").join("funnel-build"));
                tokio::task::spawn_blocking(move || {
                    funnel_build::build_cached(&source, language, &handler, &cache)
                })
                .await?
                .with_context(|| format!("building function {}", f.name))?
            }
            (Some(code), _) => base.join(code),
            (None, Some(krate)) => built[krate].clone(),
            (None, None) => unreachable!("checked in Stack::load"),
        };
        paths.insert(f.name.clone(), path);
    }
    Ok(paths)
}

/// The Runtime and Handler to record: a source folder's (as given or
/// guessed, with Lambda's default handler), or as given for a component.
fn runtime_and_handler(spec: &FunctionSpec, base: &Path) -> anyhow::Result<(String, String)> {
    let folder = spec
        .code
        .as_ref()
        .map(|c| base.join(c))
        .filter(|c| c.is_dir());
    let runtime = match (&spec.runtime, &folder) {
        (Some(runtime), _) => runtime.clone(),
        (None, Some(folder)) => funnel_build::guess_runtime(folder)?.to_string(),
        (None, None) => String::new(),
    };
    let handler = match (&spec.handler, &folder) {
        (Some(handler), _) => handler.clone(),
        (None, Some(_)) => funnel_build::Language::parse(&runtime)?
            .default_handler()
            .to_string(),
        (None, None) => String::new(),
    };
    Ok((runtime, handler))
}

async fn deploy_function(
    client: &Client,
    base: &Path,
    spec: &FunctionSpec,
    code: Vec<u8>,
    layers: Vec<String>,
) -> anyhow::Result<Change> {
    let memory = spec.memory.unwrap_or(DEFAULT_MEMORY_MB as i32);
    let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT_S as i32);
    let storage = spec
        .ephemeral_storage
        .unwrap_or(DEFAULT_EPHEMERAL_STORAGE_MB as i32);
    let ephemeral_storage = Some(proto::EphemeralStorage { size: storage });
    let environment = proto::Environment {
        variables: spec.env.clone().into_iter().collect(),
    };
    let (runtime, handler) = runtime_and_handler(spec, base)?;
    let (runtime, handler) = (runtime.as_str(), handler.as_str());
    let current = match client.get_function(&spec.name).await {
        Ok(found) => found
            .configuration
            .context("server returned no configuration")?,
        Err(err) if err.error_type.as_deref() == Some("ResourceNotFoundException") => {
            client
                .create_function(proto::CreateFunctionRequest {
                    function_name: spec.name.clone(),
                    code: Some(proto::FunctionCode { zip_file: code }),
                    description: spec.description.clone(),
                    memory_size: Some(memory),
                    timeout: Some(timeout),
                    ephemeral_storage,
                    environment: Some(environment),
                    layers,
                    bucket_access: Some(proto::BucketAccess {
                        buckets: spec.bucket_access.clone().into_iter().collect(),
                    }),
                    topic_access: Some(proto::TopicAccess {
                        topics: spec.topic_access.clone(),
                    }),
                    secret_access: Some(proto::SecretAccess {
                        names: spec.secret_access.clone(),
                    }),
                    runtime: runtime.to_string(),
                    handler: handler.to_string(),
                })
                .await?;
            return Ok(Change::Created);
        }
        Err(err) => return Err(err.into()),
    };
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&code));
    let code_changed = sha != current.code_sha256;
    if code_changed {
        client
            .update_function_code_with(proto::UpdateFunctionCodeRequest {
                function_name: spec.name.clone(),
                zip_file: code,
                revision_id: current.revision_id.clone(),
            })
            .await?;
    }
    let current_layers: Vec<&str> = current.layers.iter().map(|l| l.arn.as_str()).collect();
    let current_env: BTreeMap<_, _> = current
        .environment
        .map(|e| e.variables.into_iter().collect())
        .unwrap_or_default();
    let current_access: BTreeMap<_, _> = current
        .bucket_access
        .map(|a| a.buckets.into_iter().collect())
        .unwrap_or_default();
    let current_topics = current.topic_access.map(|a| a.topics).unwrap_or_default();
    let current_secrets = current.secret_access.map(|a| a.names).unwrap_or_default();
    let config_changed = current.memory_size != memory
        || current_access != spec.bucket_access
        || current_topics != spec.topic_access
        || current_secrets != spec.secret_access
        || current.timeout != timeout
        || current.ephemeral_storage.map(|e| e.size) != Some(storage)
        || current.description != spec.description
        || current_env != spec.env
        || current_layers != layers
        || current.runtime != runtime
        || current.handler != handler;
    if config_changed {
        client
            .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
                function_name: spec.name.clone(),
                description: Some(spec.description.clone()),
                memory_size: Some(memory),
                timeout: Some(timeout),
                ephemeral_storage,
                environment: Some(environment),
                layers: Some(proto::LayerArns { arns: layers }),
                bucket_access: Some(proto::BucketAccess {
                    buckets: spec.bucket_access.clone().into_iter().collect(),
                }),
                topic_access: Some(proto::TopicAccess {
                    topics: spec.topic_access.clone(),
                }),
                secret_access: Some(proto::SecretAccess {
                    names: spec.secret_access.clone(),
                }),
                runtime: Some(runtime.to_string()),
                handler: Some(handler.to_string()),
                revision_id: String::new(),
            })
            .await?;
    }
    Ok(match (code_changed, config_changed) {
        (false, false) => Change::Unchanged,
        (code, configuration) => Change::Updated {
            code,
            configuration,
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_function_lists_the_secrets_it_may_read_by_name_only() {
        let stack: super::Stack = toml::from_str(
            r#"
            [[function]]
            name = "api"
            crate = "env"
            env = { DB_PASS = "{{resolve:secretsmanager:db-pass:SecretString:password}}" }
            secret_access = ["db-pass", "/app/*"]
            "#,
        )
        .expect("the stack parses");
        assert_eq!(stack.functions[0].secret_access, ["db-pass", "/app/*"]);
        assert_eq!(
            stack.functions[0].env["DB_PASS"],
            "{{resolve:secretsmanager:db-pass:SecretString:password}}"
        );
    }
}
