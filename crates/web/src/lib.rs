//! Custodian's HTTP surface: one router for the REST API (`/api/v1`) and the HTML UI, security
//! headers on every response, one `ApiError` that maps use-case errors to stable codes.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod headers;
pub mod i18n;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use custodian_core::Core;
use std::sync::Arc;

pub use error::ApiError;

/// Largest request body accepted anywhere (JSON or form). Imports get their own limit later.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct AppState {
    pub core: Core,
    pub i18n: Arc<i18n::Catalogs>,
}

impl AppState {
    pub fn new(core: Core) -> Result<Self, i18n::CatalogError> {
        Ok(Self {
            core,
            i18n: Arc::new(i18n::Catalogs::load()?),
        })
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    use utoipa::OpenApi;
    Router::new()
        .nest("/api/v1", api::routes())
        // Serves the spec at /api/v1/openapi.json and the vendored Swagger UI at /api/docs.
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/api/docs")
                .url("/api/v1/openapi.json", api::ApiDoc::openapi()),
        )
        .merge(ui::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::record_oversized_credentials,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::access_log,
        ))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .with_state(state)
}
