//! `funnel admin`: operating the install (the operator's verbs).

use std::path::PathBuf;

use clap::Subcommand;
use funnel_client::Client;
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Records that did not decode, set aside instead of stopping the
    /// server (the operator only).
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Take a backup of the running server (its store, master key, and
    /// with --with-buckets the files of its own buckets), without stopping
    /// it. The file holds the master key: keep it as you keep the data dir.
    Backup {
        /// Where to write it.
        #[arg(long)]
        to: PathBuf,
        /// Include the files of the buckets kept under the data dir.
        #[arg(long)]
        with_buckets: bool,
    },
    /// Rebuild a data dir from a backup (here, with no server running;
    /// then `funnel serve --data-dir DIR`).
    Restore {
        /// The backup.
        #[arg(long)]
        from: PathBuf,
        /// A new (or empty) folder.
        #[arg(long)]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Print every record set aside: its tree, key, error and bytes.
    List,
    /// Delete a record set aside, for good.
    Drop {
        /// The tree it was in, as listed.
        #[arg(long)]
        tree: String,
        /// Its key, hex, as listed.
        #[arg(long)]
        key: String,
    },
}

pub async fn admin(client: &Client, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Quarantine(QuarantineCommand::List) => {
            let records: Vec<Value> = client
                .list_quarantined()
                .await?
                .iter()
                .map(|record| {
                    json!({
                        "Tree": record.tree,
                        "Key": record.key,
                        "KeyText": record.key_text,
                        "Error": record.error,
                        "Bytes": record.bytes,
                    })
                })
                .collect();
            print_json(&json!({ "Records": records }))
        }
        AdminCommand::Quarantine(QuarantineCommand::Drop { tree, key }) => {
            client.drop_quarantined(&tree, &key).await?;
            Ok(())
        }
        AdminCommand::Backup { to, with_buckets } => {
            let bytes = client.backup_to(&to, with_buckets).await?;
            print_json(&json!({ "File": to, "Bytes": bytes }))
        }
        AdminCommand::Restore { from, data_dir } => restore(from, data_dir).await,
    }
}

/// `funnel admin restore`: local, no server.
pub async fn restore(from: PathBuf, data_dir: PathBuf) -> anyhow::Result<()> {
    let to = data_dir.clone();
    let summary =
        tokio::task::spawn_blocking(move || funnel_server::backup::restore(&from, &to)).await??;
    print_json(&json!({
        "DataDir": data_dir,
        "Records": summary.records,
        "Files": summary.files,
    }))
}
