//! The dashboard page over real HTTP: the SVG charts with the right bars and labels in
//! English and Chinese, no inline script or style, the currency switch, empty states that say
//! what to do, refused filters, and the landing redirect.

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

/// The markup of one chart (`<svg id=…>…</svg>`).
fn svg<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("chart {id} missing in {html}"));
    let start = html[..start].rfind("<svg").unwrap();
    let end = start + html[start..].find("</svg>").unwrap();
    &html[start..end]
}

fn bars(svg: &str) -> usize {
    svg.matches("<rect class=\"bar ").count()
}

/// No inline style anywhere, and every script is an external file (no inline script).
fn assert_csp_clean(html: &str) {
    assert!(!html.contains("style="), "inline style");
    let scripts = html.matches("<script").count();
    let external = html.matches("<script src=\"/static/").count();
    assert_eq!(scripts, external, "inline script");
    let main = &html[html.find("<main").unwrap()..];
    assert!(!main.contains("<script"), "script in the page body");
}

async fn dashboard_renders_charts_in_both_languages(backend: Backend) {
    let app = spawn_app(backend).await;
    let sales = app
        .create_pipeline("Sales", &[("Qualify", 10), ("报价", 50), ("Negotiate", 80)])
        .await;
    let (qualify, quote) = (stage_id(&sales, 0), stage_id(&sales, 1));
    app.create_deal(
        json!({"title": "A", "stage_id": qualify, "amount": "1234567.89", "currency": "CNY"}),
    )
    .await;
    app.create_deal(json!({"title": "B", "stage_id": quote, "amount": "200", "currency": "CNY"}))
        .await;
    app.create_deal(json!({"title": "C", "stage_id": quote, "amount": "10.50", "currency": "USD"}))
        .await;
    for outcome in ["won", "lost", "won"] {
        let deal = app
            .create_deal(
                json!({"title": "Closed", "stage_id": qualify, "amount": "5", "currency": "CNY"}),
            )
            .await;
        let (status, body) = app
            .post_json(
                &format!("/api/v1/deals/{}/close", deal["id"].as_str().unwrap()),
                &json!({"version": deal["version"], "outcome": outcome}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let company = app.create_company(json!({"name": "Acme"})).await;
    let other = app.sign_in_new_user("rep@example.com").await;
    for (kind, owner) in [
        ("call", None),
        ("meeting", None),
        ("email", Some(&other.id)),
    ] {
        let mut body = json!({"kind": kind, "subject": "Hello", "company_id": company["id"]});
        if let Some(owner) = owner {
            body["owner_id"] = json!(owner);
        }
        let (status, body) = app.post_json("/api/v1/activities", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = app
        .post_json(
            "/api/v1/tasks",
            &json!({"title": "Send the quote to 王先生", "due_at": "2020-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post_json(
            "/api/v1/tasks",
            &json!({"title": "Private follow-up", "due_at": "2020-01-02", "assignee_id": other.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, html) = page(&app, "/dashboard", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert_csp_clean(&html);
    assert!(html.contains("aria-current=\"page\">Dashboard</a>"));

    // Open value by stage: the most common currency (CNY) first, two bars per stage.
    let pipeline = svg(&html, "chart-pipeline");
    assert_eq!(bars(pipeline), 3 * 2);
    assert!(pipeline.contains("role=\"img\""));
    assert!(
        pipeline.contains(
            "<title id=\"chart-pipeline-title\">Open value by stage, Sales, in CNY</title>"
        )
    );
    assert!(pipeline.contains("报价 (50 %)"));
    assert!(pipeline.contains(">CNY 1,234,567.89</text>"), "{pipeline}");
    // 1,234,567.89 × 10 % = 123,456.789 → 123,456.79.
    assert!(pipeline.contains(">CNY 123,456.79</text>"), "{pipeline}");
    assert!(pipeline.contains("<title>Qualify (10 %) · Weighted value: CNY 123,456.79</title>"));
    assert!(
        html.contains("<table class=\"visually-hidden chart-data\" id=\"chart-pipeline-data\">")
    );
    assert!(
        html.contains("<th scope=\"row\">Negotiate (80 %)</th><td>CNY 0.00</td><td>CNY 0.00</td>")
    );
    assert!(
        html.contains("href=\"/dashboard?pipeline_id="),
        "link to the other currency"
    );

    // Won and lost: six months, two bars each; this month holds 2 won, 1 lost.
    let won_lost = svg(&html, "chart-won-lost");
    assert_eq!(bars(won_lost), 6 * 2);
    let now = custodian_domain::Clock::now(app.clock.as_ref());
    let month = format!("{:04}-{:02}", now.year(), u8::from(now.month()));
    assert!(
        won_lost.contains(&format!("<title>{month} · Won: 2</title>")),
        "{won_lost}"
    );
    assert!(won_lost.contains(&format!("<title>{month} · Lost: 1</title>")));
    assert_eq!(bars(svg(&html, "chart-won-lost-value")), 6 * 2);

    // Activities per owner, stacked by kind (4 segments per owner); the viewer by e-mail,
    // the other user by a short id only.
    let activities = svg(&html, "chart-activities");
    assert_eq!(bars(activities), 2 * 4);
    assert!(activities.contains("admin@custodian.test"));
    assert!(!activities.contains("rep@example.com"));
    assert!(activities.contains(&format!("User …{}", &other.id[other.id.len() - 8..])));
    assert!(
        !activities.contains(&other.id),
        "full ids stay out of the chart"
    );

    // Overdue: one bar per assignee; the viewer's own title shown, the other's not.
    assert_eq!(bars(svg(&html, "chart-overdue")), 2);
    assert!(html.contains("Send the quote to 王先生"));
    assert!(!html.contains("Private follow-up"));
    assert!(
        html.contains("Another person&#x27;s task") || html.contains("Another person&#39;s task")
    );

    // The same page in Chinese.
    let (status, zh) = page(&app, "/dashboard", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert_csp_clean(&zh);
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    let pipeline = svg(&zh, "chart-pipeline");
    assert!(
        pipeline.contains("Sales各阶段进行中商机金额（CNY）"),
        "{pipeline}"
    );
    assert!(pipeline.contains("报价 (50 %)"));
    assert_eq!(bars(pipeline), 6);
    let won_lost = svg(&zh, "chart-won-lost");
    let zh_month = format!("{}年{}月", now.year(), u8::from(now.month()));
    assert!(
        won_lost.contains(&format!("<title>{zh_month} · 赢单: 2</title>")),
        "{won_lost}"
    );
    assert!(svg(&zh, "chart-activities").contains("用户 …"));
    assert!(zh.contains("已逾期"));

    // Another currency: the USD deal alone.
    let (status, usd) = page(&app, "/dashboard?currency=usd", "en").await;
    assert_eq!(status, StatusCode::OK);
    let pipeline = svg(&usd, "chart-pipeline");
    assert!(pipeline.contains(">USD 10.50</text>"));
    assert!(!pipeline.contains("CNY"));
    // No USD was won or lost: the value chart is left out, the count chart stays.
    assert!(!usd.contains("id=\"chart-won-lost-value\""));
    assert_eq!(bars(svg(&usd, "chart-won-lost")), 12);

    // Twelve months.
    let (_, year) = page(&app, "/dashboard?months=12", "en").await;
    assert_eq!(bars(svg(&year, "chart-won-lost")), 24);
}

async fn dashboard_empty_states_bad_filters_and_landing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, html) = page(&app, "/dashboard", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert_csp_clean(&html);
    assert!(!html.contains("<svg"));
    for id in [
        "empty-pipeline",
        "empty-won-lost",
        "empty-activities",
        "empty-overdue",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(
        html.contains("href=\"/pipelines/new\""),
        "administrators are told where to start"
    );
    let (_, zh) = page(&app, "/dashboard", "zh-CN").await;
    assert!(zh.contains("还没有销售管道"));

    // Refused filters: 422, the message next to the field, no figures.
    for (query, field) in [
        ("months=0", "filter-months"),
        ("from=2026-02-30", "filter-from"),
        ("from=2026-03-02&to=2026-03-01", "filter-to"),
        ("currency=XBT", "filter-currency"),
        ("pipeline_id=not-an-id", "filter-pipeline"),
    ] {
        let (status, html) = page(&app, &format!("/dashboard?{query}"), "en").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(html.contains("id=\"dashboard-invalid\""), "{query}");
        assert!(html.contains("class=\"field-error\""), "{query}");
        assert!(!html.contains("class=\"figures\""), "{query}");
        assert!(
            html.contains(&format!("field-invalid\">\n    <label for=\"{field}\"")),
            "{query}: {html}"
        );
    }
    let (status, html) = page(&app, "/dashboard?to=2026-03-01&from=2026-03-02", "zh-CN").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("截止日不能早于起始日。"));
    // Positive control: valid values of the same filters.
    let (status, _) = page(
        &app,
        "/dashboard?months=3&from=2026-03-01&to=2026-03-02",
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Signed in, the site's root leads to the dashboard; signed out, to the sign-in page.
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.headers()[header::LOCATION], "/dashboard");
    let res = app.anon.get(app.url("/dashboard")).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(!text.contains("id=\"dashboard-filter\""));
}

on_both_backends!(
    dashboard_renders_charts_in_both_languages,
    dashboard_empty_states_bad_filters_and_landing,
);
