//! Abnormal-session signals as security events and "recent security activity": a sign-in from
//! a new device or network (and the e-mail about it; a browser update is not a new device),
//! success after many failures, wrong codes, a session used from a second, distant network,
//! an ended session presented again, and an API token used outside its scopes. The owner sees
//! them (API and security page, both languages); administrators see anyone's.

use custodian_testkit::outbound::MailSink;
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, error_code, on_both_backends, spawn_app,
    spawn_app_with, split, test_config,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use std::net::IpAddr;

const FIREFOX_128: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const FIREFOX_129: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0";

/// A client whose connections come from `source` (any 127.x.y.z is this machine): a second
/// network, as far as the server can tell.
fn client_from(app: &TestApp, source: &str) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(&app.cert_pem).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([cert])
        .local_address(source.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs the admin in from `c` with `user_agent` and returns the session cookie header.
async fn sign_in(app: &TestApp, c: &reqwest::Client, user_agent: &str) -> String {
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .header(header::USER_AGENT, user_agent)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("__Host-custodian_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned()
}

async fn kinds(app: &TestApp) -> Vec<String> {
    let (status, body) = app.get_json("/api/v1/account/security-events").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

async fn a_new_device_or_network_is_recorded_and_emailed(backend: Backend) {
    let sink = MailSink::start();
    let mut config = test_config();
    sink.configure(&mut config);
    let app = spawn_app_with(backend, config).await;
    // The harness signed in once already (no user agent, from 127.0.0.1).
    let home = client_from(&app, "127.0.0.1");
    sign_in(&app, &home, FIREFOX_128).await;
    let mail = sink.wait_for(ADMIN_EMAIL).await;
    assert_eq!(mail.subject, "New sign-in to your Custodian account");
    assert!(mail.body.contains("Firefox/128.0"), "{}", mail.body);
    assert!(mail.body.contains("127.0.0.1"));
    assert!(mail.body.contains("/account/security"));

    // The same browser after an update: not new. (Each step a second later, so the list's
    // newest-first order is defined.)
    app.clock.advance(time::Duration::seconds(1));
    sign_in(&app, &home, FIREFOX_129).await;
    sink.assert_nothing_for(ADMIN_EMAIL).await;
    // The same browser on another network: new.
    app.clock.advance(time::Duration::seconds(1));
    let away = client_from(&app, "127.1.0.1");
    sign_in(&app, &away, FIREFOX_129).await;
    sink.wait_for(ADMIN_EMAIL).await;

    let (_, body) = app.get_json("/api/v1/account/security-events").await;
    let events = body["items"].as_array().unwrap();
    let new_devices: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "authn_login_new_device")
        .collect();
    assert_eq!(new_devices.len(), 2, "{body}");
    assert_eq!(new_devices[0]["detail"], "network");
    assert_eq!(new_devices[0]["ip"], "127.1.0.1");
    assert_eq!(new_devices[1]["detail"], "device");
    assert_eq!(new_devices[1]["user_agent"], FIREFOX_128);
    assert_eq!(count(&kinds(&app).await, "authn_login_success"), 4);

    // The owner's page lists it, in either language.
    let (_, page) = app.html("/account/security", "en").await;
    assert!(
        page.contains("Signed in from a new device or network"),
        "{page}"
    );
    let (_, page) = app.html("/account/security", "zh-CN").await;
    assert!(page.contains("从新的设备或网络登录"));
    assert!(page.contains("最近的安全活动"));
}

async fn failures_before_success_and_wrong_codes_are_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = client_from(&app, "127.0.0.1");
    for _ in 0..5 {
        let (status, _) = split(
            c.post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": ADMIN_EMAIL, "password": "wrong password, again"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // An unknown address is refused alike and belongs to no account.
    let (status, _) = split(
        c.post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "nobody@example.com", "password": "whatever it is"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sign_in(&app, &c, FIREFOX_128).await;
    let (_, body) = app.get_json("/api/v1/account/security-events").await;
    let events = body["items"].as_array().unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e["kind"] == "authn_login_fail")
            .count(),
        5
    );
    let after = events
        .iter()
        .find(|e| e["kind"] == "authn_login_success_after_fail")
        .expect("success after failures");
    assert_eq!(after["detail"], "failures=5");
    let (_, page) = app.html("/account/security", "en").await;
    assert!(page.contains("Signed in after 5 failed attempts"), "{page}");

    // A wrong step-up code is a failed second factor.
    crate::second_factors::enrol(&app).await;
    let (status, _) = app
        .post_json("/api/v1/auth/reauthenticate", &json!({"code": "000000"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        count(&kinds(&app).await, "authn_second_factor_fail"),
        1,
        "one wrong code"
    );
}

async fn a_session_used_elsewhere_or_after_it_ended_is_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let home = client_from(&app, "127.0.0.1");
    let cookie = sign_in(&app, &home, FIREFOX_128).await;
    let me = |c: &reqwest::Client| {
        c.get(app.url("/api/v1/auth/me"))
            .header(header::COOKIE, cookie.clone())
            .send()
    };
    assert_eq!(me(&home).await.unwrap().status(), StatusCode::OK);
    // The same cookie from a distant network, twice: recorded once.
    let away = client_from(&app, "127.1.0.1");
    assert_eq!(me(&away).await.unwrap().status(), StatusCode::OK);
    assert_eq!(me(&away).await.unwrap().status(), StatusCode::OK);
    // A neighbour in the same wide network is not "far apart".
    let neighbour = client_from(&app, "127.0.9.9");
    assert_eq!(me(&neighbour).await.unwrap().status(), StatusCode::OK);
    let seen = kinds(&app).await;
    assert_eq!(count(&seen, "session_network_changed"), 1, "{seen:?}");

    // Ended (by its owner, from another session), then presented again: refused, and
    // recorded once.
    let (_, list) = app.get_json("/api/v1/account/sessions").await;
    let other = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .delete(&format!("/api/v1/account/sessions/{other}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for _ in 0..2 {
        assert_eq!(me(&away).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let (_, body) = app.get_json("/api/v1/account/security-events").await;
    let ended: Vec<&Value> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "session_use_after_end")
        .collect();
    assert_eq!(ended.len(), 1, "{body}");
    assert_eq!(ended[0]["detail"], "ended_by_user");
    assert_eq!(ended[0]["ip"], "127.1.0.1");
}

async fn refused_tokens_are_recorded_and_admins_see_anyones_activity(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, created) = app
        .post_json(
            "/api/v1/account/tokens",
            &json!({"name": "Read-only", "scopes": "contacts:read"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap();
    let (status, body) = split(
        app.anon
            .post(app.url("/api/v1/contacts"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .json(&json!({"name": "Someone"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("token_scope"));
    let (_, body) = app.get_json("/api/v1/account/security-events").await;
    let refused = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "authz_token_refused")
        .expect("refusal recorded");
    assert_eq!(refused["detail"], "scope");

    let user = app.sign_in_new_user("staff@example.com").await;
    let (status, body) = app
        .get_json(&format!("/api/v1/users/{}/security-events", user.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"][0]["kind"], "authn_login_success");
    let admin = app.get_json("/api/v1/auth/me").await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = user
        .get_json(&format!("/api/v1/users/{admin}/security-events"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The administrator's user page shows it too.
    let (status, page) = app
        .html(&format!("/settings/users/{}", user.id), "zh-CN")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("最近的安全活动"), "{page}");
    assert!(page.contains("data-kind=\"authn_login_success\""), "{page}");
}

/// Events that name no account, as (kind, detail).
pub(crate) async fn anonymous(app: &TestApp) -> Vec<(String, String)> {
    custodian_store::repo::security_events::recent_without_user(app.core.store().conn(), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.detail.unwrap_or_default()))
        .collect()
}

async fn refusals_naming_no_account_are_recorded_once_a_minute(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = client_from(&app, "127.0.0.1");
    let forged_session = || {
        c.get(app.url("/api/v1/auth/me"))
            .header(
                header::COOKIE,
                "__Host-custodian_session=cus_s_forgedforgedforgedforgedforgedforged",
            )
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            forged_session().await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    for _ in 0..2 {
        let res = c
            .get(app.url("/api/v1/contacts"))
            .header(header::AUTHORIZATION, "Bearer cus_t_notatokenofoursatall")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..2 {
        let (status, body) = split(
            c.post(app.url("/api/v1/auth/password/reset"))
                .json(&json!({"token": "cus_link_expired_or_made_up", "password": "a long new passphrase 7"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_code(&body), Some("invalid_link"));
    }
    let mut seen = anonymous(&app).await;
    seen.sort();
    assert_eq!(
        seen,
        [
            ("authn_link_invalid".to_owned(), "password_reset".to_owned()),
            (
                "authn_unknown_credential".to_owned(),
                "api_token".to_owned()
            ),
            ("authn_unknown_credential".to_owned(), "session".to_owned()),
        ],
        "one row per kind and detail a minute, however many refusals"
    );
    app.clock.advance(time::Duration::seconds(61));
    assert_eq!(
        forged_session().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(anonymous(&app).await.len(), 4);
}

on_both_backends!(
    a_new_device_or_network_is_recorded_and_emailed,
    failures_before_success_and_wrong_codes_are_recorded,
    a_session_used_elsewhere_or_after_it_ended_is_recorded,
    refused_tokens_are_recorded_and_admins_see_anyones_activity,
    refusals_naming_no_account_are_recorded_once_a_minute,
);
