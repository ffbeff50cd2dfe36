//! The `funnel:function/secrets` import: a guest reading the secrets and
//! parameters its function is granted, and the cache each execution
//! environment keeps of what it read.
//!
//! The runtime knows nothing of vaults or grants' meaning: the server
//! hands it a [`SecretSource`] once its vault is open, and each environment
//! carries its function's name and grants ([`Grantee`]). The source checks
//! the grant (it alone knows how an ARN maps to a name) and reads.
//!
//! What an environment read is kept for [`crate::RuntimeConfig`]'s
//! `secret_cache_ttl` (300 s by default, as AWS's Parameters and Secrets
//! extension) on the runtime's [`Clock`]: a new `AWSCURRENT` reaches a
//! warm environment within that time, and at once in a new environment
//! (`restart-environments`, or any change of the function). Failures are
//! not cached: a secret created after a miss is found on the next read.
//! The cache dies with its environment; values are never logged, and
//! their `Debug` prints only their length.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::bindings::funnel::function::secrets as wit;
use super::bindings::funnel::function::types::FunctionError;
use super::host::Host;
use crate::Clock;

/// The most reads one environment keeps: past it the oldest is dropped
/// (a guest reading ever new names cannot grow the host without bound).
const CACHE_ENTRIES: usize = 256;

/// Who is reading: the function (its key, `<account>:<name>` outside the
/// home account) and what its `SecretAccess` grants.
#[derive(Debug, Clone)]
pub struct Grantee {
    pub function_name: String,
    /// Secret names, parameter names, and prefixes ending in `*`, as the
    /// function's configuration lists them.
    pub granted: Arc<[String]>,
}

/// One version of a secret, as read.
#[derive(Clone, PartialEq, Eq)]
pub struct GuestSecret {
    pub name: String,
    pub arn: String,
    pub version_id: String,
    pub version_stages: Vec<String>,
    pub secret_string: Option<String>,
    pub secret_binary: Option<Vec<u8>>,
}

impl std::fmt::Debug for GuestSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestSecret")
            .field("name", &self.name)
            .field("version_id", &self.version_id)
            .field("version_stages", &self.version_stages)
            .field(
                "secret_string",
                &self.secret_string.as_ref().map(|s| Redacted(s.len())),
            )
            .field(
                "secret_binary",
                &self.secret_binary.as_ref().map(|b| Redacted(b.len())),
            )
            .finish_non_exhaustive()
    }
}

/// A parameter's current version, as read (a `SecureString` decrypted).
#[derive(Clone, PartialEq, Eq)]
pub struct GuestParameter {
    pub name: String,
    pub arn: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    pub value: String,
    pub version: i64,
}

impl std::fmt::Debug for GuestParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestParameter")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("value", &Redacted(self.value.len()))
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A value's stand-in in `Debug` output.
struct Redacted(usize);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes redacted>", self.0)
    }
}

/// Why a read failed: the AWS error name (`AccessDeniedException`,
/// `ResourceNotFoundException`, `ParameterNotFound`, ...) and a message
/// that never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError {
    pub code: String,
    pub message: String,
}

impl SecretError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        SecretError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

pub type SecretFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SecretError>> + Send + 'a>>;

/// Reads secrets and parameters for guests, checking each read against
/// the reader's grants.
pub trait SecretSource: Send + Sync {
    /// A secret by name or ARN at `stage` (`AWSCURRENT` when `None`).
    fn secret<'a>(
        &'a self,
        reader: &'a Grantee,
        id: &'a str,
        stage: Option<&'a str>,
    ) -> SecretFuture<'a, GuestSecret>;

    /// A parameter (`NAME`, or `NAME:VERSION` for one version), decrypted.
    fn parameter<'a>(
        &'a self,
        reader: &'a Grantee,
        name: &'a str,
    ) -> SecretFuture<'a, GuestParameter>;

    /// The parameters under `path` that `reader` is granted, decrypted.
    fn parameters_by_path<'a>(
        &'a self,
        reader: &'a Grantee,
        path: &'a str,
        recursive: bool,
    ) -> SecretFuture<'a, Vec<GuestParameter>>;
}

/// What one read was.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Secret(String, Option<String>),
    Parameter(String),
    Path(String, bool),
}

#[derive(Clone)]
enum Value {
    Secret(GuestSecret),
    Parameter(GuestParameter),
    Path(Vec<GuestParameter>),
}

struct Cached {
    /// When it was read, on the runtime's clock.
    read_at: Duration,
    value: Value,
}

/// One environment's way to its secrets: the source, who it reads as,
/// and what it has read.
pub struct Secrets {
    source: Option<Weak<dyn SecretSource>>,
    reader: Grantee,
    clock: Clock,
    ttl: Duration,
    cache: HashMap<Key, Cached>,
}

impl Secrets {
    pub fn new(
        source: Option<Weak<dyn SecretSource>>,
        reader: Grantee,
        clock: Clock,
        ttl: Duration,
    ) -> Self {
        Secrets {
            source,
            reader,
            clock,
            ttl,
            cache: HashMap::new(),
        }
    }

    pub async fn secret(
        &mut self,
        id: &str,
        stage: Option<&str>,
    ) -> Result<GuestSecret, SecretError> {
        let key = Key::Secret(id.to_string(), stage.map(str::to_string));
        if let Some(Value::Secret(found)) = self.cached(&key) {
            return Ok(found);
        }
        let source = self.source()?;
        let found = source.secret(&self.reader, id, stage).await?;
        self.keep(key, Value::Secret(found.clone()));
        Ok(found)
    }

    pub async fn parameter(&mut self, name: &str) -> Result<GuestParameter, SecretError> {
        let key = Key::Parameter(name.to_string());
        if let Some(Value::Parameter(found)) = self.cached(&key) {
            return Ok(found);
        }
        let source = self.source()?;
        let found = source.parameter(&self.reader, name).await?;
        self.keep(key, Value::Parameter(found.clone()));
        Ok(found)
    }

    pub async fn parameters_by_path(
        &mut self,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<GuestParameter>, SecretError> {
        let key = Key::Path(path.to_string(), recursive);
        if let Some(Value::Path(found)) = self.cached(&key) {
            return Ok(found);
        }
        let source = self.source()?;
        let found = source
            .parameters_by_path(&self.reader, path, recursive)
            .await?;
        self.keep(key, Value::Path(found.clone()));
        Ok(found)
    }

    fn source(&self) -> Result<Arc<dyn SecretSource>, SecretError> {
        self.source.as_ref().and_then(Weak::upgrade).ok_or_else(|| {
            SecretError::new(
                "InternalServiceError",
                "secrets are not available in this server",
            )
        })
    }

    /// A read still fresh on the runtime's clock.
    fn cached(&self, key: &Key) -> Option<Value> {
        let cached = self.cache.get(key)?;
        let age = self.clock.now().saturating_sub(cached.read_at);
        (age < self.ttl).then(|| cached.value.clone())
    }

    fn keep(&mut self, key: Key, value: Value) {
        if self.ttl.is_zero() {
            return;
        }
        let now = self.clock.now();
        if self.cache.len() >= CACHE_ENTRIES && !self.cache.contains_key(&key) {
            let oldest = self
                .cache
                .iter()
                .min_by_key(|(_, cached)| cached.read_at)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.cache.remove(&oldest);
            }
        }
        self.cache.insert(
            key,
            Cached {
                read_at: now,
                value,
            },
        );
    }
}

fn guest_error(err: SecretError) -> FunctionError {
    FunctionError {
        error_type: err.code,
        error_message: err.message,
    }
}

fn wit_parameter(p: GuestParameter) -> wit::Parameter {
    wit::Parameter {
        name: p.name,
        arn: p.arn,
        kind: p.kind,
        value: p.value,
        version: p.version,
    }
}

impl wit::Host for Host {
    async fn get_secret(
        &mut self,
        name: String,
        stage: Option<String>,
    ) -> Result<wit::Secret, FunctionError> {
        let secret = self
            .secrets
            .secret(&name, stage.as_deref())
            .await
            .map_err(guest_error)?;
        Ok(wit::Secret {
            name: secret.name,
            arn: secret.arn,
            version_id: secret.version_id,
            version_stages: secret.version_stages,
            secret_string: secret.secret_string,
            secret_binary: secret.secret_binary,
        })
    }

    async fn get_parameter(&mut self, name: String) -> Result<wit::Parameter, FunctionError> {
        self.secrets
            .parameter(&name)
            .await
            .map(wit_parameter)
            .map_err(guest_error)
    }

    async fn get_parameters_by_path(
        &mut self,
        path: String,
        recursive: bool,
    ) -> Result<Vec<wit::Parameter>, FunctionError> {
        self.secrets
            .parameters_by_path(&path, recursive)
            .await
            .map(|found| found.into_iter().map(wit_parameter).collect())
            .map_err(guest_error)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A source holding one secret whose value a test changes, counting
    /// its reads; it grants what the reader lists, exactly.
    struct Fake {
        value: Mutex<String>,
        reads: AtomicUsize,
    }

    impl Fake {
        fn granted(reader: &Grantee, name: &str) -> Result<(), SecretError> {
            if reader.granted.iter().any(|g| g == name) {
                Ok(())
            } else {
                Err(SecretError::new(
                    "AccessDeniedException",
                    format!("{} is not granted {name}", reader.function_name),
                ))
            }
        }
    }

    impl SecretSource for Fake {
        fn secret<'a>(
            &'a self,
            reader: &'a Grantee,
            id: &'a str,
            stage: Option<&'a str>,
        ) -> SecretFuture<'a, GuestSecret> {
            Box::pin(async move {
                Fake::granted(reader, id)?;
                if id != "db-pass" {
                    return Err(SecretError::new("ResourceNotFoundException", id));
                }
                self.reads.fetch_add(1, Ordering::Relaxed);
                Ok(GuestSecret {
                    name: id.into(),
                    arn: format!("arn:funnel:secretsmanager:local:000000000000:secret:{id}"),
                    version_id: "v".into(),
                    version_stages: vec![stage.unwrap_or("AWSCURRENT").into()],
                    secret_string: Some(self.value.lock().unwrap().clone()),
                    secret_binary: None,
                })
            })
        }

        fn parameter<'a>(
            &'a self,
            reader: &'a Grantee,
            name: &'a str,
        ) -> SecretFuture<'a, GuestParameter> {
            Box::pin(async move {
                Fake::granted(reader, name)?;
                self.reads.fetch_add(1, Ordering::Relaxed);
                Ok(GuestParameter {
                    name: name.into(),
                    arn: String::new(),
                    kind: "SecureString".into(),
                    value: format!("value of {name}"),
                    version: 1,
                })
            })
        }

        fn parameters_by_path<'a>(
            &'a self,
            _reader: &'a Grantee,
            _path: &'a str,
            _recursive: bool,
        ) -> SecretFuture<'a, Vec<GuestParameter>> {
            Box::pin(async move { Ok(Vec::new()) })
        }
    }

    fn setup(
        granted: &[&str],
        ttl: Duration,
    ) -> (Arc<Fake>, Arc<dyn SecretSource>, Secrets, Clock) {
        let fake = Arc::new(Fake {
            value: Mutex::new("one".into()),
            reads: AtomicUsize::new(0),
        });
        let source: Arc<dyn SecretSource> = fake.clone();
        let clock = Clock::manual();
        let secrets = Secrets::new(
            Some(Arc::downgrade(&source)),
            Grantee {
                function_name: "reader".into(),
                granted: granted.iter().map(|g| g.to_string()).collect(),
            },
            clock.clone(),
            ttl,
        );
        (fake, source, secrets, clock)
    }

    #[tokio::test]
    async fn a_read_is_kept_until_its_ttl_passes_on_the_clock() {
        let ttl = Duration::from_secs(300);
        let (fake, _source, mut secrets, clock) = setup(&["db-pass"], ttl);
        let read = |s: GuestSecret| s.secret_string.unwrap();
        assert_eq!(read(secrets.secret("db-pass", None).await.unwrap()), "one");
        *fake.value.lock().unwrap() = "two".into();
        clock.advance(ttl - Duration::from_secs(1));
        assert_eq!(read(secrets.secret("db-pass", None).await.unwrap()), "one");
        assert_eq!(
            fake.reads.load(Ordering::Relaxed),
            1,
            "served from the cache"
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(read(secrets.secret("db-pass", None).await.unwrap()), "two");
        assert_eq!(fake.reads.load(Ordering::Relaxed), 2);
        // Another stage is another read.
        secrets
            .secret("db-pass", Some("AWSPREVIOUS"))
            .await
            .unwrap();
        assert_eq!(fake.reads.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn refusals_and_misses_are_not_kept() {
        let (fake, _source, mut secrets, _clock) =
            setup(&["db-pass", "missing"], Duration::from_secs(300));
        let denied = secrets.secret("other", None).await.unwrap_err();
        assert_eq!(denied.code, "AccessDeniedException");
        assert!(denied.message.contains("other"), "{denied:?}");
        let missing = secrets.secret("missing", None).await.unwrap_err();
        assert_eq!(missing.code, "ResourceNotFoundException");
        assert!(secrets.cache.is_empty());
        assert_eq!(fake.reads.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_every_time_and_the_cache_is_bounded() {
        let (fake, _source, mut secrets, _clock) = setup(&["db-pass"], Duration::ZERO);
        secrets.secret("db-pass", None).await.unwrap();
        secrets.secret("db-pass", None).await.unwrap();
        assert_eq!(fake.reads.load(Ordering::Relaxed), 2);

        let names: Vec<String> = (0..CACHE_ENTRIES + 10).map(|i| format!("p{i}")).collect();
        let granted: Vec<&str> = names.iter().map(String::as_str).collect();
        let (_fake, _source, mut secrets, clock) = setup(&granted, Duration::from_secs(300));
        for name in &names {
            clock.advance(Duration::from_millis(1));
            secrets.parameter(name).await.unwrap();
        }
        assert_eq!(secrets.cache.len(), CACHE_ENTRIES);
        assert!(!secrets.cache.contains_key(&Key::Parameter("p0".into())));
    }

    #[tokio::test]
    async fn without_a_source_a_read_fails_cleanly() {
        let (fake, source, mut secrets, _clock) = setup(&["db-pass"], Duration::from_secs(1));
        drop((fake, source));
        let err = secrets.secret("db-pass", None).await.unwrap_err();
        assert_eq!(err.code, "InternalServiceError");
    }

    #[tokio::test]
    async fn references_resolve_through_the_grants_and_no_error_shows_a_value() {
        let (fake, _source, mut secrets, _clock) =
            setup(&["db-pass", "/app/url"], Duration::from_secs(300));
        *fake.value.lock().unwrap() = r#"{"password":"hunter2","port":5432}"#.into();
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let resolved = crate::references::resolve(
            &env(&[
                ("PLAIN", "as is"),
                (
                    "PASS",
                    "{{resolve:secretsmanager:db-pass:SecretString:password}}",
                ),
                (
                    "PORT",
                    "{{resolve:secretsmanager:db-pass:SecretString:port}}",
                ),
                ("URL", "at {{resolve:ssm:/app/url}}!"),
                ("WHOLE", "{{resolve:secretsmanager:db-pass}}"),
            ]),
            &mut secrets,
        )
        .await
        .unwrap();
        assert_eq!(
            resolved,
            env(&[
                ("PLAIN", "as is"),
                ("PASS", "hunter2"),
                ("PORT", "5432"),
                ("URL", "at value of /app/url!"),
                ("WHOLE", r#"{"password":"hunter2","port":5432}"#),
            ])
        );

        let refused = |pairs: &[(&str, &str)]| {
            let env = env(pairs);
            let mut secrets = Secrets::new(
                secrets.source.clone(),
                secrets.reader.clone(),
                secrets.clock.clone(),
                Duration::ZERO,
            );
            async move {
                crate::references::resolve(&env, &mut secrets)
                    .await
                    .unwrap_err()
            }
        };
        let denied = refused(&[("OTHER", "{{resolve:secretsmanager:other}}")]).await;
        assert_eq!(denied.code, "AccessDeniedException");
        assert!(
            denied.message.contains("OTHER") && denied.message.contains("other"),
            "{denied:?}"
        );
        let no_key = refused(&[(
            "PASS",
            "{{resolve:secretsmanager:db-pass:SecretString:user}}",
        )])
        .await;
        assert!(no_key.message.contains("no key user"), "{no_key:?}");
        *fake.value.lock().unwrap() = "hunter2 is not json".into();
        let not_json = refused(&[(
            "PASS",
            "{{resolve:secretsmanager:db-pass:SecretString:password}}",
        )])
        .await;
        for err in [&denied, &no_key, &not_json] {
            assert!(!err.message.contains("hunter2"), "{err:?}");
        }
    }

    #[test]
    fn debug_output_holds_no_value() {
        let secret = GuestSecret {
            name: "db-pass".into(),
            arn: String::new(),
            version_id: "v".into(),
            version_stages: vec![],
            secret_string: Some("hunter2".into()),
            secret_binary: Some(b"hunter2".to_vec()),
        };
        let printed = format!("{secret:?}");
        assert!(
            !printed.contains("hunter2") && printed.contains("7 bytes"),
            "{printed}"
        );
        let parameter = GuestParameter {
            name: "/app/x".into(),
            arn: String::new(),
            kind: "SecureString".into(),
            value: "hunter2".into(),
            version: 1,
        };
        assert!(!format!("{parameter:?}").contains("hunter2"));
    }
}
