//! The password policy through the API (common/breached list, context words, repetition),
//! changing one's password (ends every other session), and the strength advice.

use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, client, error_code, on_both_backends, spawn_app, split,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn login(app: &custodian_testkit::TestApp, password: &str) -> (reqwest::Client, StatusCode) {
    let c = client(&app.cert_pem, true);
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": password}))
        .send()
        .await
        .unwrap();
    (c, res.status())
}

fn field_code(body: &Value) -> (&str, &str) {
    let detail = &body["details"][0];
    (
        detail["field"].as_str().unwrap(),
        detail["code"].as_str().unwrap(),
    )
}

async fn password_change_applies_the_policy_and_ends_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (other, status) = login(&app, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let (status, body) = app
        .post_json(
            "/api/v1/account/password",
            &change("wrong current password", "correct horse battery staple"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_code(&body),
        ("current_password", "password_incorrect")
    );
    for (new, code) in [
        // Breached lists, compared without regard to case; a Chinese pinyin one too.
        ("Password1234", "password_common"),
        ("WoAiNi5201314", "password_common"),
        ("qwerty123456", "password_common"),
        ("my custodian passphrase", "password_contains_context"),
        ("admin and the long walk", "password_contains_context"),
        ("abcabcabcabc", "password_repetitive"),
        ("tiny9", "password_too_short"),
    ] {
        let (status, body) = app
            .post_json("/api/v1/account/password", &change(ADMIN_PASSWORD, new))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{new}: {body}");
        assert_eq!(field_code(&body), ("password", code), "{new}");
        assert!(
            !body.to_string().contains(new),
            "the password is not echoed"
        );
    }
    let long = "x".repeat(1024 * 1024);
    let (status, body) = app
        .post_json("/api/v1/account/password", &change(ADMIN_PASSWORD, &long))
        .await;
    assert!(status.is_client_error(), "a 1 MB password: {status}");
    assert_ne!(error_code(&body), None);
    assert!(
        crate::security_activity::anonymous(&app).await.contains(&(
            "authn_oversized_request".to_owned(),
            "/api/v1/account/password".to_owned()
        )),
        "the oversized body is a security event"
    );

    // Every accepted password keeps its exact form: spaces and Chinese characters included.
    let new_password = "长城 correct horse battery";
    let (status, body) = app
        .post_json(
            "/api/v1/account/password",
            &change(ADMIN_PASSWORD, new_password),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ended"], 1);
    let me = other.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "other session ended");
    let (status, _) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "this session stays");
    assert_eq!(
        login(&app, ADMIN_PASSWORD).await.1,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&app, new_password).await.1, StatusCode::OK);
    // NFKC: the full-width form of the same letters is the same password.
    let full_width = "长城\u{3000}ｃｏｒｒｅｃｔ horse battery";
    assert_eq!(login(&app, full_width).await.1, StatusCode::OK);
}

async fn strength_advice_scores_and_explains(backend: Backend) {
    let app = spawn_app(backend).await;
    let ask = |password: &str| {
        let app = &app;
        let password = password.to_owned();
        async move {
            split(
                app.anon
                    .post(app.url("/api/v1/auth/password-strength"))
                    .json(&json!({"password": password, "email": "wang.fang@example.cn"}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, weak) = ask("password").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(weak["score"], 0);
    assert_eq!(weak["warning"], "top_10_password");
    let (_, strong) = ask("tidal basin umbrella 1987 quietly").await;
    assert_eq!(strong["score"], 4, "{strong}");
    let (_, named) = ask("wang.fang").await;
    assert!(named["score"].as_u64().unwrap() <= 1, "{named}");

    // The UI fragment, translated.
    let res = app
        .anon
        .post(app.url("/password/strength"))
        .header(reqwest::header::ACCEPT_LANGUAGE, "zh-CN")
        .form(&[("password", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<meter") && html.contains("value=\"0\""),
        "{html}"
    );
    assert!(html.contains("很弱"), "{html}");
}

on_both_backends!(
    password_change_applies_the_policy_and_ends_other_sessions,
    strength_advice_scores_and_explains,
);
