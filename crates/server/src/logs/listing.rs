//! Listing log groups and streams (CloudWatch Logs' DescribeLogGroups and
//! DescribeLogStreams): pages in a stable order, each resuming after the
//! last item the previous one gave (so a group or stream written meanwhile
//! neither repeats nor shifts an item out of the listing).

use funnel_store::{LogGroupEntry, LogStreamEntry};

use super::Logs;
use crate::error::{Error, Result};

/// The most groups or streams a page lists, as CloudWatch.
pub const MAX_LISTED: usize = 50;

/// Which groups to list.
#[derive(Debug, Clone, Default)]
pub struct GroupListing {
    /// Names that start with this.
    pub prefix: String,
    /// Names that hold this, ignoring case.
    pub pattern: String,
    pub limit: Option<usize>,
    /// A previous page's next token.
    pub token: Option<String>,
}

/// Which streams of a group to list, in which order.
#[derive(Debug, Clone, Default)]
pub struct StreamListing {
    pub prefix: String,
    /// By last event time (then name); otherwise by name.
    pub by_last_event: bool,
    pub descending: bool,
    pub limit: Option<usize>,
    pub token: Option<String>,
}

impl Logs {
    /// A page of the groups `owns` keeps whose names (the keys' names in
    /// their account) the listing selects, by name; and the next token.
    pub async fn groups(
        &self,
        owns: impl Fn(&str) -> bool,
        listing: &GroupListing,
    ) -> Result<(Vec<LogGroupEntry>, Option<String>)> {
        let limit = page_limit(listing.limit)?;
        self.sync().await;
        let store = self.inner.store.clone();
        let all = tokio::task::spawn_blocking(move || store.log_groups())
            .await
            .map_err(|e| Error::Service(format!("listing log groups: {e}")))??;
        let pattern = listing.pattern.to_lowercase();
        let found = all
            .into_iter()
            .filter(|entry| owns(&entry.group))
            .filter_map(|entry| {
                let name = crate::tenancy::name(&entry.group).to_string();
                let wanted =
                    name.starts_with(&listing.prefix) && name.to_lowercase().contains(&pattern);
                wanted.then_some((name, entry))
            })
            .collect();
        page(found, false, listing.token.as_deref(), limit)
    }

    /// A page of `group`'s streams; and the next token.
    pub async fn streams(
        &self,
        group: &str,
        listing: &StreamListing,
    ) -> Result<(Vec<LogStreamEntry>, Option<String>)> {
        let limit = page_limit(listing.limit)?;
        self.sync().await;
        let store = self.inner.store.clone();
        let key = group.to_string();
        let streams = tokio::task::spawn_blocking(move || match store.log_group(&key)? {
            Some(_) => store.log_streams(&key).map(Some),
            None => Ok(None),
        })
        .await
        .map_err(|e| Error::Service(format!("listing log streams: {e}")))??
        .ok_or_else(|| {
            Error::ResourceNotFound(format!(
                "The specified log group does not exist: {}",
                crate::tenancy::name(group)
            ))
        })?;
        let found = streams
            .into_iter()
            .filter(|s| s.stream.starts_with(&listing.prefix))
            .map(|s| {
                let key = if listing.by_last_event {
                    // Fixed width, so text order is time order.
                    format!("{:020}{}", s.last_event_timestamp.max(0), s.stream)
                } else {
                    s.stream.clone()
                };
                (key, s)
            })
            .collect();
        page(found, listing.descending, listing.token.as_deref(), limit)
    }
}

fn page_limit(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Ok(MAX_LISTED),
        Some(n) if (1..=MAX_LISTED).contains(&n) => Ok(n),
        Some(n) => Err(Error::InvalidParameterValue(format!(
            "limit {n} is out of range: it must be between 1 and {MAX_LISTED}"
        ))),
    }
}

/// The page of `items` (each with its unique sort key) after the one whose
/// key `token` holds, and the token of this page's last when more follow.
fn page<T>(
    mut items: Vec<(String, T)>,
    descending: bool,
    token: Option<&str>,
    limit: usize,
) -> Result<(Vec<T>, Option<String>)> {
    let after = token
        .map(|token| {
            hex::decode(token)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| {
                    Error::InvalidParameterValue(format!("nextToken {token:?} is not valid"))
                })
        })
        .transpose()?;
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        items.reverse();
    }
    let mut rest = items.into_iter().filter(|(key, _)| match &after {
        None => true,
        Some(after) if descending => key < after,
        Some(after) => key > after,
    });
    let taken: Vec<(String, T)> = rest.by_ref().take(limit).collect();
    let next = match (taken.last(), rest.next()) {
        (Some((key, _)), Some(_)) => Some(hex::encode(key)),
        _ => None,
    };
    Ok((taken.into_iter().map(|(_, item)| item).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(items: &[&str]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|k| (k.to_string(), k.to_string()))
            .collect()
    }

    #[test]
    fn pages_resume_after_the_last_key_either_way() {
        let items = keys(&["c", "a", "d", "b"]);
        let (first, next) = page(items.clone(), false, None, 3).unwrap();
        assert_eq!(first, ["a", "b", "c"]);
        let (second, last) = page(items.clone(), false, next.as_deref(), 3).unwrap();
        assert_eq!((second, last), (vec!["d".to_string()], None));

        let (first, next) = page(items.clone(), true, None, 2).unwrap();
        assert_eq!(first, ["d", "c"]);
        let (second, last) = page(items.clone(), true, next.as_deref(), 2).unwrap();
        assert_eq!(
            (second, last),
            (vec!["b".to_string(), "a".to_string()], None)
        );

        assert!(matches!(
            page(items, false, Some("not hex"), 2),
            Err(Error::InvalidParameterValue(_))
        ));
    }
}
