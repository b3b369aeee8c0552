//! Who is calling: a bearer API token or the session cookie. Cookie-authenticated state changes
//! must prove they come from our own pages (CSRF): API calls with the `X-CSRF-Token` header,
//! HTML forms with a hidden `_csrf` field checked by the handler.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use custodian_core::auth::{csrf_token, verify_csrf};
use custodian_core::secrets::{ExposeSecret, SecretString};
use custodian_core::sessions::ClientInfo;
use custodian_core::{Actor, TokenLimits};

/// `__Host-` prefix: the browser only accepts it over HTTPS, for path `/`, without a Domain, so
/// no sibling host can plant or read it.
pub const SESSION_COOKIE: &str = "__Host-custodian_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Holds a sign-in that waits for its second factor; useless for anything else, and gone after
/// five minutes.
pub const SIGN_IN_COOKIE: &str = "__Host-custodian_signin";

/// All a session restricted by the MFA policy may reach: setting up the authenticator, the
/// step-up it needs, who am I, and signing out.
const ENROLMENT_PATHS: &[&str] = &[
    "/account/security",
    "/account/totp",
    "/account/totp/confirm",
    "/account/reauthenticate",
    "/account/reauthenticate/passkey",
    "/account/passkeys",
    "/account/sent-codes/email-send",
    "/account/sent-codes/email-confirm",
    "/account/sent-codes/email-on",
    "/account/sent-codes/phone-set",
    "/account/sent-codes/phone-resend",
    "/account/sent-codes/phone-confirm",
    "/account/sent-codes/sms-on",
    "/logout",
    "/settings/language",
    "/password/strength",
    "/api/v1/auth/me",
    "/api/v1/auth/logout",
    "/api/v1/auth/reauthenticate",
    "/api/v1/auth/reauthenticate/passkey/options",
    "/api/v1/auth/reauthenticate/passkey",
    "/api/v1/account/second-factors",
    "/api/v1/account/totp",
    "/api/v1/account/totp/confirm",
    "/api/v1/account/passkeys",
    "/api/v1/account/passkeys/registration",
    "/api/v1/auth/reauthenticate/send-code",
    "/api/v1/account/email/send-code",
    "/api/v1/account/email/confirm",
    "/api/v1/account/phone",
    "/api/v1/account/phone/send-code",
    "/api/v1/account/phone/confirm",
    "/api/v1/account/sent-codes/email",
    "/api/v1/account/sent-codes/sms",
];

#[derive(Debug)]
pub struct Authenticated {
    pub actor: Actor,
    /// Present for cookie sessions; derives the CSRF token.
    pub session_token: Option<SecretString>,
}

impl Authenticated {
    pub fn csrf_token(&self) -> Option<String> {
        self.session_token
            .as_ref()
            .map(|t| csrf_token(t.expose_secret()))
    }

    /// For HTML form posts: the hidden `_csrf` field must match the session.
    pub fn verify_form_csrf(&self, presented: &str) -> Result<(), ApiError> {
        match &self.session_token {
            Some(token) if verify_csrf(token.expose_secret(), presented) => Ok(()),
            Some(_) => Err(ApiError::csrf()),
            None => Ok(()),
        }
    }
}

pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn session_from_jar(jar: &CookieJar) -> Option<SecretString> {
    jar.get(SESSION_COOKIE)
        .map(|c| SecretString::from(c.value().to_owned()))
}

/// An API token works only for the resources its scopes name and from its networks. The
/// resource is the first path segment under `/api/v1`; reads are GET/HEAD (and the search
/// POST, which carries its query in the body).
fn check_token_limits(
    limits: &TokenLimits,
    path: &str,
    method: &Method,
    ip: Option<std::net::IpAddr>,
) -> Result<(), ApiError> {
    if !limits.allows_client(ip) {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "token_network",
            "This API token may not be used from this network; use it from one of the networks it was created for, or create a token for this one.",
        ));
    }
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "token_scope",
            "API tokens work only for /api/v1; sign in to use the web pages.",
        ));
    };
    let resource = rest.split('/').next().unwrap_or_default();
    // Who the token acts for is always readable.
    if resource == "auth" && rest == "auth/me" {
        return Ok(());
    }
    let write = !(is_safe(method) || (resource == "search" && rest == "search"));
    if limits.scopes.allows(resource, write) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "token_scope",
            format!(
                "This API token's scopes do not cover {} on {resource}; create a token with the scope {resource}:{}.",
                if write { "changes" } else { "reading" },
                if write { "write" } else { "read" }
            ),
        ))
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Nested routers see a stripped path; the original one tells API calls from forms.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |o| o.path().to_owned());
        if let Some(token) = bearer_token(&parts.headers) {
            let actor = state
                .core
                .authenticate_bearer(token, peer_ip(parts))
                .await?;
            if let Some(limits) = &actor.token_limits
                && let Err(refusal) =
                    check_token_limits(limits, &path, &parts.method, peer_ip(parts))
            {
                let reason = if refusal.code == "token_network" {
                    "network"
                } else {
                    "scope"
                };
                state
                    .core
                    .record_token_refusal(&actor, reason, peer_ip(parts))
                    .await?;
                return Err(refusal);
            }
            return Ok(Self {
                actor,
                session_token: None,
            });
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let token = session_from_jar(&jar).ok_or_else(ApiError::unauthenticated)?;
        let actor = state
            .core
            .authenticate_session(token.expose_secret(), peer_ip(parts))
            .await?;
        if actor.enrolment_required && !ENROLMENT_PATHS.contains(&path.as_str()) {
            return Err(ApiError::enrolment_required());
        }
        if path.starts_with("/api/") && !is_safe(&parts.method) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !verify_csrf(token.expose_secret(), presented) {
                return Err(ApiError::csrf());
            }
        }
        Ok(Self {
            actor,
            session_token: Some(token),
        })
    }
}

pub fn session_cookie(token: &SecretString) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token.expose_secret().to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

pub fn clear_session_cookie() -> Cookie<'static> {
    let mut c = session_cookie(&SecretString::from(String::new()));
    c.make_removal();
    c
}

pub fn sign_in_cookie(token: &SecretString) -> Cookie<'static> {
    Cookie::build((SIGN_IN_COOKIE, token.expose_secret().to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::minutes(5))
        .build()
}

pub fn clear_sign_in_cookie() -> Cookie<'static> {
    let mut c = sign_in_cookie(&SecretString::from(String::new()));
    c.make_removal();
    c
}

pub fn sign_in_from_jar(jar: &CookieJar) -> Option<SecretString> {
    jar.get(SIGN_IN_COOKIE)
        .map(|c| SecretString::from(c.value().to_owned()))
}

/// The TCP peer's address (IPv4-mapped IPv6 shown as IPv4).
fn peer_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

/// The client of a request (peer address and user agent), recorded on the sessions it opens.
/// Behind a reverse proxy the peer is the proxy; trusted forwarding headers come with the
/// deployment settings.
#[derive(Debug)]
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = peer_ip(parts);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(Self(ClientInfo::new(ip, user_agent)))
    }
}

/// Where passwords, codes, passkey answers and link tokens are posted.
const CREDENTIAL_PATHS: &[&str] = &[
    "/api/v1/auth/login",
    "/api/v1/auth/second-factor",
    "/api/v1/auth/reauthenticate",
    "/api/v1/auth/passkey",
    "/api/v1/auth/password/reset",
    "/api/v1/auth/invitation/accept",
    "/api/v1/account/password",
    "/login",
    "/login/verify",
    "/login/passkey",
    "/setup",
    "/password/reset",
    "/invitation",
    "/account/password",
    "/account/reauthenticate",
];

/// A body over the limit sent where credentials go (a 1 MB "password", say) is refused by the
/// body limit before any handler runs; this records it as a security event (at most once a
/// minute per network and path).
pub async fn record_oversized_credentials(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = CREDENTIAL_PATHS
        .iter()
        .find(|p| **p == request.uri().path())
        .copied();
    let oversized = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| len > crate::MAX_BODY_BYTES);
    let ip = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    if let (Some(path), true) = (path, oversized)
        && let Err(e) = state.core.record_oversized_credentials(ip, path).await
    {
        tracing::error!(error = %e, "oversized request not recorded");
    }
    next.run(request).await
}
