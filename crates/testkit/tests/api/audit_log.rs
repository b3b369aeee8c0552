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
    // Reads (the auditor's last search among them) are appended a few milliseconds after they
    // happen: write them first, so verification does not race their append.
    app.core.flush_audit().await.unwrap();
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
    // Searches are events themselves, so compare with the page the cursor came from.
    assert!(next[0]["seq"].as_i64().unwrap() < page["items"][1]["seq"].as_i64().unwrap());
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

/// The events about one record, newest first, with the codes sorted for comparison. Every
/// event about it names it with `target_type`.
async fn on_record(auditor: &OtherUser, id: &str, target_type: &str) -> (Vec<Value>, Vec<String>) {
    let found = events(auditor, &format!("target={id}")).await;
    for event in &found {
        assert_eq!(event["target_type"], target_type, "{event}");
        assert_eq!(event["outcome"], "success", "{event}");
    }
    let mut sorted: Vec<String> = codes(&found).into_iter().map(str::to_owned).collect();
    sorted.sort_unstable();
    (found, sorted)
}

fn the<'a>(found: &'a [Value], code: &str) -> &'a Value {
    found
        .iter()
        .find(|e| e["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {found:?}"))
}

/// A list page read names every record it showed.
fn page_read_shows(found: &[Value], list: &str, id: &str) {
    assert!(
        found.iter().any(|e| e["code"] == "data_read"
            && e["detail"]["list"] == list
            && e["detail"]["ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|i| i == id))),
        "no page read of {list} showing {id}: {found:?}"
    );
}

fn ok(reply: (StatusCode, Value)) -> Value {
    let (status, body) = reply;
    assert!(status.is_success(), "{status}: {body}");
    body
}

const LEAD_NAME: &str = "Wang Fang Lead";
const LEAD_EMAIL: &str = "wang.fang.lead@example.cn";
const LEAD_NOTES: &str = "prefers calls after six";
const DO_NOT_CONTACT_REASON: &str = "asked us to stop after her surgery";
const ACTIVITY_BODY: &str = "talked about her divorce settlement";
const TASK_TITLE: &str = "Call Zhang Wei about his loan";
const ORDER_NOTES: &str = "deliver to his mother's flat";
const SURVEY_COMMENT: &str = "the engineer Mr Liu was rude";
const COMPLAINT_SUBJECT: &str = "Zhang Wei's generator failed";
const COMPLAINT_DESCRIPTION: &str = "water in tank 3 at his farm";
const CLOSE_REASON: &str = "his budget was cut";

/// The record types and settings wired after contacts and companies write their events too:
/// pipelines, custom fields, the product catalogue and the MFA policy (configuration changes),
/// deals (stage moves and closing included), leads (conversion included), activities, tasks,
/// orders, product interests, preferences, survey responses, complaints, and reads of the
/// audit log itself. No personal value is stored, and the log stays intact.
async fn records_and_settings_write_their_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let auditor = auditor(&app).await;
    let contact = app
        .create_contact(json!({"name": CONTACT_NAME, "emails": [CONTACT_EMAIL]}))
        .await;
    let contact_id = contact["id"].as_str().unwrap();

    // Configuration: a pipeline (and its stages), a custom field, a product, an MFA rule.
    let pipeline = app
        .create_pipeline("Audit sales", &[("Qualify", 10), ("Proposal", 50)])
        .await;
    let pipeline_id = pipeline["id"].as_str().unwrap();
    let stage = |i: usize| custodian_testkit::stage_id(&pipeline, i);
    ok(app
        .patch_json(
            &format!("/api/v1/pipelines/{pipeline_id}"),
            &json!({"version": 1, "stages": [
                {"id": stage(0), "name": "Qualify", "probability": 10},
                {"id": stage(1), "name": "Proposal", "probability": 50},
                {"name": "Contract", "probability": 80},
            ]}),
        )
        .await);
    let (found, sorted) = on_record(&auditor, pipeline_id, "pipeline").await;
    assert_eq!(sorted, ["config_change", "config_change"]);
    assert_eq!(found[0]["detail"]["setting"], "pipeline");
    assert_eq!(found[0]["detail"]["change"], "update");
    assert_eq!(found[0]["detail"]["fields"], json!(["stages"]));
    assert_eq!(
        found[0]["detail"]["stages_added"].as_array().unwrap().len(),
        1
    );
    assert_eq!(found[0]["detail"]["to_version"], 2);
    assert_eq!(found[1]["detail"]["change"], "create");
    assert_eq!(
        found[1]["detail"]["stages_added"].as_array().unwrap().len(),
        2
    );

    let field = ok(app
        .post_json(
            "/api/v1/custom-fields",
            &json!({"entity": "contact", "key": "audit_code", "label_en": "Audit code",
                    "label_zh": "审计代码", "type": "text", "classification": "internal"}),
        )
        .await);
    let field_id = field["id"].as_str().unwrap();
    ok(app
        .patch_json(
            &format!("/api/v1/custom-fields/{field_id}"),
            &json!({"version": 1, "label_en": "Audit code (new)"}),
        )
        .await);
    ok(app
        .post_json(
            &format!("/api/v1/custom-fields/{field_id}/archive"),
            &json!({}),
        )
        .await);
    let (found, sorted) = on_record(&auditor, field_id, "custom_field").await;
    assert_eq!(sorted, ["config_change"; 3]);
    let changes: Vec<&str> = found
        .iter()
        .map(|e| e["detail"]["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["archive", "update", "create"]);
    assert_eq!(found[1]["detail"]["fields"], json!(["label_en"]));
    assert_eq!(found[2]["detail"]["key"], "audit_code");

    let product = ok(app
        .post_json(
            "/api/v1/products",
            &json!({"sku": "AUDIT-1", "name": "Audit valve", "list_price": "10.00",
                    "currency": "CNY", "unit": "each"}),
        )
        .await);
    let product_id = product["id"].as_str().unwrap();
    ok(app
        .patch_json(
            &format!("/api/v1/products/{product_id}"),
            &json!({"version": 1, "list_price": "12.00"}),
        )
        .await);
    let (found, sorted) = on_record(&auditor, product_id, "product").await;
    assert_eq!(sorted, ["config_change", "config_change"]);
    assert_eq!(found[0]["detail"]["fields"], json!(["list_price"]));
    assert_eq!(found[0]["detail"]["setting"], "product");

    let rule = ok(app
        .post_json(
            "/api/v1/mfa-policy",
            &json!({"scope": "role", "value": "marketing"}),
        )
        .await);
    let rule_id = rule["id"].as_str().unwrap();
    let (status, _) = app.delete(&format!("/api/v1/mfa-policy/{rule_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (found, _) = on_record(&auditor, rule_id, "mfa_requirement").await;
    let changes: Vec<&str> = found
        .iter()
        .map(|e| e["detail"]["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["delete", "create"]);
    assert_eq!(found[1]["detail"]["setting"], "mfa_policy");
    assert_eq!(found[1]["detail"]["role"], "marketing");

    // A deal: created, read, changed, moved, won, deleted and restored.
    let deal = app
        .create_deal(json!({"title": "Audit valves", "contact_id": contact_id,
                            "pipeline_id": pipeline_id}))
        .await;
    let deal_id = deal["id"].as_str().unwrap();
    let deal_path = format!("/api/v1/deals/{deal_id}");
    ok(app.get_json(&deal_path).await);
    ok(app
        .patch_json(
            &deal_path,
            &json!({"version": 1, "title": "Audit valves x2"}),
        )
        .await);
    ok(app
        .post_json(
            &format!("{deal_path}/move"),
            &json!({"version": 2, "stage_id": stage(1)}),
        )
        .await);
    ok(app
        .post_json(
            &format!("{deal_path}/close"),
            &json!({"version": 3, "outcome": "won", "reason": CLOSE_REASON}),
        )
        .await);
    let (status, _) = app.delete(&deal_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ok(app
        .post_json(&format!("{deal_path}/restore"), &json!({}))
        .await);
    let (found, sorted) = on_record(&auditor, deal_id, "deal").await;
    assert_eq!(
        sorted,
        [
            "data_create",
            "data_delete",
            "data_read",
            "data_restore",
            "data_update",
            "data_update",
            "data_update"
        ]
    );
    let updates: Vec<&Value> = found
        .iter()
        .filter(|e| e["code"] == "data_update")
        .collect();
    let (won, moved, edited) = (updates[0], updates[1], updates[2]);
    assert_eq!(edited["detail"]["fields"], json!(["title"]));
    assert_eq!(moved["detail"]["fields"], json!(["stage_id"]));
    assert_eq!(moved["detail"]["stage_from"], stage(0).as_str());
    assert_eq!(moved["detail"]["stage_to"], stage(1).as_str());
    assert_eq!(
        won["detail"]["fields"],
        json!(["status", "closed_at", "outcome_reason"])
    );
    assert_eq!(won["detail"]["status_to"], "won");
    assert_eq!(won["detail"]["stage_to"], stage(1).as_str());
    assert_eq!(
        the(&found, "data_create")["detail"]["fields"],
        json!(["title", "pipeline_id", "contact_id"])
    );

    // A lead: created, read, listed, changed, qualified and converted into a contact, a
    // company and a deal, each created in the conversion.
    let lead = ok(app
        .post_json(
            "/api/v1/leads",
            &json!({"name": LEAD_NAME, "email": LEAD_EMAIL, "notes": LEAD_NOTES,
                    "company_name": "Audit Lead Refinery"}),
        )
        .await);
    let lead_id = lead["id"].as_str().unwrap();
    let lead_path = format!("/api/v1/leads/{lead_id}");
    ok(app.get_json(&lead_path).await);
    ok(app.get_json("/api/v1/leads").await);
    ok(app
        .patch_json(&lead_path, &json!({"version": 1, "score": 40}))
        .await);
    ok(app
        .post_json(&format!("{lead_path}/qualify"), &json!({"version": 2}))
        .await);
    let converted = ok(app
        .post_json(
            &format!("{lead_path}/convert"),
            &json!({"version": 3, "create_company": true,
                    "deal": {"title": "Audit retrofit", "stage_id": stage(0)}}),
        )
        .await);
    let refs = &converted["converted"];
    let (found, sorted) = on_record(&auditor, lead_id, "lead").await;
    assert_eq!(
        sorted,
        [
            "data_create",
            "data_read",
            "data_update",
            "data_update",
            "data_update"
        ]
    );
    // Changes in the order they happened (a read may land just after a later change).
    let updates: Vec<&Value> = found
        .iter()
        .filter(|e| e["code"] == "data_update")
        .collect();
    let (conversion, qualified, edited) = (updates[0], updates[1], updates[2]);
    assert_eq!(
        conversion["detail"]["converted_to"],
        json!({"contact": refs["contact_id"], "company": refs["company_id"],
               "deal": refs["deal_id"]})
    );
    assert_eq!(conversion["detail"]["status_to"], "converted");
    assert_eq!(
        conversion["detail"]["fields"],
        json!(["status", "name", "email", "notes"])
    );
    assert_eq!(qualified["detail"]["status_to"], "qualified");
    assert_eq!(edited["detail"]["fields"], json!(["score"]));
    assert_eq!(
        the(&found, "data_create")["detail"]["groups"],
        json!(["contact_details", "notes"])
    );
    let listed = events(&auditor, "code=data_read").await;
    page_read_shows(&listed, "lead", lead_id);
    for (key, kind) in [
        ("contact_id", "contact"),
        ("company_id", "company"),
        ("deal_id", "deal"),
    ] {
        let id = refs[key].as_str().unwrap();
        let (found, sorted) = on_record(&auditor, id, kind).await;
        assert_eq!(sorted, ["data_create"], "{kind}");
        assert_eq!(found[0]["detail"]["converted_from"], lead_id, "{kind}");
    }

    // An activity, a task, an order, a survey response and a complaint about the contact:
    // created, read, listed, changed, deleted and restored.
    let activity = ok(app
        .post_json(
            "/api/v1/activities",
            &json!({"kind": "note", "body": ACTIVITY_BODY, "contact_id": contact_id}),
        )
        .await);
    let task = ok(app
        .post_json(
            "/api/v1/tasks",
            &json!({"title": TASK_TITLE, "contact_id": contact_id}),
        )
        .await);
    let order = ok(app
        .post_json(
            "/api/v1/orders",
            &json!({"contact_id": contact_id, "currency": "CNY", "notes": ORDER_NOTES,
                    "lines": [{"product_id": product_id, "quantity": "2"}]}),
        )
        .await);
    let survey = ok(app
        .post_json(
            "/api/v1/surveys",
            &json!({"contact_id": contact_id, "kind": "nps", "score": 3,
                    "comment": SURVEY_COMMENT}),
        )
        .await);
    let complaint = ok(app
        .post_json(
            "/api/v1/complaints",
            &json!({"contact_id": contact_id, "subject": COMPLAINT_SUBJECT,
                    "description": COMPLAINT_DESCRIPTION, "category": "product_quality",
                    "severity": "high"}),
        )
        .await);
    let cases = [
        (
            "activities",
            &activity,
            "activity",
            json!({"version": 1, "body": "x"}),
            "body",
        ),
        (
            "tasks",
            &task,
            "task",
            json!({"version": 1, "priority": "high"}),
            "priority",
        ),
        (
            "orders",
            &order,
            "order",
            json!({"version": 1, "ordered_on": "2026-03-01"}),
            "ordered_on",
        ),
        (
            "surveys",
            &survey,
            "survey_response",
            json!({"version": 1, "score": 4}),
            "score",
        ),
        (
            "complaints",
            &complaint,
            "complaint",
            json!({"version": 1, "severity": "low"}),
            "severity",
        ),
    ];
    for (collection, record, kind, patch, field) in &cases {
        let id = record["id"].as_str().unwrap();
        let path = format!("/api/v1/{collection}/{id}");
        ok(app.get_json(&path).await);
        ok(app.get_json(&format!("/api/v1/{collection}")).await);
        ok(app.patch_json(&path, patch).await);
        if *collection == "orders" {
            // Only draft or cancelled orders are deleted.
            for (version, to) in [(2, "placed"), (3, "cancelled")] {
                ok(app
                    .post_json(
                        &format!("{path}/transition"),
                        &json!({"version": version, "status": to}),
                    )
                    .await);
            }
        }
        let (status, body) = app.delete(&path).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{collection}: {body}");
        ok(app.post_json(&format!("{path}/restore"), &json!({})).await);
        let (found, sorted) = on_record(&auditor, id, kind).await;
        let mut expected = vec![
            "data_create",
            "data_delete",
            "data_read",
            "data_restore",
            "data_update",
        ];
        if *collection == "orders" {
            expected.extend(["data_update", "data_update"]);
            expected.sort_unstable();
            let transitions: Vec<&Value> = found
                .iter()
                .filter(|e| e["code"] == "data_update" && e["detail"]["status_to"].is_string())
                .collect();
            assert_eq!(
                transitions[0]["detail"]["fields"],
                json!(["status", "cancelled_at"])
            );
            assert_eq!(transitions[1]["detail"]["status_from"], "draft");
        }
        assert_eq!(sorted, expected, "{collection}: {found:?}");
        let update = found
            .iter()
            .find(|e| e["code"] == "data_update" && e["detail"]["from_version"] == 1)
            .unwrap_or_else(|| panic!("{collection}: {found:?}"));
        assert_eq!(update["detail"]["fields"], json!([field]), "{collection}");
        assert_eq!(update["detail"]["to_version"], 2, "{collection}");
        let reads = events(&auditor, "code=data_read").await;
        page_read_shows(&reads, kind, id);
    }
    let task_id = task["id"].as_str().unwrap();
    ok(app
        .post_json(
            &format!("/api/v1/tasks/{task_id}/complete"),
            // Changed, deleted and restored since it was created.
            &json!({"version": 4}),
        )
        .await);
    let (found, _) = on_record(&auditor, task_id, "task").await;
    assert_eq!(found[0]["code"], "data_update");
    assert_eq!(found[0]["detail"]["status_to"], "done");
    let complaint_id = complaint["id"].as_str().unwrap();
    ok(app
        .post_json(
            &format!("/api/v1/complaints/{complaint_id}/transition"),
            &json!({"version": 4, "status": "investigating"}),
        )
        .await);
    let (found, _) = on_record(&auditor, complaint_id, "complaint").await;
    assert_eq!(found[0]["detail"]["status_to"], "investigating");
    let activity_id = activity["id"].as_str().unwrap();
    let (found, _) = on_record(&auditor, activity_id, "activity").await;
    assert_eq!(
        the(&found, "data_create")["detail"]["groups"],
        json!(["notes"])
    );

    // The contact's preferences and product interests: targeted by the contact's id.
    let response = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/contacts/{contact_id}/preferences"),
        )
        .json(
            &json!({"version": 0, "channel": "email", "do_not_contact": true,
                      "do_not_contact_reason": DO_NOT_CONTACT_REASON}),
        )
        .send()
        .await
        .unwrap();
    ok(custodian_testkit::split(response).await);
    ok(app
        .get_json(&format!("/api/v1/contacts/{contact_id}/preferences"))
        .await);
    let interests = format!("/api/v1/contacts/{contact_id}/product-interests");
    ok(app
        .post_json(
            &interests,
            &json!({"product_id": product_id, "level": "high"}),
        )
        .await);
    ok(app.get_json(&interests).await);
    let (status, _) = app.delete(&format!("{interests}/{product_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let about_contact = events(&auditor, &format!("target={contact_id}")).await;
    let with_type = |kind: &str| -> Vec<&str> {
        let mut found: Vec<&str> = about_contact
            .iter()
            .filter(|e| e["target_type"] == kind)
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        found.sort_unstable();
        found
    };
    assert_eq!(
        with_type("contact_preferences"),
        ["data_create", "data_read"]
    );
    assert_eq!(
        with_type("product_interests"),
        ["data_create", "data_delete", "data_read"]
    );
    let preferences = about_contact
        .iter()
        .find(|e| e["target_type"] == "contact_preferences" && e["code"] == "data_create")
        .unwrap();
    assert_eq!(
        preferences["detail"]["fields"],
        json!([
            "channel",
            "do_not_contact",
            "do_not_contact_since",
            "do_not_contact_reason"
        ])
    );

    // Reading the audit log is itself recorded: searches (with the filters used), proofs and
    // the checkpoint list.
    let (_, page) = auditor.get_json("/api/v1/audit/events?limit=1").await;
    let event_id = page["items"][0]["id"].as_str().unwrap();
    ok(auditor
        .get_json(&format!("/api/v1/audit/events/{event_id}/proof"))
        .await);
    ok(auditor.get_json("/api/v1/audit/checkpoints").await);
    let reads = events(&auditor, &format!("code=audit_read&actor={}", auditor.id)).await;
    let queries: Vec<&str> = reads
        .iter()
        .map(|e| e["detail"]["query"].as_str().unwrap())
        .collect();
    assert_eq!(&queries[..3], ["checkpoints", "proof", "search"]);
    assert_eq!(reads[1]["target_id"], event_id);
    assert_eq!(reads[2]["detail"]["filters"], json!([]));
    let by_target = reads
        .iter()
        .find(|e| e["detail"]["filters"] == json!(["target"]))
        .expect("a search by record");
    assert!(by_target["detail"]["target"].is_string());
    assert!(
        reads
            .iter()
            .all(|e| e["actor_id"] == auditor.id.as_str() && e["actor_kind"] == "user")
    );

    // No personal value anywhere in the stored events.
    let dump = dump_audit_rows(&app).await;
    for secret in [
        CONTACT_NAME,
        CONTACT_EMAIL,
        LEAD_NAME,
        LEAD_EMAIL,
        LEAD_NOTES,
        DO_NOT_CONTACT_REASON,
        ACTIVITY_BODY,
        TASK_TITLE,
        ORDER_NOTES,
        SURVEY_COMMENT,
        COMPLAINT_SUBJECT,
        COMPLAINT_DESCRIPTION,
        CLOSE_REASON,
        "Audit Lead Refinery",
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
    records_and_settings_write_their_events,
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
