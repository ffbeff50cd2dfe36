//! `funnel admin`: operating the install (the operator's verbs).

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
    }
}
