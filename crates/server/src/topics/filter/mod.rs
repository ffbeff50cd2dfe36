//! SNS subscription filter policies: `FilterPolicy` under a `FilterPolicyScope`.
//!
//! Owns two things: validating a policy the way SNS does at `Subscribe` and
//! `SetSubscriptionAttributes` (same limits, same `InvalidParameter` text), and
//! deciding whether one published message matches it. It knows nothing of
//! topics, subscriptions, storage or delivery, and must not grow to.
//!
//! SNS evaluates policies with AWS's Event Ruler, so this follows Ruler where
//! the SNS guide is silent:
//! - a policy compiles to one or more *branches* (`$or` forks them); a branch
//!   maps a dot-joined key path to the values ORed for it, and the keys of a
//!   branch are ANDed. `{"a.b": ..}` and `{"a": {"b": ..}}` are the same key,
//!   in the policy and in the message;
//! - `$or` is the OR operator only when its value is an array of two or more
//!   objects none of which uses an operator name as a key; otherwise the whole
//!   policy is read again with `$or` as an ordinary key (Ruler's fallback);
//! - strings match strings and numbers match numbers: a `String` attribute
//!   `"5"` never meets `{"numeric": ..}` nor the policy value `5`;
//! - numbers compare in Ruler's comparable form, ±1e9 with six decimals, so
//!   `100`, `100.0` and `1e2` are equal; beyond that range only the same
//!   literal matches;
//! - an array in the message matches when any element does, and keys inside
//!   objects of different elements of one array never match together;
//! - `exists` looks at leaves only; `null` does not count as existing; a
//!   message with no attributes (or an empty body object) matches nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::net::IpAddr;

use serde_json::{Map, Number, Value};

#[cfg(test)]
mod tests;

/// Which part of a published message a policy is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    MessageAttributes,
    MessageBody,
}

/// A message attribute as published: DataType is "String", "String.Array",
/// "Number" or "Binary" (optionally with a `.custom` label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub data_type: String,
    /// StringValue, or base64 of BinaryValue.
    pub value: String,
}

/// A parsed, validated filter policy.
#[derive(Debug, Clone)]
pub struct FilterPolicy {
    scope: Scope,
    branches: Vec<Branch>,
}

/// SNS's largest policy: 256 KB.
const MAX_POLICY_BYTES: usize = 256 * 1024;
/// Leaf keys a policy may name.
const MAX_KEYS: usize = 5;
/// The most value combinations a policy may expand to.
const MAX_COMBINATIONS: u64 = 150;
/// Numbers compare by value within ±this bound.
const NUMBER_LIMIT: f64 = 1e9;
/// Keys that stop `$or` being read as the OR operator (Ruler's list).
const RESERVED_IN_OR: &str = "exactly equals-ignore-case prefix suffix anything-but exists \
    wildcard numeric cidr = < <= > >= regex not-wildcard not-equals-ignore-case date-after \
    date-on-or-after date-before date-on-or-before in-date-range ip-address-in-range \
    ip-address-not-in-range";
const NESTED: &str = "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy";
const OUT_OF_RANGE: &str = "Value must be between -1.0E9 and 1.0E9, inclusive";

/// One AND-group of the policy: key path → the ORed values for it.
type Branch = BTreeMap<String, Field>;
/// Array elements a message value sits in, as (array id, index).
type Arrays = Vec<(u32, u32)>;
/// A numeric bound: (comparable key, inclusive).
type Bound = Option<(i64, bool)>;

#[derive(Debug, Clone)]
struct Field {
    /// How deep the key sits in the policy; SNS weighs complexity by it.
    depth: u64,
    patterns: Vec<Pattern>,
}

/// A JSON scalar, from a policy or a message.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Str(String),
    /// Ruler's comparable key (when within ±1e9), and the literal.
    Num(Option<i64>, String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
enum Pattern {
    Exact(Scalar),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    /// All strings or all numbers.
    AnythingBut(Vec<Scalar>),
    AnythingButPrefix(String),
    Range(Bound, Bound),
    Exists(bool),
    /// The lowest and highest address, as bytes.
    Cidr(Vec<u8>, Vec<u8>),
}

impl FilterPolicy {
    /// Parses and validates as SNS does at Subscribe / SetSubscriptionAttributes.
    /// The error is SNS's `InvalidParameter` message as SetSubscriptionAttributes
    /// words it; [`for_subscribe`] gives Subscribe's wording. An empty string
    /// means "no policy" to SNS and is the caller's to handle.
    pub fn parse(json: &str, scope: Scope) -> Result<FilterPolicy, String> {
        if json.len() > MAX_POLICY_BYTES {
            return fail("Filter policy is too large");
        }
        let Value::Object(root) = serde_json::from_str(json).map_err(fp)? else {
            return fail("Filter is not an object");
        };
        let compile = |or: bool| Compiler { or }.object(&root, "", 1, false, vec![Branch::new()]);
        let branches = match compile(true) {
            Ok(branches) => branches,
            Err(e) if e == fp(TOO_COMPLEX) => return Err(e),
            Err(_) => compile(false)?,
        };
        // SNS's own checks follow Ruler's compile: a policy both nested and
        // malformed is reported as malformed.
        let nested = branches
            .iter()
            .flat_map(|b| b.values())
            .any(|f| f.depth > 1);
        if scope == Scope::MessageAttributes && nested {
            return Err(NESTED.to_string());
        }
        let keys: BTreeSet<&String> = branches.iter().flat_map(|b| b.keys()).collect();
        if keys.len() > MAX_KEYS {
            return fail("Filter policy can not have more than 5 keys");
        }
        let combinations = branches.iter().fold(0u64, |sum, branch| {
            let weigh = |f: &Field| f.depth.saturating_mul(f.patterns.len() as u64);
            sum.saturating_add(branch.values().map(weigh).fold(1, u64::saturating_mul))
        });
        if combinations > MAX_COMBINATIONS {
            return fail(TOO_COMPLEX);
        }
        Ok(FilterPolicy { scope, branches })
    }

    /// Whether a message with these attributes and this body is delivered.
    pub fn matches(&self, attributes: &BTreeMap<String, Attribute>, body: &str) -> bool {
        let mut event = Leaves::default();
        match self.scope {
            Scope::MessageAttributes => event.add_attributes(attributes),
            // SNS assumes a body policy meets a well-formed JSON object.
            Scope::MessageBody => match serde_json::from_str(body) {
                Ok(object @ Value::Object(_)) => event.add(&object, "", &[]),
                _ => return false,
            },
        }
        !event.leaves.is_empty() && self.branches.iter().any(|b| event.matches(b))
    }
}

/// Subscribe words SetSubscriptionAttributes' messages with "Attributes Reason: ".
pub fn for_subscribe(message: &str) -> String {
    match message.strip_prefix("Invalid parameter: ") {
        Some(reason) => format!("Invalid parameter: Attributes Reason: {reason}"),
        None => message.to_string(),
    }
}

const TOO_COMPLEX: &str = "Filter policy is too complex";

fn fp(reason: impl Display) -> String {
    format!("Invalid parameter: FilterPolicy: {reason}")
}

fn fail<T>(reason: impl Display) -> Result<T, String> {
    Err(fp(reason))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

struct Compiler {
    /// Off for Ruler's second, legacy reading where `$or` is a plain key.
    or: bool,
}

impl Compiler {
    fn object(
        &self,
        object: &Map<String, Value>,
        prefix: &str,
        depth: u64,
        in_or: bool,
        mut branches: Vec<Branch>,
    ) -> Result<Vec<Branch>, String> {
        if object.is_empty() {
            return fail("Empty objects are not allowed");
        }
        for (key, value) in object {
            if self.or && key == "$or" {
                branches = self.or(value, prefix, depth, branches)?;
                continue;
            }
            if self.or && in_or && RESERVED_IN_OR.split_whitespace().any(|r| r == key) {
                // Never shown: the legacy reading's verdict is reported instead.
                return fail("reserved name inside $or");
            }
            let path = join(prefix, key);
            match value {
                Value::Object(inner) => {
                    branches = self.object(inner, &path, depth + 1, in_or, branches)?;
                }
                Value::Array(values) => {
                    let patterns = values_of(values)?;
                    for branch in &mut branches {
                        let field = Field {
                            depth,
                            patterns: patterns.clone(),
                        };
                        branch.insert(path.clone(), field);
                    }
                }
                _ => return fail(format!("\"{key}\" must be an object or an array")),
            }
        }
        Ok(branches)
    }

    fn or(
        &self,
        value: &Value,
        prefix: &str,
        depth: u64,
        branches: Vec<Branch>,
    ) -> Result<Vec<Branch>, String> {
        let alternatives = match value {
            Value::Array(alternatives) if alternatives.len() >= 2 => alternatives,
            _ => return fail("$or needs an array of 2 or more objects"),
        };
        let mut forked = Vec::new();
        for alternative in alternatives {
            let Value::Object(object) = alternative else {
                return fail("$or needs an array of 2 or more objects");
            };
            forked.extend(self.object(object, prefix, depth, true, branches.clone())?);
            // Each branch costs at least one combination: stop an exponential fork early.
            if forked.len() as u64 > MAX_COMBINATIONS {
                return fail(TOO_COMPLEX);
            }
        }
        Ok(forked)
    }
}

fn values_of(values: &[Value]) -> Result<Vec<Pattern>, String> {
    let mut patterns = Vec::with_capacity(values.len());
    for value in values {
        patterns.push(match value {
            Value::Object(expression) => match_expression(expression)?,
            Value::Array(_) => {
                return fail("Match value must be String, number, true, false, or null");
            }
            scalar => Pattern::Exact(Scalar::of(scalar)),
        });
    }
    if patterns.is_empty() {
        return fail("Empty arrays are not allowed");
    }
    Ok(patterns)
}

fn match_expression(expression: &Map<String, Value>) -> Result<Pattern, String> {
    let Some((operator, operand)) = expression.iter().next() else {
        return fail("Match expression name not found");
    };
    let string = |make: fn(String) -> Pattern| match operand {
        Value::String(s) => Ok(make(s.clone())),
        _ => fail(format!("{operator} match pattern must be a string")),
    };
    let pattern = match operator.as_str() {
        "prefix" => string(Pattern::Prefix)?,
        "suffix" => string(Pattern::Suffix)?,
        "equals-ignore-case" => string(Pattern::EqualsIgnoreCase)?,
        "numeric" => numeric(operand)?,
        "anything-but" => anything_but(operand)?,
        "exists" => match operand {
            Value::Bool(b) => Pattern::Exists(*b),
            _ => return fail("exists match pattern must be either true or false."),
        },
        "cidr" => cidr(operand)?,
        _ => return fail(format!("Unrecognized match type {operator}")),
    };
    match expression.len() {
        1 => Ok(pattern),
        // Ruler reads a second key after these two as a numeric-arity fault.
        _ if operator == "numeric" || operator == "anything-but" => {
            fail("Too many elements in numeric expression")
        }
        _ => fail("Only one key allowed in match expression"),
    }
}

/// `[op, n]` with op one of = < <= > >=, or `[> or >=, n, < or <=, m]`.
fn numeric(operand: &Value) -> Result<Pattern, String> {
    let Value::Array(items) = operand else {
        return fail("Value of numeric must be an array.");
    };
    let operator = match items.first() {
        None => return fail("Invalid member in numeric match: ]"),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return fail(format!("Invalid member in numeric match: {}", token(other))),
    };
    if !matches!(operator, "=" | "<" | "<=" | ">" | ">=") {
        return fail(format!("Unrecognized numeric range operator: {operator}"));
    }
    let first = threshold(
        items.get(1),
        if operator == "=" { "equals" } else { operator },
    )?;
    let rest = items.get(2..).unwrap_or_default();
    let bound = |value: f64, inclusive: bool| match comparable(value) {
        Some(key) => Ok(Some((key, inclusive))),
        None => fail(OUT_OF_RANGE),
    };
    match operator {
        "=" | "<" | "<=" if !rest.is_empty() => fail("Too many elements in numeric expression"),
        "=" => Ok(Pattern::Range(bound(first, true)?, bound(first, true)?)),
        "<" | "<=" => Ok(Pattern::Range(None, bound(first, operator == "<=")?)),
        _ if rest.is_empty() => Ok(Pattern::Range(bound(first, operator == ">=")?, None)),
        _ => {
            let upper = match &rest[0] {
                Value::String(s) if s == "<" || s == "<=" => s.as_str(),
                Value::String(s) => return fail(format!("Bad numeric range operator: {s}")),
                other => return fail(format!("Bad value in numeric range: {}", token(other))),
            };
            let top = threshold(rest.get(1), upper)?;
            if rest.len() > 2 {
                return fail("Too many terms in numeric range expression");
            }
            if first >= top {
                return fail("Bottom must be less than top");
            }
            Ok(Pattern::Range(
                bound(first, operator == ">=")?,
                bound(top, upper == "<=")?,
            ))
        }
    }
}

fn threshold(value: Option<&Value>, name: &str) -> Result<f64, String> {
    match value.and_then(Value::as_f64) {
        Some(f) => Ok(f),
        None => fail(format!("Value of {name} must be numeric")),
    }
}

fn anything_but(operand: &Value) -> Result<Pattern, String> {
    let number = |n: &Number| match Scalar::of(&Value::Number(n.clone())) {
        Scalar::Num(None, _) => fail(OUT_OF_RANGE),
        scalar => Ok(scalar),
    };
    match operand {
        Value::Object(inner) => {
            let Some((operator, value)) = inner.iter().next() else {
                return fail("Anything-But expression name not found");
            };
            // SNS answers "Unsupported anything-but pattern: suffix" (recorded).
            if operator != "prefix" {
                return fail(format!("Unsupported anything-but pattern: {operator}"));
            }
            let Value::String(prefix) = value else {
                return fail("prefix match pattern must be a string");
            };
            if prefix.is_empty() {
                return fail("Null prefix not allowed");
            }
            if inner.len() > 1 {
                return fail("Only one key allowed in match expression");
            }
            Ok(Pattern::AnythingButPrefix(prefix.clone()))
        }
        Value::Array(items) => {
            let mut excluded = Vec::with_capacity(items.len());
            for item in items {
                excluded.push(match item {
                    Value::String(s) => Scalar::Str(s.clone()),
                    Value::Number(n) => number(n)?,
                    _ => {
                        return fail(
                            "Inside anything but list, start|null|boolean is not supported.",
                        );
                    }
                });
            }
            let numbers = excluded
                .iter()
                .filter(|s| matches!(s, Scalar::Num(..)))
                .count();
            if excluded.is_empty() || (numbers > 0 && numbers < excluded.len()) {
                return fail(
                    "Inside anything but list, either all values are number or string, \
                     mixed type is not supported",
                );
            }
            Ok(Pattern::AnythingBut(excluded))
        }
        Value::String(s) => Ok(Pattern::AnythingBut(vec![Scalar::Str(s.clone())])),
        Value::Number(n) => Ok(Pattern::AnythingBut(vec![number(n)?])),
        _ => fail("Value of anything-but must be an array or single string/number value."),
    }
}

fn cidr(operand: &Value) -> Result<Pattern, String> {
    // Ruler's own wording for a non-string cidr.
    let Value::String(text) = operand else {
        return fail("prefix match pattern must be a string");
    };
    // Java's split, which drops trailing empty fields.
    let mut parts: Vec<&str> = text.split('/').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let [address, mask] = parts[..] else {
        return fail("Malformed CIDR, one '/' required");
    };
    let Ok(mask) = mask.parse::<i32>() else {
        return fail("Malformed CIDR, mask bits must be an integer");
    };
    if mask < 0 {
        return fail("Malformed CIDR, mask bits must not be negative");
    }
    if !looks_like_ip(address) {
        return fail(format!("Nonstandard IP address: {address}"));
    }
    let Some(low) = ip_bytes(address) else {
        return fail(format!("Invalid IP address: {address}"));
    };
    match low.len() {
        4 if mask > 31 => return fail("IPv4 mask bits must be < 32"),
        16 if mask > 127 => return fail("IPv6 mask bits must be < 128"),
        _ => {}
    }
    // Ruler's range starts at the address as written, not the network address.
    let host_bits = low.len() * 8 - mask as usize;
    let high = (low.iter().enumerate())
        .map(|(i, byte)| {
            let free = host_bits.saturating_sub((low.len() - 1 - i) * 8).min(8);
            byte | ((1u16 << free) - 1) as u8
        })
        .collect();
    Ok(Pattern::Cidr(low, high))
}

/// Ruler's gate before it parses an address (so a hostname is never looked up).
fn looks_like_ip(s: &str) -> bool {
    let octet = |o: &str| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit());
    let v4 = s.split('.').count() == 4 && s.split('.').all(octet);
    v4 || (s.contains(':') && s.bytes().all(|b| b == b':' || b.is_ascii_hexdigit()))
}

fn ip_bytes(s: &str) -> Option<Vec<u8>> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(ip) => Some(ip.octets().to_vec()),
        IpAddr::V6(ip) => Some(ip.octets().to_vec()),
    }
}

/// The text Ruler's JSON parser shows for an offending token.
fn token(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(_) => "[".into(),
        Value::Object(_) => "{".into(),
        other => other.to_string(),
    }
}

fn comparable(f: f64) -> Option<i64> {
    (-NUMBER_LIMIT..=NUMBER_LIMIT)
        .contains(&f)
        .then_some((1e6 * (NUMBER_LIMIT + f)) as i64)
}

impl Scalar {
    fn of(value: &Value) -> Scalar {
        match value {
            Value::String(s) => Scalar::Str(s.clone()),
            Value::Number(n) => Scalar::Num(n.as_f64().and_then(comparable), n.to_string()),
            Value::Bool(b) => Scalar::Bool(*b),
            _ => Scalar::Null,
        }
    }

    /// Equality as an exact policy value means it.
    fn equals(&self, other: &Scalar) -> bool {
        match (self, other) {
            (Scalar::Num(a, x), Scalar::Num(b, y)) => (a.is_some() && a == b) || x == y,
            (a, b) => a == b,
        }
    }
}

impl Pattern {
    fn matches(&self, value: &Scalar) -> bool {
        use Scalar::{Num, Str};
        let above =
            |k: i64, low: &Bound| low.is_none_or(|(b, inclusive)| k > b || inclusive && k == b);
        let below =
            |k: i64, high: &Bound| high.is_none_or(|(t, inclusive)| k < t || inclusive && k == t);
        match (self, value) {
            (Pattern::Exact(expected), v) => expected.equals(v),
            (Pattern::Prefix(p), Str(s)) => s.starts_with(p.as_str()),
            (Pattern::Suffix(p), Str(s)) => s.ends_with(p.as_str()),
            (Pattern::EqualsIgnoreCase(p), Str(s)) => p.to_lowercase() == s.to_lowercase(),
            (Pattern::AnythingBut(excluded), v) => {
                let numeric = matches!(excluded.first(), Some(Num(..)));
                (!numeric || matches!(v, Num(Some(_), _))) && !excluded.iter().any(|x| x.equals(v))
            }
            (Pattern::AnythingButPrefix(p), v) => !matches!(v, Str(s) if s.starts_with(p.as_str())),
            (Pattern::Range(low, high), Num(Some(k), _)) => above(*k, low) && below(*k, high),
            (Pattern::Exists(wanted), v) => *wanted && *v != Scalar::Null,
            (Pattern::Cidr(low, high), Str(s)) => {
                looks_like_ip(s)
                    && ip_bytes(s)
                        .is_some_and(|ip| ip.len() == low.len() && *low <= ip && ip <= *high)
            }
            _ => false,
        }
    }
}

/// A message flattened to leaves: key path → every scalar found there, with
/// the array elements it sits in.
#[derive(Default)]
struct Leaves {
    leaves: BTreeMap<String, Vec<(Scalar, Arrays)>>,
    arrays: u32,
}

impl Leaves {
    fn add(&mut self, value: &Value, path: &str, arrays: &[(u32, u32)]) {
        match value {
            Value::Object(object) => {
                for (key, inner) in object {
                    self.add(inner, &join(path, key), arrays);
                }
            }
            Value::Array(items) => {
                let id = self.arrays;
                self.arrays += 1;
                for (index, item) in items.iter().enumerate() {
                    let mut inner = arrays.to_vec();
                    inner.push((id, index as u32));
                    self.add(item, path, &inner);
                }
            }
            scalar => {
                let leaf = (Scalar::of(scalar), arrays.to_vec());
                self.leaves.entry(path.to_string()).or_default().push(leaf);
            }
        }
    }

    /// Attributes as SNS hands them to Ruler: a String is a JSON string, a
    /// Number a JSON number, a String.Array its JSON array; Binary is ignored.
    fn add_attributes(&mut self, attributes: &BTreeMap<String, Attribute>) {
        for (name, attribute) in attributes {
            let text = attribute.value.as_str();
            let value = match attribute.data_type.split('.').next() {
                _ if attribute.data_type == "String.Array" => {
                    serde_json::from_str(text).ok().filter(Value::is_array)
                }
                Some("String") => Some(Value::String(text.to_string())),
                Some("Number") => match serde_json::from_str(text.trim()) {
                    Ok(Value::Number(n)) => Some(Value::Number(n)),
                    _ => text
                        .trim()
                        .parse()
                        .ok()
                        .and_then(Number::from_f64)
                        .map(Value::Number),
                },
                _ => None,
            };
            if let Some(value) = value {
                self.add(&value, name, &[]);
            }
        }
    }

    fn matches(&self, branch: &Branch) -> bool {
        let mut needed: Vec<Vec<&Arrays>> = Vec::with_capacity(branch.len());
        for (path, field) in branch {
            let leaves = self.leaves.get(path).map(Vec::as_slice).unwrap_or_default();
            let present = leaves.iter().any(|(v, _)| *v != Scalar::Null);
            if !present
                && field
                    .patterns
                    .iter()
                    .any(|p| matches!(p, Pattern::Exists(false)))
            {
                continue;
            }
            let mut candidates: Vec<&Arrays> = (leaves.iter())
                .filter(|(v, _)| field.patterns.iter().any(|p| p.matches(v)))
                .map(|(_, arrays)| arrays)
                .collect();
            if candidates.is_empty() {
                return false;
            }
            candidates.sort_unstable();
            candidates.dedup();
            needed.push(candidates);
        }
        // Fewest choices first prunes the search soonest.
        needed.sort_by_key(Vec::len);
        let mut budget = SEARCH_BUDGET;
        let found = consistent(&needed, &mut Vec::new(), &mut budget);
        if budget == 0 {
            // A crafted body could make this search take minutes.
            tracing::warn!(
                steps = SEARCH_BUDGET,
                "filter policy matching gave up on a message with too many array combinations: no match"
            );
        }
        found
    }
}

/// The most candidate choices one match may try. A message built to blow
/// up the search (keys spread over many elements of one array) stops here
/// as a non-match instead of holding a core for seconds per subscription.
const SEARCH_BUDGET: u32 = 200_000;

/// Whether one candidate per key can be chosen with no two taken from
/// different elements of the same array, within `budget` tries.
fn consistent<'a>(
    needed: &[Vec<&'a Arrays>],
    chosen: &mut Vec<&'a Arrays>,
    budget: &mut u32,
) -> bool {
    let Some((first, rest)) = needed.split_first() else {
        return true;
    };
    first.iter().any(|&candidate| {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let clash = |other: &&Arrays| {
            (candidate.iter()).any(|(id, i)| other.iter().any(|(id2, j)| id == id2 && i != j))
        };
        if chosen.iter().any(clash) {
            return false;
        }
        chosen.push(candidate);
        let found = consistent(rest, chosen, budget);
        chosen.pop();
        found
    })
}
