//! `funnel secretsmanager …` and `funnel ssm …`: the verbs and flags of
//! `aws secretsmanager` and `aws ssm`, answers in their JSON (times in
//! seconds since the epoch, as the aws CLI prints the wire's).

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::Subcommand;
use funnel_client::{Client, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Create a secret, with its first value (AWSCURRENT) if one is given.
    CreateSecret {
        #[arg(long)]
        name: String,
        /// The value (@FILE or file://FILE reads a file).
        #[arg(long, conflicts_with = "secret_binary")]
        secret_string: Option<String>,
        /// Bytes: @FILE or fileb://FILE reads a file, else the text's bytes.
        #[arg(long)]
        secret_binary: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// KEY=VALUE (or Key=K,Value=V); repeat for more.
        #[arg(long = "tags", num_args = 1..)]
        tags: Vec<String>,
        /// The first version's id (32-64 characters).
        #[arg(long)]
        client_request_token: Option<String>,
    },
    /// Store a new version; AWSCURRENT moves to it unless --version-stages
    /// says otherwise (the version it leaves gets AWSPREVIOUS).
    PutSecretValue {
        #[arg(long)]
        secret_id: String,
        #[arg(
            long,
            conflicts_with = "secret_binary",
            required_unless_present = "secret_binary"
        )]
        secret_string: Option<String>,
        #[arg(long)]
        secret_binary: Option<String>,
        #[arg(long = "version-stages", num_args = 1..)]
        version_stages: Vec<String>,
        #[arg(long)]
        client_request_token: Option<String>,
    },
    /// Print a version's value: AWSCURRENT's, or --version-stage's, or
    /// --version-id's.
    GetSecretValue {
        #[arg(long)]
        secret_id: String,
        #[arg(long)]
        version_stage: Option<String>,
        #[arg(long)]
        version_id: Option<String>,
    },
    /// Print everything but the value.
    DescribeSecret {
        #[arg(long)]
        secret_id: String,
    },
    /// List the account's secrets (every page).
    ListSecrets {
        /// Include secrets waiting for deletion.
        #[arg(long)]
        include_planned_deletion: bool,
        /// Key=name|description|tag-key|tag-value|all,Values=V1,V2; repeat
        /// for more.
        #[arg(long = "filters", num_args = 1..)]
        filters: Vec<String>,
    },
    /// Move a staging label to --move-to-version-id, or remove it from
    /// --remove-from-version-id.
    UpdateSecretVersionStage {
        #[arg(long)]
        secret_id: String,
        #[arg(long)]
        version_stage: String,
        #[arg(long)]
        move_to_version_id: Option<String>,
        #[arg(long)]
        remove_from_version_id: Option<String>,
    },
    /// Delete a secret after a recovery window (7-30 days, 30 by default),
    /// or at once.
    DeleteSecret {
        #[arg(long)]
        secret_id: String,
        #[arg(long, conflicts_with = "force_delete_without_recovery")]
        recovery_window_in_days: Option<i64>,
        #[arg(long)]
        force_delete_without_recovery: bool,
    },
    /// Cancel a secret's scheduled deletion.
    RestoreSecret {
        #[arg(long)]
        secret_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SsmCommand {
    /// Create a parameter, or with --overwrite a new version of one.
    PutParameter {
        /// A plain name or a path: /app/prod/db-url.
        #[arg(long)]
        name: String,
        /// The value (@FILE or file://FILE reads a file).
        #[arg(long)]
        value: String,
        /// String, StringList or SecureString (needed for a new parameter).
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(long)]
        overwrite: bool,
        #[arg(long)]
        description: Option<String>,
        /// Standard (the default), Advanced or Intelligent-Tiering.
        #[arg(long)]
        tier: Option<String>,
        /// KEY=VALUE (or Key=K,Value=V); repeat for more (not with
        /// --overwrite).
        #[arg(long = "tags", num_args = 1..)]
        tags: Vec<String>,
    },
    /// Print a parameter (NAME or NAME:VERSION); a SecureString's value is
    /// in clear only --with-decryption.
    GetParameter {
        #[arg(long)]
        name: String,
        #[arg(long)]
        with_decryption: bool,
    },
    /// Print up to 10 parameters; those not found are in InvalidParameters.
    GetParameters {
        #[arg(long, num_args = 1..=10, required = true)]
        names: Vec<String>,
        #[arg(long)]
        with_decryption: bool,
    },
    /// Print the parameters under a path (one level, or all with
    /// --recursive), every page.
    GetParametersByPath {
        #[arg(long)]
        path: String,
        #[arg(long)]
        recursive: bool,
        #[arg(long)]
        with_decryption: bool,
    },
    /// Delete a parameter and every version of it.
    DeleteParameter {
        #[arg(long)]
        name: String,
    },
    /// Print the parameters' metadata (no values), every page.
    DescribeParameters {
        /// Key=Name|Type|Path,Option=Equals|BeginsWith|OneLevel|Recursive,Values=V1,V2;
        /// repeat for more.
        #[arg(long = "parameter-filters", num_args = 1..)]
        filters: Vec<String>,
    },
}

/// Seconds since the epoch, as the aws CLI prints the wire's times.
fn seconds(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// `@FILE` and `file://FILE` read a file (as text), as the aws CLI does.
fn text(arg: String) -> anyhow::Result<String> {
    match arg
        .strip_prefix('@')
        .or_else(|| arg.strip_prefix("file://"))
    {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}")),
        None => Ok(arg),
    }
}

/// `@FILE` and `fileb://FILE` read a file's bytes; anything else is its
/// own bytes.
fn bytes(arg: String) -> anyhow::Result<Vec<u8>> {
    match arg
        .strip_prefix('@')
        .or_else(|| arg.strip_prefix("fileb://"))
    {
        Some(path) => std::fs::read(path).with_context(|| format!("reading {path}")),
        None => Ok(arg.into_bytes()),
    }
}

/// `KEY=VALUE`, or the aws CLI's `Key=K,Value=V`.
fn tag(arg: &str) -> anyhow::Result<proto::Tag> {
    if let Some(rest) = arg.strip_prefix("Key=") {
        let (key, value) = rest
            .split_once(",Value=")
            .map_or((rest, ""), |(k, v)| (k, v));
        return Ok(proto::Tag {
            key: key.into(),
            value: value.into(),
        });
    }
    let (key, value) = arg
        .split_once('=')
        .with_context(|| format!("--tags {arg:?}: expected KEY=VALUE or Key=K,Value=V"))?;
    Ok(proto::Tag {
        key: key.into(),
        value: value.into(),
    })
}

/// `Key=K[,Option=O],Values=V1,V2` (the aws CLI's shorthand) as its
/// parts.
fn filter(arg: &str) -> anyhow::Result<(String, String, Vec<String>)> {
    let (head, values) = arg
        .split_once("Values=")
        .with_context(|| format!("{arg:?}: expected Key=K[,Option=O],Values=V1,V2"))?;
    let mut key = String::new();
    let mut option = String::new();
    for part in head.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("Key", k)) => key = k.into(),
            Some(("Option", o)) => option = o.into(),
            _ => bail!("{arg:?}: expected Key=K[,Option=O],Values=V1,V2"),
        }
    }
    Ok((key, option, values.split(',').map(str::to_string).collect()))
}

fn tags_json(tags: &[proto::Tag]) -> Value {
    json!(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect::<Vec<_>>()
    )
}

fn stages_json(map: &std::collections::HashMap<String, proto::VersionStages>) -> Value {
    let sorted: std::collections::BTreeMap<_, _> =
        map.iter().map(|(id, s)| (id, &s.stages)).collect();
    json!(sorted)
}

/// `GetSecretValue`'s answer (a binary value in base64, as on the wire).
pub fn secret_value_json(v: &proto::GetSecretValueResponse) -> Value {
    let mut out = json!({
        "ARN": v.arn,
        "Name": v.name,
        "VersionId": v.version_id,
        "VersionStages": v.version_stages,
        "CreatedDate": seconds(v.created_date),
    });
    if let Some(s) = &v.secret_string {
        out["SecretString"] = json!(s);
    }
    if let Some(b) = &v.secret_binary {
        out["SecretBinary"] = json!(base64::engine::general_purpose::STANDARD.encode(b));
    }
    out
}

pub fn describe_secret_json(d: &proto::DescribeSecretResponse) -> Value {
    let mut out = json!({
        "ARN": d.arn,
        "Name": d.name,
        "LastChangedDate": seconds(d.last_changed_date),
        "Tags": tags_json(&d.tags),
        "VersionIdsToStages": stages_json(&d.version_ids_to_stages),
        "CreatedDate": seconds(d.created_date),
    });
    if !d.description.is_empty() {
        out["Description"] = json!(d.description);
    }
    if let Some(at) = d.deleted_date {
        out["DeletedDate"] = seconds(at);
    }
    out
}

fn secret_entry_json(e: &proto::SecretListEntry) -> Value {
    let mut out = json!({
        "ARN": e.arn,
        "Name": e.name,
        "LastChangedDate": seconds(e.last_changed_date),
        "Tags": tags_json(&e.tags),
        "SecretVersionsToStages": stages_json(&e.secret_versions_to_stages),
        "CreatedDate": seconds(e.created_date),
    });
    if !e.description.is_empty() {
        out["Description"] = json!(e.description);
    }
    if let Some(at) = e.deleted_date {
        out["DeletedDate"] = seconds(at);
    }
    out
}

pub fn parameter_json(p: &proto::Parameter) -> Value {
    let mut out = json!({
        "Name": p.name,
        "Type": p.r#type,
        "Value": p.value,
        "Version": p.version,
        "LastModifiedDate": seconds(p.last_modified_date),
        "ARN": p.arn,
        "DataType": p.data_type,
    });
    if !p.selector.is_empty() {
        out["Selector"] = json!(p.selector);
    }
    out
}

fn parameter_metadata_json(p: &proto::ParameterMetadata) -> Value {
    let mut out = json!({
        "Name": p.name,
        "ARN": p.arn,
        "Type": p.r#type,
        "LastModifiedDate": seconds(p.last_modified_date),
        "LastModifiedUser": p.last_modified_user,
        "Version": p.version,
        "Tier": p.tier,
        "Policies": [],
        "DataType": p.data_type,
    });
    if !p.key_id.is_empty() {
        out["KeyId"] = json!(p.key_id);
    }
    if !p.description.is_empty() {
        out["Description"] = json!(p.description);
    }
    out
}

pub async fn secretsmanager(client: &Client, command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::CreateSecret {
            name,
            secret_string,
            secret_binary,
            description,
            tags,
            client_request_token,
        } => {
            let created = client
                .create_secret(proto::CreateSecretRequest {
                    name,
                    description: description.unwrap_or_default(),
                    secret_string: secret_string.map(text).transpose()?,
                    secret_binary: secret_binary.map(bytes).transpose()?,
                    tags: tags.iter().map(|t| tag(t)).collect::<anyhow::Result<_>>()?,
                    client_request_token: client_request_token.unwrap_or_default(),
                })
                .await?;
            let mut out = json!({"ARN": created.arn, "Name": created.name});
            if !created.version_id.is_empty() {
                out["VersionId"] = json!(created.version_id);
            }
            print_json(&out)
        }
        SecretsCommand::PutSecretValue {
            secret_id,
            secret_string,
            secret_binary,
            version_stages,
            client_request_token,
        } => {
            let put = client
                .put_secret_value(proto::PutSecretValueRequest {
                    secret_id,
                    client_request_token: client_request_token.unwrap_or_default(),
                    secret_string: secret_string.map(text).transpose()?,
                    secret_binary: secret_binary.map(bytes).transpose()?,
                    version_stages,
                })
                .await?;
            print_json(&json!({
                "ARN": put.arn,
                "Name": put.name,
                "VersionId": put.version_id,
                "VersionStages": put.version_stages,
            }))
        }
        SecretsCommand::GetSecretValue {
            secret_id,
            version_stage,
            version_id,
        } => {
            let value = client
                .get_secret_value_with(proto::GetSecretValueRequest {
                    secret_id,
                    version_id: version_id.unwrap_or_default(),
                    version_stage: version_stage.unwrap_or_default(),
                })
                .await?;
            print_json(&secret_value_json(&value))
        }
        SecretsCommand::DescribeSecret { secret_id } => print_json(&describe_secret_json(
            &client.describe_secret(&secret_id).await?,
        )),
        SecretsCommand::ListSecrets {
            include_planned_deletion,
            filters,
        } => {
            let filters = filters
                .iter()
                .map(|f| {
                    let (key, _, values) = filter(f)?;
                    Ok(proto::Filter { key, values })
                })
                .collect::<anyhow::Result<_>>()?;
            let secrets = client
                .list_all_secrets(proto::ListSecretsRequest {
                    include_planned_deletion,
                    filters,
                    ..Default::default()
                })
                .await?;
            print_json(&json!({
                "SecretList": secrets.iter().map(secret_entry_json).collect::<Vec<_>>()
            }))
        }
        SecretsCommand::UpdateSecretVersionStage {
            secret_id,
            version_stage,
            move_to_version_id,
            remove_from_version_id,
        } => {
            let updated = client
                .update_secret_version_stage(proto::UpdateSecretVersionStageRequest {
                    secret_id,
                    version_stage,
                    remove_from_version_id: remove_from_version_id.unwrap_or_default(),
                    move_to_version_id: move_to_version_id.unwrap_or_default(),
                })
                .await?;
            print_json(&json!({"ARN": updated.arn, "Name": updated.name}))
        }
        SecretsCommand::DeleteSecret {
            secret_id,
            recovery_window_in_days,
            force_delete_without_recovery,
        } => {
            let deleted = client
                .delete_secret(proto::DeleteSecretRequest {
                    secret_id,
                    recovery_window_in_days,
                    force_delete_without_recovery,
                })
                .await?;
            print_json(&json!({
                "ARN": deleted.arn,
                "Name": deleted.name,
                "DeletionDate": seconds(deleted.deletion_date),
            }))
        }
        SecretsCommand::RestoreSecret { secret_id } => {
            let restored = client.restore_secret(&secret_id).await?;
            print_json(&json!({"ARN": restored.arn, "Name": restored.name}))
        }
    }
}

pub async fn ssm(client: &Client, command: SsmCommand) -> anyhow::Result<()> {
    match command {
        SsmCommand::PutParameter {
            name,
            value,
            kind,
            overwrite,
            description,
            tier,
            tags,
        } => {
            let put = client
                .put_parameter(proto::PutParameterRequest {
                    name,
                    description: description.unwrap_or_default(),
                    value: text(value)?,
                    r#type: kind.unwrap_or_default(),
                    overwrite,
                    tags: tags.iter().map(|t| tag(t)).collect::<anyhow::Result<_>>()?,
                    tier: tier.unwrap_or_default(),
                    data_type: String::new(),
                })
                .await?;
            print_json(&json!({"Version": put.version, "Tier": put.tier}))
        }
        SsmCommand::GetParameter {
            name,
            with_decryption,
        } => {
            let parameter = client.get_parameter(&name, with_decryption).await?;
            print_json(&json!({ "Parameter": parameter_json(&parameter) }))
        }
        SsmCommand::GetParameters {
            names,
            with_decryption,
        } => {
            let got = client.get_parameters(names, with_decryption).await?;
            print_json(&json!({
                "Parameters": got.parameters.iter().map(parameter_json).collect::<Vec<_>>(),
                "InvalidParameters": got.invalid_parameters,
            }))
        }
        SsmCommand::GetParametersByPath {
            path,
            recursive,
            with_decryption,
        } => {
            let parameters = client
                .get_all_parameters_by_path(&path, recursive, with_decryption)
                .await?;
            print_json(&json!({
                "Parameters": parameters.iter().map(parameter_json).collect::<Vec<_>>()
            }))
        }
        SsmCommand::DeleteParameter { name } => Ok(client.delete_parameter(&name).await?),
        SsmCommand::DescribeParameters { filters } => {
            let filters = filters
                .iter()
                .map(|f| {
                    let (key, option, values) = filter(f)?;
                    Ok(proto::ParameterStringFilter {
                        key,
                        option,
                        values,
                    })
                })
                .collect::<anyhow::Result<_>>()?;
            let parameters = client.describe_all_parameters(filters).await?;
            print_json(&json!({
                "Parameters": parameters.iter().map(parameter_metadata_json).collect::<Vec<_>>()
            }))
        }
    }
}
