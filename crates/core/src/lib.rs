//! Custodian's use cases. Every operation takes an authenticated [`Actor`] (or is an explicit
//! authentication step), encrypts and decrypts fields with the data subject's key, and decides
//! transaction boundaries. No HTTP types live here.

pub mod account_links;
pub mod activities;
pub mod actor;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod companies;
pub mod complaints;
pub mod contact_access;
pub mod contacts;
pub mod cursor;
pub mod custom_fields;
pub mod dashboard;
pub mod deals;
pub mod error;
pub mod export_requests;
pub mod exports;
mod hashing;
pub mod imports;
pub mod keyring;
pub mod leads;
pub mod links;
pub(crate) mod messages;
pub mod metrics;
pub mod mfa_policy;
pub mod monitor;
pub mod notifications;
pub mod orders;
pub mod outbound;
pub mod passkeys;
pub mod patch;
pub mod policies;
pub mod preferences;
pub mod products;
pub(crate) mod record_access;
pub mod saved_views;
pub mod search;
pub mod second_factor;
pub mod security_events;
pub mod sent_codes;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod surveys;
pub mod tabular;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod users;

use custodian_crypto::password::PasswordHasher;
use custodian_crypto::random::SecureRandom;
use custodian_domain::Clock;
use custodian_store::Store;
use std::sync::Arc;

pub use actor::{Actor, AuthMethod, TokenLimits};

/// `Debug` for types holding personal data: the type name only, never the values.
macro_rules! redacted_debug {
    ($($t:ty),+ $(,)?) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), " { .. }"))
            }
        }
    )+};
}
pub use error::CoreError;
pub use keyring::KeyRing;
pub(crate) use redacted_debug;
pub use settings::CoreSettings;

/// Re-exports the web and CLI layers need without depending on the crypto crate directly.
pub mod secrets {
    pub use secrecy::{ExposeSecret, SecretString};
}

/// The application: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    keys: KeyRing,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn SecureRandom>,
    hasher: PasswordHasher,
    /// Argon2id threads, one per core, below request handling's priority.
    hashing: hashing::HashingPool,
    settings: CoreSettings,
    auth_cache: auth::AuthCache,
    contact_writer: contacts::ContactWriter,
    transports: notifications::Transports,
    outbound: outbound::Outbound,
    relying_party: passkeys::RelyingParty,
    sso: sso::Sso,
    authz: authz::Authz,
    audit: audit::AuditLog,
    metrics: Arc<metrics::Metrics>,
    monitor: monitor::Monitor,
}

impl Core {
    /// Builds the application after checking the key file against the database.
    pub async fn open(
        store: Store,
        keys: KeyRing,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn SecureRandom>,
        settings: CoreSettings,
    ) -> Result<Self, CoreError> {
        settings.validate()?;
        keys.check_against(&store, clock.now_millis()).await?;
        let hasher = PasswordHasher::new(settings.password_params, rng.as_ref())?;
        let metrics = metrics::Metrics::new();
        let audit = audit::AuditLog::start(store.clone(), metrics.clone());
        let contact_writer = contacts::ContactWriter::start(store.clone(), audit.trigger());
        // One process owns a SQLite file; PostgreSQL may be shared by several.
        let cache_credentials = store.backend() == custodian_store::Backend::Sqlite;
        let core = Self {
            inner: Arc::new(Inner {
                store,
                keys,
                clock,
                rng,
                hasher,
                hashing: hashing::HashingPool::start(
                    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
                ),
                settings,
                auth_cache: auth::AuthCache::new(cache_credentials),
                contact_writer,
                transports: notifications::Transports::default(),
                outbound: outbound::Outbound::default(),
                relying_party: passkeys::RelyingParty::default(),
                sso: sso::Sso::default(),
                authz: authz::Authz::new(authz::model::DEFAULT_POLICIES, 0)?,
                audit,
                metrics,
                monitor: monitor::Monitor::default(),
            }),
        };
        core.inner
            .keys
            .ensure_org_key(&core.inner.store, core.inner.rng.as_ref(), core.now())
            .await?;
        Ok(core)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &CoreSettings {
        &self.inner.settings
    }

    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    fn rng(&self) -> &dyn SecureRandom {
        self.inner.rng.as_ref()
    }

    fn keys(&self) -> &KeyRing {
        &self.inner.keys
    }

    /// Liveness of the database, for the health endpoint.
    pub async fn ping(&self) -> bool {
        self.inner.store.ping().await.is_ok()
    }
}

/// Maps the outcome of a soft delete or restore: deleting what is already deleted is "not
/// found" (it left the live records), restoring what is live is a conflict.
pub(crate) fn soft_delete_outcome(
    entity: &'static str,
    delete: bool,
    outcome: custodian_store::repo::WriteOutcome,
) -> Result<(), CoreError> {
    use custodian_store::repo::WriteOutcome;
    match (outcome, delete) {
        (WriteOutcome::Written, _) => Ok(()),
        (WriteOutcome::NotFound, _) | (WriteOutcome::Stale { .. }, true) => {
            Err(CoreError::NotFound { entity })
        }
        (WriteOutcome::Stale { .. }, false) => {
            Err(CoreError::Conflict("the record is not deleted"))
        }
    }
}

/// Maps the outcome of a version-checked write: a lost race is a 409 carrying the version the
/// record is at now.
pub(crate) fn versioned_write(
    entity: &'static str,
    outcome: custodian_store::repo::WriteOutcome,
) -> Result<(), CoreError> {
    use custodian_store::repo::WriteOutcome;
    match outcome {
        WriteOutcome::Written => Ok(()),
        WriteOutcome::Stale { current_version } => Err(CoreError::StaleVersion { current_version }),
        WriteOutcome::NotFound => Err(CoreError::NotFound { entity }),
    }
}

/// Refuses an owner or assignee that is not a user (422 `unknown_user` on `field`).
pub(crate) async fn check_user<C: custodian_store::ConnectionTrait>(
    conn: &C,
    field: &str,
    user: Option<uuid::Uuid>,
) -> Result<(), CoreError> {
    if let Some(user) = user
        && custodian_store::repo::users::get_live(conn, user)
            .await?
            .is_none()
    {
        return Err(custodian_domain::FieldError::new(
            field,
            "unknown_user",
            "no user with this id exists",
        )
        .into());
    }
    Ok(())
}

/// Refuses a change to a deleted record (409 `conflict` with `deleted`, which says to restore
/// it first) or to one whose version moved on since the client read it (409 `stale_version`).
pub(crate) fn check_changeable(
    deleted_at: Option<i64>,
    version: i64,
    expected_version: i64,
    deleted: &'static str,
) -> Result<(), CoreError> {
    if deleted_at.is_some() {
        return Err(CoreError::Conflict(deleted));
    }
    if version != expected_version {
        return Err(CoreError::StaleVersion {
            current_version: version,
        });
    }
    Ok(())
}
