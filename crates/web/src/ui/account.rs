//! The account security page: authenticator app (TOTP) with a server-rendered QR code,
//! recovery codes shown once, the user's sessions with "end" buttons, and the "confirm it is
//! you" step-up form that sensitive actions send the user to.

use super::session::{
    CsrfOnly, PasskeyForm, code_error_text, code_sent_text, csrf_checked, csrf_checked_id,
    passkey_failed,
};
use super::support::{
    Chrome, FormErrors, UiError, UiResultExt, Viewer, bad_request, format_millis, render,
    safe_return_to,
};
use crate::auth::session_cookie;
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use custodian_core::CoreError;
use custodian_core::second_factor::{FactorAdded, SecondFactorStatus, TotpEnrolment};
use custodian_core::secrets::{ExposeSecret, SecretString};
use custodian_core::security_events::{SecurityEventKind, SecurityEventView};
use custodian_domain::SessionId;
use serde::Deserialize;
use std::fmt;

const NAV: &str = "account";
const SECURITY_PATH: &str = "/account/security";

/// One session row as shown (IP and user agent are personal: held only for rendering).
struct SessionRow {
    id: String,
    current: bool,
    device: String,
    ip: String,
    created: String,
    last_seen: String,
    methods: String,
}

#[derive(Template)]
#[template(path = "account/security.html")]
struct SecurityPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    status: SecondFactorStatus,
    sessions: Vec<SessionRow>,
    notice: Option<&'static str>,
    /// Of the change-password and new-token forms.
    errors: FormErrors,
    password_help: String,
    tokens: Vec<TokenRow>,
    /// A token just created: its secret, shown this once.
    new_token: Option<String>,
    /// The session may only set up a second factor (MFA policy).
    restricted: bool,
    passkeys: Vec<PasskeyRow>,
    activity: Vec<ActivityRow>,
}

/// One security event as listed for the account's owner (or an administrator).
pub(crate) struct ActivityRow {
    pub(crate) kind: String,
    pub(crate) when: String,
    pub(crate) what: String,
    pub(crate) device: String,
    pub(crate) ip: String,
    /// Worth a second look (not an ordinary sign-in).
    pub(crate) warning: bool,
}

/// One passkey as listed (its name is the user's own).
struct PasskeyRow {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

/// One API token as listed (never its secret).
struct TokenRow {
    id: String,
    name: String,
    scopes: String,
    networks: String,
    expires: String,
    last_used: String,
}

fn methods_text(t: &Tr<'_>, methods: &str) -> String {
    methods
        .split('+')
        .map(|m| {
            let key = format!("account.method_{m}");
            match t.t(&key) {
                text if text == key => m.to_owned(),
                text => text.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// What a security event means, in the reader's language (`security.{kind}`, with the detail
/// where it says more, e.g. how many failures came first).
fn activity_text(t: &Tr<'_>, kind: &str, detail: Option<&str>) -> String {
    let key = format!("security.{kind}");
    let text = match t.t(&key) {
        missing if missing == key => kind.to_owned(),
        text => text.to_owned(),
    };
    match detail.and_then(|d| d.strip_prefix("failures=")) {
        Some(n) => text.replace("{n}", n),
        None => text,
    }
}

/// Security events as table rows in the reader's language.
pub(crate) fn activity_rows(t: &Tr<'_>, events: Vec<SecurityEventView>) -> Vec<ActivityRow> {
    events
        .into_iter()
        .map(|e| ActivityRow {
            what: activity_text(t, &e.kind, e.detail.as_deref()),
            warning: e.kind != SecurityEventKind::SignIn.code(),
            when: format_millis(e.occurred_at),
            device: e.user_agent.unwrap_or_default(),
            ip: e.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            kind: e.kind,
        })
        .collect()
}

async fn security_page(v: &Viewer, notice: Option<&'static str>) -> Result<Response, UiError> {
    security_page_with(v, StatusCode::OK, notice, FormErrors::default()).await
}

async fn security_page_with(
    v: &Viewer,
    code: StatusCode,
    notice: Option<&'static str>,
    errors: FormErrors,
) -> Result<Response, UiError> {
    security_page_full(v, code, notice, errors, None).await
}

async fn security_page_full(
    v: &Viewer,
    code: StatusCode,
    notice: Option<&'static str>,
    errors: FormErrors,
    new_token: Option<String>,
) -> Result<Response, UiError> {
    let status = v.core().second_factor_status(v.actor()).await.ui(v)?;
    let t = v.t();
    let sessions = v
        .core()
        .list_my_sessions(v.actor())
        .await
        .ui(v)?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            current: s.current,
            device: s
                .user_agent
                .unwrap_or_else(|| t.t("account.unknown_device").to_owned()),
            ip: s.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            created: format_millis(s.created_at),
            last_seen: format_millis(s.last_seen_at),
            methods: methods_text(&t, &s.auth_methods),
        })
        .collect();
    let password_help = t
        .t("setup.password_help")
        .replace("{n}", &v.core().settings().password_min_length.to_string());
    let tokens = if v.actor().enrolment_required {
        Vec::new()
    } else {
        v.core()
            .list_my_api_tokens(v.actor())
            .await
            .ui(v)?
            .into_iter()
            .map(|tk| TokenRow {
                id: tk.id.to_string(),
                name: tk.name,
                scopes: tk.scopes.join(" "),
                networks: tk.networks.join(", "),
                expires: tk.expires_at.map(format_millis).unwrap_or_default(),
                last_used: tk.last_used_at.map(format_millis).unwrap_or_default(),
            })
            .collect()
    };
    let passkeys = if status.passkeys_available {
        v.core()
            .list_passkeys(v.actor())
            .await
            .ui(v)?
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id.to_string(),
                name: p.name,
                created: format_millis(p.created_at),
                last_used: p.last_used_at.map(format_millis).unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let activity = activity_rows(&t, v.core().my_security_events(v.actor()).await.ui(v)?);
    let notice = match notice {
        None if v.actor().enrolment_required => Some("account.enrolment_required"),
        other => other,
    };
    let page = SecurityPage {
        t,
        chrome: v.chrome(NAV),
        status,
        sessions,
        notice,
        errors,
        password_help,
        tokens,
        new_token,
        restricted: v.actor().enrolment_required,
        passkeys,
        activity,
    };
    Ok(render(code, &page))
}

pub(crate) async fn security(v: Viewer) -> Result<Response, UiError> {
    security_page(&v, None).await
}

// ---------------------------------------------------------------------------------------------
// Step-up
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "account/reauth.html")]
struct ReauthPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    uses_code: bool,
    /// A passkey can confirm it.
    passkey: bool,
    /// Codes can be sent by e-mail / SMS instead of read from an app.
    email_codes: bool,
    sms_codes: bool,
    /// A code was sent, or why not.
    notice: Option<String>,
    return_to: String,
    errors: FormErrors,
}

async fn reauth_page(
    v: &Viewer,
    status: StatusCode,
    return_to: &str,
    errors: FormErrors,
) -> Result<Response, UiError> {
    reauth_page_with(v, status, return_to, errors, None).await
}

async fn reauth_page_with(
    v: &Viewer,
    status: StatusCode,
    return_to: &str,
    errors: FormErrors,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let factors = v.core().second_factor_status(v.actor()).await.ui(v)?;
    let page = ReauthPage {
        t: v.t(),
        chrome: v.chrome(NAV),
        // With any second factor, step-up takes it (or a recovery code), not the password.
        uses_code: factors.totp_enabled
            || factors.email_codes_enabled
            || factors.sms_codes_enabled
            || factors.passkeys > 0,
        passkey: factors.passkeys > 0 && factors.passkeys_available,
        email_codes: factors.email_codes_enabled && factors.email_available,
        sms_codes: factors.sms_codes_enabled && factors.sms_available,
        notice,
        return_to: safe_return_to(return_to)
            .unwrap_or(SECURITY_PATH)
            .to_owned(),
        errors,
    };
    Ok(render(status, &page))
}

/// A sensitive action refused for want of a recent sign-in shows the step-up form (which
/// returns to the security page); anything else is an error page.
async fn or_reauth(v: &Viewer, e: CoreError) -> Result<Response, UiError> {
    or_reauth_to(v, e, SECURITY_PATH).await
}

/// As [`or_reauth`], returning to `return_to` after the step-up.
pub(crate) async fn or_reauth_to(
    v: &Viewer,
    e: CoreError,
    return_to: &str,
) -> Result<Response, UiError> {
    match e {
        CoreError::ReauthenticationRequired => {
            reauth_page(v, StatusCode::FORBIDDEN, return_to, FormErrors::default()).await
        }
        other => Err(v.fail(other)),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ReauthForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    password: Option<SecretString>,
    code: Option<SecretString>,
    return_to: String,
    /// `email` or `sms`: send a code instead of checking one.
    send: String,
}

impl fmt::Debug for ReauthForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReauthForm { .. }")
    }
}

pub(crate) async fn reauth_form(v: Viewer) -> Result<Response, UiError> {
    reauth_page(&v, StatusCode::OK, SECURITY_PATH, FormErrors::default()).await
}

pub(crate) async fn reauthenticate(
    v: Viewer,
    form: Result<Form<ReauthForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    if let Some(channel) = custodian_core::outbound::Channel::parse(&form.send) {
        let notice = match v.core().send_step_up_code(v.actor(), channel).await {
            Ok(()) => code_sent_text(&v.t(), channel),
            Err(e) => match code_error_text(&v.t(), &e) {
                Some(text) => text,
                None => return Err(v.fail(e)),
            },
        };
        return reauth_page_with(
            &v,
            StatusCode::OK,
            &form.return_to,
            FormErrors::default(),
            Some(notice),
        )
        .await;
    }
    let code = form.code.as_ref().map(|c| c.expose_secret().to_owned());
    match v
        .core()
        .reauthenticate(v.actor(), form.password, code.as_deref())
        .await
    {
        Ok(()) => {
            let target = safe_return_to(&form.return_to).unwrap_or(SECURITY_PATH);
            Ok(Redirect::to(target).into_response())
        }
        Err(CoreError::InvalidCode | CoreError::InvalidCredentials) => {
            let t = v.t();
            let mut errors = FormErrors::default();
            let (field, key) = if code.is_some() {
                ("code", "account.reauth_wrong_code")
            } else {
                ("password", "account.reauth_wrong_password")
            };
            errors.add(field, t.t(key).to_owned());
            reauth_page(&v, StatusCode::UNAUTHORIZED, &form.return_to, errors).await
        }
        // Too many wrong attempts ended the session.
        Err(CoreError::SignInExpired) => Ok(Redirect::to("/login").into_response()),
        Err(e) => Err(v.fail(e)),
    }
}

/// A passkey form from a signed-in page, its CSRF token checked.
fn csrf_checked_passkey_form(
    v: &Viewer,
    form: Result<Form<PasskeyForm>, FormRejection>,
) -> Result<PasskeyForm, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    Ok(form)
}

/// Step-up with a passkey: the form `app.js` filled with its answer.
pub(crate) async fn reauthenticate_with_passkey(
    v: Viewer,
    form: Result<Form<PasskeyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = csrf_checked_passkey_form(&v, form)?;
    let outcome = async {
        let (ceremony, credential) = form.answer()?;
        v.core()
            .reauthenticate_with_passkey(v.actor(), ceremony, credential)
            .await
    }
    .await;
    match outcome {
        Ok(()) => {
            let target = safe_return_to(&form.return_to).unwrap_or(SECURITY_PATH);
            Ok(Redirect::to(target).into_response())
        }
        Err(e) if passkey_failed(&e) => {
            let notice = v.t().t("login.passkey_failed").to_owned();
            reauth_page_with(
                &v,
                StatusCode::UNAUTHORIZED,
                &form.return_to,
                FormErrors::default(),
                Some(notice),
            )
            .await
        }
        Err(CoreError::SignInExpired) => Ok(Redirect::to("/login").into_response()),
        Err(e) => Err(v.fail(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Passkeys
// ---------------------------------------------------------------------------------------------

/// The security page with a message at the passkeys section.
async fn passkey_trouble(v: &Viewer, status: StatusCode, key: &str) -> Result<Response, UiError> {
    let mut errors = FormErrors::default();
    errors.add("passkeys", v.t().t(key).to_owned());
    security_page_with(v, status, None, errors).await
}

pub(crate) async fn add_passkey(
    v: Viewer,
    jar: CookieJar,
    form: Result<Form<PasskeyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = csrf_checked_passkey_form(&v, form)?;
    let outcome = async {
        let (ceremony, credential) = form.answer()?;
        v.core()
            .finish_passkey_registration(v.actor(), ceremony, &form.passkey_name, credential)
            .await
    }
    .await;
    match outcome {
        Ok(added) => factor_added_page(&v, jar, &added, "account.passkey_added").await,
        Err(CoreError::Validation(_)) => {
            passkey_trouble(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                "account.passkey_name_invalid",
            )
            .await
        }
        Err(CoreError::Conflict(_)) => {
            passkey_trouble(&v, StatusCode::CONFLICT, "account.passkey_duplicate").await
        }
        Err(CoreError::Rule { .. }) => {
            passkey_trouble(&v, StatusCode::CONFLICT, "account.passkey_limit").await
        }
        Err(e) if passkey_failed(&e) => {
            passkey_trouble(&v, StatusCode::UNAUTHORIZED, "account.passkey_add_failed").await
        }
        Err(e) => or_reauth(&v, e).await,
    }
}

pub(crate) async fn rename_passkey(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<PasskeyForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = csrf_checked_passkey_form(&v, form)?;
    let id = super::support::parse_id(&id).ui(&v)?;
    match v
        .core()
        .rename_passkey(v.actor(), id, &form.passkey_name)
        .await
    {
        Ok(()) => security_page(&v, Some("account.passkey_renamed")).await,
        Err(CoreError::Validation(_)) => {
            passkey_trouble(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                "account.passkey_name_invalid",
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn remove_passkey(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &id, form)?;
    match v.core().remove_passkey(v.actor(), id).await {
        Ok(()) => security_page(&v, Some("account.passkey_removed")).await,
        Err(CoreError::Rule { .. }) => {
            passkey_trouble(&v, StatusCode::CONFLICT, "codes.second_factor_required").await
        }
        Err(e) => or_reauth(&v, e).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Authenticator app
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "account/totp.html")]
struct TotpPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    qr_svg: String,
    key: String,
    errors: FormErrors,
}

fn totp_page(
    v: &Viewer,
    status: StatusCode,
    enrolment: &TotpEnrolment,
    errors: FormErrors,
) -> Result<Response, UiError> {
    let qr_svg = crate::api::account::qr_svg(&enrolment.uri).map_err(|e| v.fail(e))?;
    // Groups of four are easier to type.
    let key = enrolment
        .key
        .expose_secret()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let page = TotpPage {
        t: v.t(),
        chrome: v.chrome(NAV),
        qr_svg,
        key,
        errors,
    };
    Ok(render(status, &page))
}

pub(crate) async fn begin_totp(
    v: Viewer,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    csrf_checked(&v, form)?;
    match v.core().begin_totp_enrolment(v.actor()).await {
        Ok(enrolment) => totp_page(&v, StatusCode::OK, &enrolment, FormErrors::default()),
        Err(e) => or_reauth(&v, e).await,
    }
}

/// Shows the unconfirmed enrolment again (e.g. after a reload).
pub(crate) async fn totp_form(v: Viewer) -> Result<Response, UiError> {
    match v.core().pending_totp_enrolment(v.actor()).await {
        Ok(Some(enrolment)) => totp_page(&v, StatusCode::OK, &enrolment, FormErrors::default()),
        Ok(None) => Ok(Redirect::to(SECURITY_PATH).into_response()),
        Err(e) => or_reauth(&v, e).await,
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct CodeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    code: Option<SecretString>,
}

impl fmt::Debug for CodeForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeForm { .. }")
    }
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    codes: Vec<String>,
}

fn recovery_codes_page(v: &Viewer, codes: &[SecretString]) -> Response {
    let page = RecoveryCodesPage {
        t: v.t(),
        chrome: v.chrome(NAV),
        codes: codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
    };
    render(StatusCode::OK, &page)
}

/// After a second factor was added: the first recovery codes (shown once) or the security page
/// with `notice`; an enrolment-only session was replaced by a full one with a new token.
async fn factor_added_page(
    v: &Viewer,
    jar: CookieJar,
    added: &FactorAdded,
    notice: &'static str,
) -> Result<Response, UiError> {
    let page = match &added.recovery_codes {
        Some(codes) => recovery_codes_page(v, codes),
        None => security_page(v, Some(notice)).await?,
    };
    Ok(match &added.new_session {
        Some(grant) => (jar.add(session_cookie(&grant.token)), page).into_response(),
        None => page,
    })
}

pub(crate) async fn confirm_totp(
    v: Viewer,
    jar: CookieJar,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let code = form
        .code
        .unwrap_or_else(|| SecretString::from(String::new()));
    match v.core().confirm_totp(v.actor(), code.expose_secret()).await {
        Ok(confirmed) => factor_added_page(&v, jar, &confirmed, "account.totp_enabled").await,
        Err(CoreError::InvalidCode) => {
            let enrolment = v.core().pending_totp_enrolment(v.actor()).await.ui(&v)?;
            let Some(enrolment) = enrolment else {
                return Ok(Redirect::to(SECURITY_PATH).into_response());
            };
            let mut errors = FormErrors::default();
            errors.add("code", v.t().t("account.totp_wrong_code").to_owned());
            totp_page(&v, StatusCode::UNPROCESSABLE_ENTITY, &enrolment, errors)
        }
        Err(e) => or_reauth(&v, e).await,
    }
}

pub(crate) async fn remove_totp(
    v: Viewer,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    csrf_checked(&v, form)?;
    match v.core().remove_totp(v.actor()).await {
        Ok(()) => security_page(&v, Some("account.totp_removed")).await,
        Err(e) => or_reauth(&v, e).await,
    }
}

pub(crate) async fn regenerate_recovery_codes(
    v: Viewer,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    csrf_checked(&v, form)?;
    match v.core().regenerate_recovery_codes(v.actor()).await {
        Ok(codes) => Ok(recovery_codes_page(&v, &codes)),
        Err(e) => or_reauth(&v, e).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

pub(crate) async fn end_session(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &id, form)?;
    v.core()
        .end_my_session(v.actor(), SessionId(id))
        .await
        .ui(&v)?;
    if v.actor().session_id() == Some(SessionId(id)) {
        return Ok(Redirect::to("/login").into_response());
    }
    security_page(&v, Some("account.session_ended")).await
}

pub(crate) async fn end_other_sessions(
    v: Viewer,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    csrf_checked(&v, form)?;
    v.core().end_my_other_sessions(v.actor()).await.ui(&v)?;
    security_page(&v, Some("account.others_ended")).await
}

// ---------------------------------------------------------------------------------------------
// Password
// ---------------------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    current_password: Option<SecretString>,
    new_password: Option<SecretString>,
    new_password_confirm: Option<SecretString>,
}

impl fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordForm { .. }")
    }
}

const PASSWORD_FIELDS: &[&str] = &["current_password", "new_password", "new_password_confirm"];

pub(crate) async fn change_password(
    v: Viewer,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let empty = || SecretString::from(String::new());
    let current = form.current_password.unwrap_or_else(empty);
    let new = form.new_password.unwrap_or_else(empty);
    let confirm = form.new_password_confirm.unwrap_or_else(empty);
    let t = v.t();
    if new.expose_secret() != confirm.expose_secret() {
        let mut errors = FormErrors::default();
        errors.add(
            "new_password_confirm",
            t.t("field_error.password_mismatch").to_owned(),
        );
        return security_page_with(&v, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await;
    }
    match v.core().change_password(v.actor(), current, new).await {
        Ok(_) => security_page(&v, Some("account.password_changed")).await,
        Err(CoreError::Validation(field_errors)) => {
            // The policy names the new password `password`.
            let renamed: Vec<_> = field_errors
                .into_iter()
                .map(|mut e| {
                    if e.field == "password" {
                        e.field = "new_password".to_owned();
                    }
                    e
                })
                .collect();
            let errors = FormErrors::from_fields(&t, &renamed, PASSWORD_FIELDS);
            security_page_with(&v, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(CoreError::SignInExpired) => Ok(Redirect::to("/login").into_response()),
        Err(e) => Err(v.fail(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// API tokens
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TokenForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    scopes: String,
    expires_in_days: String,
    networks: String,
}

pub(crate) async fn create_token(
    v: Viewer,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let expires_in_days = match form.expires_in_days.trim() {
        "" => None,
        days => match days.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(
                    "expires_in_days",
                    v.t().t("field_error.out_of_range").to_owned(),
                );
                return security_page_with(&v, StatusCode::UNPROCESSABLE_ENTITY, None, errors)
                    .await;
            }
        },
    };
    let request = custodian_core::tokens::ApiTokenRequest {
        name: form.name,
        scopes: form.scopes,
        expires_in_days,
        networks: form.networks,
    };
    match v.core().create_my_api_token(v.actor(), request).await {
        Ok(created) => {
            let secret = created.token.expose_secret().to_owned();
            security_page_full(
                &v,
                StatusCode::OK,
                Some("account.token_created"),
                FormErrors::default(),
                Some(secret),
            )
            .await
        }
        Err(CoreError::Validation(field_errors)) => {
            let errors = FormErrors::from_fields(
                &v.t(),
                &field_errors,
                &["name", "scopes", "expires_in_days", "networks"],
            );
            security_page_with(&v, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(e) => or_reauth(&v, e).await,
    }
}

pub(crate) async fn revoke_token(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &id, form)?;
    v.core()
        .revoke_my_api_token(v.actor(), custodian_domain::ApiTokenId(id))
        .await
        .ui(&v)?;
    security_page(&v, Some("account.token_revoked")).await
}

// ---------------------------------------------------------------------------------------------
// Codes by e-mail and SMS
// ---------------------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct SentCodesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    email_code: Option<SecretString>,
    phone_code: Option<SecretString>,
    phone: String,
}

impl fmt::Debug for SentCodesForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SentCodesForm { .. }")
    }
}

/// The actions of the "codes by e-mail and SMS" section: `email-send`, `email-confirm`,
/// `email-on`, `email-off`, `phone-set`, `phone-resend`, `phone-confirm`, `phone-remove`,
/// `sms-on`, `sms-off`.
pub(crate) async fn sent_codes(
    v: Viewer,
    jar: CookieJar,
    Path(action): Path<String>,
    form: Result<Form<SentCodesForm>, FormRejection>,
) -> Result<Response, UiError> {
    use custodian_core::outbound::Channel;
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let core = v.core();
    let actor = v.actor();
    let code = form
        .email_code
        .as_ref()
        .or(form.phone_code.as_ref())
        .map(|c| c.expose_secret().to_owned())
        .unwrap_or_default();
    let (outcome, done, field): (Result<(), CoreError>, &'static str, &'static str) =
        match action.as_str() {
            "email-send" => (
                core.start_email_verification(actor).await,
                "codes.sent_email",
                "email_code",
            ),
            "email-confirm" => (
                core.confirm_email(actor, &code).await,
                "account.email_confirmed",
                "email_code",
            ),
            "phone-set" => (
                core.set_phone(actor, &form.phone).await,
                "codes.sent_sms",
                "phone",
            ),
            "phone-resend" => (
                core.resend_phone_code(actor).await,
                "codes.sent_sms",
                "phone_code",
            ),
            "phone-confirm" => (
                core.confirm_phone(actor, &code).await,
                "account.phone_confirmed",
                "phone_code",
            ),
            "phone-remove" => (
                core.remove_phone(actor).await,
                "account.phone_removed",
                "phone",
            ),
            "email-on" | "sms-on" => {
                let channel = if action == "email-on" {
                    Channel::Email
                } else {
                    Channel::Sms
                };
                match core.enable_sent_codes(actor, channel).await {
                    Ok(added) => {
                        return factor_added_page(&v, jar, &added, "account.codes_enabled").await;
                    }
                    Err(e) => (Err(e), "", "sent_codes"),
                }
            }
            "email-off" => (
                core.disable_sent_codes(actor, Channel::Email).await,
                "account.codes_disabled",
                "sent_codes",
            ),
            "sms-off" => (
                core.disable_sent_codes(actor, Channel::Sms).await,
                "account.codes_disabled",
                "sent_codes",
            ),
            _ => return Err(v.fail(bad_request())),
        };
    let t = v.t();
    let message = match outcome {
        Ok(()) => return security_page(&v, Some(done)).await,
        Err(CoreError::Validation(errors)) => errors
            .first()
            .map(|e| t.t(&format!("field_error.{}", e.code)).to_owned())
            .unwrap_or_default(),
        Err(e) => match code_error_text(&t, &e) {
            Some(text) => text,
            None => return or_reauth(&v, e).await,
        },
    };
    let mut errors = FormErrors::default();
    errors.add(field, message);
    security_page_with(&v, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
}
