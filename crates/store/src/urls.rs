//! Function URL configs: one per function or alias, found by its URL id
//! on every HTTP request and by its function for the control plane.

use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, decode, encode};

/// Lambda's `FunctionUrlConfig`, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionUrlRecord {
    /// 32 lowercase letters and digits: the URL's own part.
    pub url_id: String,
    /// The function's key.
    pub function: String,
    /// An alias, or empty for the unqualified function (`$LATEST`).
    pub qualifier: String,
    /// `NONE` or `FUNNEL`.
    pub auth_type: String,
    pub cors: Option<CorsRecord>,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
    /// ISO 8601.
    pub creation_time: String,
    pub last_modified_time: String,
}

/// Lambda's `Cors` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRecord {
    pub allow_credentials: bool,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_origins: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: u32,
}

/// Where a URL id leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlTarget {
    pub function: String,
    pub qualifier: String,
}

fn url_key(function: &str, qualifier: &str) -> Vec<u8> {
    let mut key = function.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(qualifier.as_bytes());
    key
}

impl Store {
    /// Stores a new URL config; fails with `AlreadyExists` when its
    /// function (or alias) has one.
    pub fn create_function_url(&self, record: &FunctionUrlRecord) -> Result<()> {
        let key = url_key(&record.function, &record.qualifier);
        self.function_urls
            .compare_and_swap(&key, None as Option<&[u8]>, Some(encode(record)))?
            .map_err(|_| StoreError::AlreadyExists(record.function.clone()))?;
        let target = UrlTarget {
            function: record.function.clone(),
            qualifier: record.qualifier.clone(),
        };
        self.url_ids
            .insert(record.url_id.as_bytes(), encode(&target))?;
        Ok(())
    }

    /// Replaces a URL config (its id and function stay).
    pub fn put_function_url(&self, record: &FunctionUrlRecord) -> Result<()> {
        let key = url_key(&record.function, &record.qualifier);
        self.function_urls.insert(key, encode(record))?;
        Ok(())
    }

    pub fn get_function_url(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<FunctionUrlRecord>> {
        self.function_urls
            .get(url_key(function, qualifier))?
            .map(|v| decode(function, &v))
            .transpose()
    }

    /// The URL config whose id is `url_id`.
    pub fn function_url_by_id(&self, url_id: &str) -> Result<Option<FunctionUrlRecord>> {
        let Some(target) = self.url_ids.get(url_id)? else {
            return Ok(None);
        };
        let target: UrlTarget = decode(url_id, &target)?;
        // A record replaced since (deleted and made again) has another id.
        Ok(self
            .get_function_url(&target.function, &target.qualifier)?
            .filter(|record| record.url_id == url_id))
    }

    /// Removes the URL config of a function (`qualifier` empty) or alias;
    /// returns whether there was one.
    pub fn delete_function_url(&self, function: &str, qualifier: &str) -> Result<bool> {
        let Some(old) = self.function_urls.remove(url_key(function, qualifier))? else {
            return Ok(false);
        };
        if let Ok(record) = decode::<FunctionUrlRecord>(function, &old) {
            self.url_ids.remove(record.url_id.as_bytes())?;
        }
        Ok(true)
    }

    /// The URL configs of a function and its aliases, the function's first.
    pub fn function_urls(&self, function: &str) -> Result<Vec<FunctionUrlRecord>> {
        self.function_urls
            .scan_prefix(url_key(function, ""))
            .values()
            .map(|v| decode(function, &v?))
            .collect()
    }

    /// Removes every URL config of a function and its aliases.
    pub fn delete_function_urls(&self, function: &str) -> Result<()> {
        for record in self.function_urls(function)? {
            self.delete_function_url(&record.function, &record.qualifier)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(function: &str, qualifier: &str, id: &str) -> FunctionUrlRecord {
        FunctionUrlRecord {
            url_id: id.into(),
            function: function.into(),
            qualifier: qualifier.into(),
            auth_type: "NONE".into(),
            cors: None,
            invoke_mode: "BUFFERED".into(),
            creation_time: "2026-12-05T00:00:00.000+0000".into(),
            last_modified_time: "2026-12-05T00:00:00.000+0000".into(),
        }
    }

    #[test]
    fn urls_are_found_by_id_and_by_function_and_go_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_function_url(&record("f", "", "a1")).unwrap();
        store
            .create_function_url(&record("f", "live", "b2"))
            .unwrap();
        store.create_function_url(&record("fg", "", "c3")).unwrap();
        assert!(matches!(
            store.create_function_url(&record("f", "", "d4")),
            Err(StoreError::AlreadyExists(_))
        ));
        assert_eq!(
            store.function_url_by_id("b2").unwrap().unwrap().qualifier,
            "live"
        );
        assert!(store.function_url_by_id("d4").unwrap().is_none());
        // `f`'s scan does not reach `fg`.
        let ids: Vec<String> = store
            .function_urls("f")
            .unwrap()
            .into_iter()
            .map(|r| r.url_id)
            .collect();
        assert_eq!(ids, ["a1", "b2"]);
        store.delete_function_urls("f").unwrap();
        assert!(store.function_url_by_id("a1").unwrap().is_none());
        assert!(store.function_url_by_id("b2").unwrap().is_none());
        assert!(store.function_url_by_id("c3").unwrap().is_some());
        assert!(!store.delete_function_url("f", "").unwrap());
    }
}
