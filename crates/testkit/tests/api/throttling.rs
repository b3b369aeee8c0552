//! Sign-in throttling stored in the database: back-off per account and per network, lockout at
//! the threshold, unlock by time or by an administrator; unknown accounts answered exactly like
//! known ones. Time is the injected clock.

use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, error_code, on_both_backends, spawn_app,
    spawn_app_with, split, test_config,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

async fn attempt(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (StatusCode, Option<String>, Value) {
    let res = app
        .anon
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let retry = res
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = split(res).await;
    (status, retry, body)
}

async fn failures_back_off_per_account_alike_for_unknown_accounts(backend: Backend) {
    let app = spawn_app(backend).await;
    for email in [ADMIN_EMAIL, "nobody.here@example.com"] {
        for n in 1..=6 {
            let (status, _, body) = attempt(&app, email, "wrong password guess").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{email} attempt {n}");
            assert_eq!(error_code(&body), Some("invalid_credentials"));
        }
        // The seventh comes too soon: refused before any password check, with the wait.
        let (status, retry, body) = attempt(&app, email, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert_eq!(error_code(&body), Some("too_many_attempts"));
        assert_eq!(retry.as_deref(), Some("1"));
        assert_eq!(body["details"]["retry_after_secs"], 1);
    }
    // After the wait the right password works and starts the count again.
    app.clock.advance(time::Duration::seconds(1));
    let (status, _, _) = attempt(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = attempt(&app, ADMIN_EMAIL, "wrong password guess").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = attempt(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "one failure after a reset: no wait");

    // The sign-in form answers the same way, with Retry-After and a sentence.
    for _ in 0..6 {
        attempt(&app, "form.user@example.com", "wrong password guess").await;
    }
    let res = app
        .anon
        .post(app.url("/login"))
        .header(header::ACCEPT_LANGUAGE, "en")
        .form(&[
            ("email", "form.user@example.com"),
            ("password", "whatever it is"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    let html = res.text().await.unwrap();
    assert!(html.contains("Too many sign-in attempts"), "{html}");
}

async fn lockout_at_the_threshold_lifts_by_time_or_administrator(backend: Backend) {
    let mut config = test_config();
    config.login.lockout_threshold = 10;
    config.login.lockout_secs = 600;
    let app = spawn_app_with(backend, config).await;
    let user = app.sign_in_new_user("locked.out@example.com").await;
    let fail_ten_times = || async {
        for n in 1..=10 {
            // Spaced past each back-off wait (at most 8 s before the tenth).
            app.clock.advance(time::Duration::seconds(10));
            let (status, _, _) = attempt(&app, "locked.out@example.com", "bad guess!!").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {n}");
        }
    };
    fail_ten_times().await;
    app.clock.advance(time::Duration::seconds(60));
    let (status, retry, _) = attempt(&app, "locked.out@example.com", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "locked");
    assert_eq!(retry.as_deref(), Some("540"));

    // Only administrators unlock.
    let (status, _) = user
        .post_json(&format!("/api/v1/users/{}/unlock", user.id), &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not an administrator");
    let (status, body) = app
        .post_json(&format!("/api/v1/users/{}/unlock", user.id), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["unlocked"], true);
    let (status, _, _) = attempt(&app, "locked.out@example.com", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    // Locked again, it lifts on its own once the lockout period has passed.
    fail_ten_times().await;
    app.clock.advance(time::Duration::seconds(599));
    let (status, _, _) = attempt(&app, "locked.out@example.com", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(time::Duration::seconds(2));
    let (status, _, _) = attempt(&app, "locked.out@example.com", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_network_guessing_many_accounts_is_slowed_down(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..21 {
        let (status, _, _) = attempt(&app, &format!("spray{n}@example.com"), "Summer2026!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let (status, retry, _) = attempt(&app, "spray99@example.com", "Summer2026!").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some("1"));
    app.clock.advance(time::Duration::seconds(1));
    let (status, _, _) = attempt(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

async fn throttled_answers_come_late(backend: Backend) {
    let mut config = test_config();
    config.login.throttled_delay_ms = 300;
    let app = spawn_app_with(backend, config).await;
    for _ in 0..6 {
        attempt(&app, "slow.guess@example.com", "wrong password guess").await;
    }
    // Real time on purpose: the delay is a timer, not the injected clock.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let (status, _, _) = attempt(&app, "slow.guess@example.com", "wrong password guess").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(300),
        "answered after {:?}",
        started.elapsed()
    );
}

on_both_backends!(
    throttled_answers_come_late,
    failures_back_off_per_account_alike_for_unknown_accounts,
    lockout_at_the_threshold_lifts_by_time_or_administrator,
    a_network_guessing_many_accounts_is_slowed_down,
);
