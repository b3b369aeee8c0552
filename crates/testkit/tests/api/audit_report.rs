//! The audit report of a time range, computed from the log: sign-ins and failures by day,
//! second-factor coverage naming privileged users without one, privileged changes, reads of
//! personal data by user, exports with their rows, alerts and their handling, and the log's
//! verification. Auditors only; the report's own reading is audited; bad ranges are refused.

#![allow(clippy::disallowed_methods)]

use custodian_testkit::{
    Backend, TestApp, error_code, on_both_backends, spawn_app_with, test_config,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn rfc3339(ms: i64) -> String {
    custodian_domain::clock::from_millis(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .replace('+', "%2B")
}

fn now(app: &TestApp) -> i64 {
    use custodian_domain::Clock;
    app.clock.now_millis()
}

/// Waits for the monitor's alert of `rule` and returns it.
async fn alert_of(app: &TestApp, rule: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, alerts) = app
            .get_json(&format!("/api/v1/security/alerts?rule={rule}"))
            .await;
        if let Some(alert) = alerts["items"].as_array().unwrap().first() {
            return alert.clone();
        }
        assert!(Instant::now() < deadline, "no alert: {alerts}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_report_sums_up_the_range_from_the_log(backend: Backend) {
    let mut config = test_config();
    config.monitor.rules.failed_logins_per_account = 2;
    let app = spawn_app_with(backend, config).await;
    let start = now(&app) - 60_000;
    let auditor = app
        .sign_in_with_roles("auditor@example.com", &["auditor"], None, None)
        .await;
    let seller = app
        .sign_in_with_roles("seller@example.com", &["sales"], None, None)
        .await;
    let contact = app
        .create_contact(json!({"name": "Report Person", "emails": ["report.person@example.cn"]}))
        .await;
    let id = contact["id"].as_str().unwrap();
    for _ in 0..3 {
        let (status, _) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(status, StatusCode::OK);
    }
    let res = app
        .request(reqwest::Method::GET, "/api/v1/exports/contacts")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();
    // Two wrong passwords: a failed-sign-in alert, which the administrator resolves.
    app.wrong_password("seller@example.com").await;
    app.wrong_password("seller@example.com").await;
    let alert = alert_of(&app, "failed_login_burst").await;
    let path = format!("/api/v1/security/alerts/{}", alert["id"].as_str().unwrap());
    let (_, current) = app.get_json(&path).await;
    let version = current["alert"]["version"].as_i64().unwrap();
    let (status, body) = app
        .patch_json(&path, &json!({"version": version, "status": "resolved"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let query = |from: i64, to: i64| {
        format!(
            "/api/v1/audit/report?from={}&to={}",
            rfc3339(from),
            rfc3339(to)
        )
    };
    let end = now(&app) + 60_000;
    let (status, report) = auditor.get_json(&query(start, end)).await;
    assert_eq!(status, StatusCode::OK, "{report}");

    // Sign-ins: the administrator, the auditor and the seller; two failures, all today.
    let sign_ins = &report["sign_ins"];
    assert_eq!(sign_ins["succeeded"], 3, "{sign_ins}");
    assert_eq!(sign_ins["failed"], 2);
    let days = sign_ins["by_day"].as_array().unwrap();
    let today = custodian_domain::clock::from_millis(now(&app)).date();
    assert!(!days.is_empty() && days.len() <= 2, "{sign_ins}");
    let last = days.last().unwrap();
    assert_eq!(
        last["day"],
        format!(
            "{:04}-{:02}-{:02}",
            today.year(),
            u8::from(today.month()),
            today.day()
        )
    );
    let day_total: u64 = days
        .iter()
        .map(|d| d["succeeded"].as_u64().unwrap() + d["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(day_total, 5);

    // Second factors: nobody here has one, so the privileged users (the administrator and the
    // auditor) are named; the seller is not privileged.
    let factors = &report["second_factors"];
    assert_eq!(factors["active_users"], 3, "{factors}");
    assert_eq!(factors["with_second_factor"], 0);
    assert_eq!(factors["privileged_users"], 2);
    let without: Vec<&str> = factors["privileged_without"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(without.contains(&"auditor@example.com"), "{without:?}");
    assert!(!without.contains(&"seller@example.com"));

    // Privileged changes: the two users created, listed with their events.
    let changes = &report["privileged_changes"];
    assert_eq!(changes["counts"]["user_create"], 2, "{changes}");
    // Each with who made it: the test's users are created by the administrator.
    let recent = changes["recent"].as_array().unwrap();
    assert!(
        recent.iter().any(|c| c["event"]["code"] == "user_create"
            && c["by"]["email"] == custodian_testkit::ADMIN_EMAIL),
        "{recent:?}"
    );

    // Reads of personal data by user: the administrator's three reads come first.
    let readers = report["personal_data_reads"].as_array().unwrap();
    assert_eq!(
        readers[0]["user"]["email"],
        custodian_testkit::ADMIN_EMAIL,
        "{readers:?}"
    );
    assert!(readers[0]["reads"].as_u64().unwrap() >= 3);
    assert_ne!(readers[0]["user"]["id"], seller.id.as_str());

    // Exports: one, with its row.
    let exports = &report["exports"];
    assert_eq!(exports["exports"], 1, "{exports}");
    assert_eq!(exports["rows"], 1);
    assert_eq!(
        exports["by_user"][0]["user"]["email"],
        custodian_testkit::ADMIN_EMAIL
    );

    // Alerts and their handling.
    let alerts = &report["alerts"];
    assert_eq!(alerts["raised"], 1, "{alerts}");
    assert_eq!(alerts["resolved"], 1);
    assert_eq!(alerts["by_rule"][0]["rule"], "failed_login_burst");
    assert_eq!(alerts["median_minutes_to_resolve"], 0);

    // The log verified for the report.
    assert_eq!(report["verification"]["intact"], true);
    // No personal value of a customer in it.
    let text = report.to_string();
    assert!(!text.contains("Report Person") && !text.contains("report.person"));

    // The report's own reading is in the log.
    app.core.flush_audit().await.unwrap();
    let (_, reads) = auditor
        .get_json("/api/v1/audit/events?code=audit_read")
        .await;
    assert!(
        reads["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"]["query"] == "report"),
        "{reads}"
    );

    // A range before all of it is empty.
    let (status, empty) = auditor
        .get_json(&query(start - 86_400_000, start - 3_600_000))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["sign_ins"]["succeeded"], 0);
    assert_eq!(empty["exports"]["exports"], 0);
    assert_eq!(empty["alerts"]["raised"], 0);

    // The page: the same report with its charts, in both languages.
    let (status, page) = auditor.html("/audit/report", "en").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1 id=\"page-title\">Audit report</h1>"));
    assert!(page.contains("id=\"chart-sign-ins\""), "sign-ins chart");
    assert!(page.contains("id=\"chart-readers\""), "readers chart");
    assert!(page.contains("<li>auditor@example.com</li>"));
    assert!(page.contains("<dd id=\"sign-ins-failed\">2</dd>"));
    assert!(page.contains(&format!(
        "<small>{}</small>",
        custodian_testkit::ADMIN_EMAIL
    )));
    assert!(!page.contains("Report Person"));
    let (status, page) = auditor.html("/audit/report", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("审计报告") && page.contains("每日登录"));
    let (status, _) = auditor
        .html("/audit/report?from=2026-13-01&to=2026-11-01", "en")
        .await;
    assert!(status.is_client_error(), "{status}");
    let (status, _) = seller.html("/audit/report", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad ranges and people without audit access are refused.
    let (status, body) = auditor.get_json(&query(end, start)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), Some("invalid_range"));
    let (status, body) = auditor
        .get_json(&query(start, start + 400 * 86_400_000))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), Some("range_too_long"));
    let (status, _) = seller.get_json(&query(start, end)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

on_both_backends!(the_report_sums_up_the_range_from_the_log);
