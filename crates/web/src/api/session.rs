use crate::AppState;
use crate::auth::{Authenticated, clear_session_cookie, session_cookie};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use custodian_core::auth::{UserView, csrf_token};
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
    /// Send back as `X-CSRF-Token` on state-changing calls made with the session cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; sets the session cookie", body = SessionBody),
        (status = 401, body = ApiError)), security(()))]
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<(CookieJar, Json<SessionBody>)> {
    let grant = state.core.login(&body.email, body.password).await?;
    let actor = state
        .core
        .authenticate_session(grant.token.expose_secret())
        .await?;
    let user = state.core.current_user(&actor).await?;
    let csrf = csrf_token(grant.token.expose_secret());
    Ok((
        jar.add(session_cookie(&grant.token)),
        Json(SessionBody {
            user,
            csrf_token: Some(csrf),
        }),
    ))
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
        csrf_token: auth.csrf_token(),
    }))
}
