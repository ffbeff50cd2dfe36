//! API routes (API Gateway HTTP API's `Route`s): one implicit API per
//! account, its routes kept by account and route key. The server keeps
//! its own matching table and rebuilds it from [`Store::all_routes`] on
//! every route write.

use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, decode, encode};

/// One route, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    /// The account whose API holds the route (12 digits).
    pub account: String,
    /// `GET /users/{id}`, `ANY /{proxy+}` or `$default`.
    pub route_key: String,
    /// 7 lowercase letters and digits, as API Gateway's route ids.
    pub route_id: String,
    /// The function's key.
    pub function: String,
    /// An alias or version, or empty for `$LATEST`.
    pub qualifier: String,
    /// `2.0` or `1.0`.
    pub payload_format_version: String,
    /// ISO 8601.
    pub created_date: String,
}

fn route_key(account: &str, route_key: &str) -> Vec<u8> {
    let mut key = account.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(route_key.as_bytes());
    key
}

impl Store {
    /// Stores a new route; fails with `AlreadyExists` when its account has
    /// one of the same key.
    pub fn create_route(&self, record: &RouteRecord) -> Result<()> {
        let key = route_key(&record.account, &record.route_key);
        self.routes
            .compare_and_swap(&key, None as Option<&[u8]>, Some(encode(record)))?
            .map_err(|_| StoreError::AlreadyExists(record.route_key.clone()))?;
        Ok(())
    }

    /// The routes of an account's API, by route key.
    pub fn routes(&self, account: &str) -> Result<Vec<RouteRecord>> {
        self.routes
            .scan_prefix(route_key(account, ""))
            .values()
            .map(|v| decode(account, &v?))
            .collect()
    }

    /// Every account's routes (what the HTTP door matches against). A
    /// record that does not decode is skipped here; the quarantine sweep
    /// sets it aside at the next open.
    pub fn all_routes(&self) -> Result<Vec<RouteRecord>> {
        let mut all = Vec::new();
        for entry in self.routes.iter() {
            let (key, value) = entry?;
            if let Ok(record) = decode(&String::from_utf8_lossy(&key), &value) {
                all.push(record);
            }
        }
        Ok(all)
    }

    /// Removes a route; returns it, if there was one.
    pub fn delete_route(&self, account: &str, key: &str) -> Result<Option<RouteRecord>> {
        self.routes
            .remove(route_key(account, key))?
            .map(|old| decode(key, &old))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(account: &str, key: &str) -> RouteRecord {
        RouteRecord {
            account: account.into(),
            route_key: key.into(),
            route_id: "abc1234".into(),
            function: "f".into(),
            qualifier: String::new(),
            payload_format_version: "2.0".into(),
            created_date: "2026-12-05T00:00:00Z".into(),
        }
    }

    #[test]
    fn routes_are_kept_by_account_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .create_route(&record("000000000000", "GET /a"))
            .unwrap();
        store
            .create_route(&record("000000000000", "$default"))
            .unwrap();
        store
            .create_route(&record("111111111111", "GET /a"))
            .unwrap();
        assert!(matches!(
            store.create_route(&record("000000000000", "GET /a")),
            Err(StoreError::AlreadyExists(_))
        ));
        let keys: Vec<String> = store
            .routes("000000000000")
            .unwrap()
            .into_iter()
            .map(|r| r.route_key)
            .collect();
        assert_eq!(keys, ["$default", "GET /a"]);
        assert_eq!(store.all_routes().unwrap().len(), 3);
        let gone = store.delete_route("000000000000", "GET /a").unwrap();
        assert_eq!(gone.map(|r| r.route_key).as_deref(), Some("GET /a"));
        assert!(
            store
                .delete_route("000000000000", "GET /a")
                .unwrap()
                .is_none()
        );
        assert_eq!(store.routes("111111111111").unwrap().len(), 1);
    }
}
