use custodian_testkit::{Backend, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn company_crud_sort_and_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let sinopec = app
        .create_company(json!({
            "name": "Sino Petro Co., Ltd.", "industry": "oil_gas", "size": "5000+", "region": "CN-North",
            "address": "22 Chaoyangmen North Street, Beijing", "website": "https://sinopetro.example", "tags": ["key-account"]
        }))
        .await;
    assert_eq!(sinopec["region"], "cn-north");
    assert_eq!(sinopec["address"], "22 Chaoyangmen North Street, Beijing");
    for (name, industry) in [
        ("alpine bakeries", "food"),
        ("Golden Harvest Foods", "food"),
        ("Bohai Chemicals", "chemicals"),
    ] {
        app.create_company(json!({"name": name, "industry": industry}))
            .await;
    }
    let (_, page1) = app.get_json("/api/v1/companies?limit=2").await;
    let names: Vec<&str> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["alpine bakeries", "Bohai Chemicals"],
        "case-insensitive name order"
    );
    assert!(
        page1["items"][0].get("address").is_none(),
        "lists omit the personal address"
    );
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .get_json(&format!("/api/v1/companies?limit=2&cursor={cursor}"))
        .await;
    let names: Vec<&str> = page2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Golden Harvest Foods", "Sino Petro Co., Ltd."]);
    assert!(page2.get("next_cursor").is_none());

    let (_, food) = app.get_json("/api/v1/companies?industry=food").await;
    assert_eq!(food["items"].as_array().unwrap().len(), 2);
    let (_, prefix) = app.get_json("/api/v1/companies?q=GOLD").await;
    assert_eq!(prefix["items"][0]["name"], "Golden Harvest Foods");
    let (_, wildcard) = app.get_json("/api/v1/companies?q=%25").await;
    assert!(
        wildcard["items"].as_array().unwrap().is_empty(),
        "% is not a wildcard"
    );
    let (status, body) = app.get_json("/api/v1/companies?industry=banking").await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_industry"))
    );

    let id = sinopec["id"].as_str().unwrap();
    let path = format!("/api/v1/companies/{id}");
    let (status, updated) = app
        .patch_json(
            &path,
            &json!({"version": 1, "address": null, "size": "1001-5000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert!(updated.get("address").is_none());
    assert_eq!(updated["size"], "1001-5000");
    let (status, body) = app
        .patch_json(&path, &json!({"version": 1, "name": "Late"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("stale_version"))
    );

    // A contact may reference a live company, not a deleted one.
    let contact = app
        .create_contact(json!({"name": "Li Na", "company_id": id}))
        .await;
    assert_eq!(contact["company_id"], id);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "Zhao Lei", "company_id": id}),
        )
        .await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_company"))
    );
    let (status, restored) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restored["deleted_at"], Value::Null);
}

async fn company_bad_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app
        .post_json(
            "/api/v1/companies",
            &json!({"name": " ", "website": "javascript:alert(1)", "size": "huge"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let codes: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["required", "invalid_size", "invalid_url"]);
    let (status, body) = app.get_json("/api/v1/companies?sort=revenue").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
}

on_both_backends!(company_crud_sort_and_filters, company_bad_input);
