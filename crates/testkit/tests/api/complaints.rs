//! Complaints: lifecycle with allowed transitions and exact history, bad input codes, the
//! queue filters and the overdue view.

use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SUBJECT: &str = "Diesel delivery to 王小明 arrived contaminated";
const DESCRIPTION: &str = "Water in tank 3; he says his generator failed";
const RESOLUTION: &str = "Refunded batch 42 and replaced the filter";

fn codes(body: &Value) -> Vec<String> {
    body["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|e| e["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, json) = app.post_json("/api/v1/complaints", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

async fn complaint_lifecycle_history_and_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Sino Petro"})).await;
    let contact = app
        .create_contact(json!({"name": "王小明", "company_id": company["id"]}))
        .await;
    let (_, me) = app.get_json("/api/v1/auth/me").await;
    let me_id = me["user"]["id"].as_str().unwrap().to_owned();
    let c = create(
        &app,
        json!({"contact_id": contact["id"], "subject": SUBJECT, "description": DESCRIPTION,
               "category": "product_quality", "severity": "high", "assignee_id": me_id}),
    )
    .await;
    assert_eq!(
        (
            c["status"].as_str(),
            c["version"].as_i64(),
            c["overdue"].as_bool()
        ),
        (Some("open"), Some(1), Some(false))
    );
    assert_eq!(
        c["company_id"], company["id"],
        "the contact's company is filled in"
    );
    assert_eq!(c["description"], DESCRIPTION);
    // High severity: a response is due 24 hours after it was logged.
    let at = |field: &str| {
        time::OffsetDateTime::parse(
            c[field].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert_eq!(
        at("response_due_at") - at("created_at"),
        time::Duration::hours(24)
    );
    let id = c["id"].as_str().unwrap();
    let path = format!("/api/v1/complaints/{id}");
    let transition = |version: i64, status: &str, resolution: Option<&str>| {
        let mut body = json!({"version": version, "status": status});
        if let Some(r) = resolution {
            body["resolution"] = json!(r);
        }
        body
    };

    // Illegal transition: 409 with its code; nothing written.
    let (status, refused) = app
        .post_json(
            &format!("{path}/transition"),
            &transition(1, "closed", None),
        )
        .await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (status, investigating) = app
        .post_json(
            &format!("{path}/transition"),
            &transition(1, "investigating", None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{investigating}");
    // Resolving without a resolution is refused with its code.
    let (status, bad) = app
        .post_json(
            &format!("{path}/transition"),
            &transition(2, "resolved", Some("  ")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&bad), vec!["resolution_required"]);
    // Stale version.
    let (status, stale) = app
        .post_json(
            &format!("{path}/transition"),
            &transition(1, "resolved", Some(RESOLUTION)),
        )
        .await;
    assert_eq!(
        (status, error_code(&stale)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    let (status, resolved) = app
        .post_json(
            &format!("{path}/transition"),
            &transition(2, "resolved", Some(RESOLUTION)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["resolution"], RESOLUTION);
    assert!(resolved["resolved_at"].is_string());
    let (status, closed) = app
        .post_json(
            &format!("{path}/transition"),
            &transition(3, "closed", None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    // Closed is final: no edits, no transitions.
    let (status, body) = app
        .patch_json(&path, &json!({"version": 4, "severity": "low"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("complaint_closed"))
    );
    let (status, body) = app
        .post_json(
            &format!("{path}/transition"),
            &transition(4, "investigating", None),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );

    // The history is exact: every change, who, in order.
    let (status, history) = app.get_json(&format!("{path}/history")).await;
    assert_eq!(status, StatusCode::OK);
    let steps: Vec<(Value, Value, Value)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["from_status"].clone(),
                h["to_status"].clone(),
                h["changed_by"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (Value::Null, json!("open"), json!(me_id)),
            (json!("open"), json!("investigating"), json!(me_id)),
            (json!("investigating"), json!("resolved"), json!(me_id)),
            (json!("resolved"), json!("closed"), json!(me_id)),
        ]
    );

    // Soft delete and restore.
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.get_json("/api/v1/complaints").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (_, deleted) = app.get_json("/api/v1/complaints?deleted=only").await;
    assert_eq!(deleted["items"].as_array().unwrap().len(), 1);
    let (status, restored) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(
        (status, restored["deleted_at"].clone()),
        (StatusCode::OK, Value::Null)
    );
}

async fn bad_complaints_are_refused_with_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Li Na"})).await;
    let ok = json!({"contact_id": contact["id"], "subject": "Late", "description": "Two weeks",
                    "category": "delivery", "severity": "low"});
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    for (body, expected) in [
        (with("category", json!("weather")), vec!["invalid_category"]),
        (
            with("severity", json!("apocalyptic")),
            vec!["invalid_severity"],
        ),
        (with("subject", json!("  ")), vec!["required"]),
        (
            with("contact_id", json!(custodian_domain::ids::uuid_at(1))),
            vec!["unknown_contact"],
        ),
        (
            with("order_id", json!(custodian_domain::ids::uuid_at(1))),
            vec!["unknown_order"],
        ),
        (
            with("product_id", json!(custodian_domain::ids::uuid_at(1))),
            vec!["unknown_product"],
        ),
        (
            with("assignee_id", json!(custodian_domain::ids::uuid_at(1))),
            vec!["unknown_user"],
        ),
    ] {
        let (status, answer) = app.post_json("/api/v1/complaints", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(codes(&answer), expected);
    }
    let (_, list) = app.get_json("/api/v1/complaints?deleted=include").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing was written"
    );
    let c = create(&app, ok.clone()).await;
    let path = format!("/api/v1/complaints/{}", c["id"].as_str().unwrap());
    let (status, stale) = app
        .patch_json(&path, &json!({"version": 7, "subject": "x"}))
        .await;
    assert_eq!(
        (status, error_code(&stale)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    let (status, bad) = app
        .post_json(
            &format!("{path}/transition"),
            &json!({"version": 1, "status": "escalated"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&bad), vec!["invalid_status"]);
    let (status, patched) = app
        .patch_json(
            &path,
            &json!({"version": 1, "severity": "critical", "subject": "Very late"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["severity"].as_str(), patched["subject"].as_str()),
        (Some("critical"), Some("Very late"))
    );
}

/// A fresh session for an existing user (after the clock moved past the idle timeout).
async fn sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = custodian_testkit::client(&app.cert_pem, true);
    let login = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": custodian_testkit::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    client
}

async fn complaint_queue_filters_and_overdue(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Zhao Lei"})).await;
    let other = app.sign_in_new_user("agent@custodian.test").await;
    let mk = |subject: &str, severity: &str, category: &str, assignee: Option<&str>| {
        json!({"contact_id": contact["id"], "subject": subject, "description": "d",
               "category": category, "severity": severity, "assignee_id": assignee})
    };
    let critical = create(&app, mk("critical one", "critical", "service", None)).await;
    let low = create(&app, mk("low one", "low", "billing", Some(&other.id))).await;
    let high = create(&app, mk("high one", "high", "delivery", None)).await;
    // Critical is due in 4 h, high in 24 h, low in 168 h. The high one is resolved; 30 hours
    // later only the critical one is overdue (sessions have expired by then: sign in again).
    let (status, _) = app
        .post_json(
            &format!(
                "/api/v1/complaints/{}/transition",
                high["id"].as_str().unwrap()
            ),
            &json!({"version": 1, "status": "resolved", "resolution": "Sent a new batch"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(time::Duration::hours(30));
    let admin = sign_in(&app, custodian_testkit::ADMIN_EMAIL).await;
    let agent = sign_in(&app, "agent@custodian.test").await;
    let get = |client: &reqwest::Client, path: &str| {
        let request = client.get(app.url(path));
        async move { custodian_testkit::split(request.send().await.unwrap()).await }
    };
    let subjects = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"))
            .iter()
            .map(|c| c["subject"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, overdue) = get(&admin, "/api/v1/complaints?overdue=true").await;
    assert_eq!(subjects(&overdue), vec!["critical one"]);
    assert_eq!(overdue["items"][0]["overdue"], true);
    assert!(
        overdue["items"][0].get("description").is_none(),
        "lists carry subjects only"
    );
    let (_, queue) = get(&admin, "/api/v1/complaints").await;
    assert_eq!(
        subjects(&queue),
        vec!["critical one", "high one", "low one"],
        "response due first"
    );
    let (_, by_severity) = get(&admin, "/api/v1/complaints?sort=-severity").await;
    assert_eq!(
        subjects(&by_severity),
        vec!["critical one", "high one", "low one"]
    );
    let (_, open) = get(&admin, "/api/v1/complaints?status=open").await;
    assert_eq!(subjects(&open), vec!["critical one", "low one"]);
    let (_, sev) = get(&admin, "/api/v1/complaints?severity=low").await;
    assert_eq!(subjects(&sev), vec!["low one"]);
    let (_, cat) = get(&admin, "/api/v1/complaints?category=delivery").await;
    assert_eq!(subjects(&cat), vec!["high one"]);
    let (_, theirs) = get(&admin, &format!("/api/v1/complaints?assignee={}", other.id)).await;
    assert_eq!(subjects(&theirs), vec!["low one"]);
    let (_, mine) = get(&agent, "/api/v1/complaints?assignee=me").await;
    assert_eq!(subjects(&mine), vec!["low one"]);
    let (_, of_contact) = get(
        &admin,
        &format!(
            "/api/v1/complaints?contact_id={}",
            contact["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(of_contact["items"].as_array().unwrap().len(), 3);
    let (_, none) = get(&admin, "/api/v1/complaints?overdue=true&status=resolved").await;
    assert_eq!(subjects(&none), Vec::<String>::new());
    let (status, bad) = get(&admin, "/api/v1/complaints?severity=huge").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&bad), vec!["invalid_severity"]);
    let (_, page1) = get(&admin, "/api/v1/complaints?limit=2").await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = get(
        &admin,
        &format!("/api/v1/complaints?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(subjects(&page2), vec!["low one"]);
    let _ = (critical, low);
}

on_both_backends!(
    complaint_lifecycle_history_and_codes,
    bad_complaints_are_refused_with_codes,
    complaint_queue_filters_and_overdue,
);
