//! `funnel function add-permission|remove-permission|get-policy`.

use clap::Args;
use funnel_client::{Client, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Args)]
pub struct PermissionArgs {
    pub name: String,
    /// A name for the statement, unique in the policy.
    #[arg(long)]
    pub statement_id: String,
    /// s3.amazonaws.com, sns.amazonaws.com, events.amazonaws.com, an
    /// account id, or *.
    #[arg(long)]
    pub principal: String,
    #[arg(long, default_value = "lambda:InvokeFunction")]
    pub action: String,
    /// Only events from this resource (e.g. arn:funnel:s3:::photos).
    #[arg(long)]
    pub source_arn: Option<String>,
    /// Only events from this account's resources.
    #[arg(long)]
    pub source_account: Option<String>,
    /// A version or alias (the function's own policy by default).
    #[arg(long)]
    pub qualifier: Option<String>,
    /// With --action lambda:InvokeFunctionUrl: the URL AuthType the
    /// statement is for (NONE lets anyone call a public URL).
    #[arg(long)]
    pub function_url_auth_type: Option<String>,
}

pub async fn add_permission(client: &Client, args: PermissionArgs) -> anyhow::Result<()> {
    let statement = client
        .add_permission(proto::AddPermissionRequest {
            function_name: args.name,
            statement_id: args.statement_id,
            action: args.action,
            principal: args.principal,
            source_arn: args.source_arn.unwrap_or_default(),
            source_account: args.source_account.unwrap_or_default(),
            qualifier: args.qualifier.unwrap_or_default(),
            function_url_auth_type: args.function_url_auth_type.unwrap_or_default(),
        })
        .await?;
    // Lambda answers with the statement as a JSON string.
    print_json(&json!({ "Statement": statement }))
}

pub async fn get_policy(client: &Client, name: &str, qualifier: &str) -> anyhow::Result<()> {
    let got = client.get_policy(name, qualifier).await?;
    let policy: Value = serde_json::from_str(&got.policy).unwrap_or(Value::String(got.policy));
    print_json(&json!({ "Policy": policy, "RevisionId": got.revision_id }))
}
