//! Who is acting. Every use case takes an `Actor`, obtained only by authenticating; roles and
//! attributes here are what the policy engine will evaluate.

use custodian_domain::{ApiTokenId, SessionId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Session(SessionId),
    ApiToken(ApiTokenId),
    /// An administrator acting through the command line on the server host.
    Cli,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    /// Roles and attributes, as authorization policies see them.
    pub principal: std::sync::Arc<crate::authz::Principal>,
    pub locale: Option<String>,
    pub method: AuthMethod,
    /// When the user last proved themselves on this session (sign-in or step-up); `None` for
    /// API tokens and the command line.
    pub reauthenticated_at: Option<i64>,
    /// The MFA policy covers this user and they have no second factor yet: the session may
    /// only set one up.
    pub enrolment_required: bool,
    /// What an API token may do and from where (`None` for sessions and the command line).
    pub token_limits: Option<std::sync::Arc<TokenLimits>>,
    /// When the session began (Unix milliseconds); `None` for tokens and the command line.
    pub session_started_at: Option<i64>,
    /// Where this request comes from (set per request; cached actors carry none).
    pub client_ip: Option<std::net::IpAddr>,
}

/// The scopes and networks of the API token an actor authenticated with.
#[derive(Debug)]
pub struct TokenLimits {
    pub scopes: custodian_domain::token_scope::TokenScopes,
    /// Empty: usable from anywhere.
    pub networks: Vec<custodian_domain::token_scope::Network>,
}

impl TokenLimits {
    pub fn allows_client(&self, ip: Option<std::net::IpAddr>) -> bool {
        self.networks.is_empty()
            || ip.is_some_and(|ip| self.networks.iter().any(|n| n.contains(ip)))
    }
}

impl Actor {
    pub fn session_id(&self) -> Option<SessionId> {
        match self.method {
            AuthMethod::Session(id) => Some(id),
            AuthMethod::ApiToken(_) | AuthMethod::Cli => None,
        }
    }
}
