//! Real-time monitoring: every rule raises its alert from real traffic through the server
//! (with the injected clock's time and configured thresholds), alerts reach security officers
//! in-app, by e-mail through the local SMTP server and as signed webhooks to a local receiver,
//! rules act on accounts (lock, end sessions), alerts are owned, acknowledged, annotated and
//! resolved through the API and the pages, and a tampered audit log raises an alert.

// Waiting for the background monitor and feeds uses the real clock.
#![allow(clippy::disallowed_methods)]

use custodian_testkit::outbound::{ALERT_WEBHOOK_SECRET, MailSink, WebhookReceiver};
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, OtherUser, TestApp, error_code, on_both_backends,
    spawn_app_with, test_config,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Waits (up to 15 s) for an alert of `rule` passing `accept`, and returns it.
async fn wait_alert(app: &TestApp, rule: &str, accept: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = app
            .get_json(&format!("/api/v1/security/alerts?rule={rule}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if let Some(alert) = body["items"].as_array().unwrap().iter().find(|a| accept(a)) {
            return alert.clone();
        }
        assert!(Instant::now() < deadline, "no {rule} alert: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Events of `code` in the audit log, as an auditor (`audit.read`) finds them.
async fn audit_codes(app: &TestApp, auditor: &OtherUser, code: &str) -> Vec<Value> {
    app.core.flush_audit().await.unwrap();
    let (status, body) = auditor
        .get_json(&format!("/api/v1/audit/events?code={code}&limit=200"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn wrong_password(app: &TestApp, email: &str, password: &str) {
    let res = app
        .anon
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

fn client_from(app: &TestApp, source: &str) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(&app.cert_pem).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([cert])
        .local_address(source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// Signs `email` in from `c`; the session cookie and the CSRF token.
async fn sign_in(app: &TestApp, c: &reqwest::Client, email: &str) -> (String, String) {
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("__Host-custodian_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let body: Value = res.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

async fn sign_in_rules_alert_notify_deliver_and_act(backend: Backend) {
    let mail = MailSink::start();
    let hook = WebhookReceiver::start().await;
    let mut config = test_config();
    mail.configure(&mut config);
    hook.configure(&mut config);
    config.monitor.rules.failed_logins_per_account = 3;
    config.monitor.rules.failed_logins_action =
        custodian_core::monitor::rules::RuleAction::LockAccount;
    config.monitor.rules.spraying_accounts = 3;
    config.monitor.rules.ended_session_action =
        custodian_core::monitor::rules::RuleAction::EndSessions;
    let app = spawn_app_with(backend, config).await;
    let victim = app
        .sign_in_with_roles("victim@example.com", &["sales"], None, None)
        .await;

    // Three wrong passwords for one account: a burst, and the account is locked.
    for _ in 0..3 {
        wrong_password(&app, "victim@example.com", "guess one").await;
    }
    let burst = wait_alert(&app, "failed_login_burst", |a| {
        a["subject_user_id"] == victim.id.as_str()
    })
    .await;
    assert_eq!(burst["severity"], "medium");
    assert_eq!(burst["subject_email"], "victim@example.com");
    assert_eq!(burst["detail"]["failures"], 3);
    assert_eq!(burst["action"], "lock_account");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = victim.get_json("/api/v1/auth/me").await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the victim's session was not ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let locked = app
        .anon
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "victim@example.com", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right password is refused while the account is locked"
    );
    let auditor = app
        .sign_in_with_roles("auditor@example.com", &["auditor"], None, None)
        .await;
    let actions = audit_codes(&app, &auditor, "alert_action").await;
    let lock: Vec<&Value> = actions
        .iter()
        .filter(|a| a["detail"]["action"] == "lock_account")
        .collect();
    assert_eq!(lock.len(), 1, "{actions:?}");
    assert_eq!(lock[0]["target_id"], victim.id.as_str());
    assert_eq!(lock[0]["detail"]["sessions"], 1);
    // The victim's browser presenting its ended session is itself an alert.
    wait_alert(&app, "ended_session_used", |a| {
        a["subject_user_id"] == victim.id.as_str()
    })
    .await;

    // One password against three addresses that have no account: spraying.
    for who in ["a@example.com", "b@example.com", "c@example.com"] {
        wrong_password(&app, who, "Summer2026!").await;
    }
    let spray = wait_alert(&app, "password_spraying", |a| {
        a["detail"]["by"] == "password"
    })
    .await;
    assert_eq!(spray["severity"], "high");
    assert_eq!(spray["detail"]["accounts"], 3);
    assert!(spray["subject_user_id"].is_null());
    // The same network tried four accounts, too.
    wait_alert(&app, "password_spraying", |a| {
        a["detail"]["by"] == "network"
    })
    .await;

    // The same password against a fourth address adds to the open alert instead of
    // raising another.
    wrong_password(&app, "d@example.com", "Summer2026!").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = wait_alert(&app, "password_spraying", |a| {
            a["detail"]["by"] == "password"
        })
        .await;
        if again["occurrences"].as_i64().unwrap() >= 2 {
            assert_eq!(again["id"], spray["id"]);
            assert_eq!(again["detail"]["accounts"], 4);
            break;
        }
        assert!(Instant::now() < deadline, "{again}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, all) = app
        .get_json("/api/v1/security/alerts?rule=password_spraying")
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");

    // The administrator (a security officer) is told in-app, by e-mail and by the webhook.
    let (_, notes) = app.get_json("/api/v1/notifications").await;
    let alert_notes: Vec<&Value> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "security_alert")
        .collect();
    assert!(alert_notes.len() >= 3, "{notes}");
    assert!(alert_notes.iter().any(|n| n["alert_id"] == burst["id"]));
    assert!(
        alert_notes
            .iter()
            .any(|n| n["alert_rule"] == "failed_login_burst")
    );
    let mail = mail.wait_for(ADMIN_EMAIL).await;
    assert!(mail.subject.contains("security alert"), "{}", mail.subject);
    assert!(mail.body.contains("/security/alerts/"), "{}", mail.body);
    assert!(!mail.body.contains("victim@example.com"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while hook.received().len() < 3 {
        assert!(Instant::now() < deadline, "webhooks did not arrive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for delivery in hook.received() {
        let header = delivery.signature.expect("signed");
        let (t, v1) = header.split_once(",v1=").unwrap();
        let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
        assert_eq!(
            v1,
            custodian_crypto::mac::webhook_signature(
                ALERT_WEBHOOK_SECRET.as_bytes(),
                t,
                &delivery.body
            ),
            "the signature covers the time and the body"
        );
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(body["type"], "alert.raised");
        let text = String::from_utf8(delivery.body.clone()).unwrap();
        assert!(!text.contains("victim@example.com"), "{text}");
        assert!(!text.contains("Summer2026"), "{text}");
    }
    let (_, detail) = app
        .get_json(&format!(
            "/api/v1/security/alerts/{}",
            burst["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(detail["deliveries"][0]["channel"], "webhook");
    assert_eq!(detail["deliveries"][0]["status"], "delivered");

    // Neither the attempted password nor the addresses typed are in the audit log.
    let failures = audit_codes(&app, &auditor, "authn_login_fail").await;
    let text = serde_json::to_string(&failures).unwrap();
    assert!(!text.contains("Summer2026") && !text.contains("a@example.com"));
    assert_eq!(
        failures[0]["detail"]["password"].as_str().unwrap().len(),
        16,
        "a 64-bit fingerprint"
    );
}

/// An offset from UTC that puts the clock the server is about to start with at 03:00 local
/// time (off hours; a run that crosses the hour sees 04:00, off hours as well).
fn offset_for_three_am() -> i32 {
    let hour = i32::from(time::OffsetDateTime::now_utc().hour());
    let mut offset = (3 - hour).rem_euclid(24);
    if offset > 12 {
        offset -= 24;
    }
    offset * 60
}

async fn data_rules_alert_and_officers_handle_them(backend: Backend) {
    let offset = offset_for_three_am();
    let mut config = test_config();
    config.monitor.rules.mass_read_records = 5;
    config.monitor.rules.large_export_rows = 3;
    config.monitor.rules.exports_per_window = 2;
    config.monitor.rules.off_hours_enabled = true;
    config.monitor.rules.weekends_off = false;
    config.monitor.rules.utc_offset_mins = offset;
    config.monitor.rules.privilege_escalation = true;
    config.monitor.rules.ended_session_action =
        custodian_core::monitor::rules::RuleAction::EndSessions;
    let app = spawn_app_with(backend, config).await;
    let me = app.get_json("/api/v1/auth/me").await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The administrator's own sign-in at 03:00 local time.
    let night = wait_alert(&app, "off_hours", |a| a["subject_user_id"] == me.as_str()).await;
    let hour = night["detail"]["local_hour"].as_i64().unwrap();
    assert!((3..=4).contains(&hour), "{night}");
    assert_eq!(night["detail"]["what"], "sign_in");

    // Six contacts listed in one page: a mass read.
    for i in 0..6 {
        app.create_contact(json!({"name": format!("Li Na {i}")}))
            .await;
    }
    let (status, _) = app.get_json("/api/v1/contacts?limit=50").await;
    assert_eq!(status, StatusCode::OK);
    let mass = wait_alert(&app, "mass_read", |a| a["subject_user_id"] == me.as_str()).await;
    assert!(mass["detail"]["records"].as_i64().unwrap() >= 6, "{mass}");

    // Two exports of six rows: large, and too many.
    for _ in 0..2 {
        let res = app
            .request(reqwest::Method::GET, "/api/v1/exports/contacts?format=csv")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap();
    }
    let large = wait_alert(&app, "large_export", |_| true).await;
    assert_eq!(large["detail"]["rows"], 6);
    wait_alert(&app, "export_volume", |a| a["detail"]["exports"] == 2).await;

    // A role granted: privilege escalation, about the user who got it.
    let clerk = app
        .sign_in_with_roles("clerk@example.com", &["sales"], None, None)
        .await;
    app.reauthenticate().await;
    let res = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{}/roles", clerk.id),
        )
        .json(&json!({"roles": ["sales", "administrator"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let granted = wait_alert(&app, "privilege_escalation", |a| {
        a["subject_user_id"] == clerk.id.as_str()
            && a["detail"]["granted"] == json!(["administrator"])
    })
    .await;
    assert_eq!(granted["detail"]["by"], me.as_str());

    // The administrator signs in from another network.
    let away = client_from(&app, "127.1.0.1");
    sign_in(&app, &away, ADMIN_EMAIL).await;
    wait_alert(&app, "new_network", |a| a["subject_user_id"] == me.as_str()).await;

    // A signed-out session presented again: alert, and the user's other sessions end.
    let courier = app
        .sign_in_with_roles("courier@example.com", &["sales"], None, None)
        .await;
    let c = client_from(&app, "127.0.0.1");
    let (cookie, csrf) = sign_in(&app, &c, "courier@example.com").await;
    let out = c
        .post(app.url("/api/v1/auth/logout"))
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success(), "{}", out.status());
    let reused = c
        .get(app.url("/api/v1/auth/me"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    let ended = wait_alert(&app, "ended_session_used", |a| {
        a["subject_user_id"] == courier.id.as_str()
    })
    .await;
    assert_eq!(ended["severity"], "high");
    assert_eq!(ended["action"], "end_sessions");
    let deadline = Instant::now() + Duration::from_secs(10);
    while courier.get_json("/api/v1/auth/me").await.0 != StatusCode::UNAUTHORIZED {
        assert!(
            Instant::now() < deadline,
            "the courier's other session still works"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let viewer = app
        .sign_in_with_roles("viewer@example.com", &["sales"], None, None)
        .await;
    handle_alerts(&app, &mass, &viewer).await;
    a_tampered_log_raises_an_alert(&app).await;
}

/// Own, acknowledge, annotate and resolve; stale and bad changes refused; others refused.
async fn handle_alerts(app: &TestApp, alert: &Value, non_officer: &OtherUser) {
    let id = alert["id"].as_str().unwrap();
    let path = format!("/api/v1/security/alerts/{id}");
    let (_, current) = app.get_json(&path).await;
    let version = current["alert"]["version"].as_i64().unwrap();
    let me = app.get_json("/api/v1/auth/me").await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, changed) = app
        .patch_json(
            &path,
            &json!({"version": version, "status": "acknowledged", "owner": me, "note": "Checked with Li Na's manager: a legitimate campaign list."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["alert"]["status"], "acknowledged");
    assert_eq!(changed["alert"]["owner_id"], me.as_str());
    assert_eq!(
        changed["notes"][0]["body"],
        "Checked with Li Na's manager: a legitimate campaign list."
    );
    // The note is ciphertext in the database.
    let stale = app
        .patch_json(&path, &json!({"version": version, "status": "resolved"}))
        .await;
    assert_eq!(stale.0, StatusCode::CONFLICT, "{}", stale.1);
    let bad = app
        .patch_json(&path, &json!({"version": version + 1, "status": "closed"}))
        .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&bad.1), Some("invalid_alert_status"));
    let empty = app
        .patch_json(&path, &json!({"version": version + 1}))
        .await;
    assert_eq!(error_code(&empty.1), Some("nothing_to_change"));
    let unknown_rule = app.get_json("/api/v1/security/alerts?rule=bogus").await;
    assert_eq!(error_code(&unknown_rule.1), Some("unknown_alert_rule"));

    // The page: resolve through the form, in Chinese.
    let (status, html) = app.html(&format!("/security/alerts/{id}"), "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("大量读取个人数据"), "{html}");
    assert!(html.contains("Checked with Li Na"));
    let res = app
        .post_form(
            &format!("/security/alerts/{id}"),
            &[
                ("_csrf", app.csrf.as_str()),
                ("version", (version + 1).to_string().as_str()),
                ("status", "resolved"),
                ("owner", ""),
                ("note", "Closed."),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, resolved) = app.get_json(&path).await;
    assert_eq!(resolved["alert"]["status"], "resolved");
    assert!(resolved["alert"]["resolved_at"].is_i64());
    assert_eq!(resolved["notes"].as_array().unwrap().len(), 2);
    let auditor = app
        .sign_in_with_roles("auditor@example.com", &["auditor"], None, None)
        .await;
    let changes = audit_codes(app, &auditor, "alert_changed").await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(!serde_json::to_string(&changes).unwrap().contains("Li Na"));

    // The dashboard, in both languages.
    let (status, board) = app.get_json("/api/v1/security/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(board["rules"].as_array().unwrap().len(), 10);
    assert!(
        board["unresolved"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["id"] != id)
    );
    assert!(
        board["by_rule"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "mass_read" && r["resolved"] == 1)
    );
    let (status, html) = app.html("/security", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Security monitoring") && html.contains("chart-alerts-by-rule"));
    let (_, html) = app.html("/security", "zh-CN").await;
    assert!(html.contains("安全监控"));

    // Someone who is not a security officer sees none of it.
    assert_eq!(
        non_officer.get_json("/api/v1/security/alerts").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        non_officer.get_json("/api/v1/security/dashboard").await.0,
        StatusCode::FORBIDDEN
    );
}

async fn a_tampered_log_raises_an_alert(app: &TestApp) {
    let (status, ok) = app.post_json("/api/v1/security/verify", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(ok["intact"], true);
    app.sql("UPDATE audit_events SET node = 'tampered' WHERE seq = 1")
        .await;
    let (_, broken) = app.post_json("/api/v1/security/verify", &json!({})).await;
    assert_eq!(broken["intact"], false);
    let alert = wait_alert(app, "audit_verification", |_| true).await;
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["detail"]["first_position"], 1);
    let (_, board) = app.get_json("/api/v1/security/dashboard").await;
    assert_eq!(board["last_verification"]["intact"], false);
}

async fn the_monitor_can_be_turned_off(backend: Backend) {
    let mut config = test_config();
    config.monitor.enabled = false;
    config.monitor.rules.failed_logins_per_account = 1;
    let app = spawn_app_with(backend, config).await;
    wrong_password(&app, ADMIN_EMAIL, "nope").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, page) = app.get_json("/api/v1/security/alerts").await;
    assert_eq!(page["items"], json!([]));
    let (_, board) = app.get_json("/api/v1/security/dashboard").await;
    assert!(board["monitor_lag"].as_i64().unwrap() > 0);
}

on_both_backends!(
    sign_in_rules_alert_notify_deliver_and_act,
    data_rules_alert_and_officers_handle_them,
    the_monitor_can_be_turned_off,
);
