use custodian_store::repo;
use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NAME: &str = "赵丽华";
const EMAIL: &str = "zhao.lihua@dongying-refinery.example.cn";
const PHONE: &str = "+8613912345678";
const NOTES: &str = "Met at the Shanghai valve expo";

async fn create_lead(app: &TestApp, body: Value) -> Value {
    let (status, json) = app.post_json("/api/v1/leads", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

async fn lead_lifecycle_and_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = create_lead(
        &app,
        json!({"name": NAME, "email": EMAIL, "phone": PHONE, "notes": NOTES,
               "company_name": "Dongying Refinery", "source": "trade_show", "score": 70}),
    )
    .await;
    assert_eq!(
        (
            lead["status"].as_str(),
            lead["source"].as_str(),
            lead["score"].as_i64()
        ),
        (Some("new"), Some("trade_show"), Some(70))
    );
    assert_eq!(lead["notes"], NOTES);
    create_lead(&app, json!({"name": "Tom Baker", "score": 20})).await;
    let id = lead["id"].as_str().unwrap();

    // Exact e-mail search goes through the blind index; lists omit the sensitive notes.
    let (_, found) = app
        .get_json(&format!("/api/v1/leads?email={}", EMAIL.to_uppercase()))
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["name"], NAME);
    assert!(found["items"][0].get("notes").is_none());
    let (_, none) = app.get_json("/api/v1/leads?email=nobody@example.com").await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let (_, top) = app.get_json("/api/v1/leads?sort=-score&min_score=50").await;
    assert_eq!(top["items"].as_array().unwrap().len(), 1);

    let path = format!("/api/v1/leads/{id}");
    let (status, patched) = app
        .patch_json(
            &path,
            &json!({"version": 1, "status": "contacted", "score": 80}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["status"].as_str(), patched["score"].as_i64()),
        (Some("contacted"), Some(80))
    );
    let (status, body) = app
        .patch_json(&path, &json!({"version": 2, "status": "converted"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_status_change")
        )
    );
    let (status, dq) = app
        .post_json(
            &format!("{path}/disqualify"),
            &json!({"version": 2, "reason": "No budget this year"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dq}");
    assert_eq!(dq["status_reason"], "No budget this year");
    let (status, body) = app
        .post_json(&format!("{path}/convert"), &json!({"version": 3}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("lead_disqualified"))
    );
    let (status, q) = app
        .post_json(&format!("{path}/qualify"), &json!({"version": 3}))
        .await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["status"], "qualified");
    assert!(
        q.get("status_reason").is_none(),
        "requalifying clears the reason"
    );
    let (status, body) = app
        .post_json(&format!("{path}/qualify"), &json!({"version": 1}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
}

async fn conversion_moves_the_person_and_leaves_nothing_readable(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, pipeline) = app
        .post_json(
            "/api/v1/pipelines",
            &json!({"name": "Sales", "stages": [{"name": "Lead", "probability": 10}, {"name": "Proposal", "probability": 50}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let lead = create_lead(
        &app,
        json!({"name": NAME, "email": EMAIL, "phone": PHONE, "notes": NOTES,
               "job_title": "Procurement Manager", "company_name": "Dongying Refinery"}),
    )
    .await;
    let id = lead["id"].as_str().unwrap();
    let lead_row = repo::leads::get(app.core.store().conn(), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        lead_row.name_ct.is_some(),
        "positive control: the lead held ciphertext"
    );

    let (status, converted) = app
        .post_json(
            &format!("/api/v1/leads/{id}/convert"),
            &json!({"version": 1, "create_company": true,
                    "deal": {"title": "Valve retrofit", "amount": "880000", "currency": "CNY",
                             "stage_id": pipeline["stages"][1]["id"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{converted}");
    assert_eq!(converted["status"], "converted");
    assert!(converted["name"].is_null() && converted["email"].is_null());
    let refs = &converted["converted"];
    let contact_id = refs["contact_id"].as_str().unwrap();
    let company_id = refs["company_id"].as_str().unwrap();
    let deal_id = refs["deal_id"].as_str().unwrap();

    // The person lives on in the contact, readable under the contact's own key.
    let (_, contact) = app
        .get_json(&format!("/api/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(contact["name"], NAME);
    assert_eq!(contact["emails"], json!([EMAIL]));
    assert_eq!(contact["phones"], json!([PHONE]));
    assert_eq!(contact["notes"], NOTES);
    assert_eq!(contact["company_id"], company_id);
    let (_, by_email) = app
        .get_json(&format!("/api/v1/contacts?email={EMAIL}"))
        .await;
    assert_eq!(
        by_email["items"][0]["id"], contact_id,
        "the contact is searchable"
    );
    let (_, company) = app
        .get_json(&format!("/api/v1/companies/{company_id}"))
        .await;
    assert_eq!(company["name"], "Dongying Refinery");
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(
        (
            deal["contact_id"].as_str(),
            deal["company_id"].as_str(),
            deal["amount"].as_str()
        ),
        (Some(contact_id), Some(company_id), Some("880000.00"))
    );
    assert_eq!(deal["stage_id"], pipeline["stages"][1]["id"]);

    // Nothing of the person is left under the lead's key: ciphertext cleared, key destroyed,
    // blind-index entries gone.
    let conn = app.core.store().conn();
    let row = repo::leads::get(conn, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    for (column, value) in [
        ("name", &row.name_ct),
        ("email", &row.email_ct),
        ("phone", &row.phone_ct),
        ("job_title", &row.job_title_ct),
        ("notes", &row.notes_ct),
    ] {
        assert!(value.is_none(), "lead {column} ciphertext left behind");
    }
    let key = repo::data_keys::get(conn, row.dek_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        key.wrapped.is_none() && key.destroyed_at.is_some(),
        "lead key destroyed"
    );
    let contact_row = repo::contacts::get(conn, contact_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(contact_row.dek_id, row.dek_id, "a new key for the contact");
    let (_, lead_search) = app.get_json(&format!("/api/v1/leads?email={EMAIL}")).await;
    assert!(lead_search["items"].as_array().unwrap().is_empty());
    let (status, reread) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a converted lead still shows where it went: {reread}"
    );
    assert_eq!(reread["converted"]["contact_id"], contact_id);

    // A lead is converted once.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/leads/{id}/convert"),
            &json!({"version": 2}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("lead_converted"))
    );
}

async fn a_failed_conversion_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = create_lead(
        &app,
        json!({"name": NAME, "email": EMAIL, "company_name": "X Ltd"}),
    )
    .await;
    let id = lead["id"].as_str().unwrap();
    // No pipeline exists, so the deal cannot be created: the contact and company created
    // before it in the same transaction must not survive.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/leads/{id}/convert"),
            &json!({"version": 1, "create_company": true, "deal": {"title": "T"}}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_pipeline"))
    );
    let (_, contacts) = app.get_json("/api/v1/contacts").await;
    assert!(
        contacts["items"].as_array().unwrap().is_empty(),
        "{contacts}"
    );
    let (_, companies) = app.get_json("/api/v1/companies").await;
    assert!(companies["items"].as_array().unwrap().is_empty());
    let (_, again) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(
        (again["status"].as_str(), again["name"].as_str()),
        (Some("new"), Some(NAME))
    );

    for (body, code) in [
        (
            json!({"version": 1, "create_company": true, "company_id": "0190d5e4-0000-7000-8000-000000000000"}),
            "conflicting_company",
        ),
        (
            json!({"version": 1, "company_id": "0190d5e4-0000-7000-8000-000000000000"}),
            "unknown_company",
        ),
    ] {
        let (status, reply) = app
            .post_json(&format!("/api/v1/leads/{id}/convert"), &body)
            .await;
        assert_eq!(
            (status, error_code(&reply)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body} → {reply}"
        );
    }
    let bare = create_lead(&app, json!({"name": "No Company"})).await;
    let (status, reply) = app
        .post_json(
            &format!("/api/v1/leads/{}/convert", bare["id"].as_str().unwrap()),
            &json!({"version": 1, "create_company": true}),
        )
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("company_name_required")
        )
    );
    for (body, code) in [
        (json!({"name": NAME, "score": 101}), "invalid_score"),
        (json!({"name": NAME, "source": "tv"}), "invalid_source"),
        (
            json!({"name": NAME, "email": "not-an-email"}),
            "invalid_email",
        ),
        (json!({"name": ""}), "required"),
    ] {
        let (status, reply) = app.post_json("/api/v1/leads", &body).await;
        assert_eq!(
            (status, error_code(&reply)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body} → {reply}"
        );
    }
}

on_both_backends!(
    lead_lifecycle_and_search,
    conversion_moves_the_person_and_leaves_nothing_readable,
    a_failed_conversion_writes_nothing,
);
