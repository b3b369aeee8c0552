//! Communication preferences, the do-not-contact suppression, survey responses and their NPS /
//! CSAT aggregates.

use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const REASON: &str = "王小明 asked us to stop calling after his bereavement";
const COMMENT: &str = "The engineer Mr Liu was rude on site";

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

async fn put_prefs(app: &TestApp, contact: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/contacts/{contact}/preferences"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    custodian_testkit::split(response).await
}

async fn preferences_crud_stale_and_bad_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "王小明"})).await;
    let id = contact["id"].as_str().unwrap();
    let path = format!("/api/v1/contacts/{id}/preferences");

    let (status, empty) = app.get_json(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (empty["version"].as_i64(), empty["do_not_contact"].as_bool()),
        (Some(0), Some(false))
    );

    let (status, saved) = put_prefs(
        &app,
        id,
        json!({"version": 0, "channel": "wechat", "language": "zh-CN", "frequency": "monthly",
               "opt_outs": ["sms", "email"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["opt_outs"], json!(["email", "sms"]));
    assert_eq!(saved["language"], "zh-CN");

    // A second writer holding version 0 loses.
    let (status, stale) = put_prefs(&app, id, json!({"version": 0, "channel": "email"})).await;
    assert_eq!(
        (status, error_code(&stale)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );

    // Every bad field has its own code, and nothing is written.
    let (status, bad) = put_prefs(
        &app,
        id,
        json!({"version": 1, "channel": "fax", "language": "tlh", "frequency": "daily",
               "opt_outs": ["pigeon"], "do_not_contact_reason": "no"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let got = codes(&bad);
    for code in [
        "invalid_channel",
        "invalid_language",
        "invalid_frequency",
        "not_applicable",
    ] {
        assert!(got.iter().any(|c| c == code), "{code}: {got:?}");
    }
    assert!(!bad.to_string().contains("fax"), "no echo of the input");
    let (_, unchanged) = app.get_json(&path).await;
    assert_eq!(
        (unchanged["version"].as_i64(), unchanged["channel"].as_str()),
        (Some(1), Some("wechat"))
    );

    // Do not contact: stamped now, the reason comes back decrypted, kept while it stays on.
    let (status, dnc) = put_prefs(
        &app,
        id,
        json!({"version": 1, "channel": "wechat", "do_not_contact": true,
               "do_not_contact_reason": REASON}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dnc}");
    assert_eq!(dnc["do_not_contact_reason"], REASON);
    let since = dnc["do_not_contact_since"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::minutes(10));
    let (_, again) = put_prefs(
        &app,
        id,
        json!({"version": 2, "do_not_contact": true, "do_not_contact_reason": REASON}),
    )
    .await;
    assert_eq!(again["do_not_contact_since"], since.as_str());
    assert_eq!(again["channel"], Value::Null, "PUT replaces the record");
    let (_, off) = put_prefs(&app, id, json!({"version": 3})).await;
    assert_eq!(
        (
            off["do_not_contact"].as_bool(),
            &off["do_not_contact_since"],
            &off["do_not_contact_reason"]
        ),
        (Some(false), &Value::Null, &Value::Null)
    );

    // Unknown or deleted contacts are 404.
    let (status, _) = app
        .get_json(&format!(
            "/api/v1/contacts/{}/preferences",
            custodian_domain::ids::uuid_at(1)
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn names(page: &Value) -> Vec<String> {
    let mut n: Vec<String> = page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

async fn do_not_contact_filter_and_outbound_refusal(backend: Backend) {
    let app = spawn_app(backend).await;
    let quiet = app.create_contact(json!({"name": "Quiet Qian"})).await;
    let open = app.create_contact(json!({"name": "Open Ouyang"})).await;
    let _none = app.create_contact(json!({"name": "No Prefs Niu"})).await;
    let quiet_id = quiet["id"].as_str().unwrap();
    let (status, _) = put_prefs(
        &app,
        quiet_id,
        json!({"version": 0, "do_not_contact": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = put_prefs(
        &app,
        open["id"].as_str().unwrap(),
        json!({"version": 0, "channel": "email"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (_, only) = app.get_json("/api/v1/contacts?do_not_contact=true").await;
    assert_eq!(names(&only), vec!["Quiet Qian"]);
    let (_, rest) = app.get_json("/api/v1/contacts?do_not_contact=false").await;
    assert_eq!(names(&rest), vec!["No Prefs Niu", "Open Ouyang"]);
    let (_, all) = app.get_json("/api/v1/contacts").await;
    assert_eq!(names(&all).len(), 3);

    // Outbound calls and e-mails to a do-not-contact contact are refused, nothing is logged.
    for kind in ["call", "email"] {
        let (status, refused) = app
            .post_json(
                "/api/v1/activities",
                &json!({"kind": kind, "subject": "Offer", "direction": "outbound",
                        "contact_id": quiet_id}),
            )
            .await;
        assert_eq!(
            (status, error_code(&refused)),
            (StatusCode::CONFLICT, Some("do_not_contact")),
            "{kind}"
        );
    }
    let (_, timeline) = app
        .get_json(&format!("/api/v1/contacts/{quiet_id}/timeline"))
        .await;
    assert_eq!(timeline["items"].as_array().unwrap().len(), 0);
    // Inbound, meetings and notes are fine; so is an explicit override.
    for body in [
        json!({"kind": "call", "subject": "She called us", "direction": "inbound", "contact_id": quiet_id}),
        json!({"kind": "note", "body": "Asked to be left alone", "contact_id": quiet_id}),
        json!({"kind": "email", "subject": "Recall notice", "direction": "outbound",
               "contact_id": quiet_id, "override_do_not_contact": true}),
        json!({"kind": "call", "subject": "Offer", "direction": "outbound",
               "contact_id": open["id"]}),
    ] {
        let (status, body) = app.post_json("/api/v1/activities", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, timeline) = app
        .get_json(&format!("/api/v1/contacts/{quiet_id}/timeline"))
        .await;
    assert_eq!(timeline["items"].as_array().unwrap().len(), 3);
}

async fn record(app: &TestApp, contact: &Value, kind: &str, score: i64, at: &str) -> Value {
    let (status, body) = app
        .post_json(
            "/api/v1/surveys",
            &json!({"contact_id": contact["id"], "kind": kind, "score": score,
                    "responded_at": at, "channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn surveys_crud_codes_and_stale(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Li Na"})).await;
    let (status, survey) = app
        .post_json(
            "/api/v1/surveys",
            &json!({"contact_id": contact["id"], "kind": "nps", "score": 3,
                    "comment": COMMENT, "channel": "wechat"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{survey}");
    assert_eq!(
        (survey["comment"].as_str(), survey["version"].as_i64()),
        (Some(COMMENT), Some(1))
    );
    let path = format!("/api/v1/surveys/{}", survey["id"].as_str().unwrap());
    let (status, fixed) = app
        .patch_json(&path, &json!({"version": 1, "score": 9, "comment": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{fixed}");
    assert_eq!(
        (fixed["score"].as_i64(), &fixed["comment"]),
        (Some(9), &Value::Null)
    );
    let (status, stale) = app
        .patch_json(&path, &json!({"version": 1, "score": 2}))
        .await;
    assert_eq!(
        (status, error_code(&stale)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    let (status, bad) = app
        .patch_json(&path, &json!({"version": 2, "score": 11}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&bad), vec!["score_out_of_range"]);

    for (body, code) in [
        (
            json!({"contact_id": contact["id"], "kind": "csat", "score": 0}),
            "score_out_of_range",
        ),
        (
            json!({"contact_id": contact["id"], "kind": "csat", "score": 6}),
            "score_out_of_range",
        ),
        (
            json!({"contact_id": contact["id"], "kind": "nps", "score": -1}),
            "score_out_of_range",
        ),
        (
            json!({"contact_id": contact["id"], "kind": "ces", "score": 3}),
            "invalid_survey_kind",
        ),
        (
            json!({"contact_id": contact["id"], "kind": "nps", "score": 5, "channel": "fax"}),
            "invalid_channel",
        ),
        (
            json!({"contact_id": contact["id"], "kind": "nps", "score": 5, "responded_at": "yesterday"}),
            "invalid_datetime",
        ),
        (
            json!({"contact_id": custodian_domain::ids::uuid_at(1), "kind": "nps", "score": 5}),
            "unknown_contact",
        ),
        (
            json!({"contact_id": contact["id"], "kind": "nps", "score": 5, "order_id": custodian_domain::ids::uuid_at(1)}),
            "unknown_order",
        ),
    ] {
        let (status, body) = app.post_json("/api/v1/surveys", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {body}");
        assert_eq!(codes(&body), vec![code]);
    }
    let (_, page) = app
        .get_json(&format!(
            "/api/v1/surveys?contact_id={}",
            contact["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "nothing else was written"
    );

    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = app.get_json("/api/v1/surveys").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let (status, restored) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(
        (status, restored["version"].as_i64()),
        (StatusCode::OK, Some(4))
    );
}

async fn nps_and_csat_are_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Sino Petro"})).await;
    let a = app
        .create_contact(json!({"name": "A", "company_id": company["id"]}))
        .await;
    let b = app.create_contact(json!({"name": "B"})).await;
    let summary = |q: &'static str| {
        let app = &app;
        async move {
            let (status, s) = app.get_json(&format!("/api/v1/surveys/summary{q}")).await;
            assert_eq!(status, StatusCode::OK, "{s}");
            s
        }
    };
    // Empty set: counts 0, no scores.
    let empty = summary("").await;
    assert_eq!(
        (
            &empty["nps"]["score"],
            &empty["csat"]["average"],
            empty["nps"]["responses"].as_i64()
        ),
        (&Value::Null, &Value::Null, Some(0))
    );
    // Boundaries in March: 6 detractor, 7 and 8 passives, 9 and 10 promoters (A's company).
    for score in [6, 7, 8, 9, 10, 0] {
        record(&app, &a, "nps", score, "2026-03-10T08:00:00Z").await;
    }
    // B (no company) in April: two promoters and a detractor.
    for score in [9, 9, 6] {
        record(&app, &b, "nps", score, "2026-04-02").await;
    }
    for score in [3, 4, 5] {
        record(&app, &a, "csat", score, "2026-03-31T23:59:59Z").await;
    }
    record(&app, &b, "csat", 2, "2026-04-01T00:00:00Z").await;

    let all = summary("").await;
    // NPS: promoters 9,10,9,9 = 4; detractors 6,0,6 = 3; passives 2; 9 answers: 100/9 = 11.1.
    assert_eq!(
        all["nps"],
        json!({"responses": 9, "promoters": 4, "passives": 2, "detractors": 3, "score": "11.1"})
    );
    // CSAT 3,4,5,2: 2 of 4 satisfied = 50.0 %; average 14/4 = 3.50.
    assert_eq!(
        all["csat"],
        json!({"responses": 4, "satisfied": 2, "satisfied_percent": "50.0", "average": "3.50"})
    );
    // March only (dates are whole UTC days): NPS 2 promoters − 2 detractors of 6 = 0.0.
    let march = summary("?from=2026-03-01&to=2026-03-31").await;
    assert_eq!(march["nps"]["score"], "0.0");
    assert_eq!(march["csat"]["average"], "4.00");
    assert_eq!(march["csat"]["satisfied_percent"], "66.7");
    // April: 2 promoters, 1 detractor of 3 = 33.3; CSAT 2 → 0.0 % satisfied, 2.00.
    let april = summary("?from=2026-04-01&to=2026-04-30").await;
    assert_eq!(april["nps"]["score"], "33.3");
    assert_eq!(
        (
            april["csat"]["satisfied_percent"].as_str(),
            april["csat"]["average"].as_str()
        ),
        (Some("0.0"), Some("2.00"))
    );
    // Per company: A's answers only.
    let (_, by_company) = app
        .get_json(&format!(
            "/api/v1/surveys/summary?company_id={}",
            company["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_company["nps"]["responses"], 6);
    assert_eq!(by_company["nps"]["score"], "0.0");
    // A reversed range is refused with its code.
    let (status, bad) = app
        .get_json("/api/v1/surveys/summary?from=2026-05-01&to=2026-04-01")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&bad), vec!["range_reversed"]);
}

on_both_backends!(
    preferences_crud_stale_and_bad_input,
    do_not_contact_filter_and_outbound_refusal,
    surveys_crud_codes_and_stale,
    nps_and_csat_are_exact,
);
