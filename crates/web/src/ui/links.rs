//! Public pages behind e-mailed links: "forgot password", choosing a new password from a reset
//! link, and choosing a first password from an invitation. The link's token arrives in the URL
//! fragment, which the page's script copies into the form (it never reaches the server in a
//! URL).

use super::session::{LangQuery, public_form, public_locale};
use super::support::{Chrome, FormErrors, UiError, render};
use crate::AppState;
use crate::auth::Client;
use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use custodian_core::CoreError;
use custodian_core::secrets::{ExposeSecret, SecretString};
use custodian_core::sessions::ClientInfo;
use serde::Deserialize;
use std::fmt;

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage<'a> {
    t: crate::i18n::Tr<'a>,
    chrome: Chrome,
    lang: String,
    sent: bool,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ForgotForm {
    email: String,
    lang: String,
}

pub(crate) async fn forgot_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = query
        .map(|Query(q)| q.lang)
        .ok()
        .flatten()
        .unwrap_or_default();
    let page = ForgotPage {
        t: state.i18n.translator(public_locale(&headers, Some(&lang))),
        chrome: Chrome::public("/password/forgot"),
        lang,
        sent: false,
        errors: FormErrors::default(),
    };
    render(StatusCode::OK, &page)
}

/// Always the same answer, whether or not the address has an account.
pub(crate) async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    form: Result<Form<ForgotForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = public_form(&state, &headers, &uri, form)?;
    state.core.request_password_reset(&form.email);
    let page = ForgotPage {
        t: state
            .i18n
            .translator(public_locale(&headers, Some(&form.lang))),
        chrome: Chrome::public("/password/forgot"),
        lang: form.lang,
        sent: true,
        errors: FormErrors::default(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Which link a page serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    PasswordReset,
    Invitation,
}

impl LinkKind {
    fn path(self) -> &'static str {
        match self {
            Self::PasswordReset => "/password/reset",
            Self::Invitation => "/invitation",
        }
    }

    fn key(self, part: &str) -> &'static str {
        match (self, part) {
            (Self::PasswordReset, "title") => "reset.title",
            (Self::PasswordReset, "intro") => "reset.intro",
            (Self::PasswordReset, "submit") => "reset.submit",
            (Self::PasswordReset, _) => "reset.done",
            (Self::Invitation, "title") => "invitation.title",
            (Self::Invitation, "intro") => "invitation.intro",
            (Self::Invitation, "submit") => "invitation.submit",
            (Self::Invitation, _) => "invitation.done",
        }
    }
}

#[derive(Template)]
#[template(path = "link_password.html")]
struct LinkPage<'a> {
    t: crate::i18n::Tr<'a>,
    chrome: Chrome,
    lang: String,
    action: &'static str,
    title_key: &'static str,
    intro_key: &'static str,
    submit_key: &'static str,
    done_key: &'static str,
    done: bool,
    failed: Option<String>,
    password_help: String,
    errors: FormErrors,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct LinkForm {
    token: Option<SecretString>,
    password: Option<SecretString>,
    password_confirm: Option<SecretString>,
    lang: String,
}

impl fmt::Debug for LinkForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkForm { .. }")
    }
}

fn link_page<'a>(
    state: &'a AppState,
    locale: &'static str,
    kind: LinkKind,
    lang: String,
) -> LinkPage<'a> {
    let t = state.i18n.translator(locale);
    let password_help = t.t("setup.password_help").replace(
        "{n}",
        &state.core.settings().password_min_length.to_string(),
    );
    LinkPage {
        t,
        chrome: Chrome::public(kind.path()),
        lang,
        action: kind.path(),
        title_key: kind.key("title"),
        intro_key: kind.key("intro"),
        submit_key: kind.key("submit"),
        done_key: kind.key("done"),
        done: false,
        failed: None,
        password_help,
        errors: FormErrors::default(),
    }
}

async fn show(
    state: AppState,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
    kind: LinkKind,
) -> Response {
    let lang = query
        .map(|Query(q)| q.lang)
        .ok()
        .flatten()
        .unwrap_or_default();
    let locale = public_locale(&headers, Some(&lang));
    render(StatusCode::OK, &link_page(&state, locale, kind, lang))
}

async fn submit(
    state: AppState,
    headers: HeaderMap,
    uri: Uri,
    client: ClientInfo,
    form: Result<Form<LinkForm>, FormRejection>,
    kind: LinkKind,
) -> Result<Response, UiError> {
    let form = public_form(&state, &headers, &uri, form)?;
    let locale = public_locale(&headers, Some(&form.lang));
    let mut page = link_page(&state, locale, kind, form.lang);
    let empty = || SecretString::from(String::new());
    let token = form.token.unwrap_or_else(empty);
    let password = form.password.unwrap_or_else(empty);
    let confirm = form.password_confirm.unwrap_or_else(empty);
    if password.expose_secret() != confirm.expose_secret() {
        page.errors.add(
            "password_confirm",
            page.t.t("field_error.password_mismatch").to_owned(),
        );
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let outcome = match kind {
        LinkKind::PasswordReset => state.core.reset_password(&token, password, client.ip).await,
        LinkKind::Invitation => state
            .core
            .accept_invitation(&token, password, client.ip)
            .await
            .map(|_| ()),
    };
    match outcome {
        Ok(()) => {
            page.done = true;
            Ok(render(StatusCode::OK, &page))
        }
        Err(CoreError::InvalidLink) => {
            page.failed = Some(page.t.t("link.invalid").to_owned());
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(CoreError::Validation(field_errors)) => {
            page.errors = FormErrors::from_fields(&page.t, &field_errors, &["password"]);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(UiError::public(&state, locale, e)),
    }
}

pub(crate) async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    show(state, headers, query, LinkKind::PasswordReset).await
}

pub(crate) async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Client(client): Client,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, UiError> {
    submit(state, headers, uri, client, form, LinkKind::PasswordReset).await
}

pub(crate) async fn invitation_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    show(state, headers, query, LinkKind::Invitation).await
}

pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Client(client): Client,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, UiError> {
    submit(state, headers, uri, client, form, LinkKind::Invitation).await
}
