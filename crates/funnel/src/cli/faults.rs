//! `funnel fault …`: faults injected on purpose into a function's calls.

use clap::{Subcommand, ValueEnum};
use funnel_client::{Client, proto};
use serde_json::{Value, json};

use super::print_json;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FaultKind {
    /// A function error of --error-type, as if the guest returned it.
    Error,
    /// The call times out (after the function's timeout); its
    /// environment is retired.
    Timeout,
    /// TooManyRequestsException: the call does not run.
    Throttle,
    /// The call starts --latency-ms later.
    Latency,
    /// The call is a cold start whose init fails.
    InitError,
}

impl FaultKind {
    fn as_str(self) -> &'static str {
        match self {
            FaultKind::Error => "error",
            FaultKind::Timeout => "timeout",
            FaultKind::Throttle => "throttle",
            FaultKind::Latency => "latency",
            FaultKind::InitError => "init-error",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// Start injecting a fault into a function's calls; prints it, with
    /// its id. Each injected outcome is marked in the function's log
    /// (INJECTED FAULT: ...) and in funnel_injected_faults_total.
    Put {
        #[arg(long)]
        function: String,
        /// Only calls of this alias or version.
        #[arg(long)]
        qualifier: Option<String>,
        #[arg(long, value_enum)]
        kind: FaultKind,
        /// The share of calls it hits, 0 to 1.
        #[arg(long)]
        rate: f64,
        /// For error (default InjectedFault) and init-error (default
        /// Runtime.InitError).
        #[arg(long)]
        error_type: Option<String>,
        /// For latency: how much later each call it hits starts.
        #[arg(long)]
        latency_ms: Option<u64>,
        /// Stop acting after this long on the server's clock (30s, 10m,
        /// 3h, 2d ...).
        #[arg(long, value_parser = super::parse_since)]
        until: Option<std::time::Duration>,
        /// Make its decisions reproducible: the same calls in the same
        /// order meet the same faults.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// List the account's faults.
    List,
    /// Stop injecting a fault.
    Delete { id: String },
}

fn view(fault: &proto::Fault) -> Value {
    json!({
        "Id": fault.id,
        "FunctionName": fault.function_name,
        "Qualifier": fault.qualifier,
        "Kind": fault.kind,
        "Rate": fault.rate,
        "ErrorType": fault.error_type,
        "LatencyMs": fault.latency_ms,
        "Until": fault.until,
        "Seed": fault.seed,
        "Expired": fault.expired,
    })
}

pub async fn fault(client: &Client, command: FaultCommand) -> anyhow::Result<()> {
    match command {
        FaultCommand::Put {
            function,
            qualifier,
            kind,
            rate,
            error_type,
            latency_ms,
            until,
            seed,
        } => {
            let fault = client
                .put_fault(proto::PutFaultRequest {
                    function_name: function,
                    qualifier: qualifier.unwrap_or_default(),
                    kind: kind.as_str().into(),
                    rate,
                    error_type: error_type.unwrap_or_default(),
                    latency_ms: latency_ms.unwrap_or_default(),
                    until_milliseconds: until
                        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                    seed,
                })
                .await?;
            print_json(&view(&fault))
        }
        FaultCommand::List => {
            let faults = client.list_faults().await?;
            print_json(&json!({ "Faults": faults.iter().map(view).collect::<Vec<_>>() }))
        }
        FaultCommand::Delete { id } => {
            client.delete_fault(&id).await?;
            Ok(())
        }
    }
}
