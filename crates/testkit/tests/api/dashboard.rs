//! The dashboard's aggregates over a known data set: open value by stage per currency (and
//! weighted, rounded half to even), won/lost per UTC month at the exact month boundaries,
//! activities per owner and kind, overdue tasks; closed and deleted records excluded where
//! they should be; bad filters.

use custodian_core::deals::CloseDeal;
use custodian_domain::DealId;
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, error_code, on_both_backends, spawn_app,
    stage_id,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// Moves the manual clock to an exact moment (backwards too).
pub(crate) fn set_clock(app: &TestApp, at: OffsetDateTime) {
    let now = custodian_domain::Clock::now(app.clock.as_ref());
    app.clock.advance(at - now);
}

async fn sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = custodian_testkit::client(&app.cert_pem, true);
    let login = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    client
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, Value) {
    let res = client.get(app.url(path)).send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Closes a deal at the clock's current moment through the core (no HTTP round trip, so the
/// test's session is not touched while the clock jumps around).
async fn close_at(app: &TestApp, deal: &Value, outcome: &str, at: OffsetDateTime) {
    set_clock(app, at);
    let actor = app.core.cli_actor().await.unwrap();
    let deal_id = DealId(deal["id"].as_str().unwrap().parse().unwrap());
    app.core
        .close_deal(
            &actor,
            deal_id,
            CloseDeal {
                version: deal["version"].as_i64().unwrap(),
                outcome: outcome.to_owned(),
                reason: None,
            },
        )
        .await
        .unwrap();
}

async fn deal(app: &TestApp, stage: &str, amount: Option<(&str, &str)>) -> Value {
    let mut body = json!({"title": "Deal", "stage_id": stage});
    if let Some((amount, currency)) = amount {
        body["amount"] = json!(amount);
        body["currency"] = json!(currency);
    }
    app.create_deal(body).await
}

async fn activity(app: &TestApp, company: &str, kind: &str, owner: &str, at: &str) -> Value {
    let (status, body) = app
        .post_json(
            "/api/v1/activities",
            &json!({"kind": kind, "subject": "Follow-up", "body": "Talked about valves",
                    "owner_id": owner, "occurred_at": at, "company_id": company}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn task(app: &TestApp, title: &str, assignee: &str, due: Option<&str>) -> Value {
    let mut body = json!({"title": title, "assignee_id": assignee});
    if let Some(due) = due {
        body["due_at"] = json!(due);
    }
    let (status, body) = app.post_json("/api/v1/tasks", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn amounts(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["currency"].as_str().unwrap().to_owned(),
                m["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

async fn dashboard_aggregates_are_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, me) = app.get_json("/api/v1/auth/me").await;
    let admin = id(&me["user"]);
    let other = app.sign_in_new_user("rep@example.com").await;
    // Everything is created before the moments it is closed at (a close is never recorded
    // before the deal's last change).
    set_clock(&app, datetime!(2025-12-01 00:00:00 UTC));

    // (a) Open value: three currencies in one stage, a deal without an amount, a deleted deal,
    // closed deals, and a second pipeline that must not count.
    let sales = app
        .create_pipeline(
            "Sales",
            &[("Qualify", 10), ("Proposal", 50), ("Negotiate", 75)],
        )
        .await;
    let other_pipeline = app.create_pipeline("Service", &[("Open", 20)]).await;
    let (qualify, proposal, negotiate) = (
        stage_id(&sales, 0),
        stage_id(&sales, 1),
        stage_id(&sales, 2),
    );
    deal(&app, &qualify, Some(("1000.00", "CNY"))).await;
    deal(&app, &qualify, Some(("0.05", "CNY"))).await;
    deal(&app, &qualify, Some(("10.01", "USD"))).await;
    deal(&app, &qualify, None).await;
    deal(&app, &proposal, Some(("333", "JPY"))).await;
    let deleted = deal(&app, &proposal, Some(("1.00", "CNY"))).await;
    assert_eq!(
        app.delete(&format!("/api/v1/deals/{}", id(&deleted)))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    deal(&app, &negotiate, Some(("1.001", "KWD"))).await;
    deal(&app, &stage_id(&other_pipeline, 0), Some(("999", "CNY"))).await;

    // (b) Closed deals around the month boundaries (UTC).
    let w_dec = deal(&app, &qualify, Some(("1.00", "CNY"))).await;
    let w_jan = deal(&app, &qualify, Some(("500.00", "CNY"))).await;
    let w_feb = deal(&app, &proposal, Some(("250.00", "CNY"))).await;
    let l_feb = deal(&app, &proposal, Some(("20.00", "USD"))).await;
    let w_mar = deal(&app, &proposal, None).await;
    let w_deleted = deal(&app, &proposal, Some(("7.00", "CNY"))).await;
    let w_other = deal(&app, &stage_id(&other_pipeline, 0), Some(("3.00", "CNY"))).await;

    // (c) Activities around the period 2026-03-01..2026-03-15.
    let acme = id(&app.create_company(json!({"name": "Acme Valves"})).await);
    activity(&app, &acme, "call", &admin, "2026-03-01T00:00:00Z").await;
    activity(&app, &acme, "call", &admin, "2026-03-15T23:59:59Z").await;
    activity(&app, &acme, "meeting", &admin, "2026-03-16T00:00:00Z").await;
    activity(&app, &acme, "note", &admin, "2026-02-28T23:59:59Z").await;
    activity(&app, &acme, "email", &other.id, "2026-03-02T10:00:00Z").await;
    activity(&app, &acme, "email", &other.id, "2026-03-03T10:00:00Z").await;
    activity(&app, &acme, "meeting", &other.id, "2026-03-04T10:00:00Z").await;
    let gone = activity(&app, &acme, "email", &other.id, "2026-03-05T10:00:00Z").await;
    assert_eq!(
        app.delete(&format!("/api/v1/activities/{}", id(&gone)))
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    // (d) Tasks; "now" will be 2026-03-15T12:00:00Z.
    task(&app, "Call back Mr Wang", &admin, Some("2026-03-01")).await;
    task(&app, "Later", &admin, Some("2026-03-20")).await;
    let done = task(&app, "Done already", &admin, Some("2026-03-10T09:00:00Z")).await;
    let (status, _) = app
        .post_json(
            &format!("/api/v1/tasks/{}/complete", id(&done)),
            &json!({"version": done["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    task(
        &app,
        "Someone else's secret",
        &other.id,
        Some("2026-02-01T00:00:00Z"),
    )
    .await;
    task(&app, "Just late", &other.id, Some("2026-03-15T11:59:59Z")).await;
    task(
        &app,
        "Due right now",
        &other.id,
        Some("2026-03-15T12:00:00Z"),
    )
    .await;
    task(&app, "No due date", &admin, None).await;
    let removed = task(&app, "Deleted", &admin, Some("2026-01-01")).await;
    assert_eq!(
        app.delete(&format!("/api/v1/tasks/{}", id(&removed)))
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    close_at(&app, &w_dec, "won", datetime!(2025-12-31 23:59:59.999 UTC)).await;
    close_at(&app, &w_jan, "won", datetime!(2026-01-31 23:59:59.999 UTC)).await;
    close_at(&app, &w_feb, "won", datetime!(2026-02-01 00:00:00 UTC)).await;
    close_at(&app, &l_feb, "lost", datetime!(2026-02-01 00:00:00 UTC)).await;
    close_at(&app, &w_mar, "won", datetime!(2026-03-10 08:00:00 UTC)).await;
    close_at(&app, &w_deleted, "won", datetime!(2026-02-10 08:00:00 UTC)).await;
    close_at(&app, &w_other, "won", datetime!(2026-02-10 08:00:00 UTC)).await;
    set_clock(&app, datetime!(2026-02-11 00:00:00 UTC));
    let actor = app.core.cli_actor().await.unwrap();
    app.core
        .delete_deal(&actor, DealId(id(&w_deleted).parse().unwrap()))
        .await
        .unwrap();
    set_clock(&app, datetime!(2026-03-15 12:00:00 UTC));
    // The sessions went idle while the clock jumped: sign in again.
    let admin_client = sign_in(&app, ADMIN_EMAIL).await;
    let other_client = sign_in(&app, "rep@example.com").await;

    let url = format!(
        "/api/v1/dashboard?pipeline_id={}&months=3&from=2026-03-01&to=2026-03-15",
        id(&sales)
    );
    let (status, d) = get(&app, &admin_client, &url).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["pipeline"]["name"], "Sales");
    assert_eq!(d["generated_at"], "2026-03-15T12:00:00Z");

    // (a) Stages in pipeline order; CNY 1000.05 × 10 % = 100.005 → 100.00 (half to even);
    // USD 10.01 × 10 % = 1.001 → 1.00; JPY 333 × 50 % = 166.5 → 166; KWD 1.001 × 75 % =
    // 0.75075 → 0.751.
    let stages = d["pipeline_value"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Qualify", "Proposal", "Negotiate"]);
    let stage_values = |i: usize| -> Vec<(String, String, String)> {
        stages[i]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["currency"].as_str().unwrap().to_owned(),
                    v["amount"].as_str().unwrap().to_owned(),
                    v["weighted"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let triple = |c: &str, a: &str, w: &str| (c.to_owned(), a.to_owned(), w.to_owned());
    assert_eq!(stages[0]["open_deals"], 4);
    assert_eq!(
        stage_values(0),
        [
            triple("CNY", "1000.05", "100.00"),
            triple("USD", "10.01", "1.00")
        ]
    );
    assert_eq!(
        stages[1]["open_deals"], 1,
        "deleted and closed deals are not open"
    );
    assert_eq!(stage_values(1), [triple("JPY", "333", "166")]);
    assert_eq!(stages[2]["open_deals"], 1);
    assert_eq!(stage_values(2), [triple("KWD", "1.001", "0.751")]);
    let h = &d["headline"];
    assert_eq!(h["open_deals"], 6);
    assert_eq!(
        amounts(&h["open_value"]),
        pairs(&[
            ("CNY", "1000.05"),
            ("JPY", "333"),
            ("KWD", "1.001"),
            ("USD", "10.01")
        ])
    );
    assert_eq!(
        amounts(&h["weighted_value"]),
        pairs(&[
            ("CNY", "100.00"),
            ("JPY", "166"),
            ("KWD", "0.751"),
            ("USD", "1.00")
        ])
    );

    // (b) Three months, oldest first; 2025-12-31T23:59:59.999 is outside, the last
    // millisecond of January is January, midnight of 1 February is February.
    let months = d["won_lost"]["items"].as_array().unwrap();
    let summary: Vec<(&str, i64, i64)> = months
        .iter()
        .map(|m| {
            (
                m["month"].as_str().unwrap(),
                m["won_deals"].as_i64().unwrap(),
                m["lost_deals"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("2026-01", 1, 0), ("2026-02", 1, 1), ("2026-03", 1, 0)]
    );
    assert_eq!(amounts(&months[0]["won"]), pairs(&[("CNY", "500.00")]));
    assert_eq!(amounts(&months[1]["won"]), pairs(&[("CNY", "250.00")]));
    assert_eq!(amounts(&months[1]["lost"]), pairs(&[("USD", "20.00")]));
    assert_eq!(amounts(&months[2]["won"]), pairs(&[]));
    assert_eq!(
        (h["won_deals"].as_i64(), h["lost_deals"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(amounts(&h["won_value"]), pairs(&[("CNY", "750.00")]));
    assert_eq!(h["win_rate_percent"], 75);

    // (c) Inclusive days in UTC; the deleted e-mail does not count; most active first.
    let owners = d["activities"]["owners"].as_array().unwrap();
    let by_owner: Vec<(&str, i64, i64, i64, i64, i64)> = owners
        .iter()
        .map(|o| {
            (
                o["owner_id"].as_str().unwrap(),
                o["calls"].as_i64().unwrap(),
                o["meetings"].as_i64().unwrap(),
                o["emails"].as_i64().unwrap(),
                o["notes"].as_i64().unwrap(),
                o["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_owner,
        [
            (other.id.as_str(), 0, 1, 2, 0, 3),
            (admin.as_str(), 2, 0, 0, 0, 2)
        ]
    );
    assert_eq!(
        (
            d["activities"]["from"].as_str(),
            d["activities"]["to"].as_str()
        ),
        (Some("2026-03-01"), Some("2026-03-15"))
    );
    assert_eq!(h["activities"], 5);

    // (d) Strictly before now, open or in progress, live; titles only for the viewer's own.
    let o = &d["overdue_tasks"];
    assert_eq!(o["total"], 3);
    assert_eq!(
        (h["overdue_tasks"].as_i64(), h["my_overdue_tasks"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        o["by_assignee"],
        json!([{"assignee_id": other.id, "tasks": 2}, {"assignee_id": admin, "tasks": 1}])
    );
    let oldest: Vec<(Value, Value, Value)> = o["oldest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].clone(),
                t["due_at"].clone(),
                t["days_overdue"].clone(),
            )
        })
        .collect();
    assert_eq!(
        oldest,
        [
            (Value::Null, json!("2026-02-01T00:00:00Z"), json!(42)),
            (
                json!("Call back Mr Wang"),
                json!("2026-03-01T23:59:59.999Z"),
                json!(13)
            ),
            (Value::Null, json!("2026-03-15T11:59:59Z"), json!(0)),
        ]
    );
    assert!(
        !d.to_string().contains("secret"),
        "another user's task title leaked"
    );

    // The other user sees their own titles and not the administrator's.
    let (_, theirs) = get(&app, &other_client, &url).await;
    let titles: Vec<&Value> = theirs["overdue_tasks"]["oldest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["title"])
        .collect();
    assert_eq!(
        titles,
        [
            &json!("Someone else's secret"),
            &Value::Null,
            &json!("Just late")
        ]
    );
    assert_eq!(theirs["headline"]["my_overdue_tasks"], 2);

    // Four months reach back to December; a currency filter keeps counts, drops other amounts.
    let (_, four) = get(
        &app,
        &admin_client,
        &format!(
            "/api/v1/dashboard?pipeline_id={}&months=4&currency=cny",
            id(&sales)
        ),
    )
    .await;
    let first = &four["won_lost"]["items"][0];
    assert_eq!(
        (first["month"].as_str(), first["won_deals"].as_i64()),
        (Some("2025-12"), Some(1))
    );
    assert_eq!(amounts(&first["won"]), pairs(&[("CNY", "1.00")]));
    assert_eq!(four["currency"], "CNY");
    assert_eq!(amounts(&four["won_lost"]["items"][2]["lost"]), pairs(&[]));
    assert_eq!(four["won_lost"]["items"][2]["lost_deals"], 1);
    assert_eq!(
        amounts(&four["headline"]["open_value"]),
        pairs(&[("CNY", "1000.05")])
    );
    assert_eq!(four["headline"]["open_deals"], 6);
    assert_eq!(four["currencies"], json!(["CNY", "USD", "JPY", "KWD"]));
    // Default period: the last 30 days, today included.
    assert_eq!(
        (
            four["activities"]["from"].as_str(),
            four["activities"]["to"].as_str()
        ),
        (Some("2026-02-14"), Some("2026-03-15"))
    );

    // Without a pipeline id: the first pipeline.
    let (_, default) = get(&app, &admin_client, "/api/v1/dashboard").await;
    assert_eq!(default["pipeline"]["id"], sales["id"]);
    assert_eq!(default["won_lost"]["months"], 6);
}

async fn dashboard_without_data_and_bad_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, empty) = app.get_json("/api/v1/dashboard").await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty["pipeline"], Value::Null);
    assert_eq!(empty["pipeline_value"], json!([]));
    assert_eq!(empty["won_lost"]["items"].as_array().unwrap().len(), 6);
    assert_eq!(empty["headline"]["win_rate_percent"], Value::Null);
    assert_eq!(empty["overdue_tasks"]["total"], 0);

    for (query, field, code) in [
        ("months=0", "months", "out_of_range"),
        ("months=25", "months", "out_of_range"),
        ("months=six", "months", "out_of_range"),
        ("from=2026-02-30", "from", "invalid_date"),
        ("to=yesterday", "to", "invalid_date"),
        ("from=2026-03-02&to=2026-03-01", "to", "invalid_range"),
        ("from=2025-01-01&to=2026-03-01", "from", "out_of_range"),
        ("pipeline_id=sales", "pipeline_id", "invalid_id"),
        (
            "pipeline_id=0190f0e6-0000-7000-8000-000000000000",
            "pipeline_id",
            "unknown_pipeline",
        ),
        ("currency=XBT", "currency", "invalid_currency"),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/dashboard?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["code"], "validation_failed", "{query}: {body}");
        let details = body["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{query}: {body}"
        );
    }
    // Positive control next to the refusals: the same shapes with valid values pass.
    let (status, _) = app
        .get_json("/api/v1/dashboard?months=24&from=2025-03-02&to=2026-03-02&currency=usd")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get_json("/api/v1/dashboard?month=3").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let anon = app
        .anon
        .get(app.url("/api/v1/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    dashboard_aggregates_are_exact,
    dashboard_without_data_and_bad_filters
);
