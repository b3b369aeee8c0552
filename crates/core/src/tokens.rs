//! API tokens people manage themselves: scoped per resource (read or write; `admin`
//! separate), expiring (90 days unless set, at most the configured maximum), optionally bound
//! to networks, named, listed with their last use, revocable. The secret is shown once; only
//! its hash is stored. Creating one needs a recent sign-in (step-up).

use crate::{Actor, Core, CoreError};
use custodian_domain::ApiTokenId;
use custodian_store::repo;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// How long a token lives unless told otherwise.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

/// What a new token may do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenRequest {
    pub name: String,
    /// Space-separated: `contacts:read`, `deals:write`, `*:read`, `admin`, …
    pub scopes: String,
    /// Days until it expires (default 90).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// CIDRs it may be used from, comma-separated; empty: anywhere.
    #[serde(default)]
    pub networks: String,
}

/// A token as its owner sees it (never the secret).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ApiTokenView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ApiTokenId,
    pub name: String,
    pub scopes: Vec<String>,
    pub networks: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A new token: the secret, shown this once.
pub struct CreatedToken {
    pub id: ApiTokenId,
    pub token: SecretString,
}
crate::redacted_debug!(CreatedToken);

impl Core {
    /// Creates a token for the actor (step-up required).
    pub async fn create_my_api_token(
        &self,
        actor: &Actor,
        request: ApiTokenRequest,
    ) -> Result<CreatedToken, CoreError> {
        self.require_recent_auth(actor)?;
        let (id, token) = self
            .insert_api_token(actor, actor.user_id.as_uuid(), request)
            .await?;
        Ok(CreatedToken { id, token })
    }

    /// The actor's tokens that are neither revoked nor expired, newest first.
    pub async fn list_my_api_tokens(&self, actor: &Actor) -> Result<Vec<ApiTokenView>, CoreError> {
        let now = self.now();
        Ok(
            repo::api_tokens::of_user(self.store().conn(), actor.user_id.as_uuid())
                .await?
                .into_iter()
                .filter(|t| t.expires_at.is_none_or(|e| e > now))
                .map(|t| ApiTokenView {
                    id: ApiTokenId(t.id),
                    name: t.name,
                    scopes: t.scopes.split(' ').map(str::to_owned).collect(),
                    networks: t
                        .networks
                        .map(|n| n.split(',').map(str::to_owned).collect())
                        .unwrap_or_default(),
                    created_at: t.created_at,
                    expires_at: t.expires_at,
                    last_used_at: t.last_used_at,
                })
                .collect(),
        )
    }

    /// Revokes one of the actor's tokens; it stops working on its next request.
    pub async fn revoke_my_api_token(
        &self,
        actor: &Actor,
        id: ApiTokenId,
    ) -> Result<(), CoreError> {
        let txn = self.store().begin().await?;
        if repo::api_tokens::revoke(&txn, actor.user_id.as_uuid(), id.as_uuid(), self.now()).await?
        {
            let event = crate::audit::AuditEvent::by(
                actor,
                custodian_domain::audit::AuditCode::AuthnTokenRevoked,
            )
            .target("api_token", id.as_uuid());
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.inner.auth_cache.forget_token(id);
            Ok(())
        } else {
            Err(CoreError::NotFound {
                entity: "API token",
            })
        }
    }
}
