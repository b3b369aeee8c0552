//! Authorization by policy on contacts: record visibility by owner, team and territory (in the
//! list query, so pages and cursors stay exact), 404 for records one may not read, field
//! groups withheld or masked by role, mass assignment refused by name, reveal after step-up,
//! roles assigned by administrators, and every denial recorded as a security event.

use custodian_testkit::{Backend, OtherUser, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Contacts the administrator (who holds `all_records`) creates in given teams and regions.
async fn contact(app: &TestApp, name: &str, team: &str, region: &str) -> String {
    let body = json!({
        "name": name,
        "emails": [format!("{}@example.com", name.to_lowercase())],
        "phones": ["+8613812345678"],
        "address": "1 Century Avenue, Shanghai",
        "notes": "Prefers calls after 3 pm",
        "team": team,
        "region": region,
    });
    app.create_contact(body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn events_of(app: &TestApp, user: &OtherUser, kind: &str) -> Vec<String> {
    let (status, body) = app
        .get_json(&format!("/api/v1/users/{}/security-events", user.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["detail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn sales_see_their_team_in_their_territory_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let north_cn = contact(&app, "Wang", "north", "cn").await;
    let south_cn = contact(&app, "Li", "south", "cn").await;
    let north_eu = contact(&app, "Schmidt", "north", "eu").await;
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], Some("north"), Some("cn"))
        .await;

    let (status, list) = sales.get_json("/api/v1/contacts").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(names(&list), vec!["Wang"]);
    // Details of their own team's contact in full.
    let row = &list["items"][0];
    assert_eq!(row["email"], "wang@example.com");
    assert_eq!(row["field_groups"]["contact_details"], "full");

    // Another team's or another territory's contact does not exist for them.
    for id in [&south_cn, &north_eu] {
        let (status, body) = sales.get_json(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _) = sales
            .patch_json(
                &format!("/api/v1/contacts/{id}"),
                &json!({"version": 1, "name": "X"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = sales.delete(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, body) = sales
        .get_json(&format!("/api/v1/contacts/{north_cn}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["notes"], "Prefers calls after 3 pm");
    assert_eq!(body["region"], "cn");

    // What they create is theirs, in their territory; another territory is refused.
    let (status, created) = sales
        .post_json("/api/v1/contacts", &json!({"name": "Zhao"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["region"], "cn");
    assert_eq!(created["owner_id"], sales.id.as_str());
    let (status, body) = sales
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "Müller", "region": "eu"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Moving a contact out of their territory is refused, naming the field.
    let id = created["id"].as_str().unwrap();
    let (status, body) = sales
        .patch_json(
            &format!("/api/v1/contacts/{id}"),
            &json!({"version": 1, "region": "eu"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), Some("field_not_permitted"));
    assert_eq!(body["details"]["field"], "region");
    // A forged field group in a patch is no field at all.
    let (status, body) = sales
        .patch_json(
            &format!("/api/v1/contacts/{id}"),
            &json!({"version": 1, "field_groups": {"contact_details": "full"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Denials are security events naming the action and the record.
    let denied = events_of(&app, &sales, "authz_fail").await;
    assert!(
        denied
            .iter()
            .any(|d| d == &format!("read Contact::{south_cn}")),
        "{denied:?}"
    );
}

async fn pages_and_cursors_stay_within_what_one_may_read(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        contact(&app, &format!("North{i}"), "north", "cn").await;
        contact(&app, &format!("South{i}"), "south", "cn").await;
    }
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], Some("north"), Some("cn"))
        .await;
    // Full pages of readable rows only, however the unreadable ones interleave.
    let (_, first) = sales.get_json("/api/v1/contacts?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let mut seen = names(&first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (status, page) = sales
            .get_json(&format!("/api/v1/contacts?limit=2&cursor={c}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(names(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..5).map(|i| format!("North{i}")).collect::<Vec<_>>()
    );

    // A cursor taken from someone who sees everything pages on within the caller's records.
    let (_, admin_page) = app.get_json("/api/v1/contacts?limit=1").await;
    let foreign = admin_page["next_cursor"].as_str().unwrap();
    let (status, page) = sales
        .get_json(&format!("/api/v1/contacts?limit=50&cursor={foreign}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        names(&page).iter().all(|n| n.starts_with("North")),
        "{page}"
    );
}

async fn marketing_sees_masked_details_and_reveals_after_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = contact(&app, "Chen", "north", "cn").await;
    let marketing = app
        .sign_in_with_roles("marketing@example.com", &["marketing"], None, Some("cn"))
        .await;
    let (status, body) = marketing.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["emails"], json!(["ch***@e***.com"]));
    assert_eq!(body["phones"], json!(["+86 *** **** 5678"]));
    assert_eq!(body["address"], "***");
    assert_eq!(body["notes"], Value::Null);
    assert_eq!(body["field_groups"]["contact_details"], "masked");
    assert_eq!(body["field_groups"]["notes"], "hidden");
    let text = body.to_string();
    assert!(!text.contains("chen@") && !text.contains("1234") && !text.contains("Century"));
    let (_, list) = marketing.get_json("/api/v1/contacts").await;
    assert_eq!(list["items"][0]["email"], "ch***@e***.com");

    // Writing contact details is refused, not ignored.
    let (status, body) = marketing
        .patch_json(
            &format!("/api/v1/contacts/{id}"),
            &json!({"version": 1, "emails": ["new@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Reveal asks for a step-up first, then shows the values and is recorded.
    let reveal = format!("/api/v1/contacts/{id}/reveal");
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = marketing.post_json(&reveal, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    marketing.reauthenticate().await;
    let (status, body) = marketing.post_json(&reveal, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["emails"], json!(["chen@example.com"]));
    assert_eq!(body["phones"], json!(["+8613812345678"]));
    assert_eq!(body["address"], "1 Century Avenue, Shanghai");
    let reveals = events_of(&app, &marketing, "data_reveal").await;
    assert_eq!(reveals, vec![format!("contact_details Contact::{id}")]);

    // Sales, who read details in full, have nothing to reveal; support without a case with
    // the contact cannot see it at all.
    let support = app
        .sign_in_with_roles("support@example.com", &["support"], None, Some("cn"))
        .await;
    let (status, _) = support.post_json(&reveal, &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn administration_and_customer_data_are_separate(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = contact(&app, "Sun", "north", "cn").await;
    let admin_only = app
        .sign_in_with_roles("it@example.com", &["administrator"], None, None)
        .await;
    let (status, body) = admin_only.get_json("/api/v1/contacts").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = admin_only.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = admin_only.get_json("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for role in ["auditor", "security_officer"] {
        let user = app
            .sign_in_with_roles(&format!("{role}@example.com"), &[role], None, None)
            .await;
        let (status, _) = user.get_json(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{role}");
        let (status, _) = user.get_json("/api/v1/users").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
}

async fn administrators_assign_roles_effective_on_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = contact(&app, "Zhou", "north", "cn").await;
    let user = app
        .sign_in_with_roles("new@example.com", &[], None, Some("cn"))
        .await;
    let path = format!("/api/v1/contacts/{id}");
    let (status, _) = user.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let roles = format!("/api/v1/users/{}/roles", user.id);
    let put = |body: Value| {
        let app = &app;
        let roles = roles.clone();
        async move {
            let response = app
                .request(reqwest::Method::PUT, &roles)
                .json(&body)
                .send()
                .await
                .unwrap();
            custodian_testkit::split(response).await
        }
    };
    // A sensitive change: step-up first.
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = put(json!({"roles": ["privacy_officer"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    app.reauthenticate().await;
    let (status, body) = put(json!({"roles": ["sales", "boss"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["code"], "invalid_role");
    let (status, body) = put(json!({"roles": ["privacy_officer", "privacy_officer"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["privacy_officer"]));
    let (status, body) = user.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["emails"], json!(["zhou@example.com"]));

    // The last administrator keeps the role.
    let (_, me) = app.get_json("/api/v1/auth/me").await;
    let response = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{}/roles", me["user"]["id"].as_str().unwrap()),
        )
        .json(&json!({"roles": ["all_records"]}))
        .send()
        .await
        .unwrap();
    let (status, body) = custodian_testkit::split(response).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), Some("last_administrator"));
}

on_both_backends!(
    sales_see_their_team_in_their_territory_only,
    pages_and_cursors_stay_within_what_one_may_read,
    marketing_sees_masked_details_and_reveals_after_step_up,
    administration_and_customer_data_are_separate,
    administrators_assign_roles_effective_on_the_next_request,
);
