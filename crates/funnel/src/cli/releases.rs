//! Release verbs: `funnel alias ...` and `funnel layer ...`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use funnel_client::{Client, json, proto};
use serde_json::json;

use super::{parse_key_value, print_json};

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Create an alias for a version.
    Create {
        function: String,
        alias: String,
        #[command(flatten)]
        settings: AliasArgs,
    },
    /// Show an alias.
    Get { function: String, alias: String },
    /// Change an alias (only the flags given).
    Update {
        function: String,
        alias: String,
        #[command(flatten)]
        settings: AliasArgs,
        /// Update only if the alias is still at this RevisionId.
        #[arg(long)]
        revision_id: Option<String>,
    },
    /// Delete an alias.
    Delete { function: String, alias: String },
    /// List a function's aliases.
    List { function: String },
}

#[derive(Debug, Args)]
pub struct AliasArgs {
    /// The version the alias names ($LATEST or a number).
    #[arg(long)]
    pub function_version: Option<String>,
    /// Send WEIGHT (0.0-1.0) of the invocations to version N: N=WEIGHT.
    /// An empty value removes the routing.
    #[arg(long, value_parser = parse_routing)]
    pub routing_config: Option<Option<(String, f64)>>,
    #[arg(long)]
    pub description: Option<String>,
}

fn parse_routing(s: &str) -> Result<Option<(String, f64)>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let (version, weight) = parse_key_value(s)?;
    let weight: f64 = weight
        .parse()
        .map_err(|_| format!("weight {weight:?} is not a number"))?;
    Ok(Some((version, weight)))
}

fn routing_config(routing: Option<(String, f64)>) -> proto::AliasRoutingConfiguration {
    proto::AliasRoutingConfiguration {
        additional_version_weights: routing.into_iter().collect(),
    }
}

pub(super) async fn alias(client: &Client, command: AliasCommand) -> anyhow::Result<()> {
    match command {
        AliasCommand::Create {
            function,
            alias,
            settings,
        } => {
            let created = client
                .create_alias(proto::CreateAliasRequest {
                    function_name: function,
                    name: alias,
                    function_version: settings
                        .function_version
                        .unwrap_or_else(|| "$LATEST".into()),
                    description: settings.description.unwrap_or_default(),
                    routing_config: settings.routing_config.map(routing_config),
                })
                .await?;
            print_json(&json::alias(&created))
        }
        AliasCommand::Get { function, alias } => {
            print_json(&json::alias(&client.get_alias(&function, &alias).await?))
        }
        AliasCommand::Update {
            function,
            alias,
            settings,
            revision_id,
        } => {
            let updated = client
                .update_alias(proto::UpdateAliasRequest {
                    function_name: function,
                    name: alias,
                    function_version: settings.function_version,
                    description: settings.description,
                    routing_config: settings.routing_config.map(routing_config),
                    revision_id: revision_id.unwrap_or_default(),
                })
                .await?;
            print_json(&json::alias(&updated))
        }
        AliasCommand::Delete { function, alias } => {
            client.delete_alias(&function, &alias).await?;
            Ok(())
        }
        AliasCommand::List { function } => {
            let mut aliases = Vec::new();
            let mut marker = String::new();
            loop {
                let page = client
                    .list_aliases(proto::ListAliasesRequest {
                        function_name: function.clone(),
                        marker,
                        ..Default::default()
                    })
                    .await?;
                aliases.extend(page.aliases.iter().map(json::alias));
                if page.next_marker.is_empty() {
                    break;
                }
                marker = page.next_marker;
            }
            print_json(&json!({ "Aliases": aliases }))
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LayerCommand {
    /// Publish a zip archive (or a folder, zipped for you) as the layer's
    /// next version.
    Publish {
        name: String,
        /// A .zip archive, or a folder whose files become the layer.
        #[arg(long = "zip-file", alias = "content")]
        zip_file: PathBuf,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, num_args = 1..)]
        compatible_runtimes: Vec<String>,
        #[arg(long)]
        license_info: Option<String>,
    },
    /// Show one layer version (by NAME VERSION, or by its ARN).
    Get { name: String, version: Option<i64> },
    /// List layers, each with its newest version.
    List {
        #[arg(long)]
        compatible_runtime: Option<String>,
    },
    /// List a layer's versions, newest first.
    Versions {
        name: String,
        #[arg(long)]
        compatible_runtime: Option<String>,
    },
    /// Delete a layer version (functions using it keep working).
    Delete { name: String, version: i64 },
    /// Share a layer version with another account (or every account:
    /// --principal '*'), as `aws lambda add-layer-version-permission`.
    AddPermission {
        name: String,
        version: i64,
        #[arg(long)]
        statement_id: String,
        /// A 12-digit account id, or *.
        #[arg(long)]
        principal: String,
        #[arg(long, default_value = "lambda:GetLayerVersion")]
        action: String,
        #[arg(long)]
        revision_id: Option<String>,
    },
    /// Remove one statement of a layer version's policy.
    RemovePermission {
        name: String,
        version: i64,
        #[arg(long)]
        statement_id: String,
        #[arg(long)]
        revision_id: Option<String>,
    },
    /// Print a layer version's policy.
    GetPolicy { name: String, version: i64 },
}

pub(super) async fn layer(client: &Client, command: LayerCommand) -> anyhow::Result<()> {
    match command {
        LayerCommand::Publish {
            name,
            zip_file,
            description,
            compatible_runtimes,
            license_info,
        } => {
            let zip = if zip_file.is_dir() {
                zip_folder(&zip_file)?
            } else {
                std::fs::read(&zip_file)
                    .with_context(|| format!("reading {}", zip_file.display()))?
            };
            let published = client
                .publish_layer_version(proto::PublishLayerVersionRequest {
                    layer_name: name,
                    description: description.unwrap_or_default(),
                    content: Some(proto::LayerVersionContentInput { zip_file: zip }),
                    compatible_runtimes,
                    license_info: license_info.unwrap_or_default(),
                })
                .await?;
            print_json(&json::layer_version(&published))
        }
        LayerCommand::Get { name, version } => {
            let found = match version {
                Some(version) => client.get_layer_version(&name, version).await?,
                None => client.get_layer_version_by_arn(&name).await?,
            };
            print_json(&json::layer_version(&found))
        }
        LayerCommand::List { compatible_runtime } => {
            let mut layers = Vec::new();
            let mut marker = String::new();
            loop {
                let page = client
                    .list_layers(proto::ListLayersRequest {
                        compatible_runtime: compatible_runtime.clone().unwrap_or_default(),
                        marker,
                        max_items: None,
                    })
                    .await?;
                layers.extend(page.layers.iter().map(json::layers_item));
                if page.next_marker.is_empty() {
                    break;
                }
                marker = page.next_marker;
            }
            print_json(&json!({ "Layers": layers }))
        }
        LayerCommand::Versions {
            name,
            compatible_runtime,
        } => {
            let mut versions = Vec::new();
            let mut marker = String::new();
            loop {
                let page = client
                    .list_layer_versions(proto::ListLayerVersionsRequest {
                        layer_name: name.clone(),
                        compatible_runtime: compatible_runtime.clone().unwrap_or_default(),
                        marker,
                        max_items: None,
                    })
                    .await?;
                versions.extend(page.layer_versions.iter().map(json::layer_versions_item));
                if page.next_marker.is_empty() {
                    break;
                }
                marker = page.next_marker;
            }
            print_json(&json!({ "LayerVersions": versions }))
        }
        LayerCommand::Delete { name, version } => {
            client.delete_layer_version(&name, version).await?;
            Ok(())
        }
        LayerCommand::AddPermission {
            name,
            version,
            statement_id,
            principal,
            action,
            revision_id,
        } => {
            let added = client
                .add_layer_version_permission(proto::AddLayerVersionPermissionRequest {
                    layer_name: name,
                    version_number: version,
                    statement_id,
                    action,
                    principal,
                    revision_id: revision_id.unwrap_or_default(),
                    ..Default::default()
                })
                .await?;
            print_json(&json::layer_statement(&added))
        }
        LayerCommand::RemovePermission {
            name,
            version,
            statement_id,
            revision_id,
        } => {
            client
                .remove_layer_version_permission(proto::RemoveLayerVersionPermissionRequest {
                    layer_name: name,
                    version_number: version,
                    statement_id,
                    revision_id: revision_id.unwrap_or_default(),
                })
                .await?;
            Ok(())
        }
        LayerCommand::GetPolicy { name, version } => {
            let policy = client.get_layer_version_policy(&name, version).await?;
            print_json(&json::layer_policy(&policy))
        }
    }
}

/// A folder's files as a zip archive (names relative to the folder, in a
/// stable order, so the same folder always gives the same archive).
pub fn zip_folder(dir: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), out)?;
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files).with_context(|| format!("reading {}", dir.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // A fixed time, so the archive (and its hash) depends only on the files.
    let options = zip::write::SimpleFileOptions::default()
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for file in files {
        let name = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        zip.start_file(name, options)?;
        zip.write_all(
            &std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?,
        )?;
    }
    Ok(zip.finish()?.into_inner())
}
