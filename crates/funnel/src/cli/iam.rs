//! `funnel iam …` and `funnel sts …`, shaped like `aws iam` and `aws sts`:
//! the same verbs and flags, and the same JSON on stdout.

use anyhow::Context as _;
use clap::Subcommand;
use funnel_client::{Client, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Create a user (with no keys and no policies).
    CreateUser {
        #[arg(long)]
        user_name: String,
        /// Another account's (the operator only).
        #[arg(long)]
        account_id: Option<String>,
    },
    /// Print a user (yours without --user-name).
    GetUser {
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Delete a user (its keys and policies must be gone first, as IAM).
    DeleteUser {
        #[arg(long)]
        user_name: String,
    },
    ListUsers,
    /// Create an access key; its secret is printed this once.
    CreateAccessKey {
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Make a key Active or Inactive (an inactive key fails at once).
    UpdateAccessKey {
        #[arg(long)]
        access_key_id: String,
        #[arg(long, value_parser = ["Active", "Inactive"])]
        status: String,
        #[arg(long)]
        user_name: Option<String>,
    },
    DeleteAccessKey {
        #[arg(long)]
        access_key_id: String,
        #[arg(long)]
        user_name: Option<String>,
    },
    ListAccessKeys {
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Attach a managed policy: arn:funnel:iam::aws:policy/FunnelFullAccess,
    /// FunnelInvokeOnly or FunnelReadOnly.
    AttachUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_arn: String,
    },
    DetachUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_arn: String,
    },
    ListAttachedUserPolicies {
        #[arg(long)]
        user_name: String,
    },
    /// Put an inline policy: IAM's JSON, or @FILE.
    PutUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
        #[arg(long)]
        policy_document: String,
    },
    GetUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
    },
    DeleteUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
    },
    ListUserPolicies {
        #[arg(long)]
        user_name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account (the operator only); prints its admin user and
    /// that user's access key (the secret is shown once).
    Create {
        /// Twelve digits.
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        name: String,
    },
    /// List the accounts (the operator sees all; others, their own).
    List,
}

#[derive(Debug, Subcommand)]
pub enum StsCommand {
    /// Print who the calls are made as: Account, Arn, UserId.
    GetCallerIdentity,
}

fn user_json(user: &proto::User) -> Value {
    json!({
        "Path": user.path,
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.create_date,
    })
}

/// `@FILE` reads the file, as the aws CLI's `file://`.
fn document(text: &str) -> anyhow::Result<String> {
    match text
        .strip_prefix('@')
        .or_else(|| text.strip_prefix("file://"))
    {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}")),
        None => Ok(text.to_string()),
    }
}

pub async fn iam(client: &Client, command: IamCommand) -> anyhow::Result<()> {
    let name = |n: Option<String>| n.unwrap_or_default();
    match command {
        IamCommand::CreateUser {
            user_name,
            account_id,
        } => {
            let user = client
                .create_user_in(&user_name, account_id.as_deref().unwrap_or_default())
                .await?;
            print_json(&json!({ "User": user_json(&user) }))
        }
        IamCommand::GetUser { user_name } => {
            let user = client.get_user(&name(user_name)).await?;
            print_json(&json!({ "User": user_json(&user) }))
        }
        IamCommand::DeleteUser { user_name } => Ok(client.delete_user(&user_name).await?),
        IamCommand::ListUsers => {
            let users = client.list_users().await?;
            print_json(&json!({ "Users": users.iter().map(user_json).collect::<Vec<_>>() }))
        }
        IamCommand::CreateAccessKey { user_name } => {
            let key = client.create_access_key(&name(user_name)).await?;
            print_json(&json!({ "AccessKey": {
                "UserName": key.user_name,
                "AccessKeyId": key.access_key_id,
                "Status": key.status,
                "SecretAccessKey": key.secret_access_key,
                "CreateDate": key.create_date,
            }}))
        }
        IamCommand::UpdateAccessKey {
            access_key_id,
            status,
            user_name,
        } => Ok(client
            .update_access_key(&name(user_name), &access_key_id, &status)
            .await?),
        IamCommand::DeleteAccessKey {
            access_key_id,
            user_name,
        } => Ok(client
            .delete_access_key(&name(user_name), &access_key_id)
            .await?),
        IamCommand::ListAccessKeys { user_name } => {
            let keys = client.list_access_keys(&name(user_name)).await?;
            let keys: Vec<Value> = keys
                .iter()
                .map(|k| {
                    json!({
                        "UserName": k.user_name,
                        "AccessKeyId": k.access_key_id,
                        "Status": k.status,
                        "CreateDate": k.create_date,
                    })
                })
                .collect();
            print_json(&json!({ "AccessKeyMetadata": keys }))
        }
        IamCommand::AttachUserPolicy {
            user_name,
            policy_arn,
        } => Ok(client.attach_user_policy(&user_name, &policy_arn).await?),
        IamCommand::DetachUserPolicy {
            user_name,
            policy_arn,
        } => Ok(client.detach_user_policy(&user_name, &policy_arn).await?),
        IamCommand::ListAttachedUserPolicies { user_name } => {
            let policies = client.list_attached_user_policies(&user_name).await?;
            let policies: Vec<Value> = policies
                .iter()
                .map(|p| json!({ "PolicyName": p.policy_name, "PolicyArn": p.policy_arn }))
                .collect();
            print_json(&json!({ "AttachedPolicies": policies }))
        }
        IamCommand::PutUserPolicy {
            user_name,
            policy_name,
            policy_document,
        } => {
            let document = document(&policy_document)?;
            Ok(client
                .put_user_policy(&user_name, &policy_name, &document)
                .await?)
        }
        IamCommand::GetUserPolicy {
            user_name,
            policy_name,
        } => {
            let policy = client.get_user_policy(&user_name, &policy_name).await?;
            let document: Value = serde_json::from_str(&policy.policy_document)
                .unwrap_or(Value::String(policy.policy_document));
            print_json(&json!({
                "UserName": policy.user_name,
                "PolicyName": policy.policy_name,
                "PolicyDocument": document,
            }))
        }
        IamCommand::DeleteUserPolicy {
            user_name,
            policy_name,
        } => Ok(client.delete_user_policy(&user_name, &policy_name).await?),
        IamCommand::ListUserPolicies { user_name } => {
            let names = client.list_user_policies(&user_name).await?;
            print_json(&json!({ "PolicyNames": names }))
        }
    }
}

fn account_json(account: &proto::Account) -> Value {
    json!({
        "Id": account.account_id,
        "Name": account.name,
        "CreateDate": account.create_date,
    })
}

pub async fn account(client: &Client, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create { account_id, name } => {
            let created = client.create_account(&account_id, &name).await?;
            let account = created.account.unwrap_or_default();
            let user = created.user.unwrap_or_default();
            let key = created.access_key.unwrap_or_default();
            print_json(&json!({
                "Account": account_json(&account),
                "User": user_json(&user),
                "AccessKey": {
                    "UserName": key.user_name,
                    "AccessKeyId": key.access_key_id,
                    "Status": key.status,
                    "SecretAccessKey": key.secret_access_key,
                    "CreateDate": key.create_date,
                },
            }))
        }
        AccountCommand::List => {
            let accounts = client.list_accounts().await?;
            let accounts: Vec<Value> = accounts.iter().map(account_json).collect();
            print_json(&json!({ "Accounts": accounts }))
        }
    }
}

pub async fn sts(client: &Client, command: StsCommand) -> anyhow::Result<()> {
    match command {
        StsCommand::GetCallerIdentity => {
            let me = client.get_caller_identity().await?;
            print_json(&json!({
                "UserId": me.user_id,
                "Account": me.account,
                "Arn": me.arn,
            }))
        }
    }
}
