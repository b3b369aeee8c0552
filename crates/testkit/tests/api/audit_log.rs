//! The tamper-evident audit log: every event source writes its event (sign-ins, refusals,
//! reads, changes, exports, imports), auditors search it and get inclusion proofs that check
//! out against the signed checkpoint, no personal value is stored in it, and verification
//! finds and names every kind of tampering: an edited row, a deleted row, swapped rows, a cut
//! tail, a forged checkpoint, rewritten hashes. On PostgreSQL two server processes appending at
//! once build one valid chain.

use custodian_core::audit::checkpoints::read_checkpoint_file;
use custodian_core::audit::verify::{ProblemKind, VerifyOptions, VerifyReport, verify};
use custodian_crypto::audit::{self as chain, CheckpointBody, from_hex};
use custodian_testkit::{
    ADMIN_EMAIL, Backend, OtherUser, TestApp, error_code, on_both_backends, spawn_app,
    spawn_app_with, test_config,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CONTACT_NAME: &str = "Zhang Wei Audit";
const CONTACT_EMAIL: &str = "zhang.wei.audit@example.cn";

async fn auditor(app: &TestApp) -> OtherUser {
    app.sign_in_with_roles("auditor@example.com", &["auditor"], None, None)
        .await
}

async fn events(user: &OtherUser, query: &str) -> Vec<Value> {
    let (status, body) = user
        .get_json(&format!("/api/v1/audit/events?{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn codes(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["code"].as_str().unwrap()).collect()
}

async fn verify_now(app: &TestApp) -> VerifyReport {
    let options = VerifyOptions {
        public_key: app.core.audit_public_key(),
        file_checkpoints: read_checkpoint_file(&app.data_dir.join("audit-checkpoints.jsonl"))
            .unwrap(),
    };
    verify(app.core.store(), &options).await.unwrap()
}

async fn every_source_writes_its_event_and_auditors_search_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let auditor = auditor(&app).await;
    // A wrong password, a change, a read, a delete and a restore of one contact.
    let (status, _) = custodian_testkit::split(
        app.anon
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": "wrong password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let contact = app
        .create_contact(
            json!({"name": CONTACT_NAME, "emails": [CONTACT_EMAIL], "notes": "met at the fair"}),
        )
        .await;
    let id = contact["id"].as_str().unwrap();
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/contacts/{id}"),
            &json!({"version": 1, "job_title": "Buyer"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .post_json(&format!("/api/v1/contacts/{id}/restore"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // An export and an import.
    let res = app
        .request(reqwest::Method::GET, "/api/v1/exports/contacts?format=csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();
    let (status, body) = app
        .import_contacts(b"name,email\nLi Na,li.na@example.cn\n".to_vec(), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The contact's history, newest first: who changed and saw it. Changes are in the order
    // they happened; a read is appended within 5 ms of happening, so it may follow a change
    // made just after it (its time says when it happened).
    let history = events(&auditor, &format!("target={id}")).await;
    let writes: Vec<&str> = codes(&history)
        .into_iter()
        .filter(|c| *c != "data_read")
        .collect();
    assert_eq!(
        writes,
        ["data_restore", "data_delete", "data_update", "data_create"]
    );
    let reads: Vec<&Value> = history
        .iter()
        .filter(|e| e["code"] == "data_read")
        .collect();
    assert_eq!(reads.len(), 1, "{history:?}");
    assert!(
        reads[0]["detail"]["groups"].as_array().unwrap().len() >= 2,
        "{history:?}"
    );
    let history: Vec<Value> = history
        .iter()
        .filter(|e| e["code"] != "data_read")
        .cloned()
        .collect();
    let admin_id = history[0]["actor_id"].as_str().unwrap().to_owned();
    for event in &history {
        assert_eq!(event["actor_id"], admin_id.as_str());
        assert_eq!(event["actor_kind"], "user");
        assert_eq!(event["target_type"], "contact");
        assert_eq!(event["outcome"], "success");
        assert_eq!(event["ip"], "127.0.0.1", "where: the client address");
        assert!(!event["node"].as_str().unwrap().is_empty());
    }
    let update = &history[2];
    assert_eq!(update["detail"]["fields"], json!(["job_title"]));
    assert_eq!(update["detail"]["from_version"], 1);
    assert_eq!(update["detail"]["to_version"], 2);
    let created = &history[3];
    assert_eq!(
        created["detail"]["fields"],
        json!(["name", "emails", "notes"])
    );
    assert_eq!(
        created["detail"]["groups"],
        json!(["contact_details", "notes"])
    );

    // Companies too.
    let company = app.create_company(json!({"name": "Audit Petroleum"})).await;
    let company_id = company["id"].as_str().unwrap();
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/companies/{company_id}"),
            &json!({"version": 1, "website": "https://audit.example.cn"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .get_json(&format!("/api/v1/companies/{company_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let on_company = events(&auditor, &format!("target={company_id}")).await;
    let mut company_codes = codes(&on_company);
    company_codes.sort_unstable();
    assert_eq!(company_codes, ["data_create", "data_read", "data_update"]);
    let update = on_company
        .iter()
        .find(|e| e["code"] == "data_update")
        .unwrap();
    assert_eq!(update["detail"]["fields"], json!(["website"]));

    // A user's activity, by code.
    let exports = events(&auditor, &format!("actor={admin_id}&code=data_export")).await;
    assert_eq!(exports.len(), 2, "started and finished");
    assert_eq!(exports[0]["detail"]["phase"], "finished");
    assert_eq!(exports[0]["detail"]["rows"], 1);
    assert_eq!(exports[1]["detail"]["phase"], "started");
    let imports = events(&auditor, "code=data_import").await;
    assert_eq!(imports[0]["detail"]["created"], 1);
    let failures = events(&auditor, "outcome=failure&code=authn_login_fail").await;
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["actor_id"], admin_id.as_str());
    let sign_ins = events(&auditor, "code=authn_login_success").await;
    assert!(
        sign_ins.len() >= 2,
        "the admin's and the auditor's sign-ins"
    );

    // A refusal is an event too; people without audit.read cannot read the log.
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], None, None)
        .await;
    let (status, body) = sales.get_json("/api/v1/audit/events").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let denials = events(&auditor, &format!("code=authz_fail&actor={}", sales.id)).await;
    assert_eq!(denials.len(), 1);

    // Paging and filters that make no sense.
    let first = events(&auditor, "limit=2").await;
    assert_eq!(first.len(), 2);
    let (_, page) = auditor.get_json("/api/v1/audit/events?limit=2").await;
    let before = page["next_before"].as_i64().unwrap();
    let next = events(&auditor, &format!("limit=2&before={before}")).await;
    assert!(next[0]["seq"].as_i64().unwrap() < first[1]["seq"].as_i64().unwrap());
    for (query, code) in [
        ("code=made_up", "unknown_event_code"),
        ("outcome=maybe", "invalid_audit_outcome"),
        ("from=yesterday", "invalid_time"),
    ] {
        let (status, body) = auditor
            .get_json(&format!("/api/v1/audit/events?{query}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(error_code(&body), Some(code), "{body}");
    }

    // No personal value anywhere in the stored events.
    let dump = dump_audit_rows(&app).await;
    for secret in [
        CONTACT_NAME,
        CONTACT_EMAIL,
        "met at the fair",
        "Li Na",
        "li.na@example.cn",
        "127.0.0.1",
    ] {
        assert!(!dump.contains(secret), "{secret} stored in the audit log");
    }
    let report = verify_now(&app).await;
    assert!(report.is_intact(), "{:?}", report.problems);
}

/// Permission changes and account administration are in the log: roles granted (with the
/// roles before and after), a user disabled and enabled, an API token made and revoked, a
/// session ended, a sign-out.
async fn permission_and_account_changes_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let auditor = auditor(&app).await;
    let user = app
        .sign_in_with_roles("clerk@example.com", &["sales"], None, None)
        .await;
    app.reauthenticate().await;
    let response = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{}/roles", user.id),
        )
        .json(&json!({"roles": ["sales", "all_regions"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for action in ["disable", "enable"] {
        let (status, body) = app
            .post_json(&format!("/api/v1/users/{}/{action}", user.id), &json!({}))
            .await;
        assert!(status.is_success(), "{action}: {body}");
    }
    let (status, token) = app
        .post_json(
            "/api/v1/account/tokens",
            &json!({"name": "ci", "scopes": "contacts:read"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let token_id = token["id"].as_str().unwrap();
    let (status, _) = app
        .delete(&format!("/api/v1/account/tokens/{token_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let on_user = events(&auditor, &format!("target={}", user.id)).await;
    assert_eq!(
        codes(&on_user),
        [
            "user_enable",
            "user_disable",
            "authz_role_change",
            "user_create"
        ],
        "{on_user:?}"
    );
    assert_eq!(on_user[3]["detail"]["roles"], json!(["sales"]));
    let change = &on_user[2]["detail"];
    assert_eq!(change["before"], json!(["sales"]));
    let mut after: Vec<&str> = change["after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    after.sort_unstable();
    assert_eq!(after, ["all_regions", "sales"]);
    let token_events = events(&auditor, &format!("target={token_id}")).await;
    assert_eq!(
        codes(&token_events),
        ["authn_token_revoked", "authn_token_created"]
    );
    assert_eq!(token_events[1]["detail"]["scopes"], "contacts:read");
    // The administrator's own sign-out is recorded.
    let (status, _) = app.post_json("/api/v1/auth/logout", &json!({})).await;
    assert!(status.is_success());
    let logouts = events(&auditor, "code=authn_logout").await;
    assert_eq!(logouts.len(), 1);
    let report = verify_now(&app).await;
    assert!(report.is_intact(), "{:?}", report.problems);
}

/// Every stored column of every event, as text.
async fn dump_audit_rows(app: &TestApp) -> String {
    use custodian_store::repo;
    let rows = repo::audit::events_from(app.core.store().conn(), 0, 100_000)
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {} {:?} {:?} {} {}",
                r.code,
                r.outcome,
                r.node,
                r.target_type,
                r.detail,
                String::from_utf8_lossy(r.client_ct.as_deref().unwrap_or_default()),
                r.actor_kind
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn proofs_verify_against_the_signed_checkpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let auditor = auditor(&app).await;
    for i in 0..5 {
        app.create_contact(json!({"name": format!("Proof {i}")}))
            .await;
    }
    let some = events(&auditor, "code=data_create").await;
    for event in &some {
        let id = event["id"].as_str().unwrap();
        let (status, proof) = auditor
            .get_json(&format!("/api/v1/audit/events/{id}/proof"))
            .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        let checkpoint = &proof["checkpoint"];
        let body = CheckpointBody {
            tree_size: checkpoint["tree_size"].as_u64().unwrap(),
            root: from_hex::<32>(checkpoint["root"].as_str().unwrap()).unwrap(),
            chain: from_hex::<32>(checkpoint["chain"].as_str().unwrap()).unwrap(),
            signed_at: checkpoint["signed_at"].as_i64().unwrap(),
        };
        let key = from_hex::<32>(proof["public_key"].as_str().unwrap()).unwrap();
        let signature = from_hex::<64>(checkpoint["signature"].as_str().unwrap()).unwrap();
        assert!(chain::verify_checkpoint(&key, &body, &signature));
        let path: Vec<_> = proof["audit_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| from_hex::<32>(h.as_str().unwrap()).unwrap())
            .collect();
        let leaf = from_hex::<32>(proof["event"]["leaf_hash"].as_str().unwrap()).unwrap();
        let index = proof["leaf_index"].as_u64().unwrap();
        assert!(chain::verify_inclusion(
            &leaf,
            index,
            body.tree_size,
            &path,
            &body.root
        ));
        // The proof is for this event and no other.
        assert!(!chain::verify_inclusion(
            &leaf,
            index + 1,
            body.tree_size,
            &path,
            &body.root
        ));
    }
    let (status, body) = auditor
        .get_json(&format!("/api/v1/audit/events/{}/proof", uuid::Uuid::nil()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, list) = auditor.get_json("/api/v1/audit/checkpoints").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list["items"].as_array().unwrap().is_empty());
    // The checkpoint file outside the database holds the same checkpoints.
    let file = read_checkpoint_file(&app.data_dir.join("audit-checkpoints.jsonl")).unwrap();
    assert!(!file.is_empty());
    assert_eq!(
        file.last().unwrap().as_ref().unwrap().tree_size,
        list["items"][0]["tree_size"].as_u64().unwrap()
    );
}

/// A log of a few dozen events with a signed checkpoint covering all of them. The server signs
/// no checkpoint of its own meanwhile (it would sign the tampered state the tests make).
async fn signed_log(backend: Backend) -> TestApp {
    let mut config = test_config();
    config.audit.checkpoint_every_secs = 3_600;
    let app = spawn_app_with(backend, config).await;
    for i in 0..12 {
        app.create_contact(
            json!({"name": format!("Tamper {i}"), "emails": [format!("t{i}@example.com")]}),
        )
        .await;
    }
    app.core.flush_audit().await.unwrap();
    app.core.checkpoint_audit().await.unwrap();
    let report = verify_now(&app).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(report.events >= 12);
    assert_eq!(report.unsigned_tail, 0);
    app
}

fn kinds_at(report: &VerifyReport) -> Vec<(ProblemKind, Option<u64>)> {
    report
        .problems
        .iter()
        .map(|p| (p.kind, p.position))
        .collect()
}

async fn an_edited_row_is_named(backend: Backend) {
    let app = signed_log(backend).await;
    app.sql("UPDATE audit_events SET occurred_at = occurred_at + 1 WHERE seq = 5")
        .await;
    let report = verify_now(&app).await;
    let found = kinds_at(&report);
    assert!(
        found.contains(&(ProblemKind::Altered, Some(5))),
        "{found:?}"
    );
    assert!(report.problems.iter().any(|p| p.message.contains("#5")));
    // The signed checkpoint no longer matches either.
    assert!(
        found
            .iter()
            .any(|(k, _)| *k == ProblemKind::CheckpointMismatch),
        "{found:?}"
    );
}

async fn a_deleted_row_is_named(backend: Backend) {
    let app = signed_log(backend).await;
    app.sql("DELETE FROM audit_events WHERE seq = 7").await;
    let report = verify_now(&app).await;
    let found = kinds_at(&report);
    assert!(
        found.contains(&(ProblemKind::Missing, Some(7))),
        "{found:?}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("event #7 is missing")),
        "{:?}",
        report.problems
    );
}

async fn swapped_rows_are_named(backend: Backend) {
    let app = signed_log(backend).await;
    app.sql("UPDATE audit_events SET seq = -1 WHERE seq = 3")
        .await;
    app.sql("UPDATE audit_events SET seq = 3 WHERE seq = 4")
        .await;
    app.sql("UPDATE audit_events SET seq = 4 WHERE seq = -1")
        .await;
    let report = verify_now(&app).await;
    let found = kinds_at(&report);
    assert!(found.contains(&(ProblemKind::Moved, Some(3))), "{found:?}");
    assert!(found.contains(&(ProblemKind::Moved, Some(4))), "{found:?}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("event #4") && p.message.contains("now stands at #3")),
        "{:?}",
        report.problems
    );
}

async fn a_cut_tail_is_named(backend: Backend) {
    let app = signed_log(backend).await;
    let size = verify_now(&app).await.events;
    let keep = size - 3;
    app.sql(&format!("DELETE FROM audit_events WHERE seq >= {keep}"))
        .await;
    // Even with the head moved back to match, the signed checkpoint remembers.
    app.sql(&format!("UPDATE audit_head SET size = {keep}"))
        .await;
    let report = verify_now(&app).await;
    let found = kinds_at(&report);
    assert!(
        found.contains(&(ProblemKind::Truncated, Some(keep))),
        "{found:?}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains(&format!("ends at #{keep}")))
    );
}

async fn a_forged_or_deleted_checkpoint_is_named(backend: Backend) {
    let app = signed_log(backend).await;
    app.sql("UPDATE audit_checkpoints SET signed_at = signed_at + 1000")
        .await;
    let report = verify_now(&app).await;
    let found = kinds_at(&report);
    assert!(
        found.iter().any(|(k, _)| *k == ProblemKind::BadSignature),
        "{found:?}"
    );
    // Deleting the checkpoints from the database does not hide a cut tail: the file keeps them.
    app.sql("DELETE FROM audit_checkpoints").await;
    app.sql("DELETE FROM audit_events WHERE seq >= 10").await;
    app.sql("UPDATE audit_head SET size = 10").await;
    let report = verify_now(&app).await;
    let found = kinds_at(&report);
    assert!(
        found.iter().any(|(k, _)| *k == ProblemKind::FileMismatch),
        "{found:?}"
    );
    assert!(
        found.contains(&(ProblemKind::Truncated, Some(10))),
        "{found:?}"
    );
}

/// An attacker who edits an event and recomputes every hash after it (no secret is needed
/// for that) is still caught by the signed checkpoint.
async fn rewritten_hashes_are_caught_by_the_checkpoint(backend: Backend) {
    use custodian_store::repo;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
    let app = signed_log(backend).await;
    let conn = app.core.store().writer();
    let rows = repo::audit::events_from(conn, 0, 10_000).await.unwrap();
    assert_eq!(rows[0].seq, 0);
    let mut link = chain::CHAIN_START;
    for (i, row) in rows.into_iter().enumerate() {
        let mut edited = row.clone();
        if i == 6 {
            edited.code = "data_read".to_owned();
        }
        let leaf = chain::leaf_hash(&custodian_core::audit::leaf_fields(&edited).canonical_bytes());
        link = chain::chain_hash(&link, &leaf);
        let mut active = row.into_active_model();
        active.code = Set(edited.code);
        active.leaf_hash = Set(leaf.to_vec());
        active.chain_hash = Set(link.to_vec());
        active.update(conn).await.unwrap();
    }
    let report = verify_now(&app).await;
    let found = kinds_at(&report);
    assert_eq!(
        found
            .iter()
            .filter(|(k, _)| *k != ProblemKind::CheckpointMismatch)
            .count(),
        0,
        "every row and link is self-consistent: {found:?}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("no longer match")),
        "{:?}",
        report.problems
    );
}

async fn the_command_line_verifies_and_fails_on_tampering(backend: Backend) {
    let app = signed_log(backend).await;
    let run = |app: &TestApp| {
        let args = [
            "custodian",
            "audit",
            "verify",
            "--data-dir",
            app.data_dir.to_str().unwrap(),
            "--database-url",
            &app.database_url,
        ]
        .map(str::to_owned);
        let cli = <custodian::cli::Cli as clap::Parser>::try_parse_from(args).unwrap();
        custodian::cli::run(cli, custodian::server::Wiring::system())
    };
    run(&app).await.expect("an intact log verifies");
    app.sql("DELETE FROM audit_events WHERE seq = 2").await;
    let error = run(&app).await.unwrap_err().to_string();
    assert!(error.contains("failed verification"), "{error}");
}

on_both_backends!(
    every_source_writes_its_event_and_auditors_search_them,
    proofs_verify_against_the_signed_checkpoint,
    an_edited_row_is_named,
    a_deleted_row_is_named,
    swapped_rows_are_named,
    a_cut_tail_is_named,
    a_forged_or_deleted_checkpoint_is_named,
    rewritten_hashes_are_caught_by_the_checkpoint,
    the_command_line_verifies_and_fails_on_tampering,
    the_audit_page_filters_in_both_languages,
    permission_and_account_changes_are_audited,
);

/// Two server processes on one PostgreSQL database, appending at the same time: one chain,
/// no gap, no fork.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_append_one_chain_on_postgres() {
    let app = spawn_app(Backend::Postgres).await;
    let (second_url, second) = app.second_server().await;
    let on_second = app
        .sign_in_with_roles("sales@example.com", &["sales"], None, None)
        .await
        .on(&second_url);
    let before = verify_now(&app).await.events;
    let first = async {
        for i in 0..25 {
            app.create_contact(json!({"name": format!("First {i}")}))
                .await;
        }
    };
    let other = async {
        for i in 0..25 {
            let (status, body) = on_second
                .post_json("/api/v1/contacts", &json!({"name": format!("Second {i}")}))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    };
    tokio::join!(first, other);
    second.shutdown().await.unwrap();
    app.core.flush_audit().await.unwrap();
    app.core.checkpoint_audit().await.unwrap();
    let report = verify_now(&app).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(report.events >= before + 50, "{} events", report.events);
}

/// The audit log page: auditors filter it (by record, event and outcome) in both languages;
/// the link appears only for them; anyone else is refused; bad filters are explained.
async fn the_audit_page_filters_in_both_languages(backend: Backend) {
    let app = spawn_app(backend).await;
    let auditor = auditor(&app).await;
    let contact = app.create_contact(json!({"name": CONTACT_NAME})).await;
    let id = contact["id"].as_str().unwrap();
    let (status, _) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, page) = auditor.html(&format!("/audit?target={id}"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"nav-audit\""), "auditors see the link");
    assert!(page.contains("data-code=\"data_create\"") && page.contains("data-code=\"data_read\""));
    assert!(
        !page.contains("data-code=\"authn_login_success\""),
        "only this record's events"
    );
    assert!(!page.contains(CONTACT_NAME), "the log holds no names");
    let (status, page) = auditor
        .html("/audit?code=authn_login_success&outcome=success", "zh-CN")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("审计日志") && page.contains("data-code=\"authn_login_success\""));
    assert!(!page.contains("data-code=\"data_create\""));
    let (status, page) = auditor.html("/audit?from=yesterday", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("Use a day such as 2026-11-01."), "{page}");

    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], None, None)
        .await;
    let (status, page) = sales.html("/contacts", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("id=\"nav-audit\""));
    let (status, _) = sales.html("/audit", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
