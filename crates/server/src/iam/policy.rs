//! Identity policies: what a user may do, in IAM's JSON. A document has
//! statements; each allows or denies actions (`lambda:InvokeFunction`,
//! `s3:*`, ...; `NotAction` for the complement) on resources (ARN
//! patterns, `NotResource`), optionally under conditions. An explicit Deny
//! wins; without an Allow, the answer is no.
//!
//! Documents are checked when they are put, so a typo is an error then,
//! not a statement that silently never matches.

use std::net::IpAddr;

use serde_json::Value;

use crate::policies::{arn_like, wildcard, wildcard_ignore_case};

/// IAM's limit on a user's inline policies, together (characters, not
/// counting white space).
pub const INLINE_LIMIT: usize = 2048;

pub const FULL_ACCESS: &str = "arn:funnel:iam::aws:policy/FunnelFullAccess";
pub const INVOKE_ONLY: &str = "arn:funnel:iam::aws:policy/FunnelInvokeOnly";
pub const READ_ONLY: &str = "arn:funnel:iam::aws:policy/FunnelReadOnly";

/// The managed policies: (ARN, document).
pub const MANAGED: &[(&str, &str)] = &[
    (
        FULL_ACCESS,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        INVOKE_ONLY,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[
            "lambda:InvokeFunction","lambda:InvokeFunctionUrl","sns:Publish","s3:PutObject","s3:GetObject",
            "logs:GetLogEvents","logs:FilterLogEvents","logs:StartLiveTail",
            "logs:DescribeLogGroups","logs:DescribeLogStreams",
            "iam:GetUser","iam:ListAccessKeys"],"Resource":"*"}]}"#,
    ),
    (
        READ_ONLY,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[
            "lambda:Get*","lambda:List*","s3:Get*","s3:List*","sns:Get*","sns:List*",
            "events:Describe*","events:List*","logs:Get*","logs:Describe*",
            "logs:FilterLogEvents","logs:StartLiveTail","cloudwatch:GetMetricData","iam:Get*","iam:List*",
            "funnel:Get*","funnel:List*","funnel:PreviewSchedule","apigateway:GET",
            "secretsmanager:DescribeSecret","secretsmanager:ListSecrets","ssm:DescribeParameters"],
            "Resource":"*"}]}"#,
    ),
];

/// The name a managed policy ARN ends with.
pub fn managed_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A checked identity policy.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    actions: Patterns,
    resources: Patterns,
    conditions: Vec<Condition>,
}

/// `Action` (any matches) or `NotAction` (none matches), likewise for
/// resources.
#[derive(Debug, Clone)]
struct Patterns {
    negated: bool,
    patterns: Vec<String>,
}

#[derive(Debug, Clone)]
struct Condition {
    operator: Operator,
    key: Key,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operator {
    StringEquals,
    StringNotEquals,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Bool,
    IpAddress,
    NotIpAddress,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Key {
    Username,
    UserId,
    PrincipalAccount,
    PrincipalArn,
    SourceIp,
    SecureTransport,
    RequestedRegion,
}

/// One request, as a policy sees it.
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub user_name: &'a str,
    pub user_id: &'a str,
    pub account: &'a str,
    pub user_arn: &'a str,
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    pub region: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// No statement applies.
    NotApplicable,
}

impl IdentityPolicy {
    /// Reads and checks a document; the error says what is wrong.
    pub fn parse(document: &str) -> Result<IdentityPolicy, String> {
        let value: Value =
            serde_json::from_str(document).map_err(|e| format!("The policy is not JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or("The policy must be a JSON object")?;
        for key in object.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(format!(
                    "Unknown field {key} (expected Version, Id, Statement)"
                ));
            }
        }
        match object.get("Version").and_then(Value::as_str) {
            None | Some("2012-10-17") | Some("2008-10-17") => {}
            Some(other) => {
                return Err(format!(
                    "Version {other:?} is not one IAM knows (2012-10-17)"
                ));
            }
        }
        let statements = match object.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            _ => return Err("Statement must be an object or a list of objects".into()),
        };
        if statements.is_empty() {
            return Err("Statement must not be empty".into());
        }
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| Statement::parse(s).map_err(|e| format!("Statement {i}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(IdentityPolicy { statements })
    }

    pub fn decide(&self, request: &Request) -> Decision {
        let mut decision = Decision::NotApplicable;
        for statement in &self.statements {
            if statement.applies(request) {
                if !statement.allow {
                    return Decision::Deny;
                }
                decision = Decision::Allow;
            }
        }
        decision
    }
}

/// Whether a set of policies allows `request`: an explicit Deny in any
/// wins, else an Allow in any.
pub fn allows<'a>(
    policies: impl IntoIterator<Item = &'a IdentityPolicy>,
    request: &Request,
) -> bool {
    let mut allowed = false;
    for policy in policies {
        match policy.decide(request) {
            Decision::Deny => return false,
            Decision::Allow => allowed = true,
            Decision::NotApplicable => {}
        }
    }
    allowed
}

impl Statement {
    fn parse(value: &Value) -> Result<Statement, String> {
        let object = value.as_object().ok_or("must be an object")?;
        for key in object.keys() {
            if !matches!(
                key.as_str(),
                "Sid"
                    | "Effect"
                    | "Action"
                    | "NotAction"
                    | "Resource"
                    | "NotResource"
                    | "Condition"
            ) {
                return Err(format!(
                    "unknown field {key} (expected Sid, Effect, Action or NotAction, Resource or \
                     NotResource, Condition; identity policies have no Principal)"
                ));
            }
        }
        let allow = match object.get("Effect").and_then(Value::as_str) {
            Some("Allow") => true,
            Some("Deny") => false,
            _ => return Err("Effect must be Allow or Deny".into()),
        };
        let actions = Patterns::parse(object, "Action", "NotAction")?;
        for action in &actions.patterns {
            if action != "*" && !action.contains(':') {
                return Err(format!(
                    "action {action:?} must be service:Name (lambda:InvokeFunction, s3:*, ...) or *"
                ));
            }
        }
        let resources = Patterns::parse(object, "Resource", "NotResource")?;
        for resource in &resources.patterns {
            if resource != "*" && !resource.starts_with("arn:") {
                return Err(format!(
                    "resource {resource:?} must be an ARN (arn:funnel:...) or *"
                ));
            }
        }
        let conditions = match object.get("Condition") {
            None => Vec::new(),
            Some(Value::Object(operators)) => {
                let mut conditions = Vec::new();
                for (operator, keys) in operators {
                    let operator = Operator::parse(operator)?;
                    let keys = keys
                        .as_object()
                        .ok_or_else(|| format!("Condition {operator:?} must map keys to values"))?;
                    for (key, values) in keys {
                        conditions.push(Condition {
                            operator,
                            key: Key::parse(key)?,
                            values: strings(values).ok_or_else(|| {
                                format!("Condition key {key}: values must be strings")
                            })?,
                        });
                    }
                }
                conditions
            }
            Some(_) => return Err("Condition must be an object".into()),
        };
        Ok(Statement {
            allow,
            actions,
            resources,
            conditions,
        })
    }

    fn applies(&self, request: &Request) -> bool {
        self.actions
            .matches(|p| wildcard_ignore_case(p, request.action))
            && self.resources.matches(|p| arn_like(p, request.resource))
            && self.conditions.iter().all(|c| c.holds(request))
    }
}

impl Patterns {
    fn parse(
        object: &serde_json::Map<String, Value>,
        field: &str,
        negated: &str,
    ) -> Result<Patterns, String> {
        let (value, is_negated) = match (object.get(field), object.get(negated)) {
            (Some(value), None) => (value, false),
            (None, Some(value)) => (value, true),
            (Some(_), Some(_)) => return Err(format!("has both {field} and {negated}")),
            (None, None) => return Err(format!("needs {field} or {negated}")),
        };
        let patterns = strings(value)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("{field} must be a string or a list of strings"))?;
        Ok(Patterns {
            negated: is_negated,
            patterns,
        })
    }

    fn matches(&self, mut one: impl FnMut(&str) -> bool) -> bool {
        self.patterns.iter().any(|p| one(p)) != self.negated
    }
}

fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Bool(b) => Some(vec![b.to_string()]),
        Value::Array(list) => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

impl Operator {
    fn parse(name: &str) -> Result<Operator, String> {
        Ok(match name {
            "StringEquals" => Operator::StringEquals,
            "StringNotEquals" => Operator::StringNotEquals,
            "StringLike" => Operator::StringLike,
            "StringNotLike" => Operator::StringNotLike,
            "ArnEquals" => Operator::ArnEquals,
            "ArnNotEquals" => Operator::ArnNotEquals,
            "ArnLike" => Operator::ArnLike,
            "ArnNotLike" => Operator::ArnNotLike,
            "Bool" => Operator::Bool,
            "IpAddress" => Operator::IpAddress,
            "NotIpAddress" => Operator::NotIpAddress,
            other => {
                return Err(format!(
                    "condition operator {other} is not supported (StringEquals, StringNotEquals, \
                     StringLike, StringNotLike, ArnEquals, ArnNotEquals, ArnLike, ArnNotLike, Bool, \
                     IpAddress, NotIpAddress)"
                ));
            }
        })
    }
}

impl Key {
    fn parse(name: &str) -> Result<Key, String> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "aws:username" => Key::Username,
            "aws:userid" => Key::UserId,
            "aws:principalaccount" => Key::PrincipalAccount,
            "aws:principalarn" => Key::PrincipalArn,
            "aws:sourceip" => Key::SourceIp,
            "aws:securetransport" => Key::SecureTransport,
            "aws:requestedregion" => Key::RequestedRegion,
            _ => {
                return Err(format!(
                    "condition key {name} is not supported (aws:username, aws:userid, \
                     aws:PrincipalAccount, aws:PrincipalArn, aws:SourceIp, aws:SecureTransport, \
                     aws:RequestedRegion)"
                ));
            }
        })
    }
}

impl Condition {
    fn holds(&self, request: &Request) -> bool {
        let text = match self.key {
            Key::Username => request.user_name.to_string(),
            Key::UserId => request.user_id.to_string(),
            Key::PrincipalAccount => request.account.to_string(),
            Key::PrincipalArn => request.user_arn.to_string(),
            Key::RequestedRegion => request.region.to_string(),
            Key::SecureTransport => request.secure_transport.to_string(),
            Key::SourceIp => request
                .source_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
        };
        let any = |f: &dyn Fn(&str) -> bool| self.values.iter().any(|v| f(v));
        match self.operator {
            Operator::StringEquals | Operator::ArnEquals => any(&|v| v == text),
            Operator::StringNotEquals | Operator::ArnNotEquals => !any(&|v| v == text),
            Operator::StringLike => any(&|v| wildcard(v, &text)),
            Operator::StringNotLike => !any(&|v| wildcard(v, &text)),
            Operator::ArnLike => any(&|v| arn_like(v, &text)),
            Operator::ArnNotLike => !any(&|v| arn_like(v, &text)),
            Operator::Bool => any(&|v| v.eq_ignore_ascii_case(&text)),
            Operator::IpAddress => request
                .source_ip
                .is_some_and(|ip| self.values.iter().any(|v| in_cidr(ip, v))),
            Operator::NotIpAddress => request
                .source_ip
                .is_some_and(|ip| !self.values.iter().any(|v| in_cidr(ip, v))),
        }
    }
}

/// Whether `ip` is in `cidr` (`10.0.0.0/8`, `::1/128`, or one address).
fn in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((net, bits)) => (net, bits.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    let ip = match (ip, net) {
        (IpAddr::V6(v6), IpAddr::V4(_)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        _ => ip,
    };
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let bits = bits.unwrap_or(width).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(action: &'a str, resource: &'a str) -> Request<'a> {
        Request {
            action,
            resource,
            user_name: "alice",
            user_id: "AIDAALICE",
            account: "000000000000",
            user_arn: "arn:funnel:iam::000000000000:user/alice",
            source_ip: Some("10.1.2.3".parse().unwrap()),
            secure_transport: false,
            region: "local",
        }
    }

    const HELLO: &str = "arn:funnel:lambda:local:000000000000:function:hello";

    #[test]
    fn deny_wins_and_nothing_allowed_is_denied() {
        let allow = IdentityPolicy::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*"}}"#,
        )
        .unwrap();
        let deny = IdentityPolicy::parse(
            r#"{"Statement":[{"Effect":"Deny","Action":"lambda:DeleteFunction","Resource":"arn:funnel:lambda:*:*:function:hel*"}]}"#,
        )
        .unwrap();
        assert!(allows([&allow], &request("lambda:InvokeFunction", HELLO)));
        // Action names ignore case, as IAM's.
        assert!(allows([&allow], &request("Lambda:invokefunction", HELLO)));
        assert!(allows(
            [&allow, &deny],
            &request("lambda:InvokeFunction", HELLO)
        ));
        assert!(!allows(
            [&allow, &deny],
            &request("lambda:DeleteFunction", HELLO)
        ));
        assert!(!allows(
            [&allow],
            &request("s3:GetObject", "arn:funnel:s3:::b/k")
        ));
        assert!(!allows(
            std::iter::empty(),
            &request("lambda:InvokeFunction", HELLO)
        ));
    }

    #[test]
    fn not_action_not_resource_and_conditions() {
        let policy = IdentityPolicy::parse(
            r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:funnel:s3:::secret*",
                "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]},"StringEquals":{"aws:username":"alice"}}}]}"#,
        )
        .unwrap();
        assert!(
            policy.decide(&request("s3:GetObject", "arn:funnel:s3:::photos/a")) == Decision::Allow
        );
        assert!(
            policy.decide(&request("s3:GetObject", "arn:funnel:s3:::secrets/a")) != Decision::Allow
        );
        assert!(policy.decide(&request("iam:CreateUser", "*")) != Decision::Allow);
        let mut outside = request("s3:GetObject", "arn:funnel:s3:::photos/a");
        outside.source_ip = Some("192.168.0.1".parse().unwrap());
        assert!(policy.decide(&outside) != Decision::Allow);
    }

    #[test]
    fn mistakes_are_named() {
        for (document, says) in [
            ("nope", "not JSON"),
            (r#"{"Statement":[]}"#, "must not be empty"),
            (
                r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
                "Effect",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
                "needs Action",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"invoke","Resource":"*"}}"#,
                "service:Name",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"hello"}}"#,
                "must be an ARN",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"x"}}}}"#,
                "not supported",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
                "no Principal",
            ),
            (r#"{"Version":"2020-01-01","Statement":{}}"#, "Version"),
        ] {
            let err = IdentityPolicy::parse(document).unwrap_err();
            assert!(err.contains(says), "{document}: {err}");
        }
    }

    #[test]
    fn managed_policies_parse_and_mean_what_they_say() {
        let get = |arn: &str| {
            IdentityPolicy::parse(MANAGED.iter().find(|(a, _)| *a == arn).unwrap().1).unwrap()
        };
        let (full, invoke, read) = (get(FULL_ACCESS), get(INVOKE_ONLY), get(READ_ONLY));
        assert!(allows([&full], &request("lambda:CreateFunction", HELLO)));
        assert!(allows([&invoke], &request("lambda:InvokeFunction", HELLO)));
        assert!(!allows([&invoke], &request("lambda:GetFunction", HELLO)));
        assert!(!allows([&invoke], &request("lambda:CreateFunction", HELLO)));
        assert!(allows([&read], &request("lambda:GetFunction", HELLO)));
        assert!(!allows([&read], &request("lambda:CreateFunction", HELLO)));
        assert!(!allows([&read], &request("lambda:InvokeFunction", HELLO)));
        // Reading what is secret is granted on purpose, never by a
        // read-only or invoke-only policy.
        let secret = "arn:funnel:secretsmanager:local:000000000000:secret:db-AbCdEf";
        let parameter = "arn:funnel:ssm:local:000000000000:parameter/app/db";
        assert!(allows(
            [&read],
            &request("secretsmanager:DescribeSecret", secret)
        ));
        for policy in [&read, &invoke] {
            assert!(!allows(
                [policy],
                &request("secretsmanager:GetSecretValue", secret)
            ));
            for action in [
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:GetParametersByPath",
            ] {
                assert!(!allows([policy], &request(action, parameter)), "{action}");
            }
        }
    }

    #[test]
    fn cidrs() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_cidr(ip("10.1.2.3"), "10.0.0.0/8"));
        assert!(!in_cidr(ip("11.1.2.3"), "10.0.0.0/8"));
        assert!(in_cidr(ip("127.0.0.1"), "127.0.0.1"));
        assert!(in_cidr(ip("::ffff:10.0.0.1"), "10.0.0.0/8"));
        assert!(in_cidr(ip("::1"), "::1/128"));
        assert!(in_cidr(ip("1.2.3.4"), "0.0.0.0/0"));
        assert!(!in_cidr(ip("1.2.3.4"), "bogus"));
    }
}
