//! User administration pages (administrators): the directory with each user's team,
//! department, region, status and second factor; disable/enable, reset second factors (after
//! the administrator's own step-up), lift a sign-in lockout, end all sessions; and a page to
//! edit a user's attributes.

use super::account::or_reauth_to;
use super::session::{CsrfOnly, csrf_checked_id};
use super::support::{
    Chrome, FormErrors, UiError, UiResultExt, Viewer, bad_request, format_millis, parse_id, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::users::{UserAdminView, UserAttributes};
use custodian_domain::UserId;
use serde::Deserialize;

const NAV: &str = "users";
const USERS_PATH: &str = "/settings/users";

struct UserRow {
    id: String,
    email: String,
    name: String,
    role: String,
    roles: Vec<String>,
    team: String,
    department: String,
    region: String,
    active: bool,
    invited: bool,
    second_factor: bool,
    created: String,
    is_self: bool,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    users: Vec<UserRow>,
    notice: Option<&'static str>,
    rules: Vec<RuleRow>,
    errors: FormErrors,
}

/// One rule of the MFA policy as shown.
struct RuleRow {
    id: String,
    text: String,
}

fn row(v: &Viewer, u: UserAdminView) -> UserRow {
    UserRow {
        id: u.id.to_string(),
        is_self: u.id == v.actor().user_id,
        email: u.email,
        name: u.display_name.unwrap_or_default(),
        role: u.roles.join(", "),
        roles: u.roles.clone(),
        team: u.team.unwrap_or_default(),
        department: u.department.unwrap_or_default(),
        region: u.region.unwrap_or_default(),
        active: u.status == "active",
        invited: u.status == custodian_core::account_links::STATUS_INVITED,
        second_factor: u.second_factor,
        created: format_millis(u.created_at),
    }
}

async fn list_page(v: &Viewer, notice: Option<&'static str>) -> Result<Response, UiError> {
    list_page_with(v, StatusCode::OK, notice, FormErrors::default()).await
}

async fn list_page_with(
    v: &Viewer,
    status: StatusCode,
    notice: Option<&'static str>,
    errors: FormErrors,
) -> Result<Response, UiError> {
    let users = v.core().list_users(v.actor()).await.ui(v)?;
    let t = v.t();
    let rules = v
        .core()
        .mfa_policy(v.actor())
        .await
        .ui(v)?
        .into_iter()
        .map(|r| RuleRow {
            id: r.id.to_string(),
            text: match r.scope.as_str() {
                custodian_core::mfa_policy::SCOPE_EVERYONE => t.t("users.mfa_everyone").to_owned(),
                scope => format!(
                    "{}{}{}",
                    t.t(&format!("users.mfa_scope_{scope}")),
                    t.t("common.label_sep"),
                    r.value
                ),
            },
        })
        .collect();
    let page = ListPage {
        t,
        chrome: v.chrome(NAV),
        users: users.into_iter().map(|u| row(v, u)).collect(),
        notice,
        rules,
        errors,
    };
    Ok(render(status, &page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RuleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    scope: String,
    value: String,
}

pub(crate) async fn add_rule(
    v: Viewer,
    form: Result<Form<RuleForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let input = custodian_core::mfa_policy::MfaRequirementInput {
        scope: form.scope,
        value: form.value,
    };
    match v.core().add_mfa_requirement(v.actor(), input).await {
        Ok(_) => list_page(&v, Some("users.mfa_rule_added")).await,
        Err(CoreError::Validation(field_errors)) => {
            let errors = FormErrors::from_fields(&v.t(), &field_errors, &["scope", "value"]);
            list_page_with(&v, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(e) => or_reauth_to(&v, e, USERS_PATH).await,
    }
}

pub(crate) async fn remove_rule(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &id, form)?;
    match v.core().remove_mfa_requirement(v.actor(), id).await {
        Ok(()) => list_page(&v, Some("users.mfa_rule_removed")).await,
        Err(e) => or_reauth_to(&v, e, USERS_PATH).await,
    }
}

pub(crate) async fn list(v: Viewer) -> Result<Response, UiError> {
    list_page(&v, None).await
}

/// The actions of the list: each a CSRF-only POST on `/settings/users/{id}/{action}`.
pub(crate) async fn act(
    v: Viewer,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = UserId(csrf_checked_id(&v, &id, form)?);
    let core = v.core();
    let outcome = match action.as_str() {
        "disable" => core
            .disable_user(v.actor(), id)
            .await
            .map(|_| "users.disabled"),
        "enable" => core
            .enable_user(v.actor(), id)
            .await
            .map(|()| "users.enabled"),
        "unlock" => core
            .unlock_user(v.actor(), id)
            .await
            .map(|_| "users.unlocked"),
        "end-sessions" => core
            .end_user_sessions(v.actor(), id)
            .await
            .map(|_| "users.sessions_ended"),
        "reset-second-factors" => core
            .reset_second_factors(v.actor(), id)
            .await
            .map(|()| "users.second_factors_reset"),
        "resend-invitation" => core
            .resend_invitation(v.actor(), id)
            .await
            .map(|_| "users.invitation_resent"),
        _ => return Err(v.fail(crate::error::ApiError::not_found())),
    };
    match outcome {
        Ok(notice) => list_page(&v, Some(notice)).await,
        Err(e) => or_reauth_to(&v, e, USERS_PATH).await,
    }
}

#[derive(Template)]
#[template(path = "users/edit.html")]
struct EditPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    user: UserRow,
    errors: FormErrors,
    /// Active users who could take over this user's records if it is deleted.
    heirs: Vec<super::support::SelectOption>,
    /// The user's recent security activity.
    activity: Vec<super::account::ActivityRow>,
    /// Every role, ticked where the user holds it.
    role_choices: Vec<RoleChoice>,
}

/// One role on the roles form.
struct RoleChoice {
    name: &'static str,
    label_key: String,
    help_key: String,
    held: bool,
}

async fn edit_page(
    v: &Viewer,
    id: UserId,
    status: StatusCode,
    attributes: Option<UserAttributes>,
    errors: FormErrors,
) -> Result<Response, UiError> {
    let found = v.core().user_for_admin(v.actor(), id).await.ui(v)?;
    let mut user = row(v, found);
    if let Some(a) = attributes {
        user.team = a.team.unwrap_or_default();
        user.department = a.department.unwrap_or_default();
        user.region = a.region.unwrap_or_default();
    }
    let heirs = v
        .core()
        .list_users(v.actor())
        .await
        .ui(v)?
        .into_iter()
        .filter(|u| u.id != id && u.status == "active")
        .map(|u| super::support::SelectOption {
            value: u.id.to_string(),
            label: u.email,
            selected: u.id == v.actor().user_id,
        })
        .collect();
    let t = v.t();
    let activity = super::account::activity_rows(
        &t,
        v.core().user_security_events(v.actor(), id).await.ui(v)?,
    );
    let role_choices = custodian_core::authz::model::BUILTIN_ROLES
        .iter()
        .map(|name| RoleChoice {
            name,
            label_key: format!("role.{name}"),
            help_key: format!("role.{name}_help"),
            held: user.roles.iter().any(|r| r == name),
        })
        .collect();
    let page = EditPage {
        t,
        chrome: v.chrome(NAV),
        user,
        errors,
        heirs,
        activity,
        role_choices,
    };
    Ok(render(status, &page))
}

pub(crate) async fn edit_form(v: Viewer, Path(id): Path<String>) -> Result<Response, UiError> {
    let id = UserId(parse_id(&id).ui(&v)?);
    edit_page(&v, id, StatusCode::OK, None, FormErrors::default()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AttributesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    team: String,
    department: String,
    region: String,
}

pub(crate) async fn update(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<AttributesForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = UserId(parse_id(&id).ui(&v)?);
    let attributes = UserAttributes {
        team: Some(form.team),
        department: Some(form.department),
        region: Some(form.region),
    };
    match v
        .core()
        .set_user_attributes(v.actor(), id, attributes.clone())
        .await
    {
        Ok(()) => Ok(Redirect::to(USERS_PATH).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors =
                FormErrors::from_fields(&v.t(), &field_errors, &["team", "department", "region"]);
            edit_page(
                &v,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(attributes),
                errors,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InviteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    email: String,
    display_name: String,
    role: String,
}

pub(crate) async fn invite(
    v: Viewer,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let roles: Vec<String> = if form.role.is_empty() {
        Vec::new()
    } else {
        vec![form.role]
    };
    match v
        .core()
        .invite_user(v.actor(), &form.email, &form.display_name, &roles)
        .await
    {
        Ok(_) => list_page(&v, Some("users.invited")).await,
        Err(CoreError::Validation(field_errors)) => {
            let errors = FormErrors::from_fields(
                &v.t(),
                &field_errors,
                &["email", "display_name", "role", "roles"],
            );
            list_page_with(&v, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(e @ (CoreError::ChannelUnavailable(_) | CoreError::DeliveryFailed(_))) => {
            let t = v.t();
            let mut errors = FormErrors::default();
            let text = super::session::code_error_text(&t, &e).unwrap_or_default();
            errors.add("email", text);
            list_page_with(&v, StatusCode::SERVICE_UNAVAILABLE, None, errors).await
        }
        Err(e) => Err(v.fail(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    reassign_to: String,
}

pub(crate) async fn delete(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = UserId(parse_id(&id).ui(&v)?);
    let heir = UserId(parse_id(&form.reassign_to).ui(&v)?);
    match v.core().delete_user(v.actor(), id, heir).await {
        Ok(_) => list_page(&v, Some("users.deleted")).await,
        Err(CoreError::Validation(field_errors)) => {
            let errors = FormErrors::from_fields(&v.t(), &field_errors, &["reassign_to"]);
            edit_page(&v, id, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(e) => or_reauth_to(&v, e, &format!("{USERS_PATH}/{}", id.as_uuid())).await,
    }
}

/// The roles form: one `role_<name>` checkbox per role.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct RolesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(flatten)]
    ticked: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for RolesForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RolesForm { .. }")
    }
}

/// Replaces a user's roles (after the administrator's own step-up; the last administrator
/// keeps the role).
pub(crate) async fn set_roles(
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Form<RolesForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = UserId(parse_id(&id).ui(&v)?);
    let roles: Vec<String> = form
        .ticked
        .keys()
        .filter_map(|k| k.strip_prefix("role_"))
        .map(str::to_owned)
        .collect();
    let back = format!("{USERS_PATH}/{}", id.as_uuid());
    match v.core().set_user_roles(v.actor(), id, &roles).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = FormErrors::from_fields(&v.t(), &field_errors, &[]);
            edit_page(&v, id, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(e @ CoreError::Rule { .. }) | Err(e @ CoreError::Conflict(_)) => {
            let mut errors = FormErrors::default();
            errors.general.push(e.to_string());
            edit_page(&v, id, StatusCode::CONFLICT, None, errors).await
        }
        Err(e) => or_reauth_to(&v, e, &back).await,
    }
}
