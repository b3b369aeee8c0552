//! Separation of duties for bulk exports: an export over the threshold is refused on the
//! spot, requested with a reason, approved by someone else (never its requester) and then
//! downloaded once by its requester; rejected, withdrawn and expired requests download
//! nothing; every step is a security event.

use custodian_testkit::{
    Backend, OtherUser, TestApp, on_both_backends, spawn_app_with, test_config,
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const REASON: &str = "Quarterly reconciliation with the ERP";

async fn app_with_threshold(backend: Backend, rows: u64) -> TestApp {
    let mut config = test_config();
    config.authorization.bulk_export_rows = rows;
    spawn_app_with(backend, config).await
}

async fn seed_contacts(app: &TestApp, n: usize) {
    for i in 0..n {
        let tags = if i < 2 { json!(["vip"]) } else { json!([]) };
        app.create_contact(json!({"name": format!("Person {i}"), "emails": [format!("p{i}@example.com")], "tags": tags}))
            .await;
    }
}

async fn privacy_officer(app: &TestApp) -> OtherUser {
    app.sign_in_with_roles("dpo@example.com", &["privacy_officer"], None, None)
        .await
}

async fn request(app: &TestApp, body: Value) -> Value {
    let (status, view) = app.post_json("/api/v1/export-requests", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    view
}

fn contacts_csv() -> Value {
    json!({"kind": "contacts", "format": "csv", "reason": REASON})
}

/// Status and stable error code of an answer.
fn code(answer: &(StatusCode, Value)) -> (StatusCode, &str) {
    (answer.0, answer.1["code"].as_str().unwrap_or_default())
}

async fn download(user: Option<&OtherUser>, app: &TestApp, id: &str) -> (StatusCode, String) {
    let path = format!("/api/v1/export-requests/{id}/download");
    let response = match user {
        Some(user) => user.request(Method::GET, &path),
        None => app.request(Method::GET, &path),
    }
    .send()
    .await
    .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn as_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

async fn own_events(app: &TestApp) -> Vec<String> {
    let (status, body) = app.get_json("/api/v1/account/security-events").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "data_export_approval")
        .map(|e| e["detail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn bulk_exports_need_someone_elses_approval(backend: Backend) {
    let app = app_with_threshold(backend, 3).await;
    seed_contacts(&app, 5).await;

    // Over the threshold: refused on the spot, with what to do; under it: served at once.
    let refused = app.get_json("/api/v1/exports/contacts").await;
    assert_eq!(
        code(&refused),
        (StatusCode::CONFLICT, "export_approval_required"),
        "{}",
        refused.1
    );
    assert_eq!(refused.1["details"]["threshold"], 3);
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/export-requests")
    );
    let small = app
        .request(Method::GET, "/api/v1/exports/contacts?tag=vip")
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), StatusCode::OK);

    // Bad requests say what is wrong.
    let no_reason = app
        .post_json(
            "/api/v1/export-requests",
            &json!({"kind": "contacts", "reason": "  "}),
        )
        .await;
    assert_eq!(no_reason.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.1["details"][0]["code"], "reason_required");
    let bad_kind = app
        .post_json(
            "/api/v1/export-requests",
            &json!({"kind": "users", "reason": "x"}),
        )
        .await;
    assert_eq!(bad_kind.1["details"][0]["code"], "invalid_kind");
    let forged = app
        .post_json(
            "/api/v1/export-requests",
            &json!({"kind": "contacts", "reason": "x", "approved": true}),
        )
        .await;
    assert_eq!(
        code(&forged),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );

    let pending = request(&app, contacts_csv()).await;
    let id = pending["id"].as_str().unwrap().to_owned();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["estimated_rows"], 5);
    assert_eq!(pending["reason"], REASON);
    assert_eq!(
        (
            pending["can_withdraw"].as_bool(),
            pending["can_download"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let (status, body) = download(None, &app, &id).await;
    assert_eq!(
        (status, as_json(&body)["code"].as_str()),
        (StatusCode::CONFLICT, Some("export_not_approved"))
    );

    // The requester cannot approve it, whatever their roles; the attempt is recorded.
    let approve_path = format!("/api/v1/export-requests/{id}/approve");
    let own = app.post_json(&approve_path, &json!({})).await;
    assert_eq!(
        code(&own),
        (StatusCode::CONFLICT, "second_approver_required")
    );
    assert!(
        own_events(&app)
            .await
            .contains(&format!("self-approval refused {id}"))
    );

    // Someone without approve_export learns nothing of it.
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales", "manager"], None, None)
        .await;
    let (status, _) = sales
        .get_json(&format!("/api/v1/export-requests/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = sales.post_json(&approve_path, &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = sales
        .get_json("/api/v1/export-requests?scope=approvals")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, mine) = sales.get_json("/api/v1/export-requests").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["items"], json!([]));

    // The privacy officer sees it among the requests to decide, and approves it.
    let dpo = privacy_officer(&app).await;
    let (status, queue) = dpo
        .get_json("/api/v1/export-requests?scope=approvals&status=pending")
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let item = &queue["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["requester"], custodian_testkit::ADMIN_EMAIL);
    assert_eq!(item["can_decide"], true);
    let (status, approved) = dpo
        .post_json(&approve_path, &json!({"note": "Fine for Q3"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decision_note"], "Fine for Q3");
    assert!(approved["download_until"].is_string());
    let again = dpo.post_json(&approve_path, &json!({})).await;
    assert_eq!(
        code(&again),
        (StatusCode::CONFLICT, "export_request_decided")
    );
    // The approver cannot take the file.
    let (status, body) = download(Some(&dpo), &app, &id).await;
    assert_eq!(
        (status, as_json(&body)["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_requester"))
    );

    // The requester downloads it once: every row, then never again.
    let (status, csv) = download(None, &app, &id).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(csv.contains("p4@example.com"));
    let (status, body) = download(None, &app, &id).await;
    assert_eq!(
        (status, as_json(&body)["code"].as_str()),
        (StatusCode::CONFLICT, Some("export_already_downloaded"))
    );
    let (_, done) = app.get_json(&format!("/api/v1/export-requests/{id}")).await;
    assert_eq!(done["status"], "downloaded");
    assert_eq!(done["exported_rows"], 5);
    assert_eq!(done["decider"], "dpo@example.com");

    let events = own_events(&app).await;
    for expected in [
        format!("requested {id} contacts rows=5"),
        format!("download started {id} contacts"),
        format!("downloaded {id} rows=5"),
    ] {
        assert!(events.contains(&expected), "{expected} in {events:?}");
    }
}

async fn rejected_withdrawn_and_expired_requests_download_nothing(backend: Backend) {
    let mut config = test_config();
    config.authorization.bulk_export_rows = 3;
    config.authorization.bulk_export_download_hours = 1;
    // Sessions outlive the download window, so the clock can pass it.
    config.session.idle_timeout_secs = 3 * 60 * 60;
    let app = spawn_app_with(backend, config).await;
    seed_contacts(&app, 4).await;
    let dpo = privacy_officer(&app).await;

    // Rejected, with a note the requester sees.
    let rejected = request(&app, contacts_csv()).await;
    let id = rejected["id"].as_str().unwrap();
    let (status, view) = dpo
        .post_json(
            &format!("/api/v1/export-requests/{id}/reject"),
            &json!({"note": "Too broad; filter by tag"}),
        )
        .await;
    assert_eq!(
        (status, view["status"].as_str()),
        (StatusCode::OK, Some("rejected"))
    );
    let (_, seen) = app.get_json(&format!("/api/v1/export-requests/{id}")).await;
    assert_eq!(seen["decision_note"], "Too broad; filter by tag");
    let (status, body) = download(None, &app, id).await;
    assert_eq!(
        (status, as_json(&body)["code"].as_str()),
        (StatusCode::CONFLICT, Some("export_not_approved"))
    );

    // Withdrawn by the requester; a requester rejects nothing, they withdraw.
    let withdrawn = request(&app, contacts_csv()).await;
    let id = withdrawn["id"].as_str().unwrap();
    let own_reject = app
        .post_json(&format!("/api/v1/export-requests/{id}/reject"), &json!({}))
        .await;
    assert_eq!(
        code(&own_reject),
        (StatusCode::CONFLICT, "withdraw_instead")
    );
    let (status, view) = app
        .post_json(
            &format!("/api/v1/export-requests/{id}/withdraw"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, view["status"].as_str()),
        (StatusCode::OK, Some("withdrawn"))
    );
    let late = dpo
        .post_json(&format!("/api/v1/export-requests/{id}/approve"), &json!({}))
        .await;
    assert_eq!(
        code(&late),
        (StatusCode::CONFLICT, "export_request_decided")
    );

    // An approval is a sensitive act: an old sign-in must confirm it is them first.
    let stale = request(
        &app,
        json!({"kind": "contacts", "format": "json", "reason": REASON}),
    )
    .await;
    let id = stale["id"].as_str().unwrap();
    app.clock.advance(time::Duration::minutes(11));
    let approve_path = format!("/api/v1/export-requests/{id}/approve");
    let unconfirmed = dpo.post_json(&approve_path, &json!({})).await;
    assert_eq!(
        code(&unconfirmed),
        (StatusCode::FORBIDDEN, "reauthentication_required")
    );
    dpo.reauthenticate().await;
    let (status, _) = dpo.post_json(&approve_path, &json!({})).await;
    assert_eq!(status, StatusCode::OK);

    // An API token may request and download, never approve.
    let (status, token) = dpo
        .post_json(
            "/api/v1/account/tokens",
            &json!({"name": "dpo", "scopes": "export-requests:write"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let other = request(&app, contacts_csv()).await;
    let response = app
        .anon
        .post(app.url(&format!(
            "/api/v1/export-requests/{}/approve",
            other["id"].as_str().unwrap()
        )))
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token["token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The approval lapses after the download window (an hour here, 24 by default).
    app.clock.advance(time::Duration::minutes(61));
    let (_, view) = app.get_json(&format!("/api/v1/export-requests/{id}")).await;
    assert_eq!(view["status"], "expired");
    assert_eq!(view["can_download"], false);
    let (status, body) = download(None, &app, id).await;
    assert_eq!(
        (status, as_json(&body)["code"].as_str()),
        (StatusCode::CONFLICT, Some("export_approval_expired"))
    );
}

async fn the_rule_is_configuration(backend: Backend) {
    let mut config = test_config();
    config.authorization.bulk_export_approval = false;
    config.authorization.bulk_export_rows = 1;
    let app = spawn_app_with(backend, config).await;
    seed_contacts(&app, 3).await;
    let response = app
        .request(Method::GET, "/api/v1/exports/contacts")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

on_both_backends!(
    bulk_exports_need_someone_elses_approval,
    rejected_withdrawn_and_expired_requests_download_nothing,
    the_rule_is_configuration,
);
