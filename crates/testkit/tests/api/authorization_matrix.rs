//! The authorization matrix, generated from the OpenAPI document: every documented operation
//! is called by anonymous callers, users whose roles give them nothing of the seeded records
//! (no roles, another team, another territory, administration only, auditor, security
//! officer) and a token narrower than its user, against records whose every field carries a
//! marker. Anonymous callers get 401 from everything not public; nobody else gets a marker in
//! any answer, nor a success from any change to a seeded record.

use custodian_testkit::{Backend, OtherUser, TestApp, on_both_backends, spawn_app, split};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Operations that answer without credentials.
const PUBLIC: &[&str] = &[
    "/api/v1/health",
    "/api/v1/auth/login",
    "/api/v1/auth/passkey/options",
    "/api/v1/auth/passkey",
    "/api/v1/auth/invitation/accept",
    "/api/v1/auth/password/forgot",
    "/api/v1/auth/password/reset",
    "/api/v1/auth/password-strength",
    "/api/v1/auth/sign-in-code",
    "/api/v1/auth/sign-in-options",
];

/// Strings only the seeded records hold.
const MARKERS: &[&str] = &[
    "Matrixwang",
    "matrix.secret@",
    "13899990000",
    "MATRIX-NOTE",
    "MatrixCo",
    "MATRIX-DEAL",
    "MATRIX-LEAD",
    "matrix.lead@",
    "MATRIX-ACT",
    "MATRIX-TASK",
    "MATRIX-COMPLAINT",
    "MATRIX-SURVEY",
    "MATRIX-ORDER",
    "MATRIX-EXPORT",
];

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, json) = app.post_json(path, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {json}");
    json
}

/// Seeds one record of every kind (created by the administrator, in region `cn`) and returns
/// the id to put in each path parameter, by the path's first segment (and the product of the
/// contact's product-interest paths).
async fn seed(app: &TestApp) -> BTreeMap<&'static str, String> {
    let contact = app
        .create_contact(
            json!({"name": "Matrixwang", "emails": ["matrix.secret@example.com"],
                               "phones": ["+8613899990000"], "notes": "MATRIX-NOTE",
                               "team": "north", "region": "cn"}),
        )
        .await;
    let company = app
        .create_company(json!({"name": "MatrixCo", "region": "cn"}))
        .await;
    let pipeline = app.create_pipeline("Matrix", &[("Open", 10)]).await;
    let deal = app
        .create_deal(
            json!({"title": "MATRIX-DEAL", "pipeline_id": pipeline["id"],
                            "contact_id": contact["id"], "amount": "10.00", "currency": "CNY"}),
        )
        .await;
    let lead = created(
        app,
        "/api/v1/leads",
        json!({"name": "MATRIX-LEAD", "email": "matrix.lead@example.com", "source": "web"}),
    )
    .await;
    let activity = created(
        app,
        "/api/v1/activities",
        json!({"kind": "note", "subject": "MATRIX-ACT", "body": "MATRIX-ACT", "contact_id": contact["id"]}),
    )
    .await;
    let task = created(
        app,
        "/api/v1/tasks",
        json!({"title": "MATRIX-TASK", "contact_id": contact["id"]}),
    )
    .await;
    let product = created(
        app,
        "/api/v1/products",
        json!({"sku": "MX-1", "name": "Valve", "list_price": "1.00", "currency": "CNY", "unit": "each"}),
    )
    .await;
    let order = created(
        app,
        "/api/v1/orders",
        json!({"contact_id": contact["id"], "currency": "CNY", "notes": "MATRIX-ORDER",
               "lines": [{"product_id": product["id"], "quantity": "1"}]}),
    )
    .await;
    let complaint = created(
        app,
        "/api/v1/complaints",
        json!({"contact_id": contact["id"], "subject": "MATRIX-COMPLAINT",
               "description": "MATRIX-COMPLAINT", "category": "service", "severity": "low"}),
    )
    .await;
    let survey = created(
        app,
        "/api/v1/surveys",
        json!({"contact_id": contact["id"], "kind": "nps", "score": 5, "comment": "MATRIX-SURVEY"}),
    )
    .await;
    let export_request = created(
        app,
        "/api/v1/export-requests",
        json!({"kind": "contacts", "reason": "MATRIX-EXPORT"}),
    )
    .await;
    // Customer records only: configuration (pipelines, products) and users are the
    // administrators' to change, and are reached with ids that name nothing.
    BTreeMap::from([
        ("contacts", id(&contact)),
        ("companies", id(&company)),
        ("deals", id(&deal)),
        ("leads", id(&lead)),
        ("activities", id(&activity)),
        ("tasks", id(&task)),
        ("interest_product", id(&product)),
        ("orders", id(&order)),
        ("complaints", id(&complaint)),
        ("surveys", id(&survey)),
        ("export-requests", id(&export_request)),
    ])
}

/// The path with its parameters filled: record ids by the first segment, other ids random.
fn fill(path: &str, ids: &BTreeMap<&'static str, String>) -> (String, bool) {
    let first = path
        .trim_start_matches("/api/v1/")
        .split('/')
        .next()
        .unwrap_or_default();
    let mut seeded = false;
    let filled = path
        .split('/')
        .map(|segment| match segment {
            "{id}" => match ids.get(first) {
                Some(id) => {
                    seeded = true;
                    id.clone()
                }
                None => "0190a000-0000-7000-8000-000000000001".to_owned(),
            },
            "{product_id}" => ids["interest_product"].clone(),
            "{version}" => "1".to_owned(),
            "{kind}" => "contacts".to_owned(),
            s if s.starts_with('{') => "0190a000-0000-7000-8000-000000000002".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    (filled, seeded)
}

struct Caller {
    name: &'static str,
    user: Option<OtherUser>,
}

async fn call(app: &TestApp, caller: &Caller, method: &Method, path: &str) -> (StatusCode, String) {
    let rb = match &caller.user {
        Some(user) => user.request(method.clone(), path),
        None => app.anon.request(method.clone(), app.url(path)),
    };
    let rb = if *method == Method::GET || *method == Method::DELETE {
        rb
    } else {
        rb.json(&json!({"version": 1}))
    };
    let response = rb.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

async fn every_operation_for_every_caller(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = seed(&app).await;
    let (_, spec) = split(
        app.anon
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut callers = vec![Caller {
        name: "anonymous",
        user: None,
    }];
    for (name, email, roles, team, region) in [
        ("no roles", "nobody@example.com", &[][..], None, Some("cn")),
        (
            "other team",
            "south@example.com",
            &["sales"][..],
            Some("south"),
            Some("cn"),
        ),
        (
            "other region",
            "eu@example.com",
            &["sales", "manager"][..],
            Some("north"),
            Some("eu"),
        ),
        (
            "administration only",
            "it@example.com",
            &["administrator"][..],
            None,
            None,
        ),
        ("auditor", "audit@example.com", &["auditor"][..], None, None),
        (
            "security officer",
            "sec@example.com",
            &["security_officer"][..],
            None,
            None,
        ),
    ] {
        let user = app.sign_in_with_roles(email, roles, team, region).await;
        callers.push(Caller {
            name,
            user: Some(user),
        });
    }
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (verb, _) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(verb.to_uppercase().as_bytes()) else {
                continue;
            };
            // Sign-out and ending one's own sessions are tried last, once.
            if path.contains("logout") || path.contains("/sessions") {
                continue;
            }
            let (filled, seeded) = fill(path, &ids);
            for caller in &callers {
                let (status, body) = call(&app, caller, &method, &filled).await;
                checked += 1;
                if caller.user.is_none() {
                    // Refused for want of credentials; a sign-in step may check the shape of
                    // its body first (it then learns nothing either).
                    let shape_refused = method != Method::GET && body.contains("\"invalid_body\"");
                    if !PUBLIC.contains(&path.as_str()) && !shape_refused {
                        assert_eq!(
                            status,
                            StatusCode::UNAUTHORIZED,
                            "anonymous {verb} {path}: {body}"
                        );
                    }
                    assert!(
                        !status.is_success() || PUBLIC.contains(&path.as_str()),
                        "anonymous {verb} {path}"
                    );
                    continue;
                }
                for marker in MARKERS {
                    assert!(
                        !body.contains(marker),
                        "{} got {marker} from {verb} {path}: {body}",
                        caller.name
                    );
                }
                if seeded && method != Method::GET {
                    assert!(
                        !status.is_success(),
                        "{} changed a seeded record: {verb} {path} → {status} {body}",
                        caller.name
                    );
                }
                assert!(
                    status != StatusCode::INTERNAL_SERVER_ERROR,
                    "{} {verb} {path}: {body}",
                    caller.name
                );
            }
        }
    }
    assert!(checked > 800, "{checked} calls");

    // The seeded records are all still there, unchanged.
    let (_, contact) = app
        .get_json(&format!("/api/v1/contacts/{}", ids["contacts"]))
        .await;
    assert_eq!(contact["version"], 1, "{contact}");
    assert_eq!(contact["deleted_at"], Value::Null);
}

/// A token is its user's policies intersected with its scopes: narrower scopes take away,
/// never add.
async fn tokens_are_their_users_policies_within_their_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = seed(&app).await;
    let token = |scopes: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .post_json(
                    "/api/v1/account/tokens",
                    &json!({"name": format!("t {scopes}"), "scopes": scopes}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let get = |token: String, path: String| {
        let app = &app;
        async move {
            split(
                app.anon
                    .get(app.url(&path))
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // The administrator reads everything; a contacts:read token of theirs reads contacts only.
    let narrow = token("contacts:read").await;
    let (status, body) = get(
        narrow.clone(),
        format!("/api/v1/contacts/{}", ids["contacts"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = get(narrow.clone(), format!("/api/v1/deals/{}", ids["deals"])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get(narrow, "/api/v1/users".to_owned()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another team's sales user: the broadest token still reads only what they may.
    let south = app
        .sign_in_with_roles("south@example.com", &["sales"], Some("south"), Some("cn"))
        .await;
    let (status, body) = south
        .post_json(
            "/api/v1/account/tokens",
            &json!({"name": "everything", "scopes": "*:read *:write"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let broad = body["token"].as_str().unwrap().to_owned();
    let (status, _) = get(
        broad.clone(),
        format!("/api/v1/contacts/{}", ids["contacts"]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, list) = get(broad, "/api/v1/contacts".to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains("Matrixwang"), "{list}");
}

on_both_backends!(
    every_operation_for_every_caller,
    tokens_are_their_users_policies_within_their_scopes,
);
