//! Reading funnel's secrets (Secrets Manager's model) and parameters
//! (Parameter Store's) from a function: only those its `SecretAccess`
//! grants.
//!
//! ```ignore
//! use funnel_function::secrets;
//!
//! let password = secrets::get("db-pass")?;          // AWSCURRENT
//! let previous = secrets::get_stage("db-pass", "AWSPREVIOUS")?;
//! let url = secrets::parameter("/app/db-url")?;      // a SecureString decrypted
//! for p in secrets::parameters_by_path("/app", true)? {
//!     println!("{} is set", p.name);                 // never print p.value
//! }
//! connect(password.as_str().unwrap_or_default(), &url.value);
//! ```
//!
//! What a function reads is cached in its execution environment (300 s by
//! default): a new `AWSCURRENT` reaches a warm environment within that
//! time, and at once after `funnel function restart-environments`. A
//! secret or parameter the function is not granted fails with
//! `AccessDeniedException`, a missing one with `ResourceNotFoundException`
//! (secrets) or `ParameterNotFound` (parameters); with `?` in a handler the
//! error becomes the invocation's. `Debug` of a value prints only its
//! length, so a stray `{:?}` does not put it in the function's log.

use std::fmt;

use crate::Error;
use crate::bindings::funnel::function::secrets as wit;

/// One version of a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    pub version_id: String,
    /// `AWSCURRENT`, `AWSPREVIOUS`, custom labels.
    pub version_stages: Vec<String>,
    /// The value of a secret that holds a string.
    pub secret_string: Option<String>,
    /// The value of a secret that holds bytes.
    pub secret_binary: Option<Vec<u8>>,
}

impl Secret {
    /// The string value (`None` for a binary secret).
    pub fn as_str(&self) -> Option<&str> {
        self.secret_string.as_deref()
    }

    /// The value's bytes, whichever kind it is.
    pub fn as_bytes(&self) -> &[u8] {
        match (&self.secret_string, &self.secret_binary) {
            (Some(text), _) => text.as_bytes(),
            (None, Some(bytes)) => bytes,
            (None, None) => &[],
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("version_id", &self.version_id)
            .field("version_stages", &self.version_stages)
            .field("value", &Redacted(self.as_bytes().len()))
            .finish()
    }
}

/// A parameter's value (a `SecureString` decrypted).
#[derive(Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub arn: String,
    /// SSM's `Type`: `String`, `StringList` or `SecureString`.
    pub kind: String,
    pub value: String,
    pub version: i64,
}

impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parameter")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("kind", &self.kind)
            .field("value", &Redacted(self.value.len()))
            .field("version", &self.version)
            .finish()
    }
}

struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes redacted>", self.0)
    }
}

/// The `AWSCURRENT` version of the secret `name` (a name or an ARN).
pub fn get(name: &str) -> Result<Secret, Error> {
    read_secret(name, None)
}

/// The version of the secret `name` labelled `stage` (`AWSPREVIOUS`, a
/// custom label).
pub fn get_stage(name: &str, stage: &str) -> Result<Secret, Error> {
    read_secret(name, Some(stage))
}

fn read_secret(name: &str, stage: Option<&str>) -> Result<Secret, Error> {
    let secret = wit::get_secret(name, stage).map_err(error)?;
    Ok(Secret {
        name: secret.name,
        arn: secret.arn,
        version_id: secret.version_id,
        version_stages: secret.version_stages,
        secret_string: secret.secret_string,
        secret_binary: secret.secret_binary,
    })
}

/// The parameter `name` (`NAME:VERSION` for one version), decrypted.
pub fn parameter(name: &str) -> Result<Parameter, Error> {
    wit::get_parameter(name).map(parameter_of).map_err(error)
}

/// The parameters under `path` (one level, or all below when `recursive`)
/// that the function is granted; the others are left out.
pub fn parameters_by_path(path: &str, recursive: bool) -> Result<Vec<Parameter>, Error> {
    wit::get_parameters_by_path(path, recursive)
        .map(|found| found.into_iter().map(parameter_of).collect())
        .map_err(error)
}

fn parameter_of(p: wit::Parameter) -> Parameter {
    Parameter {
        name: p.name,
        arn: p.arn,
        kind: p.kind,
        value: p.value,
        version: p.version,
    }
}

fn error(err: crate::bindings::funnel::function::types::FunctionError) -> Error {
    Error::new(err.error_type, err.error_message)
}
