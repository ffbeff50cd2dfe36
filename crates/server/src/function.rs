//! What a function is allowed to be: Lambda's limits and naming rules, and
//! the ARNs that name functions.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

pub const MIN_MEMORY_MB: u32 = 128;
pub const MAX_MEMORY_MB: u32 = funnel_runtime::config::MAX_MEMORY_MB;
pub const DEFAULT_MEMORY_MB: u32 = 128;
pub const MIN_TIMEOUT_S: u32 = 1;
pub const MAX_TIMEOUT_S: u32 = 900;
pub const DEFAULT_TIMEOUT_S: u32 = 3;
pub const MIN_EPHEMERAL_STORAGE_MB: u32 = 512;
pub const MAX_EPHEMERAL_STORAGE_MB: u32 = 10_240;
pub const DEFAULT_EPHEMERAL_STORAGE_MB: u32 = 512;
/// Lambda's limit on a synchronous request payload.
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6_291_456;
/// Lambda's limit on an asynchronous event (256 KB).
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 262_144;
/// Lambda's limit on all environment variables together.
pub const MAX_ENVIRONMENT_BYTES: usize = 4_096;
pub const MAX_DESCRIPTION_CHARS: usize = 256;
/// The only version until versions are published.
pub const LATEST: &str = "$LATEST";

/// Variables Lambda sets itself and refuses to let a function override.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// `[a-zA-Z0-9-_]{1,64}`, as Lambda's FunctionName.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameterValue(format!(
            "FunctionName {name:?} is invalid: it must be 1 to 64 characters of letters, digits, '-' and '_'"
        )))
    }
}

pub fn validate_memory(mb: i32) -> Result<u32> {
    u32::try_from(mb)
        .ok()
        .filter(|mb| (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(mb))
        .ok_or_else(|| {
            Error::InvalidParameterValue(format!(
                "MemorySize {mb} is out of range: it must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB} MB"
            ))
        })
}

pub fn validate_timeout(seconds: i32) -> Result<u32> {
    u32::try_from(seconds)
        .ok()
        .filter(|s| (MIN_TIMEOUT_S..=MAX_TIMEOUT_S).contains(s))
        .ok_or_else(|| {
            Error::InvalidParameterValue(format!(
                "Timeout {seconds} is out of range: it must be between {MIN_TIMEOUT_S} and {MAX_TIMEOUT_S} seconds"
            ))
        })
}

pub fn validate_ephemeral_storage(mb: i32) -> Result<u32> {
    u32::try_from(mb)
        .ok()
        .filter(|mb| (MIN_EPHEMERAL_STORAGE_MB..=MAX_EPHEMERAL_STORAGE_MB).contains(mb))
        .ok_or_else(|| {
            Error::InvalidParameterValue(format!(
                "EphemeralStorage.Size {mb} is out of range: it must be between \
                 {MIN_EPHEMERAL_STORAGE_MB} and {MAX_EPHEMERAL_STORAGE_MB} MB"
            ))
        })
}

pub fn validate_description(description: &str) -> Result<()> {
    let chars = description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(Error::InvalidParameterValue(format!(
            "Description is {chars} characters long: at most {MAX_DESCRIPTION_CHARS} are allowed"
        )));
    }
    Ok(())
}

/// Keys as Lambda accepts them (`[a-zA-Z]([a-zA-Z0-9_])+`, not reserved),
/// and at most 4 KB in all.
pub fn validate_environment(variables: &BTreeMap<String, String>) -> Result<()> {
    for key in variables.keys() {
        let mut bytes = key.bytes();
        let ok = key.len() >= 2
            && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return Err(Error::InvalidParameterValue(format!(
                "Environment variable name {key:?} is invalid: it must match [a-zA-Z]([a-zA-Z0-9_])+"
            )));
        }
        if RESERVED_ENV.contains(&key.as_str()) {
            return Err(Error::InvalidParameterValue(format!(
                "Environment variable {key} is reserved: funnel sets it for every function"
            )));
        }
    }
    // A {{resolve:...}} reference is checked now, resolved only when an
    // environment starts (the message quotes no value).
    for (key, value) in variables {
        funnel_runtime::references::parse_references(value).map_err(|why| {
            Error::InvalidParameterValue(format!("Environment variable {key}: {why}"))
        })?;
    }
    let size: usize = variables.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ENVIRONMENT_BYTES {
        return Err(Error::InvalidParameterValue(format!(
            "Environment variables take {size} bytes: at most {MAX_ENVIRONMENT_BYTES} are allowed"
        )));
    }
    Ok(())
}

/// Builds and reads function ARNs for one region and account:
/// `arn:funnel:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
#[derive(Debug, Clone)]
pub struct Naming {
    pub region: String,
    /// The account names resolve in (a caller's; the home account for the
    /// server's own naming).
    pub account_id: String,
    /// The server's home account: its resources' keys are their names
    /// ([`crate::tenancy`]).
    pub home: String,
}

/// A function named by a caller: its name and the qualifier, if the ARN or
/// the name carried one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

pub const INVALID_TOPIC_NAME: &str =
    "Invalid parameter: Topic Name: must be 1-256 characters of letters, digits, '-' and '_'";

/// SNS's topic names: `[A-Za-z0-9_-]{1,256}`.
pub fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Lambda's `Runtime` names funnel knows (a prefix matches `python3.12`,
/// `nodejs20.x`, `provided.al2023`), and `Handler`'s shape.
pub fn validate_runtime(runtime: &str, handler: &str) -> Result<()> {
    const KNOWN: &[&str] = &["python", "nodejs", "provided", "rust"];
    if !runtime.is_empty() && !KNOWN.iter().any(|k| runtime.starts_with(k)) {
        return Err(Error::InvalidParameterValue(format!(
            "Runtime {runtime:?} is not one funnel knows: python (python3.x), nodejs (nodejs20.x ...), \
             rust or provided"
        )));
    }
    if handler.len() > 128 || handler.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidParameterValue(format!(
            "Handler {handler:?} is not valid: at most 128 characters, no spaces (MODULE.FUNCTION)"
        )));
    }
    Ok(())
}

/// EventBridge's rule names: `[.\-_A-Za-z0-9]{1,64}`.
pub fn valid_rule_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Where an async invocation's record goes (`OnSuccess`/`OnFailure`):
/// told apart once, from the ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination<'a> {
    /// A function ARN (checked when it is used: the function may be
    /// created later).
    Function(&'a str),
    /// A topic of this server, by key.
    Topic(String),
}

impl Naming {
    /// The server's naming: names resolve in the home account.
    pub fn home(region: &str, home: &str) -> Naming {
        Naming {
            region: region.into(),
            account_id: home.into(),
            home: home.into(),
        }
    }

    /// This naming, with names resolving in `account`.
    pub fn for_account(&self, account: &str) -> Naming {
        Naming {
            account_id: account.into(),
            ..self.clone()
        }
    }

    /// The key of `name` in the account names resolve in.
    pub fn key(&self, name: &str) -> String {
        crate::tenancy::key(&self.home, &self.account_id, name)
    }

    /// The key of `name` in `account`.
    pub fn key_in(&self, account: &str, name: &str) -> String {
        crate::tenancy::key(&self.home, account, name)
    }

    /// The account a key belongs to.
    pub fn account_of<'k>(&'k self, key: &'k str) -> &'k str {
        crate::tenancy::split(key).0.unwrap_or(&self.home)
    }

    /// Whether `key` belongs to the account names resolve in.
    pub fn owns(&self, key: &str) -> bool {
        crate::tenancy::belongs(&self.home, &self.account_id, key)
    }

    /// What `arn` names as a destination: a topic ARN of this server (its
    /// key), or a function ARN; anything else is refused with the shapes
    /// accepted.
    pub fn destination<'a>(&self, arn: &'a str) -> Result<Destination<'a>> {
        let topics = format!("arn:funnel:sns:{}:", self.region);
        if let Some((account, topic)) = arn.strip_prefix(&topics).and_then(|r| r.split_once(':'))
            && crate::tenancy::is_account_id(account)
        {
            return Ok(Destination::Topic(self.key_in(account, topic)));
        }
        if !arn.starts_with("arn:") || !arn.contains(":lambda:") {
            return Err(Error::InvalidParameterValue(format!(
                "Destination {arn:?} must be a function ARN or a topic ARN ({topics}NAME)"
            )));
        }
        self.parse_function(arn)?;
        Ok(Destination::Function(arn))
    }

    /// The account and name of a key, for an ARN.
    fn arn_parts<'k>(&'k self, key: &'k str) -> (&'k str, &'k str) {
        let (account, name) = crate::tenancy::split(key);
        (account.unwrap_or(&self.home), name)
    }

    /// `arn:funnel:events:<region>:<account>:rule/<name>` of a rule's key.
    pub fn rule_arn(&self, key: &str) -> String {
        let (account, name) = self.arn_parts(key);
        format!("arn:funnel:events:{}:{account}:rule/{name}", self.region)
    }

    /// The ARN of a topic's key.
    pub fn topic_arn(&self, key: &str) -> String {
        let (account, name) = self.arn_parts(key);
        format!("arn:funnel:sns:{}:{account}:{name}", self.region)
    }

    /// The key of the topic a topic ARN of this server names (any
    /// account), or of a bare name (in the account names resolve in); the
    /// error says what is wrong (SNS's `InvalidParameter` text).
    pub fn topic_name(&self, arn_or_name: &str) -> std::result::Result<String, String> {
        let prefix = format!("arn:funnel:sns:{}:", self.region);
        let (account, name) = match arn_or_name.strip_prefix(&prefix) {
            Some(rest) => match rest.split_once(':') {
                Some((account, name)) if crate::tenancy::is_account_id(account) => (account, name),
                _ => {
                    return Err(format!(
                        "Invalid parameter: TopicArn {arn_or_name:?} is not a topic ARN \
                         ({prefix}ACCOUNT:NAME)"
                    ));
                }
            },
            None if arn_or_name.contains(':') => {
                return Err(format!(
                    "Invalid parameter: TopicArn {arn_or_name:?} is not a topic of this server ({prefix}ACCOUNT:NAME)"
                ));
            }
            None => (self.account_id.as_str(), arn_or_name),
        };
        if !valid_topic_name(name) {
            return Err(INVALID_TOPIC_NAME.into());
        }
        Ok(self.key_in(account, name))
    }

    /// A SubscriptionArn (`<topic ARN>:<id>`, or `<topic name>:<id>` in
    /// the account names resolve in) as a full ARN of the topic's account.
    pub fn subscription(&self, arn: &str) -> std::result::Result<String, String> {
        let (topic, id) = arn
            .rsplit_once(':')
            .ok_or_else(|| format!("Invalid parameter: SubscriptionArn {arn:?}"))?;
        let key = self.topic_name(topic)?;
        Ok(format!("{}:{id}", self.topic_arn(&key)))
    }

    /// `arn:funnel:lambda:<region>:<account>:layer:<name>[:<version>]` of a
    /// layer's key.
    pub fn layer_arn(&self, key: &str, version: Option<impl std::fmt::Display>) -> String {
        let (account, name) = self.arn_parts(key);
        let base = format!("arn:funnel:lambda:{}:{account}:layer:{name}", self.region);
        match version {
            Some(v) => format!("{base}:{v}"),
            None => base,
        }
    }

    /// The ARN of a function's key.
    pub fn function_arn(&self, key: &str, qualifier: Option<&str>) -> String {
        let (account, name) = self.arn_parts(key);
        // Pushed piece by piece: built on every call, and `format!` costs.
        let mut arn = String::with_capacity(
            40 + self.region.len() + account.len() + name.len() + qualifier.map_or(0, str::len),
        );
        for part in [
            "arn:funnel:lambda:",
            &self.region,
            ":",
            account,
            ":function:",
            name,
        ] {
            arn.push_str(part);
        }
        if let Some(qualifier) = qualifier {
            arn.push(':');
            arn.push_str(qualifier);
        }
        arn
    }

    /// `arn:funnel:s3:::<name>` of a home bucket's key (S3's shape);
    /// another account's carries it: `arn:funnel:s3::<account>:<name>`.
    pub fn bucket_arn(&self, key: &str) -> String {
        crate::buckets::event::bucket_arn(key)
    }

    /// Reads a FunctionName as Lambda accepts it: `name`, `name:qualifier`
    /// (in the account names resolve in), `account:function:name[:qualifier]`,
    /// or a full ARN of this region (any account). The ref's name is the
    /// function's key.
    pub fn parse_function(&self, input: &str) -> Result<FunctionRef> {
        let invalid = |why: &str| {
            Error::InvalidParameterValue(format!("FunctionName {input:?} is invalid: {why}"))
        };
        // At most 8 parts match below; a ninth is kept so that more fail.
        let mut parts = [""; 9];
        let mut count = 0;
        for (slot, part) in parts.iter_mut().zip(input.split(':')) {
            *slot = part;
            count += 1;
        }
        let own = self.account_id.as_str();
        let (account, name, qualifier) = match &parts[..count] {
            [name] => (own, *name, None),
            [name, qualifier] => (own, *name, Some(*qualifier)),
            [account, "function", name, rest @ ..] if rest.len() <= 1 => {
                if !crate::tenancy::is_account_id(account) {
                    return Err(invalid(&format!("{account} is not a 12-digit account id")));
                }
                (*account, *name, rest.first().copied())
            }
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                name,
                rest @ ..,
            ] if rest.len() <= 1 => {
                if *partition != "funnel" && *partition != "aws" {
                    return Err(invalid("the ARN's partition must be funnel"));
                }
                if *region != self.region || !crate::tenancy::is_account_id(account) {
                    return Err(invalid(&format!(
                        "the ARN names region {region} and account {account}; this server's \
                         region is {} and accounts are 12 digits",
                        self.region
                    )));
                }
                (*account, *name, rest.first().copied())
            }
            _ => {
                return Err(invalid(
                    "expected a name, name:qualifier, or a function ARN",
                ));
            }
        };
        validate_name(name)?;
        if qualifier == Some("") {
            return Err(invalid("the qualifier after ':' is empty"));
        }
        Ok(FunctionRef {
            name: self.key_in(account, name),
            qualifier: qualifier.map(str::to_string),
        })
    }
}

/// Now, in Lambda's `LastModified` format (`2024-01-01T00:00:00.000+0000`).
pub fn now_lambda_format() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f%z")
        .to_string()
}

/// A page size as Lambda takes `MaxItems`: `max` when unset, else 1..=max.
pub(crate) fn page_size(max_items: Option<i32>, max: usize) -> Result<usize> {
    match max_items {
        None => Ok(max),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(Error::InvalidParameterValue(format!(
            "MaxItems {n} is out of range: it must be between 1 and {max}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming() -> Naming {
        Naming::home("local", "000000000000")
    }

    #[test]
    fn parses_every_form_lambda_accepts() {
        let n = naming();
        let plain = |name: &str, q: Option<&str>| FunctionRef {
            name: name.into(),
            qualifier: q.map(Into::into),
        };
        assert_eq!(n.parse_function("thumbs").unwrap(), plain("thumbs", None));
        assert_eq!(
            n.parse_function("thumbs:$LATEST").unwrap(),
            plain("thumbs", Some("$LATEST"))
        );
        assert_eq!(
            n.parse_function("000000000000:function:thumbs").unwrap(),
            plain("thumbs", None)
        );
        let arn = n.function_arn("thumbs", Some("$LATEST"));
        assert_eq!(
            arn,
            "arn:funnel:lambda:local:000000000000:function:thumbs:$LATEST"
        );
        assert_eq!(
            n.parse_function(&arn).unwrap(),
            plain("thumbs", Some("$LATEST"))
        );
        // Another account's function: its key, and back to its ARN.
        let team = "arn:funnel:lambda:local:111111111111:function:thumbs";
        assert_eq!(
            n.parse_function(team).unwrap(),
            plain("111111111111:thumbs", None)
        );
        assert_eq!(n.function_arn("111111111111:thumbs", None), team);
        let theirs = n.for_account("111111111111");
        assert_eq!(
            theirs.parse_function("thumbs").unwrap(),
            plain("111111111111:thumbs", None)
        );
        assert_eq!(n.topic_name("t").unwrap(), "t");
        assert_eq!(theirs.topic_name("t").unwrap(), "111111111111:t");
        assert_eq!(
            n.topic_name("arn:funnel:sns:local:111111111111:t").unwrap(),
            "111111111111:t"
        );
        assert_eq!(
            n.topic_arn("111111111111:t"),
            "arn:funnel:sns:local:111111111111:t"
        );
    }

    #[test]
    fn refuses_bad_names_and_foreign_arns() {
        let n = naming();
        for bad in [
            "",
            "a b",
            "x".repeat(65).as_str(),
            "a:b:c",
            "arn:funnel:lambda:other:000000000000:function:f",
        ] {
            let err = n.parse_function(bad).unwrap_err();
            assert_eq!(err.aws_name(), "InvalidParameterValueException", "{bad}");
        }
    }

    #[test]
    fn environment_keys_follow_lambda() {
        let env = |k: &str| BTreeMap::from([(k.to_string(), "v".to_string())]);
        assert!(validate_environment(&env("GREETING")).is_ok());
        assert!(validate_environment(&env("G")).is_err());
        assert!(validate_environment(&env("1ABC")).is_err());
        assert!(validate_environment(&env("AWS_REGION")).is_err());
        let big = BTreeMap::from([("BIG".to_string(), "x".repeat(MAX_ENVIRONMENT_BYTES))]);
        assert!(validate_environment(&big).is_err());
    }

    #[test]
    fn references_in_values_are_checked_when_stored() {
        let env = |v: &str| BTreeMap::from([("DB_PASS".to_string(), v.to_string())]);
        assert!(validate_environment(&env("{{resolve:ssm:/app/db-url}}")).is_ok());
        assert!(
            validate_environment(&env(
                "{{resolve:secretsmanager:db-pass:SecretString:password}}"
            ))
            .is_ok()
        );
        let err = validate_environment(&env("{{resolve:vault:x}}")).unwrap_err();
        assert_eq!(err.aws_name(), "InvalidParameterValueException");
        assert!(err.message().contains("DB_PASS"), "{err}");
    }
}
