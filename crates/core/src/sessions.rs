//! Sessions people can see and end: their own (device, network, when), an administrator's
//! view of anyone's, the per-user limit, and step-up re-authentication for sensitive actions.
//!
//! The client a session came from (IP address, user agent) is personal data, so it is stored
//! as field ciphertext under the organisation key and decrypted only to show it to the session's
//! owner or an administrator.

use crate::auth::SessionStage;
use crate::{Actor, AuthMethod, Core, CoreError};
use custodian_domain::{SessionId, UserId};
use custodian_store::entities::session;
use custodian_store::repo;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The longest user agent kept; longer ones are cut (they identify a browser in far less).
const USER_AGENT_MAX_CHARS: usize = 256;

/// Where a request came from, as the web layer saw it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}
crate::redacted_debug!(ClientInfo);

impl ClientInfo {
    /// Keeps printable characters of the user agent only, bounded in length.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(USER_AGENT_MAX_CHARS)
                    .collect::<String>()
            })
            .filter(|ua| !ua.trim().is_empty());
        Self { ip, user_agent }
    }
}

/// A running session as its owner (or an administrator) sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct SessionView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: SessionId,
    /// The session this request was made with.
    pub current: bool,
    pub created_at: i64,
    pub last_seen_at: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// How it was signed in, e.g. `password+totp`.
    pub auth_methods: String,
}
crate::redacted_debug!(SessionView);

/// A session ended by someone (its user or an administrator).
fn session_ended(actor: &Actor, session: uuid::Uuid, why: &str) -> crate::audit::AuditEvent {
    crate::audit::AuditEvent::by(actor, custodian_domain::audit::AuditCode::SessionEnded)
        .target("session", session)
        .detail("reason", why)
}

impl Core {
    /// The client as field ciphertext of `table`'s row `row_id` (sessions, security events).
    pub(crate) async fn seal_client<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        table: &'static str,
        row_id: uuid::Uuid,
        client: &ClientInfo,
    ) -> Result<Option<Vec<u8>>, CoreError> {
        if client.ip.is_none() && client.user_agent.is_none() {
            return Ok(None);
        }
        let org = self.keys().org_key(conn).await?;
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(client)
                .map_err(|_| CoreError::Internal("client info did not serialise"))?,
        );
        Ok(Some(self.keys().encrypt(
            &org,
            table,
            "client",
            row_id,
            &json,
            self.rng(),
        )?))
    }

    /// The client a session came from (carried over when a session is replaced).
    pub(crate) async fn session_client(&self, id: SessionId) -> Result<ClientInfo, CoreError> {
        match repo::sessions::get(self.store().conn(), id.as_uuid()).await? {
            Some(row) => self.open_client(&row).await,
            None => Ok(ClientInfo::default()),
        }
    }

    async fn open_client(&self, row: &session::Model) -> Result<ClientInfo, CoreError> {
        self.open_client_of("sessions", row.id, row.client_ct.as_deref())
            .await
    }

    /// The client sealed by [`Core::seal_client`] for `table`'s row `row_id`.
    pub(crate) async fn open_client_of(
        &self,
        table: &'static str,
        row_id: uuid::Uuid,
        ciphertext: Option<&[u8]>,
    ) -> Result<ClientInfo, CoreError> {
        let Some(ct) = ciphertext else {
            return Ok(ClientInfo::default());
        };
        let org = self.keys().org_key(self.store().conn()).await?;
        let json = self.keys().decrypt(&org, table, "client", row_id, ct)?;
        serde_json::from_slice(&json).map_err(|_| CoreError::DataIntegrity {
            table,
            column: "client_ct",
        })
    }

    /// Ends a user's least recently used sessions beyond the configured limit. Ending the
    /// oldest (rather than refusing the new sign-in) means a forgotten browser elsewhere never
    /// locks the user out; the user sees the ended session in their list of recent activity.
    pub(crate) async fn end_sessions_beyond_limit<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
        now: i64,
    ) -> Result<Vec<uuid::Uuid>, CoreError> {
        let running = self.running_sessions(conn, user_id, now).await?;
        let mut ended = Vec::new();
        for row in running.iter().skip(self.settings().session_max_per_user) {
            if repo::sessions::end(conn, row.id, now, "session_limit").await? {
                ended.push(row.id);
            }
        }
        Ok(ended)
    }

    async fn running_sessions<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
        now: i64,
    ) -> Result<Vec<session::Model>, CoreError> {
        let settings = self.settings();
        Ok(repo::sessions::running_of_user(
            conn,
            user_id.as_uuid(),
            SessionStage::Active.as_str(),
            now - settings.session_idle_secs * 1000,
            now - settings.session_absolute_secs * 1000,
        )
        .await?)
    }

    /// Drops ended sessions from this node's credential cache.
    pub(crate) fn forget_sessions(&self, ids: &[uuid::Uuid]) {
        for id in ids {
            self.inner.auth_cache.forget_session(SessionId(*id));
        }
    }

    async fn session_views(
        &self,
        actor: &Actor,
        user_id: UserId,
    ) -> Result<Vec<SessionView>, CoreError> {
        let rows = self
            .running_sessions(self.store().conn(), user_id, self.now())
            .await?;
        let current = actor.session_id().map(|s| s.as_uuid());
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let client = self.open_client(&row).await?;
            views.push(SessionView {
                id: SessionId(row.id),
                current: current == Some(row.id),
                created_at: row.created_at,
                last_seen_at: row.last_seen_at,
                ip: client.ip,
                user_agent: client.user_agent,
                auth_methods: row.auth_methods,
            });
        }
        Ok(views)
    }

    /// The actor's own running sessions, most recently used first.
    pub async fn list_my_sessions(&self, actor: &Actor) -> Result<Vec<SessionView>, CoreError> {
        self.session_views(actor, actor.user_id).await
    }

    /// Ends one of the actor's own sessions (the current one too: that is signing out).
    pub async fn end_my_session(&self, actor: &Actor, id: SessionId) -> Result<(), CoreError> {
        let row = repo::sessions::get(self.store().conn(), id.as_uuid())
            .await?
            .filter(|s| s.user_id == actor.user_id.as_uuid() && s.revoked_at.is_none())
            .ok_or(CoreError::NotFound { entity: "session" })?;
        let txn = self.store().begin().await?;
        repo::sessions::end(&txn, row.id, self.now(), "ended_by_user").await?;
        self.audit_in(&txn, vec![session_ended(actor, row.id, "ended_by_user")])
            .await?;
        txn.commit().await?;
        self.forget_sessions(&[row.id]);
        Ok(())
    }

    /// Ends all of the actor's sessions but the one making the request; returns how many.
    pub async fn end_my_other_sessions(&self, actor: &Actor) -> Result<usize, CoreError> {
        let keep = actor.session_id().map(|s| s.as_uuid());
        let txn = self.store().begin().await?;
        let ended = repo::sessions::end_all_of_user(
            &txn,
            actor.user_id.as_uuid(),
            keep,
            self.now(),
            "ended_by_user",
        )
        .await?;
        let events = ended
            .iter()
            .map(|id| session_ended(actor, *id, "ended_by_user"))
            .collect();
        self.audit_in(&txn, events).await?;
        txn.commit().await?;
        self.forget_sessions(&ended);
        Ok(ended.len())
    }

    /// Any user's running sessions (administrators).
    pub async fn list_user_sessions(
        &self,
        actor: &Actor,
        user_id: UserId,
    ) -> Result<Vec<SessionView>, CoreError> {
        self.require(actor, crate::authz::SystemAction::MonitorSecurity)
            .await?;
        self.user_row(user_id).await?;
        self.session_views(actor, user_id).await
    }

    /// Ends every session of a user (administrators); returns how many.
    pub async fn end_user_sessions(
        &self,
        actor: &Actor,
        user_id: UserId,
    ) -> Result<usize, CoreError> {
        self.require(actor, crate::authz::SystemAction::MonitorSecurity)
            .await?;
        self.user_row(user_id).await?;
        let txn = self.store().begin().await?;
        let ended = repo::sessions::end_all_of_user(
            &txn,
            user_id.as_uuid(),
            None,
            self.now(),
            "ended_by_admin",
        )
        .await?;
        let events = ended
            .iter()
            .map(|id| session_ended(actor, *id, "ended_by_admin"))
            .collect();
        self.audit_in(&txn, events).await?;
        txn.commit().await?;
        self.forget_sessions(&ended);
        Ok(ended.len())
    }

    /// The step-up check of sensitive actions: the actor signed in or re-authenticated within
    /// the configured window. The command line (an administrator on the server host) passes;
    /// API tokens cannot re-authenticate, so they are refused these actions.
    pub fn require_recent_auth(&self, actor: &Actor) -> Result<(), CoreError> {
        match actor.method {
            AuthMethod::Cli => Ok(()),
            AuthMethod::ApiToken(_) => Err(CoreError::Forbidden),
            AuthMethod::Session(_) => {
                let window = self.settings().reauth_window_secs * 1000;
                match actor.reauthenticated_at {
                    Some(at) if self.now() - at <= window => Ok(()),
                    _ => Err(CoreError::ReauthenticationRequired),
                }
            }
        }
    }
}
