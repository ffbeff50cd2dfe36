//! Stack files (`funnel.toml`): the functions a project declares, deployed
//! idempotently through the API. Deploying the same file twice changes
//! nothing; a changed file updates exactly what changed.
//!
//! ```toml
//! [[function]]
//! name = "hello"
//! crate = "hello"             # built from ./wasm-functions for wasm32-wasip2
//! # code = "build/hello.wasm" # or a component file
//! memory = 128
//! timeout = 3
//! description = "Greets by name"
//! env = { GREETING = "Hello" }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use funnel_client::{Client, proto};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::function::{DEFAULT_EPHEMERAL_STORAGE_MB, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// Where `crate = "..."` functions are built from, relative to the stack
    /// file. Default `wasm-functions`.
    #[serde(default = "default_workspace")]
    pub workspace: PathBuf,
    #[serde(default, rename = "function")]
    pub functions: Vec<FunctionSpec>,
}

fn default_workspace() -> PathBuf {
    PathBuf::from("wasm-functions")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    pub name: String,
    /// A component file, relative to the stack file.
    pub code: Option<PathBuf>,
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
        let mut names = BTreeSet::new();
        for f in &stack.functions {
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

/// Deploys the stack file at `path` through `client`; returns what changed
/// per function, in file order.
pub async fn deploy(client: &Client, path: &Path) -> anyhow::Result<Vec<(String, Change)>> {
    let stack = Stack::load(path)?;
    let path =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let code_paths = resolve_code(&stack, &base).await?;
    let mut changes = Vec::new();
    for spec in &stack.functions {
        let code_path = &code_paths[&spec.name];
        let code =
            std::fs::read(code_path).with_context(|| format!("reading {}", code_path.display()))?;
        let change = deploy_function(client, spec, code)
            .await
            .with_context(|| format!("deploying function {}", spec.name))?;
        changes.push((spec.name.clone(), change));
    }
    Ok(changes)
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
        let target_dir = base.join("target").join("wasm-functions");
        tokio::task::spawn_blocking(move || {
            let crates: Vec<&str> = crates.iter().map(String::as_str).collect();
            crate::guest_build::build(&workspace, &target_dir, &crates)
        })
        .await??
    };
    Ok(stack
        .functions
        .iter()
        .map(|f| {
            let path = match (&f.code, &f.krate) {
                (Some(code), _) => base.join(code),
                (None, Some(krate)) => built[krate].clone(),
                (None, None) => unreachable!("checked in Stack::load"),
            };
            (f.name.clone(), path)
        })
        .collect())
}

async fn deploy_function(
    client: &Client,
    spec: &FunctionSpec,
    code: Vec<u8>,
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
                })
                .await?;
            return Ok(Change::Created);
        }
        Err(err) => return Err(err.into()),
    };
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&code));
    let code_changed = sha != current.code_sha256;
    if code_changed {
        client.update_function_code(&spec.name, code).await?;
    }
    let current_env: BTreeMap<_, _> = current
        .environment
        .map(|e| e.variables.into_iter().collect())
        .unwrap_or_default();
    let config_changed = current.memory_size != memory
        || current.timeout != timeout
        || current.ephemeral_storage.map(|e| e.size) != Some(storage)
        || current.description != spec.description
        || current_env != spec.env;
    if config_changed {
        client
            .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
                function_name: spec.name.clone(),
                description: Some(spec.description.clone()),
                memory_size: Some(memory),
                timeout: Some(timeout),
                ephemeral_storage,
                environment: Some(environment),
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
