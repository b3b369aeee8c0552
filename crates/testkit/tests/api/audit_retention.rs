//! Audit retention: events past the retention period are pruned only below a signed
//! checkpoint; afterwards the log still verifies, kept events keep their inclusion proofs and
//! verifiable exports, and the pruning is itself an audit event. A removal dressed up as
//! pruning, and pruning on the word of a forged checkpoint, are refused or named.

use custodian_core::audit::checkpoints::read_checkpoint_file;
use custodian_core::audit::retention::{PruneTrigger, Retention};
use custodian_core::audit::verify::{ProblemKind, VerifyOptions, VerifyReport, verify};
use custodian_crypto::audit::{self as chain, from_hex};
use custodian_testkit::{
    Backend, OtherUser, TestApp, on_both_backends, spawn_app_with, test_config,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An app that signs checkpoints only when a test asks, so the tests choose where they fall.
async fn app(backend: Backend) -> TestApp {
    let mut config = test_config();
    config.audit.checkpoint_every_secs = 3_600;
    config.audit.checkpoint_every_events = 1_000_000;
    spawn_app_with(backend, config).await
}

async fn add_contacts(app: &TestApp, label: &str, count: usize) {
    for i in 0..count {
        app.create_contact(json!({"name": format!("{label} {i}")}))
            .await;
    }
}

/// A user signed in now (the administrator's session of the test's start has long expired
/// once the clock has moved a year on).
async fn writer(app: &TestApp) -> OtherUser {
    app.sign_in_with_roles("writer@example.com", &["all_records"], None, None)
        .await
}

/// Writes queued reads and signs a checkpoint of everything so far; returns its size.
async fn checkpoint(app: &TestApp) -> u64 {
    app.core.flush_audit().await.unwrap();
    app.core
        .checkpoint_audit()
        .await
        .unwrap()
        .expect("new events to sign")
        .tree_size
}

async fn verify_now(app: &TestApp) -> VerifyReport {
    app.core.flush_audit().await.unwrap();
    let options = VerifyOptions {
        public_key: app.core.audit_public_key(),
        file_checkpoints: read_checkpoint_file(&app.data_dir.join("audit-checkpoints.jsonl"))
            .unwrap(),
    };
    verify(app.core.store(), &options).await.unwrap()
}

async fn oldest_kept(app: &TestApp) -> i64 {
    custodian_store::repo::audit::oldest_event(app.core.store().conn())
        .await
        .unwrap()
        .unwrap()
        .0
}

fn rfc3339(ms: i64) -> String {
    custodian_domain::clock::from_millis(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .replace('+', "%2B")
}

async fn pruning_keeps_the_log_verifiable_and_proofs_valid(backend: Backend) {
    let app = app(backend).await;
    add_contacts(&app, "Old", 6).await;
    let old = checkpoint(&app).await;
    let retention = Retention::default();

    // Within the retention period nothing goes.
    let report = app
        .core
        .prune_audit(retention, PruneTrigger::CommandLine, false)
        .await
        .unwrap();
    assert_eq!((report.newly_pruned, report.deleted), (0, 0));
    assert_eq!(oldest_kept(&app).await, 0);

    app.clock.advance(time::Duration::days(401));
    let writer = writer(&app).await;
    for i in 0..3 {
        let (status, body) = writer
            .post_json("/api/v1/contacts", &json!({"name": format!("Recent {i}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let auditor = app
        .sign_in_with_roles("auditor@example.com", &["auditor"], None, None)
        .await;
    let recent = checkpoint(&app).await;
    assert!(recent > old);

    // A dry run says what would go and removes nothing.
    let dry = app
        .core
        .prune_audit(retention, PruneTrigger::CommandLine, true)
        .await
        .unwrap();
    assert_eq!(
        (dry.newly_pruned, dry.pruned_below, dry.deleted),
        (old, old, 0)
    );
    assert_eq!(oldest_kept(&app).await, 0);

    // Pruning goes up to the old checkpoint, not to the recent one (signed inside the period).
    let report = app
        .core
        .prune_audit(retention, PruneTrigger::Schedule, false)
        .await
        .unwrap();
    assert_eq!(report.pruned_below, old);
    assert_eq!(report.newly_pruned, old);
    assert_eq!(report.deleted, old);
    assert_eq!(oldest_kept(&app).await, i64::try_from(old).unwrap());
    assert_eq!(report.checkpoint.as_ref().unwrap().tree_size, old);

    // The log verifies from the kept checkpoint on, and says what was pruned.
    checkpoint(&app).await;
    let verified = verify_now(&app).await;
    assert!(verified.is_intact(), "{:?}", verified.problems);
    assert_eq!(verified.pruned_below, old);
    assert!(verified.events > recent);

    // The pruning is an event of the log, with what it removed.
    let (status, found) = auditor
        .get_json("/api/v1/audit/events?code=audit_pruned")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let pruned_events = found["items"].as_array().unwrap();
    assert_eq!(pruned_events.len(), 1, "{found}");
    let detail = &pruned_events[0]["detail"];
    assert_eq!(detail["below"], json!(old), "{detail}");
    assert_eq!(detail["retention_days"], json!(400));
    assert_eq!(detail["trigger"], "schedule");

    // A kept event's inclusion proof checks out against the newest checkpoint: the pruned
    // events' subtrees come from the kept checkpoint's frontier.
    let (_, created) = auditor
        .get_json("/api/v1/audit/events?code=data_create")
        .await;
    let created = created["items"].as_array().unwrap();
    assert_eq!(created.len(), 3, "only the recent creations are kept");
    for event in created {
        let id = event["id"].as_str().unwrap();
        let (status, proof) = auditor
            .get_json(&format!("/api/v1/audit/events/{id}/proof"))
            .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        let path: Vec<_> = proof["audit_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| from_hex::<32>(h.as_str().unwrap()).unwrap())
            .collect();
        let leaf = from_hex::<32>(proof["event"]["leaf_hash"].as_str().unwrap()).unwrap();
        let root = from_hex::<32>(proof["checkpoint"]["root"].as_str().unwrap()).unwrap();
        let size = proof["checkpoint"]["tree_size"].as_u64().unwrap();
        let index = proof["leaf_index"].as_u64().unwrap();
        assert!(index >= old);
        assert!(chain::verify_inclusion(&leaf, index, size, &path, &root));
    }

    // An export reaching back past the pruned events holds only the kept ones, and verifies
    // offline.
    use custodian_domain::Clock;
    let now = app.clock.now_millis();
    let res = auditor
        .client
        .get(format!(
            "{}/api/v1/audit/export?from={}&to={}",
            app.base_url,
            rfc3339(now - 500 * 86_400_000),
            rfc3339(now + 3_600_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let check = custodian_core::audit::export::verify_export(&text, app.core.audit_public_key())
        .expect("the export verifies");
    let first_seq = text
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .min()
        .unwrap();
    assert_eq!(first_seq, old);
    assert!(check.events > 0);

    // The API and the audit page show the retention and what was pruned, in both languages.
    let (status, status_body) = auditor.get_json("/api/v1/audit/retention").await;
    assert_eq!(status, StatusCode::OK, "{status_body}");
    assert_eq!(status_body["retention_days"], 400);
    assert_eq!(status_body["pruned_below"], json!(old));
    let (status, page) = auditor.html("/audit", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Events are kept for 400 days"), "{page}");
    assert!(page.contains(&format!("#0–#{}", old - 1)), "{page}");
    let (_, page) = auditor.html("/audit", "zh-CN").await;
    assert!(page.contains("事件保留 400 天"));
    assert!(page.contains("已超过保留期并被清理"));

    // People without audit access see neither.
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], None, None)
        .await;
    let (status, _) = sales.get_json("/api/v1/audit/retention").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A second run finds nothing new.
    let again = app
        .core
        .prune_audit(retention, PruneTrigger::Schedule, false)
        .await
        .unwrap();
    assert_eq!((again.newly_pruned, again.deleted), (0, 0));
    assert!(verify_now(&app).await.is_intact());

    // The command line runs the same pruning (on the real clock, a year behind the test's:
    // nothing is old enough) and the log still verifies afterwards.
    let args = [
        "custodian",
        "audit",
        "prune",
        "--dry-run",
        "--data-dir",
        app.data_dir.to_str().unwrap(),
        "--database-url",
        &app.database_url,
    ]
    .map(str::to_owned);
    let cli = <custodian::cli::Cli as clap::Parser>::try_parse_from(args).unwrap();
    custodian::cli::run(cli, custodian::server::Wiring::system())
        .await
        .expect("a dry run of the command");
    assert_eq!(oldest_kept(&app).await, i64::try_from(old).unwrap());
}

async fn removal_dressed_as_pruning_is_named(backend: Backend) {
    let app = app(backend).await;
    add_contacts(&app, "Kept", 5).await;
    let first = checkpoint(&app).await;
    add_contacts(&app, "Later", 3).await;
    checkpoint(&app).await;
    assert!(verify_now(&app).await.is_intact());

    // The oldest events deleted and the head edited to call it pruning: no audit_pruned event
    // records it.
    app.sql(&format!("DELETE FROM audit_events WHERE seq < {first}"))
        .await;
    app.sql(&format!("UPDATE audit_head SET pruned_size = {first}"))
        .await;
    let report = verify_now(&app).await;
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::PruneUnverified && p.position == Some(first)),
        "{:?}",
        report.problems
    );

    // A pruned size that no signed checkpoint accounts for is named, and so are the missing
    // events.
    app.sql(&format!(
        "UPDATE audit_head SET pruned_size = {}",
        first - 1
    ))
    .await;
    let report = verify_now(&app).await;
    let kinds: Vec<_> = report
        .problems
        .iter()
        .map(|p| (p.kind, p.position))
        .collect();
    assert!(
        kinds.contains(&(ProblemKind::PruneUnverified, Some(0))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(ProblemKind::Missing, Some(0))),
        "{kinds:?}"
    );
}

async fn pruning_refuses_a_forged_checkpoint(backend: Backend) {
    let app = app(backend).await;
    add_contacts(&app, "Forged", 4).await;
    let size = checkpoint(&app).await;
    // The checkpoint's root replaced: its signature and frontier no longer agree with it.
    app.sql(&format!(
        "UPDATE audit_checkpoints SET root_hash = chain_hash WHERE tree_size = {size}"
    ))
    .await;
    app.clock.advance(time::Duration::days(401));
    let error = app
        .core
        .prune_audit(Retention::default(), PruneTrigger::CommandLine, false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            custodian_core::CoreError::Rule {
                code: "audit_checkpoint_invalid",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(oldest_kept(&app).await, 0, "nothing was removed");
    // Keeping events for ever leaves nothing to prune.
    let error = app
        .core
        .prune_audit(
            Retention::from_days(0).unwrap(),
            PruneTrigger::CommandLine,
            false,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            custodian_core::CoreError::Rule {
                code: "retention_unlimited",
                ..
            }
        ),
        "{error:?}"
    );
}

on_both_backends!(
    pruning_keeps_the_log_verifiable_and_proofs_valid,
    removal_dressed_as_pruning_is_named,
    pruning_refuses_a_forged_checkpoint,
);
