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
    /// Replace the master key (here, with the server stopped): a new key,
    /// every access key and data key resealed by it in one step, compiled
    /// code removed (the next start compiles again). Secrets, parameters
    /// and access keys stay as they are. Safe to interrupt: the next start
    /// finishes or forgets it.
    RotateMasterKey {
        /// The server's data dir.
        #[arg(long, default_value = ".funnel")]
        data_dir: PathBuf,
        /// The key file, when the server is given one (it is replaced in
        /// place); default: DATA_DIR/master.key.
        #[arg(long, env = "FUNNEL_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
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
        AdminCommand::RotateMasterKey {
            data_dir,
            master_key_file,
        } => rotate_master_key(data_dir, master_key_file).await,
    }
}

/// `funnel admin rotate-master-key`: local, with the server stopped.
pub async fn rotate_master_key(
    data_dir: PathBuf,
    master_key_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let rotation = tokio::task::spawn_blocking(move || {
        funnel_server::rotate_master_key(&data_dir, master_key_file.as_deref())
    })
    .await??;
    print_json(&json!({
        "KeyFile": rotation.key_file,
        "KeyId": rotation.key_id,
        "AccessKeys": rotation.access_keys,
        "DataKeys": rotation.data_keys,
        "CompiledCodeRemoved": rotation.compiled_removed,
    }))
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
