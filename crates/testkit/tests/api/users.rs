//! User administration: the directory, attributes, disabling (every session ends at once, no
//! sign-in or token works) and enabling, and resetting second factors behind the
//! administrator's own step-up.

use custodian_crypto::otp::totp_secret_from_base32;
use custodian_domain::Clock;
use custodian_testkit::{
    ADMIN_PASSWORD, Backend, client, error_code, on_both_backends, spawn_app, split,
};
use reqwest::StatusCode;
use serde_json::json;

async fn administrators_manage_users_and_their_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.sign_in_new_user("li.wei@example.cn").await;

    let (status, body) = split(
        app.request(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{}/attributes", user.id),
        )
        .json(&json!({"team": "East Sales", "department": "Sales", "region": "CN-East"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = split(
        app.request(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{}/attributes", user.id),
        )
        .json(&json!({"team": "<script>"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["details"][0]["code"], "invalid_label");

    let (status, list) = app.get_json("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let li = items.iter().find(|u| u["id"] == user.id.as_str()).unwrap();
    assert_eq!(li["email"], "li.wei@example.cn");
    assert_eq!(li["team"], "East Sales");
    assert_eq!(li["region"], "cn-east");
    assert_eq!(li["status"], "active");
    assert_eq!(li["second_factor"], false);

    // Only administrators.
    let (status, body) = user.get_json("/api/v1/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("forbidden"));

    // Disabling ends the user's sessions at once and refuses sign-in.
    let (status, body) = app
        .post_json(&format!("/api/v1/users/{}/disable", user.id), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sessions_ended"], 1);
    let (status, _) = user.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let login = |password: &str| {
        let c = client(&app.cert_pem, true);
        let url = app.url("/api/v1/auth/login");
        let body = json!({"email": "li.wei@example.cn", "password": password});
        async move { c.post(url).json(&body).send().await.unwrap().status() }
    };
    assert_eq!(login(ADMIN_PASSWORD).await, StatusCode::UNAUTHORIZED);
    let (_, me) = app.get_json("/api/v1/auth/me").await;
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post_json(&format!("/api/v1/users/{admin_id}/disable"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), Some("cannot_disable_self"));
    let (status, _) = app
        .post_json(&format!("/api/v1/users/{}/enable", user.id), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(login(ADMIN_PASSWORD).await, StatusCode::OK);
}

async fn resetting_second_factors_needs_the_administrators_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.sign_in_new_user("zhao.min@example.cn").await;
    // The user sets up an authenticator.
    let (status, enrolment) = user.post_json("/api/v1/account/totp", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolment}");
    let secret = totp_secret_from_base32(enrolment["key"].as_str().unwrap()).unwrap();
    let secs = u64::try_from(app.clock.now_millis() / 1000).unwrap();
    let (status, _) = user
        .post_json(
            "/api/v1/account/totp/confirm",
            &json!({"code": secret.code_at(secs).unwrap()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    app.clock.advance(time::Duration::minutes(11));
    let path = format!("/api/v1/users/{}/reset-second-factors", user.id);
    let (status, body) = app.post_json(&path, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    app.reauthenticate().await;
    let (status, _) = app.post_json(&path, &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.get_json("/api/v1/users").await;
    let zhao = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == user.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(zhao["second_factor"], false);
    let (status, _) = user.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "their sessions ended");
    // The password alone signs in again.
    let res = client(&app.cert_pem, true)
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "zhao.min@example.cn", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn the_users_page_lists_edits_and_disables(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.sign_in_new_user("wang.fang@example.cn").await;
    let (status, html) = app.html("/settings/users", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("wang.fang@example.cn") && html.contains("停用"),
        "{html}"
    );
    assert!(html.contains("<title>用户 · Custodian</title>"), "{html}");
    // Staff may not see it.
    let res = user
        .request(reqwest::Method::GET, "/settings/users")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = app
        .post_form(
            &format!("/settings/users/{}", user.id),
            &[
                ("_csrf", app.csrf.as_str()),
                ("team", "North"),
                ("department", "Sales"),
                ("region", "bad/region"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"f-region-error\"") && html.contains("value=\"North\""));
    let res = app
        .post_form(
            &format!("/settings/users/{}", user.id),
            &[
                ("_csrf", app.csrf.as_str()),
                ("team", "North"),
                ("department", "Sales"),
                ("region", "cn-north"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let res = app
        .post_form(
            &format!("/settings/users/{}/disable", user.id),
            &[("_csrf", app.csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"users-notice\"") && html.contains("cn-north"),
        "{html}"
    );
    let (status, _) = user.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = app
        .post_form(
            &format!("/settings/users/{}/bogus", user.id),
            &[("_csrf", app.csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

on_both_backends!(
    administrators_manage_users_and_their_sessions,
    resetting_second_factors_needs_the_administrators_step_up,
    the_users_page_lists_edits_and_disables,
);
