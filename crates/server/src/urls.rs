//! Function URLs (Lambda's `CreateFunctionUrlConfig` family): a function,
//! or one of its aliases, given an address on the HTTP listener. The
//! configs live in the store; the HTTP door ([`crate::http`]) finds one by
//! its URL id on every request.

use std::sync::{Arc, RwLock};

use funnel_store::{CorsRecord, FunctionUrlRecord, Store, StoreError};

use crate::error::{Error, Result};
use crate::function::{LATEST, Naming, now_lambda_format};
use crate::policies::Targets;
use crate::registry::Registry;

/// Where a URL's requests are served from when the server has no HTTP
/// listener of its own yet (`--http-listen`'s default).
pub const DEFAULT_BASE: &str = "http://127.0.0.1:7879";

/// The most a ListFunctionUrlConfigs page holds, as Lambda.
const MAX_PAGE: usize = 50;

/// `NONE` or `FUNNEL`.
pub const AUTH_NONE: &str = "NONE";
pub const AUTH_FUNNEL: &str = "FUNNEL";
const BUFFERED: &str = "BUFFERED";
const RESPONSE_STREAM: &str = "RESPONSE_STREAM";

/// What a URL config is asked to be (`None`: unchanged, on update).
#[derive(Debug, Default)]
pub struct UrlSettings {
    pub auth_type: Option<String>,
    /// `Some(None)` removes CORS.
    pub cors: Option<Option<CorsRecord>>,
    pub invoke_mode: Option<String>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct FunctionUrls {
    store: Store,
    functions: Registry,
    /// `http://HOST:PORT` of the HTTP listener.
    base: Arc<RwLock<String>>,
}

impl FunctionUrls {
    pub fn new(store: Store, functions: Registry, base: Option<String>) -> FunctionUrls {
        FunctionUrls {
            store,
            functions,
            base: Arc::new(RwLock::new(
                base.unwrap_or_else(|| DEFAULT_BASE.to_string()),
            )),
        }
    }

    /// The HTTP listener's address as clients reach it (set once it is
    /// bound, unless the operator named a public URL).
    pub fn set_base(&self, base: String) {
        *self.base.write().unwrap_or_else(|e| e.into_inner()) = base;
    }

    /// The URL curl calls: `<base>/url/<url-id>/`.
    pub fn url_of(&self, url_id: &str) -> String {
        let base = self.base.read().unwrap_or_else(|e| e.into_inner());
        format!("{}/url/{url_id}/", base.trim_end_matches('/'))
    }

    fn naming(&self) -> &Naming {
        self.functions.naming()
    }

    /// The function ARN a URL config names (with its alias).
    pub fn function_arn(&self, record: &FunctionUrlRecord) -> String {
        let qualifier = (!record.qualifier.is_empty()).then_some(record.qualifier.as_str());
        self.naming().function_arn(&record.function, qualifier)
    }

    /// The function (by key) and alias a request names; a version number
    /// is refused (Lambda's URLs are for `$LATEST` and aliases).
    fn target(&self, function_name: &str, qualifier: &str) -> Result<(String, String)> {
        let (name, qualifier) = self.functions.policy_target(function_name, qualifier)?;
        if !qualifier.is_empty() && qualifier.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidParameterValue(format!(
                "Qualifier {qualifier} is a version: a function URL is for {LATEST} or an alias"
            )));
        }
        Ok((name, qualifier))
    }

    pub async fn create(
        &self,
        function_name: &str,
        qualifier: &str,
        settings: UrlSettings,
    ) -> Result<FunctionUrlRecord> {
        let (function, qualifier) = self.target(function_name, qualifier)?;
        let auth_type = check_auth_type(settings.auth_type.as_deref().unwrap_or_default())?;
        let cors = settings.cors.flatten().map(check_cors).transpose()?;
        let invoke_mode = check_invoke_mode(settings.invoke_mode.as_deref().unwrap_or_default())?;
        let now = now_lambda_format();
        let record = FunctionUrlRecord {
            url_id: new_url_id(),
            function,
            qualifier,
            auth_type,
            cors,
            invoke_mode,
            creation_time: now.clone(),
            last_modified_time: now,
        };
        self.store
            .create_function_url(&record)
            .map_err(|err| match err {
                StoreError::AlreadyExists(_) => Error::ResourceConflict(format!(
                    "Failed to create function url config for [functionArn = {}]. Error message: \
                     FunctionUrlConfig exists for this Lambda function",
                    self.function_arn(&record)
                )),
                other => other.into(),
            })?;
        self.store.flush_async().await?;
        tracing::info!(function = %record.function, qualifier = %record.qualifier, url = %self.url_of(&record.url_id), "created a function URL");
        Ok(record)
    }

    pub fn get(&self, function_name: &str, qualifier: &str) -> Result<FunctionUrlRecord> {
        let (function, qualifier) = self.target(function_name, qualifier)?;
        self.stored(&function, &qualifier)
    }

    fn stored(&self, function: &str, qualifier: &str) -> Result<FunctionUrlRecord> {
        self.store
            .get_function_url(function, qualifier)?
            .ok_or_else(|| {
                let arn = self
                    .naming()
                    .function_arn(function, (!qualifier.is_empty()).then_some(qualifier));
                Error::ResourceNotFound(format!(
                    "The resource you requested does not exist. (FunctionUrlConfig of {arn})"
                ))
            })
    }

    pub async fn update(
        &self,
        function_name: &str,
        qualifier: &str,
        settings: UrlSettings,
    ) -> Result<FunctionUrlRecord> {
        let (function, qualifier) = self.target(function_name, qualifier)?;
        let mut record = self.stored(&function, &qualifier)?;
        if let Some(auth_type) = settings.auth_type.filter(|a| !a.is_empty()) {
            record.auth_type = check_auth_type(&auth_type)?;
        }
        if let Some(cors) = settings.cors {
            record.cors = cors.map(check_cors).transpose()?;
        }
        if let Some(mode) = settings.invoke_mode.filter(|m| !m.is_empty()) {
            record.invoke_mode = check_invoke_mode(&mode)?;
        }
        record.last_modified_time = now_lambda_format();
        self.store.put_function_url(&record)?;
        self.store.flush_async().await?;
        Ok(record)
    }

    pub async fn delete(&self, function_name: &str, qualifier: &str) -> Result<()> {
        let (function, qualifier) = self.target(function_name, qualifier)?;
        if !self.store.delete_function_url(&function, &qualifier)? {
            return Err(self.stored(&function, &qualifier).unwrap_err());
        }
        self.store.flush_async().await?;
        Ok(())
    }

    /// A page of a function's URL configs (its own, then its aliases' by
    /// name) after the one whose URL id is `marker`; and the next marker.
    pub fn list(
        &self,
        function_name: &str,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<(Vec<FunctionUrlRecord>, Option<String>)> {
        let limit = crate::function::page_size(max_items, MAX_PAGE)?;
        let (function, _) = self.functions.policy_target(function_name, "")?;
        let all = self.store.function_urls(&function)?;
        let start = match marker {
            "" => 0,
            marker => {
                all.iter().position(|r| r.url_id == marker).ok_or_else(|| {
                    Error::InvalidParameterValue(format!("Marker {marker:?} is not valid"))
                })? + 1
            }
        };
        let page: Vec<FunctionUrlRecord> = all.into_iter().skip(start).take(limit + 1).collect();
        Ok(if page.len() > limit {
            let mut page = page;
            page.truncate(limit);
            let next = page.last().map(|r| r.url_id.clone());
            (page, next)
        } else {
            (page, None)
        })
    }

    /// The URL config whose id is `url_id` (the HTTP door's lookup).
    pub fn by_id(&self, url_id: &str) -> Result<Option<FunctionUrlRecord>> {
        if url_id.len() != URL_ID_LEN {
            return Ok(None);
        }
        Ok(self.store.function_url_by_id(url_id)?)
    }
}

const URL_ID_LEN: usize = 32;

/// 32 lowercase letters and digits, as Lambda's URL ids.
fn new_url_id() -> String {
    random_id(URL_ID_LEN)
}

/// `len` random lowercase letters and digits (URL ids, route ids).
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    crate::iam::seal::random(&mut bytes);
    // 252 = 7 × 36: no value is likelier than another.
    bytes
        .iter()
        .map(|&b| {
            let mut b = b;
            while b >= 252 {
                let mut one = [0u8; 1];
                crate::iam::seal::random(&mut one);
                b = one[0];
            }
            ALPHABET[usize::from(b) % ALPHABET.len()] as char
        })
        .collect()
}

fn check_auth_type(auth_type: &str) -> Result<String> {
    match auth_type {
        AUTH_NONE | AUTH_FUNNEL => Ok(auth_type.to_string()),
        "" => Err(Error::InvalidParameterValue(
            "AuthType is required: NONE (anyone may call the URL) or FUNNEL (an access key \
             allowed lambda:InvokeFunctionUrl)"
                .into(),
        )),
        other => Err(Error::InvalidParameterValue(format!(
            "AuthType {other:?} is invalid: it must be NONE or FUNNEL"
        ))),
    }
}

fn check_invoke_mode(mode: &str) -> Result<String> {
    match mode {
        "" | BUFFERED => Ok(BUFFERED.to_string()),
        RESPONSE_STREAM => Ok(RESPONSE_STREAM.to_string()),
        other => Err(Error::InvalidParameterValue(format!(
            "InvokeMode {other:?} is invalid: it must be BUFFERED or RESPONSE_STREAM"
        ))),
    }
}

/// Lambda's limits on a `Cors` object.
fn check_cors(cors: CorsRecord) -> Result<CorsRecord> {
    let list = |field: &str, items: &[String], max_items: usize, max_len: usize| {
        if items.len() > max_items {
            return Err(Error::InvalidParameterValue(format!(
                "Cors.{field} has {} items: at most {max_items} are allowed",
                items.len()
            )));
        }
        match items.iter().find(|i| i.is_empty() || i.len() > max_len) {
            Some(bad) => Err(Error::InvalidParameterValue(format!(
                "Cors.{field} item {bad:?} must be 1 to {max_len} characters"
            ))),
            None => Ok(()),
        }
    };
    list("AllowOrigins", &cors.allow_origins, 100, 253)?;
    list("AllowHeaders", &cors.allow_headers, 100, 1024)?;
    list("ExposeHeaders", &cors.expose_headers, 100, 1024)?;
    list("AllowMethods", &cors.allow_methods, 6, 6)?;
    if let Some(bad) = cors
        .allow_methods
        .iter()
        .find(|m| *m != "*" && !m.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(Error::InvalidParameterValue(format!(
            "Cors.AllowMethods item {bad:?} must be an HTTP method in capitals (GET, POST, ...) or *"
        )));
    }
    if cors.max_age > 86_400 {
        return Err(Error::InvalidParameterValue(format!(
            "Cors.MaxAge {} is out of range: it must be between 0 and 86400",
            cors.max_age
        )));
    }
    Ok(cors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_ids_are_lambdas_shape() {
        let a = new_url_id();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_ne!(a, new_url_id());
    }

    #[test]
    fn settings_are_checked_by_name() {
        assert!(
            check_auth_type("AWS_IAM")
                .unwrap_err()
                .message()
                .contains("NONE or FUNNEL")
        );
        assert!(
            check_auth_type("")
                .unwrap_err()
                .message()
                .contains("required")
        );
        assert_eq!(check_invoke_mode("").unwrap(), "BUFFERED");
        assert!(check_invoke_mode("STREAM").is_err());
        let cors = |methods: &[&str], max_age| CorsRecord {
            allow_methods: methods.iter().map(|m| m.to_string()).collect(),
            max_age,
            ..CorsRecord::default()
        };
        assert!(check_cors(cors(&["GET", "*"], 300)).is_ok());
        assert!(
            check_cors(cors(&["get"], 0))
                .unwrap_err()
                .message()
                .contains("AllowMethods")
        );
        assert!(check_cors(cors(&["OPTIONSX"], 0)).is_err());
        assert!(
            check_cors(cors(&[], 86_401))
                .unwrap_err()
                .message()
                .contains("MaxAge")
        );
    }
}
