//! CloudFormation's dynamic references in environment variables:
//! `{{resolve:ssm:/app/db-url}}`,
//! `{{resolve:secretsmanager:db-pass:SecretString:password}}`. A variable
//! holds them as written (that is what is stored and what `GetFunction`
//! shows); each execution environment resolves them when it starts,
//! through its [`crate::secrets`] (the function's grants, the cache), and
//! its guest sees only the result.
//!
//! The grammar is CloudFormation's:
//!
//! - `{{resolve:ssm:NAME[:VERSION]}}`, `{{resolve:ssm-secure:NAME[:VERSION]}}`:
//!   a parameter's current value, or that version's (a `SecureString`
//!   decrypted).
//! - `{{resolve:secretsmanager:ID[:SecretString[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]]]}}`:
//!   a secret's string (ID a name or an ARN), or one key of it when it is
//!   a JSON object, at `AWSCURRENT` or the stage named. A version id is
//!   refused: name its stage instead.
//!
//! A value may hold several references and text around them
//! (`postgres://app:{{resolve:secretsmanager:db-pass}}@db/app`). Nothing
//! here ever puts a resolved value into an error.

use crate::secrets::{SecretError, Secrets};

const OPEN: &str = "{{resolve:";
const CLOSE: &str = "}}";

/// One reference, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A parameter's value: `NAME`, or `NAME:VERSION` for one version.
    Parameter { name: String },
    /// A secret's string, or one key of it.
    Secret {
        /// A name or an ARN.
        id: String,
        json_key: Option<String>,
        stage: Option<String>,
    },
}

impl Reference {
    /// What it names, for messages: `ssm:/app/db-url`,
    /// `secretsmanager:db-pass`.
    pub fn target(&self) -> String {
        match self {
            Reference::Parameter { name } => format!("ssm:{name}"),
            Reference::Secret { id, .. } => format!("secretsmanager:{id}"),
        }
    }
}

/// Whether `value` holds a reference at all (cheap: most do not).
pub fn has_references(value: &str) -> bool {
    value.contains(OPEN)
}

/// The references in `value`, in order; a reference that does not parse
/// is an error that says why (without the rest of the value).
pub fn parse_references(value: &str) -> Result<Vec<Reference>, String> {
    let mut found = Vec::new();
    for piece in pieces(value)? {
        if let Piece::Reference(inner) = piece {
            found.push(parse(inner)?);
        }
    }
    Ok(found)
}

/// A value cut into literal text and the insides of references.
enum Piece<'a> {
    Text(&'a str),
    Reference(&'a str),
}

fn pieces(value: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find(OPEN) {
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find(CLOSE)
            .ok_or_else(|| "a {{resolve:...}} reference has no closing }}".to_string())?;
        out.push(Piece::Reference(&after[..end]));
        rest = &after[end + CLOSE.len()..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The inside of one reference: `ssm:NAME`, `secretsmanager:ID:...`.
fn parse(inner: &str) -> Result<Reference, String> {
    let parts: Vec<&str> = inner.split(':').collect();
    let (service, rest) = parts.split_first().unwrap_or((&"", &[]));
    match *service {
        "ssm" | "ssm-secure" => {
            let name = rest.first().copied().unwrap_or_default();
            if name.is_empty() {
                return Err(format!("{{{{resolve:{service}:...}}}} names no parameter"));
            }
            match rest.len() {
                1 => Ok(Reference::Parameter {
                    name: name.to_string(),
                }),
                2 if !rest[1].is_empty() && rest[1].bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Reference::Parameter {
                        name: format!("{name}:{}", rest[1]),
                    })
                }
                2 => Err(format!(
                    "{{{{resolve:{service}:{name}:{}}}}}: a parameter version is a number",
                    rest[1]
                )),
                _ => Err(format!(
                    "{{{{resolve:{service}:{name}:...}}}} has too many parts: \
                     {{{{resolve:{service}:NAME}}}}"
                )),
            }
        }
        "secretsmanager" => {
            // An ARN holds colons of its own: arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME.
            let (id, rest) = if rest.first() == Some(&"arn") {
                if rest.len() < 7 {
                    return Err(
                        "{{resolve:secretsmanager:arn:...}} holds an incomplete secret ARN".into(),
                    );
                }
                (rest[..7].join(":"), &rest[7..])
            } else {
                match rest.split_first() {
                    Some((id, rest)) if !id.is_empty() => (id.to_string(), rest),
                    _ => return Err("{{resolve:secretsmanager:...}} names no secret".into()),
                }
            };
            let part = |i: usize| rest.get(i).copied().filter(|p| !p.is_empty());
            if let Some(kind) = rest.first()
                && *kind != "SecretString"
            {
                return Err(format!(
                    "{{{{resolve:secretsmanager:{id}:{kind}...}}}}: the part after the secret id \
                     must be SecretString"
                ));
            }
            if let Some(version_id) = part(3) {
                return Err(format!(
                    "{{{{resolve:secretsmanager:{id}:...}}}} names version id {version_id}: funnel \
                     resolves version stages only (name its stage instead)"
                ));
            }
            if rest.len() > 4 {
                return Err(format!(
                    "{{{{resolve:secretsmanager:{id}:...}}}} has too many parts: \
                     {{{{resolve:secretsmanager:ID:SecretString:JSON-KEY:VERSION-STAGE}}}}"
                ));
            }
            Ok(Reference::Secret {
                id,
                json_key: part(1).map(str::to_string),
                stage: part(2).map(str::to_string),
            })
        }
        other => Err(format!(
            "{{{{resolve:{other}:...}}}} names a service funnel does not resolve (ssm, \
             ssm-secure or secretsmanager)"
        )),
    }
}

/// Why a variable could not be resolved: an AWS error name, and a
/// message that names the variable and the reference, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    pub code: String,
    pub message: String,
}

/// `environment` with every reference replaced by what it names, read
/// through `secrets` (its grants and its cache).
pub async fn resolve(
    environment: &[(String, String)],
    secrets: &mut Secrets,
) -> Result<Vec<(String, String)>, ResolveError> {
    let mut resolved = Vec::with_capacity(environment.len());
    for (key, value) in environment {
        if !has_references(value) {
            resolved.push((key.clone(), value.clone()));
            continue;
        }
        let invalid = |why: String| ResolveError {
            code: "InvalidParameterValueException".into(),
            message: format!("environment variable {key}: {why}"),
        };
        let mut out = String::new();
        for piece in pieces(value).map_err(invalid)? {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Reference(inner) => {
                    let reference = parse(inner).map_err(invalid)?;
                    let text =
                        resolve_one(&reference, secrets)
                            .await
                            .map_err(|err| ResolveError {
                                code: err.code,
                                message: format!(
                                    "environment variable {key} ({{{{resolve:{}}}}}): {}",
                                    reference.target(),
                                    err.message
                                ),
                            })?;
                    out.push_str(&text);
                }
            }
        }
        resolved.push((key.clone(), out));
    }
    Ok(resolved)
}

async fn resolve_one(reference: &Reference, secrets: &mut Secrets) -> Result<String, SecretError> {
    match reference {
        Reference::Parameter { name } => Ok(secrets.parameter(name).await?.value),
        Reference::Secret {
            id,
            json_key,
            stage,
        } => {
            let secret = secrets.secret(id, stage.as_deref()).await?;
            let Some(text) = secret.secret_string else {
                return Err(SecretError::new(
                    "InvalidParameterValueException",
                    format!("secret {id} holds binary data, not a SecretString"),
                ));
            };
            let Some(key) = json_key else {
                return Ok(text);
            };
            // The parse error is not repeated: it may quote the value.
            let not_object = || {
                SecretError::new(
                    "InvalidParameterValueException",
                    format!(
                        "the SecretString of {id} is not a JSON object, so it has no key {key}"
                    ),
                )
            };
            let serde_json::Value::Object(mut fields) =
                serde_json::from_str::<serde_json::Value>(&text).map_err(|_| not_object())?
            else {
                return Err(not_object());
            };
            match fields.remove(key.as_str()) {
                Some(serde_json::Value::String(value)) => Ok(value),
                Some(other) => Ok(other.to_string()),
                None => Err(SecretError::new(
                    "InvalidParameterValueException",
                    format!("the SecretString of {id} has no key {key}"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(id: &str, key: Option<&str>, stage: Option<&str>) -> Reference {
        Reference::Secret {
            id: id.into(),
            json_key: key.map(Into::into),
            stage: stage.map(Into::into),
        }
    }

    #[test]
    fn cloudformations_forms_parse() {
        let parsed = |v: &str| parse_references(v).unwrap();
        assert_eq!(parsed("plain"), vec![]);
        assert_eq!(
            parsed("{{resolve:ssm:/app/db-url}}"),
            vec![Reference::Parameter {
                name: "/app/db-url".into()
            }]
        );
        assert_eq!(
            parsed("{{resolve:ssm:/app/db-url:3}}"),
            vec![Reference::Parameter {
                name: "/app/db-url:3".into()
            }]
        );
        assert_eq!(
            parsed("{{resolve:ssm-secure:token}}"),
            vec![Reference::Parameter {
                name: "token".into()
            }]
        );
        assert_eq!(
            parsed("{{resolve:secretsmanager:db-pass}}"),
            vec![secret("db-pass", None, None)]
        );
        assert_eq!(
            parsed("{{resolve:secretsmanager:db-pass:SecretString:password}}"),
            vec![secret("db-pass", Some("password"), None)]
        );
        assert_eq!(
            parsed("{{resolve:secretsmanager:db-pass:SecretString:password:AWSPREVIOUS}}"),
            vec![secret("db-pass", Some("password"), Some("AWSPREVIOUS"))]
        );
        assert_eq!(
            parsed("{{resolve:secretsmanager:db-pass:SecretString::AWSPREVIOUS}}"),
            vec![secret("db-pass", None, Some("AWSPREVIOUS"))]
        );
        let arn = "arn:funnel:secretsmanager:local:000000000000:secret:db-pass";
        assert_eq!(
            parsed(&format!(
                "{{{{resolve:secretsmanager:{arn}:SecretString:user}}}}"
            )),
            vec![secret(arn, Some("user"), None)]
        );
        assert_eq!(
            parsed("postgres://{{resolve:ssm:/u}}:{{resolve:secretsmanager:p}}@db/app"),
            vec![
                Reference::Parameter { name: "/u".into() },
                secret("p", None, None)
            ]
        );
    }

    #[test]
    fn what_funnel_cannot_resolve_is_refused_with_a_reason() {
        let refused = |v: &str| parse_references(v).unwrap_err();
        assert!(refused("{{resolve:ssm:/a").contains("no closing"));
        assert!(refused("{{resolve:ssm:}}").contains("no parameter"));
        assert!(refused("{{resolve:ssm:/a:v3}}").contains("is a number"));
        assert!(refused("{{resolve:s3:x}}").contains("does not resolve"));
        assert!(refused("{{resolve:secretsmanager:}}").contains("no secret"));
        assert!(refused("{{resolve:secretsmanager:p:SecretBinary}}").contains("SecretString"));
        assert!(refused("{{resolve:secretsmanager:p:SecretString:k::v1}}").contains("version id"));
        assert!(refused("{{resolve:secretsmanager:arn:funnel:x}}").contains("incomplete"));
    }
}
