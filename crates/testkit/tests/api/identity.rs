//! What reaches people outside the server, end to end through real receivers: codes by e-mail
//! (a local SMTP server requiring STARTTLS) and by SMS (a local webhook), invitations, password
//! resets (no way round the second factor), and deleting a user.

use crate::encryption::{contains, stored_bytes};
use crate::second_factors::enrol;
use custodian_testkit::outbound::{
    MailSink, SMS_WEBHOOK_TOKEN, SmsReceiver, link_token, six_digits,
};
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, client, error_code, on_both_backends, spawn_app,
    spawn_app_with, split, test_config,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "amber lantern quietly 42 hills";

async fn with_mail(backend: Backend) -> (TestApp, MailSink) {
    let sink = MailSink::start();
    let mut config = test_config();
    sink.configure(&mut config);
    (spawn_app_with(backend, config).await, sink)
}

/// A fresh client that has entered `email`'s password: the login response.
async fn password_step(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (reqwest::Client, StatusCode, Value) {
    let c = client(&app.cert_pem, true);
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let (status, body) = split(res).await;
    (c, status, body)
}

async fn post(app: &TestApp, c: &reqwest::Client, path: &str, body: &Value) -> (StatusCode, Value) {
    split(c.post(app.url(path)).json(body).send().await.unwrap()).await
}

/// Uses an e-mailed link's token to set a password (invitation or reset).
async fn use_link(
    app: &TestApp,
    anon: &reqwest::Client,
    path: &str,
    token: &str,
    password: &str,
) -> (StatusCode, Value) {
    post(
        app,
        anon,
        path,
        &json!({ "token": token, "password": password }),
    )
    .await
}

fn advance_secs(app: &TestApp, secs: i64) {
    app.clock.advance(time::Duration::seconds(secs));
}

async fn email_codes_prove_the_address_then_finish_sign_in(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    let (status, body) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["email_verified"], false);
    assert_eq!(body["email_available"], true);
    // Turning e-mail codes on needs a proven address.
    let (status, body) = app
        .post_json("/api/v1/account/sent-codes/email", &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), Some("email_not_verified"));

    let (status, _) = app
        .post_json("/api/v1/account/email/send-code", &json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mail = sink.wait_for(ADMIN_EMAIL).await;
    assert_eq!(mail.subject, "Your Custodian verification code");
    let code = six_digits(&mail.body);
    // Only a keyed hash is stored.
    assert!(!contains(&stored_bytes(&app).await, code.as_bytes()));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = app
        .post_json("/api/v1/account/email/confirm", &json!({ "code": wrong }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), Some("invalid_code"));
    let (status, _) = app
        .post_json("/api/v1/account/email/confirm", &json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .post_json("/api/v1/account/sent-codes/email", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10);

    // Sign-in now asks for a second factor and offers e-mail.
    let (c, status, body) = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(
        body["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("email")),
        "{body}"
    );
    advance_secs(&app, 61);
    let (status, _) = post(
        &app,
        &c,
        "/api/v1/auth/second-factor/send-code",
        &json!({"channel": "email"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = six_digits(&sink.wait_for(ADMIN_EMAIL).await.body);
    // One code a minute.
    let (status, body) = post(
        &app,
        &c,
        "/api/v1/auth/second-factor/send-code",
        &json!({"channel": "email"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), Some("too_many_codes"));
    assert!(body["details"]["retry_after_secs"].as_i64().unwrap() <= 60);
    let (status, body) = post(
        &app,
        &c,
        "/api/v1/auth/second-factor",
        &json!({ "code": code }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Used up: the same code does not finish another sign-in.
    let (c2, _, _) = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, _) = post(
        &app,
        &c2,
        "/api/v1/auth/second-factor",
        &json!({ "code": code }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Step-up by e-mail code; a code older than ten minutes is refused.
    advance_secs(&app, 61);
    let (status, _) = app
        .post_json(
            "/api/v1/auth/reauthenticate/send-code",
            &json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = six_digits(&sink.wait_for(ADMIN_EMAIL).await.body);
    advance_secs(&app, 10 * 60 + 1);
    let (status, _) = app
        .post_json("/api/v1/auth/reauthenticate", &json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .post_json(
            "/api/v1/auth/reauthenticate/send-code",
            &json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = six_digits(&sink.wait_for(ADMIN_EMAIL).await.body);
    let (status, _) = app
        .post_json("/api/v1/auth/reauthenticate", &json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn a_sent_code_survives_five_wrong_guesses_only(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    app.post_json("/api/v1/account/email/send-code", &json!({}))
        .await;
    let code = six_digits(&sink.wait_for(ADMIN_EMAIL).await.body);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (status, _) = app
            .post_json("/api/v1/account/email/confirm", &json!({ "code": wrong }))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = app
        .post_json("/api/v1/account/email/confirm", &json!({ "code": code }))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the right code after five wrong ones: {body}"
    );
}

async fn sms_codes_go_through_the_webhook(backend: Backend) {
    let sms = SmsReceiver::start().await;
    let mut config = test_config();
    sms.configure(&mut config);
    let app = spawn_app_with(backend, config).await;
    let (status, body) = split(
        app.request(reqwest::Method::PUT, "/api/v1/account/phone")
            .json(&json!({ "phone": "138 0013 8000" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no country code: {body}"
    );
    let res = app
        .request(reqwest::Method::PUT, "/api/v1/account/phone")
        .json(&json!({ "phone": "+86 138 0013 8000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let first = sms.wait_for_count(1).await;
    assert_eq!(first.to, "+8613800138000");
    assert_eq!(
        first.authorization.as_deref(),
        Some(format!("Bearer {SMS_WEBHOOK_TOKEN}").as_str())
    );
    let code = six_digits(&first.message);
    let stored = stored_bytes(&app).await;
    assert!(
        !contains(&stored, b"8613800138000"),
        "the number is stored encrypted"
    );
    let (status, _) = app
        .post_json("/api/v1/account/phone/confirm", &json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .post_json("/api/v1/account/sent-codes/sms", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, status_body) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(status_body["sms_codes_enabled"], true);
    assert_eq!(status_body["phone_hint"], "00");

    let (c, status, body) = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(
        body["methods"].as_array().unwrap().contains(&json!("sms")),
        "{body}"
    );
    // The gateway failing is a clear 502, not a hang or a 500.
    advance_secs(&app, 61);
    sms.respond_with(503);
    let (status, body) = post(
        &app,
        &c,
        "/api/v1/auth/second-factor/send-code",
        &json!({"channel": "sms"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error_code(&body), Some("delivery_failed"));
    // A code that was never delivered does not count: asking again at once is fine.
    sms.respond_with(200);
    let (status, _) = post(
        &app,
        &c,
        "/api/v1/auth/second-factor/send-code",
        &json!({"channel": "sms"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = six_digits(&sms.wait_for_count(2).await.message);
    let (status, body) = post(
        &app,
        &c,
        "/api/v1/auth/second-factor",
        &json!({ "code": code }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // E-mail is not configured here: asking for an e-mail code says so.
    let (status, body) = app
        .post_json(
            "/api/v1/auth/reauthenticate/send-code",
            &json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body), Some("channel_unavailable"));
}

async fn invitations_let_people_choose_their_password(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    let invitee = "new.colleague@custodian.test";
    let (status, sent) = app
        .post_json(
            "/api/v1/users/invitations",
            &json!({ "email": invitee, "display_name": "Wang Fang", "roles": ["sales"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let mail = sink.wait_for(invitee).await;
    assert_eq!(mail.subject, "You are invited to Custodian");
    assert!(
        mail.body.contains("/invitation#token="),
        "the token rides in the fragment"
    );
    let token = link_token(&mail.body);
    let (_, users) = app.get_json("/api/v1/users").await;
    let listed = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == invitee)
        .unwrap()
        .clone();
    assert_eq!(listed["status"], "invited");
    // Invited is not signed up: no password works yet.
    let (_, status, _) = password_step(&app, invitee, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The same address cannot be invited twice.
    let (status, _) = app
        .post_json(
            "/api/v1/users/invitations",
            &json!({ "email": invitee, "roles": ["sales"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let anon = client(&app.cert_pem, false);
    let (status, body) = post(
        &app,
        &anon,
        "/api/v1/auth/invitation/accept",
        &json!({ "token": token, "password": "short" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = post(
        &app,
        &anon,
        "/api/v1/auth/invitation/accept",
        &json!({ "token": "cus_i_forged", "password": NEW_PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), Some("invalid_link"));
    let (status, body) = use_link(
        &app,
        &anon,
        "/api/v1/auth/invitation/accept",
        &token,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = use_link(
        &app,
        &anon,
        "/api/v1/auth/invitation/accept",
        &token,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a link works once: {body}");
    let (c, status, _) = password_step(&app, invitee, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (_, factors) = split(
        c.get(app.url("/api/v1/account/second-factors"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        factors["email_verified"], true,
        "accepting proved the address"
    );

    // An invitation expires; a resent one replaces the old link.
    let late = "late.colleague@custodian.test";
    let (status, sent) = app
        .post_json(
            "/api/v1/users/invitations",
            &json!({ "email": late, "roles": ["sales"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let old_token = link_token(&sink.wait_for(late).await.body);
    advance_secs(&app, 72 * 3600 + 1);
    let (status, _) = use_link(
        &app,
        &anon,
        "/api/v1/auth/invitation/accept",
        &old_token,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "expired");
    let id = sent["user_id"].as_str().unwrap();
    // The admin's own session aged too: sign in again before the resend.
    let (admin, _, _) = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = split(admin.get(app.url("/api/v1/auth/me")).send().await.unwrap())
        .await
        .1["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = admin
        .post(app.url(&format!("/api/v1/users/{id}/invitation")))
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let new_token = link_token(&sink.wait_for(late).await.body);
    assert_ne!(new_token, old_token);
    let (status, _) = use_link(
        &app,
        &anon,
        "/api/v1/auth/invitation/accept",
        &new_token,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn an_undeliverable_invitation_adds_nobody(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    drop(sink);
    let (status, body) = app
        .post_json(
            "/api/v1/users/invitations",
            &json!({ "email": "nobody@custodian.test", "roles": ["sales"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(error_code(&body), Some("delivery_failed"));
    let (status, users) = app.get_json("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!users.to_string().contains("nobody@custodian.test"));
    // Without any mail settings the answer says what to configure.
    let plain = spawn_app(backend).await;
    let (status, body) = plain
        .post_json(
            "/api/v1/users/invitations",
            &json!({ "email": "x@custodian.test", "roles": ["sales"] }),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["message"].as_str().unwrap().contains("[mail]"));
}

async fn a_password_reset_ends_sessions_and_keeps_the_second_factor(backend: Backend) {
    let (app, sink) = with_mail(backend).await;
    enrol(&app).await;
    let anon = client(&app.cert_pem, false);
    let (status, _) = post(
        &app,
        &anon,
        "/api/v1/auth/password/forgot",
        &json!({ "email": "nobody@custodian.test" }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "unknown addresses get the same answer"
    );
    let (status, _) = post(
        &app,
        &anon,
        "/api/v1/auth/password/forgot",
        &json!({ "email": ADMIN_EMAIL }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mail = sink.wait_for(ADMIN_EMAIL).await;
    assert_eq!(mail.subject, "Reset your Custodian password");
    sink.assert_nothing_for("nobody@custodian.test").await;
    let token = link_token(&mail.body);
    assert!(!contains(&stored_bytes(&app).await, token.as_bytes()));

    let (status, body) = use_link(
        &app,
        &anon,
        "/api/v1/auth/password/reset",
        &token,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = use_link(
        &app,
        &anon,
        "/api/v1/auth/password/reset",
        &token,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reset link works once");
    // Every session ended, the old password is gone, and the new one still needs the code.
    let (status, _) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, status, _) = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, status, body) = password_step(&app, ADMIN_EMAIL, NEW_PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the second factor is still due: {body}"
    );
    assert_eq!(body["second_factor_required"], true);

    // A reset link expires.
    advance_secs(&app, 61);
    let (status, _) = post(
        &app,
        &anon,
        "/api/v1/auth/password/forgot",
        &json!({ "email": ADMIN_EMAIL }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // The old session presented above was itself a security alert, mailed to this same
    // administrator: take the reset mail.
    let token = link_token(
        &sink
            .wait_for_subject(ADMIN_EMAIL, "Reset your Custodian password")
            .await
            .body,
    );
    advance_secs(&app, 30 * 60 + 1);
    let (status, body) = use_link(
        &app,
        &anon,
        "/api/v1/auth/password/reset",
        &token,
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), Some("invalid_link"));
}

async fn deleting_a_user_moves_their_records_and_erases_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "leaver@custodian.test";
    let leaver = app.sign_in_new_user(email).await;
    let (status, contact) = leaver
        .post_json(
            "/api/v1/contacts",
            &json!({ "name": "李娜", "owner_id": leaver.id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    assert_eq!(contact["owner_id"], leaver.id.as_str());
    let (_, me) = app.get_json("/api/v1/auth/me").await;
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();

    let path = format!("/api/v1/users/{}?reassign_to={admin_id}", leaver.id);
    let (status, body) = app
        .delete(&format!(
            "/api/v1/users/{admin_id}?reassign_to={}",
            leaver.id
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), Some("cannot_delete_self"));
    advance_secs(&app, 11 * 60);
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    app.reauthenticate().await;
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["records_reassigned"].as_u64().unwrap() >= 1);

    let (status, _) = leaver.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "their session ended");
    let (_, status, _) = password_step(&app, email, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, users) = app.get_json("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!users.to_string().contains(email));
    let id = contact["id"].as_str().unwrap();
    let (_, moved) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(moved["owner_id"], admin_id.as_str());
    let tombstone =
        custodian_store::repo::users::get(app.core.store().conn(), leaver.id.parse().unwrap())
            .await
            .unwrap()
            .expect("the row stays for history");
    assert_eq!(tombstone.status, "deleted");
    assert!(tombstone.password_hash.is_none() && tombstone.display_name_ct.is_none());
    // Deleted is gone: a second delete is 404, and the address is free for a new account.
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.sign_in_new_user(email).await;
}

on_both_backends!(
    email_codes_prove_the_address_then_finish_sign_in,
    a_sent_code_survives_five_wrong_guesses_only,
    sms_codes_go_through_the_webhook,
    invitations_let_people_choose_their_password,
    an_undeliverable_invitation_adds_nobody,
    a_password_reset_ends_sessions_and_keeps_the_second_factor,
    deleting_a_user_moves_their_records_and_erases_them,
);
