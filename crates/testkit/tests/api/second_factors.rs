//! Second factors end to end: TOTP enrolment behind step-up, two-step sign-in with TOTP and
//! recovery codes (each usable once), wrong-code limits, sessions listed and ended by their
//! owner and by administrators, the per-user session limit, and no secret at rest.

use crate::encryption::{contains, hex, stored_bytes};
use custodian_crypto::otp::totp_secret_from_base32;
use custodian_domain::Clock;
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, client, error_code, on_both_backends, spawn_app,
    spawn_app_with, split, test_config,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

const DEVICE: &str = "SecondFactorTestBrowser/7.3";

fn totp_code(app: &TestApp, key: &str) -> String {
    let secs = u64::try_from(app.clock.now_millis() / 1000).unwrap();
    totp_secret_from_base32(key).unwrap().code_at(secs).unwrap()
}

fn recovery_codes(body: &Value) -> Vec<String> {
    body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

/// A fresh browser-like client that has entered the admin's password.
async fn password_step(app: &TestApp) -> (reqwest::Client, StatusCode, Value) {
    let c = client(&app.cert_pem, true);
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .header(header::USER_AGENT, DEVICE)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, body) = split(res).await;
    (c, status, body)
}

async fn second_step(app: &TestApp, c: &reqwest::Client, code: &str) -> (StatusCode, Value) {
    split(
        c.post(app.url("/api/v1/auth/second-factor"))
            .header(header::USER_AGENT, DEVICE)
            .json(&json!({ "code": code }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn me(app: &TestApp, c: &reqwest::Client) -> StatusCode {
    c.get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Enrols an authenticator for the admin (signed in moments ago, so no step-up is due) and
/// returns its key and the first recovery codes.
pub(crate) async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    let (status, enrolment) = app.post_json("/api/v1/account/totp", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolment}");
    let key = enrolment["key"].as_str().unwrap().to_owned();
    let code = totp_code(app, &key);
    let (status, body) = app
        .post_json("/api/v1/account/totp/confirm", &json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let codes = recovery_codes(&body);
    (key, codes)
}

async fn totp_enrolment_needs_step_up_and_then_guards_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    // The sign-in is 11 minutes old: setting up a second factor needs a step-up first.
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = app.post_json("/api/v1/account/totp", &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    let (status, body) = app
        .post_json(
            "/api/v1/auth/reauthenticate",
            &json!({"password": "not the password at all"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), Some("invalid_credentials"));
    app.reauthenticate().await;

    let (status, enrolment) = app.post_json("/api/v1/account/totp", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolment}");
    let key = enrolment["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32, "160-bit key in base32");
    assert!(
        enrolment["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Custodian:")
    );
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    // Not active until confirmed: sign-in still needs only the password.
    let (_, status, _) = password_step(&app).await;
    assert_eq!(status, StatusCode::OK);

    // Confirming adds a factor: it too needs a recent sign-in or step-up.
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = app
        .post_json(
            "/api/v1/account/totp/confirm",
            &json!({ "code": totp_code(&app, &key) }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    app.reauthenticate().await;
    let (status, body) = app
        .post_json("/api/v1/account/totp/confirm", &json!({"code": "000000"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), Some("invalid_code"));
    let confirm_code = totp_code(&app, &key);
    let (status, body) = app
        .post_json(
            "/api/v1/account/totp/confirm",
            &json!({ "code": confirm_code }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let recovery = recovery_codes(&body);
    assert_eq!(recovery.len(), 10);
    let (_, status_body) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(status_body["totp_enabled"], true);
    assert_eq!(status_body["recovery_codes_left"], 10);

    // The password alone no longer signs in: the sign-in cookie opens nothing else.
    let (c, status, body) = password_step(&app).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["second_factor_required"], true);
    assert_eq!(me(&app, &c).await, StatusCode::UNAUTHORIZED);
    // The code that confirmed the enrolment was used: it does not work twice.
    let (status, body) = second_step(&app, &c, &confirm_code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), Some("invalid_code"));
    // A code from two steps ago is refused; the current one signs in.
    let old = totp_code(&app, &key);
    app.clock.advance(time::Duration::seconds(60));
    let (status, _) = second_step(&app, &c, &old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = second_step(&app, &c, &totp_code(&app, &key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(me(&app, &c).await, StatusCode::OK);

    // A recovery code signs in once, typed with or without dashes and in any case.
    let (c2, status, _) = password_step(&app).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let typed = recovery[3].replace('-', "").to_uppercase();
    let (status, body) = second_step(&app, &c2, &typed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (c3, _, _) = password_step(&app).await;
    let (status, body) = second_step(&app, &c3, &recovery[3]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );
    assert_eq!(error_code(&body), Some("invalid_code"));
    let (_, status_body) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(status_body["recovery_codes_left"], 9);

    let (_, sessions) = app.get_json("/api/v1/account/sessions").await;
    let methods: Vec<&str> = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["auth_methods"].as_str().unwrap())
        .collect();
    assert!(methods.contains(&"password+totp"), "{methods:?}");
    assert!(methods.contains(&"password+recovery_code"), "{methods:?}");
}

async fn wrong_codes_and_slow_second_steps_end_the_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let (key, _) = enrol(&app).await;
    app.clock.advance(time::Duration::seconds(30));

    let (c, _, _) = password_step(&app).await;
    for _ in 0..4 {
        let (status, body) = second_step(&app, &c, "123456").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&body), Some("invalid_code"));
    }
    let (status, body) = second_step(&app, &c, "123456").await;
    assert_eq!(error_code(&body), Some("sign_in_expired"), "{status}");
    let (status, body) = second_step(&app, &c, &totp_code(&app, &key)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_code(&body),
        Some("sign_in_expired"),
        "the right code comes too late"
    );

    let (c, _, _) = password_step(&app).await;
    app.clock.advance(time::Duration::minutes(6));
    let (status, body) = second_step(&app, &c, &totp_code(&app, &key)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), Some("sign_in_expired"));

    // Wrong codes also count against the account, so guessing across fresh sign-ins slows
    // down: five so far, a sixth, and the next try must wait.
    let (c, status, _) = password_step(&app).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = second_step(&app, &c, "123456").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = second_step(&app, &c, &totp_code(&app, &key)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), Some("too_many_attempts"));
    app.clock.advance(time::Duration::seconds(1));
    let (status, _) = second_step(&app, &c, &totp_code(&app, &key)).await;
    assert_eq!(status, StatusCode::OK, "after the wait");

    // Without a sign-in cookie there is nothing to complete.
    let (status, body) = split(
        app.anon
            .post(app.url("/api/v1/auth/second-factor"))
            .json(&json!({"code": "123456"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), Some("sign_in_expired"));
}

async fn recovery_codes_regenerate_and_totp_removal_need_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let (key, old_codes) = enrol(&app).await;
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = app
        .post_json("/api/v1/account/recovery-codes", &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    // With an authenticator, step-up takes a code, not the password.
    let (status, _) = app
        .post_json(
            "/api/v1/auth/reauthenticate",
            &json!({ "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .post_json(
            "/api/v1/auth/reauthenticate",
            &json!({ "code": totp_code(&app, &key) }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .post_json("/api/v1/account/recovery-codes", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_codes = recovery_codes(&body);
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));

    let (c, _, _) = password_step(&app).await;
    let (status, _) = second_step(&app, &c, &old_codes[0]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "old codes stopped working"
    );
    let (status, _) = second_step(&app, &c, &new_codes[0]).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = app.delete("/api/v1/account/totp").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, status_body) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(status_body["totp_enabled"], false);
    assert_eq!(status_body["recovery_codes_left"], 0);
    let (_, status, _) = password_step(&app).await;
    assert_eq!(status, StatusCode::OK, "password alone signs in again");

    // Each change of a second factor is in the audit log: which factor and what happened,
    // never a secret or a code.
    let rows = custodian_store::repo::audit::search(
        app.core.store().conn(),
        &custodian_store::repo::audit::AuditFilter {
            codes: vec!["authn_mfa_change".to_owned()],
            ..Default::default()
        },
        None,
        50,
    )
    .await
    .unwrap();
    let changes: Vec<(Value, Value)> = rows
        .iter()
        .rev()
        .map(|r| {
            let detail: Value = serde_json::from_str(r.detail.as_deref().unwrap()).unwrap();
            (detail["factor"].clone(), detail["change"].clone())
        })
        .collect();
    assert_eq!(
        changes,
        [
            (json!("totp"), json!("added")),
            (json!("recovery_codes"), json!("regenerated")),
            (json!("totp"), json!("removed")),
        ]
    );
    let stored = format!("{rows:?}");
    assert!(new_codes.iter().all(|c| !stored.contains(c.as_str())));
    assert!(!stored.contains(&key));
}

async fn sessions_are_listed_and_ended_by_their_owner_and_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let (laptop, status, _) = password_step(&app).await;
    assert_eq!(status, StatusCode::OK);
    let (phone, _, _) = password_step(&app).await;

    let (status, body) = app.get_json("/api/v1/account/sessions").await;
    assert_eq!(status, StatusCode::OK);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{body}");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let others: Vec<&Value> = items.iter().filter(|s| s["user_agent"] == DEVICE).collect();
    assert_eq!(others.len(), 2);
    assert!(others.iter().all(|s| s["ip"] == "127.0.0.1"));
    assert!(others.iter().all(|s| s["auth_methods"] == "password"));

    // Ending one session kills its cookie on the very next request.
    let phone_id = others[0]["id"].as_str().unwrap();
    let (status, _) = app
        .delete(&format!("/api/v1/account/sessions/{phone_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let still = [me(&app, &laptop).await, me(&app, &phone).await];
    assert!(
        still.contains(&StatusCode::UNAUTHORIZED) && still.contains(&StatusCode::OK),
        "{still:?}"
    );
    let (status, _) = app
        .delete(&format!("/api/v1/account/sessions/{phone_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already ended");

    let (status, body) = app
        .post_json("/api/v1/account/sessions/end-others", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ended"], 1);
    assert_eq!(me(&app, &laptop).await, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "the current session stays");

    // Administrators see and end anyone's sessions; others may not.
    let user = app.sign_in_new_user("sessions.user@example.com").await;
    let (status, body) = app
        .get_json(&format!("/api/v1/users/{}/sessions", user.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (_, me_body) = app.get_json("/api/v1/auth/me").await;
    let admin_id = me_body["user"]["id"].as_str().unwrap();
    let (status, body) = user
        .get_json(&format!("/api/v1/users/{admin_id}/sessions"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("forbidden"));
    let (status, body) = app
        .post_json(
            &format!("/api/v1/users/{}/sessions/end-all", user.id),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ended"], 1);
    let (status, _) = user.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .get_json(&format!("/api/v1/users/{}/sessions", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn signing_in_beyond_the_limit_ends_the_least_recently_used_session(backend: Backend) {
    let mut config = test_config();
    config.session.max_per_user = 2;
    let app = spawn_app_with(backend, config).await;
    // The test app's own session is the oldest; a later one was used after it.
    app.clock.advance(time::Duration::minutes(2));
    let (second, _, _) = password_step(&app).await;
    app.clock.advance(time::Duration::minutes(2));
    let (status, _) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(time::Duration::minutes(2));
    let (third, status, _) = password_step(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(&app, &third).await, StatusCode::OK);
    assert_eq!(
        me(&app, &second).await,
        StatusCode::UNAUTHORIZED,
        "least recently used"
    );
    let (status, body) = app.get_json("/api/v1/account/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
}

async fn no_second_factor_secret_or_client_detail_at_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    let (key, codes) = enrol(&app).await;
    let (c, _, _) = password_step(&app).await;
    app.clock.advance(time::Duration::seconds(30));
    let (status, _) = second_step(&app, &c, &totp_code(&app, &key)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, sessions) = app.get_json("/api/v1/account/sessions").await;
    assert!(
        sessions["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["user_agent"] == DEVICE),
        "the client was stored"
    );

    let bytes = stored_bytes(&app).await;
    let lower = String::from_utf8_lossy(&bytes).to_lowercase().into_bytes();
    let raw_key = totp_secret_from_base32(&key).unwrap().as_bytes().to_vec();
    let mut secrets = vec![
        key.to_lowercase(),
        hex(&raw_key),
        DEVICE.to_lowercase(),
        ADMIN_PASSWORD.to_lowercase(),
    ];
    for code in &codes {
        secrets.push(code.clone());
        secrets.push(code.replace('-', ""));
    }
    for secret in secrets {
        assert!(
            !contains(&lower, secret.as_bytes()),
            "`{secret}` found at rest"
        );
    }
    assert!(!contains(&bytes, &raw_key), "raw TOTP key found at rest");
}

on_both_backends!(
    totp_enrolment_needs_step_up_and_then_guards_sign_in,
    wrong_codes_and_slow_second_steps_end_the_sign_in,
    recovery_codes_regenerate_and_totp_removal_need_step_up,
    sessions_are_listed_and_ended_by_their_owner_and_admins,
    signing_in_beyond_the_limit_ends_the_least_recently_used_session,
    no_second_factor_secret_or_client_detail_at_rest,
);

/// Two server processes on one PostgreSQL database: a session ended through one is refused by
/// the other on the very next request (no node trusts a cached credential).
#[tokio::test]
async fn an_ended_session_is_refused_at_once_by_another_server_process() {
    let app = spawn_app(Backend::Postgres).await;
    let (other_base, other) = app.second_server().await;
    let (c, status, _) = password_step(&app).await;
    assert_eq!(status, StatusCode::OK);
    let on_other = |c: &reqwest::Client| {
        let url = format!("{other_base}/api/v1/auth/me");
        let c = c.clone();
        async move { c.get(url).send().await.unwrap().status() }
    };
    // Warm both nodes with the session.
    assert_eq!(me(&app, &c).await, StatusCode::OK);
    assert_eq!(on_other(&c).await, StatusCode::OK);
    let (_, body) = app.get_json("/api/v1/account/sessions").await;
    let id = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app.delete(&format!("/api/v1/account/sessions/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(on_other(&c).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &c).await, StatusCode::UNAUTHORIZED);
    other.shutdown().await.unwrap();
}
