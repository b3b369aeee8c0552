//! The deal and pipeline pages over real HTTP: the board, moves with and without htmx, stale
//! moves, the forms, and both languages.

use custodian_testkit::{Backend, TestApp, on_both_backends, spawn_app, stage_id};
use reqwest::{StatusCode, header};
use serde_json::json;

async fn page(app: &TestApp, path: &str, lang: &str) -> (StatusCode, String) {
    let res = app
        .client
        .get(app.url(path))
        .header(header::ACCEPT_LANGUAGE, lang)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

async fn post_form(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    htmx: bool,
) -> reqwest::Response {
    let mut rb = app.client.post(app.url(path)).form(form);
    if htmx {
        rb = rb.header("HX-Request", "true");
    }
    rb.send().await.unwrap()
}

/// The part of the board HTML that belongs to one stage column.
fn column<'a>(html: &'a str, stage: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"stage-{stage}\""))
        .unwrap_or_else(|| panic!("column {stage} in {html}"));
    let rest = &html[start..];
    let end = rest.find("</section>").unwrap();
    &rest[..end]
}

async fn board_shows_stages_totals_and_moves_deals_with_htmx(backend: Backend) {
    let app = spawn_app(backend).await;
    let sales = app
        .create_pipeline(
            "Industrial sales",
            &[("Qualification", 10), ("Proposal", 50)],
        )
        .await;
    let (first, second) = (stage_id(&sales, 0), stage_id(&sales, 1));
    let valve = app
        .create_deal(
            json!({"title": "Valve retrofit", "stage_id": first, "amount": "125000.50",
               "currency": "CNY", "expected_close_on": "2026-12-31"}),
        )
        .await;
    app.create_deal(
        json!({"title": "Pump service", "stage_id": first, "amount": "20", "currency": "CNY"}),
    )
    .await;
    app.create_deal(
        json!({"title": "Export order", "stage_id": first, "amount": "1000", "currency": "USD"}),
    )
    .await;
    let valve_id = valve["id"].as_str().unwrap();

    // The board: one column per stage with probability, count and totals per currency.
    let (status, html) = page(&app, "/deals", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"nav-deals\""), "nav entry");
    let qualification = column(&html, &first);
    assert!(qualification.contains("Qualification") && qualification.contains("10%"));
    assert!(qualification.contains("3 open"), "{qualification}");
    assert!(qualification.contains("CNY 125,020.50"), "{qualification}");
    assert!(qualification.contains("USD 1,000.00"), "{qualification}");
    assert!(qualification.contains("Valve retrofit") && qualification.contains("2026-12-31"));
    assert!(
        qualification.contains("CNY 125,000.50"),
        "the card's amount"
    );
    assert!(qualification.contains(&format!("hx-post=\"/deals/{valve_id}/move\"")));
    let proposal = column(&html, &second);
    assert!(proposal.contains("Proposal") && proposal.contains("0 open"));
    assert!(!proposal.contains("Valve retrofit"));
    assert!(!html.contains("<script>") && !html.contains(" style="));

    // Move with htmx: only the board comes back, with the deal in its new column.
    // (The test clock stands still; history is ordered by time, so let a second pass.)
    app.clock.advance(time::Duration::seconds(1));
    let res = post_form(
        &app,
        &format!("/deals/{valve_id}/move"),
        &[
            ("_csrf", app.csrf.as_str()),
            ("version", "1"),
            ("stage_id", second.as_str()),
        ],
        true,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = res.text().await.unwrap();
    assert!(!fragment.contains("<html") && !fragment.contains("<body"));
    assert!(fragment.trim_start().starts_with("<div id=\"deal-board\""));
    assert!(column(&fragment, &second).contains("Valve retrofit"));
    assert!(column(&fragment, &second).contains("CNY 125,000.50"));
    assert!(!column(&fragment, &first).contains("Valve retrofit"));
    assert!(
        column(&fragment, &first).contains("CNY 20.00"),
        "totals follow"
    );
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{valve_id}")).await;
    assert_eq!(deal["stage_id"], second.as_str());
    assert_eq!(deal["version"], 2);
    let (_, history) = app
        .get_json(&format!("/api/v1/deals/{valve_id}/history"))
        .await;
    assert_eq!(history["items"][0]["from_stage_id"], first.as_str());
    assert_eq!(history["items"][0]["to_stage_id"], second.as_str());
    assert_eq!(history["items"].as_array().unwrap().len(), 2);

    // A stale version (the board the user had said version 1): nothing moves, and the
    // refreshed board says why.
    let res = post_form(
        &app,
        &format!("/deals/{valve_id}/move"),
        &[
            ("_csrf", app.csrf.as_str()),
            ("version", "1"),
            ("stage_id", first.as_str()),
        ],
        true,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let fragment = res.text().await.unwrap();
    assert!(!fragment.contains("<html"));
    assert!(fragment.contains("id=\"board-message\""), "{fragment}");
    assert!(fragment.contains("Someone changed this deal"));
    assert!(fragment.contains("The board has been refreshed"));
    assert!(column(&fragment, &second).contains("Valve retrofit"));
    assert!(
        column(&fragment, &second).contains("name=\"version\" value=\"2\""),
        "the refreshed card carries the current version"
    );
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{valve_id}")).await;
    assert_eq!(
        (deal["stage_id"].as_str(), deal["version"].as_i64()),
        (Some(second.as_str()), Some(2))
    );

    // Without JavaScript: a move redirects back to the board; a stale one renders the page.
    app.clock.advance(time::Duration::seconds(1));
    let res = post_form(
        &app,
        &format!("/deals/{valve_id}/move"),
        &[
            ("_csrf", app.csrf.as_str()),
            ("version", "2"),
            ("stage_id", first.as_str()),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[header::LOCATION],
        format!("/deals?pipeline={}", sales["id"].as_str().unwrap()).as_str()
    );
    let res = post_form(
        &app,
        &format!("/deals/{valve_id}/move"),
        &[
            ("_csrf", app.csrf.as_str()),
            ("version", "2"),
            ("stage_id", second.as_str()),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("<html") && html.contains("Someone changed this deal"));
    assert!(column(&html, &first).contains("Valve retrofit"));
    let (_, history) = app
        .get_json(&format!("/api/v1/deals/{valve_id}/history"))
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 3);

    // A move without the CSRF token is refused.
    let res = post_form(
        &app,
        &format!("/deals/{valve_id}/move"),
        &[("version", "3"), ("stage_id", second.as_str())],
        true,
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{valve_id}")).await;
    assert_eq!(deal["stage_id"], first.as_str());

    // From the detail page without JavaScript: a stale move re-renders the detail page.
    let res = post_form(
        &app,
        &format!("/deals/{valve_id}/move"),
        &[
            ("_csrf", app.csrf.as_str()),
            ("version", "1"),
            ("stage_id", second.as_str()),
            ("from", "detail"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"deal-message\"") && html.contains("after you opened it"));
    assert!(html.contains("id=\"deal-history\""));

    // The detail page shows the history, newest first, with who and the stage names.
    let (status, html) = page(&app, &format!("/deals/{valve_id}"), "en").await;
    assert_eq!(status, StatusCode::OK);
    let timeline = &html[html.find("id=\"deal-history\"").unwrap()..];
    let newest = timeline.find("Proposal → Qualification").unwrap();
    let older = timeline.find("Qualification → Proposal").unwrap();
    let created = timeline.find("Created in").unwrap();
    assert!(newest < older && older < created, "{timeline}");
    assert!(timeline.contains(custodian_testkit::ADMIN_EMAIL));
}

async fn no_pipeline_explains_and_links_administrators(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, html) = page(&app, "/deals", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"no-pipeline\"") && html.contains("no pipeline exists yet"));
    assert!(
        html.contains("href=\"/pipelines/new\""),
        "administrators get the link"
    );
    let res = app.client.get(app.url("/deals/new")).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "nothing to put a deal in"
    );
    let res = app.anon.get(app.url("/deals")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/login");
}

async fn pipeline_and_deal_forms(backend: Backend) {
    let app = spawn_app(backend).await;
    let csrf = app.csrf.clone();

    // Create a pipeline from the form: blank rows are ignored, rows are ordered by position.
    let res = post_form(
        &app,
        "/pipelines",
        &[
            ("_csrf", &csrf),
            ("name", "Channel sales"),
            ("stage_0_id", ""),
            ("stage_0_name", "Negotiation"),
            ("stage_0_probability", "70"),
            ("stage_0_position", "3"),
            ("stage_1_id", ""),
            ("stage_1_name", "Lead"),
            ("stage_1_probability", "10"),
            ("stage_1_position", "1"),
            ("stage_2_id", ""),
            ("stage_2_name", "  "),
            ("stage_2_probability", ""),
            ("stage_2_position", "2"),
            ("stage_3_id", ""),
            ("stage_3_name", "Offer"),
            ("stage_3_probability", "40"),
            ("stage_3_position", "2"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/pipelines");
    let (_, pipelines) = app.get_json("/api/v1/pipelines").await;
    let pipeline = pipelines["items"][0].clone();
    let names: Vec<&str> = pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lead", "Offer", "Negotiation"]);
    let pipeline_id = pipeline["id"].as_str().unwrap().to_owned();
    let (lead, offer, negotiation) = (
        stage_id(&pipeline, 0),
        stage_id(&pipeline, 1),
        stage_id(&pipeline, 2),
    );
    let (status, html) = page(&app, "/pipelines", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Channel sales") && html.contains("Offer"));

    // Duplicate stage names: 422 with the message next to the row that repeats the name.
    let res = post_form(
        &app,
        "/pipelines",
        &[
            ("_csrf", &csrf),
            ("name", "Twice"),
            ("stage_0_name", "Lead"),
            ("stage_0_probability", "10"),
            ("stage_1_name", "lead"),
            ("stage_1_probability", "20"),
            ("stage_2_name", "Won"),
            ("stage_2_probability", "abc"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"stage_2_probability-error\""), "{html}");
    let res = post_form(
        &app,
        "/pipelines",
        &[
            ("_csrf", &csrf),
            ("name", "Twice"),
            ("stage_0_name", "Lead"),
            ("stage_0_probability", "10"),
            ("stage_1_name", "lead"),
            ("stage_1_probability", "20"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    let error = &html[html
        .find("id=\"stage_1_name-error\"")
        .expect("error on row 2")..];
    assert!(error.contains("Stage names must differ"), "{error}");
    assert!(html.contains("value=\"lead\""), "the input is kept");

    // A deal through the form; a bad amount first.
    let res = post_form(
        &app,
        "/deals",
        &[
            ("_csrf", &csrf),
            ("title", "Tank farm upgrade"),
            ("stage_id", &offer),
            ("amount", "12,5"),
            ("currency", "EUR"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"f-amount-error\""), "{html}");
    assert!(html.contains("value=\"Tank farm upgrade\""));
    let res = post_form(
        &app,
        "/deals",
        &[
            ("_csrf", &csrf),
            ("title", "Tank farm upgrade"),
            ("stage_id", &offer),
            ("amount", "98000"),
            ("currency", "EUR"),
            ("expected_close_on", "2027-03-31"),
            ("company_id", ""),
            ("owner_id", ""),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let deal_id = location.trim_start_matches("/deals/").to_owned();
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(deal["stage_id"], offer.as_str());
    assert_eq!(deal["amount"], "98000.00");
    assert_eq!(deal["expected_close_on"], "2027-03-31");

    // Edit.
    let (status, html) = page(&app, &format!("/deals/{deal_id}/edit"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"98000.00\""));
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}"),
        &[
            ("_csrf", &csrf),
            ("version", "1"),
            ("title", "Tank farm upgrade, phase 1"),
            ("amount", "99000.5"),
            ("currency", "EUR"),
            ("expected_close_on", ""),
            ("company_id", ""),
            ("owner_id", ""),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(deal["title"], "Tank farm upgrade, phase 1");
    assert_eq!(deal["amount"], "99000.50");
    assert!(deal["expected_close_on"].is_null());
    // The same (now stale) form again.
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}"),
        &[("_csrf", &csrf), ("version", "1"), ("title", "Lost update")],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("id=\"stale-warning\""));

    // Close as lost with a reason: the reason is on the detail page, never in the URL.
    let reason = "Customer chose a cheaper offer";
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}/close"),
        &[("_csrf", &csrf), ("version", "2"), ("outcome", "")],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"f-outcome-error\""));
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}/close"),
        &[
            ("_csrf", &csrf),
            ("version", "2"),
            ("outcome", "lost"),
            ("reason", reason),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(location, format!("/deals/{deal_id}"));
    let (_, html) = page(&app, &format!("/deals/{deal_id}"), "en").await;
    assert!(html.contains(reason) && html.contains("id=\"reopen-form\""));
    assert!(
        html.contains("Open → Lost"),
        "the history shows the outcome"
    );
    let (_, list) = page(&app, "/deals/list?status=lost", "en").await;
    assert!(list.contains("Tank farm upgrade, phase 1"));
    assert!(!list.contains(reason), "lists never show the reason");
    let (_, board) = page(&app, &format!("/deals?pipeline={pipeline_id}"), "en").await;
    assert!(
        !board.contains("Tank farm upgrade"),
        "closed deals leave the board"
    );

    // A closed deal cannot be moved; reopen it in another stage.
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}/move"),
        &[("_csrf", &csrf), ("version", "3"), ("stage_id", &lead)],
        true,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("reopen it first"));
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}/reopen"),
        &[
            ("_csrf", &csrf),
            ("version", "3"),
            ("stage_id", &negotiation),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(deal["status"], "open");
    assert_eq!(deal["stage_id"], negotiation.as_str());

    // Removing a stage that holds the deal is refused, next to the form.
    let res = post_form(
        &app,
        &format!("/pipelines/{pipeline_id}"),
        &[
            ("_csrf", &csrf),
            ("version", "1"),
            ("name", "Channel sales"),
            ("stage_0_id", &lead),
            ("stage_0_name", "Lead"),
            ("stage_0_probability", "10"),
            ("stage_1_id", &offer),
            ("stage_1_name", "Offer"),
            ("stage_1_probability", "40"),
            ("stage_2_id", &negotiation),
            ("stage_2_name", ""),
            ("stage_2_probability", "70"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("still holds deals"), "{html}");
    // Renaming and re-weighting keeps the ids.
    let res = post_form(
        &app,
        &format!("/pipelines/{pipeline_id}"),
        &[
            ("_csrf", &csrf),
            ("version", "1"),
            ("name", "Channel sales"),
            ("stage_0_id", &lead),
            ("stage_0_name", "Lead"),
            ("stage_0_probability", "15"),
            ("stage_1_id", &offer),
            ("stage_1_name", ""),
            ("stage_1_probability", "40"),
            ("stage_2_id", &negotiation),
            ("stage_2_name", "Final negotiation"),
            ("stage_2_probability", "80"),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, p) = app
        .get_json(&format!("/api/v1/pipelines/{pipeline_id}"))
        .await;
    assert_eq!(
        p["stages"].as_array().unwrap().len(),
        2,
        "the empty stage is gone"
    );
    assert_eq!(p["stages"][1]["id"], negotiation.as_str());
    assert_eq!(p["stages"][1]["name"], "Final negotiation");

    // Delete and restore.
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}/delete"),
        &[("_csrf", &csrf)],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, active) = page(&app, "/deals/list", "en").await;
    assert!(!active.contains("Tank farm upgrade"));
    let (_, deleted) = page(&app, "/deals/list?deleted=only", "en").await;
    assert!(deleted.contains("Tank farm upgrade") && deleted.contains("restore-button"));
    let res = post_form(
        &app,
        &format!("/deals/{deal_id}/restore"),
        &[("_csrf", &csrf)],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, active) = page(&app, "/deals/list?q=tank", "en").await;
    assert!(active.contains("Tank farm upgrade"), "title prefix filter");
    let (_, none) = page(&app, "/deals/list?q=pump", "en").await;
    assert!(!none.contains("Tank farm upgrade") && none.contains("No deals match"));
}

async fn deal_pages_render_in_chinese(backend: Backend) {
    let app = spawn_app(backend).await;
    let pipeline = app
        .create_pipeline("渠道销售", &[("初步接触", 20), ("签约", 90)])
        .await;
    let deal = app.create_deal(json!({"title": "储罐改造", "stage_id": stage_id(&pipeline, 0), "amount": "50000", "currency": "CNY"}),
    )
    .await;
    let deal_id = deal["id"].as_str().unwrap();
    let pipeline_id = pipeline["id"].as_str().unwrap();
    let zh = "zh-CN,zh;q=0.9";
    for (path, label) in [
        ("/deals".to_owned(), "赢单概率"),
        ("/deals/list".to_owned(), "全部商机"),
        ("/deals/new".to_owned(), "新建商机"),
        (format!("/deals/{deal_id}"), "历史记录"),
        (format!("/deals/{deal_id}/edit"), "编辑商机"),
        ("/pipelines".to_owned(), "新建销售流程"),
        ("/pipelines/new".to_owned(), "阶段名称"),
        (format!("/pipelines/{pipeline_id}/edit"), "编辑销售流程"),
    ] {
        let (status, html) = page(&app, &path, zh).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("lang=\"zh-CN\""), "{path}");
        assert!(html.contains(label), "{path}: {label}");
        assert!(html.contains(">商机</a>"), "{path}: navigation");
        assert!(
            !html.contains("<script>") && !html.contains(" style="),
            "{path}"
        );
    }
    let (_, board) = page(&app, "/deals", zh).await;
    assert!(board.contains("1 个进行中") && board.contains("CNY 50,000.00"));
    assert!(board.contains("储罐改造") && board.contains(">移动</button>"));

    // A stale move answers in Chinese too.
    let res = app
        .client
        .post(app.url(&format!("/deals/{deal_id}/move")))
        .header("HX-Request", "true")
        .header(header::ACCEPT_LANGUAGE, zh)
        .form(&[
            ("_csrf", app.csrf.as_str()),
            ("version", "7"),
            ("stage_id", stage_id(&pipeline, 1).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("看板已刷新"));
}

/// The deal form picks its contact from the chosen company's contacts: a select rendered on
/// the form and re-rendered for another company (the fragment htmx swaps in); a contact of
/// another company is refused next to the picker.
async fn deal_form_picks_a_contact_of_its_company(backend: Backend) {
    let app = spawn_app(backend).await;
    let pipeline = app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    let stage = stage_id(&pipeline, 0);
    let jade = app.create_company(json!({"name": "Jade River"})).await;
    let gulf = app.create_company(json!({"name": "Gulf Refining"})).await;
    let jade_id = jade["id"].as_str().unwrap();
    let gulf_id = gulf["id"].as_str().unwrap();
    let zhang = app
        .create_contact(json!({"name": "张伟", "company_id": jade_id}))
        .await;
    let an = app
        .create_contact(json!({"name": "An Li", "company_id": jade_id}))
        .await;
    let omar = app
        .create_contact(json!({"name": "Omar Haddad", "company_id": gulf_id}))
        .await;
    let zhang_id = zhang["id"].as_str().unwrap();
    let omar_id = omar["id"].as_str().unwrap();

    // No company yet: an empty picker that says what to do; the company select asks for it.
    let (status, html) = page(&app, "/deals/new", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<select id=\"f-contact_id\" name=\"contact_id\""));
    assert!(html.contains("Choose a company to pick one of its contacts."));
    assert!(!html.contains("张伟") && !html.contains("Omar Haddad"));
    assert!(
        html.contains("hx-get=\"/deals/contact-options\"")
            && html.contains("hx-target=\"#contact-field\"")
    );
    assert!(!html.contains("<script>") && !html.contains("hx-on"));

    // The fragment for a company: its contacts by name, no one else's.
    let (status, fragment) = page(
        &app,
        &format!("/deals/contact-options?company_id={jade_id}&contact_id="),
        "zh-CN",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        fragment.starts_with("<div class=\"field\" id=\"contact-field\">"),
        "{fragment}"
    );
    assert!(!fragment.contains("<html"));
    let an_at = fragment.find("An Li").unwrap();
    let zhang_at = fragment.find("张伟").unwrap();
    assert!(an_at < zhang_at, "sorted by name");
    assert!(!fragment.contains("Omar Haddad"));
    assert!(fragment.contains("所选公司的联系人"));
    let (_, fragment) = page(
        &app,
        &format!("/deals/contact-options?company_id={gulf_id}&contact_id={omar_id}"),
        "en",
    )
    .await;
    assert!(fragment.contains(&format!(
        "<option value=\"{omar_id}\" selected>Omar Haddad</option>"
    )));
    assert!(!fragment.contains("张伟"));

    // A contact of another company is refused next to the picker, nothing created.
    let res = post_form(
        &app,
        "/deals",
        &[
            ("_csrf", &app.csrf),
            ("title", "Pipeline coating"),
            ("stage_id", &stage),
            ("company_id", jade_id),
            ("contact_id", omar_id),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"f-contact_id-error\">Choose one of the chosen company"),
        "{html}"
    );
    assert!(
        html.contains("Omar Haddad (not at the chosen company)"),
        "kept visible"
    );
    assert!(html.contains("张伟"), "the company's contacts are offered");
    let (_, list) = app.get_json("/api/v1/deals").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // Picked from the company: stored, shown preselected on the edit form.
    let res = post_form(
        &app,
        "/deals",
        &[
            ("_csrf", &app.csrf),
            ("title", "Pipeline coating"),
            ("stage_id", &stage),
            ("company_id", jade_id),
            ("contact_id", zhang_id),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let deal_page = custodian_testkit::location(&res);
    let deal_id = deal_page.trim_start_matches("/deals/").to_owned();
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(deal["contact_id"].as_str(), Some(zhang_id));
    let (_, form) = page(&app, &format!("{deal_page}/edit"), "en").await;
    assert!(form.contains(&format!(
        "<option value=\"{zhang_id}\" selected>张伟</option>"
    )));
    assert!(!form.contains("Omar Haddad"));

    // Moving the deal to another company with that company's contact.
    let res = post_form(
        &app,
        &deal_page,
        &[
            ("_csrf", &app.csrf),
            ("version", "1"),
            ("title", "Pipeline coating"),
            ("company_id", gulf_id),
            ("contact_id", omar_id),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(
        (deal["company_id"].as_str(), deal["contact_id"].as_str()),
        (Some(gulf_id), Some(omar_id))
    );
    // Switching back to the first company but keeping a contact it does not have: refused.
    let res = post_form(
        &app,
        &deal_page,
        &[
            ("_csrf", &app.csrf),
            ("version", "2"),
            ("title", "Pipeline coating"),
            ("company_id", jade_id),
            ("contact_id", an["id"].as_str().unwrap()),
        ],
        false,
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "An Li is at Jade River"
    );
    let res = post_form(
        &app,
        &deal_page,
        &[
            ("_csrf", &app.csrf),
            ("version", "3"),
            ("title", "Pipeline coating"),
            ("company_id", gulf_id),
            ("contact_id", zhang_id),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // No contact picked clears it.
    let res = post_form(
        &app,
        &deal_page,
        &[
            ("_csrf", &app.csrf),
            ("version", "3"),
            ("title", "Pipeline coating"),
            ("company_id", gulf_id),
            ("contact_id", ""),
        ],
        false,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert!(deal["contact_id"].is_null());
}

on_both_backends!(
    board_shows_stages_totals_and_moves_deals_with_htmx,
    no_pipeline_explains_and_links_administrators,
    pipeline_and_deal_forms,
    deal_pages_render_in_chinese,
    deal_form_picks_a_contact_of_its_company,
);
