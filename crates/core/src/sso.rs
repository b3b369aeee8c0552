//! Single sign-on with OpenID Connect (authorization code flow with PKCE, openidconnect crate):
//! "Sign in with your organisation's account" for companies with an identity provider.
//!
//! `state` binds the answer to the browser that started (it is also in a cookie) and to an
//! attempt stored server-side with its nonce and PKCE verifier (encrypted, taken once, within
//! ten minutes). The ID token's signature (the provider's published keys), issuer, audience,
//! expiry (by the injected clock) and nonce are checked by openidconnect. The account is the
//! active user whose e-mail address matches the token's `email` claim, which the provider must
//! say is verified; nobody is created by signing in (administrators invite people first).
//!
//! The provider's `amr` / `acr` decide whether it did multi-factor authentication: `amr`
//! naming `mfa`, or a knowledge factor together with a possession or inherence factor
//! (RFC 8176), or an `acr` the configuration lists. Then the session is complete; otherwise
//! Custodian's own second factor is asked for (and the MFA policy applies) as after a password.

use crate::auth::{LoginOutcome, SessionStage};
use crate::sessions::ClientInfo;
use crate::{Core, CoreError};
use custodian_crypto::token::{constant_time_eq, generate_token};
use custodian_domain::UserId;
use custodian_domain::values::Email;
use custodian_store::entities::sso_login;
use custodian_store::repo;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use zeroize::Zeroizing;

/// How long the user has at the identity provider.
const ATTEMPT_TTL_MS: i64 = 10 * 60 * 1000;
/// Attempts that may be in flight at once (each holds a row until it expires).
const MAX_OPEN_ATTEMPTS: u64 = 10_000;
/// How long discovered provider metadata (endpoints, signing keys) is reused: short enough
/// that a provider's key rotation is picked up within minutes.
const METADATA_TTL_MS: i64 = 5 * 60 * 1000;
/// The path the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
/// RFC 8176 methods that prove something the user has or is (with a knowledge factor, MFA).
const POSSESSION_OR_INHERENCE: &[&str] = &[
    "otp", "hwk", "swk", "sms", "tel", "sc", "fpt", "face", "iris", "retina", "vbm", "user",
];
/// RFC 8176 methods that prove something the user knows.
const KNOWLEDGE: &[&str] = &["pwd", "pin", "kba"];

/// The identity provider this server trusts, from configuration.
pub struct SsoSettings {
    /// The issuer, e.g. `https://login.example.com/realms/staff` (https, or http to loopback).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// What the sign-in button says after "Sign in with", e.g. "Example Corp SSO"; empty: "your
    /// organisation's account", in the reader's language.
    pub label: String,
    /// `acr` values that mean the provider did multi-factor authentication.
    pub mfa_acr_values: Vec<String>,
}
crate::redacted_debug!(SsoSettings);

/// The configured provider and its discovered metadata.
struct Provider {
    settings: SsoSettings,
    issuer: IssuerUrl,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(CoreProviderMetadata, i64)>>,
}

#[derive(Default)]
pub(crate) struct Sso {
    provider: RwLock<Option<Arc<Provider>>>,
}
crate::redacted_debug!(Sso);

/// A client built from discovery: authorization endpoint known, token and UserInfo endpoints as
/// the provider published them.
type DiscoveredClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The secrets an attempt's answer must match (wiped when dropped).
#[derive(Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct AttemptSecrets {
    nonce: String,
    pkce_verifier: String,
}

/// A started sign-in: where to send the browser, and the state to keep in its cookie.
pub struct SsoStart {
    pub redirect_to: String,
    pub state: SecretString,
}
crate::redacted_debug!(SsoStart);

#[derive(Debug, thiserror::Error)]
#[error("identity provider request failed")]
pub(crate) struct SsoHttpError;

/// A refused sign-in with the identity provider; `reason` is a stable code for the log and
/// the security events (the user sees one message).
fn failed(reason: &'static str) -> CoreError {
    CoreError::SsoFailed { reason }
}

/// Whether the provider's `amr` / `acr` say it did multi-factor authentication.
pub(crate) fn provider_did_mfa(amr: &[String], acr: Option<&str>, mfa_acr: &[String]) -> bool {
    let has = |set: &[&str]| amr.iter().any(|m| set.contains(&m.as_str()));
    amr.iter().any(|m| m == "mfa")
        || (has(KNOWLEDGE) && has(POSSESSION_OR_INHERENCE))
        || acr.is_some_and(|acr| mfa_acr.iter().any(|v| v == acr))
}

type HttpFuture = std::pin::Pin<
    Box<dyn Future<Output = Result<openidconnect::HttpResponse, SsoHttpError>> + Send>,
>;

/// openidconnect's HTTP client: our reqwest (rustls, no redirects, a timeout), each request an
/// owned future.
fn http_caller(http: &reqwest::Client) -> impl Fn(openidconnect::HttpRequest) -> HttpFuture {
    let http = http.clone();
    move |request| {
        let http = http.clone();
        Box::pin(async move { send(&http, request).await })
    }
}

async fn send(
    http: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, SsoHttpError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|_| SsoHttpError)?;
    let mut answer = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let body = response.bytes().await.map_err(|_| SsoHttpError)?;
    answer.body(body.to_vec()).map_err(|_| SsoHttpError)
}

impl Core {
    /// Trusts an OpenID provider for sign-in (at start, from configuration).
    pub fn set_sso(&self, settings: SsoSettings) -> Result<(), CoreError> {
        if settings.client_id.trim().is_empty() {
            return Err(CoreError::Config(vec![custodian_domain::FieldError::new(
                "oidc.client_id",
                "required",
                "give the client ID this server is registered under at the provider",
            )]));
        }
        let url = crate::outbound::outbound_url(
            "oidc.issuer",
            &settings.issuer,
            "https://login.example.com/realms/staff",
        )?;
        let issuer =
            IssuerUrl::new(url.as_str().trim_end_matches('/').to_owned()).map_err(|_| {
                CoreError::Config(vec![custodian_domain::FieldError::new(
                    "oidc.issuer",
                    "invalid",
                    "must be the provider's issuer URL",
                )])
            })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| CoreError::Internal("HTTP client for the identity provider"))?;
        *self
            .inner
            .sso
            .provider
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(Provider {
            settings,
            issuer,
            http,
            metadata: tokio::sync::Mutex::new(None),
        }));
        Ok(())
    }

    fn sso_provider(&self) -> Result<Arc<Provider>, CoreError> {
        self.inner
            .sso
            .provider
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(CoreError::SsoNotConfigured)
    }

    /// What the sign-in page's SSO button names (possibly empty: the page's default), when SSO
    /// is configured.
    pub fn sso_label(&self) -> Option<String> {
        self.sso_provider().ok().map(|p| p.settings.label.clone())
    }

    /// The provider's metadata, discovered and kept for [`METADATA_TTL_MS`].
    async fn provider_metadata(
        &self,
        provider: &Provider,
    ) -> Result<CoreProviderMetadata, CoreError> {
        let mut cached = provider.metadata.lock().await;
        let now = self.now();
        if let Some((metadata, at)) = cached.as_ref()
            && now - at < METADATA_TTL_MS
        {
            return Ok(metadata.clone());
        }
        let http = http_caller(&provider.http);
        let metadata = CoreProviderMetadata::discover_async(provider.issuer.clone(), &http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "identity provider discovery failed");
                CoreError::SsoUnavailable
            })?;
        *cached = Some((metadata.clone(), now));
        Ok(metadata)
    }

    /// A fresh 256-bit value, base64url (43 characters: also a valid PKCE verifier).
    fn random_value(&self) -> Result<String, CoreError> {
        Ok(generate_token("", self.rng())?.expose_secret().to_owned())
    }

    /// The OpenID client for this server at the provider (discovered endpoints, our redirect).
    fn oidc_client(
        &self,
        provider: &Provider,
        metadata: CoreProviderMetadata,
    ) -> Result<DiscoveredClient, CoreError> {
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.settings.client_id.clone()),
            Some(ClientSecret::new(
                provider.settings.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect_url()?))
    }

    fn redirect_url(&self) -> Result<RedirectUrl, CoreError> {
        RedirectUrl::new(format!("{}{CALLBACK_PATH}", self.public_url()))
            .map_err(|_| CoreError::Internal("the public URL does not make a redirect URL"))
    }

    /// Starts a sign-in at the identity provider: stores the attempt and returns where to send
    /// the browser and the state for its cookie.
    pub async fn begin_sso(&self) -> Result<SsoStart, CoreError> {
        let provider = self.sso_provider()?;
        let metadata = self.provider_metadata(&provider).await?;
        let now = self.now();
        if repo::sso_logins::live(self.store().conn(), now).await? >= MAX_OPEN_ATTEMPTS {
            return Err(CoreError::Throttled {
                retry_after_secs: 60,
            });
        }
        let state = self.random_value()?;
        let secrets = AttemptSecrets {
            nonce: self.random_value()?,
            pkce_verifier: self.random_value()?,
        };
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            secrets.pkce_verifier.clone(),
        ));
        let client = self.oidc_client(&provider, metadata)?;
        let (nonce, state_for_url) = (secrets.nonce.clone(), state.clone());
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_for_url),
                move || Nonce::new(nonce),
            )
            .add_scope(Scope::new("email".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        let id = custodian_domain::ids::uuid_at(now);
        let json = Zeroizing::new(
            serde_json::to_vec(&secrets).map_err(|_| CoreError::Internal("SSO attempt"))?,
        );
        let org = self.keys().org_key(self.store().conn()).await?;
        repo::sso_logins::insert(
            self.store().writer(),
            sso_login::Model {
                id,
                state_lookup: self.keys().lookup("sso_logins", "state", &state)?,
                secrets_ct: self.keys().encrypt(
                    &org,
                    "sso_logins",
                    "secrets",
                    id,
                    &json,
                    self.rng(),
                )?,
                created_at: now,
                expires_at: now + ATTEMPT_TTL_MS,
            },
        )
        .await?;
        Ok(SsoStart {
            redirect_to: url.to_string(),
            state: SecretString::from(state),
        })
    }

    /// Finishes a sign-in with the provider's answer (`state` and `code` from the callback
    /// URL) in the browser that started it (`cookie_state`). A refusal is a security event (of
    /// no account: which one was meant is unknown or unproven) and counts against the client's
    /// network like a failed sign-in.
    pub async fn finish_sso(
        &self,
        state: &str,
        cookie_state: &SecretString,
        code: &str,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, CoreError> {
        let throttle = self.network_throttle_keys(client.ip)?;
        self.check_throttle(&throttle).await?;
        let outcome = self
            .finish_sso_checked(state, cookie_state, code, client)
            .await;
        if let Err(CoreError::SsoFailed { reason }) = &outcome {
            tracing::warn!(target: "security", reason, "single sign-on refused");
            self.record_failure(&throttle, true).await?;
            self.record_anonymous_refusal(
                crate::security_events::SecurityEventKind::SsoRefused,
                client.ip,
                reason,
            )
            .await?;
        }
        outcome
    }

    async fn finish_sso_checked(
        &self,
        state: &str,
        cookie_state: &SecretString,
        code: &str,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, CoreError> {
        let provider = self.sso_provider()?;
        if state.is_empty()
            || !constant_time_eq(state.as_bytes(), cookie_state.expose_secret().as_bytes())
        {
            return Err(failed("state_mismatch"));
        }
        let row = repo::sso_logins::take(
            self.store().writer(),
            &self.keys().lookup("sso_logins", "state", state)?,
            self.now(),
        )
        .await?
        .ok_or_else(|| failed("state_unknown"))?;
        let org = self.keys().org_key(self.store().conn()).await?;
        let json = self
            .keys()
            .decrypt(&org, "sso_logins", "secrets", row.id, &row.secrets_ct)?;
        let secrets: AttemptSecrets =
            serde_json::from_slice(&json).map_err(|_| CoreError::DataIntegrity {
                table: "sso_logins",
                column: "secrets_ct",
            })?;
        let metadata = self.provider_metadata(&provider).await?;
        let oidc = self.oidc_client(&provider, metadata)?;
        let http = http_caller(&provider.http);
        let tokens = oidc
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| failed("no_token_endpoint"))?
            .set_pkce_verifier(PkceCodeVerifier::new(secrets.pkce_verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|_| failed("code_refused"))?;
        let id_token = tokens.id_token().ok_or_else(|| failed("no_id_token"))?;
        let now = custodian_domain::clock::from_millis(self.now());
        let now = chrono_from(now).ok_or(CoreError::Internal("clock out of range"))?;
        let verifier = oidc.id_token_verifier().set_time_fn(move || now);
        let claims = id_token
            .claims(&verifier, &Nonce::new(secrets.nonce.clone()))
            .map_err(|e| {
                tracing::warn!(target: "security", error = %e, "ID token refused");
                failed("id_token_invalid")
            })?;
        // In the code flow providers often keep profile claims for the UserInfo endpoint,
        // which answers for the ID token's subject only.
        let (email, verified) = match (claims.email(), claims.email_verified()) {
            (Some(email), Some(verified)) => (Some(email.as_str().to_owned()), verified),
            _ => {
                let info: openidconnect::core::CoreUserInfoClaims = oidc
                    .user_info(
                        tokens.access_token().clone(),
                        Some(claims.subject().clone()),
                    )
                    .map_err(|_| failed("no_userinfo_endpoint"))?
                    .request_async(&http)
                    .await
                    .map_err(|_| failed("userinfo_refused"))?;
                (
                    info.email().map(|e| e.as_str().to_owned()),
                    info.email_verified() == Some(true),
                )
            }
        };
        if !verified {
            return Err(failed("email_unverified"));
        }
        let email = email
            .and_then(|e| Email::parse("email", &e).ok())
            .ok_or_else(|| failed("no_email"))?;
        let amr: Vec<String> = claims
            .auth_method_refs()
            .map(|methods| methods.iter().map(|m| m.as_str().to_owned()).collect())
            .unwrap_or_default();
        let acr = claims.auth_context_ref().map(|a| a.as_str().to_owned());
        let lookup = self.keys().lookup("users", "email", email.as_str())?;
        let user = match repo::users::by_email_lookup(self.store().conn(), &lookup).await? {
            Some(user) if user.status == crate::auth::STATUS_ACTIVE => user,
            Some(user) => {
                self.record_security_event(crate::security_events::NewSecurityEvent {
                    kind: crate::security_events::SecurityEventKind::SignInFailed,
                    user_id: Some(user.id),
                    session_id: None,
                    client: Some(client),
                    detail: Some("oidc".to_owned()),
                })
                .await?;
                return Err(failed("account_inactive"));
            }
            None => return Err(failed("no_account")),
        };
        let mfa = provider_did_mfa(&amr, acr.as_deref(), &provider.settings.mfa_acr_values);
        let second_factor = !mfa && self.has_second_factor(&user).await?;
        let (stage, methods) = if mfa {
            (SessionStage::Active, "oidc+mfa")
        } else if second_factor {
            (SessionStage::SecondFactor, "oidc")
        } else if self.mfa_required_for(&user).await? {
            (SessionStage::Enrolment, "oidc")
        } else {
            (SessionStage::Active, "oidc")
        };
        let now = self.now();
        let txn = self.store().begin().await?;
        let grant = self
            .new_session(&txn, UserId(user.id), stage, methods, client, now)
            .await?;
        txn.commit().await?;
        self.forget_sessions(&grant.ended);
        if second_factor {
            return Ok(LoginOutcome::SecondFactorDue(grant));
        }
        self.after_sign_in(user.id, &grant, client, 0).await?;
        Ok(LoginOutcome::SignedIn(grant))
    }
}

/// The injected clock's time in the type openidconnect's verifier takes.
fn chrono_from(t: time::OffsetDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(methods: &[&str]) -> Vec<String> {
        methods.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn multi_factor_is_read_from_amr_and_acr() {
        let none: Vec<String> = Vec::new();
        assert!(provider_did_mfa(&amr(&["mfa"]), None, &none));
        assert!(provider_did_mfa(&amr(&["pwd", "otp"]), None, &none));
        assert!(provider_did_mfa(&amr(&["pin", "hwk"]), None, &none));
        assert!(!provider_did_mfa(&amr(&["pwd"]), None, &none));
        assert!(!provider_did_mfa(&amr(&["otp"]), None, &none), "one factor");
        assert!(
            !provider_did_mfa(&amr(&["pwd", "kba"]), None, &none),
            "two of a kind"
        );
        let listed = amr(&["urn:example:mfa"]);
        assert!(provider_did_mfa(&none, Some("urn:example:mfa"), &listed));
        assert!(!provider_did_mfa(&none, Some("urn:example:pwd"), &listed));
    }
}
