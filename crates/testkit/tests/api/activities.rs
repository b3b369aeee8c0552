use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn log(app: &TestApp, body: Value) -> Value {
    let (status, json) = app.post_json("/api/v1/activities", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

fn subjects(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["subject"].as_str().unwrap_or("-"))
        .collect()
}

async fn timelines_are_newest_first_and_paginated(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app
        .create_company(json!({"name": "Qilu Petrochemical"}))
        .await;
    let contact = app
        .create_contact(json!({"name": "李娜", "company_id": company["id"]}))
        .await;
    let other = app.create_contact(json!({"name": "Someone Else"})).await;
    app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    let deal = app
        .create_deal(json!({"title": "Lube oil supply", "contact_id": contact["id"]}))
        .await;

    // Logged out of order: the timeline orders by when it happened, not when it was logged.
    for (subject, at) in [
        ("Second call", "2026-03-02T09:00:00+08:00"),
        ("First call", "2026-03-01T09:00:00+08:00"),
        ("Third call", "2026-03-03T09:00:00Z"),
    ] {
        let logged = log(
            &app,
            json!({"kind": "call", "subject": subject, "direction": "outbound",
                   "outcome": "connected", "duration_minutes": 15, "occurred_at": at,
                   "contact_id": contact["id"]}),
        )
        .await;
        // Linked to the contact alone, it still lands on the contact's company timeline.
        assert_eq!(logged["company_id"], company["id"]);
        assert!(logged["deal_id"].is_null());
    }
    // Logged on the deal: the deal's contact and that contact's company follow.
    let on_deal = log(
        &app,
        json!({"kind": "meeting", "subject": "Site visit", "occurred_at": "2026-03-04T02:00:00Z",
               "deal_id": deal["id"]}),
    )
    .await;
    assert_eq!(
        (&on_deal["contact_id"], &on_deal["company_id"]),
        (&contact["id"], &company["id"])
    );
    log(
        &app,
        json!({"kind": "note", "body": "Unrelated", "contact_id": other["id"]}),
    )
    .await;

    let cid = contact["id"].as_str().unwrap();
    let (status, first) = app
        .get_json(&format!("/api/v1/contacts/{cid}/timeline?limit=2"))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(subjects(&first), ["Site visit", "Third call"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .get_json(&format!(
            "/api/v1/contacts/{cid}/timeline?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(subjects(&second), ["Second call", "First call"]);
    assert!(second.get("next_cursor").is_none());

    let (_, company_line) = app
        .get_json(&format!(
            "/api/v1/companies/{}/timeline",
            company["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(company_line["items"].as_array().unwrap().len(), 4);
    let (_, deal_line) = app
        .get_json(&format!(
            "/api/v1/deals/{}/timeline",
            deal["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(subjects(&deal_line), ["Site visit"]);
    let (_, notes) = app.get_json("/api/v1/activities?kind=note").await;
    assert_eq!(notes["items"][0]["body"], "Unrelated");
    assert_eq!(notes["items"].as_array().unwrap().len(), 1);

    // A cursor from another list is refused; a deleted or unknown record has no timeline.
    let (status, body) = app
        .get_json(&format!("/api/v1/contacts/{cid}/timeline?cursor=abc"))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
    );
    let (status, _) = app
        .get_json(&format!(
            "/api/v1/contacts/{}/timeline",
            uuid::Uuid::from_u128(7)
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn activities_edit_delete_and_restore(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Chen Jie"})).await;
    let note = log(
        &app,
        json!({"kind": "note", "body": "Wants samples", "contact_id": contact["id"]}),
    )
    .await;
    assert!(note["subject"].is_null());
    let path = format!("/api/v1/activities/{}", note["id"].as_str().unwrap());

    let (status, edited) = app
        .patch_json(
            &path,
            &json!({"version": 1, "kind": "call", "subject": "Samples call", "direction": "inbound"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (
            edited["kind"].as_str(),
            edited["body"].as_str(),
            edited["version"].as_i64()
        ),
        (Some("call"), Some("Wants samples"), Some(2))
    );
    assert_eq!(edited["occurred_at"], note["occurred_at"]);
    let (status, stale) = app
        .patch_json(&path, &json!({"version": 1, "subject": "Late edit"}))
        .await;
    assert_eq!(
        (status, error_code(&stale)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );

    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let timeline = format!(
        "/api/v1/contacts/{}/timeline",
        contact["id"].as_str().unwrap()
    );
    let (_, line) = app.get_json(&timeline).await;
    assert!(line["items"].as_array().unwrap().is_empty());
    let (status, restored) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(
        (status, restored["version"].as_i64()),
        (StatusCode::OK, Some(4))
    );
    let (_, line) = app.get_json(&timeline).await;
    assert_eq!(subjects(&line), ["Samples call"]);
}

async fn bad_activities_get_specific_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Zhou Min"})).await;
    let cases = [
        (
            json!({"kind": "call", "subject": "x"}),
            "contact_id",
            "link_required",
        ),
        (
            json!({"kind": "fax", "subject": "x", "contact_id": contact["id"]}),
            "kind",
            "invalid_kind",
        ),
        (
            json!({"kind": "call", "contact_id": contact["id"]}),
            "subject",
            "required",
        ),
        (
            json!({"kind": "note", "subject": "x", "contact_id": contact["id"]}),
            "body",
            "required",
        ),
        (
            json!({"kind": "meeting", "subject": "x", "outcome": "busy", "contact_id": contact["id"]}),
            "outcome",
            "not_applicable",
        ),
        (
            json!({"kind": "call", "subject": "x", "duration_minutes": 1441, "contact_id": contact["id"]}),
            "duration_minutes",
            "out_of_range",
        ),
        (
            json!({"kind": "call", "subject": "x", "occurred_at": "yesterday", "contact_id": contact["id"]}),
            "occurred_at",
            "invalid_datetime",
        ),
        (
            json!({"kind": "call", "subject": "x", "deal_id": uuid::Uuid::from_u128(7)}),
            "deal_id",
            "unknown_deal",
        ),
        (
            json!({"kind": "call", "subject": "x".repeat(201), "contact_id": contact["id"]}),
            "subject",
            "too_long",
        ),
    ];
    for (body, field, code) in cases {
        let (status, err) = app.post_json("/api/v1/activities", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        let details = err["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["field"] == field && d["code"] == code),
            "{body}: expected {field}/{code} in {err}"
        );
    }
    let (status, err) = app.get_json("/api/v1/activities?limit=201").await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("out_of_range"))
    );
    let (_, all) = app.get_json("/api/v1/activities").await;
    assert!(
        all["items"].as_array().unwrap().is_empty(),
        "nothing was written"
    );
}

on_both_backends!(
    timelines_are_newest_first_and_paginated,
    activities_edit_delete_and_restore,
    bad_activities_get_specific_errors,
);
