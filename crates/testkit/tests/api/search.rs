//! Global search and saved views: what each kind of entry finds, the documented limits, and
//! views private to their user that never keep personal search terms.

use custodian_testkit::{Backend, error_code, location, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn names(list: &Value, field: &str) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap_or("").to_owned())
        .collect();
    out.sort();
    out
}

async fn global_search_by_email_phone_and_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Qilu Valves"})).await;
    app.create_contact(json!({"name": "王小明", "emails": ["wang@qilu.example"], "phones": ["+8613800138000"], "company_id": company["id"]}))
        .await;
    app.create_contact(json!({"name": "Qilu Liaison", "emails": ["liaison@qilu.example"]}))
        .await;
    app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    app.create_deal(json!({"title": "Qilu refinery valves"}))
        .await;
    let (status, _) = app
        .post_json(
            "/api/v1/leads",
            &json!({"name": "Lead Person", "email": "wang@qilu.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, by_email) = app
        .post_json("/api/v1/search", &json!({"q": "WANG@qilu.example"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_email}");
    assert_eq!(names(&by_email["contacts"], "name"), ["王小明"]);
    assert_eq!(names(&by_email["leads"], "name"), ["Lead Person"]);
    assert!(by_email["companies"].as_array().unwrap().is_empty());

    let (_, by_phone) = app
        .post_json("/api/v1/search", &json!({"q": "+86 138-0013-8000"}))
        .await;
    assert_eq!(names(&by_phone["contacts"], "name"), ["王小明"]);

    // A word finds contacts by whole name words, companies and deals by the start of the name.
    let (_, by_word) = app.post_json("/api/v1/search", &json!({"q": "qilu"})).await;
    assert_eq!(names(&by_word["contacts"], "name"), ["Qilu Liaison"]);
    assert_eq!(names(&by_word["companies"], "name"), ["Qilu Valves"]);
    assert_eq!(names(&by_word["deals"], "title"), ["Qilu refinery valves"]);
    let (_, cjk) = app.post_json("/api/v1/search", &json!({"q": "小明"})).await;
    assert_eq!(names(&cjk["contacts"], "name"), ["王小明"]);
    // No substring search on encrypted names: "Liais" is not a word of any name.
    let (_, partial) = app
        .post_json("/api/v1/search", &json!({"q": "Liais"}))
        .await;
    assert!(partial["contacts"].as_array().unwrap().is_empty());

    let (status, err) = app.post_json("/api/v1/search", &json!({"q": "  "})).await;
    assert_eq!(
        (status, err["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_search"))
    );

    // The UI search is a POST and the results page shows all kinds.
    let res = app
        .post_form("/search", &[("_csrf", &app.csrf), ("q", "qilu")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Qilu Valves")
            && html.contains("Qilu refinery valves")
            && html.contains("Qilu Liaison"),
        "{html}"
    );
}

async fn saved_views_are_private_and_keep_no_personal_terms(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, view) = app
        .post_json(
            "/api/v1/views",
            &json!({"entity": "deals", "name": "我的开放商机", "filters": {"status": "open", "sort": "-updated"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["query"], "sort=-updated&status=open");
    let (_, mine) = app.get_json("/api/v1/views?entity=deals").await;
    assert_eq!(names(&mine["items"], "name"), ["我的开放商机"]);

    for (filters, code) in [
        (json!({"email": "a@b.example"}), "personal_filter"),
        (json!({"colour": "blue"}), "unknown_filter"),
    ] {
        let (status, err) = app
            .post_json(
                "/api/v1/views",
                &json!({"entity": "contacts", "name": "x", "filters": filters}),
            )
            .await;
        assert_eq!(
            (status, err["details"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code))
        );
    }
    let (status, err) = app
        .post_json("/api/v1/views", &json!({"entity": "secrets", "name": "x"}))
        .await;
    assert_eq!(
        (status, err["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_entity"))
    );

    let id = view["id"].as_str().unwrap();
    let (status, renamed) = app
        .patch_json(
            &format!("/api/v1/views/{id}"),
            &json!({"version": 1, "name": "Open deals"}),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("Open deals"))
    );
    let (status, stale) = app
        .patch_json(
            &format!("/api/v1/views/{id}"),
            &json!({"version": 1, "name": "Late"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&stale)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );

    // Another user sees none of it and cannot change it.
    let other = app.sign_in_new_user("colleague@example.com").await;
    let (_, theirs) = other.get_json("/api/v1/views").await;
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let res = other
        .request(reqwest::Method::DELETE, &format!("/api/v1/views/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The list page offers the view; saving the current filters from the page works too.
    let (_, html) = app.html("/deals/list", "en").await;
    assert!(
        html.contains("href=\"/deals/list?sort=-updated&#38;status=open\""),
        "{html}"
    );
    let res = app
        .post_form(
            "/views",
            &[
                ("_csrf", &app.csrf),
                ("entity", "leads"),
                ("name", "Hot leads"),
                ("query", "min_score=70&sort=-score"),
                ("return_to", "/leads?min_score=70&sort=-score"),
            ],
        )
        .await;
    assert_eq!(
        (res.status(), location(&res)),
        (
            StatusCode::SEE_OTHER,
            "/leads?min_score=70&sort=-score".to_owned()
        )
    );
    let (_, html) = app.html("/leads?min_score=70&sort=-score", "zh-CN").await;
    assert!(
        html.contains("已保存视图")
            && html.contains("Hot leads")
            && html.contains("aria-current=\"page\">Hot leads"),
        "{html}"
    );

    // View names are encrypted at rest.
    let (_, rows) = app.get_json("/api/v1/views").await;
    assert_eq!(rows["items"].as_array().unwrap().len(), 2);
    let (status, _) = app.delete(&format!("/api/v1/views/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

on_both_backends!(
    global_search_by_email_phone_and_name,
    saved_views_are_private_and_keep_no_personal_terms,
);
