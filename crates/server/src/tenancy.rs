//! Accounts as tenants: how a resource of one account is told apart from
//! another's of the same name.
//!
//! Every resource — function, layer, bucket, topic, rule, log group — is
//! kept under a *key*: its name in the home account (the server's own,
//! `000000000000` unless configured; where a data dir from before accounts
//! keeps its records, unchanged), `<account>:<name>` in any other. No
//! resource name may hold a `:`, so a key says its account by itself, and
//! everything behind the API (the store, the registry, the queue, the
//! router, logs, metrics) works on keys. The API turns a caller's names
//! into keys of the caller's account (an ARN names its own account), and
//! keys back into names and ARNs.

/// The account a key belongs to (`None`: the home account) and the
/// resource's name.
pub fn split(key: &str) -> (Option<&str>, &str) {
    match key.split_once(':') {
        Some((account, name)) => (Some(account), name),
        None => (None, key),
    }
}

/// The name a key shows its account.
pub fn name(key: &str) -> &str {
    split(key).1
}

/// The key of `name` in `account`, given the home account. A name that
/// holds a `:` (never a valid one) is prefixed even in the home account, so
/// `111111111111:photos` named by a home caller is not that account's key:
/// it stays the caller's, and its service refuses the name.
pub fn key(home: &str, account: &str, name: &str) -> String {
    if account == home && !name.contains(':') {
        name.to_string()
    } else {
        format!("{account}:{name}")
    }
}

/// Whether `key` belongs to `account`, given the home account.
pub fn belongs(home: &str, account: &str, key: &str) -> bool {
    match split(key).0 {
        Some(owner) => owner == account,
        None => account == home,
    }
}

/// The account an ARN names (`arn:partition:service:region:account:...`),
/// if it names one.
pub fn arn_account(arn: &str) -> Option<&str> {
    let account = arn.strip_prefix("arn:")?.split(':').nth(3)?;
    is_account_id(account).then_some(account)
}

/// Whether `text` is a 12-digit account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "000000000000";
    const TEAM: &str = "111111111111";

    #[test]
    fn keys_say_their_account() {
        assert_eq!(key(HOME, HOME, "hello"), "hello");
        assert_eq!(key(HOME, TEAM, "hello"), "111111111111:hello");
        // A name cannot reach into another account.
        let injected = key(HOME, HOME, "111111111111:hello");
        assert_eq!(split(&injected), (Some(HOME), "111111111111:hello"));
        assert!(!belongs(HOME, TEAM, &injected));
        assert_eq!(split("hello"), (None, "hello"));
        assert_eq!(split("111111111111:hello"), (Some(TEAM), "hello"));
        assert_eq!(name("111111111111:/aws/lambda/x"), "/aws/lambda/x");
        assert!(belongs(HOME, HOME, "hello"));
        assert!(!belongs(HOME, TEAM, "hello"));
        assert!(belongs(HOME, TEAM, "111111111111:hello"));
        assert!(!belongs(HOME, HOME, "111111111111:hello"));
        assert!(is_account_id(TEAM));
        assert_eq!(
            arn_account("arn:funnel:lambda:local:111111111111:function:f"),
            Some(TEAM)
        );
        assert_eq!(arn_account("arn:funnel:s3:::photos"), None);
        assert!(!is_account_id("11111111111a"));
    }
}
