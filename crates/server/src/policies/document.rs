//! Resource-based policies: who may invoke a function. A policy is the JSON
//! document Lambda keeps per function (or per version or alias): statements
//! added by `AddPermission`, each allowing one principal — a service such as
//! `s3.amazonaws.com`, an account, or anyone — optionally only for one source
//! ARN and source account. Triggers (buckets, topics, schedules) ask
//! [`Policy::allows`] before every event; the owner's direct `Invoke` needs
//! no statement.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Lambda's limit on a policy document, in bytes.
pub const POLICY_LIMIT: usize = 20_480;

/// The action a trigger's statements allow.
pub const INVOKE_FUNCTION: &str = "lambda:InvokeFunction";

/// The action a function URL's callers need.
pub const INVOKE_FUNCTION_URL: &str = "lambda:InvokeFunctionUrl";

/// The condition key that ties an `InvokeFunctionUrl` statement to the
/// URL's AuthType.
const FUNCTION_URL_AUTH_TYPE: &str = "lambda:FunctionUrlAuthType";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub version: String,
    pub id: String,
    pub statement: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub principal: Principal,
    pub action: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Condition::is_empty")]
    pub condition: Condition,
}

/// As Lambda writes it: `"*"`, `{"Service": "s3.amazonaws.com"}` or
/// `{"AWS": "arn:funnel:iam::123456789012:root"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    Anyone(String),
    Service {
        #[serde(rename = "Service")]
        service: String,
    },
    Account {
        #[serde(rename = "AWS")]
        aws: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// `AWS:SourceAccount`.
    #[serde(
        rename = "StringEquals",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub string_equals: BTreeMap<String, String>,
    /// `AWS:SourceArn`, with `*` and `?` wildcards.
    #[serde(
        rename = "ArnLike",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub arn_like: BTreeMap<String, String>,
}

const SOURCE_ACCOUNT: &str = "AWS:SourceAccount";
const SOURCE_ARN: &str = "AWS:SourceArn";

impl Condition {
    fn is_empty(&self) -> bool {
        self.string_equals.is_empty() && self.arn_like.is_empty()
    }
}

/// Who is invoking, as a trigger describes itself.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The service principal, e.g. `s3.amazonaws.com`.
    pub service: &'a str,
    /// The resource the event comes from, e.g. `arn:funnel:s3:::photos`.
    pub source_arn: &'a str,
    /// The account that owns that resource.
    pub source_account: &'a str,
}

/// What `AddPermission` was asked for.
#[derive(Debug, Clone, Default)]
pub struct PermissionRequest {
    pub statement_id: String,
    pub action: String,
    pub principal: String,
    pub source_arn: String,
    pub source_account: String,
    /// `NONE` or `FUNNEL`, with `lambda:InvokeFunctionUrl`.
    pub function_url_auth_type: String,
}

impl Policy {
    pub fn new() -> Policy {
        Policy {
            version: "2012-10-17".into(),
            id: "default".into(),
            statement: Vec::new(),
        }
    }

    /// Whether some statement lets `caller` invoke a function of account
    /// `owner`.
    pub fn allows(&self, caller: Caller<'_>, owner: &str) -> bool {
        self.statement.iter().any(|s| s.allows(caller, owner))
    }

    /// Whether some statement lets anyone call a function URL whose
    /// AuthType is `auth_type` (Lambda's `Principal: "*"`,
    /// `lambda:InvokeFunctionUrl` statement, with a
    /// `lambda:FunctionUrlAuthType` condition that, when present, names it).
    pub fn allows_url(&self, auth_type: &str) -> bool {
        self.statement.iter().any(|s| {
            let anyone = matches!(&s.principal, Principal::Anyone(any) if any == "*");
            let action = s.action == INVOKE_FUNCTION_URL || s.action == "lambda:*";
            let condition = s
                .condition
                .string_equals
                .get(FUNCTION_URL_AUTH_TYPE)
                .is_none_or(|wanted| wanted == auth_type);
            s.effect == "Allow" && anyone && action && condition && s.condition.arn_like.is_empty()
        })
    }

    /// Whether some statement lets `account`'s callers take `action`
    /// (Lambda's cross-account `AddPermission --principal <account>`).
    pub fn allows_account(&self, account: &str, action: &str) -> bool {
        self.statement
            .iter()
            .any(|s| s.allows_account(account, action))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Adds a statement; refuses a duplicate id or a document over the limit.
    pub fn add(&mut self, statement: Statement) -> Result<()> {
        if self.statement.iter().any(|s| s.sid == statement.sid) {
            return Err(Error::ResourceConflict(format!(
                "The statement id ({}) provided already exists. Please provide a new statement id, \
                 or remove the existing statement.",
                statement.sid
            )));
        }
        self.statement.push(statement);
        let size = self.to_json().len();
        if size > POLICY_LIMIT {
            self.statement.pop();
            return Err(Error::PolicyLengthExceeded(format!(
                "The final policy size ({size}) is bigger than the limit ({POLICY_LIMIT})."
            )));
        }
        Ok(())
    }

    /// Removes the statement `sid`.
    pub fn remove(&mut self, sid: &str) -> Result<()> {
        let before = self.statement.len();
        self.statement.retain(|s| s.sid != sid);
        if self.statement.len() == before {
            return Err(Error::ResourceNotFound(format!(
                "Statement {sid} is not found in resource policy."
            )));
        }
        Ok(())
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

impl Statement {
    /// Checks an `AddPermission` request and builds its statement for the
    /// function (or version or alias) `resource`.
    pub fn from_request(request: &PermissionRequest, resource: &str) -> Result<Statement> {
        let sid = &request.statement_id;
        check_sid(sid)?;
        let action = match request.action.as_str() {
            INVOKE_FUNCTION | "lambda:*" => INVOKE_FUNCTION,
            INVOKE_FUNCTION_URL => INVOKE_FUNCTION_URL,
            other => {
                return Err(Error::InvalidParameterValue(format!(
                    "Action {other:?} is not supported: funnel's resource policies grant \
                     {INVOKE_FUNCTION} or {INVOKE_FUNCTION_URL}"
                )));
            }
        };
        let principal = parse_principal(&request.principal)?;
        let mut condition = Condition::default();
        match (action, request.function_url_auth_type.as_str()) {
            (_, "") => {}
            (INVOKE_FUNCTION_URL, auth_type @ ("NONE" | "FUNNEL")) => {
                condition
                    .string_equals
                    .insert(FUNCTION_URL_AUTH_TYPE.into(), auth_type.into());
            }
            (INVOKE_FUNCTION_URL, other) => {
                return Err(Error::InvalidParameterValue(format!(
                    "FunctionUrlAuthType {other:?} is invalid: it must be NONE or FUNNEL"
                )));
            }
            _ => {
                return Err(Error::InvalidParameterValue(format!(
                    "FunctionUrlAuthType goes with Action {INVOKE_FUNCTION_URL} only"
                )));
            }
        }
        if !request.source_account.is_empty() {
            if !is_account(&request.source_account) {
                return Err(Error::InvalidParameterValue(format!(
                    "SourceAccount {:?} must be a 12-digit account id",
                    request.source_account
                )));
            }
            condition
                .string_equals
                .insert(SOURCE_ACCOUNT.into(), request.source_account.clone());
        }
        if !request.source_arn.is_empty() {
            if !request.source_arn.starts_with("arn:") {
                return Err(Error::InvalidParameterValue(format!(
                    "SourceArn {:?} is not an ARN",
                    request.source_arn
                )));
            }
            condition
                .arn_like
                .insert(SOURCE_ARN.into(), request.source_arn.clone());
        }
        Ok(Statement {
            sid: sid.clone(),
            effect: "Allow".into(),
            principal,
            action: action.into(),
            resource: resource.into(),
            condition,
        })
    }

    /// `AddLayerVersionPermission`'s statement: an account (or `*`) may
    /// `lambda:GetLayerVersion` the layer version `resource`.
    pub fn for_layer(
        sid: &str,
        action: &str,
        principal: &str,
        resource: &str,
    ) -> Result<Statement> {
        check_sid(sid)?;
        if action != GET_LAYER_VERSION {
            return Err(Error::InvalidParameterValue(format!(
                "Action {action:?} is not supported: a layer version's permission grants \
                 {GET_LAYER_VERSION}"
            )));
        }
        let principal = match parse_principal(principal)? {
            Principal::Service { service } => {
                return Err(Error::InvalidParameterValue(format!(
                    "Principal {service:?}: a layer version is shared with an account or *"
                )));
            }
            other => other,
        };
        Ok(Statement {
            sid: sid.into(),
            effect: "Allow".into(),
            principal,
            action: GET_LAYER_VERSION.into(),
            resource: resource.into(),
            condition: Condition::default(),
        })
    }

    fn allows_account(&self, account: &str, action: &str) -> bool {
        let principal = match &self.principal {
            Principal::Anyone(any) => any == "*",
            Principal::Account { aws } => {
                aws.strip_prefix("arn:")
                    .and_then(|rest| rest.split_once(":iam::"))
                    .and_then(|(_, rest)| rest.strip_suffix(":root"))
                    == Some(account)
            }
            Principal::Service { .. } => false,
        };
        let allowed = self.action == action || self.action == "lambda:*";
        // A statement limited to a source (an event's) is not an account's;
        // one limited to a URL AuthType is (the URL checks its own).
        let unconditional = self.condition.arn_like.is_empty()
            && self
                .condition
                .string_equals
                .keys()
                .all(|key| key == FUNCTION_URL_AUTH_TYPE);
        self.effect == "Allow" && principal && allowed && unconditional
    }

    fn allows(&self, caller: Caller<'_>, owner: &str) -> bool {
        let principal = match &self.principal {
            Principal::Anyone(any) => any == "*",
            Principal::Service { service } => service == caller.service,
            // An account principal lets that account's callers in, not a
            // service's events.
            Principal::Account { .. } => false,
        };
        let action = self.action == INVOKE_FUNCTION || self.action == "lambda:*";
        // Without a SourceAccount, a service's events come from the
        // function's own account only: another account's bucket, topic or
        // rule needs a statement that names it.
        let account = match self.condition.string_equals.get(SOURCE_ACCOUNT) {
            Some(account) => account == caller.source_account,
            None => caller.source_account == owner,
        };
        let arn = self
            .condition
            .arn_like
            .get(SOURCE_ARN)
            .is_none_or(|pattern| arn_like(pattern, caller.source_arn));
        self.effect == "Allow" && principal && action && account && arn
    }
}

/// The action a layer version's statements grant.
pub const GET_LAYER_VERSION: &str = "lambda:GetLayerVersion";

fn check_sid(sid: &str) -> Result<()> {
    if sid.is_empty()
        || sid.len() > 100
        || !sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(Error::InvalidParameterValue(format!(
            "StatementId {sid:?} must be 1-100 characters of letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_principal(principal: &str) -> Result<Principal> {
    if principal == "*" {
        return Ok(Principal::Anyone("*".into()));
    }
    if is_account(principal) {
        return Ok(Principal::Account {
            aws: format!("arn:funnel:iam::{principal}:root"),
        });
    }
    if let Some(account) = principal
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(_, rest)| rest.strip_suffix(":root"))
        && is_account(account)
    {
        return Ok(Principal::Account {
            aws: principal.into(),
        });
    }
    let service = principal
        .strip_suffix(".amazonaws.com")
        .is_some_and(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
        });
    if service {
        return Ok(Principal::Service {
            service: principal.into(),
        });
    }
    Err(Error::InvalidParameterValue(format!(
        "Principal {principal:?} must be a service (s3.amazonaws.com, sns.amazonaws.com, \
         events.amazonaws.com), a 12-digit account id, an account root ARN, or *"
    )))
}

/// IAM's `ArnLike`: each of the six colon-separated parts of an ARN
/// (`arn`, partition, service, region, account, resource; the resource may
/// hold more colons) is matched on its own, where `*` matches any run of
/// characters and `?` any one, so a wildcard never reaches into the next
/// part. A pattern with no colon (`*`) is matched against the whole value.
pub(crate) fn arn_like(pattern: &str, arn: &str) -> bool {
    if !pattern.contains(':') {
        return wildcard(pattern, arn);
    }
    let mut patterns = pattern.splitn(6, ':');
    let mut parts = arn.splitn(6, ':');
    loop {
        match (patterns.next(), parts.next()) {
            (None, None) => return true,
            (Some(pattern), Some(part)) if wildcard(pattern, part) => {}
            _ => return false,
        }
    }
}

/// `*` matches any run of characters, `?` any one.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    wildcard_by(pattern, text, false)
}

/// [`wildcard`], ignoring ASCII case (IAM's action names).
pub(crate) fn wildcard_ignore_case(pattern: &str, text: &str) -> bool {
    wildcard_by(pattern, text, true)
}

/// Bytes when both are ASCII (no allocation: this runs on every call's
/// authorization), characters otherwise.
fn wildcard_by(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    if pattern.is_ascii() && text.is_ascii() {
        let (p, s) = (pattern.as_bytes(), text.as_bytes());
        if ignore_case {
            matches(p, s, u8::eq_ignore_ascii_case)
        } else {
            matches(p, s, |a, b| a == b)
        }
    } else {
        let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        if ignore_case {
            matches(&p, &s, char::eq_ignore_ascii_case)
        } else {
            matches(&p, &s, |a, b| a == b)
        }
    }
}

/// Wildcard matching with one backtrack point: `*` and `?` in `p`.
fn matches<T: Copy + PartialEq + From<u8>>(p: &[T], s: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    let (star, any) = (T::from(b'*'), T::from(b'?'));
    let (mut pi, mut si) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] != star && (p[pi] == any || eq(&p[pi], &s[si])) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == star {
            backtrack = Some((pi, si));
            pi += 1;
        } else if let Some((star_p, star_s)) = backtrack {
            pi = star_p + 1;
            si = star_s + 1;
            backtrack = Some((star_p, star_s + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == star)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTION: &str = "arn:funnel:lambda:local:000000000000:function:f";

    fn request(principal: &str, arn: &str, account: &str) -> PermissionRequest {
        PermissionRequest {
            statement_id: "s3".into(),
            action: INVOKE_FUNCTION.into(),
            principal: principal.into(),
            source_arn: arn.into(),
            source_account: account.into(),
            function_url_auth_type: String::new(),
        }
    }

    fn s3(arn: &str) -> Caller<'_> {
        Caller {
            service: "s3.amazonaws.com",
            source_arn: arn,
            source_account: "000000000000",
        }
    }

    #[test]
    fn a_statement_is_lambdas_json() {
        let statement = Statement::from_request(
            &request("s3.amazonaws.com", "arn:funnel:s3:::photos", "000000000000"),
            FUNCTION,
        )
        .unwrap();
        let json: serde_json::Value = serde_json::to_value(&statement).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "Sid": "s3",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": FUNCTION,
                "Condition": {
                    "StringEquals": {"AWS:SourceAccount": "000000000000"},
                    "ArnLike": {"AWS:SourceArn": "arn:funnel:s3:::photos"}
                }
            })
        );
        let back: Statement = serde_json::from_value(json).unwrap();
        assert_eq!(back, statement);
    }

    #[test]
    fn the_source_must_match() {
        let mut policy = Policy::new();
        policy
            .add(
                Statement::from_request(
                    &request("s3.amazonaws.com", "arn:funnel:s3:::photos", ""),
                    FUNCTION,
                )
                .unwrap(),
            )
            .unwrap();
        assert!(policy.allows(s3("arn:funnel:s3:::photos"), "000000000000"));
        assert!(!policy.allows(s3("arn:funnel:s3:::other"), "000000000000"));
        let sns = Caller {
            service: "sns.amazonaws.com",
            ..s3("arn:funnel:s3:::photos")
        };
        assert!(!policy.allows(sns, "000000000000"));
        policy.remove("s3").unwrap();
        assert!(!policy.allows(s3("arn:funnel:s3:::photos"), "000000000000"));
        assert!(policy.remove("s3").is_err());
    }

    #[test]
    fn wildcards_and_accounts() {
        assert!(arn_like("arn:funnel:s3:::photo*", "arn:funnel:s3:::photos"));
        assert!(arn_like("arn:funnel:s3:::ph?tos", "arn:funnel:s3:::photos"));
        assert!(!arn_like("arn:funnel:s3:::ph?tos", "arn:funnel:s3:::phtos"));
        assert!(arn_like("*", "anything"));
        // Each part on its own: a wildcard does not reach into the next.
        assert!(!arn_like(
            "arn:funnel:s*",
            "arn:funnel:sns:local:000000000000:t"
        ));
        assert!(!arn_like(
            "arn:funnel:sns:local:*",
            "arn:funnel:sns:local:000000000000:t"
        ));
        assert!(!arn_like(
            "arn:funnel:s*:::photos",
            "arn:funnel:sns:local:000000000000:photos"
        ));
        assert!(arn_like(
            "arn:funnel:sns:local:*:orders",
            "arn:funnel:sns:local:000000000000:orders"
        ));
        // The resource is one part, colons and all.
        assert!(arn_like(
            "arn:funnel:events:local:000000000000:rule/*",
            "arn:funnel:events:local:000000000000:rule/nightly"
        ));
        assert!(arn_like(
            "arn:funnel:lambda:local:000000000000:function:*",
            "arn:funnel:lambda:local:000000000000:function:f:live"
        ));
        let mut policy = Policy::new();
        policy
            .add(
                Statement::from_request(&request("s3.amazonaws.com", "", "111111111111"), FUNCTION)
                    .unwrap(),
            )
            .unwrap();
        assert!(
            !policy.allows(s3("arn:funnel:s3:::photos"), "000000000000"),
            "another account's bucket"
        );
    }

    #[test]
    fn bad_requests_are_named() {
        for (principal, what) in [("s3", "Principal"), ("", "Principal")] {
            let err = Statement::from_request(&request(principal, "", ""), FUNCTION).unwrap_err();
            assert!(err.message().contains(what), "{err}");
        }
        let mut bad = request("s3.amazonaws.com", "", "");
        bad.action = "lambda:GetFunction".into();
        assert!(Statement::from_request(&bad, FUNCTION).is_err());
        bad = request("s3.amazonaws.com", "", "12");
        assert!(Statement::from_request(&bad, FUNCTION).is_err());
        bad = request("s3.amazonaws.com", "", "");
        bad.statement_id = "has space".into();
        assert!(Statement::from_request(&bad, FUNCTION).is_err());
    }

    #[test]
    fn a_public_url_needs_an_invoke_function_url_statement_for_anyone() {
        let url = |principal: &str, auth_type: &str| {
            let mut r = request(principal, "", "");
            r.action = INVOKE_FUNCTION_URL.into();
            r.function_url_auth_type = auth_type.into();
            let mut policy = Policy::new();
            policy
                .add(Statement::from_request(&r, FUNCTION).unwrap())
                .unwrap();
            policy
        };
        let public = url("*", "NONE");
        assert!(public.allows_url("NONE"));
        assert!(!public.allows_url("FUNNEL"));
        let json: serde_json::Value = serde_json::from_str(&public.to_json()).unwrap();
        assert_eq!(json["Statement"][0]["Action"], "lambda:InvokeFunctionUrl");
        assert_eq!(
            json["Statement"][0]["Condition"]["StringEquals"]["lambda:FunctionUrlAuthType"],
            "NONE"
        );
        assert!(url("*", "").allows_url("NONE"));
        // An account is not everyone; an InvokeFunction statement is not a URL's.
        assert!(!url("111122223333", "NONE").allows_url("NONE"));
        assert!(url("111122223333", "FUNNEL").allows_account("111122223333", INVOKE_FUNCTION_URL));
        let mut invoke = Policy::new();
        invoke
            .add(Statement::from_request(&request("*", "", ""), FUNCTION).unwrap())
            .unwrap();
        assert!(!invoke.allows_url("NONE"));
        // Nor does a URL statement let a trigger in.
        assert!(!public.allows(s3("arn:funnel:s3:::b"), "000000000000"));
        let mut bad = request("*", "", "");
        bad.function_url_auth_type = "NONE".into();
        assert!(
            Statement::from_request(&bad, FUNCTION).is_err(),
            "needs the URL action"
        );
        bad.action = INVOKE_FUNCTION_URL.into();
        bad.function_url_auth_type = "AWS_IAM2".into();
        assert!(Statement::from_request(&bad, FUNCTION).is_err());
    }

    #[test]
    fn duplicates_and_size_are_refused() {
        let mut policy = Policy::new();
        let statement = Statement::from_request(&request("*", "", ""), FUNCTION).unwrap();
        policy.add(statement.clone()).unwrap();
        assert_eq!(
            policy.add(statement).unwrap_err().aws_name(),
            "ResourceConflictException"
        );
        let mut n = 0;
        let err = loop {
            let mut r = request("*", &format!("arn:funnel:s3:::{}", "b".repeat(60)), "");
            r.statement_id = format!("big{n}");
            n += 1;
            if let Err(err) = policy.add(Statement::from_request(&r, FUNCTION).unwrap()) {
                break err;
            }
        };
        assert_eq!(err.aws_name(), "PolicyLengthExceededException");
        assert!(policy.to_json().len() <= POLICY_LIMIT);
    }
}
