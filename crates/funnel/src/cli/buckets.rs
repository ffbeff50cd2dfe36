//! `funnel bucket …` and `funnel object …`.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use funnel_client::{Client, proto};
use serde_json::json;

use super::print_json;

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Create a bucket: a new folder under the data dir, or an existing
    /// folder (--path) whose files become its objects.
    Create {
        name: String,
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Delete an empty bucket (a folder you named stays on disk).
    Delete { name: String },
    /// List buckets.
    List,
    /// Invoke a function for the bucket's object events (adds to, or with
    /// the same --id replaces, its notification configurations). The
    /// function must allow it: funnel function add-permission F
    /// --statement-id ID --principal s3.amazonaws.com --source-arn
    /// arn:funnel:s3:::BUCKET.
    Notify {
        bucket: String,
        #[arg(long)]
        function: String,
        /// s3:ObjectCreated:*, s3:ObjectRemoved:*, ... (one or more).
        #[arg(long, num_args = 1.., required = true)]
        events: Vec<String>,
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long)]
        suffix: Option<String>,
        /// The configuration's id (generated when omitted).
        #[arg(long)]
        id: Option<String>,
    },
    /// Show a bucket's notification configurations.
    #[command(alias = "get-bucket-notification-configuration")]
    GetNotification { bucket: String },
}

#[derive(Debug, Subcommand)]
pub enum ObjectCommand {
    /// Upload a file (or stdin) as an object; fires ObjectCreated:Put once.
    Put {
        bucket: String,
        key: String,
        /// The file to upload; stdin when omitted or -.
        file: Option<PathBuf>,
        /// The object's media type, given back by get and head (S3's
        /// Content-Type; binary/octet-stream when not given).
        #[arg(long)]
        content_type: Option<String>,
        /// User metadata, KEY=VALUE, repeatable (S3's x-amz-meta-KEY).
        #[arg(long, value_name = "KEY=VALUE")]
        metadata: Vec<String>,
    },
    /// Download an object to stdout (or --output FILE).
    Get {
        bucket: String,
        key: String,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// List objects (ListObjectsV2, following every page).
    List {
        bucket: String,
        #[arg(long)]
        prefix: Option<String>,
        /// Group keys by this separator into CommonPrefixes, e.g. /.
        #[arg(long)]
        delimiter: Option<String>,
    },
    /// Show an object's size, ETag and time.
    Head { bucket: String, key: String },
    /// Delete an object; fires ObjectRemoved:Delete once.
    Delete { bucket: String, key: String },
}

pub async fn bucket(client: &Client, command: BucketCommand) -> anyhow::Result<()> {
    match command {
        BucketCommand::Create { name, path } => {
            let path = match path {
                Some(path) => Some(
                    std::fs::canonicalize(&path)
                        .with_context(|| format!("the folder {}", path.display()))?
                        .to_string_lossy()
                        .into_owned(),
                ),
                None => None,
            };
            let created = client.create_bucket(&name, path.as_deref()).await?;
            print_json(&json!({"Location": created.location, "Path": created.path}))
        }
        BucketCommand::Delete { name } => Ok(client.delete_bucket(&name).await?),
        BucketCommand::List => {
            let buckets = client.list_buckets().await?;
            print_json(&json!({"Buckets": buckets.iter().map(|b| json!({
                "Name": b.name, "CreationDate": b.creation_date, "Path": b.path,
            })).collect::<Vec<_>>()}))
        }
        BucketCommand::Notify {
            bucket,
            function,
            events,
            prefix,
            suffix,
            id,
        } => {
            let arn = client.function_arn(&function).await?;
            let mut current = client
                .get_bucket_notification_configuration(&bucket)
                .await?;
            let id = id.unwrap_or_default();
            if !id.is_empty() {
                current
                    .lambda_function_configurations
                    .retain(|c| c.id != id);
            }
            let mut rules = Vec::new();
            for (name, value) in [("Prefix", prefix), ("Suffix", suffix)] {
                if let Some(value) = value {
                    rules.push(proto::FilterRule {
                        name: name.into(),
                        value,
                    });
                }
            }
            current
                .lambda_function_configurations
                .push(proto::LambdaFunctionConfiguration {
                    id,
                    lambda_function_arn: arn,
                    events,
                    filter: (!rules.is_empty()).then_some(proto::NotificationConfigurationFilter {
                        key: Some(proto::S3KeyFilter {
                            filter_rules: rules,
                        }),
                    }),
                });
            client
                .put_bucket_notification_configuration(&bucket, current)
                .await?;
            print_notifications(
                &client
                    .get_bucket_notification_configuration(&bucket)
                    .await?,
            )
        }
        BucketCommand::GetNotification { bucket } => print_notifications(
            &client
                .get_bucket_notification_configuration(&bucket)
                .await?,
        ),
    }
}

fn print_notifications(config: &proto::NotificationConfiguration) -> anyhow::Result<()> {
    let configs: Vec<_> = config
        .lambda_function_configurations
        .iter()
        .map(|c| {
            let rules: Vec<_> = c
                .filter
                .as_ref()
                .and_then(|f| f.key.as_ref())
                .map(|k| {
                    k.filter_rules
                        .iter()
                        .map(|r| json!({"Name": r.name, "Value": r.value}))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "Id": c.id,
                "LambdaFunctionArn": c.lambda_function_arn,
                "Events": c.events,
                "Filter": {"Key": {"FilterRules": rules}},
            })
        })
        .collect();
    print_json(&json!({ "LambdaFunctionConfigurations": configs }))
}

pub async fn object(client: &Client, command: ObjectCommand) -> anyhow::Result<()> {
    match command {
        ObjectCommand::Put {
            bucket,
            key,
            file,
            content_type,
            metadata,
        } => {
            let metadata = metadata
                .iter()
                .map(|pair| match pair.split_once('=') {
                    Some((name, value)) => Ok((name.to_string(), value.to_string())),
                    None => anyhow::bail!("--metadata {pair:?} is not KEY=VALUE"),
                })
                .collect::<anyhow::Result<_>>()?;
            let body = match file {
                Some(path) if path.as_os_str() != "-" => {
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
                }
                _ => {
                    let mut body = Vec::new();
                    std::io::stdin().read_to_end(&mut body)?;
                    body
                }
            };
            let put = client
                .put_object_described(
                    &bucket,
                    &key,
                    body,
                    content_type.as_deref().unwrap_or_default(),
                    metadata,
                )
                .await?;
            print_json(&json!({"ETag": put.e_tag, "Size": put.size}))
        }
        ObjectCommand::Get {
            bucket,
            key,
            output,
        } => {
            let object = client.get_object(&bucket, &key).await?;
            match output {
                Some(path) => std::fs::write(&path, &object.body)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => std::io::stdout().write_all(&object.body)?,
            }
            Ok(())
        }
        ObjectCommand::List {
            bucket,
            prefix,
            delimiter,
        } => {
            let (mut contents, mut prefixes) = (Vec::new(), Vec::new());
            let mut token = String::new();
            loop {
                let page = client
                    .list_objects_v2(proto::ListObjectsV2Request {
                        bucket: bucket.clone(),
                        prefix: prefix.clone().unwrap_or_default(),
                        delimiter: delimiter.clone().unwrap_or_default(),
                        continuation_token: token,
                        ..Default::default()
                    })
                    .await?;
                contents.extend(page.contents.iter().map(|o| {
                    json!({"Key": o.key, "Size": o.size, "ETag": o.e_tag, "LastModified": o.last_modified})
                }));
                prefixes.extend(
                    page.common_prefixes
                        .iter()
                        .map(|p| json!({"Prefix": p.prefix})),
                );
                if !page.is_truncated {
                    break;
                }
                token = page.next_continuation_token;
            }
            print_json(&json!({"Contents": contents, "CommonPrefixes": prefixes}))
        }
        ObjectCommand::Head { bucket, key } => {
            let head = client.head_object(&bucket, &key).await?;
            print_json(&json!({
                "ContentLength": head.content_length,
                "ContentType": head.content_type,
                "ETag": head.e_tag,
                "LastModified": head.last_modified,
                "Metadata": head.metadata,
            }))
        }
        ObjectCommand::Delete { bucket, key } => Ok(client.delete_object(&bucket, &key).await?),
    }
}
