//! The account security page in the browser's terms (HTML forms, no script): set up an
//! authenticator from the server-rendered QR page, see the recovery codes once, then sign in
//! through the two-step form; both languages.

use custodian_crypto::otp::totp_secret_from_base32;
use custodian_domain::Clock;
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, client, location, on_both_backends, spawn_app,
};
use reqwest::{StatusCode, header};

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    let to = html[from..].find(end).unwrap() + from;
    &html[from..to]
}

async fn authenticator_set_up_in_the_ui_guards_the_sign_in_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, html) = app.html("/account/security", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("账户安全") && html.contains("id=\"setup-totp\""),
        "{html}"
    );
    let (_, html) = app.html("/account/security", "en").await;
    assert!(html.contains("Where you are signed in") && html.contains("This session"));

    let res = app
        .post_form("/account/totp", &[("_csrf", app.csrf.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("<svg"), "QR code rendered server-side");
    assert!(!html.contains("<script>"), "no inline script");
    let key = between(&html, "id=\"totp-key\">", "</code>").replace(' ', "");
    let secret = totp_secret_from_base32(&key).unwrap();
    let secs = || u64::try_from(app.clock.now_millis() / 1000).unwrap();

    let res = app
        .post_form(
            "/account/totp/confirm",
            &[("_csrf", app.csrf.as_str()), ("code", "000000")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"f-code-error\""));
    let code = secret.code_at(secs()).unwrap();
    let res = app
        .post_form(
            "/account/totp/confirm",
            &[("_csrf", app.csrf.as_str()), ("code", code.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let codes = between(&html, "id=\"recovery-codes\">", "</ul>");
    assert_eq!(codes.matches("<li>").count(), 10, "{codes}");
    let (_, html) = app.html("/account/security", "en").await;
    assert!(html.contains("Unused recovery codes: 10"), "{html}");

    // Signing in now takes two forms.
    let browser = client(&app.cert_pem, true);
    let res = browser
        .post(app.url("/login"))
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login/verify");
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-custodian_signin="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure"));
    let res = browser.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(location(&res), "/login", "the sign-in cookie opens nothing");
    let res = browser
        .get(app.url("/login/verify"))
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("两步验证"));
    let res = browser
        .post(app.url("/login/verify"))
        .form(&[("code", "999999")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("id=\"f-code-error\""));
    app.clock.advance(time::Duration::seconds(30));
    let code = secret.code_at(secs()).unwrap();
    let res = browser
        .post(app.url("/login/verify"))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard");
    let res = browser.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The new session shows on the security page, verified with both factors.
    let (_, html) = app.html("/account/security", "en").await;
    assert!(html.contains("password + authenticator app"), "{html}");
}

async fn api_tokens_are_created_shown_once_and_revoked_in_the_ui(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .post_form(
            "/account/tokens",
            &[
                ("_csrf", app.csrf.as_str()),
                ("name", "Nightly export"),
                ("scopes", "contacts:erase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"f-scopes-error\""));
    let res = app
        .post_form(
            "/account/tokens",
            &[
                ("_csrf", app.csrf.as_str()),
                ("name", "Nightly export"),
                ("scopes", "contacts:read exports:read"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let token = between(&html, "id=\"new-token\">", "</code>").to_owned();
    assert!(token.starts_with("cus_t_"));
    let res = app
        .anon
        .get(app.url("/api/v1/contacts"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Shown once: the page afterwards lists the token without its secret.
    let (_, html) = app.html("/account/security", "en").await;
    assert!(html.contains("Nightly export") && !html.contains(&token));
    let id = between(&html, "action=\"/account/tokens/", "/revoke\"").to_owned();
    let res = app
        .post_form(
            &format!("/account/tokens/{id}/revoke"),
            &[("_csrf", app.csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .anon
        .get(app.url("/api/v1/contacts"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    authenticator_set_up_in_the_ui_guards_the_sign_in_form,
    api_tokens_are_created_shown_once_and_revoked_in_the_ui,
);
