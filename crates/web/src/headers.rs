//! Security headers on every response. The CSP allows scripts only from our own origin (no
//! inline script), forbids framing, plugins and base-URI tricks.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; \
base-uri 'none'";

/// Swagger UI styles elements inline; it holds no data, so only its pages get `'unsafe-inline'`
/// for styles (scripts stay `'self'`).
pub const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
object-src 'none'; base-uri 'none'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_docs = path.starts_with("/api/docs");
    let is_static = path.starts_with("/static/") || is_docs;
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=63072000; includeSubDomains",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        if is_docs { DOCS_CSP } else { CSP },
    );
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if is_static {
        // Static assets hold no personal data and are versioned with the binary.
        set(h, header::CACHE_CONTROL, "public, max-age=3600");
    } else {
        // Anything else may carry personal data: never cached by browsers or proxies.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    response
}

/// One log line per request: method, the matched route *template* (never the raw URI, which
/// holds ids), status, latency and client address. No bodies, no query strings. The same
/// method, route and status (and the latency) go to the request metrics.
pub async fn access_log(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    // Latency is a measurement, not business time: the monotonic clock is right here.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    let latency_ms = seconds * 1000.0;
    // A method label from a fixed set: a client cannot mint new series.
    let method_label = match method.as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    };
    state
        .core
        .metrics()
        .request(method_label, &route, status, seconds);
    if status >= 500 {
        tracing::error!(%method, route, status, latency_ms, client = ?client, "request");
    } else {
        tracing::info!(%method, route, status, latency_ms, client = ?client, "request");
    }
    response
}
