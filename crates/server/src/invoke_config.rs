//! Lambda's `FunctionEventInvokeConfig`: per function and qualifier, how
//! many times a failed async event is retried, how old it may get, and
//! where its record goes on success and on failure.

use crate::error::{Error, Result};
use crate::function::{Destination, LATEST, now_lambda_format};
use crate::registry::Registry;
use std::sync::Arc;

use funnel_store::{EventInvokeConfig, Store};

pub const DEFAULT_MAX_RETRY_ATTEMPTS: u32 = 2;
pub const MAX_RETRY_ATTEMPTS: u32 = 2;
pub const DEFAULT_MAX_EVENT_AGE_S: u32 = 21_600;
pub const MIN_EVENT_AGE_S: u32 = 60;

/// Fields to set; `None` keeps (Update) or clears (Put) a field.
#[derive(Debug, Default, Clone)]
pub struct EventInvokeChange {
    pub maximum_retry_attempts: Option<i32>,
    pub maximum_event_age_in_seconds: Option<i32>,
    /// Function ARNs; `Some("")` clears the destination.
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
}

/// What delivery needs of an event's config, defaults filled in.
#[derive(Debug, Clone)]
pub struct AsyncSettings {
    pub max_retry_attempts: u32,
    pub max_event_age_ms: i64,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
}

/// The event invoke configs. Cheap to clone.
#[derive(Clone)]
pub struct InvokeConfigs {
    /// Configs belong to functions, versions and aliases, which must exist.
    registry: Registry,
    store: Store,
    /// The registry's code lock: a config is written while no record it
    /// belongs to is being deleted.
    code_lock: Arc<tokio::sync::Mutex<()>>,
}

impl InvokeConfigs {
    pub fn new(registry: Registry, store: Store) -> InvokeConfigs {
        InvokeConfigs {
            code_lock: registry.code_lock().clone(),
            registry,
            store,
        }
    }

    pub fn naming(&self) -> &crate::function::Naming {
        self.registry.naming()
    }

    /// Put (`replace`: fields not given go back to their defaults) or
    /// Update (fields not given keep their value).
    pub async fn put_event_invoke_config(
        &self,
        function_name: &str,
        qualifier: &str,
        change: EventInvokeChange,
        replace: bool,
    ) -> Result<EventInvokeConfig> {
        let (name, qualifier) = self.config_target(function_name, qualifier)?;
        let retries = change
            .maximum_retry_attempts
            .map(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_RETRY_ATTEMPTS)
                    .ok_or_else(|| {
                        Error::InvalidParameterValue(format!(
                            "MaximumRetryAttempts {n} is out of range: it must be between 0 and {MAX_RETRY_ATTEMPTS}"
                        ))
                    })
            })
            .transpose()?;
        let age = change
            .maximum_event_age_in_seconds
            .map(|s| {
                u32::try_from(s)
                    .ok()
                    .filter(|s| (MIN_EVENT_AGE_S..=DEFAULT_MAX_EVENT_AGE_S).contains(s))
                    .ok_or_else(|| {
                        Error::InvalidParameterValue(format!(
                            "MaximumEventAgeInSeconds {s} is out of range: it must be between {MIN_EVENT_AGE_S} and {DEFAULT_MAX_EVENT_AGE_S}"
                        ))
                    })
            })
            .transpose()?;
        for destination in [&change.on_success, &change.on_failure]
            .into_iter()
            .flatten()
            .filter(|d| !d.is_empty())
        {
            self.check_destination(&name, destination)?;
        }
        let _code = self.code_lock.lock().await;
        let mut config = match self.store.get_event_invoke_config(&name, &qualifier)? {
            Some(current) if !replace => current,
            _ => EventInvokeConfig {
                function_name: name.clone(),
                qualifier: qualifier.clone(),
                ..Default::default()
            },
        };
        if retries.is_some() {
            config.maximum_retry_attempts = retries;
        }
        if age.is_some() {
            config.maximum_event_age_in_seconds = age;
        }
        let non_empty = |d: String| (!d.is_empty()).then_some(d);
        if let Some(on_success) = change.on_success {
            config.on_success = non_empty(on_success);
        }
        if let Some(on_failure) = change.on_failure {
            config.on_failure = non_empty(on_failure);
        }
        config.last_modified = now_lambda_format();
        self.store.put_event_invoke_config(&config)?;
        self.store.flush_async().await?;
        Ok(config)
    }

    pub fn get_event_invoke_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<EventInvokeConfig> {
        let (name, qualifier) = self.config_target(function_name, qualifier)?;
        self.store
            .get_event_invoke_config(&name, &qualifier)?
            .ok_or_else(|| self.config_not_found(&name, &qualifier))
    }

    pub async fn delete_event_invoke_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<()> {
        let (name, qualifier) = self.config_target(function_name, qualifier)?;
        let _code = self.code_lock.lock().await;
        if !self
            .store
            .delete_event_invoke_config(&name, Some(&qualifier))?
        {
            return Err(self.config_not_found(&name, &qualifier));
        }
        self.store.flush_async().await?;
        Ok(())
    }

    /// The settings for an event sent to `function_name` with `qualifier`
    /// (as the caller gave it), defaults where nothing is configured.
    pub(crate) fn async_settings(&self, function_name: &str, qualifier: &str) -> AsyncSettings {
        let qualifier = if qualifier.is_empty() {
            LATEST
        } else {
            qualifier
        };
        let config = self
            .store
            .get_event_invoke_config(function_name, qualifier)
            .ok()
            .flatten()
            .unwrap_or_default();
        AsyncSettings {
            max_retry_attempts: config
                .maximum_retry_attempts
                .unwrap_or(DEFAULT_MAX_RETRY_ATTEMPTS),
            max_event_age_ms: i64::from(
                config
                    .maximum_event_age_in_seconds
                    .unwrap_or(DEFAULT_MAX_EVENT_AGE_S),
            ) * 1000,
            on_success: config.on_success,
            on_failure: config.on_failure,
        }
    }

    /// The function ARN a config names (with its qualifier).
    pub fn event_invoke_config_arn(&self, config: &EventInvokeConfig) -> String {
        self.registry
            .naming()
            .function_arn(&config.function_name, Some(&config.qualifier))
    }

    /// The function and qualifier a config is for; both must exist.
    fn config_target(&self, function_name: &str, qualifier: &str) -> Result<(String, String)> {
        let (target, _) = self.registry.lookup(function_name, qualifier)?;
        let qualifier = target.qualifier.unwrap_or_else(|| LATEST.to_string());
        Ok((target.name, qualifier))
    }

    /// A destination of `function` (a key) is a function ARN or a topic
    /// ARN of this server, in the function's own account; a topic must
    /// exist.
    fn check_destination(&self, function: &str, destination: &str) -> Result<()> {
        let naming = self.registry.naming();
        let (key, topic) = match naming.destination(destination)? {
            Destination::Topic(topic) => (topic, true),
            Destination::Function(arn) => (naming.parse_function(arn)?.name, false),
        };
        // The account first: whether another's topic exists is not told.
        if naming.account_of(&key) != naming.account_of(function) {
            return Err(Error::InvalidParameterValue(format!(
                "Destination {destination} is another account's: a function's destinations are \
                 in its own account"
            )));
        }
        if topic && self.store.get_topic(&key)?.is_none() {
            return Err(Error::InvalidParameterValue(format!(
                "Destination {destination}: the topic does not exist"
            )));
        }
        Ok(())
    }

    fn config_not_found(&self, name: &str, qualifier: &str) -> Error {
        Error::ResourceNotFound(format!(
            "The function {} doesn't have an EventInvokeConfig",
            self.registry.naming().function_arn(name, Some(qualifier))
        ))
    }
}
