//! Shared pieces of the HTML UI: the signed-in viewer extractor, the page chrome (header,
//! navigation, language switch), HTML error pages, form error mapping and small pure helpers.

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::i18n::{Catalogs, Tr, negotiate};
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use custodian_core::{Actor, Core, CoreError};
use custodian_domain::FieldError;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

/// A same-site path to return to after a POST, or `None` if the value could lead elsewhere.
/// Only absolute paths are accepted; `//host` and `/\host` (which browsers treat as
/// protocol-relative URLs) and anything with control characters are refused.
pub(crate) fn safe_return_to(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && raw.len() <= 2048
        && !raw.chars().any(char::is_control);
    ok.then_some(raw)
}

/// Splits a multi-value form field (e-mails, phones, tags) on commas, semicolons and newlines
/// (including the full-width forms a Chinese keyboard produces), trimming and dropping blanks.
pub(crate) fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', ';', '\n', '\r', '，', '；', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn join_list(items: &[String]) -> String {
    items.join(", ")
}

/// Browsers submit textarea line breaks as CRLF; stored text uses LF only.
pub(crate) fn normalize_newlines(raw: &str) -> String {
    raw.replace("\r\n", "\n").replace('\r', "\n")
}

/// `None` for an empty or blank field, else the text (trimming is left to the domain parsers).
pub(crate) fn optional(raw: &str) -> Option<String> {
    let text = normalize_newlines(raw);
    (!text.trim().is_empty()).then_some(text)
}

pub(crate) use custodian_core::search::{SearchKind, classify as classify_search};

/// Percent-encodes a query-string value (`application/x-www-form-urlencoded` style).
pub(crate) fn encode_query_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Builds `path?k=v&…` from the non-empty pairs.
pub(crate) fn build_url(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A stored Unix-milliseconds time as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn format_millis(millis: i64) -> String {
    format_time(custodian_domain::clock::from_millis(millis))
}

/// The form field a validation error belongs to: `emails[2]` → `emails`.
pub(crate) fn base_field(field: &str) -> &str {
    field.split('[').next().unwrap_or(field)
}

fn first_number(text: &str) -> Option<&str> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// A validation error in the user's language: the catalog's text for the stable code (with
/// `{n}` taken from the English message, e.g. a length limit), or a generic sentence followed
/// by the English message. Messages never contain the rejected value.
pub(crate) fn field_message(t: &Tr<'_>, e: &FieldError) -> String {
    let key = format!("field_error.{}", e.code);
    let text = t.t(&key);
    if text == key {
        format!(
            "{}{}{}",
            t.t("form.invalid"),
            t.t("common.label_sep"),
            e.message
        )
    } else if text.contains("{n}") {
        text.replace("{n}", first_number(&e.message).unwrap_or("?"))
    } else {
        text.to_owned()
    }
}

/// Per-field messages for a form, plus messages that belong to no field on it.
#[derive(Debug, Default)]
pub(crate) struct FormErrors {
    fields: Vec<(String, String)>,
    pub(crate) general: Vec<String>,
}

impl FormErrors {
    /// Maps validation errors onto the form's fields; others become general messages.
    pub(crate) fn from_fields(t: &Tr<'_>, errors: &[FieldError], form_fields: &[&str]) -> Self {
        let mut out = Self::default();
        for e in errors {
            let field = base_field(&e.field);
            let message = field_message(t, e);
            if form_fields.contains(&field) {
                out.add(field, message);
            } else {
                out.general.push(message);
            }
        }
        out
    }

    pub(crate) fn add(&mut self, field: &str, message: String) {
        if let Some((_, existing)) = self.fields.iter_mut().find(|(f, _)| f == field) {
            if !existing.contains(&message) {
                existing.push(' ');
                existing.push_str(&message);
            }
        } else {
            self.fields.push((field.to_owned(), message));
        }
    }

    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub(crate) fn any(&self) -> bool {
        !self.fields.is_empty() || !self.general.is_empty()
    }
}

/// One `<option>`.
#[derive(Debug, Clone)]
pub(crate) struct SelectOption {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

pub(crate) fn parse_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "The id in the URL is not a valid id.",
        )
    })
}

pub(crate) fn bad_request() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "The form could not be read.",
    )
}

/// Renders a template with a status; a rendering failure is logged and becomes a bare 500.
pub(crate) fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

/// Pre-session forms (login, setup) must come from this very site.
///
/// Fetch metadata first: a browser that sends `Sec-Fetch-Site` must say `same-origin`. Then the
/// `Origin` header, when present, must be `https://` + this host. Because every response carries
/// `Referrer-Policy: no-referrer`, browsers send `Origin: null` even for same-origin form posts;
/// `null` is therefore accepted only together with `Sec-Fetch-Site: same-origin`, which page
/// script cannot forge.
pub(crate) fn same_origin(headers: &HeaderMap, uri: &Uri) -> bool {
    let fetch_site = headers.get("sec-fetch-site").map(HeaderValue::to_str);
    let fetch_same_origin = match fetch_site {
        None => false,
        Some(Ok("same-origin")) => true,
        Some(_) => return false,
    };
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    match (origin.to_str(), host) {
        (Ok("null"), _) => fetch_same_origin,
        (Ok(origin), Some(host)) => origin.eq_ignore_ascii_case(&format!("https://{host}")),
        _ => false,
    }
}

pub(crate) fn bad_origin() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "bad_origin",
        "The form was submitted from another site.",
    )
}

/// Whether the request came from htmx (which then expects a fragment, not a page).
pub(crate) fn is_htmx(headers: &HeaderMap) -> bool {
    headers
        .get("hx-request")
        .is_some_and(|v| v.as_bytes() == b"true")
}

pub(crate) fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// The page a POST's language switch should return to: the same URL for GETs; for POST
/// re-renders the GET page of the same resource.
fn return_path(method: &Method, uri: &Uri) -> String {
    let path = uri.path();
    if method == Method::GET {
        return uri
            .path_and_query()
            .map_or(path, |pq| pq.as_str())
            .to_owned();
    }
    [
        "/search",
        "/delete",
        "/restore",
        "/move",
        "/close",
        "/reopen",
        "/qualify",
        "/disqualify",
        "/convert",
        "/complete",
        "/read",
        "/transition",
        "/preferences",
        "/surveys",
    ]
    .iter()
    .find_map(|suffix| path.strip_suffix(suffix))
    .filter(|p| !p.is_empty())
    .unwrap_or(path)
    .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Page chrome
// ---------------------------------------------------------------------------------------------

/// What the layout needs besides the translator: the signed-in user (if any), the active nav
/// entry, and for public pages the path the language links point at.
#[derive(Clone, Default)]
pub(crate) struct Chrome {
    /// Holds the user's e-mail address (personal data): see the redacted `Debug`.
    pub(crate) user: Option<UserChrome>,
    pub(crate) nav: &'static str,
    pub(crate) public_path: &'static str,
    /// On the setup page, language links carry the pasted code along in the URL fragment.
    pub(crate) keep_code: bool,
    /// The signed-in user's unread notifications (counted up to 100), for the bell.
    pub(crate) unread: u64,
}

#[derive(Clone)]
pub(crate) struct UserChrome {
    pub(crate) email: String,
    pub(crate) csrf: String,
    pub(crate) return_to: String,
    /// `""` (follow the browser), `en` or `zh-CN`.
    pub(crate) locale_choice: String,
    /// Shows the configuration links (pipelines, custom fields); the pages check again.
    pub(crate) admin: bool,
    /// Shows the audit log link; the page checks again.
    pub(crate) auditor: bool,
    /// Shows the security monitoring link; the page checks again.
    pub(crate) security: bool,
}

impl fmt::Debug for Chrome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chrome")
            .field("signed_in", &self.user.is_some())
            .field("nav", &self.nav)
            .finish_non_exhaustive()
    }
}

impl Chrome {
    /// The bell's badge: the count, or "99+".
    pub(crate) fn unread_badge(&self) -> String {
        if self.unread > 99 {
            "99+".to_owned()
        } else {
            self.unread.to_string()
        }
    }

    pub(crate) fn public(path: &'static str) -> Self {
        Self {
            public_path: path,
            ..Self::default()
        }
    }

    pub(crate) fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.csrf.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// The signed-in viewer
// ---------------------------------------------------------------------------------------------

/// A signed-in user of the HTML UI. Unauthenticated requests are redirected to `/login`
/// instead of getting the API's JSON error.
pub(crate) struct Viewer {
    pub(crate) state: AppState,
    pub(crate) auth: Authenticated,
    pub(crate) locale: &'static str,
    email: String,
    return_to: String,
    unread: u64,
}

impl fmt::Debug for Viewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Viewer")
            .field("user_id", &self.auth.actor.user_id)
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

fn login_redirect(headers: &HeaderMap) -> Response {
    if headers.contains_key("hx-request") {
        // htmx follows redirects inside XHR; ask it to navigate the whole page instead.
        let mut response = StatusCode::OK.into_response();
        response
            .headers_mut()
            .insert("hx-redirect", HeaderValue::from_static("/login"));
        return response;
    }
    Redirect::to("/login").into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let browser_locale = negotiate(None, accept_language(&parts.headers));
        let public_error = |e: ApiError| {
            UiError::build(
                state.i18n.clone(),
                browser_locale,
                Chrome::default(),
                e,
                Vec::new(),
            )
            .into_response()
        };
        let auth = match Authenticated::from_request_parts(parts, state).await {
            Ok(auth) => auth,
            Err(e) if e.code == "unauthenticated" => return Err(login_redirect(&parts.headers)),
            Err(e) if e.code == "second_factor_enrolment_required" => {
                return Err(Redirect::to("/account/security").into_response());
            }
            Err(e) => return Err(public_error(e)),
        };
        let user = match state.core.current_user(&auth.actor).await {
            Ok(user) => user,
            Err(CoreError::Unauthenticated) => return Err(login_redirect(&parts.headers)),
            Err(e) => return Err(public_error(e.into())),
        };
        let locale = negotiate(
            auth.actor.locale.as_deref(),
            accept_language(&parts.headers),
        );
        // One indexed, capped query per page for the header's notification bell.
        let unread = match state.core.unread_notification_count(&auth.actor).await {
            Ok(n) => n,
            Err(e) => return Err(public_error(e.into())),
        };
        Ok(Self {
            state: state.clone(),
            locale,
            unread,
            email: user.email,
            return_to: return_path(&parts.method, &parts.uri),
            auth,
        })
    }
}

impl Viewer {
    pub(crate) fn t(&self) -> Tr<'_> {
        self.state.i18n.translator(self.locale)
    }

    pub(crate) fn core(&self) -> &Core {
        &self.state.core
    }

    pub(crate) fn actor(&self) -> &Actor {
        &self.auth.actor
    }

    pub(crate) fn csrf(&self) -> String {
        self.auth.csrf_token().unwrap_or_default()
    }

    /// The signed-in user's e-mail address (personal data: for rendering only).
    pub(crate) fn email(&self) -> &str {
        &self.email
    }

    /// Whether the signed-in user may change configuration such as pipelines.
    pub(crate) fn is_admin(&self) -> bool {
        self.state.core.may(
            &self.auth.actor,
            custodian_core::authz::SystemAction::ManageSettings,
        )
    }

    pub(crate) fn chrome(&self, nav: &'static str) -> Chrome {
        Chrome {
            user: Some(UserChrome {
                email: self.email.clone(),
                csrf: self.csrf(),
                return_to: self.return_to.clone(),
                locale_choice: self.auth.actor.locale.clone().unwrap_or_default(),
                admin: self.is_admin(),
                auditor: self.state.core.may(
                    &self.auth.actor,
                    custodian_core::authz::SystemAction::ReadAudit,
                ),
                security: self.state.core.may(
                    &self.auth.actor,
                    custodian_core::authz::SystemAction::MonitorSecurity,
                ),
            }),
            nav,
            public_path: "",
            keep_code: false,
            unread: self.unread,
        }
    }

    /// The first thing every state-changing handler does.
    pub(crate) fn check_csrf(&self, presented: &str) -> Result<(), UiError> {
        self.auth
            .verify_form_csrf(presented)
            .map_err(|e| self.fail(e))
    }

    /// An error page for this viewer, in their language, with the normal header.
    pub(crate) fn fail(&self, cause: impl Into<Cause>) -> UiError {
        let t = self.t();
        let (api, details) = cause.into().split(&t);
        UiError::build(
            self.state.i18n.clone(),
            self.locale,
            self.chrome(""),
            api,
            details,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Errors as HTML pages
// ---------------------------------------------------------------------------------------------

/// Anything a handler can fail with.
#[derive(Debug)]
pub(crate) enum Cause {
    Core(CoreError),
    Api(ApiError),
}

impl From<CoreError> for Cause {
    fn from(e: CoreError) -> Self {
        Self::Core(e)
    }
}

impl From<ApiError> for Cause {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl Cause {
    /// The status and stable code (via `ApiError`, which also logs internal failures), plus
    /// translated validation messages.
    fn split(self, t: &Tr<'_>) -> (ApiError, Vec<String>) {
        match self {
            Self::Core(CoreError::Validation(errors)) => {
                let details = errors.iter().map(|e| field_message(t, e)).collect();
                (CoreError::Validation(errors).into(), details)
            }
            Self::Core(e) => (e.into(), Vec::new()),
            Self::Api(e) => (e, Vec::new()),
        }
    }
}

pub(crate) trait UiResultExt<T> {
    fn ui(self, v: &Viewer) -> Result<T, UiError>;
}

impl<T, E: Into<Cause>> UiResultExt<T> for Result<T, E> {
    fn ui(self, v: &Viewer) -> Result<T, UiError> {
        self.map_err(|e| v.fail(e))
    }
}

/// An HTML error page: translated text for the stable code, the code itself, never internals.
/// Boxed so `Result<_, UiError>` stays small.
pub(crate) struct UiError(Box<UiErrorInner>);

struct UiErrorInner {
    status: StatusCode,
    code: &'static str,
    /// The English `ApiError` message, shown only for conflicts (it explains which state).
    detail: Option<String>,
    details: Vec<String>,
    i18n: Arc<Catalogs>,
    locale: &'static str,
    chrome: Chrome,
}

impl fmt::Debug for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UiError")
            .field("status", &self.0.status)
            .field("code", &self.0.code)
            .finish_non_exhaustive()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    code: &'static str,
    message: String,
    detail: Option<String>,
    details: Vec<String>,
}

impl UiError {
    pub(crate) fn build(
        i18n: Arc<Catalogs>,
        locale: &'static str,
        chrome: Chrome,
        api: ApiError,
        details: Vec<String>,
    ) -> Self {
        let detail = (api.code == "conflict").then(|| api.message.clone());
        Self(Box::new(UiErrorInner {
            status: api.status,
            code: api.code,
            detail,
            details,
            i18n,
            locale,
            chrome,
        }))
    }

    /// An error before sign-in (login and setup pages).
    pub(crate) fn public(state: &AppState, locale: &'static str, cause: impl Into<Cause>) -> Self {
        let t = state.i18n.translator(locale);
        let (api, details) = cause.into().split(&t);
        Self::build(state.i18n.clone(), locale, Chrome::default(), api, details)
    }

    /// Replaces the generic text of the code with a more specific catalog message.
    pub(crate) fn with_message_key(mut self, key: &'static str) -> Self {
        let inner = &mut self.0;
        inner.detail = None;
        inner.details = vec![inner.i18n.translator(inner.locale).t(key).to_owned()];
        self
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let this = *self.0;
        if this.code == "unauthenticated" {
            return Redirect::to("/login").into_response();
        }
        let t = this.i18n.translator(this.locale);
        let key = format!("error.{}", this.code);
        let message = match t.t(&key) {
            text if text == key => t.t("error.generic").to_owned(),
            text => text.to_owned(),
        };
        let page = ErrorPage {
            t,
            chrome: this.chrome,
            code: this.code,
            message,
            detail: this.detail,
            details: this.details,
        };
        render(this.status, &page)
    }
}
