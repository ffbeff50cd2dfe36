//! Who is calling, and what they may do: accounts, users, access keys and
//! identity policies (IAM's model), the authentication of every call and
//! the authorization of every action.
//!
//! - `seal`: the master key that seals secrets and keys code MACs.
//! - `policy`: identity policy documents and their evaluation; the
//!   managed policies.
//! - `actions`: each gRPC method's IAM action, each request's resource.
//! - `authn`: the tower layer that authenticates every call.
//! - `users`: creating and changing users, keys and policies.
//! - `credentials`: the aws-shaped credentials file the server writes.
//!
//! Authentication is a lookup in an in-memory directory (rebuilt on every
//! identity write, which are rare) and a constant-time comparison; no
//! password hashing on the hot path: secrets are 40 random characters.

pub mod actions;
mod authn;
pub mod credentials;
pub mod policy;
pub mod seal;
mod users;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use funnel_runtime::Clock;
use funnel_store::{AccessKeyRecord, Store};
use subtle::ConstantTimeEq as _;

pub use actions::{Resource, Scope};
pub use authn::AuthLayer;
use policy::IdentityPolicy;
use seal::MasterKey;

use crate::error::{Error, Result};
use crate::function::Naming;

/// The bootstrap user of the default account: may do anything.
pub const OPERATOR: &str = "operator";

/// Failed authentications one source address may make in a window before
/// every call from it is refused until the window ends.
const MAX_FAILURES: u32 = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Who a call is made as: the user behind an access key.
pub struct Principal {
    pub account_id: String,
    pub user_name: String,
    pub user_id: String,
    /// `arn:funnel:iam::<account>:user/<name>`.
    pub arn: String,
    /// The region and account the caller's names resolve in.
    pub naming: Naming,
    /// The operator may do anything (as AWS's root user).
    pub operator: bool,
    secret: Vec<u8>,
    active: bool,
    policies: Vec<Arc<IdentityPolicy>>,
}

impl Principal {
    /// The access key's secret, for checking a signature made with it.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

/// What lets another account's caller act on a resource: its resource
/// policy (a function's `AddPermission` statements naming that account).
pub trait ResourcePolicies: Send + Sync {
    /// Whether a statement on `resource` (an ARN) lets `account` take
    /// `action`.
    fn allows_account(&self, account: &str, action: &str, resource: &str) -> bool;
}

/// No resource policy at all (until the server has set its own).
struct NoResourcePolicies;

impl ResourcePolicies for NoResourcePolicies {
    fn allows_account(&self, _: &str, _: &str, _: &str) -> bool {
        false
    }
}

/// Actions on the whole server rather than on an account's resources: the
/// home account's only.
const SERVER_WIDE: &[&str] = &[
    "funnel:AdvanceClock",
    "funnel:SetClock",
    "funnel:CreateAccount",
    // Counts over every account's events.
    "funnel:GetQueueStats",
    // The whole store's damaged records.
    "funnel:ListQuarantined",
    "funnel:DropQuarantined",
    // The whole install, every account's.
    "funnel:Backup",
];

/// An authenticated call: set on the request by [`AuthLayer`], read by
/// the handler that names the resource.
#[derive(Clone)]
pub struct Caller {
    pub principal: Arc<Principal>,
    /// Resource policies, for callers from another account.
    pub(crate) resource_policies: Arc<dyn ResourcePolicies>,
    pub action: &'static str,
    pub source_ip: Option<IpAddr>,
    pub secure: bool,
    /// Set once the handler has authorized the call (checked by the layer).
    authorized: Arc<AtomicBool>,
}

#[derive(Clone)]
pub struct Identities {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    key: MasterKey,
    naming: Naming,
    clock: Clock,
    /// Access key id → its user, with the secret and the policies.
    directory: RwLock<Arc<HashMap<String, Arc<Principal>>>>,
    /// Identity writes, one at a time.
    writes: Mutex<()>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
    resource_policies: std::sync::OnceLock<Arc<dyn ResourcePolicies>>,
    /// Whether any failure was ever recorded: until then no call takes the
    /// `failures` lock (it would serialize every call).
    any_failure: AtomicBool,
}

struct Failures {
    since: Duration,
    count: u32,
}

impl Identities {
    /// Opens the identities in `store`, creating the default account and
    /// its operator (with one access key) on first start.
    pub fn open(
        store: Store,
        key: MasterKey,
        naming: Naming,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let identities = Identities {
            inner: Arc::new(Inner {
                store,
                key,
                naming,
                clock,
                directory: RwLock::new(Arc::default()),
                writes: Mutex::new(()),
                failures: Mutex::new(HashMap::new()),
                resource_policies: std::sync::OnceLock::new(),
                any_failure: AtomicBool::new(false),
            }),
        };
        identities.bootstrap()?;
        identities.reload().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(identities)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// What cross-account calls are checked against (set once, when the
    /// services exist; later calls are ignored).
    pub fn set_resource_policies(&self, policies: Arc<dyn ResourcePolicies>) {
        let _ = self.inner.resource_policies.set(policies);
    }

    /// The server's home account (where the operator is).
    pub fn home(&self) -> &str {
        &self.inner.naming.home
    }

    pub(crate) fn resource_policies(&self) -> Arc<dyn ResourcePolicies> {
        match self.inner.resource_policies.get() {
            Some(policies) => policies.clone(),
            None => Arc::new(NoResourcePolicies),
        }
    }

    /// `principal` taking `action` outside the gRPC API (the HTTP door's
    /// `AuthType FUNNEL`): what [`authorize`] checks.
    pub fn caller(
        &self,
        principal: Arc<Principal>,
        action: &'static str,
        source_ip: Option<IpAddr>,
        secure: bool,
    ) -> Caller {
        Caller {
            principal,
            resource_policies: self.resource_policies(),
            action,
            source_ip,
            secure,
            authorized: Arc::default(),
        }
    }

    pub(crate) fn key(&self) -> &MasterKey {
        &self.inner.key
    }

    /// Rebuilds the directory from the store.
    fn reload(&self) -> Result<()> {
        let store = &self.inner.store;
        let mut users = HashMap::new();
        for user in store.all_users()? {
            let mut policies = Vec::new();
            for arn in &user.attached {
                if let Some((_, document)) = policy::MANAGED.iter().find(|(a, _)| a == arn) {
                    policies.push(Arc::new(parse_trusted(document)?));
                }
            }
            for document in user.inline.values() {
                policies.push(Arc::new(parse_trusted(document)?));
            }
            users.insert(
                (user.account_id.clone(), user.name.clone()),
                (user, policies),
            );
        }
        let mut directory = HashMap::new();
        for key in store.access_keys()? {
            let Some((user, policies)) =
                users.get(&(key.account_id.clone(), key.user_name.clone()))
            else {
                continue;
            };
            let secret = self.unseal(&key)?;
            directory.insert(
                key.access_key_id.clone(),
                Arc::new(Principal {
                    arn: user_arn(&user.account_id, &user.name),
                    naming: self.inner.naming.for_account(&user.account_id),
                    operator: user.account_id == self.inner.naming.home && user.name == OPERATOR,
                    account_id: user.account_id.clone(),
                    user_name: user.name.clone(),
                    user_id: user.user_id.clone(),
                    secret,
                    active: key.status == "Active",
                    policies: policies.clone(),
                }),
            );
        }
        *self
            .inner
            .directory
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(directory);
        Ok(())
    }

    fn unseal(&self, key: &AccessKeyRecord) -> Result<Vec<u8>> {
        self.inner
            .key
            .unseal(&key.sealed_secret, key.access_key_id.as_bytes())
            .ok_or_else(|| {
                Error::Service(format!(
                    "the secret of access key {} does not open with this master key (was the \
                     master key replaced?)",
                    key.access_key_id
                ))
            })
    }

    /// Who `authorization` (`Bearer <id>:<secret>`) names, if the key is
    /// known, active and the secret matches. Failures count against
    /// `from`; past [`MAX_FAILURES`] in a window, every call from there is
    /// refused until the window ends.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        from: Option<IpAddr>,
    ) -> Result<Arc<Principal>> {
        if let Some(ip) = from {
            self.throttled(ip)?;
        }
        let Some(header) = authorization else {
            return Err(Error::MissingAuthenticationToken(
                "Missing Authentication Token: send `authorization: Bearer <AccessKeyId>:<SecretAccessKey>` \
                 metadata (the CLI and funnel-client read ./.funnel/credentials, ~/.funnel/credentials \
                 or FUNNEL_ACCESS_KEY_ID/FUNNEL_SECRET_ACCESS_KEY)"
                    .into(),
            ));
        };
        let found = std::str::from_utf8(header)
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|token| token.trim().split_once(':'))
            .and_then(|(id, secret)| {
                let principal = self
                    .inner
                    .directory
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(id)
                    .cloned()?;
                let matches: bool = principal.secret.ct_eq(secret.as_bytes()).into();
                (matches && principal.active).then_some(principal)
            });
        match found {
            Some(principal) => Ok(principal),
            None => {
                if let Some(ip) = from {
                    self.failed(ip);
                }
                Err(Error::UnrecognizedClient(
                    "The security token included in the request is invalid.".into(),
                ))
            }
        }
    }

    /// The user behind access key `id` (known and active), for a caller
    /// that proves the secret itself (a SigV4 signature); an unknown key
    /// counts as a failure from `from`.
    pub fn signer(&self, id: &str, from: Option<IpAddr>) -> Result<Arc<Principal>> {
        if let Some(ip) = from {
            self.throttled(ip)?;
        }
        let found = self
            .inner
            .directory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .filter(|p| p.active)
            .cloned();
        found.ok_or_else(|| {
            if let Some(ip) = from {
                self.failed(ip);
            }
            Error::UnrecognizedClient(
                "The security token included in the request is invalid.".into(),
            )
        })
    }

    /// A signature that did not verify: counts against `from` as a failed
    /// authentication.
    pub fn signature_failed(&self, from: Option<IpAddr>) {
        if let Some(ip) = from {
            self.failed(ip);
        }
    }

    fn throttled(&self, ip: IpAddr) -> Result<()> {
        if !self.inner.any_failure.load(Ordering::Relaxed) {
            return Ok(());
        }
        let failures = self
            .inner
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(f) = failures.get(&ip) {
            let elapsed = self.inner.clock.now().saturating_sub(f.since);
            if f.count >= MAX_FAILURES && elapsed < FAILURE_WINDOW {
                return Err(Error::Throttling(format!(
                    "Rate exceeded: {} failed authentications from {ip}; retry in {} s",
                    f.count,
                    (FAILURE_WINDOW - elapsed).as_secs().max(1)
                )));
            }
        }
        Ok(())
    }

    fn failed(&self, ip: IpAddr) {
        self.inner.any_failure.store(true, Ordering::Relaxed);
        let now = self.inner.clock.now();
        let mut failures = self
            .inner
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if failures.len() > 10_000 {
            failures.retain(|_, f| now.saturating_sub(f.since) < FAILURE_WINDOW);
        }
        let entry = failures.entry(ip).or_insert(Failures {
            since: now,
            count: 0,
        });
        if now.saturating_sub(entry.since) >= FAILURE_WINDOW {
            *entry = Failures {
                since: now,
                count: 0,
            };
        }
        entry.count += 1;
        if entry.count == MAX_FAILURES {
            tracing::warn!(%ip, "too many failed authentications; refusing calls from it for a while");
        }
    }
}

/// Whether `caller` may take its action on `resource`; the refusal is
/// AWS's `AccessDeniedException` text.
pub fn authorize(caller: &Caller, resource: &str) -> Result<()> {
    caller.authorized.store(true, Ordering::Relaxed);
    let principal = &caller.principal;
    if principal.operator || actions::needs_no_permission(caller.action) {
        return Ok(());
    }
    let denied = |why: &str| {
        Error::AccessDenied(format!(
            "User: {} is not authorized to perform: {} on resource: {resource}{why}",
            principal.arn, caller.action
        ))
    };
    if SERVER_WIDE.contains(&caller.action) && principal.account_id != principal.naming.home {
        return Err(denied(
            " because it acts on the whole server, which only the home account may",
        ));
    }
    // Another account's resource: its resource policy must name the
    // caller's account too (Lambda's cross-account AddPermission).
    if let Some(owner) = crate::tenancy::arn_account(resource)
        && owner != principal.account_id
        && !caller
            .resource_policies
            .allows_account(&principal.account_id, caller.action, resource)
    {
        return Err(denied(&format!(
            " because no resource-based policy allows the {} action",
            caller.action
        )));
    }
    let request = policy::Request {
        action: caller.action,
        resource,
        user_name: &principal.user_name,
        user_id: &principal.user_id,
        account: &principal.account_id,
        user_arn: &principal.arn,
        source_ip: caller.source_ip,
        secure_transport: caller.secure,
        region: &principal.naming.region,
    };
    if policy::allows(principal.policies.iter().map(|p| p.as_ref()), &request) {
        Ok(())
    } else {
        Err(denied(""))
    }
}

/// Authorizes `request` (authenticated by [`AuthLayer`]) on the resource
/// it names; returns the caller.
pub fn check<T: Resource>(request: &tonic::Request<T>) -> Result<Caller> {
    let caller = caller_of(request.extensions())?;
    authorize_resource(&caller, request.get_ref())?;
    Ok(caller)
}

/// Authorizes `caller` on what `message` names (for streams, where the
/// resource is in a message rather than in the request).
pub fn authorize_resource<T: Resource>(caller: &Caller, message: &T) -> Result<()> {
    authorize(caller, &message.resource(&caller.scope()))
}

/// Authorizes `caller` for a second action its call needs, on what
/// `message` names (CopyObject reads its source: `s3:GetObject` on it,
/// besides `s3:PutObject` on the copy).
pub fn authorize_also<T: Resource>(
    caller: &Caller,
    action: &'static str,
    message: &T,
) -> Result<()> {
    let also = Caller {
        action,
        ..caller.clone()
    };
    authorize_resource(&also, message)
}

impl Caller {
    /// Whether a handler authorized the call (a door that calls handlers
    /// itself checks it, as [`AuthLayer`] does).
    pub fn was_authorized(&self) -> bool {
        self.authorized.load(Ordering::Relaxed)
    }

    /// How the caller's names resolve: in its own account.
    pub fn naming(&self) -> &Naming {
        &self.principal.naming
    }

    /// A FunctionName as the caller gives it (a name, `name:qualifier`,
    /// or an ARN), as an ARN: a bare name is the caller's account's.
    pub fn function(&self, input: &str) -> Result<String> {
        if input.is_empty() {
            // Nothing named: the service says what is missing.
            return Ok(String::new());
        }
        let naming = self.naming();
        let function = naming.parse_function(input)?;
        Ok(naming.function_arn(&function.name, function.qualifier.as_deref()))
    }

    /// A TopicArn as the caller gives it (an ARN, or a bare name of the
    /// caller's account), as an ARN.
    pub fn topic(&self, arn_or_name: &str) -> Result<String> {
        if arn_or_name.is_empty() {
            return Ok(String::new());
        }
        let naming = self.naming();
        let key = naming
            .topic_name(arn_or_name)
            .map_err(Error::InvalidParameter)?;
        Ok(naming.topic_arn(&key))
    }

    /// A SubscriptionArn as the caller gives it, as a full ARN of its
    /// topic's account.
    pub fn subscription(&self, arn: &str) -> Result<String> {
        self.naming()
            .subscription(arn)
            .map_err(Error::InvalidParameter)
    }

    /// A LayerName as the caller gives it (a name of the caller's account,
    /// or an ARN), as an ARN.
    pub fn layer(&self, name_or_arn: &str) -> String {
        if name_or_arn.is_empty() || name_or_arn.starts_with("arn:") {
            return name_or_arn.to_string();
        }
        self.naming().layer_arn(&self.key(name_or_arn), None::<u32>)
    }

    /// The key of a log group the caller names (a name of its account, or
    /// an ARN `arn:funnel:logs:<region>:<account>:log-group:<name>`).
    pub fn log_group(&self, name_or_arn: &str) -> String {
        let from_arn = crate::tenancy::arn_account(name_or_arn).zip(
            name_or_arn
                .split_once(":log-group:")
                .map(|(_, name)| name.trim_end_matches(":*")),
        );
        match from_arn {
            Some((account, name)) => self.naming().key_in(account, name),
            None => self.key(name_or_arn),
        }
    }

    /// The key of a name in the caller's account (a bucket, a rule, a log
    /// group, a layer).
    pub fn key(&self, name: &str) -> String {
        self.naming().key(name)
    }

    /// Whether a key is the caller's account's.
    pub fn owns(&self, key: &str) -> bool {
        self.naming().owns(key)
    }

    /// Where the caller's names resolve: its account and region, its user.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            naming: &self.principal.naming,
            user_name: &self.principal.user_name,
        }
    }
}

/// The caller [`AuthLayer`] put on a request.
pub fn caller_of(extensions: &tonic::Extensions) -> Result<Caller> {
    extensions
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Error::MissingAuthenticationToken("Missing Authentication Token".into()))
}

pub fn user_arn(account_id: &str, name: &str) -> String {
    format!("arn:funnel:iam::{account_id}:user/{name}")
}

/// A stored document was checked when it was put; one that no longer
/// parses is a corrupt store.
fn parse_trusted(document: &str) -> Result<IdentityPolicy> {
    IdentityPolicy::parse(document)
        .map_err(|e| Error::Service(format!("a stored identity policy is invalid: {e}")))
}
