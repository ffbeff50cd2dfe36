//! Routes (API Gateway HTTP API's `CreateRoute` family): one implicit API
//! per account, whose routes send matching HTTP requests to functions.
//! The routes live in the store; a matching table, rebuilt on every route
//! write, is what the HTTP door ([`crate::http`]) reads on each request.
//! Parsing and matching route keys is [`key`]'s.

pub mod key;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use funnel_store::{RouteRecord, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::function::Naming;
use crate::policies::Targets;
use crate::registry::Registry;
use key::RouteKey;

/// Lambda's two event shapes for a route's function.
pub const PAYLOAD_2_0: &str = "2.0";
pub const PAYLOAD_1_0: &str = "1.0";

/// The most a GetRoutes page holds.
const MAX_PAGE: usize = 100;

/// What a new route is asked to be.
#[derive(Debug, Default)]
pub struct RouteSettings {
    pub route_key: String,
    /// The function's ARN (the API layer has resolved a bare name).
    pub target: String,
    pub qualifier: String,
    /// `2.0` when empty.
    pub payload_format_version: String,
}

/// The API a request is for: the home account's (served at the root of
/// the listener) or the one whose id it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which<'a> {
    Home,
    Id(&'a str),
}

/// A request's route: the route and what its path parameters captured.
#[derive(Debug)]
pub struct Matched {
    pub route: Arc<RouteRecord>,
    pub api_id: String,
    /// Empty when the route has no parameters (or is `$default`).
    pub path_parameters: std::collections::BTreeMap<String, String>,
}

/// One account's routes, most specific first.
#[derive(Default)]
struct ApiTable {
    routes: Vec<(RouteKey, Arc<RouteRecord>)>,
    default: Option<Arc<RouteRecord>>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Apis {
    store: Store,
    functions: Registry,
    /// API id → its routes.
    table: Arc<RwLock<Arc<HashMap<String, ApiTable>>>>,
    /// `http://HOST:PORT` of the HTTP listener.
    base: Arc<RwLock<String>>,
    home_api: String,
    /// Route writes one at a time: the conflict check and the write it
    /// allows are one step.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Apis {
    /// Loads every account's routes into the matching table.
    pub fn new(store: Store, functions: Registry, base: Option<String>) -> Result<Apis> {
        let home_api = api_id(&functions.naming().home);
        let apis = Apis {
            store,
            functions,
            table: Arc::default(),
            base: Arc::new(RwLock::new(
                base.unwrap_or_else(|| crate::urls::DEFAULT_BASE.to_string()),
            )),
            home_api,
            write_lock: Arc::default(),
        };
        apis.rebuild()?;
        Ok(apis)
    }

    /// The HTTP listener's address as clients reach it.
    pub fn set_base(&self, base: String) {
        *self.base.write().unwrap_or_else(|e| e.into_inner()) = base;
    }

    /// Where curl reaches the API of `account`.
    pub fn endpoint(&self, account: &str) -> String {
        let base = self.base.read().unwrap_or_else(|e| e.into_inner());
        let base = base.trim_end_matches('/');
        if account == self.functions.naming().home {
            base.to_string()
        } else {
            format!("{base}/api/{}", api_id(account))
        }
    }

    /// The caller's API id, after checking that `given` (if any) is it.
    pub fn own_api(&self, naming: &Naming, given: &str) -> Result<String> {
        let own = api_id(&naming.account_id);
        if !given.is_empty() && given != own {
            return Err(Error::NotFound(format!(
                "Invalid API identifier specified {}:{given}",
                naming.account_id
            )));
        }
        Ok(own)
    }

    /// Adds a route to the caller's API (`naming`'s account).
    pub async fn create(&self, naming: &Naming, settings: RouteSettings) -> Result<RouteRecord> {
        let parsed = RouteKey::parse(&settings.route_key)?;
        let payload_format_version = match settings.payload_format_version.as_str() {
            "" | PAYLOAD_2_0 => PAYLOAD_2_0,
            PAYLOAD_1_0 => PAYLOAD_1_0,
            other => {
                return Err(Error::BadRequest(format!(
                    "PayloadFormatVersion {other:?} is invalid: it must be 2.0 or 1.0"
                )));
            }
        };
        if settings.target.is_empty() {
            return Err(Error::BadRequest(
                "Target is required: the name or ARN of the function the route invokes".into(),
            ));
        }
        let (function, qualifier) = self
            .functions
            .policy_target(&settings.target, &settings.qualifier)?;
        if !naming.owns(&function) {
            return Err(Error::BadRequest(format!(
                "Target {} is another account's function: a route invokes a function of its own \
                 account",
                settings.target
            )));
        }
        let account = naming.account_id.clone();
        let shape = parsed.shape();
        let _writing = self.write_lock.lock().await;
        if let Some(taken) = self
            .store
            .routes(&account)?
            .into_iter()
            .find(|r| RouteKey::parse(&r.route_key).is_ok_and(|k| k.shape() == shape))
        {
            return Err(Error::Conflict(format!(
                "Unable to create route {}: route {} exists with the same method and path",
                settings.route_key, taken.route_key
            )));
        }
        let record = RouteRecord {
            account,
            route_key: settings.route_key,
            route_id: crate::urls::random_id(7),
            function,
            qualifier,
            payload_format_version: payload_format_version.to_string(),
            created_date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        };
        self.store.create_route(&record).map_err(|err| match err {
            StoreError::AlreadyExists(key) => {
                Error::Conflict(format!("Unable to create route {key}: the route exists"))
            }
            other => other.into(),
        })?;
        self.store.flush_async().await?;
        self.rebuild()?;
        tracing::info!(account = %record.account, route = %record.route_key, function = %record.function, "created a route");
        Ok(record)
    }

    /// A page of the caller's routes after the one whose id is `next`.
    pub fn list(
        &self,
        naming: &Naming,
        next: &str,
        max_results: Option<i32>,
    ) -> Result<(Vec<RouteRecord>, Option<String>)> {
        let limit = match max_results {
            None => MAX_PAGE,
            Some(n) if n >= 1 && n as usize <= MAX_PAGE => n as usize,
            Some(n) => {
                return Err(Error::BadRequest(format!(
                    "MaxResults {n} is out of range: it must be between 1 and {MAX_PAGE}"
                )));
            }
        };
        let all = self.store.routes(&naming.account_id)?;
        let start = match next {
            "" => 0,
            token => {
                all.iter()
                    .position(|r| r.route_id == token)
                    .ok_or_else(|| Error::BadRequest(format!("NextToken {token:?} is not valid")))?
                    + 1
            }
        };
        let mut page: Vec<RouteRecord> = all.into_iter().skip(start).take(limit + 1).collect();
        if page.len() > limit {
            page.truncate(limit);
            let next = page.last().map(|r| r.route_id.clone());
            return Ok((page, next));
        }
        Ok((page, None))
    }

    /// Removes one of the caller's routes, named by id or by key.
    pub async fn delete(&self, naming: &Naming, route_id: &str, route_key: &str) -> Result<()> {
        let account = &naming.account_id;
        let _writing = self.write_lock.lock().await;
        let key = match (route_id, route_key) {
            ("", "") => {
                return Err(Error::BadRequest(
                    "RouteId or RouteKey is required: the route to delete".into(),
                ));
            }
            ("", key) => key.to_string(),
            (id, _) => self
                .store
                .routes(account)?
                .into_iter()
                .find(|r| r.route_id == id)
                .map(|r| r.route_key)
                .ok_or_else(|| {
                    Error::NotFound(format!("Invalid Route identifier specified {id}"))
                })?,
        };
        if self.store.delete_route(account, &key)?.is_none() {
            return Err(Error::NotFound(format!(
                "Invalid Route identifier specified: no route {key:?}"
            )));
        }
        self.store.flush_async().await?;
        self.rebuild()?;
        Ok(())
    }

    /// Rebuilds the matching table from the store.
    fn rebuild(&self) -> Result<()> {
        let mut table: HashMap<String, ApiTable> = HashMap::new();
        for record in self.store.all_routes()? {
            let parsed = match RouteKey::parse(&record.route_key) {
                Ok(parsed) => parsed,
                Err(err) => {
                    tracing::warn!(account = %record.account, cause = %err, "a stored route is not served");
                    continue;
                }
            };
            let api = table.entry(api_id(&record.account)).or_default();
            let record = Arc::new(record);
            match parsed {
                RouteKey::Default => api.default = Some(record),
                parsed => api.routes.push((parsed, record)),
            }
        }
        for api in table.values_mut() {
            api.routes.sort_by_key(|(key, _)| key.rank());
        }
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
        Ok(())
    }

    /// The route a request of `method` for `path` (below the API's root)
    /// goes to, if any.
    pub fn find(&self, which: Which<'_>, method: &str, path: &str) -> Option<Matched> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner()).clone();
        let api_id = match which {
            Which::Home => self.home_api.as_str(),
            Which::Id(id) => id,
        };
        let api = table.get(api_id)?;
        let (route, path_parameters) = api
            .routes
            .iter()
            .find_map(|(key, route)| key.matches(method, path).map(|p| (route.clone(), p)))
            .or_else(|| api.default.clone().map(|d| (d, Default::default())))?;
        Some(Matched {
            route,
            api_id: api_id.to_string(),
            path_parameters,
        })
    }

    /// The ARN of the function a route invokes (its qualifier apart).
    pub fn target_arn(&self, record: &RouteRecord) -> String {
        self.functions.naming().function_arn(&record.function, None)
    }
}

/// An account's API id: 10 lowercase letters and digits, derived from the
/// account id so it is the same on every start.
pub fn api_id(account: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(format!("funnel api {account}").as_bytes());
    digest[..10]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_ids_are_stable_and_per_account() {
        let home = api_id("000000000000");
        assert_eq!(home.len(), 10);
        assert!(
            home.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_eq!(home, api_id("000000000000"));
        assert_ne!(home, api_id("111111111111"));
    }
}
