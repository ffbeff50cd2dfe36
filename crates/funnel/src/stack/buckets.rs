//! `[[bucket]]` in a stack file: buckets, the functions that hear of their
//! objects, and the permissions those functions need.
//!
//! ```toml
//! [[bucket]]
//! name = "photos"
//! path = "photos"             # a folder next to the stack file; under the data dir when omitted
//!
//! [[bucket.notification]]
//! function = "object-type"    # a function of the stack (or any function's name)
//! events = ["s3:ObjectCreated:*"]
//! suffix = ".png"             # and/or prefix = "uploads/"
//! ```
//!
//! Deploying adds the statement the function's policy needs (Sid
//! `s3-<bucket>`, principal `s3.amazonaws.com`, the bucket's ARN) and sets
//! the bucket's notification configurations; both only when they differ.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use funnel_client::{Client, proto};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    pub name: String,
    /// An existing folder (created if missing), relative to the stack file.
    pub path: Option<PathBuf>,
    #[serde(default, rename = "notification")]
    pub notifications: Vec<NotificationSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSpec {
    pub function: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
    /// Default: `<function>` (with `-2`, `-3`... for more on one function).
    pub id: Option<String>,
}

/// Creates the bucket unless it exists (over the same folder).
pub async fn deploy_bucket(
    client: &Client,
    spec: &BucketSpec,
    base: &Path,
) -> anyhow::Result<String> {
    let path = match &spec.path {
        Some(path) => {
            let path = base.join(path);
            std::fs::create_dir_all(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            Some(std::fs::canonicalize(&path)?.to_string_lossy().into_owned())
        }
        None => None,
    };
    let existing = client.list_buckets().await?;
    if let Some(bucket) = existing.iter().find(|b| b.name == spec.name) {
        if let Some(path) = &path
            && &bucket.path != path
        {
            bail!(
                "bucket {} exists over {}, not {path}: delete it first to move it",
                spec.name,
                bucket.path
            );
        }
        return Ok("unchanged".into());
    }
    client.create_bucket(&spec.name, path.as_deref()).await?;
    Ok("created".into())
}

/// Grants S3 the functions' permissions and sets the notifications;
/// returns what changed.
pub async fn deploy_notifications(
    client: &Client,
    spec: &BucketSpec,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut changes = Vec::new();
    let source_arn = format!("arn:funnel:s3:::{}", spec.name);
    let sid = format!("s3-{}", spec.name);
    let mut wanted = Vec::new();
    for (i, n) in spec.notifications.iter().enumerate() {
        let arn = client
            .function_arn(&n.function)
            .await
            .with_context(|| format!("function {} of bucket {}", n.function, spec.name))?;
        changes.extend(
            super::ensure_permission(client, &n.function, &sid, "s3.amazonaws.com", &source_arn)
                .await?,
        );
        let same_function = spec.notifications[..i]
            .iter()
            .filter(|m| m.function == n.function)
            .count();
        let id = n.id.clone().unwrap_or_else(|| match same_function {
            0 => n.function.clone(),
            k => format!("{}-{}", n.function, k + 1),
        });
        let mut rules = Vec::new();
        if !n.prefix.is_empty() {
            rules.push(("Prefix", n.prefix.clone()));
        }
        if !n.suffix.is_empty() {
            rules.push(("Suffix", n.suffix.clone()));
        }
        wanted.push(proto::LambdaFunctionConfiguration {
            id,
            lambda_function_arn: arn,
            events: n.events.clone(),
            filter: (!rules.is_empty()).then_some(proto::NotificationConfigurationFilter {
                key: Some(proto::S3KeyFilter {
                    filter_rules: rules
                        .into_iter()
                        .map(|(name, value)| proto::FilterRule {
                            name: name.into(),
                            value,
                        })
                        .collect(),
                }),
            }),
        });
    }
    let current = client
        .get_bucket_notification_configuration(&spec.name)
        .await?;
    let change = if current.lambda_function_configurations == wanted {
        "unchanged"
    } else {
        client
            .put_bucket_notification_configuration(
                &spec.name,
                proto::NotificationConfiguration {
                    lambda_function_configurations: wanted,
                },
            )
            .await?;
        "updated"
    };
    changes.push((format!("bucket {} notifications", spec.name), change.into()));
    Ok(changes)
}
