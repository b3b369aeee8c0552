//! Authentication: the first administrator's setup, password login, sessions, API tokens and
//! CSRF tokens. Passwords are hashed off the async runtime; unknown accounts cost the same time
//! as known ones.

use crate::TokenLimits;
use crate::sessions::ClientInfo;
use crate::settings::PASSWORD_MAX_LENGTH;
use crate::tokens::{ApiTokenRequest, DEFAULT_TOKEN_DAYS};
use crate::{Actor, AuthMethod, Core, CoreError};
use custodian_crypto::password::PasswordCheck;
use custodian_crypto::token::{constant_time_eq, generate_token, hash_token};
use custodian_domain::audit::AuditCode;
use custodian_domain::password_policy::{PasswordPolicy, PasswordStrength};
use custodian_domain::token_scope::{TokenScopes, parse_networks};
use custodian_domain::values::{Email, PersonName};
use custodian_domain::{ApiTokenId, FieldError, SessionId, UserId};
use custodian_store::entities::{api_token, session, setup_code, user};
use custodian_store::repo;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

pub const SETUP_PURPOSE: &str = "first_admin";
/// Refused inside passwords (a context word, NIST SP 800-63B).
const PRODUCT_NAME: &str = "custodian";
pub const ROLE_ADMIN: &str = crate::authz::model::ROLE_ADMINISTRATOR;
pub const STATUS_ACTIVE: &str = "active";
const SESSION_TOKEN_PREFIX: &str = "cus_s_";
const API_TOKEN_PREFIX: &str = "cus_t_";
const SETUP_CODE_PREFIX: &str = "cus_setup_";

/// Where a session is: waiting for the second factor, or signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    SecondFactor,
    /// Signed in, but the MFA policy requires setting up a second factor before anything else.
    Enrolment,
    Active,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecondFactor => "second_factor",
            Self::Enrolment => "second_factor_enrolment",
            Self::Active => "active",
        }
    }
}

/// Session and token activity is written at most this often, so reads stay reads.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// A new session: the token goes to the client once and is never stored.
#[derive(Debug)]
pub struct SessionGrant {
    pub token: SecretString,
    pub session_id: SessionId,
    pub user_id: UserId,
    /// Sessions this sign-in ended because the user was at their limit.
    pub ended: Vec<uuid::Uuid>,
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(SessionGrant),
    /// The user has a second factor: the grant is a sign-in that only
    /// [`Core::complete_sign_in`] can turn into a session.
    SecondFactorDue(SessionGrant),
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    pub email: String,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    pub locale: Option<String>,
}

/// How long a verified credential is trusted without asking the database again. Revocation on
/// this node is immediate (logout drops the entry); on other nodes it takes at most this long.
const AUTH_CACHE_TTL_MS: i64 = 2_000;
/// Entries kept at most; the cache is emptied when full (cheap, and rare).
const AUTH_CACHE_MAX: usize = 10_000;

/// Recently verified session and API tokens (by token hash), so a burst of requests from one
/// client costs one database lookup instead of one per request.
#[derive(Debug, Default)]
pub(crate) struct AuthCache {
    /// Off where several server processes share the database (PostgreSQL): there an ended
    /// session must stop working on the very next request, on every node.
    enabled: bool,
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], CachedAuth>>,
}

#[derive(Debug, Clone)]
struct CachedAuth {
    actor: Actor,
    /// The wide network a session was opened from: a request from another one goes to the
    /// database, which records it.
    network: Option<Vec<u8>>,
    checked_at: i64,
    /// When the credential itself expires (idle/absolute timeout, token expiry).
    valid_until: i64,
}

impl AuthCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], CachedAuth>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            entries: std::sync::Mutex::default(),
        }
    }

    fn get(&self, hash: &[u8; 32], now: i64, network: Option<&[u8]>) -> Option<Actor> {
        if !self.enabled {
            return None;
        }
        let entries = self.lock();
        let hit = entries.get(hash)?;
        let fresh = now >= hit.checked_at
            && now - hit.checked_at < AUTH_CACHE_TTL_MS
            && now < hit.valid_until;
        let same_network = match (hit.network.as_deref(), network) {
            (Some(opened_from), Some(here)) => opened_from == here,
            _ => true,
        };
        (fresh && same_network).then(|| hit.actor.clone())
    }

    fn put(
        &self,
        hash: [u8; 32],
        actor: Actor,
        network: Option<Vec<u8>>,
        now: i64,
        valid_until: i64,
    ) {
        if !self.enabled {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= AUTH_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            hash,
            CachedAuth {
                actor,
                network,
                checked_at: now,
                valid_until,
            },
        );
    }

    pub(crate) fn forget_token(&self, id: ApiTokenId) {
        self.lock()
            .retain(|_, c| c.actor.method != AuthMethod::ApiToken(id));
    }

    pub(crate) fn forget_session(&self, id: SessionId) {
        self.lock().retain(|_, c| c.actor.session_id() != Some(id));
    }

    /// After a change to the user (locale today; role or status later) their cached actors
    /// must not outlive it.
    pub(crate) fn forget_user(&self, id: UserId) {
        self.lock().retain(|_, c| c.actor.user_id != id);
    }
}

/// A user about to be stored.
pub(crate) struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: Option<&'a PersonName>,
    /// `None` for an invited user who has not chosen a password yet.
    pub password_hash: Option<String>,
    pub roles: &'a [String],
    pub status: &'a str,
}

/// The first administrator administers and, until the organisation hands data access to
/// others, works with every record (someone must); both roles can be taken away later.
fn first_administrator_roles() -> Vec<String> {
    vec![
        ROLE_ADMIN.to_owned(),
        crate::authz::model::ROLE_ALL_RECORDS.to_owned(),
    ]
}

/// Locales the UI ships catalogs for.
pub const SUPPORTED_LOCALES: &[&str] = &["en", "zh-CN"];

impl Core {
    pub async fn needs_setup(&self) -> Result<bool, CoreError> {
        Ok(repo::users::count(self.store().conn()).await? == 0)
    }

    /// Issues a fresh one-time setup code while no user exists (earlier codes stop working).
    pub async fn issue_setup_code(&self) -> Result<Option<SecretString>, CoreError> {
        if !self.needs_setup().await? {
            return Ok(None);
        }
        let now = self.now();
        let code = generate_token(SETUP_CODE_PREFIX, self.rng())?;
        let txn = self.store().begin().await?;
        repo::setup_codes::invalidate_purpose(&txn, SETUP_PURPOSE, now).await?;
        repo::setup_codes::insert(
            &txn,
            setup_code::Model {
                id: custodian_domain::ids::uuid_at(now),
                code_hash: hash_token(code.expose_secret()).to_vec(),
                purpose: SETUP_PURPOSE.to_owned(),
                created_at: now,
                expires_at: now + self.settings().setup_code_ttl_secs * 1000,
                used_at: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Some(code))
    }

    pub async fn setup_code_is_valid(&self, code: &SecretString) -> Result<bool, CoreError> {
        Ok(repo::setup_codes::is_valid(
            self.store().conn(),
            &hash_token(code.expose_secret()),
            SETUP_PURPOSE,
            self.now(),
        )
        .await?)
    }

    /// Creates the first administrator through the one-time setup code and logs them in.
    pub async fn complete_setup(
        &self,
        code: &SecretString,
        email: &str,
        display_name: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<SessionGrant, CoreError> {
        let (email, display_name) = parse_identity(email, display_name)?;
        let password = self.check_password_policy(password, &email)?;
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        if !repo::setup_codes::consume(&txn, &hash_token(code.expose_secret()), SETUP_PURPOSE, now)
            .await?
        {
            return Err(CoreError::InvalidSetupCode);
        }
        if repo::users::count(&txn).await? != 0 {
            return Err(CoreError::InvalidSetupCode);
        }
        let user_id = self
            .insert_user(
                &txn,
                crate::auth::NewUser {
                    email: &email,
                    display_name: display_name.as_ref(),
                    password_hash: Some(hash),
                    roles: &first_administrator_roles(),
                    status: STATUS_ACTIVE,
                },
                now,
            )
            .await?;
        let grant = self
            .new_session(&txn, user_id, SessionStage::Active, "password", client, now)
            .await?;
        txn.commit().await?;
        tracing::info!(user_id = %user_id, "first administrator created through setup");
        self.after_sign_in(user_id.as_uuid(), &grant, client, 0)
            .await?;
        Ok(grant)
    }

    /// Non-interactive first administrator (`custodian init`). Refused once any user exists.
    pub async fn create_first_admin(
        &self,
        email: &str,
        password: SecretString,
    ) -> Result<UserId, CoreError> {
        let (email, _) = parse_identity(email, "")?;
        let password = self.check_password_policy(password, &email)?;
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        if repo::users::count(&txn).await? != 0 {
            return Err(CoreError::Conflict(
                "an administrator already exists; sign in and invite users instead",
            ));
        }
        let user_id = self
            .insert_user(
                &txn,
                crate::auth::NewUser {
                    email: &email,
                    display_name: None,
                    password_hash: Some(hash),
                    roles: &first_administrator_roles(),
                    status: STATUS_ACTIVE,
                },
                now,
            )
            .await?;
        repo::setup_codes::invalidate_purpose(&txn, SETUP_PURPOSE, now).await?;
        txn.commit().await?;
        Ok(user_id)
    }

    pub(crate) async fn insert_user<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        new: NewUser<'_>,
        now: i64,
    ) -> Result<UserId, CoreError> {
        let NewUser {
            email,
            display_name,
            password_hash,
            roles,
            status,
        } = new;
        let id = UserId::new_at(now);
        let org = self.keys().org_key(conn).await?;
        let email_ct = self.keys().encrypt(
            &org,
            "users",
            "email",
            id.as_uuid(),
            email.as_str().as_bytes(),
            self.rng(),
        )?;
        let display_name_ct = display_name
            .map(|n| {
                self.keys().encrypt(
                    &org,
                    "users",
                    "display_name",
                    id.as_uuid(),
                    n.as_str().as_bytes(),
                    self.rng(),
                )
            })
            .transpose()?;
        let res = repo::users::insert(
            conn,
            user::Model {
                id: id.as_uuid(),
                email_lookup: self.keys().lookup("users", "email", email.as_str())?,
                email_ct,
                display_name_ct,
                password_hash,
                locale: None,
                status: status.to_owned(),
                created_at: now,
                updated_at: now,
                team: None,
                department: None,
                region: None,
                email_verified_at: None,
                phone_ct: None,
                phone_verified_at: None,
                email_codes_at: None,
                sms_codes_at: None,
                deleted_at: None,
                clearance: 0,
            },
        )
        .await;
        match res {
            Err(e) if e.is_unique_violation() => Err(CoreError::Conflict(
                "a user with this e-mail address already exists",
            )),
            other => {
                other?;
                repo::users::set_roles(conn, id.as_uuid(), roles, now).await?;
                Ok(id)
            }
        }
    }

    pub(crate) fn check_password_policy(
        &self,
        password: SecretString,
        email: &Email,
    ) -> Result<SecretString, CoreError> {
        password_policy(password, email, self.settings().password_min_length)
    }

    pub(crate) async fn hash_password(&self, password: SecretString) -> Result<String, CoreError> {
        let hasher = self.inner.hasher.clone();
        let rng = self.inner.rng.clone();
        self.inner
            .hashing
            .run(move || hasher.hash(&password, rng.as_ref()))
            .await?
            .map_err(CoreError::from)
    }

    /// Checks the password. Without a second factor enrolled that signs the user in; with one,
    /// it opens a short-lived sign-in that only [`Core::complete_sign_in`] can finish.
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, CoreError> {
        let throttle = self.throttle_keys(email, client.ip)?;
        self.check_throttle(&throttle).await?;
        let user = match self.verify_password_login(email, password, client).await {
            Ok(user) => user,
            Err(CoreError::InvalidCredentials) => {
                self.record_failure(&throttle, true).await?;
                return Err(CoreError::InvalidCredentials);
            }
            Err(e) => return Err(e),
        };
        let now = self.now();
        let second_factor = self.has_second_factor(&user).await?;
        let stage = if second_factor {
            SessionStage::SecondFactor
        } else if self.mfa_required_for(&user).await? {
            SessionStage::Enrolment
        } else {
            SessionStage::Active
        };
        let txn = self.store().begin().await?;
        let grant = self
            .new_session(&txn, UserId(user.id), stage, "password", client, now)
            .await?;
        txn.commit().await?;
        self.forget_sessions(&grant.ended);
        if !second_factor {
            // Only a complete sign-in clears the count: a known password alone must not
            // reset the guesses at the second factor.
            let failures = self.clear_account_throttle(&throttle).await?;
            self.after_sign_in(user.id, &grant, client, failures)
                .await?;
        }
        Ok(if second_factor {
            LoginOutcome::SecondFactorDue(grant)
        } else {
            LoginOutcome::SignedIn(grant)
        })
    }

    /// The user whose e-mail and password these are, if active. Unknown accounts cost the same
    /// time and get the same error as a wrong password; every refusal is a security event (of
    /// the account, when there is one).
    pub(crate) async fn verify_password_login(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<user::Model, CoreError> {
        let normalized: String = password.expose_secret().nfkc().collect();
        let password = SecretString::from(normalized);
        // For the monitor's spraying rule: which password and which address, as fingerprints
        // under a key that lives only in this process's memory.
        let fingerprints = [
            (
                "account",
                self.attempt_fingerprint(email.trim().to_lowercase().as_bytes())?,
            ),
            (
                "password",
                self.attempt_fingerprint(password.expose_secret().as_bytes())?,
            ),
        ];
        let found = match Email::parse("email", email) {
            Ok(email) => {
                let lookup = self.keys().lookup("users", "email", email.as_str())?;
                repo::users::by_email_lookup(self.store().conn(), &lookup).await?
            }
            Err(_) => None,
        };
        let hasher = self.inner.hasher.clone();
        let stored = found.as_ref().and_then(|u| u.password_hash.clone());
        let check = self
            .inner
            .hashing
            .run(move || match stored {
                Some(phc) => hasher.verify(&password, &phc).map(|c| (c, Some(password))),
                None => Ok((
                    if hasher.verify_dummy(&password) {
                        PasswordCheck::Valid {
                            needs_rehash: false,
                        }
                    } else {
                        PasswordCheck::Invalid
                    },
                    None,
                )),
            })
            .await??;
        match (found, check) {
            (Some(user), (PasswordCheck::Valid { needs_rehash }, password))
                if user.status == STATUS_ACTIVE =>
            {
                if let (true, Some(password)) = (needs_rehash, password) {
                    // Parameters were raised since this hash was made: upgrade it now, while
                    // the password is at hand.
                    let hash = self.hash_password(password).await?;
                    let mut updated = user.clone();
                    updated.password_hash = Some(hash);
                    updated.updated_at = self.now();
                    repo::users::update(self.store().writer(), updated).await?;
                }
                Ok(user)
            }
            (Some(user), _) => {
                self.record_security_event_with(
                    crate::security_events::NewSecurityEvent {
                        kind: crate::security_events::SecurityEventKind::SignInFailed,
                        user_id: Some(user.id),
                        session_id: None,
                        client: Some(client),
                        detail: (user.status != STATUS_ACTIVE).then(|| user.status.clone()),
                    },
                    &fingerprints,
                )
                .await?;
                Err(CoreError::InvalidCredentials)
            }
            (None, _) => {
                // Recorded too (with no account), so both refusals do the same work and take
                // the same time: no hint which addresses have accounts.
                self.record_security_event_with(
                    crate::security_events::NewSecurityEvent {
                        kind: crate::security_events::SecurityEventKind::SignInFailed,
                        user_id: None,
                        session_id: None,
                        client: Some(client),
                        detail: Some("unknown_account".to_owned()),
                    },
                    &fingerprints,
                )
                .await?;
                Err(CoreError::InvalidCredentials)
            }
        }
    }

    /// Whether `password` is `user`'s own (step-up, password change): checked against the
    /// stored hash directly, with no look-up by e-mail.
    pub(crate) async fn verify_own_password(
        &self,
        user: &user::Model,
        password: SecretString,
    ) -> Result<bool, CoreError> {
        let Some(phc) = user.password_hash.clone() else {
            return Ok(false);
        };
        let password = SecretString::from(password.expose_secret().nfkc().collect::<String>());
        let hasher = self.inner.hasher.clone();
        let check = self
            .inner
            .hashing
            .run(move || hasher.verify(&password, &phc))
            .await??;
        Ok(matches!(check, PasswordCheck::Valid { .. }))
    }

    /// Opens a session. An active one beyond the user's limit ends the least recently used
    /// (their ids are in the grant, for the caller to drop from the cache after commit).
    pub(crate) async fn new_session<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
        stage: SessionStage,
        auth_methods: &str,
        client: &ClientInfo,
        now: i64,
    ) -> Result<SessionGrant, CoreError> {
        let token = generate_token(SESSION_TOKEN_PREFIX, self.rng())?;
        let session_id = SessionId::new_at(now);
        let client_ct = self
            .seal_client(conn, "sessions", session_id.as_uuid(), client)
            .await?;
        repo::sessions::insert(
            conn,
            session::Model {
                id: session_id.as_uuid(),
                token_hash: hash_token(token.expose_secret()).to_vec(),
                user_id: user_id.as_uuid(),
                created_at: now,
                last_seen_at: now,
                revoked_at: None,
                stage: stage.as_str().to_owned(),
                auth_methods: auth_methods.to_owned(),
                reauthenticated_at: now,
                factor_failures: 0,
                client_ct,
                end_reason: None,
                network_lookup: self.wide_network_key(client.ip)?,
                network_changed_at: None,
                used_after_end_at: None,
            },
        )
        .await?;
        let ended = if stage == SessionStage::Active {
            self.end_sessions_beyond_limit(conn, user_id, now).await?
        } else {
            Vec::new()
        };
        Ok(SessionGrant {
            token,
            session_id,
            user_id,
            ended,
        })
    }

    /// A presented credential that is none of ours (`what`: `session` or `api_token`):
    /// recorded, then refused like any missing credential.
    async fn unknown_credential(
        &self,
        what: &'static str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<CoreError, CoreError> {
        self.record_anonymous_refusal(
            crate::security_events::SecurityEventKind::UnknownCredential,
            ip,
            what,
        )
        .await?;
        Ok(CoreError::Unauthenticated)
    }

    /// Resolves a session cookie presented from `ip` to an actor, enforcing idle and absolute
    /// timeouts. An ended session presented again, and a session used from a second wide
    /// network, are recorded as security events.
    pub async fn authenticate_session(
        &self,
        token: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Actor, CoreError> {
        if !token.starts_with(SESSION_TOKEN_PREFIX) || token.len() > 128 {
            return Err(self.unknown_credential("session", ip).await?);
        }
        // Policies changed by another server apply from this request on.
        self.refresh_policies().await?;
        let hash = hash_token(token);
        let now = self.now();
        let here = self.wide_network_key(ip)?;
        if let Some(mut actor) = self.inner.auth_cache.get(&hash, now, here.as_deref()) {
            actor.client_ip = ip;
            return Ok(actor);
        }
        let conn = self.store().conn();
        let Some(row) = repo::sessions::by_token_hash(conn, &hash).await? else {
            return Err(self.unknown_credential("session", ip).await?);
        };
        let settings = self.settings();
        let idle_expired = now - row.last_seen_at > settings.session_idle_secs * 1000;
        let absolute_expired = now - row.created_at > settings.session_absolute_secs * 1000;
        let enrolment_required = row.stage == SessionStage::Enrolment.as_str();
        let signed_in = row.stage == SessionStage::Active.as_str() || enrolment_required;
        if row.revoked_at.is_some() && signed_in {
            self.report_ended_session_use(&row, ip).await?;
        }
        if row.revoked_at.is_some() || idle_expired || absolute_expired || !signed_in {
            return Err(CoreError::Unauthenticated);
        }
        let user = self.active_user(row.user_id).await?;
        self.check_session_network(&row, here.as_deref(), ip)
            .await?;
        repo::sessions::touch(self.store().writer(), row.id, now, TOUCH_INTERVAL_MS).await?;
        let actor = Actor {
            user_id: UserId(user.id),
            principal: self.principal_of(&user).await?,
            locale: user.locale,
            method: AuthMethod::Session(SessionId(row.id)),
            reauthenticated_at: Some(row.reauthenticated_at),
            enrolment_required,
            token_limits: None,
            session_started_at: Some(row.created_at),
            client_ip: ip,
        };
        let valid_until = (row.last_seen_at + settings.session_idle_secs * 1000)
            .min(row.created_at + settings.session_absolute_secs * 1000);
        self.inner.auth_cache.put(
            hash,
            actor.clone(),
            row.network_lookup.clone(),
            now,
            valid_until,
        );
        Ok(actor)
    }

    /// Resolves an API token presented from `ip` to an actor; a token that is none of ours is
    /// recorded (at most once a minute per network).
    pub async fn authenticate_bearer(
        &self,
        token: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Actor, CoreError> {
        if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 128 {
            return Err(self.unknown_credential("api_token", ip).await?);
        }
        // Policies changed by another server apply from this request on.
        self.refresh_policies().await?;
        let hash = hash_token(token);
        let now = self.now();
        if let Some(mut actor) = self.inner.auth_cache.get(&hash, now, None) {
            actor.client_ip = ip;
            return Ok(actor);
        }
        let conn = self.store().conn();
        let Some(row) = repo::api_tokens::by_token_hash(conn, &hash).await? else {
            return Err(self.unknown_credential("api_token", ip).await?);
        };
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
            return Err(CoreError::Unauthenticated);
        }
        let user = self.active_user(row.user_id).await?;
        repo::api_tokens::touch(self.store().writer(), row.id, now, TOUCH_INTERVAL_MS).await?;
        let actor = Actor {
            user_id: UserId(user.id),
            principal: self.principal_of(&user).await?,
            session_started_at: None,
            client_ip: ip,
            locale: user.locale,
            method: AuthMethod::ApiToken(ApiTokenId(row.id)),
            reauthenticated_at: None,
            enrolment_required: false,
            token_limits: Some(std::sync::Arc::new(TokenLimits {
                scopes: TokenScopes::from_stored(&row.scopes),
                networks: row
                    .networks
                    .as_deref()
                    .map(|n| parse_networks("networks", n))
                    .transpose()
                    .map_err(|_| CoreError::DataIntegrity {
                        table: "api_tokens",
                        column: "networks",
                    })?
                    .unwrap_or_default(),
            })),
        };
        let valid_until = row.expires_at.unwrap_or(i64::MAX);
        self.inner
            .auth_cache
            .put(hash, actor.clone(), None, now, valid_until);
        Ok(actor)
    }

    pub(crate) async fn active_user(&self, id: uuid::Uuid) -> Result<user::Model, CoreError> {
        match repo::users::get(self.store().conn(), id).await? {
            Some(u) if u.status == STATUS_ACTIVE => Ok(u),
            _ => Err(CoreError::Unauthenticated),
        }
    }

    /// Ends the actor's session server-side; the cookie is useless afterwards.
    pub async fn logout(&self, actor: &Actor) -> Result<(), CoreError> {
        if let Some(id) = actor.session_id() {
            let txn = self.store().begin().await?;
            repo::sessions::end(&txn, id.as_uuid(), self.now(), "logout").await?;
            let event = crate::audit::AuditEvent::by(actor, AuditCode::AuthnLogout);
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.inner.auth_cache.forget_session(id);
        }
        Ok(())
    }

    /// Changes the actor's own password. The current password is the re-authentication (a
    /// wrong one counts against the session like a wrong code); afterwards every other session
    /// of the user ends, so a thief holding one is out. Returns how many ended.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: SecretString,
        new: SecretString,
    ) -> Result<usize, CoreError> {
        let Some(session_id) = actor.session_id() else {
            return Err(CoreError::Forbidden);
        };
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        if !self.verify_own_password(&user, current).await? {
            return Err(match self.wrong_code(session_id.as_uuid()).await? {
                CoreError::InvalidCode => CoreError::Validation(vec![FieldError::new(
                    "current_password",
                    "password_incorrect",
                    "is not your current password",
                )]),
                other => other,
            });
        }
        let email = Email::parse("email", &self.user_email(&user).await?)?;
        let new = self.check_password_policy(new, &email)?;
        let hash = self.hash_password(new).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        let mut row = user;
        row.password_hash = Some(hash);
        row.updated_at = now;
        repo::users::update(&txn, row).await?;
        let ended = repo::sessions::end_all_of_user(
            &txn,
            actor.user_id.as_uuid(),
            Some(session_id.as_uuid()),
            now,
            "password_changed",
        )
        .await?;
        repo::sessions::mark_reauthenticated(&txn, session_id.as_uuid(), now).await?;
        let event = crate::audit::AuditEvent::by(actor, AuditCode::AuthnPasswordChange)
            .target("user", actor.user_id.as_uuid())
            .detail("sessions_ended", ended.len());
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.forget_sessions(&ended);
        self.inner.auth_cache.forget_session(session_id);
        Ok(ended.len())
    }

    /// Creates an API token for a user (admin CLI). The secret is returned once.
    pub async fn create_api_token(
        &self,
        email: &str,
        request: ApiTokenRequest,
    ) -> Result<SecretString, CoreError> {
        let email = Email::parse("user", email)?;
        let lookup = self.keys().lookup("users", "email", email.as_str())?;
        let user = repo::users::by_email_lookup(self.store().conn(), &lookup)
            .await?
            .filter(|u| u.status == STATUS_ACTIVE)
            .ok_or(CoreError::NotFound { entity: "user" })?;
        let by = self.cli_actor().await?;
        Ok(self.insert_api_token(&by, user.id, request).await?.1)
    }

    /// Validates and stores a token; returns its id and its secret (shown once).
    pub(crate) async fn insert_api_token(
        &self,
        by: &Actor,
        user_id: uuid::Uuid,
        request: ApiTokenRequest,
    ) -> Result<(ApiTokenId, SecretString), CoreError> {
        let mut v = custodian_domain::error::Validator::new();
        let name = v.check(custodian_domain::values::bounded_text(
            "name",
            &request.name,
            100,
            false,
        ));
        let scopes = v.check(TokenScopes::parse("scopes", &request.scopes));
        let networks = v.check(parse_networks("networks", &request.networks));
        let max_days = self.settings().api_token_max_days;
        let days = request
            .expires_in_days
            .unwrap_or(DEFAULT_TOKEN_DAYS.min(max_days));
        if days == 0 || days > max_days {
            v.push(FieldError::new(
                "expires_in_days",
                "out_of_range",
                format!("must be between 1 and {max_days} days"),
            ));
        }
        v.finish()?;
        let (Some(name), Some(scopes), Some(networks)) = (name, scopes, networks) else {
            return Err(CoreError::Internal("validator accepted missing fields"));
        };
        let now = self.now();
        let token = generate_token(API_TOKEN_PREFIX, self.rng())?;
        let id = ApiTokenId::new_at(now);
        let event = crate::audit::AuditEvent::by(by, AuditCode::AuthnTokenCreated)
            .target("api_token", id.as_uuid())
            .detail("user", user_id.to_string())
            .detail("scopes", scopes.to_stored())
            .detail("days", days);
        let txn = self.store().begin().await?;
        repo::api_tokens::insert(
            &txn,
            api_token::Model {
                id: id.as_uuid(),
                token_hash: hash_token(token.expose_secret()).to_vec(),
                user_id,
                name,
                created_at: now,
                expires_at: Some(now + i64::from(days) * 86_400_000),
                last_used_at: None,
                revoked_at: None,
                scopes: scopes.to_stored(),
                networks: (!networks.is_empty()).then(|| {
                    networks
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                }),
            },
        )
        .await?;
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok((id, token))
    }

    /// The oldest active administrator, acting from the command line (demo data, imports).
    pub async fn cli_actor(&self) -> Result<Actor, CoreError> {
        let user = repo::users::first_with_role(self.store().conn(), ROLE_ADMIN, STATUS_ACTIVE)
            .await?
            .ok_or(CoreError::Conflict(
                "no administrator exists yet; finish setup or run `custodian init` first",
            ))?;
        Ok(Actor {
            user_id: UserId(user.id),
            principal: self.principal_of(&user).await?,
            session_started_at: None,
            client_ip: None,
            locale: user.locale,
            method: AuthMethod::Cli,
            reauthenticated_at: None,
            enrolment_required: false,
            token_limits: None,
        })
    }

    pub async fn current_user(&self, actor: &Actor) -> Result<UserView, CoreError> {
        let row = self.active_user(actor.user_id.as_uuid()).await?;
        let org = self.keys().org_key(self.store().conn()).await?;
        let (email, display_name) = self.open_identity(&org, &row)?;
        Ok(UserView {
            id: UserId(row.id),
            email,
            display_name,
            roles: actor.principal.roles.clone(),
            locale: row.locale,
        })
    }

    /// Sets (or with `None` clears) the user's UI language override.
    pub async fn set_locale(&self, actor: &Actor, locale: Option<&str>) -> Result<(), CoreError> {
        if let Some(l) = locale
            && !SUPPORTED_LOCALES.contains(&l)
        {
            return Err(CoreError::Validation(vec![FieldError::new(
                "locale",
                "unsupported_locale",
                format!("must be one of: {}", SUPPORTED_LOCALES.join(", ")),
            )]));
        }
        let mut row = self.active_user(actor.user_id.as_uuid()).await?;
        row.locale = locale.map(str::to_owned);
        row.updated_at = self.now();
        repo::users::update(self.store().writer(), row).await?;
        self.inner.auth_cache.forget_user(actor.user_id);
        Ok(())
    }
}

/// Checks a new password (NIST SP 800-63B, ASVS 6.2): length, the shipped list of common and
/// breached passwords, context words (the product name, the user's e-mail name), repetitive or
/// sequential runs — no composition rules. NFKC first, so the same password typed on another
/// keyboard matches; the normalized form is what gets hashed.
pub fn password_policy(
    password: SecretString,
    email: &Email,
    min_length: usize,
) -> Result<SecretString, CoreError> {
    let normalized = SecretString::from(password.expose_secret().nfkc().collect::<String>());
    PasswordPolicy::new(min_length, PASSWORD_MAX_LENGTH)
        .check(
            normalized.expose_secret(),
            &[PRODUCT_NAME, email.local_part()],
        )
        .map_err(|rejection| CoreError::Validation(vec![rejection.to_field_error("password")]))?;
    Ok(normalized)
}

/// Advice on a password being typed (zxcvbn), never a refusal. The context words are those the
/// policy refuses; `email` may be empty on forms that have not asked for it yet.
pub fn password_strength(password: &SecretString, email: &str) -> PasswordStrength {
    let local = email.split('@').next().unwrap_or_default();
    let normalized: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(password.expose_secret().nfkc().collect());
    custodian_domain::password_policy::strength(&normalized, &[PRODUCT_NAME, local])
}

/// The CSRF token of a session: derived from the session secret, so it needs no storage and
/// cannot be computed by a page that does not hold the cookie.
pub fn csrf_token(session_token: &str) -> String {
    use base64::Engine;
    let digest = hash_token(&format!("csrf\0{session_token}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

pub fn verify_csrf(session_token: &str, presented: &str) -> bool {
    constant_time_eq(csrf_token(session_token).as_bytes(), presented.as_bytes())
}

pub(crate) fn parse_identity(
    email: &str,
    display_name: &str,
) -> Result<(Email, Option<PersonName>), CoreError> {
    let mut v = custodian_domain::error::Validator::new();
    let email = v.check(Email::parse("email", email));
    let name = if display_name.trim().is_empty() {
        Some(None)
    } else {
        v.check(PersonName::parse("display_name", display_name))
            .map(Some)
    };
    v.finish()?;
    match (email, name) {
        (Some(e), Some(n)) => Ok((e, n)),
        _ => Err(CoreError::Internal("validator accepted missing fields")),
    }
}
