use custodian_testkit::{Backend, on_both_backends, spawn_app};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::collections::HashSet;

fn wang() -> Value {
    json!({
        "name": "王小明",
        "emails": ["Wang.XiaoMing@Sinopec.example.CN"],
        "phones": ["+86 138-0013-8000"],
        "job_title": "采购经理",
        "address": "北京市朝阳区建国门外大街1号",
        "notes": "Prefers calls after 3pm",
        "team": "china-sales",
        "tags": ["VIP", "oil-gas"]
    })
}

async fn create_read_update_delete_restore(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_contact(wang()).await;
    assert_eq!(created["name"], "王小明");
    assert_eq!(
        created["emails"],
        json!(["wang.xiaoming@sinopec.example.cn"])
    );
    assert_eq!(created["phones"], json!(["+8613800138000"]));
    assert_eq!(created["tags"], json!(["oil-gas", "vip"]));
    assert_eq!(created["version"], 1);
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, fetched) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);

    let (status, updated) = app
        .patch_json(
            &format!("/api/v1/contacts/{id}"),
            &json!({"version": 1, "job_title": "供应链总监", "notes": null, "phones": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["job_title"], "供应链总监");
    assert_eq!(updated["notes"], Value::Null);
    assert_eq!(updated["phones"], json!([]));
    assert_eq!(updated["name"], "王小明", "untouched fields stay");

    let (status, _) = app.delete(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.get_json("/api/v1/contacts").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "deleted contacts leave the list"
    );
    let (_, deleted) = app.get_json("/api/v1/contacts?deleted=only").await;
    assert_eq!(deleted["items"][0]["id"], id.as_str());
    let (status, _) = app.delete(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleting twice");
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/contacts/{id}"),
            &json!({"version": 3, "name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, restored) = app
        .post_json(&format!("/api/v1/contacts/{id}/restore"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restored["deleted_at"], Value::Null);
    assert_eq!(restored["version"], 4);
    let (status, body) = app
        .post_json(&format!("/api/v1/contacts/{id}/restore"), &json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

async fn stale_write_is_a_conflict_not_a_lost_update(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_contact(json!({"name": "Ada Lovelace"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/contacts/{id}");
    let (first, _) = app
        .patch_json(&path, &json!({"version": 1, "job_title": "Analyst"}))
        .await;
    assert_eq!(first, StatusCode::OK);
    let (second, body) = app
        .patch_json(&path, &json!({"version": 1, "job_title": "Engineer"}))
        .await;
    assert_eq!(second, StatusCode::CONFLICT);
    assert_eq!(body["code"], "stale_version");
    assert_eq!(body["details"]["current_version"], 2);
    let (_, now) = app.get_json(&path).await;
    assert_eq!(now["job_title"], "Analyst", "the first write survives");

    // Concurrent writers with the same version: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let client = app.client.clone();
        let url = app.url(&path);
        let csrf = app.csrf.clone();
        tasks.push(tokio::spawn(async move {
            client
                .patch(url)
                .header("x-csrf-token", csrf)
                .json(&json!({"version": 2, "job_title": format!("Writer {i}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 1);
}

async fn search_by_email_phone_and_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let wang_id = app.create_contact(wang()).await["id"].clone();
    let ana_id = app
        .create_contact(json!({"name": "Ana María López", "emails": ["ana@food.example.com", "a.lopez@food.example.com"], "phones": ["+44 20 7946 0958"]}))
        .await["id"]
        .clone();
    app.create_contact(json!({"name": "王芳", "emails": ["fang@example.cn"]}))
        .await;

    let find = |query: &'static str| {
        let app = &app;
        async move {
            let res = app
                .request(Method::GET, "/api/v1/contacts")
                .query(&[query.split_once('=').unwrap()])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{query}");
            let body: Value = res.json().await.unwrap();
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find("email=  WANG.xiaoming@sinopec.example.cn ").await,
        vec![wang_id.clone()]
    );
    assert_eq!(
        find("email=a.lopez@food.example.com").await,
        vec![ana_id.clone()]
    );
    assert!(find("email=nobody@example.com").await.is_empty());
    assert_eq!(
        find("phone=0086 138 0013 8000").await,
        vec![wang_id.clone()]
    );
    assert_eq!(find("phone=+442079460958").await, vec![ana_id.clone()]);
    assert_eq!(find("name=小明").await, vec![wang_id.clone()]);
    assert_eq!(find("name=王小明").await, vec![wang_id.clone()]);
    assert_eq!(
        find("name=lopez").await,
        vec![ana_id.clone()],
        "accents fold: lopez finds López"
    );
    assert_eq!(find("name=LÓPEZ").await, vec![ana_id.clone()]);
    assert_eq!(find("name=ana lópez").await, vec![ana_id.clone()]);

    // Searches go through the same error handling.
    let (status, body) = app.get_json("/api/v1/contacts?email=not-an-email").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
}

async fn lists_paginate_with_cursors_and_filter(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app
        .create_company(json!({"name": "Yangtze Precision"}))
        .await;
    let mut ids = Vec::new();
    for i in 0..7 {
        app.clock.advance(time::Duration::seconds(1));
        let body = json!({
            "name": format!("Person {i}"),
            "team": if i % 2 == 0 { "east" } else { "west" },
            "tags": if i < 3 { vec!["vip"] } else { vec![] },
            "company_id": if i == 6 { company["id"].clone() } else { Value::Null },
        });
        ids.push(app.create_contact(body).await["id"].clone());
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/contacts?limit=3".to_owned();
    for page in 0.. {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::OK);
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|c| c["id"].clone()));
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/contacts?limit=3&cursor={cursor}"),
            None => {
                assert_eq!(page, 2);
                break;
            }
        }
    }
    let newest_first: Vec<Value> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let unique: HashSet<String> = seen.iter().map(ToString::to_string).collect();
    assert_eq!(unique.len(), 7);

    let (_, asc) = app.get_json("/api/v1/contacts?sort=created&limit=2").await;
    assert_eq!(asc["items"][0]["id"], ids[0]);
    let (_, vip) = app.get_json("/api/v1/contacts?tag=VIP").await;
    assert_eq!(vip["items"].as_array().unwrap().len(), 3);
    let (_, east) = app.get_json("/api/v1/contacts?team=east").await;
    assert_eq!(east["items"].as_array().unwrap().len(), 4);
    let (_, at_company) = app
        .get_json(&format!(
            "/api/v1/contacts?company_id={}",
            company["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(at_company["items"].as_array().unwrap().len(), 1);
    assert_eq!(at_company["items"][0]["id"], ids[6]);

    // A cursor is bound to its sort order.
    let (_, first) = app.get_json("/api/v1/contacts?limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, body) = app
        .get_json(&format!("/api/v1/contacts?sort=-updated&cursor={cursor}"))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
    );
}

async fn bad_input_gets_clear_4xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let send_raw = |body: &'static str, content_type: &'static str| {
        app.request(Method::POST, "/api/v1/contacts")
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(reqwest::Response, StatusCode, &str)> = vec![
        (
            send_raw("{\"name\": ", "application/json").await.unwrap(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            send_raw("{\"name\": 42}", "application/json")
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            send_raw("{\"name\": \"A\", \"ssn\": \"1\"}", "application/json")
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            send_raw("{\"name\": \"A\"}", "text/plain").await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (res, status, code) in cases {
        let (got, body) = custodian_testkit::split(res).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
        assert!(body["message"].as_str().unwrap().len() > 10);
    }
    let huge = json!({"name": "x".repeat(300 * 1024)});
    let (status, body) = app.post_json("/api/v1/contacts", &huge).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );

    let (status, body) = app
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "y".repeat(201), "emails": ["nope", "ok@example.com"], "phones": ["12345"], "tags": ["<b>"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<(&str, &str)> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap(), d["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("name", "too_long"),
            ("emails[0]", "invalid_email"),
            ("phones[0]", "invalid_phone"),
            ("tags[0]", "invalid_tag")
        ]
    );
    assert!(
        !body.to_string().contains("12345"),
        "rejected values are not echoed"
    );

    let (status, body) = app
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "Z", "company_id": uuid::Uuid::nil()}),
        )
        .await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_company"))
    );

    let (_, list) = app.get_json("/api/v1/contacts").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing half-written"
    );

    for (path, status, code) in [
        (
            "/api/v1/contacts/not-a-uuid",
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            &format!("/api/v1/contacts/{}", uuid::Uuid::new_v4()) as &str,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/contacts?cursor=garbage!",
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            "/api/v1/contacts?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/v1/contacts?limit=5000",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/v1/contacts?limit=ten",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/v1/contacts?colour=red",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/v1/contacts?sort=name",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/v1/contacts?deleted=maybe",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let (got, body) = app.get_json(path).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/contacts/{}", uuid::Uuid::new_v4()),
            &json!({"name": "no version"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    let res = app
        .request(Method::PUT, "/api/v1/contacts")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

async fn a_too_common_name_is_refused_not_silently_truncated(backend: Backend) {
    let app = spawn_app(backend).await;
    let actor = app.core.cli_actor().await.unwrap();
    for batch in 0..3 {
        let inputs: Vec<custodian_core::contacts::ContactInput> = (0..700)
            .map(|i| custodian_core::contacts::ContactInput {
                name: format!("Wang Person{batch}x{i}"),
                ..Default::default()
            })
            .collect();
        app.core.create_contacts(&actor, &inputs).await.unwrap();
    }
    let (status, body) = app.get_json("/api/v1/contacts?name=wang").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["code"], "too_many_matches");
    // A precise query still works.
    let (status, body) = app.get_json("/api/v1/contacts?name=wang%20person1x5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["name"], "Wang Person1x5");
}

/// Concurrent creates are committed in groups; a bad one must fail alone.
async fn concurrent_creates_fail_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let client = app.client.clone();
        let url = app.url("/api/v1/contacts");
        let csrf = app.csrf.clone();
        let company = if i % 5 == 0 {
            json!(uuid::Uuid::new_v4())
        } else {
            Value::Null
        };
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .header("x-csrf-token", csrf)
                .json(&json!({"name": format!("Concurrent {i}"), "emails": [format!("c{i}@example.com")], "company_id": company}))
                .send()
                .await
                .unwrap();
            (i, res.status())
        }));
    }
    for t in tasks {
        let (i, status) = t.await.unwrap();
        let expected = if i % 5 == 0 {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::CREATED
        };
        assert_eq!(status, expected, "request {i}");
    }
    let (_, list) = app.get_json("/api/v1/contacts?limit=200").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 32);
    let (_, found) = app.get_json("/api/v1/contacts?email=c7@example.com").await;
    assert_eq!(
        found["items"][0]["name"], "Concurrent 7",
        "indexes written with the row"
    );
    let (_, missing) = app.get_json("/api/v1/contacts?email=c5@example.com").await;
    assert!(
        missing["items"].as_array().unwrap().is_empty(),
        "the failed one left nothing behind"
    );
}

on_both_backends!(
    concurrent_creates_fail_alone,
    a_too_common_name_is_refused_not_silently_truncated,
    create_read_update_delete_restore,
    stale_write_is_a_conflict_not_a_lost_update,
    search_by_email_phone_and_name,
    lists_paginate_with_cursors_and_filter,
    bad_input_gets_clear_4xx,
);
