//! The `funnel` command line. Verbs follow `aws lambda`; every verb but
//! `serve`/`up` is a thin call of the client SDK (nothing bypasses the API).
//! Results go to stdout (JSON, pretty on a terminal); errors go to stderr
//! with their AWS error name, and any error — a function error included —
//! exits non-zero.

use std::io::{IsTerminal, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::{Args, Parser, Subcommand};
use funnel_client::{Client, proto};
use serde_json::{Value, json};

mod admin;
mod apis;
mod asynchronous;
pub mod aws_profile;
mod buckets;
mod code;
mod diff;
mod faults;
mod iam;
mod permissions;
mod recordings;
mod releases;
mod rules;
mod secrets;
mod topics;
mod traces;
mod urls;

pub use admin::{AdminCommand, restore, rotate_master_key};
pub use asynchronous::{DlqCommand, EventInvokeArgs};
pub use releases::{AliasCommand, LayerCommand, zip_folder};

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:7878";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

#[derive(Debug, Parser)]
#[command(
    name = "funnel",
    version,
    about = "A self-hosted, Lambda-style function platform"
)]
pub struct Cli {
    /// The server to talk to (default: the profile's `endpoint`, else
    /// http://127.0.0.1:7878).
    #[arg(long, global = true, env = "FUNNEL_ENDPOINT")]
    pub endpoint: Option<String>,
    /// The credentials profile (as the aws CLI's): in
    /// FUNNEL_SHARED_CREDENTIALS_FILE, ./.funnel/credentials or
    /// ~/.funnel/credentials.
    #[arg(long, global = true, env = "FUNNEL_PROFILE")]
    pub profile: Option<String>,
    /// The CA certificates (PEM) an https endpoint is checked against
    /// (default: FUNNEL_CA_BUNDLE, the profile's `ca_bundle`, else the
    /// system's roots).
    #[arg(long, global = true)]
    pub ca_bundle: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Serve with the embedded default (./.funnel) and deploy ./funnel.toml if present.
    Up(UpArgs),
    /// Create, inspect, change and delete functions.
    #[command(subcommand)]
    Function(FunctionCommand),
    /// Run a function and print its response.
    Invoke(InvokeArgs),
    /// Read function logs.
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Name versions, and shift traffic between two.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Publish and manage layers (shared files mounted at /opt).
    #[command(subcommand)]
    Layer(LayerCommand),
    /// Print metrics (OpenMetrics text): one function's and the account's,
    /// or all.
    Metrics { name: Option<String> },
    /// Async events that failed with nowhere else to go.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// S3-style buckets over folders, and which functions hear of their
    /// objects.
    #[command(subcommand)]
    Bucket(buckets::BucketCommand),
    /// Put, get, list and delete a bucket's objects.
    #[command(subcommand)]
    Object(buckets::ObjectCommand),
    /// SNS-style topics: subscribe functions, publish messages.
    #[command(subcommand)]
    Topic(topics::TopicCommand),
    /// Secrets Manager-style secrets: versions, staging labels, deletion
    /// with a recovery window (as `aws secretsmanager`).
    #[command(subcommand, name = "secretsmanager")]
    Secretsmanager(secrets::SecretsCommand),
    /// Parameter Store-style parameters: String, StringList, SecureString,
    /// versions, reads by path (as `aws ssm`).
    #[command(subcommand)]
    Ssm(secrets::SsmCommand),
    /// EventBridge-style schedule rules: rate(...) and cron(...) fires
    /// sent to functions.
    #[command(subcommand)]
    Rule(rules::RuleCommand),
    /// API Gateway-style routes: HTTP requests to functions by method and
    /// path, on the account's API (as `aws apigatewayv2`).
    #[command(subcommand)]
    Api(apis::ApiCommand),
    /// The server's clock; a virtual one (funnel up --clock virtual) moves
    /// only when told.
    #[command(subcommand)]
    Clock(rules::ClockCommand),
    /// Inject faults into a function's calls on purpose (errors,
    /// timeouts, throttles, latency, init errors), at a rate.
    #[command(subcommand)]
    Fault(faults::FaultCommand),
    /// Record the events that reach functions, with their outcomes
    /// (start, stop, list, show, export, import, delete).
    #[command(subcommand)]
    Record(recordings::RecordCommand),
    /// Send a recording's events again to a function (a new recording of
    /// the outcomes), or compare two recordings (replay diff A B).
    Replay(recordings::ReplayArgs),
    /// Traces: one request's path through every trigger hop, with where
    /// the time went (kept by the server; also sent to --otlp-endpoint).
    #[command(subcommand)]
    Traces(traces::TracesCommand),
    /// Package a source folder as a function's component (runs here, not
    /// on the server).
    Build(BuildArgs),
    /// Write a profile for the aws CLI and SDKs (`[profile funnel]` in
    /// ~/.aws/config, its key in ~/.aws/credentials) pointing at funnel's
    /// AWS endpoint; runs here, not on the server.
    AwsProfile(aws_profile::AwsProfileArgs),
    /// Users, access keys and their policies (as `aws iam`).
    #[command(subcommand)]
    Iam(iam::IamCommand),
    /// Who the CLI is calling as (as `aws sts`).
    #[command(subcommand)]
    Sts(iam::StsCommand),
    /// Accounts, the tenant unit (the operator creates them).
    #[command(subcommand)]
    Account(iam::AccountCommand),
    /// Operating the install: records set aside in the quarantine, backups
    /// and restores.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Deploy a stack file (idempotent).
    Deploy {
        /// The stack file, e.g. funnel.toml.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Print a function's recent log events, and with --follow keep printing
    /// new ones (like `aws logs tail`).
    Tail {
        /// The function (its log group is /aws/lambda/NAME).
        name: String,
        /// Keep printing new events until interrupted.
        #[arg(long)]
        follow: bool,
        /// How far back to start: 30s, 10m, 2h, 1d ...
        #[arg(long, default_value = "10m", value_parser = parse_since)]
        since: std::time::Duration,
        /// Only events matching this filter pattern (terms, "phrases", -not, ?any).
        #[arg(long)]
        filter: Option<String>,
    },
    /// List the account's log groups, every page (as `aws logs
    /// describe-log-groups`).
    DescribeLogGroups {
        /// Only groups whose names start with this (e.g. /aws/lambda/api-).
        #[arg(long)]
        log_group_name_prefix: Option<String>,
    },
    /// List a log group's streams, every page (as `aws logs
    /// describe-log-streams`).
    DescribeLogStreams {
        /// A function (its group is /aws/lambda/NAME), or a group's name
        /// (starting with /) or ARN.
        group: String,
        /// Only streams whose names start with this.
        #[arg(long)]
        log_stream_name_prefix: Option<String>,
        /// LogStreamName (the default) or LastEventTime.
        #[arg(long)]
        order_by: Option<String>,
        /// Newest (or last by name) first.
        #[arg(long)]
        descending: bool,
    },
}

/// `30s`, `10m`, `2h`, `1d`, `1w` (as `aws logs tail --since`).
pub(crate) fn parse_since(s: &str) -> Result<std::time::Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a number and a unit like 10m, got {s:?}"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {s:?}: use s, m, h, d or w"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(n * seconds))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Where the database and compiled code live.
    #[arg(long, default_value = ".funnel")]
    pub data_dir: PathBuf,
    /// Where the HTTP door (function URLs) listens; `off` for none.
    #[arg(long, default_value = DEFAULT_HTTP_LISTEN, value_parser = parse_http_listen)]
    pub http_listen: HttpListen,
    /// Where the AWS-compatible endpoint (the aws CLI and SDKs, SigV4)
    /// listens; `off` for none.
    #[arg(long, default_value = DEFAULT_AWS_LISTEN, value_parser = parse_http_listen)]
    pub aws_listen: HttpListen,
    /// Serve Prometheus metrics (OpenMetrics text) at http://ADDR/metrics.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// `real`, or `virtual[=START]` (RFC 3339; now by default): every
    /// time-based behaviour then runs on a clock that moves only with
    /// `funnel clock advance|set`.
    #[arg(long, default_value = "real", value_parser = parse_clock)]
    pub clock: ClockArg,
    /// The master key that seals the stored secrets (64 hex digits);
    /// default: DATA_DIR/master.key, made on first start.
    #[arg(long, env = "FUNNEL_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// `self-signed`: serve TLS with a certificate made once into
    /// DATA_DIR/tls (its CA goes into the credentials file as `ca_bundle`).
    #[arg(long, value_enum, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: Option<TlsMode>,
    /// Serve TLS with this certificate chain (PEM); with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The CA certificates (PEM) clients need to trust --tls-cert, written
    /// as `ca_bundle` in the credentials file (default: the system's roots).
    #[arg(long, requires = "tls_cert")]
    pub tls_ca_bundle: Option<PathBuf>,
    /// Listen on a non-loopback address without TLS (access keys then
    /// cross the network in clear text: a lab network only).
    #[arg(long)]
    pub insecure_listen: bool,
    /// The bearer token /metrics requires (needed for a non-loopback
    /// --metrics-listen).
    #[arg(long, env = "FUNNEL_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// A folder under which buckets may be placed (`bucket create --path`);
    /// repeatable. `up` adds its stack file's folder. Without one, buckets
    /// live under DATA_DIR/buckets.
    #[arg(long = "bucket-root", value_name = "DIR")]
    pub bucket_roots: Vec<PathBuf>,
    /// Also send every span to this OpenTelemetry collector, over OTLP/gRPC
    /// (e.g. http://127.0.0.1:4317, Jaeger's all-in-one).
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// `tracing.sample_rate`: the share of new traces recorded after each
    /// second's reservoir, 0 to 1 (default 0.05; 0 turns tracing off).
    #[arg(long, value_name = "RATE")]
    pub trace_sample_rate: Option<f64>,
    /// `tracing.reservoir_per_second`: new traces recorded each second
    /// before the rate applies (default 1).
    #[arg(long, value_name = "N")]
    pub trace_reservoir_per_second: Option<u32>,
}

/// Where the HTTP door listens by default.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:7879";
pub const DEFAULT_AWS_LISTEN: &str = "127.0.0.1:7880";

/// `--http-listen`: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpListen {
    Off,
    At(SocketAddr),
}

fn parse_http_listen(s: &str) -> Result<HttpListen, String> {
    if s == "off" {
        return Ok(HttpListen::Off);
    }
    s.parse()
        .map(HttpListen::At)
        .map_err(|e| format!("{s:?} is not an address like 127.0.0.1:7879 (or `off`): {e}"))
}

/// `--tls`'s one mode (a certificate of one's own goes through
/// `--tls-cert`/`--tls-key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    SelfSigned,
}

impl ServeArgs {
    /// The server configuration these flags ask for.
    pub fn config(&self) -> funnel_server::Config {
        let mut config = funnel_server::Config::with_data_dir(&self.data_dir);
        config.metrics.listen = self.metrics_listen;
        config.metrics.token = self.metrics_token.clone();
        config.master_key_file = self.master_key_file.clone();
        config.tls = funnel_server::config::TlsConfig {
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            ca_bundle: self.tls_ca_bundle.clone(),
            self_signed: self.tls == Some(TlsMode::SelfSigned),
        };
        config.insecure_listen = self.insecure_listen;
        config.buckets.roots = self.bucket_roots.clone();
        config.tracing.otlp_endpoint = self.otlp_endpoint.clone();
        if let Some(rate) = self.trace_sample_rate {
            config.tracing.sample_rate = rate;
        }
        if let Some(reservoir) = self.trace_reservoir_per_second {
            config.tracing.reservoir_per_second = reservoir;
        }
        config
    }
}

/// Which clock the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockArg {
    Real,
    /// Starting at this wall time.
    Virtual(std::time::SystemTime),
}

impl ClockArg {
    pub fn clock(self) -> funnel_server::Clock {
        match self {
            ClockArg::Real => funnel_server::Clock::system(),
            ClockArg::Virtual(start) => funnel_server::Clock::manual_at(start),
        }
    }
}

/// `real`, `virtual` or `virtual=2027-01-01T00:00:00Z`.
fn parse_clock(s: &str) -> Result<ClockArg, String> {
    match s.split_once('=') {
        None if s == "real" => Ok(ClockArg::Real),
        None if s == "virtual" => {
            // Now, to the second: times read better without a fraction.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?;
            Ok(ClockArg::Virtual(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.as_secs()),
            ))
        }
        Some(("virtual", start)) => {
            let start = chrono::DateTime::parse_from_rfc3339(start).map_err(|e| {
                format!("virtual={start}: not an RFC 3339 time like 2027-01-01T00:00:00Z ({e})")
            })?;
            Ok(ClockArg::Virtual(start.with_timezone(&chrono::Utc).into()))
        }
        _ => Err(format!(
            "expected real, virtual or virtual=START (RFC 3339), got {s:?}"
        )),
    }
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The source folder (a Python or Node.js handler's modules, or a Rust
    /// crate).
    pub dir: PathBuf,
    /// python, nodejs or rust.
    #[arg(long)]
    pub runtime: String,
    /// MODULE.FUNCTION: lambda_function.lambda_handler (Python, the
    /// default there), index.handler (Node.js, the default there).
    #[arg(long)]
    pub handler: Option<String>,
    /// Where to write the component.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

impl BuildArgs {
    pub fn run(&self) -> anyhow::Result<()> {
        let language = funnel_build::Language::parse(&self.runtime)?;
        let handler = self
            .handler
            .clone()
            .unwrap_or_else(|| language.default_handler().to_string());
        funnel_build::build(&self.dir, language, &handler, &self.output)?;
        eprintln!("funnel: wrote {}", self.output.display());
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The stack to deploy once the server is up (skipped if missing).
    #[arg(long, default_value = "funnel.toml")]
    pub stack: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum FunctionCommand {
    /// Create a function from a component (.wasm).
    Create {
        name: String,
        /// A component (.wasm), or a source folder to build first (see
        /// --runtime and --handler).
        #[arg(long)]
        code: PathBuf,
        #[command(flatten)]
        source: code::SourceArgs,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show a function's configuration.
    Get {
        name: String,
        /// A version number or $LATEST.
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Delete a function (with all its versions), or one version.
    Delete {
        name: String,
        /// Delete only this version.
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Publish $LATEST as a new, immutable version.
    PublishVersion {
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Publish only if $LATEST is still at this RevisionId.
        #[arg(long)]
        revision_id: Option<String>,
    },
    /// List $LATEST and the published versions.
    ListVersions { name: String },
    /// List functions.
    List,
    /// Replace a function's code.
    UpdateCode {
        name: String,
        /// A component (.wasm), or a source folder to build first (with
        /// the function's Runtime and Handler unless given).
        #[arg(long)]
        code: PathBuf,
        #[command(flatten)]
        source: code::SourceArgs,
        /// Update only if the function is still at this RevisionId.
        #[arg(long)]
        revision_id: Option<String>,
    },
    /// Reserve concurrency for a function: its floor and its cap (0
    /// throttles every call).
    #[command(alias = "put-function-concurrency")]
    PutConcurrency {
        name: String,
        #[arg(long)]
        reserved_concurrent_executions: i32,
    },
    /// Show a function's reserved concurrency.
    #[command(alias = "get-function-concurrency")]
    GetConcurrency { name: String },
    /// Remove a function's reserved concurrency.
    #[command(alias = "delete-function-concurrency")]
    DeleteConcurrency { name: String },
    /// Keep N environments of a version or alias initialized and warm.
    #[command(alias = "put-provisioned-concurrency-config")]
    PutProvisionedConcurrency {
        name: String,
        #[arg(long)]
        qualifier: String,
        #[arg(long)]
        provisioned_concurrent_executions: i32,
    },
    /// Show a version's or alias's provisioned concurrency and its status.
    #[command(alias = "get-provisioned-concurrency-config")]
    GetProvisionedConcurrency {
        name: String,
        #[arg(long)]
        qualifier: String,
    },
    /// Remove a version's or alias's provisioned concurrency.
    #[command(alias = "delete-provisioned-concurrency-config")]
    DeleteProvisionedConcurrency {
        name: String,
        #[arg(long)]
        qualifier: String,
    },
    /// Let a trigger's service (or an account) invoke the function.
    AddPermission(permissions::PermissionArgs),
    /// Remove a statement from the function's policy.
    RemovePermission {
        name: String,
        #[arg(long)]
        statement_id: String,
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Give the function (or an alias) a URL on the HTTP listener; prints
    /// its FunctionUrl.
    #[command(alias = "create-function-url-config")]
    CreateUrlConfig(urls::UrlConfigArgs),
    /// Show a function's (or alias's) URL config.
    #[command(alias = "get-function-url-config")]
    GetUrlConfig {
        name: String,
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Change a URL config's AuthType, Cors or InvokeMode (the URL stays).
    #[command(alias = "update-function-url-config")]
    UpdateUrlConfig(urls::UrlConfigArgs),
    /// Remove a function's (or alias's) URL.
    #[command(alias = "delete-function-url-config")]
    DeleteUrlConfig {
        name: String,
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// List the URL configs of a function and its aliases.
    #[command(alias = "list-function-url-configs")]
    ListUrlConfigs { name: String },
    /// Show the function's resource policy.
    GetPolicy {
        name: String,
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Set how async events are retried, how old they may get, and where
    /// their records go (unset settings back to defaults).
    PutEventInvokeConfig(EventInvokeArgs),
    /// Change only the given async settings.
    UpdateEventInvokeConfig(EventInvokeArgs),
    /// Show a function's async settings.
    GetEventInvokeConfig {
        name: String,
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Remove a function's async settings.
    DeleteEventInvokeConfig {
        name: String,
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Retire every execution environment of a function (all versions)
    /// at once: the next calls start afresh and read their secrets and
    /// {{resolve:...}} variables anew instead of waiting out the cache.
    RestartEnvironments { name: String },
    /// Change a function's configuration (only the flags given).
    UpdateConfig {
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
        /// Update only if the function is still at this RevisionId.
        #[arg(long)]
        revision_id: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Memory in MB (128-10240).
    #[arg(long)]
    pub memory: Option<i32>,
    /// Timeout in seconds (1-900).
    #[arg(long)]
    pub timeout: Option<i32>,
    /// Size of /tmp in MB (512-10240).
    #[arg(long)]
    pub ephemeral_storage: Option<i32>,
    /// An environment variable, KEY=VALUE (repeat for more; on update-config
    /// the given set replaces the old one).
    #[arg(long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
    #[arg(long)]
    pub description: Option<String>,
    /// Layer version ARNs, in order (up to 5); on update-config the list
    /// replaces the old one, and `--layers` alone removes every layer.
    #[arg(long, num_args = 0..)]
    pub layers: Option<Vec<String>>,
    /// A bucket the guest sees at /buckets/NAME: NAME=read or
    /// NAME=read-write (repeat for more; on update-config the given set
    /// replaces the old one, and `--bucket-access` alone removes them all).
    #[arg(long, num_args = 0.., value_parser = parse_key_value)]
    pub bucket_access: Option<Vec<(String, String)>>,
    /// Topics (names or ARNs) the guest may publish to; on update-config
    /// the list replaces the old one, and `--topic-access` alone removes
    /// them all.
    #[arg(long, num_args = 0..)]
    pub topic_access: Option<Vec<String>>,
    /// Secrets and parameters the guest may read: names and prefixes
    /// ending in * (`db-pass,/app/*`; `secretsmanager:` or `ssm:` before
    /// one grants that kind only). On update-config the list replaces the
    /// old one, and `--secret-access` alone removes them all.
    #[arg(long, num_args = 0.., value_delimiter = ',')]
    pub secret_access: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    pub name: String,
    /// The event: JSON, @FILE, or - for stdin.
    #[arg(long)]
    pub payload: Option<String>,
    /// `tail` to also print the last 4 KB of the log (to stderr).
    #[arg(long, value_parser = ["tail", "Tail", "none", "None"])]
    pub log_type: Option<String>,
    /// RequestResponse (default), Event (queued; prints the request id) or
    /// DryRun (checks the call, runs nothing).
    #[arg(long, value_parser = ["RequestResponse", "Event", "DryRun"])]
    pub invocation_type: Option<String>,
    /// A version or alias; default $LATEST.
    #[arg(long)]
    pub qualifier: Option<String>,
}

/// Grants as given: empty items (`a,,b`, a trailing comma) are dropped.
fn secret_access(names: Vec<String>) -> proto::SecretAccess {
    proto::SecretAccess {
        names: names
            .into_iter()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect(),
    }
}

fn bucket_access(grants: Vec<(String, String)>) -> proto::BucketAccess {
    proto::BucketAccess {
        buckets: grants.into_iter().collect(),
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// Where a client verb connects, from the global flags.
pub struct Target<'a> {
    pub endpoint: Option<&'a str>,
    pub profile: Option<&'a str>,
    pub ca_bundle: Option<&'a Path>,
}

/// Connects as the aws CLI would: credentials from the environment or the
/// profile; the endpoint and CA bundle from the flag, then the environment
/// or the profile, else the default.
pub async fn connect(target: Target<'_>) -> anyhow::Result<Client> {
    let mut found = funnel_client::Profile::discover(target.profile).map_err(anyhow::Error::msg)?;
    let endpoint = target
        .endpoint
        .map(str::to_string)
        .or(found.endpoint.take())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    if let Some(bundle) = target.ca_bundle {
        found.ca_bundle = Some(bundle.to_path_buf());
    }
    Ok(Client::connect_profile(endpoint, &found).await?)
}

/// Runs a client verb (everything but `serve`/`up`).
pub async fn run_client(target: Target<'_>, command: Command) -> anyhow::Result<()> {
    let client = connect(target).await?;
    match command {
        Command::Iam(command) => iam::iam(&client, command).await,
        Command::Sts(command) => iam::sts(&client, command).await,
        Command::Account(command) => iam::account(&client, command).await,
        Command::Admin(command) => admin::admin(&client, command).await,
        Command::Function(command) => function(&client, command).await,
        Command::Invoke(args) => invoke(&client, args).await,
        Command::Alias(command) => releases::alias(&client, command).await,
        Command::Layer(command) => releases::layer(&client, command).await,
        Command::Dlq(command) => asynchronous::dlq(&client, command).await,
        Command::Bucket(command) => buckets::bucket(&client, command).await,
        Command::Object(command) => buckets::object(&client, command).await,
        Command::Topic(command) => topics::topic(&client, command).await,
        Command::Secretsmanager(command) => secrets::secretsmanager(&client, command).await,
        Command::Ssm(command) => secrets::ssm(&client, command).await,
        Command::Rule(command) => rules::rule(&client, command).await,
        Command::Api(command) => apis::api(&client, command).await,
        Command::Clock(command) => rules::clock(&client, command).await,
        Command::Fault(command) => faults::fault(&client, command).await,
        Command::Record(command) => recordings::record(&client, command).await,
        Command::Replay(args) => recordings::replay(&client, args).await,
        Command::Traces(command) => traces::traces(&client, command).await,
        Command::Metrics { name } => {
            print!("{}", client.get_metrics(&name.unwrap_or_default()).await?);
            Ok(())
        }
        Command::Logs(LogsCommand::Tail {
            name,
            follow,
            since,
            filter,
        }) => logs_tail(&client, &name, follow, since, filter.unwrap_or_default()).await,
        Command::Logs(LogsCommand::DescribeLogGroups {
            log_group_name_prefix,
        }) => describe_log_groups(&client, log_group_name_prefix.unwrap_or_default()).await,
        Command::Logs(LogsCommand::DescribeLogStreams {
            group,
            log_stream_name_prefix,
            order_by,
            descending,
        }) => {
            let request = proto::DescribeLogStreamsRequest {
                // A function's name, or a group's name or ARN.
                log_group_identifier: if group.starts_with('/') || group.starts_with("arn:") {
                    group
                } else {
                    funnel_client::log_group(&group)
                },
                log_stream_name_prefix: log_stream_name_prefix.unwrap_or_default(),
                order_by: order_by.unwrap_or_default(),
                descending,
                ..Default::default()
            };
            describe_log_streams(&client, request).await
        }
        Command::Deploy { file } => {
            for (name, change) in crate::stack::deploy(&client, &file).await? {
                eprintln!("{name}: {change}");
            }
            Ok(())
        }
        Command::Serve(_) | Command::Up(_) | Command::Build(_) | Command::AwsProfile(_) => {
            bail!("serve, up, build and aws-profile are not client verbs")
        }
    }
}

async fn function(client: &Client, command: FunctionCommand) -> anyhow::Result<()> {
    match command {
        FunctionCommand::Create {
            name,
            code,
            source,
            config,
        } => {
            let code = code::load(&code, &source).await?;
            let created = client
                .create_function(proto::CreateFunctionRequest {
                    function_name: name,
                    code: Some(proto::FunctionCode {
                        zip_file: code.component,
                    }),
                    runtime: code.runtime,
                    handler: code.handler,
                    description: config.description.unwrap_or_default(),
                    memory_size: config.memory,
                    timeout: config.timeout,
                    ephemeral_storage: config
                        .ephemeral_storage
                        .map(|size| proto::EphemeralStorage { size }),
                    environment: Some(environment(config.env)),
                    layers: config.layers.unwrap_or_default(),
                    bucket_access: config.bucket_access.map(bucket_access),
                    topic_access: config
                        .topic_access
                        .map(|topics| proto::TopicAccess { topics }),
                    secret_access: config.secret_access.map(secret_access),
                })
                .await?;
            print_json(&configuration_json(&created))
        }
        FunctionCommand::Get { name, qualifier } => {
            let found = client.get_function(&qualified(&name, qualifier)).await?;
            print_json(&funnel_client::json::function(&found))
        }
        FunctionCommand::Delete { name, qualifier } => {
            client.delete_function(&qualified(&name, qualifier)).await?;
            Ok(())
        }
        FunctionCommand::PublishVersion {
            name,
            description,
            revision_id,
        } => {
            let published = client
                .publish_version(proto::PublishVersionRequest {
                    function_name: name,
                    description: description.unwrap_or_default(),
                    code_sha256: String::new(),
                    revision_id: revision_id.unwrap_or_default(),
                })
                .await?;
            print_json(&configuration_json(&published))
        }
        FunctionCommand::ListVersions { name } => {
            let mut versions = Vec::new();
            let mut marker = String::new();
            loop {
                let page = client
                    .list_versions_by_function(&name, &marker, None)
                    .await?;
                versions.extend(page.versions.iter().map(configuration_json));
                if page.next_marker.is_empty() {
                    break;
                }
                marker = page.next_marker;
            }
            print_json(&json!({ "Versions": versions }))
        }
        FunctionCommand::List => {
            let all = client.list_all_functions().await?;
            print_json(
                &json!({"Functions": all.iter().map(configuration_json).collect::<Vec<_>>()}),
            )
        }
        FunctionCommand::UpdateCode {
            name,
            code,
            mut source,
            revision_id,
        } => {
            if code.is_dir() {
                // Rebuild as the function was built, unless told otherwise.
                let current = client.get_function(&name).await?.configuration;
                if let Some(current) = current {
                    let keep = |given: Option<String>, stored: String| {
                        given.or((!stored.is_empty()).then_some(stored))
                    };
                    source.runtime = keep(source.runtime, current.runtime);
                    source.handler = keep(source.handler, current.handler);
                }
            }
            let built = code.is_dir();
            let code = code::load(&code, &source).await?;
            let mut updated = client
                .update_function_code_with(proto::UpdateFunctionCodeRequest {
                    function_name: name.clone(),
                    zip_file: code.component,
                    revision_id: revision_id.unwrap_or_default(),
                })
                .await?;
            if built && (updated.runtime != code.runtime || updated.handler != code.handler) {
                updated = client
                    .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
                        function_name: name,
                        runtime: Some(code.runtime),
                        handler: Some(code.handler),
                        ..Default::default()
                    })
                    .await?;
            }
            print_json(&configuration_json(&updated))
        }
        FunctionCommand::PutConcurrency {
            name,
            reserved_concurrent_executions,
        } => {
            let reserved = client
                .put_function_concurrency(&name, reserved_concurrent_executions)
                .await?;
            print_json(&json!({ "ReservedConcurrentExecutions": reserved }))
        }
        FunctionCommand::GetConcurrency { name } => {
            let reserved = client.get_function_concurrency(&name).await?;
            print_json(&json!({ "ReservedConcurrentExecutions": reserved }))
        }
        FunctionCommand::DeleteConcurrency { name } => {
            client.delete_function_concurrency(&name).await?;
            Ok(())
        }
        FunctionCommand::PutProvisionedConcurrency {
            name,
            qualifier,
            provisioned_concurrent_executions,
        } => {
            let config = client
                .put_provisioned_concurrency_config(
                    &name,
                    &qualifier,
                    provisioned_concurrent_executions,
                )
                .await?;
            print_json(&funnel_client::json::provisioned_concurrency(&config))
        }
        FunctionCommand::GetProvisionedConcurrency { name, qualifier } => {
            let config = client
                .get_provisioned_concurrency_config(&name, &qualifier)
                .await?;
            print_json(&funnel_client::json::provisioned_concurrency(&config))
        }
        FunctionCommand::DeleteProvisionedConcurrency { name, qualifier } => {
            client
                .delete_provisioned_concurrency_config(&name, &qualifier)
                .await?;
            Ok(())
        }
        FunctionCommand::AddPermission(args) => permissions::add_permission(client, args).await,
        FunctionCommand::RemovePermission {
            name,
            statement_id,
            qualifier,
        } => {
            client
                .remove_permission(&name, &statement_id, &qualifier.unwrap_or_default())
                .await?;
            Ok(())
        }
        FunctionCommand::CreateUrlConfig(args) => urls::create(client, args).await,
        FunctionCommand::GetUrlConfig { name, qualifier } => {
            urls::get(client, &name, qualifier).await
        }
        FunctionCommand::UpdateUrlConfig(args) => urls::update(client, args).await,
        FunctionCommand::DeleteUrlConfig { name, qualifier } => {
            client
                .delete_function_url_config(&name, &qualifier.unwrap_or_default())
                .await?;
            Ok(())
        }
        FunctionCommand::ListUrlConfigs { name } => urls::list(client, &name).await,
        FunctionCommand::GetPolicy { name, qualifier } => {
            permissions::get_policy(client, &name, &qualifier.unwrap_or_default()).await
        }
        FunctionCommand::PutEventInvokeConfig(args) => {
            asynchronous::put_event_invoke_config(client, args, true).await
        }
        FunctionCommand::UpdateEventInvokeConfig(args) => {
            asynchronous::put_event_invoke_config(client, args, false).await
        }
        FunctionCommand::GetEventInvokeConfig { name, qualifier } => {
            asynchronous::get_event_invoke_config(client, &name, qualifier).await
        }
        FunctionCommand::DeleteEventInvokeConfig { name, qualifier } => {
            client
                .delete_function_event_invoke_config(&name, &qualifier.unwrap_or_default())
                .await?;
            Ok(())
        }
        FunctionCommand::RestartEnvironments { name } => {
            let retired = client.restart_environments(&name).await?;
            print_json(&json!({ "FunctionName": name, "RetiredEnvironments": retired }))
        }
        FunctionCommand::UpdateConfig {
            name,
            config,
            revision_id,
        } => {
            let updated = client
                .update_function_configuration(proto::UpdateFunctionConfigurationRequest {
                    function_name: name,
                    description: config.description,
                    memory_size: config.memory,
                    timeout: config.timeout,
                    ephemeral_storage: config
                        .ephemeral_storage
                        .map(|size| proto::EphemeralStorage { size }),
                    environment: (!config.env.is_empty()).then(|| environment(config.env)),
                    revision_id: revision_id.unwrap_or_default(),
                    layers: config.layers.map(|arns| proto::LayerArns { arns }),
                    bucket_access: config.bucket_access.map(bucket_access),
                    topic_access: config
                        .topic_access
                        .map(|topics| proto::TopicAccess { topics }),
                    secret_access: config.secret_access.map(secret_access),
                    runtime: None,
                    handler: None,
                })
                .await?;
            print_json(&configuration_json(&updated))
        }
    }
}

async fn invoke(client: &Client, args: InvokeArgs) -> anyhow::Result<()> {
    let payload = match args.payload.as_deref() {
        None => Vec::new(),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading the payload from stdin")?;
            buf
        }
        Some(arg) => match arg.strip_prefix('@') {
            Some(file) => {
                std::fs::read(file).with_context(|| format!("reading the payload from {file}"))?
            }
            None => arg.as_bytes().to_vec(),
        },
    };
    let log_type = match args.log_type.as_deref() {
        Some("tail" | "Tail") => "Tail",
        _ => "None",
    };
    let out = client
        .invoke(proto::InvokeRequest {
            function_name: args.name,
            invocation_type: args.invocation_type.unwrap_or_default(),
            log_type: log_type.into(),
            client_context: String::new(),
            payload,
            qualifier: args.qualifier.unwrap_or_default(),
        })
        .await?;
    if !out.log_result.is_empty() {
        let log = base64::engine::general_purpose::STANDARD
            .decode(&out.log_result)
            .context("the server sent a LogResult that is not base64")?;
        std::io::stderr().write_all(&log)?;
    }
    if out.status_code != 200 {
        // 202 (queued) or 204 (dry run): no payload, the request id says which.
        print_json(&json!({"StatusCode": out.status_code, "RequestId": out.request_id}))?;
    }
    if !out.payload.is_empty() {
        match serde_json::from_slice::<Value>(&out.payload) {
            Ok(value) => print_json(&value)?,
            Err(_) => {
                std::io::stdout().write_all(&out.payload)?;
                println!();
            }
        }
    }
    if !out.function_error.is_empty() {
        bail!("the function failed ({})", out.function_error);
    }
    Ok(())
}

async fn logs_tail(
    client: &Client,
    name: &str,
    follow: bool,
    since: std::time::Duration,
    filter: String,
) -> anyhow::Result<()> {
    let group = funnel_client::log_group(name);
    // Subscribe before reading history, so nothing falls between the two.
    let mut live = if follow {
        Some(
            client
                .start_live_tail(proto::StartLiveTailRequest {
                    log_group_identifiers: vec![group.clone()],
                    log_stream_names: Vec::new(),
                    log_event_filter_pattern: filter.clone(),
                })
                .await?,
        )
    } else {
        None
    };
    let start = chrono::Utc::now() - chrono::Duration::from_std(since).unwrap_or_default();
    let mut last_id = String::new();
    let mut token = String::new();
    loop {
        let page = client
            .filter_log_events(proto::FilterLogEventsRequest {
                log_group_name: group.clone(),
                log_stream_names: Vec::new(),
                start_time: Some(start.timestamp_millis()),
                end_time: None,
                filter_pattern: filter.clone(),
                limit: None,
                next_token: token,
                log_stream_name_prefix: String::new(),
            })
            .await;
        let page = match page {
            // A function that never logged has no log group yet: it has
            // nothing to show (following it waits for its first lines);
            // a name that is no function is the error.
            Err(err) if err.error_type.as_deref() == Some("ResourceNotFoundException") => {
                client.get_function(name).await?;
                break;
            }
            page => page?,
        };
        for event in &page.events {
            print_event(event.timestamp, &event.log_stream_name, &event.message);
            last_id.clone_from(&event.event_id);
        }
        if page.next_token.is_empty() {
            break;
        }
        token = page.next_token;
    }
    let Some(live) = live.as_mut() else {
        return Ok(());
    };
    while let Some(update) = live.message().await.map_err(funnel_client::Error::from)? {
        for event in update.session_results {
            // Ids order events: skip what the history already printed.
            if event.event_id > last_id {
                print_event(event.timestamp, &event.log_stream_name, &event.message);
            }
        }
    }
    Ok(())
}

/// Every page of the account's log groups, as `aws logs
/// describe-log-groups` prints them.
async fn describe_log_groups(client: &Client, prefix: String) -> anyhow::Result<()> {
    let mut request = proto::DescribeLogGroupsRequest {
        log_group_name_prefix: prefix,
        ..Default::default()
    };
    let mut groups = Vec::new();
    loop {
        let page = client.describe_log_groups(request.clone()).await?;
        groups.extend(page.log_groups.iter().map(funnel_client::json::log_group));
        if page.next_token.is_empty() {
            return print_json(&json!({ "logGroups": groups }));
        }
        request.next_token = page.next_token;
    }
}

/// Every page of a group's streams, as `aws logs describe-log-streams`
/// prints them.
async fn describe_log_streams(
    client: &Client,
    mut request: proto::DescribeLogStreamsRequest,
) -> anyhow::Result<()> {
    let mut streams = Vec::new();
    loop {
        let page = client.describe_log_streams(request.clone()).await?;
        streams.extend(page.log_streams.iter().map(funnel_client::json::log_stream));
        if page.next_token.is_empty() {
            return print_json(&json!({ "logStreams": streams }));
        }
        request.next_token = page.next_token;
    }
}

/// One event as `aws logs tail` prints it: time, stream, message.
fn print_event(timestamp_ms: i64, stream: &str, message: &str) {
    let time = chrono::DateTime::from_timestamp_millis(timestamp_ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string())
        .unwrap_or_default();
    println!("{time} {stream} {message}");
}

/// `name:qualifier`, as Lambda accepts a qualified FunctionName.
fn qualified(name: &str, qualifier: Option<String>) -> String {
    match qualifier {
        Some(q) => format!("{name}:{q}"),
        None => name.to_string(),
    }
}

fn environment(vars: Vec<(String, String)>) -> proto::Environment {
    proto::Environment {
        variables: vars.into_iter().collect(),
    }
}

/// A configuration with Lambda's field names, as `aws lambda` prints it.
/// Lambda's JSON of a function's configuration (shared with the server's
/// AWS endpoint).
pub fn configuration_json(c: &proto::FunctionConfiguration) -> Value {
    funnel_client::json::configuration(c)
}

/// JSON to stdout: pretty on a terminal, one line otherwise.
fn print_json(value: &Value) -> anyhow::Result<()> {
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)?
    } else {
        value.to_string()
    };
    println!("{text}");
    Ok(())
}
