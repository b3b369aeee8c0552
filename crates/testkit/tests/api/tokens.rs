//! API tokens people manage: scopes per resource (write includes read; admin separate),
//! networks, default and maximum expiry, listing without secrets, revocation on the next
//! request, and the step-up creating one needs.

use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app, split};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

async fn create(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post_json("/api/v1/account/tokens", &body).await
}

async fn with_token(app: &TestApp, token: &str, method: Method, path: &str) -> (StatusCode, Value) {
    let mut rb = app
        .anon
        .request(method.clone(), app.url(path))
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if method == Method::POST {
        rb = rb.json(&json!({"name": "Scoped Person"}));
    }
    split(rb.send().await.unwrap()).await
}

async fn tokens_do_only_what_their_scopes_and_networks_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, code) in [
        (
            json!({"name": "x", "scopes": "contacts:delete"}),
            "invalid_scope",
        ),
        (json!({"name": "x", "scopes": ""}), "required"),
        (
            json!({"name": "x", "scopes": "contacts:read", "networks": "10.0.0.0/33"}),
            "invalid_network",
        ),
        (
            json!({"name": "x", "scopes": "contacts:read", "expires_in_days": 400}),
            "out_of_range",
        ),
    ] {
        let (status, answer) = create(&app, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer["details"][0]["code"], code, "{body}");
    }

    let (status, created) = create(
        &app,
        json!({"name": "Reporting", "scopes": "contacts:read tasks:write"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cus_t_"));
    for (method, path, expected) in [
        (Method::GET, "/api/v1/contacts", StatusCode::OK),
        (Method::GET, "/api/v1/auth/me", StatusCode::OK),
        (Method::GET, "/api/v1/tasks", StatusCode::OK),
        (Method::POST, "/api/v1/contacts", StatusCode::FORBIDDEN),
        (Method::GET, "/api/v1/deals", StatusCode::FORBIDDEN),
        (Method::GET, "/api/v1/users", StatusCode::FORBIDDEN),
        (
            Method::GET,
            "/api/v1/account/sessions",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, body) = with_token(&app, &token, method.clone(), path).await;
        assert_eq!(status, expected, "{method} {path}: {body}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(error_code(&body), Some("token_scope"), "{path}");
        }
    }

    // Networks: this test client comes from 127.0.0.1.
    let (_, elsewhere) = create(
        &app,
        json!({"name": "Office only", "scopes": "*:read", "networks": "10.9.0.0/16"}),
    )
    .await;
    let (status, body) = with_token(
        &app,
        elsewhere["token"].as_str().unwrap(),
        Method::GET,
        "/api/v1/contacts",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("token_network"));
    let (_, here) = create(
        &app,
        json!({"name": "Loopback", "scopes": "*:read", "networks": "127.0.0.0/8, ::1"}),
    )
    .await;
    let (status, _) = with_token(
        &app,
        here["token"].as_str().unwrap(),
        Method::GET,
        "/api/v1/contacts",
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Listed with their use, never with the secret.
    let (status, list) = app.get_json("/api/v1/account/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(!list.to_string().contains(&token));
    let reporting = items.iter().find(|t| t["name"] == "Reporting").unwrap();
    assert_eq!(reporting["scopes"], json!(["contacts:read", "tasks:write"]));
    assert!(reporting["last_used_at"].is_i64());
    let days = (reporting["expires_at"].as_i64().unwrap()
        - reporting["created_at"].as_i64().unwrap())
        / 86_400_000;
    assert_eq!(days, 90, "default expiry");

    // Revoked: refused on the very next request.
    let (status, _) = app
        .delete(&format!(
            "/api/v1/account/tokens/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = with_token(&app, &token, Method::GET, "/api/v1/contacts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Expired after its 90 days.
    app.clock.advance(time::Duration::days(91));
    let (status, _) = with_token(
        &app,
        here["token"].as_str().unwrap(),
        Method::GET,
        "/api/v1/contacts",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn creating_a_token_needs_a_recent_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = create(&app, json!({"name": "Late", "scopes": "*:read"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    app.reauthenticate().await;
    let (status, _) = create(&app, json!({"name": "Late", "scopes": "*:read"})).await;
    assert_eq!(status, StatusCode::CREATED);
}

on_both_backends!(
    tokens_do_only_what_their_scopes_and_networks_allow,
    creating_a_token_needs_a_recent_sign_in,
);
