#![allow(clippy::disallowed_methods)]

//! The Prometheus endpoint: authenticated (security officers, or a token scoped
//! `metrics:read`), counting requests by route template, sign-ins by outcome, audit events and
//! appends with their latency, and alerts raised and open — with no personal value or id in
//! any label.

use custodian_testkit::{Backend, TestApp, on_both_backends, spawn_app_with, test_config};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The value of the sample `series` (name with its labels, exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

async fn scrape(
    client: &reqwest::Client,
    app: &TestApp,
    bearer: Option<&str>,
) -> (StatusCode, String) {
    let mut request = client.get(app.url("/api/v1/metrics"));
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let res = request.send().await.unwrap();
    let status = res.status();
    if status == StatusCode::OK {
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
    }
    (status, res.text().await.unwrap())
}

async fn the_metrics_endpoint_counts_and_is_guarded(backend: Backend) {
    let mut config = test_config();
    config.monitor.rules.failed_logins_per_account = 2;
    let app = spawn_app_with(backend, config).await;
    let officer = app
        .sign_in_with_roles("officer@example.com", &["security_officer"], None, None)
        .await;
    let sales = app
        .sign_in_with_roles("seller@example.com", &["sales"], None, None)
        .await;
    let contact = app
        .create_contact(json!({"name": "Metric Person", "emails": ["metric.person@example.cn"]}))
        .await;
    let id = contact["id"].as_str().unwrap();
    let (status, _) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    app.wrong_password("seller@example.com").await;
    app.wrong_password("seller@example.com").await;
    // Two failures for one account raise an alert.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, alerts) = app
            .get_json("/api/v1/security/alerts?rule=failed_login_burst")
            .await;
        if !alerts["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no alert: {alerts}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.core.flush_audit().await.unwrap();

    // Who may read them: nobody anonymous, not sales; a security officer may.
    let (status, _) = scrape(&app.anon, &app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scrape(&sales.client, &app, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, text) = scrape(&officer.client, &app, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");

    // Requests by route template, never by the raw path.
    assert!(
        sample(
            &text,
            r#"custodian_http_requests_total{method="POST",route="/api/v1/contacts",status="201"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            r#"custodian_http_requests_total{method="GET",route="/api/v1/contacts/{id}",status="200"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(text.contains(r#"custodian_http_request_duration_seconds_bucket{method="POST",route="/api/v1/contacts",le="0.005"}"#));
    // Sign-ins: the three good ones of this test (admin, officer, seller) and two failures.
    assert_eq!(
        sample(&text, r#"custodian_auth_logins_total{outcome="failure"}"#),
        Some(2.0),
        "{text}"
    );
    assert!(
        sample(&text, r#"custodian_auth_logins_total{outcome="success"}"#)
            .is_some_and(|n| n >= 3.0)
    );
    // Audit: events by code, appends by kind with latency, the log's size and signed state.
    assert_eq!(
        sample(&text, r#"custodian_audit_events_total{code="data_create"}"#),
        Some(1.0)
    );
    assert!(
        sample(&text, r#"custodian_audit_events_total{code="data_read"}"#)
            .is_some_and(|n| n >= 1.0)
    );
    assert!(
        sample(&text, r#"custodian_audit_appends_total{kind="write"}"#).is_some_and(|n| n >= 1.0)
    );
    assert!(
        sample(&text, r#"custodian_audit_appends_total{kind="read_group"}"#)
            .is_some_and(|n| n >= 1.0)
    );
    assert!(text.contains(r#"custodian_audit_append_duration_seconds_count{kind="write"}"#));
    let head = {
        let status = custodian_store::repo::audit::head(app.core.store().conn())
            .await
            .unwrap();
        status.size as f64
    };
    let logged = sample(&text, "custodian_audit_log_events").unwrap();
    assert!(logged > 0.0 && logged <= head, "{logged} of {head}");
    assert!(sample(&text, "custodian_audit_unsigned_events").is_some());
    // Alerts: raised, and open by rule.
    assert_eq!(
        sample(
            &text,
            r#"custodian_alerts_raised_total{rule="failed_login_burst",severity="medium"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"custodian_alerts{rule="failed_login_burst",status="open"}"#
        ),
        Some(1.0)
    );
    assert!(text.contains("# HELP custodian_audit_events_total"));
    assert!(text.contains("# TYPE custodian_http_request_duration_seconds histogram"));
    // No personal value and no record id anywhere.
    for secret in ["Metric Person", "metric.person", "seller@example.com", id] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }

    // A scraper's token: `metrics:read` reaches the endpoint, other scopes do not.
    let token = |scopes: &str| {
        let body = json!({"name": format!("scraper {scopes}"), "scopes": scopes});
        let officer = &officer;
        async move {
            let (status, created): (StatusCode, Value) =
                officer.post_json("/api/v1/account/tokens", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            created["token"].as_str().unwrap().to_owned()
        }
    };
    let scraper = token("metrics:read").await;
    let (status, text) = scrape(&app.anon, &app, Some(&scraper)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("custodian_http_requests_total"));
    let other = token("contacts:read").await;
    let (status, _) = scrape(&app.anon, &app, Some(&other)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

on_both_backends!(the_metrics_endpoint_counts_and_is_guarded);
