//! Authorization of the records around contacts: companies, deals, activities, timelines,
//! complaints, surveys, preferences, purchase history and the dashboard follow the same
//! policies (owner, team, territory), linking to a record one may not read is refused as if
//! it did not exist, and aggregates count only what the caller may read.

use custodian_testkit::{Backend, OtherUser, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn contact(app: &TestApp, name: &str, team: &str, region: &str) -> String {
    let body = json!({
        "name": name,
        "emails": [format!("{}@example.com", name.to_lowercase())],
        "team": team,
        "region": region,
    });
    app.create_contact(body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn created(user: &OtherUser, path: &str, body: Value) -> Value {
    let (status, json) = user.post_json(path, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {json}");
    json
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn deals_activities_and_timelines_follow_team_and_territory(backend: Backend) {
    let app = spawn_app(backend).await;
    let wang = contact(&app, "Wang", "north", "cn").await;
    let li = contact(&app, "Li", "south", "cn").await;
    let pipeline = app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    let north = app
        .sign_in_with_roles("north@example.com", &["sales"], Some("north"), Some("cn"))
        .await;
    let south = app
        .sign_in_with_roles("south@example.com", &["sales"], Some("south"), Some("cn"))
        .await;

    // A deal on their own team's contact takes the contact's territory and their team.
    let deal = created(
        &north,
        "/api/v1/deals",
        json!({"title": "Pipeline valves", "pipeline_id": pipeline["id"], "contact_id": wang,
               "amount": "1200.00", "currency": "CNY"}),
    )
    .await;
    let deal_id = deal["id"].as_str().unwrap();
    assert_eq!(deal["amount"], "1200.00");
    // Linking to a contact they cannot read is refused as if it did not exist.
    let (status, body) = north
        .post_json(
            "/api/v1/deals",
            &json!({"title": "X", "pipeline_id": pipeline["id"], "contact_id": li}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["code"], "unknown_contact");
    let (status, body) = north
        .post_json(
            "/api/v1/activities",
            &json!({"kind": "note", "subject": "Met", "contact_id": li}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let activity = created(
        &north,
        "/api/v1/activities",
        json!({"kind": "call", "subject": "Discussed valves", "body": "Budget approved",
               "deal_id": deal_id}),
    )
    .await;
    let activity_id = activity["id"].as_str().unwrap();
    let company = created(&north, "/api/v1/companies", json!({"name": "PetroNorth"})).await;
    assert_eq!(company["region"], "cn");

    // The other team sees none of it: 404s, empty lists, nothing on the timelines.
    for path in [
        format!("/api/v1/deals/{deal_id}"),
        format!("/api/v1/activities/{activity_id}"),
        format!("/api/v1/deals/{deal_id}/timeline"),
        format!("/api/v1/deals/{deal_id}/history"),
        format!("/api/v1/contacts/{wang}/timeline"),
        format!("/api/v1/companies/{}", company["id"].as_str().unwrap()),
    ] {
        let (status, body) = south.get_json(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    for path in ["/api/v1/deals", "/api/v1/activities", "/api/v1/companies"] {
        let (status, list) = south.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {list}");
        assert!(ids(&list).is_empty(), "{path}: {list}");
    }
    let (status, body) = south
        .post_json(
            &format!("/api/v1/deals/{deal_id}/close"),
            &json!({"version": 1, "outcome": "won"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Their own team sees it, on the timeline too.
    let (_, list) = north.get_json("/api/v1/deals").await;
    assert_eq!(ids(&list), vec![deal_id.to_owned()]);
    let (status, timeline) = north
        .get_json(&format!("/api/v1/contacts/{wang}/timeline"))
        .await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    assert_eq!(ids(&timeline), vec![activity_id.to_owned()]);

    // Aggregates count only what each caller may read.
    let board = format!(
        "/api/v1/pipelines/{}/board",
        pipeline["id"].as_str().unwrap()
    );
    let (_, mine) = north.get_json(&board).await;
    assert_eq!(mine["columns"][0]["open_deals"], 1, "{mine}");
    assert_eq!(
        mine["columns"][0]["totals"][0]["amount"], "1200.00",
        "{mine}"
    );
    let (_, theirs) = south.get_json(&board).await;
    assert_eq!(theirs["columns"][0]["open_deals"], 0, "{theirs}");
    assert_eq!(theirs["columns"][0]["totals"], json!([]), "{theirs}");
    let dashboard = format!(
        "/api/v1/dashboard?pipeline_id={}",
        pipeline["id"].as_str().unwrap()
    );
    let (status, d) = south.get_json(&dashboard).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["headline"]["open_deals"], 0, "{d}");
    let (_, d) = north.get_json(&dashboard).await;
    assert_eq!(d["headline"]["open_deals"], 1, "{d}");

    // A manager of the team reads the deal and its amount but cannot change it.
    let manager = app
        .sign_in_with_roles("boss@example.com", &["manager"], Some("north"), Some("cn"))
        .await;
    let (status, body) = manager.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["amount"], "1200.00");
    let (status, body) = manager
        .patch_json(
            &format!("/api/v1/deals/{deal_id}"),
            &json!({"version": 1, "title": "Mine now"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), Some("forbidden"));
}

async fn feedback_preferences_and_purchases_are_field_groups(backend: Backend) {
    let app = spawn_app(backend).await;
    let wang = contact(&app, "Wang", "north", "cn").await;
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], Some("north"), Some("cn"))
        .await;
    let marketing = app
        .sign_in_with_roles("marketing@example.com", &["marketing"], None, Some("cn"))
        .await;

    // Marketing records feedback and manages preferences; sales may not read either.
    let survey = created(
        &marketing,
        "/api/v1/surveys",
        json!({"contact_id": wang, "kind": "nps", "score": 9, "comment": "Fast delivery"}),
    )
    .await;
    assert_eq!(survey["comment"], "Fast delivery");
    let prefs = format!("/api/v1/contacts/{wang}/preferences");
    let response = marketing
        .request(Method::PUT, &prefs)
        .json(&json!({"version": 0, "channel": "wechat"}))
        .send()
        .await
        .unwrap();
    let (status, body) = custodian_testkit::split(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sales.get_json(&prefs).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let response = sales
        .request(Method::PUT, &prefs)
        .json(&json!({"version": 1, "channel": "email"}))
        .send()
        .await
        .unwrap();
    let (status, _) = custodian_testkit::split(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Purchase history is sales' and not marketing's.
    let purchases = format!("/api/v1/contacts/{wang}/purchases");
    let (status, body) = sales.get_json(&purchases).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = marketing.get_json(&purchases).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A survey a sales user may read shows the score, never the comment.
    let own = created(
        &app_user_as(&app).await,
        "/api/v1/surveys",
        json!({"contact_id": wang, "kind": "csat", "score": 2, "comment": "Late again"}),
    )
    .await;
    let (status, body) = sales
        .get_json(&format!("/api/v1/surveys/{}", own["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["score"], 2);
    assert!(!body.to_string().contains("Late again"), "{body}");
    // …and writing a comment is refused by name.
    let (status, body) = sales
        .post_json(
            "/api/v1/surveys",
            &json!({"contact_id": wang, "kind": "nps", "score": 7, "comment": "Nice"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), Some("field_not_permitted"));
    assert_eq!(body["details"]["field"], "comment");
}

/// A user of the north team who reads everything (to record feedback sales may then see).
async fn app_user_as(app: &TestApp) -> OtherUser {
    app.sign_in_with_roles(
        "keyaccount@example.com",
        &["all_records"],
        Some("north"),
        Some("cn"),
    )
    .await
}

async fn support_works_the_complaints_assigned_to_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let wang = contact(&app, "Wang", "north", "cn").await;
    let support = app
        .sign_in_with_roles("support@example.com", &["support"], None, Some("cn"))
        .await;
    // Support cannot see a contact they have no case with, so cannot file one for it…
    let (status, _) = support.get_json(&format!("/api/v1/contacts/{wang}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // …until a complaint about the contact is assigned to them.
    let (status, complaint) = app
        .post_json(
            "/api/v1/complaints",
            &json!({"contact_id": wang, "subject": "Leaking valve",
                    "description": "The valve leaks at 40 bar", "category": "product_quality",
                    "severity": "high", "assignee_id": support.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{complaint}");
    let (status, body) = support.get_json(&format!("/api/v1/contacts/{wang}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = support
        .get_json(&format!(
            "/api/v1/complaints/{}",
            complaint["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["description"], "The valve leaks at 40 bar");
    // Support has no business with deals or orders.
    let (status, list) = support.get_json("/api/v1/orders").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(ids(&list).is_empty());
}

on_both_backends!(
    deals_activities_and_timelines_follow_team_and_territory,
    feedback_preferences_and_purchases_are_field_groups,
    support_works_the_complaints_assigned_to_them,
);
