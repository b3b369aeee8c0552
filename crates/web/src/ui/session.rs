//! Sign-in, first-administrator setup, sign-out and the language switch.

use super::support::{
    Chrome, FormErrors, UiError, UiResultExt, Viewer, accept_language, bad_origin, bad_request,
    parse_id, render, safe_return_to, same_origin,
};
use crate::AppState;
use crate::auth::{
    Authenticated, Client, clear_session_cookie, clear_sign_in_cookie, session_cookie,
    sign_in_cookie, sign_in_from_jar,
};
use crate::error::ApiError;
use crate::i18n::{Tr, negotiate};
use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use custodian_core::CoreError;
use custodian_core::auth::LoginOutcome;
use custodian_core::outbound::Channel;
use custodian_core::secrets::{ExposeSecret, SecretString};
use custodian_core::sent_codes::SignInOptions;
use serde::Deserialize;
use std::fmt;

/// `?lang=` on the public pages.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LangQuery {
    pub(super) lang: Option<String>,
}

pub(super) fn public_locale(headers: &HeaderMap, lang: Option<&str>) -> &'static str {
    negotiate(lang.filter(|l| !l.is_empty()), accept_language(headers))
}

/// What every pre-session form post (sign-in, its second step, setup) checks first: that it
/// comes from this site, then that its body parses.
pub(super) fn public_form<T>(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    form: Result<Form<T>, FormRejection>,
) -> Result<T, UiError> {
    let browser = public_locale(headers, None);
    if !same_origin(headers, uri) {
        return Err(UiError::public(state, browser, bad_origin()));
    }
    form.map(|Form(form)| form)
        .map_err(|_| UiError::public(state, browser, bad_request()))
}

fn signed_in(auth: &Result<Authenticated, ApiError>) -> bool {
    auth.as_ref().is_ok_and(|a| a.session_token.is_some())
}

pub(crate) async fn root(auth: Result<Authenticated, ApiError>) -> Redirect {
    if auth.is_ok() {
        Redirect::to("/dashboard")
    } else {
        Redirect::to("/login")
    }
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage<'a> {
    pub(crate) t: Tr<'a>,
    pub(crate) chrome: Chrome,
    pub(crate) email: String,
    pub(crate) lang: String,
    /// Why the last attempt failed, translated.
    pub(crate) failed: Option<String>,
    pub(crate) needs_setup: bool,
    pub(crate) errors: FormErrors,
    /// The server can use passkeys: offer "Sign in with a passkey".
    pub(crate) passkeys: bool,
    /// "Sign in with <label>" (single sign-on), when configured.
    pub(crate) sso_label: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoginForm {
    email: String,
    password: Option<SecretString>,
    lang: String,
}

impl fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginForm { .. }")
    }
}

pub(crate) async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
    auth: Result<Authenticated, ApiError>,
) -> Response {
    if signed_in(&auth) {
        return Redirect::to("/dashboard").into_response();
    }
    let lang = query.map(|Query(q)| q.lang).ok().flatten();
    let locale = public_locale(&headers, lang.as_deref());
    let needs_setup = state.core.needs_setup().await.unwrap_or(false);
    let page = LoginPage {
        t: state.i18n.translator(locale),
        chrome: Chrome::public("/login"),
        email: String::new(),
        lang: lang.unwrap_or_default(),
        failed: None,
        needs_setup,
        errors: FormErrors::default(),
        passkeys: state.core.passkeys_available(),
        sso_label: state.core.sso_label(),
    };
    render(StatusCode::OK, &page)
}

fn failed_login_page<'a>(
    state: &'a AppState,
    locale: &'static str,
    email: String,
    lang: String,
    message: &'static str,
) -> LoginPage<'a> {
    let t = state.i18n.translator(locale);
    LoginPage {
        failed: Some(t.t(message).to_owned()),
        t,
        chrome: Chrome::public("/login"),
        email,
        lang,
        needs_setup: false,
        errors: FormErrors::default(),
        passkeys: state.core.passkeys_available(),
        sso_label: state.core.sso_label(),
    }
}

pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    jar: CookieJar,
    Client(client): Client,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<(CookieJar, Redirect), Response> {
    let form = public_form(&state, &headers, &uri, form).map_err(IntoResponse::into_response)?;
    let locale = public_locale(&headers, Some(&form.lang));
    let password = form
        .password
        .unwrap_or_else(|| SecretString::from(String::new()));
    match state.core.login(&form.email, password, &client).await {
        Ok(LoginOutcome::SignedIn(grant)) => Ok((
            jar.add(session_cookie(&grant.token)),
            Redirect::to("/dashboard"),
        )),
        Ok(LoginOutcome::SecondFactorDue(pending)) => Ok((
            jar.add(sign_in_cookie(&pending.token)),
            Redirect::to(&verify_path(&form.lang)),
        )),
        Err(CoreError::InvalidCredentials | CoreError::Validation(_)) => {
            // One message for every failure: no hint whether the account exists.
            let page = failed_login_page(&state, locale, form.email, form.lang, "login.invalid");
            Err(render(StatusCode::UNAUTHORIZED, &page))
        }
        Err(e @ CoreError::Throttled { .. }) => {
            let mut page =
                failed_login_page(&state, locale, form.email, form.lang, "login.invalid");
            page.failed = Some(throttled_text(&page.t, &e));
            Err(throttled_response(&page, &e))
        }
        Err(e) => Err(UiError::public(&state, locale, e).into_response()),
    }
}

/// "Too many attempts; wait 3 minutes", in the page's language.
fn throttled_text(t: &Tr<'_>, e: &CoreError) -> String {
    let secs = match e {
        CoreError::Throttled { retry_after_secs } => *retry_after_secs,
        _ => 0,
    };
    let minutes = ((secs + 59) / 60).max(1);
    t.t("login.throttled").replace("{n}", &minutes.to_string())
}

/// A 429 page carrying `Retry-After`.
fn throttled_response<T: Template>(page: &T, e: &CoreError) -> Response {
    let mut response = render(StatusCode::TOO_MANY_REQUESTS, page);
    if let CoreError::Throttled { retry_after_secs } = e
        && let Ok(secs) = u64::try_from(*retry_after_secs)
    {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    response
}

fn verify_path(lang: &str) -> String {
    if lang.is_empty() {
        "/login/verify".to_owned()
    } else {
        super::support::build_url("/login/verify", &[("lang", lang)])
    }
}

// ---------------------------------------------------------------------------------------------
// Second step of signing in
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login_verify.html")]
pub(crate) struct VerifyPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    lang: String,
    errors: FormErrors,
    /// Which codes can be sent (e-mail, SMS) besides the authenticator app.
    options: SignInOptions,
    /// "A code was sent by e-mail", or why it was not.
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SendCodeForm {
    channel: String,
    lang: String,
}

/// "A code is on its way", in the page's language.
pub(crate) fn code_sent_text(t: &Tr<'_>, channel: Channel) -> String {
    t.t(match channel {
        Channel::Email => "codes.sent_email",
        Channel::Sms => "codes.sent_sms",
    })
    .to_owned()
}

/// Why a code (or another message) could not be sent or a channel not be changed, in the
/// page's language; `None` for errors that are not about codes.
pub(crate) fn code_error_text(t: &Tr<'_>, error: &CoreError) -> Option<String> {
    let key = match error {
        CoreError::TooManyCodes { retry_after_secs } => {
            let minutes = ((retry_after_secs + 59) / 60).max(1);
            return Some(t.t("codes.too_many").replace("{n}", &minutes.to_string()));
        }
        CoreError::ChannelUnavailable(_) => "codes.unavailable",
        CoreError::DeliveryFailed(_) => "codes.delivery_failed",
        CoreError::InvalidCode => "codes.invalid",
        CoreError::Rule { code, .. } => match *code {
            "channel_not_enabled" => "codes.not_enabled",
            "email_not_verified" => "codes.email_not_verified",
            "phone_not_verified" => "codes.phone_not_verified",
            "sms_codes_enabled" => "codes.sms_codes_enabled",
            "second_factor_required" => "codes.second_factor_required",
            _ => return None,
        },
        CoreError::Conflict(_) => "codes.nothing_to_confirm",
        _ => return None,
    };
    Some(t.t(key).to_owned())
}

async fn verify_options(state: &AppState, pending: &SecretString) -> SignInOptions {
    state
        .core
        .sign_in_options(pending)
        .await
        .unwrap_or(SignInOptions {
            totp: true,
            email: false,
            sms: false,
            passkey: false,
        })
}

pub(crate) async fn send_sign_in_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    jar: CookieJar,
    form: Result<Form<SendCodeForm>, FormRejection>,
) -> Result<Response, Response> {
    let form = public_form(&state, &headers, &uri, form).map_err(IntoResponse::into_response)?;
    let locale = public_locale(&headers, Some(&form.lang));
    let Some(pending) = sign_in_from_jar(&jar) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let channel = Channel::parse(&form.channel).unwrap_or(Channel::Email);
    let t = state.i18n.translator(locale);
    let (status, notice) = match state.core.send_sign_in_code(&pending, channel).await {
        Ok(()) => (StatusCode::OK, code_sent_text(&t, channel)),
        Err(CoreError::SignInExpired) => return Ok(Redirect::to("/login").into_response()),
        Err(e) => match code_error_text(&t, &e) {
            Some(text) if matches!(e, CoreError::TooManyCodes { .. }) => {
                (StatusCode::TOO_MANY_REQUESTS, text)
            }
            Some(text) => (StatusCode::CONFLICT, text),
            None => return Err(UiError::public(&state, locale, e).into_response()),
        },
    };
    let page = VerifyPage {
        t,
        chrome: Chrome::public("/login/verify"),
        lang: form.lang,
        errors: FormErrors::default(),
        options: verify_options(&state, &pending).await,
        notice: Some(notice),
    };
    Ok(render(status, &page))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct VerifyForm {
    code: Option<SecretString>,
    lang: String,
}

impl fmt::Debug for VerifyForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyForm { .. }")
    }
}

pub(crate) async fn verify_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(pending) = sign_in_from_jar(&jar) else {
        return Redirect::to("/login").into_response();
    };
    let lang = query.map(|Query(q)| q.lang).ok().flatten();
    let locale = public_locale(&headers, lang.as_deref());
    let page = VerifyPage {
        t: state.i18n.translator(locale),
        chrome: Chrome::public("/login/verify"),
        lang: lang.unwrap_or_default(),
        errors: FormErrors::default(),
        options: verify_options(&state, &pending).await,
        notice: None,
    };
    render(StatusCode::OK, &page)
}

pub(crate) async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    jar: CookieJar,
    Client(client): Client,
    form: Result<Form<VerifyForm>, FormRejection>,
) -> Result<(CookieJar, Redirect), Response> {
    let form = public_form(&state, &headers, &uri, form).map_err(IntoResponse::into_response)?;
    let locale = public_locale(&headers, Some(&form.lang));
    let expired = |state: &AppState, lang: String| {
        let page = failed_login_page(state, locale, String::new(), lang, "login.sign_in_expired");
        render(StatusCode::UNAUTHORIZED, &page)
    };
    let Some(pending) = sign_in_from_jar(&jar) else {
        return Err(expired(&state, form.lang));
    };
    let code = form
        .code
        .unwrap_or_else(|| SecretString::from(String::new()));
    match state
        .core
        .complete_sign_in(&pending, code.expose_secret(), &client)
        .await
    {
        Ok(grant) => Ok((
            jar.add(clear_sign_in_cookie())
                .add(session_cookie(&grant.token)),
            Redirect::to("/dashboard"),
        )),
        Err(CoreError::InvalidCode) => {
            let t = state.i18n.translator(locale);
            let mut errors = FormErrors::default();
            errors.add("code", t.t("login.code_invalid").to_owned());
            let page = VerifyPage {
                t,
                chrome: Chrome::public("/login/verify"),
                lang: form.lang,
                errors,
                options: verify_options(&state, &pending).await,
                notice: None,
            };
            Err(render(StatusCode::UNAUTHORIZED, &page))
        }
        Err(CoreError::SignInExpired) => {
            Err((jar.add(clear_sign_in_cookie()), expired(&state, form.lang)).into_response())
        }
        Err(e) => Err(UiError::public(&state, locale, e).into_response()),
    }
}

// ---------------------------------------------------------------------------------------------
// Passkeys at sign-in
// ---------------------------------------------------------------------------------------------

/// The browser's passkey answer, as `app.js` puts it into a form.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasskeyForm {
    #[serde(rename = "_csrf")]
    pub(crate) csrf: String,
    pub(crate) ceremony_id: String,
    pub(crate) credential: String,
    pub(crate) lang: String,
    pub(crate) return_to: String,
    /// The name of a passkey being added.
    pub(crate) passkey_name: String,
}

impl fmt::Debug for PasskeyForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasskeyForm { .. }")
    }
}

impl PasskeyForm {
    /// The ceremony and the credential; an unreadable answer is a failed passkey.
    pub(crate) fn answer(&self) -> Result<(uuid::Uuid, serde_json::Value), CoreError> {
        let ceremony = uuid::Uuid::parse_str(self.ceremony_id.trim())
            .map_err(|_| CoreError::PasskeyRequestExpired)?;
        let credential =
            serde_json::from_str(&self.credential).map_err(|_| CoreError::PasskeyRejected)?;
        Ok((ceremony, credential))
    }
}

/// A passkey that did not work: the user tries again or signs in another way.
pub(crate) fn passkey_failed(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::PasskeyRejected | CoreError::PasskeyRequestExpired | CoreError::Validation(_)
    )
}

/// Passwordless sign-in: the form `app.js` filled with the passkey's answer.
pub(crate) async fn passkey_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    jar: CookieJar,
    Client(client): Client,
    form: Result<Form<PasskeyForm>, FormRejection>,
) -> Result<(CookieJar, Redirect), Response> {
    let form = public_form(&state, &headers, &uri, form).map_err(IntoResponse::into_response)?;
    let locale = public_locale(&headers, Some(&form.lang));
    let outcome = async {
        let (ceremony, credential) = form.answer()?;
        state
            .core
            .finish_passkey_sign_in(ceremony, credential, &client)
            .await
    }
    .await;
    match outcome {
        Ok(grant) => Ok((
            jar.add(session_cookie(&grant.token)),
            Redirect::to("/dashboard"),
        )),
        Err(e) if passkey_failed(&e) => {
            let page = failed_login_page(
                &state,
                locale,
                String::new(),
                form.lang,
                "login.passkey_failed",
            );
            Err(render(StatusCode::UNAUTHORIZED, &page))
        }
        Err(e @ CoreError::Throttled { .. }) => {
            let mut page = failed_login_page(
                &state,
                locale,
                String::new(),
                form.lang,
                "login.passkey_failed",
            );
            page.failed = Some(throttled_text(&page.t, &e));
            Err(throttled_response(&page, &e))
        }
        Err(e) => Err(UiError::public(&state, locale, e).into_response()),
    }
}

/// The second step of a password sign-in, with a passkey.
pub(crate) async fn passkey_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    jar: CookieJar,
    Client(client): Client,
    form: Result<Form<PasskeyForm>, FormRejection>,
) -> Result<(CookieJar, Redirect), Response> {
    let form = public_form(&state, &headers, &uri, form).map_err(IntoResponse::into_response)?;
    let locale = public_locale(&headers, Some(&form.lang));
    let Some(pending) = sign_in_from_jar(&jar) else {
        return Ok((jar, Redirect::to("/login")));
    };
    let outcome = async {
        let (ceremony, credential) = form.answer()?;
        state
            .core
            .complete_sign_in_with_passkey(&pending, ceremony, credential, &client)
            .await
    }
    .await;
    match outcome {
        Ok(grant) => Ok((
            jar.add(clear_sign_in_cookie())
                .add(session_cookie(&grant.token)),
            Redirect::to("/dashboard"),
        )),
        Err(e) if passkey_failed(&e) => {
            let t = state.i18n.translator(locale);
            let page = VerifyPage {
                notice: Some(t.t("login.passkey_failed").to_owned()),
                t,
                chrome: Chrome::public("/login/verify"),
                lang: form.lang,
                errors: FormErrors::default(),
                options: verify_options(&state, &pending).await,
            };
            Err(render(StatusCode::UNAUTHORIZED, &page))
        }
        Err(CoreError::SignInExpired) => {
            let page = failed_login_page(
                &state,
                locale,
                String::new(),
                form.lang,
                "login.sign_in_expired",
            );
            Err((
                jar.add(clear_sign_in_cookie()),
                render(StatusCode::UNAUTHORIZED, &page),
            )
                .into_response())
        }
        Err(e) => Err(UiError::public(&state, locale, e).into_response()),
    }
}

// ---------------------------------------------------------------------------------------------
// Single sign-on (OpenID Connect)
// ---------------------------------------------------------------------------------------------

/// Holds the `state` of a sign-in at the identity provider, so only the browser that started
/// it can finish it. `Lax`: the provider's redirect back is a cross-site navigation.
const SSO_COOKIE: &str = "__Host-custodian_sso";

fn sso_cookie(state: &SecretString) -> axum_extra::extract::cookie::Cookie<'static> {
    axum_extra::extract::cookie::Cookie::build((SSO_COOKIE, state.expose_secret().to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(axum_extra::extract::cookie::SameSite::Lax)
        .max_age(time::Duration::minutes(10))
        .build()
}

fn clear_sso_cookie() -> axum_extra::extract::cookie::Cookie<'static> {
    let mut cookie = sso_cookie(&SecretString::from(String::new()));
    cookie.make_removal();
    cookie
}

/// "Sign in with …": off to the identity provider.
pub(crate) async fn sso_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<(CookieJar, Redirect), Response> {
    let locale = public_locale(&headers, None);
    match state.core.begin_sso().await {
        Ok(start) => Ok((
            jar.add(sso_cookie(&start.state)),
            Redirect::to(&start.redirect_to),
        )),
        Err(e @ (CoreError::SsoUnavailable | CoreError::Throttled { .. })) => {
            let page = failed_login_page(
                &state,
                locale,
                String::new(),
                String::new(),
                "login.sso_unavailable",
            );
            let status = if matches!(e, CoreError::SsoUnavailable) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            Err(render(status, &page))
        }
        Err(e) => Err(UiError::public(&state, locale, e).into_response()),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SsoCallback {
    state: String,
    code: String,
}

impl fmt::Debug for SsoCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SsoCallback { .. }")
    }
}

#[derive(Template)]
#[template(path = "sso_done.html")]
struct SsoDonePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    next: &'static str,
}

/// The identity provider's answer. The session cookie is strict, and a browser does not send
/// it on the rest of a redirect chain that began at another site, so this answers with a page
/// that moves on by itself (a same-site navigation) instead of a redirect.
pub(crate) async fn sso_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Client(client): Client,
    query: Result<Query<SsoCallback>, axum::extract::rejection::QueryRejection>,
) -> Result<(CookieJar, Response), Response> {
    let locale = public_locale(&headers, None);
    let callback = query.map(|Query(q)| q).unwrap_or_default();
    let cookie_state = jar
        .get(SSO_COOKIE)
        .map(|c| SecretString::from(c.value().to_owned()))
        .unwrap_or_else(|| SecretString::from(String::new()));
    let jar = jar.add(clear_sso_cookie());
    let outcome = if callback.code.is_empty() {
        // The provider sent an error (the person cancelled, or was refused there).
        Err(CoreError::SsoFailed {
            reason: "provider_error",
        })
    } else {
        state
            .core
            .finish_sso(&callback.state, &cookie_state, &callback.code, &client)
            .await
    };
    let (jar, next) = match outcome {
        Ok(LoginOutcome::SignedIn(grant)) => (jar.add(session_cookie(&grant.token)), "/dashboard"),
        Ok(LoginOutcome::SecondFactorDue(pending)) => {
            (jar.add(sign_in_cookie(&pending.token)), "/login/verify")
        }
        Err(e @ (CoreError::SsoFailed { .. } | CoreError::SsoUnavailable)) => {
            let key = if matches!(e, CoreError::SsoFailed { .. }) {
                "login.sso_failed"
            } else {
                "login.sso_unavailable"
            };
            let page = failed_login_page(&state, locale, String::new(), String::new(), key);
            return Ok((jar, render(StatusCode::UNAUTHORIZED, &page)));
        }
        Err(e @ CoreError::Throttled { .. }) => {
            let mut page = failed_login_page(
                &state,
                locale,
                String::new(),
                String::new(),
                "login.sso_failed",
            );
            page.failed = Some(throttled_text(&page.t, &e));
            return Ok((jar, throttled_response(&page, &e)));
        }
        Err(e) => return Err(UiError::public(&state, locale, e).into_response()),
    };
    let page = SsoDonePage {
        t: state.i18n.translator(locale),
        chrome: Chrome::public("/login"),
        next,
    };
    Ok((jar, render(StatusCode::OK, &page)))
}

pub(crate) async fn logout(
    v: Viewer,
    jar: CookieJar,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<(CookieJar, Redirect), UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    v.core().logout(v.actor()).await.ui(&v)?;
    Ok((jar.add(clear_session_cookie()), Redirect::to("/login")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CsrfOnly {
    #[serde(rename = "_csrf")]
    pub(crate) csrf: String,
}

/// For a POST that carries only the CSRF token and acts on the record named in the path
/// (delete, restore): checks the token, then parses the id.
pub(crate) fn csrf_checked_id(
    v: &Viewer,
    raw_id: &str,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<uuid::Uuid, UiError> {
    csrf_checked(v, form)?;
    parse_id(raw_id).ui(v)
}

/// For a POST that carries only the CSRF token: checks it.
pub(crate) fn csrf_checked(
    v: &Viewer,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<(), UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)
}

// ---------------------------------------------------------------------------------------------
// First-administrator setup
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "setup.html")]
pub(crate) struct SetupPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    /// False once an administrator exists: the page then only links to sign-in.
    open: bool,
    form: SetupForm,
    password_help: String,
    errors: FormErrors,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SetupForm {
    code: String,
    email: String,
    display_name: String,
    password: Option<SecretString>,
    password_confirm: Option<SecretString>,
    lang: String,
}

impl fmt::Debug for SetupForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetupForm { .. }")
    }
}

const SETUP_FIELDS: &[&str] = &[
    "code",
    "email",
    "display_name",
    "password",
    "password_confirm",
];

fn setup_page<'a>(
    state: &'a AppState,
    locale: &'static str,
    open: bool,
    form: SetupForm,
    errors: FormErrors,
) -> SetupPage<'a> {
    let t = state.i18n.translator(locale);
    let password_help = t.t("setup.password_help").replace(
        "{n}",
        &state.core.settings().password_min_length.to_string(),
    );
    SetupPage {
        t,
        chrome: Chrome {
            keep_code: true,
            ..Chrome::public("/setup")
        },
        open,
        form,
        password_help,
        errors,
    }
}

pub(crate) async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
    auth: Result<Authenticated, ApiError>,
) -> Response {
    let lang = query.map(|Query(q)| q.lang).ok().flatten();
    // A signed-in user who follows the "sign in" hint keeps their own language.
    let saved = auth.ok().and_then(|a| a.actor.locale);
    let locale = public_locale(&headers, lang.as_deref().or(saved.as_deref()));
    let open = match state.core.needs_setup().await {
        Ok(open) => open,
        Err(e) => return UiError::public(&state, locale, e).into_response(),
    };
    let form = SetupForm {
        lang: lang.unwrap_or_default(),
        ..SetupForm::default()
    };
    let page = setup_page(&state, locale, open, form, FormErrors::default());
    render(StatusCode::OK, &page)
}

pub(crate) async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    jar: CookieJar,
    Client(client): Client,
    form: Result<Form<SetupForm>, FormRejection>,
) -> Result<(CookieJar, Redirect), Response> {
    let mut form =
        public_form(&state, &headers, &uri, form).map_err(IntoResponse::into_response)?;
    let locale = public_locale(&headers, Some(&form.lang));
    let t = state.i18n.translator(locale);
    let rerender = |status: StatusCode, form: SetupForm, errors: FormErrors| {
        let open = true;
        render(status, &setup_page(&state, locale, open, form, errors))
    };
    match state.core.needs_setup().await {
        Ok(true) => {}
        Ok(false) => {
            let page = setup_page(
                &state,
                locale,
                false,
                SetupForm::default(),
                FormErrors::default(),
            );
            return Err(render(StatusCode::CONFLICT, &page));
        }
        Err(e) => return Err(UiError::public(&state, locale, e).into_response()),
    }
    form.code = form.code.trim().to_owned();
    let password = form
        .password
        .take()
        .unwrap_or_else(|| SecretString::from(String::new()));
    let confirm = form
        .password_confirm
        .take()
        .unwrap_or_else(|| SecretString::from(String::new()));
    let mut errors = FormErrors::default();
    if form.code.is_empty() {
        errors.add("code", t.t("field_error.required").to_owned());
    }
    if password.expose_secret() != confirm.expose_secret() {
        errors.add(
            "password_confirm",
            t.t("field_error.password_mismatch").to_owned(),
        );
    }
    if errors.any() {
        return Err(rerender(StatusCode::UNPROCESSABLE_ENTITY, form, errors));
    }
    let code = SecretString::from(form.code.clone());
    match state
        .core
        .complete_setup(&code, &form.email, &form.display_name, password, &client)
        .await
    {
        Ok(grant) => Ok((
            jar.add(session_cookie(&grant.token)),
            Redirect::to("/dashboard"),
        )),
        Err(CoreError::Validation(field_errors)) => {
            let errors = FormErrors::from_fields(&t, &field_errors, SETUP_FIELDS);
            Err(rerender(StatusCode::UNPROCESSABLE_ENTITY, form, errors))
        }
        Err(CoreError::InvalidSetupCode) => {
            let mut errors = FormErrors::default();
            errors.add("code", t.t("setup.invalid_code").to_owned());
            Err(rerender(StatusCode::BAD_REQUEST, form, errors))
        }
        Err(CoreError::Conflict(message)) => {
            let mut errors = FormErrors::default();
            errors
                .general
                .push(format!("{} ({message})", t.t("error.conflict")));
            Err(rerender(StatusCode::CONFLICT, form, errors))
        }
        Err(e) => Err(UiError::public(&state, locale, e).into_response()),
    }
}

// ---------------------------------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LanguageForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    locale: String,
    return_to: String,
}

pub(crate) async fn set_language(
    v: Viewer,
    form: Result<Form<LanguageForm>, FormRejection>,
) -> Result<Redirect, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let locale = Some(form.locale.trim()).filter(|l| !l.is_empty());
    v.core().set_locale(v.actor(), locale).await.ui(&v)?;
    let target = safe_return_to(&form.return_to).unwrap_or("/dashboard");
    Ok(Redirect::to(target))
}

// ---------------------------------------------------------------------------------------------
// Password strength advice
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "password_strength.html")]
struct StrengthFragment<'a> {
    t: Tr<'a>,
    empty: bool,
    score: u8,
    score_text: String,
    warning: Option<String>,
    suggestions: Vec<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct StrengthForm {
    password: Option<SecretString>,
    new_password: Option<SecretString>,
    email: String,
}

impl fmt::Debug for StrengthForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StrengthForm { .. }")
    }
}

/// The strength meter under a new-password field (an htmx fragment). Public, because the
/// first administrator's setup form uses it before anyone can sign in; it stores nothing and
/// answers only with advice. The signed-in user's own e-mail is the context when there is one.
pub(crate) async fn password_strength(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: Result<Authenticated, ApiError>,
    form: Result<Form<StrengthForm>, FormRejection>,
) -> Response {
    let saved = auth.as_ref().ok().and_then(|a| a.actor.locale.clone());
    let locale = public_locale(&headers, saved.as_deref());
    let t = state.i18n.translator(locale);
    let Ok(Form(form)) = form else {
        return render(StatusCode::BAD_REQUEST, &empty_strength(t));
    };
    let Some(password) = form.new_password.or(form.password) else {
        return render(StatusCode::OK, &empty_strength(t));
    };
    if password.expose_secret().is_empty() {
        return render(StatusCode::OK, &empty_strength(t));
    }
    let email = match &auth {
        Ok(a) => state
            .core
            .current_user(&a.actor)
            .await
            .map(|u| u.email)
            .unwrap_or_default(),
        Err(_) => form.email,
    };
    let advice = custodian_core::auth::password_strength(&password, &email);
    let text = |prefix: &str, code: &str| t.t(&format!("{prefix}.{code}")).to_owned();
    let fragment = StrengthFragment {
        score_text: text("password_strength", &format!("score_{}", advice.score)),
        warning: advice.warning.map(|w| text("password_warning", w)),
        suggestions: advice
            .suggestions
            .iter()
            .map(|s| text("password_suggestion", s))
            .collect(),
        score: advice.score,
        empty: false,
        t,
    };
    render(StatusCode::OK, &fragment)
}

fn empty_strength(t: Tr<'_>) -> StrengthFragment<'_> {
    StrengthFragment {
        t,
        empty: true,
        score: 0,
        score_text: String::new(),
        warning: None,
        suggestions: Vec::new(),
    }
}
