//! The server's configuration, validated before anything starts.

use std::path::PathBuf;
use std::time::Duration;

pub use funnel_runtime::RuntimeConfig;
use funnel_runtime::config::seconds;
use serde::Deserialize;

/// Everything `run` needs to serve. Built by the CLI from its flags (and,
/// later, a config file: unknown keys are refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database and the compiled-code cache live.
    pub data_dir: PathBuf,
    /// The region in ARNs (`arn:funnel:lambda:<region>:...`).
    pub region: String,
    /// The 12-digit account id in ARNs.
    pub account_id: String,
    /// The master key that seals secrets (64 hex digits); default
    /// `<data_dir>/master.key`, made on first start.
    pub master_key_file: Option<PathBuf>,
    /// TLS on the API port.
    pub tls: TlsConfig,
    /// Serve a non-loopback address without TLS (a lab network).
    pub insecure_listen: bool,
    /// How long shutdown waits for in-flight calls before giving up on them.
    #[serde(with = "seconds")]
    pub shutdown_grace: Duration,
    /// The API port's connections and calls.
    pub api: ApiConfig,
    /// The HTTP door (function URLs).
    pub http: HttpConfig,
    pub store: StoreConfig,
    pub runtime: RuntimeConfig,
    pub logs: LogsConfig,
    pub queue: QueueConfig,
    pub concurrency: ConcurrencyConfig,
    pub metrics: MetricsConfig,
    pub buckets: BucketsConfig,
    pub dlq: DlqConfig,
    pub quotas: crate::quotas::QuotasConfig,
    /// Tracing: sampling, the embedded store's bounds, the OTLP export.
    pub tracing: TracingConfig,
}

/// The API port's limits: a client (or many) cannot hold more of the
/// server than these.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Connections open at once; past it the listener waits for one to
    /// close before it accepts another.
    pub max_connections: usize,
    /// Calls in flight on one connection (HTTP/2 streams).
    pub max_concurrent_streams: u32,
    /// How long a call may take to answer (seconds in the config file;
    /// default 16 minutes: a 900 s invoke and its start). A live tail's
    /// stream outlasts it: the bound is on its answer's start.
    #[serde(with = "seconds")]
    pub request_timeout: Duration,
    /// HTTP/2 pings to an idle connection, and how long an answer may take
    /// before the connection is dropped (seconds).
    #[serde(with = "seconds")]
    pub keepalive_interval: Duration,
    #[serde(with = "seconds")]
    pub keepalive_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_connections: 1024,
            max_concurrent_streams: 256,
            request_timeout: Duration::from_secs(960),
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
        }
    }
}

/// The HTTP door's limits: slow or many clients cannot hold more of the
/// server than these.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Connections open at once; past it the listener waits for one to
    /// close before it accepts another.
    pub max_connections: usize,
    /// How long a client may take to send a request's head (seconds).
    #[serde(with = "seconds")]
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body (seconds).
    #[serde(with = "seconds")]
    pub body_timeout: Duration,
    /// The base of the URLs handed out (`https://fn.example.com`), when
    /// clients reach the listener through a proxy or another name; by
    /// default, the listener's own address.
    pub public_url: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            public_url: None,
        }
    }
}

/// The store and its disk.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Below this much free space (MB) on the data dir's disk, calls that
    /// write are refused (`InsufficientStorageException`).
    pub min_free_mb: u64,
    /// What an acknowledged write survives.
    pub durability: Durability,
}

/// What an acknowledged write survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// The process being killed (sled's flush: written, not yet through
    /// the disk's cache).
    #[default]
    Process,
    /// A power cut too: every flush also fsyncs the store's files and
    /// folder, and an object's folder after its rename.
    Power,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            min_free_mb: 256,
            durability: Durability::Process,
        }
    }
}

/// Dead letters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DlqConfig {
    /// Dead letters older than this are deleted (hours in the config file;
    /// default 14 days, SQS's longest retention).
    #[serde(with = "hours")]
    pub retention: Duration,
}

impl Default for DlqConfig {
    fn default() -> Self {
        DlqConfig {
            retention: Duration::from_secs(14 * 24 * 3600),
        }
    }
}

/// Where bucket folders may lie.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BucketsConfig {
    /// Folders under which the operator may put a bucket (besides the data
    /// dir's `buckets`).
    pub roots: Vec<PathBuf>,
}

/// The Prometheus endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where to serve `GET /metrics` (OpenMetrics text); off when unset.
    pub listen: Option<std::net::SocketAddr>,
    /// The bearer token scrapers send (`Authorization: Bearer <token>`);
    /// required for a non-loopback `listen`.
    pub token: Option<String>,
}

/// TLS on the API port: a certificate and key (PEM), or a self-signed set
/// made once in the data dir.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// What clients must trust for `cert` (written into the credentials
    /// file); none: the system's roots.
    pub ca_bundle: Option<PathBuf>,
    pub self_signed: bool,
}

/// Lambda's concurrency accounting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConcurrencyConfig {
    /// Concurrent executions the account may run (default 1000, as
    /// Lambda's). Each also needs an instance slot (`runtime.max_instances`).
    pub account_limit: u32,
}

impl Default for ConcurrencyConfig {
    fn default() -> Self {
        ConcurrencyConfig {
            account_limit: 1000,
        }
    }
}

/// The async invocation queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Async events delivered at once; default: one function's share of
    /// `runtime.max_instances` (`runtime.max_share`), at most 64. 0 accepts events but delivers none (for benchmarks).
    pub workers: Option<usize>,
    /// Invocations one function may have waiting; past it an async invoke
    /// or a publish to it is throttled.
    pub max_events_per_function: u64,
    /// Invocations one account's functions may have waiting, together.
    pub max_events_per_account: u64,
}

impl QueueConfig {
    pub fn caps(&self) -> crate::queue::QueueCaps {
        crate::queue::QueueCaps {
            per_function: self.max_events_per_function,
            per_account: self.max_events_per_account,
        }
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        let caps = crate::queue::QueueCaps::default();
        QueueConfig {
            workers: None,
            max_events_per_function: caps.per_function,
            max_events_per_account: caps.per_account,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Log events older than this are deleted (hours in the config file).
    #[serde(with = "hours")]
    pub retention: Duration,
    /// A log group's oldest events are deleted past this size.
    pub max_group_mb: u64,
}

/// `tracing.*`: X-Ray's default sampling rule, and where spans go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// The share of new traces recorded past the reservoir, 0 to 1; 0
    /// turns tracing off (nothing recorded, not even a caller's sampled
    /// trace).
    pub sample_rate: f64,
    /// New traces recorded each second before the rate applies.
    pub reservoir_per_second: u32,
    /// Traces older than this are deleted (hours in the config file).
    #[serde(with = "hours")]
    pub retention: Duration,
    /// Past this size the oldest traces are deleted.
    pub max_mb: u64,
    /// An OTLP/gRPC collector every span is also sent to
    /// (`--otlp-endpoint`), e.g. `http://127.0.0.1:4317`.
    pub otlp_endpoint: Option<String>,
}

impl Default for TracingConfig {
    fn default() -> Self {
        TracingConfig {
            sample_rate: 0.05,
            reservoir_per_second: 1,
            retention: Duration::from_secs(24 * 3600),
            max_mb: 64,
            otlp_endpoint: None,
        }
    }
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            retention: Duration::from_secs(7 * 24 * 3600),
            max_group_mb: 64,
        }
    }
}

impl LogsConfig {
    pub fn retention(&self) -> crate::logs::Retention {
        crate::logs::Retention {
            max_age: self.retention,
            max_group_bytes: self.max_group_mb * 1024 * 1024,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(".funnel"),
            region: "local".into(),
            account_id: "000000000000".into(),
            master_key_file: None,
            tls: TlsConfig::default(),
            insecure_listen: false,
            shutdown_grace: Duration::from_secs(30),
            api: ApiConfig::default(),
            http: HttpConfig::default(),
            store: StoreConfig::default(),
            runtime: RuntimeConfig::default(),
            logs: LogsConfig::default(),
            queue: QueueConfig::default(),
            concurrency: ConcurrencyConfig::default(),
            metrics: MetricsConfig::default(),
            buckets: BucketsConfig::default(),
            dlq: DlqConfig::default(),
            quotas: crate::quotas::QuotasConfig::default(),
            tracing: TracingConfig::default(),
        }
    }
}

impl Config {
    /// How many async deliveries run at once: by default one function's
    /// share of the instance slots (so a flood of one function's events
    /// is not throttled by its own share and put off), at most 64.
    pub fn queue_workers(&self) -> usize {
        self.queue
            .workers
            .unwrap_or_else(|| (self.runtime.share_limit() as usize).min(64))
    }

    /// Config with `data_dir`, everything else default.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            ..Config::default()
        }
    }

    /// Refuses a non-loopback API listener without TLS (unless
    /// `insecure_listen`): every call carries an access key.
    pub fn check_listener(&self, addr: std::net::SocketAddr) -> anyhow::Result<()> {
        let tls = self.tls.self_signed || self.tls.cert.is_some();
        crate::tls::check_listener(addr, tls, self.insecure_listen)
    }

    /// Refuses a non-loopback HTTP listener without TLS (unless
    /// `insecure_listen`): a URL of AuthType FUNNEL carries an access key.
    pub fn check_http_listener(&self, addr: std::net::SocketAddr) -> anyhow::Result<()> {
        let tls = self.tls.self_signed || self.tls.cert.is_some();
        if tls || self.insecure_listen || addr.ip().is_loopback() {
            return Ok(());
        }
        anyhow::bail!(
            "refusing to serve HTTP on {addr} without TLS: a function URL of AuthType FUNNEL \
             carries an access key, which would cross the network in clear text. Serve TLS \
             (`--tls self-signed` or `--tls-cert FILE --tls-key FILE` cover both ports), or, on \
             a lab network you trust, pass `--insecure-listen`"
        )
    }

    /// The AWS endpoint's listener: beyond loopback only with TLS (or
    /// `insecure_listen`): SigV4 signs requests but does not hide them.
    pub fn check_aws_listener(&self, addr: std::net::SocketAddr) -> anyhow::Result<()> {
        let tls = self.tls.self_signed || self.tls.cert.is_some();
        if tls || self.insecure_listen || addr.ip().is_loopback() {
            return Ok(());
        }
        anyhow::bail!(
            "refusing to serve the AWS endpoint on {addr} without TLS: payloads, function code \
             and answers would cross the network in clear text. Serve TLS (`--tls self-signed` \
             or `--tls-cert FILE --tls-key FILE`), or, on a lab network you trust, pass \
             `--insecure-listen`"
        )
    }

    /// Checks every field; the error names the field and what is wrong.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::function::{MAX_MEMORY_MB, MIN_MEMORY_MB};
        anyhow::ensure!(
            self.account_id.len() == 12 && self.account_id.bytes().all(|b| b.is_ascii_digit()),
            "account_id must be 12 digits, got {:?}",
            self.account_id
        );
        anyhow::ensure!(
            !self.region.is_empty()
                && self
                    .region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "region must be lowercase letters, digits and '-', got {:?}",
            self.region
        );
        anyhow::ensure!(
            (1..=100_000).contains(&self.runtime.max_instances),
            "runtime.max_instances must be 1..=100000, got {}",
            self.runtime.max_instances
        );
        anyhow::ensure!(
            self.concurrency.account_limit >= crate::concurrency::MIN_UNRESERVED,
            "concurrency.account_limit must be at least {}, got {}",
            crate::concurrency::MIN_UNRESERVED,
            self.concurrency.account_limit
        );
        anyhow::ensure!(
            self.runtime.max_share > 0.0 && self.runtime.max_share <= 1.0,
            "runtime.max_share must be above 0 and at most 1, got {}",
            self.runtime.max_share
        );
        anyhow::ensure!(
            self.api.max_connections >= 1
                && self.api.max_concurrent_streams >= 1
                && !self.api.request_timeout.is_zero()
                && !self.api.keepalive_interval.is_zero()
                && !self.api.keepalive_timeout.is_zero(),
            "api.max_connections, api.max_concurrent_streams, api.request_timeout and the \
             keepalive times must be positive"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.tracing.sample_rate),
            "tracing.sample_rate must be between 0 and 1, not {}",
            self.tracing.sample_rate
        );
        anyhow::ensure!(
            !self.tracing.retention.is_zero() && self.tracing.max_mb > 0,
            "tracing.retention and tracing.max_mb must be positive"
        );
        if let Some(endpoint) = &self.tracing.otlp_endpoint {
            anyhow::ensure!(
                endpoint
                    .parse::<http::Uri>()
                    .is_ok_and(|uri| uri.scheme_str() == Some("http") && uri.host().is_some()),
                "--otlp-endpoint {endpoint:?} is not a URL like http://127.0.0.1:4317 \
                 (OTLP over gRPC, plain HTTP/2: put a TLS collector behind a local agent)"
            );
        }
        anyhow::ensure!(
            !self.logs.retention.is_zero() && self.logs.max_group_mb > 0,
            "logs.retention and logs.max_group_mb must be positive"
        );
        anyhow::ensure!(
            !self.runtime.idle_timeout.is_zero(),
            "runtime.idle_timeout must be at least 1 second"
        );
        anyhow::ensure!(
            (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&self.runtime.max_memory_mb),
            "runtime.max_memory_mb must be {MIN_MEMORY_MB}..={MAX_MEMORY_MB}, got {}",
            self.runtime.max_memory_mb
        );
        if let Some(addr) = self.metrics.listen {
            anyhow::ensure!(
                addr.ip().is_loopback() || self.metrics.token.is_some(),
                "metrics on {addr} (not loopback) need a token: pass --metrics-token, which \
                 scrapers send as `Authorization: Bearer <token>`"
            );
        }
        anyhow::ensure!(
            self.metrics.token.as_ref().is_none_or(|t| !t.is_empty()),
            "metrics.token must not be empty"
        );
        Ok(())
    }
}

mod hours {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(|h| Duration::from_secs(h * 3600))
    }
}
