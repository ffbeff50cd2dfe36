//! `PutBucketNotificationConfiguration` / `Get…`: which functions hear of
//! which objects, validated as S3 does — known event names, at most one
//! prefix and one suffix rule, no two configurations sharing an event type
//! for overlapping keys, and every destination a function whose resource
//! policy lets this bucket invoke it.

use super::{Buckets, S3_PRINCIPAL, event};
use crate::error::{Error, Result};
use crate::policies::Caller;
use funnel_store::NotificationRecord;

/// The event types a Lambda configuration may name.
pub const EVENT_TYPES: &[&str] = &[
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
];

/// One `LambdaFunctionConfiguration` as a caller gives it.
#[derive(Debug, Clone, Default)]
pub struct LambdaConfiguration {
    pub id: String,
    pub function_arn: String,
    pub events: Vec<String>,
    /// `(Name, Value)` filter rules: `prefix` or `suffix`.
    pub filter_rules: Vec<(String, String)>,
}

/// Whether `config` wants `event_name` (e.g. `ObjectCreated:Put`) for `key`.
pub fn wants(config: &NotificationRecord, event_name: &str, key: &str) -> bool {
    key.starts_with(&config.prefix)
        && key.ends_with(&config.suffix)
        && config.events.iter().any(|e| event_matches(e, event_name))
}

fn event_matches(pattern: &str, event_name: &str) -> bool {
    let pattern = pattern.strip_prefix("s3:").unwrap_or(pattern);
    match pattern.strip_suffix('*') {
        Some(family) => event_name.starts_with(family),
        None => pattern == event_name,
    }
}

/// Whether two event types can name the same event.
fn events_overlap(a: &str, b: &str) -> bool {
    let family = |e: &str| e.rsplit_once(':').map(|(f, _)| f.to_string());
    family(a) == family(b) && (a.ends_with(":*") || b.ends_with(":*") || a == b)
}

impl Buckets {
    /// Replaces the bucket's notification configuration.
    pub async fn put_notifications(
        &self,
        bucket: &str,
        configs: Vec<LambdaConfiguration>,
    ) -> Result<Vec<NotificationRecord>> {
        let mut record = self.bucket(bucket)?;
        let mut records = Vec::with_capacity(configs.len());
        for config in configs {
            records.push(self.check(&record.name, config)?);
        }
        for (i, a) in records.iter().enumerate() {
            for b in &records[i + 1..] {
                if a.id == b.id {
                    return Err(Error::InvalidArgument(format!(
                        "Configuration ids must be unique: {} is given twice",
                        a.id
                    )));
                }
                let events = a
                    .events
                    .iter()
                    .any(|x| b.events.iter().any(|y| events_overlap(x, y)));
                let prefixes = a.prefix.starts_with(&b.prefix) || b.prefix.starts_with(&a.prefix);
                let suffixes = a.suffix.ends_with(&b.suffix) || b.suffix.ends_with(&a.suffix);
                if events && prefixes && suffixes {
                    return Err(Error::InvalidArgument(format!(
                        "Configurations overlap. Configurations on the same bucket cannot share a common \
                         event type. ({} and {})",
                        a.id, b.id
                    )));
                }
            }
        }
        if let Some(cycle) = crate::grants::find_trigger_loop(
            &self.inner.store,
            self.inner.router.registry().naming(),
            crate::grants::Proposed::Notifications(bucket, &records),
        )? {
            return Err(Error::InvalidArgument(format!(
                "this configuration would make a trigger loop ({cycle}): a function that writes the \
                 bucket whose events invoke it would run forever; let it write to another bucket"
            )));
        }
        let lock = self.lock(bucket);
        let _held = lock.lock().await;
        // Read again under the lock: the record may have changed meanwhile.
        record = self.bucket(&record.name)?;
        record.notifications = records.clone();
        self.inner.store.put_bucket(&record)?;
        self.inner.store.flush_async().await?;
        tracing::info!(
            bucket,
            configurations = records.len(),
            "set bucket notifications"
        );
        Ok(records)
    }

    pub fn get_notifications(&self, bucket: &str) -> Result<Vec<NotificationRecord>> {
        Ok(self.bucket(bucket)?.notifications)
    }

    fn check(&self, bucket: &str, config: LambdaConfiguration) -> Result<NotificationRecord> {
        if config.events.is_empty() {
            return Err(Error::InvalidArgument(
                "A LambdaFunctionConfiguration needs at least one event type".into(),
            ));
        }
        for event in &config.events {
            if !EVENT_TYPES.contains(&event.as_str()) {
                return Err(Error::InvalidArgument(format!(
                    "The event is not supported for notifications: {event} (one of {})",
                    EVENT_TYPES.join(", ")
                )));
            }
        }
        let (mut prefix, mut suffix) = (None, None);
        for (name, value) in config.filter_rules {
            let slot = match name.to_ascii_lowercase().as_str() {
                "prefix" => &mut prefix,
                "suffix" => &mut suffix,
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "filter rule name must be either prefix or suffix, not {name:?}"
                    )));
                }
            };
            if slot.replace(value).is_some() {
                return Err(Error::InvalidArgument(format!(
                    "Cannot specify more than one {} rule in a filter.",
                    name.to_ascii_lowercase()
                )));
            }
        }
        let source_arn = event::bucket_arn(bucket);
        let caller = Caller {
            service: S3_PRINCIPAL,
            source_arn: &source_arn,
            source_account: self.inner.naming.account_of(bucket),
        };
        let unable = |why: String| {
            Error::InvalidArgument(format!(
                "Unable to validate the following destination configurations: {}: {why}",
                config.function_arn
            ))
        };
        // Another account's function: whether it exists is not told.
        let theirs = self
            .inner
            .naming
            .parse_function(&config.function_arn)
            .is_ok_and(|f| self.inner.naming.account_of(&f.name) != caller.source_account);
        match self
            .inner
            .router
            .policies()
            .allows(&config.function_arn, "", caller)
        {
            Ok(true) => {}
            Ok(false) | Err(_) if theirs => {
                return Err(unable(format!(
                    "the function's resource policy does not let {S3_PRINCIPAL} invoke it for \
                     {source_arn}, or it does not exist"
                )));
            }
            Ok(false) => {
                return Err(unable(format!(
                    "its resource policy does not let {S3_PRINCIPAL} invoke it for {source_arn} \
                     (funnel function add-permission NAME --statement-id ID --principal {S3_PRINCIPAL} \
                     --source-arn {source_arn})"
                )));
            }
            Err(err) => return Err(unable(err.message().to_string())),
        }
        let id = if config.id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            config.id
        };
        Ok(NotificationRecord {
            id,
            function_arn: config.function_arn,
            events: config.events,
            prefix: prefix.unwrap_or_default(),
            suffix: suffix.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(events: &[&str], prefix: &str, suffix: &str) -> NotificationRecord {
        NotificationRecord {
            id: "c".into(),
            function_arn: String::new(),
            events: events.iter().map(|e| e.to_string()).collect(),
            prefix: prefix.into(),
            suffix: suffix.into(),
        }
    }

    #[test]
    fn events_and_filters_match() {
        let images = config(&["s3:ObjectCreated:*"], "images/", ".jpg");
        assert!(wants(&images, "ObjectCreated:Put", "images/a.jpg"));
        assert!(!wants(&images, "ObjectRemoved:Delete", "images/a.jpg"));
        assert!(!wants(&images, "ObjectCreated:Put", "docs/a.jpg"));
        assert!(!wants(&images, "ObjectCreated:Put", "images/a.png"));
        let deletes = config(&["s3:ObjectRemoved:Delete"], "", "");
        assert!(wants(&deletes, "ObjectRemoved:Delete", "x"));
        assert!(!wants(&deletes, "ObjectRemoved:DeleteMarkerCreated", "x"));
        // The events copies and multipart uploads fire.
        for fired in [
            "ObjectCreated:Copy",
            "ObjectCreated:CompleteMultipartUpload",
        ] {
            assert!(wants(&images, fired, "images/a.jpg"), "{fired}");
            let exact = config(&[&format!("s3:{fired}")], "", "");
            assert!(wants(&exact, fired, "x"), "{fired}");
            assert!(!wants(&exact, "ObjectCreated:Put", "x"), "{fired}");
        }
    }

    #[test]
    fn overlapping_event_types() {
        assert!(events_overlap("s3:ObjectCreated:*", "s3:ObjectCreated:Put"));
        assert!(events_overlap(
            "s3:ObjectCreated:Put",
            "s3:ObjectCreated:Put"
        ));
        assert!(!events_overlap(
            "s3:ObjectCreated:Put",
            "s3:ObjectCreated:Copy"
        ));
        assert!(!events_overlap("s3:ObjectCreated:*", "s3:ObjectRemoved:*"));
    }
}
