use custodian_testkit::{Backend, error_code, on_both_backends, spawn_app, stage_id};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn pipelines_with_ordered_stages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app
        .post_json("/api/v1/deals", &json!({"title": "Before any pipeline"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_pipeline"))
    );
    let sales = app
        .create_pipeline(
            "Industrial sales",
            &[("Qualification", 10), ("Proposal", 50), ("Negotiation", 75)],
        )
        .await;
    app.create_pipeline("渠道销售", &[("初步接触", 20), ("签约", 90)])
        .await;
    let (_, all) = app.get_json("/api/v1/pipelines").await;
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Industrial sales", "渠道销售"]);

    // Reorder, rename, re-weight and add in one patch; the ids of kept stages survive.
    let id = sales["id"].as_str().unwrap();
    let path = format!("/api/v1/pipelines/{id}");
    let (status, patched) = app
        .patch_json(
            &path,
            &json!({"version": 1, "stages": [
                {"id": stage_id(&sales, 1), "name": "Proposal sent", "probability": 40},
                {"id": stage_id(&sales, 0), "name": "Qualification", "probability": 10},
                {"name": "Contract review", "probability": 85},
                {"id": stage_id(&sales, 2), "name": "Negotiation", "probability": 75},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let stages: Vec<(&str, i64, i64)> = patched["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["position"].as_i64().unwrap(),
                s["probability"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("Proposal sent", 0, 40),
            ("Qualification", 1, 10),
            ("Contract review", 2, 85),
            ("Negotiation", 3, 75)
        ]
    );
    assert_eq!(patched["stages"][0]["id"], sales["stages"][1]["id"]);
    assert_eq!(patched["version"], 2);

    // A stage that holds a deal cannot be removed; an empty one can.
    let deal = app
        .create_deal(json!({"title": "Valve retrofit", "stage_id": stage_id(&patched, 3)}))
        .await;
    assert_eq!(deal["pipeline_id"], sales["id"]);
    let keep_three: Vec<Value> = patched["stages"].as_array().unwrap()[1..]
        .iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "probability": s["probability"]}))
        .collect();
    let without_last: Vec<Value> = patched["stages"].as_array().unwrap()[..3]
        .iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "probability": s["probability"]}))
        .collect();
    let (status, body) = app
        .patch_json(&path, &json!({"version": 2, "stages": without_last}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stage_in_use"))
    );
    let (status, body) = app
        .patch_json(&path, &json!({"version": 2, "stages": keep_three}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stages"].as_array().unwrap().len(), 3);
    let (status, body) = app
        .patch_json(&path, &json!({"version": 2, "name": "Late"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
}

async fn pipeline_bad_input(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, code) in [
        (
            json!({"name": "Empty", "stages": []}),
            "invalid_stage_count",
        ),
        (
            json!({"name": "P", "stages": [{"name": "A", "probability": 101}]}),
            "invalid_probability",
        ),
        (
            json!({"name": "P", "stages": [{"name": "Won", "probability": 5}, {"name": "won", "probability": 9}]}),
            "duplicate_stage",
        ),
        (
            json!({"name": "", "stages": [{"name": "A", "probability": 5}]}),
            "required",
        ),
        (
            json!({"name": "P", "stages": [{"id": "0190d5e4-0000-7000-8000-000000000000", "name": "A", "probability": 5}]}),
            "unknown_stage",
        ),
    ] {
        let (status, reply) = app.post_json("/api/v1/pipelines", &body).await;
        assert_eq!(
            (status, error_code(&reply)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body} → {reply}"
        );
    }
    let (_, list) = app.get_json("/api/v1/pipelines").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing half-written"
    );

    // Pipelines are configuration: only administrators change them.
    let admin = app.core.cli_actor().await.unwrap();
    let sales = custodian_core::Actor {
        principal: std::sync::Arc::new(custodian_core::authz::Principal {
            roles: vec!["sales".to_owned()],
            ..(*admin.principal).clone()
        }),
        ..admin.clone()
    };
    let input = || custodian_core::deals::PipelineInput {
        name: "P".to_owned(),
        stages: vec![custodian_core::deals::StageInput {
            id: None,
            name: "A".to_owned(),
            probability: 5,
        }],
    };
    assert!(matches!(
        app.core.create_pipeline(&sales, input()).await,
        Err(custodian_core::CoreError::Forbidden)
    ));
    let created = app.core.create_pipeline(&admin, input()).await.unwrap();
    let rename = custodian_core::deals::PipelinePatch {
        version: 1,
        name: Some("Renamed".to_owned()),
        stages: None,
    };
    assert!(matches!(
        app.core
            .update_pipeline(&sales, created.id, rename.clone())
            .await,
        Err(custodian_core::CoreError::Forbidden)
    ));
    assert_eq!(
        app.core
            .update_pipeline(&admin, created.id, rename)
            .await
            .unwrap()
            .name,
        "Renamed"
    );
    let (status, reply) = app
        .post_json(
            "/api/v1/pipelines",
            &json!({"name": "P", "stages": [{"name": "A", "probability": 5}], "color": "red"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
}

async fn deal_stage_history_is_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app
        .create_pipeline(
            "Sales",
            &[("Lead", 10), ("Proposal", 50), ("Negotiation", 80)],
        )
        .await;
    let other = app.create_pipeline("Renewals", &[("Due", 60)]).await;
    let deal = app
        .create_deal(
            json!({"title": "Compressor overhaul", "amount": "125000.50", "currency": "cny",
               "expected_close_on": "2026-12-31"}),
        )
        .await;
    assert_eq!(
        deal["stage_id"].as_str().unwrap(),
        stage_id(&p, 0),
        "first stage of the first pipeline"
    );
    assert_eq!(
        (deal["amount"].as_str(), deal["currency"].as_str()),
        (Some("125000.50"), Some("CNY"))
    );
    let id = deal["id"].as_str().unwrap().to_owned();
    let me = app.get_json("/api/v1/auth/me").await.1["user"]["id"].clone();

    let step = |v: i64, stage: String| json!({"version": v, "stage_id": stage});
    app.clock.advance(time::Duration::minutes(5));
    let (status, moved) = app
        .post_json(
            &format!("/api/v1/deals/{id}/move"),
            &step(1, stage_id(&p, 1)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["version"], 2);
    // A stale client (still at version 1) is refused and changes nothing.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/deals/{id}/move"),
            &step(1, stage_id(&p, 2)),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    app.clock.advance(time::Duration::minutes(5));
    let (status, moved) = app
        .post_json(
            &format!("/api/v1/deals/{id}/move"),
            &step(2, stage_id(&other, 0)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        moved["pipeline_id"], other["id"],
        "moved to the other pipeline"
    );
    // Moving to the stage it is in is a no-op, not a history entry.
    let (_, same) = app
        .post_json(
            &format!("/api/v1/deals/{id}/move"),
            &step(3, stage_id(&other, 0)),
        )
        .await;
    assert_eq!(same["version"], 3);
    app.clock.advance(time::Duration::minutes(5));
    let (status, won) = app
        .post_json(
            &format!("/api/v1/deals/{id}/close"),
            &json!({"version": 3, "outcome": "won", "reason": "Best lead time"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{won}");
    assert_eq!(
        (won["status"].as_str(), won["outcome_reason"].as_str()),
        (Some("won"), Some("Best lead time"))
    );
    assert!(won["closed_at"].is_string());
    let (status, body) = app
        .post_json(
            &format!("/api/v1/deals/{id}/move"),
            &step(4, stage_id(&p, 0)),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("deal_closed"))
    );
    // No clock advance: the reopen lands in the same millisecond as the close, and the
    // history must still order them.
    let (status, reopened) = app
        .post_json(
            &format!("/api/v1/deals/{id}/reopen"),
            &json!({"version": 4, "stage_id": stage_id(&p, 2)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!(reopened["status"], "open");
    assert!(reopened["closed_at"].is_null() && reopened.get("outcome_reason").is_none());

    let (_, history) = app.get_json(&format!("/api/v1/deals/{id}/history")).await;
    let steps: Vec<(Option<String>, String, Option<String>, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert_eq!(h["changed_by"], me);
            (
                h["from_stage_id"].as_str().map(str::to_owned),
                h["to_stage_id"].as_str().unwrap().to_owned(),
                h["from_status"].as_str().map(str::to_owned),
                h["to_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let s = |i: usize| stage_id(&p, i);
    let o = stage_id(&other, 0);
    let open = || "open".to_owned();
    assert_eq!(
        steps,
        [
            (Some(o.clone()), s(2), Some("won".to_owned()), open()),
            (Some(o.clone()), o.clone(), Some(open()), "won".to_owned()),
            (Some(s(1)), o.clone(), Some(open()), open()),
            (Some(s(0)), s(1), Some(open()), open()),
            (None, s(0), None, open()),
        ],
        "newest first, every change exactly once"
    );
    let times: Vec<time::OffsetDateTime> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let text = h["changed_at"].as_str().unwrap();
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    let (_, page) = app
        .get_json(&format!("/api/v1/deals/{id}/history?limit=2"))
        .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get_json(&format!(
            "/api/v1/deals/{id}/history?limit=10&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
}

async fn deal_fields_lists_and_board(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app
        .create_pipeline("Sales", &[("Lead", 10), ("Proposal", 50)])
        .await;
    let company = app.create_company(json!({"name": "Bohai Chemicals"})).await;
    let mut ids = Vec::new();
    for (title, amount, currency, stage) in [
        ("Pump station A", Some("1000.10"), Some("CNY"), 0),
        ("Pump station B", Some("2000.20"), Some("CNY"), 0),
        ("Export valves", Some("500"), Some("USD"), 0),
        ("Site survey", None, None, 0),
        ("Boiler refit", Some("0.05"), Some("CNY"), 1),
    ] {
        let deal = app
            .create_deal(
                json!({"title": title, "amount": amount, "currency": currency,
                   "stage_id": stage_id(&p, stage), "company_id": company["id"]}),
            )
            .await;
        ids.push(deal["id"].as_str().unwrap().to_owned());
    }
    let (status, board) = app
        .get_json(&format!(
            "/api/v1/pipelines/{}/board?per_stage=2",
            p["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    let lead = &board["columns"][0];
    assert_eq!(lead["open_deals"], 4);
    assert_eq!(
        lead["totals"],
        json!([{"currency": "CNY", "amount": "3000.30"}, {"currency": "USD", "amount": "500.00"}]),
        "exact decimal totals per currency"
    );
    assert_eq!(lead["deals"].as_array().unwrap().len(), 2);
    assert!(lead["next_cursor"].is_string());
    assert_eq!(
        board["columns"][1]["totals"],
        json!([{"currency": "CNY", "amount": "0.05"}])
    );

    // Closed and deleted deals leave the board's totals.
    let (status, _) = app
        .post_json(
            &format!("/api/v1/deals/{}/close", ids[0]),
            &json!({"version": 1, "outcome": "lost", "reason": "Budget frozen"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&format!("/api/v1/deals/{}", ids[2])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, board) = app
        .get_json(&format!(
            "/api/v1/pipelines/{}/board",
            p["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(board["columns"][0]["open_deals"], 2);
    assert_eq!(
        board["columns"][0]["totals"],
        json!([{"currency": "CNY", "amount": "2000.20"}])
    );

    let (_, lost) = app.get_json("/api/v1/deals?status=lost").await;
    assert_eq!(lost["items"].as_array().unwrap().len(), 1);
    assert!(
        lost["items"][0].get("outcome_reason").is_none(),
        "lists omit the personal reason"
    );
    let (_, by_title) = app.get_json("/api/v1/deals?q=pump&sort=title").await;
    let titles: Vec<&str> = by_title["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Pump station A", "Pump station B"]);
    let (_, for_company) = app
        .get_json(&format!(
            "/api/v1/deals?company_id={}",
            company["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        for_company["items"].as_array().unwrap().len(),
        4,
        "deleted excluded"
    );
    let (_, deleted) = app.get_json("/api/v1/deals?deleted=only").await;
    assert_eq!(deleted["items"][0]["title"], "Export valves");
    let (status, restored) = app
        .post_json(&format!("/api/v1/deals/{}/restore", ids[2]), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");

    // Patch: clearing the amount needs clearing the currency too.
    let path = format!("/api/v1/deals/{}", ids[1]);
    let (status, body) = app
        .patch_json(&path, &json!({"version": 1, "amount": null}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("amount_required"))
    );
    let (status, body) = app
        .patch_json(
            &path,
            &json!({"version": 1, "amount": null, "currency": null, "title": "Pump station B2", "expected_close_on": "2027-01-15"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["amount"].is_null() && body["currency"].is_null());
    assert_eq!(body["expected_close_on"], "2027-01-15");
    let (_, closing) = app
        .get_json("/api/v1/deals?close_from=2027-01-01&close_to=2027-01-31")
        .await;
    assert_eq!(closing["items"][0]["title"], "Pump station B2");
}

async fn deal_bad_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.create_pipeline("Sales", &[("Lead", 10)]).await;
    let other = app.create_pipeline("Other", &[("Only", 10)]).await;
    for (body, code) in [
        (
            json!({"title": "T", "amount": "-5", "currency": "CNY"}),
            "invalid_amount",
        ),
        (
            json!({"title": "T", "amount": "1.005", "currency": "CNY"}),
            "invalid_amount",
        ),
        (
            json!({"title": "T", "amount": "1e9", "currency": "CNY"}),
            "invalid_amount",
        ),
        (
            json!({"title": "T", "amount": "10", "currency": "RMB"}),
            "invalid_currency",
        ),
        (json!({"title": "T", "amount": "10"}), "currency_required"),
        (
            json!({"title": "T", "expected_close_on": "2026-02-30"}),
            "invalid_date",
        ),
        (json!({"title": ""}), "required"),
        (
            json!({"title": "T", "stage_id": "0190d5e4-0000-7000-8000-000000000000"}),
            "unknown_stage",
        ),
        (
            json!({"title": "T", "pipeline_id": p["id"], "stage_id": stage_id(&other, 0)}),
            "unknown_stage",
        ),
        (
            json!({"title": "T", "company_id": "0190d5e4-0000-7000-8000-000000000000"}),
            "unknown_company",
        ),
        (
            json!({"title": "T", "contact_id": "0190d5e4-0000-7000-8000-000000000000"}),
            "unknown_contact",
        ),
    ] {
        let (status, reply) = app.post_json("/api/v1/deals", &body).await;
        assert_eq!(
            (status, error_code(&reply)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body} → {reply}"
        );
    }
    let (status, reply) = app
        .post_json(
            "/api/v1/deals",
            &json!({"title": "T", "amount": 10.5, "currency": "CNY"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a JSON number is refused: {reply}"
    );
    let (_, list) = app.get_json("/api/v1/deals").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing half-written"
    );

    let deal = app.create_deal(json!({"title": "T"})).await;
    let id = deal["id"].as_str().unwrap();
    let (status, reply) = app
        .post_json(
            &format!("/api/v1/deals/{id}/close"),
            &json!({"version": 1, "outcome": "open"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_outcome"))
    );
    let (status, reply) = app
        .post_json(
            &format!("/api/v1/deals/{id}/reopen"),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::CONFLICT, Some("deal_open"))
    );
    let (status, reply) = app
        .post_json(
            &format!("/api/v1/deals/{id}/move"),
            &json!({"version": 1, "stage_id": "0190d5e4-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_stage"))
    );
    let (status, _) = app
        .get_json("/api/v1/deals/0190d5e4-0000-7000-8000-000000000000/history")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, reply) = app
        .get_json(&format!(
            "/api/v1/pipelines/{}/board?per_stage=0",
            p["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("out_of_range"))
    );
    let (status, reply) = app.get_json("/api/v1/deals?status=pending").await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_status"))
    );
}

on_both_backends!(
    pipelines_with_ordered_stages,
    pipeline_bad_input,
    deal_stage_history_is_exact,
    deal_fields_lists_and_board,
    deal_bad_input,
);
