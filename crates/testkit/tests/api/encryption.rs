use custodian_store::entities::contact;
use custodian_store::repo;
use custodian_testkit::{ADMIN_EMAIL, Backend, TestApp, on_both_backends, spawn_app, split};
use reqwest::StatusCode;
use serde_json::json;

const NAME: &str = "王小明";
const EMAIL: &str = "wang.xiaoming@sinopec.example.cn";
const PHONE: &str = "+8613800138000";
const ADDRESS: &str = "北京市朝阳区建国门外大街1号";
const NOTES: &str = "Prefers calls after 3pm";
const TITLE: &str = "Chief Procurement Officer";
const COMPANY_ADDRESS: &str = "88 Century Avenue, Pudong";
const DEAL_REASON: &str = "Mr Zhao chose the rival bid";
const LEAD_NAME: &str = "孙卫东";
const LEAD_EMAIL: &str = "sun.weidong@harbin-foods.example.cn";
const LEAD_REASON: &str = "Moved to a competitor in Harbin";
const ACTIVITY_SUBJECT: &str = "Call with Mrs Qian about her pension plan";
const ACTIVITY_BODY: &str = "She mentioned a hospital stay in May";
const TASK_TITLE: &str = "Call 周建国 about the boiler tender";
const TASK_NOTES: &str = "He prefers mornings, mobile only";
const ORG_TASK_TITLE: &str = "Renew the Harbin distributor agreement";
const VIEW_NAME: &str = "Deals of Mrs Qian's cousin";
const ORDER_NOTES: &str = "Deliver to Mrs Qian at gate 4";
const DNC_REASON: &str = "Asked to stop after her husband's funeral";
const SURVEY_COMMENT: &str = "Mr Gao from support shouted at me";
const COMPLAINT_SUBJECT: &str = "Wrong invoice sent to Mrs Qian's employer";
const COMPLAINT_DESCRIPTION: &str = "It showed her debt to the whole accounts team";
const COMPLAINT_RESOLUTION: &str = "Apologised and credited 500 yuan";
/// An export request's reason may name a person; it is ciphertext like their record.
const EXPORT_REASON: &str = "Access request from Qian Duoduo";
/// Internal (non-personal) and therefore stored plainly: proves the scan sees the data at all.
const PLAIN_MARKER: &str = "marker-team-4711";
const CUSTOM_PERSONAL: &str = "Allergic to penicillin";
const CUSTOM_COMPANY_SENSITIVE: &str = "Owner Mr Gu is in hospital";
const CUSTOM_DEAL_PERSONAL: &str = "Referred by Ms Lin Xiaoyu";
/// An internal custom value: plain at rest, the positive control for custom fields.
const CUSTOM_PLAIN_MARKER: &str = "marker-cf-0815";

/// Custom fields of every storage class on contacts, companies and deals.
async fn define_custom_fields(app: &TestApp) {
    for (entity, key, classification) in [
        ("contact", "medical_note", "personal"),
        ("contact", "segment", "internal"),
        ("company", "owner_health", "sensitive"),
        ("deal", "referral", "personal"),
    ] {
        let (status, body) = app
            .post_json(
                "/api/v1/custom-fields",
                &json!({"entity": entity, "key": key, "label_en": key, "label_zh": key,
                        "type": "text", "classification": classification}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

async fn seed(app: &TestApp) -> serde_json::Value {
    define_custom_fields(app).await;
    let company = app
        .create_company(json!({"name": "Sino Petro", "address": COMPANY_ADDRESS,
            "custom_fields": {"owner_health": CUSTOM_COMPANY_SENSITIVE}}))
        .await;
    assert_eq!(
        company["custom_fields"]["owner_health"],
        CUSTOM_COMPANY_SENSITIVE
    );
    let (status, _) = app
        .post_json(
            "/api/v1/pipelines",
            &json!({"name": "Sales", "stages": [{"name": "Lead", "probability": 10}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, lead) = app
        .post_json(
            "/api/v1/leads",
            &json!({"name": LEAD_NAME, "email": LEAD_EMAIL, "company_name": "Harbin Foods"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post_json(
            &format!("/api/v1/leads/{}/disqualify", lead["id"].as_str().unwrap()),
            &json!({"version": 1, "reason": LEAD_REASON}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, deal) = app
        .post_json(
            "/api/v1/deals",
            &json!({"title": "Compressor overhaul",
                    "custom_fields": {"referral": CUSTOM_DEAL_PERSONAL}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, closed) = app
        .post_json(
            &format!("/api/v1/deals/{}/close", deal["id"].as_str().unwrap()),
            &json!({"version": 1, "outcome": "lost", "reason": DEAL_REASON}),
        )
        .await;
    assert_eq!(
        (status, closed["outcome_reason"].as_str()),
        (StatusCode::OK, Some(DEAL_REASON))
    );
    let (status, _) = app
        .post_json(
            "/api/v1/views",
            &json!({"entity": "deals", "name": VIEW_NAME, "filters": {"status": "open"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let contact = app
        .create_contact(json!({
            "name": NAME, "emails": [EMAIL], "phones": [PHONE], "address": ADDRESS,
            "notes": NOTES, "job_title": TITLE, "team": PLAIN_MARKER,
            "custom_fields": {"medical_note": CUSTOM_PERSONAL, "segment": CUSTOM_PLAIN_MARKER}
        }))
        .await;
    let (status, _) = app
        .post_json(
            "/api/v1/activities",
            &json!({"kind": "call", "subject": ACTIVITY_SUBJECT, "body": ACTIVITY_BODY,
                    "contact_id": contact["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // One task under the contact's key, one under the organisation key; a reminder makes a
    // notification, which must hold no copy of the title.
    for body in [
        json!({"title": TASK_TITLE, "notes": TASK_NOTES, "contact_id": contact["id"],
               "remind_at": "2000-01-01T00:00:00Z"}),
        json!({"title": ORG_TASK_TITLE, "notes": TASK_NOTES}),
    ] {
        let (status, task) = app.post_json("/api/v1/tasks", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
    }
    app.core.send_due_reminders().await.unwrap();
    let (_, notifications) = app.get_json("/api/v1/notifications").await;
    assert_eq!(notifications["items"][0]["task_title"], TASK_TITLE);
    // Order notes go under the contact's key; the line text is internal and stays plain.
    let (status, order) = app
        .post_json(
            "/api/v1/orders",
            &json!({"contact_id": contact["id"], "currency": "CNY", "notes": ORDER_NOTES,
                    "lines": [{"description": PLAIN_MARKER, "quantity": "1", "unit_price": "1"}]}),
        )
        .await;
    assert_eq!(
        (status, order["notes"].as_str()),
        (StatusCode::CREATED, Some(ORDER_NOTES))
    );
    // Preferences, survey comments and complaints are under the contact's key.
    let (status, prefs) = split(
        app.request(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/contacts/{}/preferences",
                contact["id"].as_str().unwrap()
            ),
        )
        .json(
            &json!({"version": 0, "channel": "post", "do_not_contact": true,
                      "do_not_contact_reason": DNC_REASON}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, prefs["do_not_contact_reason"].as_str()),
        (StatusCode::OK, Some(DNC_REASON))
    );
    let (status, survey) = app
        .post_json(
            "/api/v1/surveys",
            &json!({"contact_id": contact["id"], "kind": "csat", "score": 1,
                    "comment": SURVEY_COMMENT}),
        )
        .await;
    assert_eq!(
        (status, survey["comment"].as_str()),
        (StatusCode::CREATED, Some(SURVEY_COMMENT))
    );
    let (status, complaint) = app
        .post_json(
            "/api/v1/complaints",
            &json!({"contact_id": contact["id"], "subject": COMPLAINT_SUBJECT,
                    "description": COMPLAINT_DESCRIPTION, "category": "billing",
                    "severity": "critical"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{complaint}");
    let (status, resolved) = app
        .post_json(
            &format!(
                "/api/v1/complaints/{}/transition",
                complaint["id"].as_str().unwrap()
            ),
            &json!({"version": 1, "status": "resolved", "resolution": COMPLAINT_RESOLUTION}),
        )
        .await;
    assert_eq!(
        (status, resolved["resolution"].as_str()),
        (StatusCode::OK, Some(COMPLAINT_RESOLUTION))
    );
    let (status, request) = app
        .post_json(
            "/api/v1/export-requests",
            &json!({"kind": "contacts", "reason": EXPORT_REASON}),
        )
        .await;
    assert_eq!(
        (status, request["reason"].as_str()),
        (StatusCode::CREATED, Some(EXPORT_REASON))
    );
    contact
}

fn secrets() -> Vec<&'static str> {
    vec![
        NAME,
        EMAIL,
        PHONE,
        &PHONE[1..],
        ADDRESS,
        NOTES,
        TITLE,
        COMPANY_ADDRESS,
        DEAL_REASON,
        LEAD_NAME,
        LEAD_EMAIL,
        LEAD_REASON,
        ACTIVITY_SUBJECT,
        ACTIVITY_BODY,
        TASK_TITLE,
        TASK_NOTES,
        ORG_TASK_TITLE,
        "周建国",
        ORDER_NOTES,
        VIEW_NAME,
        CUSTOM_PERSONAL,
        CUSTOM_COMPANY_SENSITIVE,
        CUSTOM_DEAL_PERSONAL,
        DNC_REASON,
        SURVEY_COMMENT,
        COMPLAINT_SUBJECT,
        COMPLAINT_DESCRIPTION,
        COMPLAINT_RESOLUTION,
        EXPORT_REASON,
        "Mr Gao",
        ADMIN_EMAIL,
        "sinopec",
    ]
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    match app.backend {
        Backend::Sqlite => {
            let mut all = Vec::new();
            for file in ["custodian.db", "custodian.db-wal"] {
                if let Ok(bytes) = std::fs::read(app.data_dir.join(file)) {
                    all.extend(bytes);
                }
            }
            assert!(!all.is_empty());
            all
        }
        Backend::Postgres => {
            use sqlx::{Connection, Row};
            let mut conn = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            let tables: Vec<String> = sqlx::query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
            for table in [
                "contacts",
                "tasks",
                "notifications",
                "notification_deliveries",
                "custom_field_values",
                "contact_preferences",
                "survey_responses",
                "complaints",
                "export_requests",
            ] {
                assert!(tables.contains(&table.to_owned()), "{table} scanned");
            }
            let mut all = String::new();
            for table in tables {
                // Table names come from the catalog, not from input.
                let sql = format!(
                    "SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n'), '') FROM \"{table}\" t"
                );
                let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                all.push_str(&text);
            }
            all.into_bytes()
        }
    }
}

async fn no_plaintext_personal_data_at_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = seed(&app).await;
    // The values really were stored and are served back decrypted.
    let (_, fetched) = app
        .get_json(&format!(
            "/api/v1/contacts/{}",
            contact["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(fetched["name"], NAME);
    assert_eq!(fetched["notes"], NOTES);
    assert_eq!(fetched["custom_fields"]["medical_note"], CUSTOM_PERSONAL);

    let bytes = stored_bytes(&app).await;
    let lower = String::from_utf8_lossy(&bytes).to_lowercase().into_bytes();
    assert!(
        contains(&bytes, PLAIN_MARKER.as_bytes()),
        "positive control: the scan must see stored data"
    );
    assert!(
        contains(&bytes, CUSTOM_PLAIN_MARKER.as_bytes()),
        "positive control: internal custom values are stored plainly"
    );
    for secret in secrets() {
        assert!(
            !contains(&lower, secret.to_lowercase().as_bytes()),
            "plaintext `{secret}` found at rest"
        );
        assert!(
            !contains(&lower, hex(secret.as_bytes()).as_bytes()),
            "hex of `{secret}` found at rest"
        );
    }
}

async fn tamper(app: &TestApp, id: uuid::Uuid, change: impl FnOnce(&mut contact::Model)) {
    let store = app.core.store();
    let mut row = repo::contacts::get(store.conn(), id)
        .await
        .unwrap()
        .unwrap();
    let version = row.version;
    change(&mut row);
    assert_eq!(
        repo::contacts::update_versioned(store.writer(), row, version)
            .await
            .unwrap(),
        repo::WriteOutcome::Written
    );
}

async fn moved_or_corrupted_ciphertext_fails_closed(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = seed(&app).await;
    let b = app
        .create_contact(json!({"name": "Li Na", "job_title": "Buyer"}))
        .await;
    let a_id: uuid::Uuid = a["id"].as_str().unwrap().parse().unwrap();
    let b_id: uuid::Uuid = b["id"].as_str().unwrap().parse().unwrap();
    let conn = app.core.store().conn();
    let a_row = repo::contacts::get(conn, a_id).await.unwrap().unwrap();
    let b_row = repo::contacts::get(conn, b_id).await.unwrap().unwrap();

    let expect_integrity_error = |path: String| {
        let app = &app;
        async move {
            let (status, body) = app.get_json(&path).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
            assert_eq!(body["code"], "data_integrity");
            let text = body.to_string();
            assert!(
                !text.contains(NAME) && !text.contains("Li Na"),
                "no data in the error"
            );
        }
    };

    // Another row's ciphertext (same key id would not even match: different data keys).
    let a_name = a_row.name_ct.clone();
    tamper(&app, b_id, |r| r.name_ct = a_name).await;
    expect_integrity_error(format!("/api/v1/contacts/{b_id}")).await;

    // Same row, same key, another column: the AAD binds the column.
    let a_name = a_row.name_ct.clone();
    tamper(&app, a_id, |r| r.job_title_ct = Some(a_name)).await;
    expect_integrity_error(format!("/api/v1/contacts/{a_id}")).await;

    // Restoring the right ciphertext heals it: the failure was the tampering.
    let original = a_row.job_title_ct.clone();
    tamper(&app, a_id, |r| r.job_title_ct = original).await;
    let (status, _) = app.get_json(&format!("/api/v1/contacts/{a_id}")).await;
    assert_eq!(status, StatusCode::OK);

    // One flipped bit in a stored ciphertext.
    let mut notes = a_row.notes_ct.clone().unwrap();
    let last = notes.len() - 1;
    notes[last] ^= 0x01;
    tamper(&app, a_id, |r| r.notes_ct = Some(notes)).await;
    expect_integrity_error(format!("/api/v1/contacts/{a_id}")).await;
    // The untouched contact's data is unaffected by its neighbour's corruption.
    let b_good = b_row.name_ct.clone();
    tamper(&app, b_id, |r| r.name_ct = b_good).await;
    let (status, body) = app.get_json(&format!("/api/v1/contacts/{b_id}")).await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("Li Na"))
    );
}

async fn a_wrong_master_key_refuses_to_start(backend: Backend) {
    let mut app = spawn_app(backend).await;
    seed(&app).await;
    app.stop().await;
    let key_path = app.data_dir.join("master.key");
    let original = std::fs::read(&key_path).unwrap();
    std::fs::remove_file(&key_path).unwrap();
    let other =
        custodian_crypto::keys::KeyFile::generate(&custodian_crypto::random::SystemRandom).unwrap();
    custodian::datadir::write_private_file(&key_path, other.to_text().as_bytes(), false).unwrap();

    let url = app.config.database_url(&app.data_dir).unwrap();
    let wiring = custodian::server::Wiring::system();
    let policy = custodian::server::InitPolicy::IfFresh;
    let err = custodian::server::prepare(&app.data_dir, &url, &app.config, &wiring, policy)
        .await
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("does not match"), "{message}");
    assert!(
        message.contains("Restore the key file"),
        "says what to do: {message}"
    );

    // A key file others can read is refused too, with the fix.
    std::fs::remove_file(&key_path).unwrap();
    std::fs::write(&key_path, &original).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = custodian::server::prepare(&app.data_dir, &url, &app.config, &wiring, policy)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("chmod 600"), "{err:#}");

    // The right key, right permissions: starts again.
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    custodian::server::prepare(&app.data_dir, &url, &app.config, &wiring, policy)
        .await
        .unwrap();
}

on_both_backends!(
    no_plaintext_personal_data_at_rest,
    moved_or_corrupted_ciphertext_fails_closed,
    a_wrong_master_key_refuses_to_start,
);
