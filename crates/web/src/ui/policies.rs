//! The policies page (`/settings/policies`, administrators with `admin.policies`): the policies
//! in force and their history, pending changes with their diff and reason, approve and reject
//! (by a second administrator), proposing a change, and "explain" — why may this user do
//! this to that record?

use super::account::or_reauth_to;
use super::session::{CsrfOnly, csrf_checked};
use super::support::{
    Chrome, FormErrors, UiError, UiResultExt, Viewer, bad_request, format_time, render,
};
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use custodian_core::CoreError;
use custodian_core::policies::{DiffLine, ExplainRequest, ExplainView, ProposePolicies};
use serde::Deserialize;

const NAV: &str = "policies";
const PATH: &str = "/settings/policies";

struct VersionRow {
    version: i64,
    status_key: String,
    reason: String,
    proposed_at: String,
    pending: bool,
    diff: Vec<DiffLine>,
}

#[derive(Template)]
#[template(path = "policies/page.html")]
struct Page<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    active_version: i64,
    two_person_rule: bool,
    text: String,
    history: Vec<VersionRow>,
    notice: Option<&'static str>,
    errors: FormErrors,
    draft: String,
    reason: String,
    explain: ExplainForm,
    answer: Option<ExplainView>,
}

#[derive(Default, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct ExplainForm {
    user: String,
    action: String,
    resource: String,
}

/// Leaves out the user (an e-mail address).
impl std::fmt::Debug for ExplainForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplainForm")
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProposeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    text: String,
    reason: String,
}

impl std::fmt::Debug for ProposeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProposeForm { .. }")
    }
}

struct Draft {
    text: Option<String>,
    reason: String,
    errors: FormErrors,
}

async fn page(
    v: &Viewer,
    status: StatusCode,
    notice: Option<&'static str>,
    draft: Draft,
    explain: ExplainForm,
    answer: Option<ExplainView>,
) -> Result<Response, UiError> {
    let overview = v.core().policy_overview(v.actor()).await.ui(v)?;
    let mut history = Vec::new();
    for row in overview.history {
        let pending = row.status == "proposed";
        // Pending changes show what they would change; decided ones link to nothing more.
        let diff = if pending {
            v.core()
                .policy_version(v.actor(), row.version)
                .await
                .ui(v)?
                .diff
                .into_iter()
                .filter(|l| l.op != ' ')
                .collect()
        } else {
            Vec::new()
        };
        history.push(VersionRow {
            version: row.version,
            status_key: format!("policies.status_{}", row.status),
            reason: row.reason,
            proposed_at: format_time(row.proposed_at),
            pending,
            diff,
        });
    }
    let p = Page {
        t: v.t(),
        chrome: v.chrome(NAV),
        active_version: overview.active_version,
        two_person_rule: overview.two_person_rule,
        draft: draft.text.unwrap_or_else(|| overview.text.clone()),
        text: overview.text,
        history,
        notice,
        errors: draft.errors,
        reason: draft.reason,
        explain,
        answer,
    };
    Ok(render(status, &p))
}

fn no_draft() -> Draft {
    Draft {
        text: None,
        reason: String::new(),
        errors: FormErrors::default(),
    }
}

/// The page; with `user`, `action` and `resource` in the query, also the answer to them.
pub(crate) async fn show(
    v: Viewer,
    query: Result<Query<ExplainForm>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(explain)) = query else {
        return Err(v.fail(bad_request()));
    };
    if explain.user.trim().is_empty() {
        return page(&v, StatusCode::OK, None, no_draft(), explain, None).await;
    }
    let request = ExplainRequest {
        user: explain.user.clone(),
        action: explain.action.clone(),
        resource: explain.resource.clone(),
    };
    match v.core().explain(v.actor(), request).await {
        Ok(answer) => page(&v, StatusCode::OK, None, no_draft(), explain, Some(answer)).await,
        Err(CoreError::Validation(errors)) => {
            let t = v.t();
            let draft = Draft {
                errors: FormErrors::from_fields(&t, &errors, &["user", "action", "resource"]),
                ..no_draft()
            };
            page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                draft,
                explain,
                None,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn propose(
    v: Viewer,
    form: Result<Form<ProposeForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let input = ProposePolicies {
        text: form.text.clone(),
        reason: form.reason.clone(),
    };
    let refused = |errors: FormErrors| Draft {
        text: Some(form.text.clone()),
        reason: form.reason.clone(),
        errors,
    };
    match v.core().propose_policies(v.actor(), input).await {
        Ok(version) => {
            let notice = if version.status == "proposed" {
                "policies.proposed"
            } else {
                "policies.activated"
            };
            page(
                &v,
                StatusCode::OK,
                Some(notice),
                no_draft(),
                ExplainForm::default(),
                None,
            )
            .await
        }
        Err(CoreError::Validation(errors)) => {
            let t = v.t();
            let errors = FormErrors::from_fields(&t, &errors, &["text", "reason"]);
            let draft = refused(errors);
            page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                draft,
                ExplainForm::default(),
                None,
            )
            .await
        }
        Err(e @ (CoreError::InvalidPolicy(_) | CoreError::Rule { .. })) => {
            let mut errors = FormErrors::default();
            errors
                .general
                .push(format!("{}{}", v.t().t("policies.refused"), e));
            let draft = refused(errors);
            page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                draft,
                ExplainForm::default(),
                None,
            )
            .await
        }
        Err(e) => or_reauth_to(&v, e, PATH).await,
    }
}

/// Approve or reject a pending change: a CSRF-only POST on
/// `/settings/policies/{version}/{approve|reject}`.
pub(crate) async fn decide(
    v: Viewer,
    Path((version, decision)): Path<(i64, String)>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    csrf_checked(&v, form)?;
    let core = v.core();
    let outcome = match decision.as_str() {
        "approve" => core
            .approve_policies(v.actor(), version)
            .await
            .map(|_| "policies.approved"),
        "reject" => core
            .reject_policies(v.actor(), version)
            .await
            .map(|_| "policies.rejected"),
        _ => return Err(v.fail(crate::error::ApiError::not_found())),
    };
    match outcome {
        Ok(notice) => {
            page(
                &v,
                StatusCode::OK,
                Some(notice),
                no_draft(),
                ExplainForm::default(),
                None,
            )
            .await
        }
        Err(e @ CoreError::Rule { .. }) => {
            let mut errors = FormErrors::default();
            errors
                .general
                .push(format!("{}{}", v.t().t("policies.refused"), e));
            let draft = Draft {
                errors,
                ..no_draft()
            };
            page(
                &v,
                StatusCode::CONFLICT,
                None,
                draft,
                ExplainForm::default(),
                None,
            )
            .await
        }
        Err(e) => or_reauth_to(&v, e, PATH).await,
    }
}
