use crate::AppState;
use crate::auth::{
    Authenticated, Client, clear_session_cookie, clear_sign_in_cookie, session_cookie,
    sign_in_cookie, sign_in_from_jar,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use custodian_core::CoreError;
use custodian_core::auth::{LoginOutcome, SessionGrant, UserView, csrf_token};
use custodian_core::secrets::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest { .. }")
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionBody {
    user: UserView,
    /// The MFA policy requires an authenticator first: until it is set up, only
    /// `/api/v1/account/totp*`, `/api/v1/auth/*` and `/api/v1/account/second-factors` answer.
    second_factor_enrolment_required: bool,
    /// Send back as `X-CSRF-Token` on state-changing calls made with the session cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

/// The password was right and a second factor is due: send a code to
/// `POST /api/v1/auth/second-factor` (with the sign-in cookie this response set) within five
/// minutes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecondFactorDue {
    second_factor_required: bool,
    /// How to finish: `passkey` (`POST /api/v1/auth/second-factor/passkey/options`, then
    /// `…/passkey`), or a code: `totp` (six digits from the authenticator app), `email` or
    /// `sms` (ask for a code at `POST /api/v1/auth/second-factor/send-code` first), or
    /// `recovery_code`.
    methods: Vec<&'static str>,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; sets the session cookie", body = SessionBody),
        (status = 202, description = "Password accepted, second factor due; sets the sign-in cookie", body = SecondFactorDue),
        (status = 401, body = ApiError)), security(()))]
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    match state
        .core
        .login(&body.email, body.password, &client)
        .await?
    {
        LoginOutcome::SignedIn(grant) => Ok(signed_in(&state, jar, &grant).await?.into_response()),
        LoginOutcome::SecondFactorDue(pending) => {
            let options = state.core.sign_in_options(&pending.token).await?;
            let methods = [
                (options.passkey, "passkey"),
                (options.totp, "totp"),
                (options.email, "email"),
                (options.sms, "sms"),
                (true, "recovery_code"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            Ok((
                StatusCode::ACCEPTED,
                jar.add(sign_in_cookie(&pending.token)),
                Json(SecondFactorDue {
                    second_factor_required: true,
                    methods,
                }),
            )
                .into_response())
        }
    }
}

pub(crate) async fn signed_in(
    state: &AppState,
    jar: CookieJar,
    grant: &SessionGrant,
) -> ApiResult<(CookieJar, Json<SessionBody>)> {
    let actor = state
        .core
        .authenticate_session(grant.token.expose_secret(), None)
        .await?;
    let user = state.core.current_user(&actor).await?;
    let csrf = csrf_token(grant.token.expose_secret());
    Ok((
        jar.add(session_cookie(&grant.token)),
        Json(SessionBody {
            user,
            second_factor_enrolment_required: actor.enrolment_required,
            csrf_token: Some(csrf),
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Six digits from the authenticator app, or a recovery code.
    #[schema(value_type = String, format = Password)]
    code: SecretString,
}

impl std::fmt::Debug for CodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeRequest { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/auth/second-factor", tag = "auth", request_body = CodeRequest,
    responses((status = 200, description = "Signed in; sets the session cookie and ends the sign-in", body = SessionBody),
        (status = 401, description = "`invalid_code` (try again) or `sign_in_expired` (sign in again)", body = ApiError)),
    security(("sign_in_cookie" = [])))]
pub async fn second_factor(
    State(state): State<AppState>,
    jar: CookieJar,
    Client(client): Client,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<(CookieJar, Json<SessionBody>)> {
    let pending = sign_in_from_jar(&jar).ok_or(CoreError::SignInExpired)?;
    let grant = state
        .core
        .complete_sign_in(&pending, body.code.expose_secret(), &client)
        .await?;
    signed_in(&state, jar.add(clear_sign_in_cookie()), &grant).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateRequest {
    /// For users without an authenticator app.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
    /// For users with an authenticator app: its current code or a recovery code.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    code: Option<SecretString>,
}

impl std::fmt::Debug for ReauthenticateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReauthenticateRequest { .. }")
    }
}

#[utoipa::path(post, path = "/api/v1/auth/reauthenticate", tag = "auth", request_body = ReauthenticateRequest,
    responses((status = 204, description = "Confirmed: sensitive actions are allowed for the configured window"),
        (status = 401, description = "Wrong password or code; five wrong attempts end the session", body = ApiError)))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ReauthenticateRequest>,
) -> ApiResult<StatusCode> {
    let code = body.code.as_ref().map(|c| c.expose_secret().to_owned());
    state
        .core
        .reauthenticate(&auth.actor, body.password, code.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Session ended server-side"), (status = 401, body = ApiError)))]
pub async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
    jar: CookieJar,
) -> ApiResult<(CookieJar, StatusCode)> {
    state.core.logout(&auth.actor).await?;
    Ok((jar.add(clear_session_cookie()), StatusCode::NO_CONTENT))
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = SessionBody), (status = 401, body = ApiError)))]
pub async fn me(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Json<SessionBody>> {
    let user = state.core.current_user(&auth.actor).await?;
    Ok(Json(SessionBody {
        user,
        second_factor_enrolment_required: auth.actor.enrolment_required,
        csrf_token: auth.csrf_token(),
    }))
}
