//! The audit log fed to a SIEM: every event, in order, as JSON lines in a file, and as RFC 5424
//! syslog over TLS to a real receiver (Debian's rsyslog with its GnuTLS driver) — with the
//! structured data a SIEM rule matches on, and no password or personal value.

// Waiting for the background monitor and feeds uses the real clock.
#![allow(clippy::disallowed_methods)]

use custodian_testkit::outbound::SyslogReceiver;
use custodian_testkit::{ADMIN_EMAIL, Backend, on_both_backends, spawn_app_with, test_config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn every_event_reaches_the_file_and_the_syslog_receiver(backend: Backend) {
    let syslog = SyslogReceiver::start();
    let feed_dir = tempfile::tempdir().unwrap();
    let jsonl = feed_dir.path().join("audit.jsonl");
    let mut config = test_config();
    config.siem.jsonl_file = jsonl.display().to_string();
    syslog.configure(&mut config);
    let app = spawn_app_with(backend, config).await;

    let res = app
        .anon
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": "Secret-Guess-42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let contact = app
        .create_contact(json!({"name": "Wang Fang Feed", "emails": ["wang.fang.feed@example.cn"]}))
        .await;
    let id = contact["id"].as_str().unwrap().to_owned();

    // Syslog: the failure as a warning of facility 13, its code as MSGID, the structured data.
    let failure = syslog
        .wait_for(|l| l.starts_with("authn_login_fail "))
        .await;
    assert!(failure.contains("[custodian@32473 seq=\""), "{failure}");
    assert!(failure.contains("outcome=\"failure\""), "{failure}");
    let created = syslog
        .wait_for(|l| l.starts_with("data_create ") && l.contains(&id))
        .await;
    assert!(created.contains("target_type=\"contact\""), "{created}");

    // The file: every event from the first, in order, each a JSON object.
    app.core.flush_audit().await.unwrap();
    let head = custodian_store::repo::audit::head(app.core.store().conn())
        .await
        .unwrap()
        .size;
    let deadline = Instant::now() + Duration::from_secs(20);
    let events: Vec<Value> = loop {
        let text = std::fs::read_to_string(&jsonl).unwrap_or_default();
        let events: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if events.len() as i64 >= head {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {head} events",
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for (i, event) in events.iter().take(head as usize).enumerate() {
        assert_eq!(event["seq"], i as i64, "in order, none missing");
        assert_eq!(event["leaf_hash"].as_str().unwrap().len(), 64);
    }
    assert!(events.iter().any(|e| e["code"] == "authn_login_fail"));

    // Neither feed carries the password tried or the contact's name or address.
    let file = std::fs::read_to_string(&jsonl).unwrap();
    let received = syslog.lines().join("\n");
    for secret in ["Secret-Guess-42", "Wang Fang", "wang.fang.feed"] {
        assert!(!file.contains(secret), "{secret} in the file");
        assert!(!received.contains(secret), "{secret} in syslog");
    }
}

/// Runs `custodian audit verify-export FILE [--public-key HEX]`.
async fn verify_export_cli(file: &std::path::Path, key: Option<&str>) -> anyhow::Result<()> {
    let mut args = vec![
        "custodian".to_owned(),
        "audit".to_owned(),
        "verify-export".to_owned(),
        file.display().to_string(),
    ];
    if let Some(key) = key {
        args.extend(["--public-key".to_owned(), key.to_owned()]);
    }
    let cli = <custodian::cli::Cli as clap::Parser>::try_parse_from(args).unwrap();
    custodian::cli::run(cli, custodian::server::Wiring::system()).await
}

fn rfc3339(millis: i64) -> String {
    custodian_domain::clock::from_millis(millis)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn an_exported_range_verifies_offline_and_any_edit_is_caught(backend: Backend) {
    let app = custodian_testkit::spawn_app(backend).await;
    let auditor = app
        .sign_in_with_roles("auditor@example.com", &["auditor"], None, None)
        .await;
    for i in 0..3 {
        app.create_contact(json!({"name": format!("Sun Li {i}")}))
            .await;
    }
    let now = {
        use custodian_domain::Clock;
        app.clock.now_millis()
    };
    let query = format!(
        "/api/v1/audit/export?from={}&to={}",
        rfc3339(now - 3_600_000).replace('+', "%2B"),
        rfc3339(now + 3_600_000).replace('+', "%2B")
    );
    let res = auditor
        .client
        .get(format!("{}{query}", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[reqwest::header::CONTENT_TYPE],
        "application/x-ndjson"
    );
    let text = res.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "checkpoint");
    let events = &lines[1..];
    assert!(events.len() >= 6, "{}", events.len());
    assert!(events.iter().any(|e| e["event"]["code"] == "data_create"));
    assert!(!text.contains("Sun Li"), "no personal value in the export");

    let key = custodian_crypto::audit::hex(&app.core.audit_public_key().unwrap());
    let check =
        custodian_core::audit::export::verify_export(&text, app.core.audit_public_key()).unwrap();
    assert_eq!(check.events as usize, events.len());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &text).unwrap();
    verify_export_cli(&file, Some(&key))
        .await
        .expect("the export verifies offline");

    // Any edit is caught and named: the shown event, its bytes, its proof, the signature.
    let edit = |line: usize, f: &dyn Fn(&mut Value)| -> String {
        let mut copy = lines.clone();
        f(&mut copy[line]);
        copy.iter().map(|l| format!("{l}\n")).collect()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            edit(2, &|l| l["event"]["code"] = json!("data_read")),
            "not the hashed one",
        ),
        (
            edit(2, &|l| {
                l["canonical"] = json!(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    b"forged"
                ))
            }),
            "do not match its leaf hash",
        ),
        (
            edit(3, &|l| l["audit_path"][0] = json!("00".repeat(32))),
            "not in the signed tree",
        ),
        (
            edit(0, &|l| l["root"] = json!("11".repeat(32))),
            "signature does not verify",
        ),
    ];
    for (tampered, expected) in cases {
        std::fs::write(&file, &tampered).unwrap();
        let error = verify_export_cli(&file, Some(&key))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let other_key = "ab".repeat(32);
    std::fs::write(&file, &text).unwrap();
    let error = verify_export_cli(&file, Some(&other_key))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("signature does not verify"), "{error}");

    // Bad ranges, and people without audit.read.
    let backwards = format!(
        "/api/v1/audit/export?from={}&to={}",
        rfc3339(now).replace('+', "%2B"),
        rfc3339(now - 1000).replace('+', "%2B")
    );
    let (status, body) = auditor.get_json(&backwards).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(custodian_testkit::error_code(&body), Some("invalid_range"));
    let (status, body) = auditor
        .get_json("/api/v1/audit/export?from=yesterday&to=today")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(custodian_testkit::error_code(&body), Some("invalid_time"));
    assert_eq!(app.get_json(&query).await.0, StatusCode::FORBIDDEN);
}

on_both_backends!(
    every_event_reaches_the_file_and_the_syslog_receiver,
    an_exported_range_verifies_offline_and_any_edit_is_caught,
);
