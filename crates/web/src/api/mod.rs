//! REST API under `/api/v1`.

pub(crate) mod account;
mod activities;
pub(crate) mod audit;
mod companies;
mod complaints;
mod contacts;
mod custom_fields;
mod dashboard;
mod deals;
mod export_requests;
mod feedback;
mod identity;
mod leads;
mod notifications;
mod openapi;
mod orders;
mod passkeys;
mod policies;
mod products;
mod search;
pub(crate) mod security;
mod session;
mod tasks;
pub(crate) mod transfer;
mod users;

pub use openapi::ApiDoc;

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/auth/me", get(session::me))
        .route("/auth/second-factor", post(session::second_factor))
        .route("/auth/reauthenticate", post(session::reauthenticate))
        .route(
            "/auth/reauthenticate/send-code",
            post(identity::send_step_up_code),
        )
        .route(
            "/auth/second-factor/send-code",
            post(identity::send_sign_in_code),
        )
        .route(
            "/auth/second-factor/options",
            get(identity::sign_in_options),
        )
        .route("/auth/passkey/options", post(passkeys::begin_sign_in))
        .route("/auth/passkey", post(passkeys::sign_in))
        .route(
            "/auth/second-factor/passkey/options",
            post(passkeys::begin_second_factor),
        )
        .route("/auth/second-factor/passkey", post(passkeys::second_factor))
        .route(
            "/auth/reauthenticate/passkey/options",
            post(passkeys::begin_step_up),
        )
        .route("/auth/reauthenticate/passkey", post(passkeys::step_up))
        .route(
            "/account/passkeys",
            get(passkeys::list).post(passkeys::finish_registration),
        )
        .route(
            "/account/passkeys/registration",
            post(passkeys::begin_registration),
        )
        .route(
            "/account/passkeys/{id}",
            axum::routing::patch(passkeys::rename).delete(passkeys::remove),
        )
        .route("/auth/invitation/accept", post(identity::accept_invitation))
        .route("/auth/password/forgot", post(identity::forgot_password))
        .route("/auth/password/reset", post(identity::reset_password))
        .route("/account/email/send-code", post(identity::send_email_code))
        .route("/account/email/confirm", post(identity::confirm_email))
        .route(
            "/account/phone",
            axum::routing::put(identity::set_phone).delete(identity::remove_phone),
        )
        .route(
            "/account/phone/send-code",
            post(identity::resend_phone_code),
        )
        .route("/account/phone/confirm", post(identity::confirm_phone))
        .route(
            "/account/sent-codes/{channel}",
            post(identity::enable_sent_codes).delete(identity::disable_sent_codes),
        )
        .route("/users/invitations", post(identity::invite))
        .route("/users/{id}/invitation", post(identity::resend_invitation))
        .route("/users/{id}", axum::routing::delete(identity::delete_user))
        .route("/auth/password-strength", post(account::password_strength))
        .route("/account/password", post(account::change_password))
        .route("/account/second-factors", get(account::status))
        .route(
            "/account/totp",
            post(account::begin_totp).delete(account::remove_totp),
        )
        .route("/account/totp/confirm", post(account::confirm_totp))
        .route(
            "/account/recovery-codes",
            post(account::regenerate_recovery_codes),
        )
        .route("/account/sessions", get(account::my_sessions))
        .route("/account/security-events", get(account::my_security_events))
        .route(
            "/users/{id}/security-events",
            get(account::user_security_events),
        )
        .route(
            "/account/tokens",
            get(account::my_tokens).post(account::create_token),
        )
        .route(
            "/account/tokens/{id}",
            axum::routing::delete(account::revoke_token),
        )
        .route(
            "/account/sessions/end-others",
            post(account::end_my_other_sessions),
        )
        .route(
            "/account/sessions/{id}",
            axum::routing::delete(account::end_my_session),
        )
        .route("/users", get(users::list))
        .route(
            "/mfa-policy",
            get(users::mfa_policy).post(users::add_mfa_requirement),
        )
        .route(
            "/mfa-policy/{id}",
            axum::routing::delete(users::remove_mfa_requirement),
        )
        .route(
            "/users/{id}/attributes",
            axum::routing::put(users::set_attributes),
        )
        .route("/users/{id}/roles", axum::routing::put(users::set_roles))
        .route("/policies", get(policies::overview).post(policies::propose))
        .route("/policies/schema", get(policies::schema))
        .route("/policies/versions/{version}", get(policies::version))
        .route(
            "/policies/versions/{version}/approve",
            post(policies::approve),
        )
        .route(
            "/policies/versions/{version}/reject",
            post(policies::reject),
        )
        .route("/policies/explain", post(policies::explain))
        .route("/policies/readers", get(policies::readers))
        .route("/users/{id}/disable", post(users::disable))
        .route("/users/{id}/enable", post(users::enable))
        .route(
            "/users/{id}/reset-second-factors",
            post(users::reset_second_factors),
        )
        .route("/users/{id}/sessions", get(account::user_sessions))
        .route("/users/{id}/unlock", post(account::unlock_user))
        .route(
            "/users/{id}/sessions/end-all",
            post(account::end_user_sessions),
        )
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::get)
                .patch(contacts::update)
                .delete(contacts::delete),
        )
        .route("/contacts/{id}/restore", post(contacts::restore))
        .route("/contacts/{id}/reveal", post(contacts::reveal))
        .route("/companies", get(companies::list).post(companies::create))
        .route(
            "/companies/{id}",
            get(companies::get)
                .patch(companies::update)
                .delete(companies::delete),
        )
        .route("/companies/{id}/restore", post(companies::restore))
        .route(
            "/custom-fields",
            get(custom_fields::list).post(custom_fields::create),
        )
        .route(
            "/custom-fields/{id}",
            get(custom_fields::get).patch(custom_fields::update),
        )
        .route("/custom-fields/{id}/archive", post(custom_fields::archive))
        .route("/custom-fields/{id}/restore", post(custom_fields::restore))
        .route(
            "/pipelines",
            get(deals::list_pipelines).post(deals::create_pipeline),
        )
        .route(
            "/pipelines/{id}",
            get(deals::get_pipeline).patch(deals::update_pipeline),
        )
        .route("/pipelines/{id}/board", get(deals::board))
        .route("/dashboard", get(dashboard::get))
        .route("/deals", get(deals::list).post(deals::create))
        .route(
            "/deals/{id}",
            get(deals::get).patch(deals::update).delete(deals::delete),
        )
        .route("/deals/{id}/move", post(deals::move_stage))
        .route("/deals/{id}/close", post(deals::close))
        .route("/deals/{id}/reopen", post(deals::reopen))
        .route("/deals/{id}/history", get(deals::history))
        .route("/deals/{id}/restore", post(deals::restore))
        .route("/leads", get(leads::list).post(leads::create))
        .route(
            "/leads/{id}",
            get(leads::get).patch(leads::update).delete(leads::delete),
        )
        .route("/leads/{id}/qualify", post(leads::qualify))
        .route("/leads/{id}/disqualify", post(leads::disqualify))
        .route("/leads/{id}/convert", post(leads::convert))
        .route("/leads/{id}/restore", post(leads::restore))
        .route(
            "/activities",
            get(activities::list).post(activities::create),
        )
        .route(
            "/activities/{id}",
            get(activities::get)
                .patch(activities::update)
                .delete(activities::delete),
        )
        .route("/activities/{id}/restore", post(activities::restore))
        .route("/contacts/{id}/timeline", get(activities::contact_timeline))
        .route(
            "/companies/{id}/timeline",
            get(activities::company_timeline),
        )
        .route("/deals/{id}/timeline", get(activities::deal_timeline))
        .route(
            "/imports/contacts",
            post(transfer::import_contacts).layer(axum::extract::DefaultBodyLimit::max(
                transfer::IMPORT_BODY_BYTES,
            )),
        )
        .route("/exports/{kind}", get(transfer::export))
        .route(
            "/export-requests",
            get(export_requests::list).post(export_requests::create),
        )
        .route("/export-requests/{id}", get(export_requests::get))
        .route(
            "/export-requests/{id}/approve",
            post(export_requests::approve),
        )
        .route(
            "/export-requests/{id}/reject",
            post(export_requests::reject),
        )
        .route(
            "/export-requests/{id}/withdraw",
            post(export_requests::withdraw),
        )
        .route(
            "/export-requests/{id}/download",
            get(export_requests::download_file),
        )
        .route("/audit/events", get(audit::search))
        .route("/audit/events/{id}/proof", get(audit::proof))
        .route("/audit/checkpoints", get(audit::checkpoints))
        .route("/audit/export", get(audit::export))
        .route("/audit/retention", get(audit::retention))
        .route("/audit/report", get(audit::report))
        .route("/security/alerts", get(security::list))
        .route(
            "/security/alerts/{id}",
            get(security::get).patch(security::change),
        )
        .route("/security/dashboard", get(security::dashboard))
        .route("/security/verify", post(security::verify))
        .route("/metrics", get(security::metrics))
        .route("/search", post(search::search))
        .route("/views", get(search::list_views).post(search::create_view))
        .route(
            "/views/{id}",
            axum::routing::patch(search::update_view).delete(search::delete_view),
        )
        .route("/tasks", get(tasks::list).post(tasks::create))
        .route(
            "/tasks/{id}",
            get(tasks::get).patch(tasks::update).delete(tasks::delete),
        )
        .route("/tasks/{id}/complete", post(tasks::complete))
        .route("/tasks/{id}/reopen", post(tasks::reopen))
        .route("/tasks/{id}/restore", post(tasks::restore))
        .route("/notifications", get(notifications::list))
        .route(
            "/notifications/unread-count",
            get(notifications::unread_count),
        )
        .route(
            "/notifications/read-all",
            post(notifications::mark_all_read),
        )
        .route("/notifications/{id}/read", post(notifications::mark_read))
        .route("/products", get(products::list).post(products::create))
        .route(
            "/products/{id}",
            get(products::get)
                .patch(products::update)
                .delete(products::delete),
        )
        .route("/products/{id}/restore", post(products::restore))
        .route("/orders", get(orders::list).post(orders::create))
        .route(
            "/orders/{id}",
            get(orders::get)
                .patch(orders::update)
                .delete(orders::delete),
        )
        .route("/orders/{id}/transition", post(orders::transition))
        .route("/orders/{id}/restore", post(orders::restore))
        .route("/contacts/{id}/purchases", get(orders::contact_purchases))
        .route("/companies/{id}/purchases", get(orders::company_purchases))
        .route(
            "/contacts/{id}/product-interests",
            get(products::list_interests).post(products::set_interest),
        )
        .route(
            "/contacts/{id}/product-interests/{product_id}",
            axum::routing::delete(products::remove_interest),
        )
        .route(
            "/contacts/{id}/preferences",
            get(feedback::get_preferences).put(feedback::put_preferences),
        )
        .route(
            "/surveys",
            get(feedback::list_surveys).post(feedback::create_survey),
        )
        .route("/surveys/summary", get(feedback::survey_summary))
        .route(
            "/surveys/{id}",
            get(feedback::get_survey)
                .patch(feedback::update_survey)
                .delete(feedback::delete_survey),
        )
        .route("/surveys/{id}/restore", post(feedback::restore_survey))
        .route(
            "/complaints",
            get(complaints::list).post(complaints::create),
        )
        .route(
            "/complaints/{id}",
            get(complaints::get)
                .patch(complaints::update)
                .delete(complaints::delete),
        )
        .route("/complaints/{id}/transition", post(complaints::transition))
        .route("/complaints/{id}/history", get(complaints::history))
        .route("/complaints/{id}/restore", post(complaints::restore))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed on this resource.",
            )
        })
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// Public liveness and database reachability; reveals nothing else.
#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)), security(()))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    if state.core.ping().await {
        (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: "ok",
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "degraded",
                database: "unreachable",
            }),
        )
    }
}

/// A page of results: `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Parses `deleted=exclude|only|include`.
pub fn parse_deleted(raw: Option<&str>) -> Result<custodian_core::contacts::Deleted, ApiError> {
    use custodian_core::contacts::Deleted;
    match raw.unwrap_or("exclude") {
        "exclude" => Ok(Deleted::Exclude),
        "only" => Ok(Deleted::Only),
        "include" => Ok(Deleted::Include),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "`deleted` must be one of: exclude, only, include.",
        )),
    }
}
