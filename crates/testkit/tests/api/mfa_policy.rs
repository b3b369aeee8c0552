//! The MFA policy: administrators require a second factor; covered users without one get a
//! session that can only set one up, which confirming replaces with a full session (new token);
//! covered users cannot remove their authenticator; validation and permissions.

use custodian_crypto::otp::totp_secret_from_base32;
use custodian_domain::Clock;
use custodian_testkit::{
    ADMIN_PASSWORD, Backend, TestApp, client, error_code, location, on_both_backends, spawn_app,
    split,
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const EMAIL: &str = "chen.jing@example.cn";

async fn login(app: &TestApp) -> (reqwest::Client, StatusCode, Value) {
    let c = client(&app.cert_pem, true);
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, body) = split(res).await;
    (c, status, body)
}

async fn call(
    app: &TestApp,
    c: &reqwest::Client,
    method: Method,
    path: &str,
    csrf: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = c
        .request(method, app.url(path))
        .header("x-csrf-token", csrf);
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    split(rb.send().await.unwrap()).await
}

async fn covered_users_must_enrol_before_anything_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.sign_in_new_user(EMAIL).await;
    let (status, body) = app.get_json("/api/v1/mfa-policy").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["rules"], json!([]));

    // Validation, duplicates and permissions.
    for (input, code) in [
        (json!({"scope": "nobody"}), "invalid_choice"),
        (json!({"scope": "role", "value": "boss"}), "invalid_role"),
        (json!({"scope": "team", "value": "a/b"}), "invalid_label"),
    ] {
        let (status, body) = app.post_json("/api/v1/mfa-policy", &input).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{input}");
        assert_eq!(body["details"][0]["code"], code);
    }
    let (status, body) = user
        .post_json("/api/v1/mfa-policy", &json!({"scope": "everyone"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, rule) = app
        .post_json(
            "/api/v1/mfa-policy",
            &json!({"scope": "role", "value": "all_records"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    let (status, body) = app
        .post_json(
            "/api/v1/mfa-policy",
            &json!({"scope": "role", "value": "all_records"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The next sign-in is restricted to setting up an authenticator.
    let (c, status, body) = login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["second_factor_enrolment_required"], true);
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let (status, body) = call(&app, &c, Method::GET, "/api/v1/contacts", &csrf, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("second_factor_enrolment_required"));
    let (status, _) = call(&app, &c, Method::GET, "/api/v1/auth/me", &csrf, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, enrolment) =
        call(&app, &c, Method::POST, "/api/v1/account/totp", &csrf, None).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolment}");
    let secret = totp_secret_from_base32(enrolment["key"].as_str().unwrap()).unwrap();
    let secs = u64::try_from(app.clock.now_millis() / 1000).unwrap();
    let (status, confirmed) = call(
        &app,
        &c,
        Method::POST,
        "/api/v1/account/totp/confirm",
        &csrf,
        Some(json!({"code": secret.code_at(secs).unwrap()})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let new_csrf = confirmed["csrf_token"].as_str().unwrap().to_owned();
    assert_ne!(new_csrf, csrf, "a new session, a new token");
    let (status, body) = call(&app, &c, Method::GET, "/api/v1/contacts", &new_csrf, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Covered: the authenticator stays.
    let (status, body) = call(
        &app,
        &c,
        Method::DELETE,
        "/api/v1/account/totp",
        &new_csrf,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), Some("second_factor_required"));

    // Without the rule, a user without a factor signs in normally again.
    let (status, _) = app
        .delete(&format!(
            "/api/v1/mfa-policy/{}",
            rule["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .post_json(
            &format!("/api/v1/users/{}/reset-second-factors", user.id),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, status, body) = login(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["second_factor_enrolment_required"], false);
}

async fn the_ui_walks_covered_users_to_enrolment(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in_new_user(EMAIL).await;
    let res = app
        .post_form(
            "/settings/mfa-policy",
            &[
                ("_csrf", app.csrf.as_str()),
                ("scope", "everyone"),
                ("value", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("id=\"mfa-rules\""));

    let browser = client(&app.cert_pem, true);
    let res = browser
        .post(app.url("/login"))
        .form(&[("email", EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/dashboard");
    let res = browser
        .get(app.url("/dashboard"))
        .header(header::ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account/security");
    let res = browser
        .get(app.url("/account/security"))
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("您的组织要求使用两步验证") && html.contains("id=\"setup-totp\""));
}

on_both_backends!(
    covered_users_must_enrol_before_anything_else,
    the_ui_walks_covered_users_to_enrolment,
);
