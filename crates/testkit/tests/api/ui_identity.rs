//! E-mailed links and sent codes in the browser's terms (HTML forms, both languages): forgot
//! password → reset page, an invitation sent from the users page and accepted, and e-mail
//! codes turned on from the security page and used on the sign-in form.

use custodian_testkit::outbound::{MailSink, link_token, six_digits};
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, client, on_both_backends, spawn_app_with,
    test_config,
};
use reqwest::{StatusCode, header};

const NEW_PASSWORD: &str = "amber lantern quietly 42 hills";

async fn with_mail(backend: Backend) -> (TestApp, MailSink) {
    let sink = MailSink::start();
    let mut config = test_config();
    sink.configure(&mut config);
    (spawn_app_with(backend, config).await, sink)
}

async fn form(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let res = c
        .post(app.url(path))
        .header(header::ACCEPT_LANGUAGE, "en")
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

/// Posts a link page's form: the token (as the page's script would copy it) and a new password.
async fn submit_link(
    app: &TestApp,
    anon: &reqwest::Client,
    path: &str,
    token: &str,
    confirm: &str,
) -> (StatusCode, String) {
    form(
        app,
        anon,
        path,
        &[
            ("token", token),
            ("password", NEW_PASSWORD),
            ("password_confirm", confirm),
        ],
    )
    .await
}

async fn forgot_and_reset_through_the_pages(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    let anon = client(&app.cert_pem, true);
    let login = anon
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("href=\"/password/forgot\""), "{login}");
    let zh = anon
        .get(app.url("/password/forgot"))
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("重置密码"));
    let (status, html) = form(&app, &anon, "/password/forgot", &[("email", ADMIN_EMAIL)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"forgot-sent\""));
    let token = link_token(&sink.wait_for(ADMIN_EMAIL).await.body);

    let page = anon
        .get(app.url("/password/reset"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"link-form\"") && page.contains("name=\"token\""));
    let (status, html) = submit_link(&app, &anon, "/password/reset", &token, "different").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("do not match"));
    let (status, html) = submit_link(&app, &anon, "/password/reset", &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"link-done\""));
    let (status, html) = submit_link(&app, &anon, "/password/reset", &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("id=\"link-error\""));
}

async fn invitation_from_the_users_page(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    let invitee = "ui.invitee@custodian.test";
    let res = app
        .post_form(
            "/settings/users/invite",
            &[
                ("_csrf", app.csrf.as_str()),
                ("email", invitee),
                ("display_name", "Zhao Lei"),
                ("role", "sales"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"users-notice\"") && html.contains("resend-invitation"),
        "{html}"
    );
    let token = link_token(&sink.wait_for(invitee).await.body);
    let anon = client(&app.cert_pem, true);
    let (status, html) = submit_link(&app, &anon, "/invitation", &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"link-done\""));
    let (status, _) = form(
        &app,
        &anon,
        "/login",
        &[("email", invitee), ("password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

async fn email_codes_from_the_security_page_to_the_sign_in_form(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    let (_, html) = app.html("/account/security", "zh-CN").await;
    assert!(html.contains("电子邮件和短信验证码"));
    let res = app
        .post_form(
            "/account/sent-codes/email-send",
            &[("_csrf", app.csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let code = six_digits(&sink.wait_for(ADMIN_EMAIL).await.body);
    let res = app
        .post_form(
            "/account/sent-codes/email-confirm",
            &[("_csrf", app.csrf.as_str()), ("email_code", "000000x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .post_form(
            "/account/sent-codes/email-confirm",
            &[("_csrf", app.csrf.as_str()), ("email_code", code.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("id=\"email-codes-on\""));
    let res = app
        .post_form(
            "/account/sent-codes/email-on",
            &[("_csrf", app.csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text().await.unwrap().contains("recovery"),
        "first recovery codes shown"
    );

    // The sign-in form now offers an e-mailed code.
    app.clock.advance(time::Duration::seconds(61));
    let browser = client(&app.cert_pem, true);
    let (status, _) = form(
        &app,
        &browser,
        "/login",
        &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let verify = browser
        .get(app.url("/login/verify"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(verify.contains("id=\"send-email-code\""), "{verify}");
    let (status, html) = form(
        &app,
        &browser,
        "/login/verify/send",
        &[("channel", "email")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"code-notice\""));
    let code = six_digits(&sink.wait_for(ADMIN_EMAIL).await.body);
    let (status, _) = form(&app, &browser, "/login/verify", &[("code", code.as_str())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let dashboard = browser.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);
}

on_both_backends!(
    forgot_and_reset_through_the_pages,
    invitation_from_the_users_page,
    email_codes_from_the_security_page_to_the_sign_in_form,
);
