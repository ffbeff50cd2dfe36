//! What a function's guest is granted beyond its own `/tmp`: buckets
//! (`BucketAccess`), topics it may publish to (`TopicAccess`), and the loop
//! guard.
//!
//! A function's configuration grants it buckets, `read` or `read-write`;
//! each granted bucket is preopened at `/buckets/<name>`, and nothing else
//! of the host's files is visible. A function's writes into a bucket fire
//! that bucket's notifications like any other write, so a function that
//! writes a bucket whose events invoke it (directly, or through other
//! buckets and functions) would run forever. funnel refuses the
//! configuration that would close such a loop — the notification
//! (`InvalidArgument`) or the grant (`InvalidParameterValueException`) —
//! and names the loop. Write results to another bucket instead.
//!
//! A topic grant names a topic (an ARN of this server is stored as its
//! name); the topic need not exist yet, since stacks deploy functions
//! before the topics that subscribe them. The publish itself is checked
//! against the grant in `topics::guest`.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::function::Naming;
use funnel_store::{BucketRecord, NotificationRecord, Store};

pub const READ: &str = "read";
pub const READ_WRITE: &str = "read-write";

/// A change whose loops to look for, applied to what is stored.
pub enum Proposed<'a> {
    Notifications(&'a str, &'a [NotificationRecord]),
    Grants(&'a str, &'a BTreeMap<String, String>),
}

/// The key of bucket `name` granted to the function `function` (a key):
/// grants name buckets of the function's own account.
pub fn bucket_key(naming: &Naming, function: &str, name: &str) -> String {
    naming.key_in(naming.account_of(function), name)
}

/// Checks the bucket grants of `function` (a key): buckets of its account
/// that exist, `read` or `read-write`.
pub fn check_bucket_access(
    store: &Store,
    naming: &Naming,
    function: &str,
    access: &BTreeMap<String, String>,
) -> Result<()> {
    for (bucket, mode) in access {
        if mode != READ && mode != READ_WRITE {
            return Err(Error::InvalidParameterValue(format!(
                "BucketAccess for {bucket} must be {READ:?} or {READ_WRITE:?}, not {mode:?}"
            )));
        }
        if store
            .get_bucket(&bucket_key(naming, function, bucket))?
            .is_none()
        {
            return Err(Error::InvalidParameterValue(format!(
                "BucketAccess names bucket {bucket}, which does not exist"
            )));
        }
    }
    Ok(())
}

/// The loop `proposed` would close, as `bucket a → function f → bucket
/// a`, if any.
pub fn find_trigger_loop(
    store: &Store,
    naming: &Naming,
    proposed: Proposed<'_>,
) -> Result<Option<String>> {
    // Edges: a bucket to the functions it notifies; a function to the
    // buckets any of its versions may write.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let buckets: Vec<BucketRecord> = store.buckets()?;
    for bucket in &buckets {
        let notifications = match &proposed {
            Proposed::Notifications(name, new) if *name == bucket.name => new,
            _ => bucket.notifications.as_slice(),
        };
        for config in notifications {
            if let Ok(target) = naming.parse_function(&config.function_arn) {
                edges
                    .entry(format!("bucket {}", bucket.name))
                    .or_default()
                    .insert(format!("function {}", target.name));
            }
        }
    }
    for function in store.all_functions()? {
        let mut grants: Vec<BTreeMap<String, String>> = vec![function.bucket_access.clone()];
        grants.extend(
            store
                .versions(&function.name)?
                .into_iter()
                .map(|v| v.bucket_access),
        );
        if let Proposed::Grants(name, new) = &proposed
            && *name == function.name
        {
            grants[0] = (*new).clone();
        }
        for (bucket, mode) in grants.iter().flatten() {
            if mode == READ_WRITE {
                edges
                    .entry(format!("function {}", function.name))
                    .or_default()
                    .insert(format!(
                        "bucket {}",
                        bucket_key(naming, &function.name, bucket)
                    ));
            }
        }
    }
    Ok(find_cycle(&edges))
}

/// The topic grants of `function` (a key) as stored: names of topics of
/// its own account, each once, in the order given.
pub fn topic_access(naming: &Naming, function: &str, topics: &[String]) -> Result<Vec<String>> {
    let own = naming.for_account(naming.account_of(function));
    let mut names: Vec<String> = Vec::with_capacity(topics.len());
    for topic in topics {
        let key = own.topic_name(topic).map_err(|why| {
            Error::InvalidParameterValue(format!("TopicAccess names {topic:?}: {why}"))
        })?;
        if !own.owns(&key) {
            return Err(Error::InvalidParameterValue(format!(
                "TopicAccess names {topic:?}, a topic of another account: a function publishes \
                 to its own account's topics"
            )));
        }
        let name = crate::tenancy::name(&key);
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// A cycle in `edges`, written `a → b → a`.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<&str> = path[at..].to_vec();
            cycle.push(node);
            return Some(cycle.join(" → "));
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(pairs: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            edges
                .entry(a.to_string())
                .or_default()
                .insert(b.to_string());
        }
        edges
    }

    #[test]
    fn cycles_are_found_and_named() {
        assert_eq!(find_cycle(&graph(&[("b", "f"), ("f", "c")])), None);
        assert_eq!(
            find_cycle(&graph(&[("b", "f"), ("f", "b")])).as_deref(),
            Some("b → f → b")
        );
        let long = graph(&[("a", "f"), ("f", "b"), ("b", "g"), ("g", "a")]);
        assert_eq!(find_cycle(&long).as_deref(), Some("a → f → b → g → a"));
    }
}
