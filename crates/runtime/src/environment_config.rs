//! [`EnvironmentConfig`]: what defines an execution environment, and how
//! it prints (never the variables' values).

use std::time::Duration;

/// Everything that defines an execution environment: if any of it changes,
/// new environments are started and the old ones retired.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    pub function_name: String,
    pub function_version: String,
    pub code_sha256: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub ephemeral_storage_mb: u32,
    /// The function's variables plus the runtime's (`AWS_LAMBDA_...`).
    pub environment: Vec<(String, String)>,
    /// The folder the guest sees, read-only, at `/opt` (its layers).
    pub opt_dir: Option<std::path::PathBuf>,
    /// Buckets the guest sees at `/buckets/<name>`.
    pub buckets: Vec<BucketMount>,
    /// Topics the guest may publish to (names).
    pub topics: Vec<String>,
    /// Secrets and parameters the guest may read (`SecretAccess`: names
    /// and prefixes ending in `*`).
    pub secret_access: Vec<String>,
}

/// Variables' values are left out: they may be credentials (and once
/// resolved, secrets).
impl std::fmt::Debug for EnvironmentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variables: Vec<&str> = self.environment.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("EnvironmentConfig")
            .field("function_name", &self.function_name)
            .field("function_version", &self.function_version)
            .field("code_sha256", &self.code_sha256)
            .field("memory_mb", &self.memory_mb)
            .field("timeout", &self.timeout)
            .field("ephemeral_storage_mb", &self.ephemeral_storage_mb)
            .field("environment", &variables)
            .field("opt_dir", &self.opt_dir)
            .field("buckets", &self.buckets)
            .field("topics", &self.topics)
            .field("secret_access", &self.secret_access)
            .finish()
    }
}

/// A bucket's folder in a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketMount {
    pub name: String,
    pub path: std::path::PathBuf,
    pub writable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variables may hold credentials (or, once resolved, secrets): what
    /// funnel prints of a configuration names them, never their values.
    #[test]
    fn a_configurations_debug_shows_variable_names_only() {
        let config = EnvironmentConfig {
            function_name: "api".into(),
            function_version: "$LATEST".into(),
            code_sha256: "00".into(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            ephemeral_storage_mb: 512,
            environment: vec![("DB_PASS".into(), "hunter2".into())],
            opt_dir: None,
            buckets: Vec::new(),
            topics: Vec::new(),
            secret_access: vec!["db-pass".into()],
        };
        let printed = format!("{config:?}");
        assert!(
            printed.contains("DB_PASS") && printed.contains("db-pass"),
            "{printed}"
        );
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
