use custodian_store::repo;
use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Creates a definition and returns it (asserting 201).
pub(crate) async fn define(app: &TestApp, body: Value) -> Value {
    let (status, field) = app.post_json("/api/v1/custom-fields", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{field}");
    field
}

fn text_field(entity: &str, key: &str, classification: &str) -> Value {
    json!({"entity": entity, "key": key, "label_en": format!("Label {key}"),
           "label_zh": format!("标签 {key}"), "type": "text", "classification": classification})
}

/// One field of each type on contacts.
pub(crate) async fn define_contact_fields(app: &TestApp) {
    define(
        app,
        json!({"entity": "contact", "key": "region_code", "label_en": "Region code",
               "label_zh": "区域代码", "help_en": "Two letters", "help_zh": "两个字母",
               "type": "text", "max_length": 8, "classification": "internal"}),
    )
    .await;
    define(
        app,
        json!({"entity": "contact", "key": "credit_limit", "label_en": "Credit limit",
               "label_zh": "信用额度", "type": "number", "decimals": 2, "min": "0",
               "max": "1000000", "classification": "internal"}),
    )
    .await;
    define(
        app,
        json!({"entity": "contact", "key": "birthday", "label_en": "Birthday",
               "label_zh": "生日", "type": "date", "classification": "personal"}),
    )
    .await;
    define(
        app,
        json!({"entity": "contact", "key": "tier", "label_en": "Tier", "label_zh": "等级",
               "type": "choice", "classification": "internal", "options": [
                   {"value": "gold", "label_en": "Gold", "label_zh": "金牌"},
                   {"value": "silver", "label_en": "Silver", "label_zh": "银牌"}]}),
    )
    .await;
    define(
        app,
        json!({"entity": "contact", "key": "newsletter", "label_en": "Newsletter",
               "label_zh": "订阅通讯", "type": "boolean", "classification": "public"}),
    )
    .await;
}

async fn definitions_are_administered_by_administrators(backend: Backend) {
    let app = spawn_app(backend).await;
    let field = define(&app, text_field("contact", "region_code", "internal")).await;
    assert_eq!(
        (
            field["key"].as_str(),
            field["type"].as_str(),
            field["version"].as_i64()
        ),
        (Some("region_code"), Some("text"), Some(1))
    );
    assert_eq!(field["max_length"], 255, "default text length");
    define(&app, text_field("company", "region_code", "internal")).await;
    let id = field["id"].as_str().unwrap();
    let path = format!("/api/v1/custom-fields/{id}");

    // The key is unique per entity (the same key on companies was fine).
    let (status, body) = app
        .post_json(
            "/api/v1/custom-fields",
            &text_field("contact", "region_code", "public"),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("custom_field_key_taken"))
    );
    // Bad definitions name each problem.
    let (status, body) = app
        .post_json(
            "/api/v1/custom-fields",
            &json!({"entity": "lead", "key": "Bad Key", "label_en": "", "label_zh": "x",
                    "type": "money", "classification": "secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let codes: Vec<(&str, &str)> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap(), d["code"].as_str().unwrap()))
        .collect();
    for expected in [
        ("entity", "invalid_entity"),
        ("key", "invalid_key"),
        ("label_en", "required"),
        ("type", "invalid_field_type"),
        ("classification", "invalid_classification"),
    ] {
        assert!(codes.contains(&expected), "{expected:?} in {codes:?}");
    }
    let (status, body) = app
        .post_json(
            "/api/v1/custom-fields",
            &json!({"entity": "deal", "key": "size", "label_en": "Size", "label_zh": "规模",
                    "type": "number", "decimals": 9, "classification": "internal"}),
        )
        .await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_decimals"))
    );
    let (status, body) = app
        .post_json(
            "/api/v1/custom-fields",
            &json!({"entity": "deal", "key": "kind", "label_en": "Kind", "label_zh": "种类",
                    "type": "choice", "classification": "internal", "options": []}),
        )
        .await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("options_required"))
    );

    // Versioned edits; the key cannot be sent.
    let (status, patched) = app
        .patch_json(
            &path,
            &json!({"version": 1, "label_zh": "地区代码", "required": true, "max_length": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (
            patched["label_zh"].as_str(),
            patched["required"].as_bool(),
            patched["max_length"].as_i64(),
            patched["version"].as_i64()
        ),
        (Some("地区代码"), Some(true), Some(10), Some(2))
    );
    let (status, body) = app
        .patch_json(&path, &json!({"version": 1, "label_en": "Late"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    let (status, _) = app
        .patch_json(&path, &json!({"version": 2, "key": "renamed"}))
        .await;
    assert!(status.is_client_error(), "the key is immutable: {status}");
    let (_, fetched) = app.get_json(&path).await;
    assert_eq!(
        (fetched["key"].as_str(), fetched["version"].as_i64()),
        (Some("region_code"), Some(2))
    );

    // Lists filter by entity; archived fields leave the default list.
    let (_, contacts) = app.get_json("/api/v1/custom-fields?entity=contact").await;
    assert_eq!(contacts["items"].as_array().unwrap().len(), 1);
    let (_, all) = app.get_json("/api/v1/custom-fields").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (status, archived) = app.post_json(&format!("{path}/archive"), &json!({})).await;
    assert_eq!(
        (status, archived["archived"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (_, contacts) = app.get_json("/api/v1/custom-fields?entity=contact").await;
    assert_eq!(contacts["items"].as_array().unwrap().len(), 0);
    let (_, contacts) = app
        .get_json("/api/v1/custom-fields?entity=contact&archived=true")
        .await;
    assert_eq!(contacts["items"].as_array().unwrap().len(), 1);
    let (status, restored) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(
        (status, restored["archived"].as_bool()),
        (StatusCode::OK, Some(false))
    );

    // A non-administrator reads definitions (forms need them) but changes none.
    let staff = app.sign_in_new_user("staff@example.com").await;
    let (status, list) = staff.get_json("/api/v1/custom-fields?entity=contact").await;
    assert_eq!(
        (status, list["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (status, body) = staff
        .post_json(
            "/api/v1/custom-fields",
            &text_field("deal", "anything", "internal"),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let response = staff
        .request(Method::PATCH, &path)
        .json(&json!({"version": 3, "label_en": "Hijacked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, _) = staff
        .post_json(&format!("{path}/archive"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, fetched) = app.get_json(&path).await;
    assert_eq!(
        (fetched["label_en"].as_str(), fetched["archived"].as_bool()),
        (Some("Label region_code"), Some(false))
    );
    // …but sets values on records like anyone who can edit them.
    let patched = app
        .patch_json(&path, &json!({"version": 4, "required": false}))
        .await;
    assert_eq!(patched.0, StatusCode::OK, "{}", patched.1);
    let (status, contact) = staff
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "Staff Made", "custom_fields": {"region_code": "CN"}}),
        )
        .await;
    assert_eq!(
        (status, contact["custom_fields"]["region_code"].as_str()),
        (StatusCode::CREATED, Some("CN")),
        "{contact}"
    );
}

async fn an_entity_has_at_most_fifty_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..50 {
        define(&app, text_field("deal", &format!("f{i}"), "internal")).await;
    }
    let (status, body) = app
        .post_json(
            "/api/v1/custom-fields",
            &text_field("deal", "one_more", "internal"),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("custom_field_limit"))
    );
    // Other entities have their own allowance.
    define(&app, text_field("company", "one_more", "internal")).await;
}

async fn values_round_trip_for_every_type(backend: Backend) {
    let app = spawn_app(backend).await;
    define_contact_fields(&app).await;
    let contact = app
        .create_contact(json!({"name": "Zhao Lei", "custom_fields": {
            "region_code": "CN-SH", "credit_limit": 2500.5, "birthday": "1980-02-29",
            "tier": "gold", "newsletter": true}}))
        .await;
    let expected = json!({"region_code": "CN-SH", "credit_limit": "2500.50",
        "birthday": "1980-02-29", "tier": "gold", "newsletter": true});
    assert_eq!(contact["custom_fields"], expected);
    let id = contact["id"].as_str().unwrap();
    let path = format!("/api/v1/contacts/{id}");
    let (_, fetched) = app.get_json(&path).await;
    assert_eq!(fetched["custom_fields"], expected);

    // A number as an exact decimal string; null clears; keys left out stay.
    let (status, patched) = app
        .patch_json(
            &path,
            &json!({"version": 1, "custom_fields": {"credit_limit": "999999.99",
                    "tier": null, "newsletter": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let expected = json!({"region_code": "CN-SH", "credit_limit": "999999.99",
        "birthday": "1980-02-29", "newsletter": false});
    assert_eq!(patched["custom_fields"], expected);
    let (_, fetched) = app.get_json(&path).await;
    assert_eq!(fetched["custom_fields"], expected);
    assert_eq!(fetched["version"], 2);

    // Lists carry the plain values only: the personal birthday stays on the detail view.
    let (_, list) = app.get_json("/api/v1/contacts").await;
    assert_eq!(
        list["items"][0]["custom_fields"],
        json!({"region_code": "CN-SH", "credit_limit": "999999.99", "newsletter": false})
    );

    // Companies and deals: a personal company field under the organisation key.
    define(&app, text_field("company", "tax_id", "personal")).await;
    define(
        &app,
        json!({"entity": "deal", "key": "probability_bp", "label_en": "Basis points",
               "label_zh": "基点", "type": "number", "classification": "internal"}),
    )
    .await;
    let company = app
        .create_company(json!({"name": "Sino Petro", "custom_fields": {"tax_id": "91310000X"}}))
        .await;
    assert_eq!(company["custom_fields"]["tax_id"], "91310000X");
    let (_, fetched) = app
        .get_json(&format!(
            "/api/v1/companies/{}",
            company["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(fetched["custom_fields"]["tax_id"], "91310000X");
    let (_, companies) = app.get_json("/api/v1/companies").await;
    assert_eq!(companies["items"][0]["custom_fields"], json!({}));
    app.create_pipeline("Sales", &[("Lead", 10)]).await;
    let deal = app
        .create_deal(json!({"title": "Compressor", "custom_fields": {"probability_bp": -42}}))
        .await;
    assert_eq!(deal["custom_fields"]["probability_bp"], "-42");
    let deal_path = format!("/api/v1/deals/{}", deal["id"].as_str().unwrap());
    let (status, patched) = app
        .patch_json(
            &deal_path,
            &json!({"version": 1, "custom_fields": {"probability_bp": "7"}}),
        )
        .await;
    assert_eq!(
        (status, patched["custom_fields"]["probability_bp"].as_str()),
        (StatusCode::OK, Some("7"))
    );
    let (_, deals) = app.get_json("/api/v1/deals").await;
    assert_eq!(deals["items"][0]["custom_fields"]["probability_bp"], "7");
}

/// Every row of `custom_field_values`, read straight from the database.
async fn stored_value_count(app: &TestApp) -> usize {
    let conn = app.core.store().conn();
    let mut total = 0;
    for field in repo::custom_fields::list(conn, None).await.unwrap() {
        total += repo::custom_fields::values_of_field(conn, field.id)
            .await
            .unwrap()
            .len();
    }
    total
}

async fn wrong_values_are_refused_with_specific_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    define_contact_fields(&app).await;
    let cases = [
        ("region_code", json!(42), "expected_text"),
        ("region_code", json!("ABCDEFGHIJK"), "too_long"),
        ("region_code", json!("a\u{7}b"), "invalid_characters"),
        ("credit_limit", json!(true), "expected_number"),
        ("credit_limit", json!("12,5"), "invalid_number"),
        ("credit_limit", json!("1e3"), "invalid_number"),
        ("credit_limit", json!("1.234"), "too_many_decimals"),
        ("credit_limit", json!(-1), "below_minimum"),
        ("credit_limit", json!("1000000.01"), "above_maximum"),
        ("birthday", json!(19800229), "expected_date"),
        ("birthday", json!("1980-02-30"), "invalid_date"),
        ("tier", json!(["gold"]), "expected_choice"),
        ("tier", json!("platinum"), "unknown_option"),
        ("newsletter", json!("yes"), "expected_boolean"),
        ("no_such_field", json!("x"), "unknown_custom_field"),
    ];
    for (key, value, code) in &cases {
        let (status, body) = app
            .post_json(
                "/api/v1/contacts",
                &json!({"name": "Never Stored", "custom_fields": {*key: value}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{key}: {body}");
        assert_eq!(
            body["details"],
            json!([{"field": format!("custom_fields.{key}"), "code": code,
                    "message": body["details"][0]["message"]}]),
            "{key} = {value}"
        );
        assert!(
            !body.to_string().contains("platinum") && !body.to_string().contains("ABCDEFGH"),
            "the rejected value is not echoed"
        );
    }
    // Built-in and custom problems are reported together.
    let (status, body) = app
        .post_json(
            "/api/v1/contacts",
            &json!({"name": "", "custom_fields": {"tier": "platinum"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "custom_fields.tier"]);

    // Nothing was written: no contact, no value.
    let conn = app.core.store().conn();
    let page = repo::contacts::list(
        conn,
        &repo::contacts::Filter {
            deleted: repo::Deleted::Include,
            ..Default::default()
        },
        repo::contacts::Sort::Created,
        custodian_store::page::Direction::Asc,
        None,
        10,
    )
    .await
    .unwrap();
    assert!(page.items.is_empty(), "no contact was stored");
    assert_eq!(stored_value_count(&app).await, 0);

    // A required field must be there on create, and cannot be cleared later.
    let (_, tier) = app.get_json("/api/v1/custom-fields?entity=contact").await;
    let tier = tier["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "tier")
        .unwrap()
        .clone();
    let (status, _) = app
        .patch_json(
            &format!("/api/v1/custom-fields/{}", tier["id"].as_str().unwrap()),
            &json!({"version": 1, "required": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .post_json("/api/v1/contacts", &json!({"name": "No Tier"}))
        .await;
    assert_eq!(
        (
            status,
            body["details"][0]["field"].as_str(),
            body["details"][0]["code"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("custom_fields.tier"),
            Some("required")
        )
    );
    let contact = app
        .create_contact(
            json!({"name": "Has Tier", "custom_fields": {"tier": "silver",
            "region_code": "EU"}}),
        )
        .await;
    let path = format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap());
    let before = stored_value_count(&app).await;
    assert_eq!(before, 2);
    // A bad value in a patch leaves the record and its values as they were, even when the
    // patch also changes other fields.
    for body in [
        json!({"version": 1, "name": "Renamed", "custom_fields": {"tier": null}}),
        json!({"version": 1, "name": "Renamed", "custom_fields": {"region_code": "EU-WEST-12345"}}),
        json!({"version": 1, "name": "Renamed", "custom_fields": {"credit_limit": "abc", "region_code": null}}),
    ] {
        let (status, err) = app.patch_json(&path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    }
    let (_, fetched) = app.get_json(&path).await;
    assert_eq!(
        (
            fetched["name"].as_str(),
            fetched["version"].as_i64(),
            &fetched["custom_fields"]
        ),
        (
            Some("Has Tier"),
            Some(1),
            &json!({"tier": "silver", "region_code": "EU"})
        )
    );
    assert_eq!(stored_value_count(&app).await, before);
}

async fn type_and_classification_are_locked_once_values_exist(backend: Backend) {
    let app = spawn_app(backend).await;
    define_contact_fields(&app).await;
    let (_, fields) = app.get_json("/api/v1/custom-fields?entity=contact").await;
    let id_of = |key: &str| {
        fields["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let region = format!("/api/v1/custom-fields/{}", id_of("region_code"));
    let tier = format!("/api/v1/custom-fields/{}", id_of("tier"));
    let credit = format!("/api/v1/custom-fields/{}", id_of("credit_limit"));

    // Without values, anything may change.
    let (status, body) = app
        .patch_json(
            &region,
            &json!({"version": 1, "type": "choice", "classification": "personal",
                    "options": [{"value": "cn", "label_en": "China", "label_zh": "中国"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .patch_json(
            &region,
            &json!({"version": 2, "type": "text", "classification": "internal"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    app.create_contact(json!({"name": "Holder", "custom_fields": {
        "region_code": "CN", "tier": "gold", "credit_limit": "5"}}))
        .await;
    let refused = [
        (
            &region,
            json!({"version": 3, "type": "number"}),
            "custom_field_type_locked",
        ),
        (
            &credit,
            json!({"version": 1, "decimals": 3}),
            "custom_field_type_locked",
        ),
        (
            &region,
            json!({"version": 3, "classification": "personal"}),
            "custom_field_classification_locked",
        ),
        (
            &tier,
            json!({"version": 1, "options": [
            {"value": "silver", "label_en": "Silver", "label_zh": "银牌"}]}),
            "option_in_use",
        ),
    ];
    for (path, body, code) in refused {
        let (status, err) = app.patch_json(path, &body).await;
        assert_eq!(
            (status, error_code(&err)),
            (StatusCode::CONFLICT, Some(code)),
            "{body}"
        );
    }
    let (_, region_now) = app.get_json(&region).await;
    assert_eq!(
        (
            region_now["type"].as_str(),
            region_now["classification"].as_str(),
            region_now["version"].as_i64()
        ),
        (Some("text"), Some("internal"), Some(3))
    );
    // Within one storage class the classification may change; options may be renamed,
    // added and re-ordered, and an unused one removed.
    let (status, _) = app
        .patch_json(&region, &json!({"version": 3, "classification": "public"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .patch_json(
            &tier,
            &json!({"version": 1, "options": [
                {"value": "platinum", "label_en": "Platinum", "label_zh": "白金"},
                {"value": "gold", "label_en": "Gold (legacy)", "label_zh": "金牌（旧）"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["options"][1]["label_en"], "Gold (legacy)");
    assert_eq!(body["options"].as_array().unwrap().len(), 2);
}

async fn archived_fields_keep_their_values(backend: Backend) {
    let app = spawn_app(backend).await;
    define_contact_fields(&app).await;
    let contact = app
        .create_contact(
            json!({"name": "Keeper", "custom_fields": {"tier": "gold", "birthday": "1990-01-01"}}),
        )
        .await;
    let (_, fields) = app.get_json("/api/v1/custom-fields?entity=contact").await;
    for field in fields["items"].as_array().unwrap() {
        if field["key"] == "tier" || field["key"] == "birthday" {
            let (status, _) = app
                .post_json(
                    &format!(
                        "/api/v1/custom-fields/{}/archive",
                        field["id"].as_str().unwrap()
                    ),
                    &json!({}),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    let path = format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap());
    let (_, fetched) = app.get_json(&path).await;
    assert_eq!(
        fetched["custom_fields"],
        json!({"tier": "gold", "birthday": "1990-01-01"})
    );
    // An archived field's value is kept but not changed.
    let (status, body) = app
        .patch_json(
            &path,
            &json!({"version": 1, "custom_fields": {"tier": "silver"}}),
        )
        .await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("custom_field_archived")
        )
    );
    // Other edits leave it alone.
    let (status, body) = app
        .patch_json(&path, &json!({"version": 1, "job_title": "Buyer"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["custom_fields"]["tier"], "gold");
}

async fn contacts_filter_by_a_plain_custom_value(backend: Backend) {
    let app = spawn_app(backend).await;
    define_contact_fields(&app).await;
    for (name, tier, newsletter) in [
        ("A", "gold", true),
        ("B", "silver", true),
        ("C", "gold", false),
    ] {
        app.create_contact(
            json!({"name": name, "custom_fields": {"tier": tier, "newsletter": newsletter}}),
        )
        .await;
    }
    let names = |body: &Value| -> Vec<String> {
        let mut names: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let (status, body) = app
        .get_json("/api/v1/contacts?cf_key=tier&cf_value=gold")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body), ["A", "C"]);
    let (_, body) = app
        .get_json("/api/v1/contacts?cf_key=newsletter&cf_value=true")
        .await;
    assert_eq!(names(&body), ["A", "B"]);
    // Encrypted values cannot be filtered on; a bad value is named.
    let (status, body) = app
        .get_json("/api/v1/contacts?cf_key=birthday&cf_value=1990-01-01")
        .await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("custom_field_not_filterable")
        )
    );
    let (status, body) = app
        .get_json("/api/v1/contacts?cf_key=tier&cf_value=bronze")
        .await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_option"))
    );
}

async fn a_moved_custom_ciphertext_fails_closed(backend: Backend) {
    let app = spawn_app(backend).await;
    for key in ["first_secret", "second_secret"] {
        define(&app, text_field("contact", key, "sensitive")).await;
    }
    let contact = app
        .create_contact(json!({"name": "Moved", "custom_fields": {
            "first_secret": "alpha value", "second_secret": "beta value"}}))
        .await;
    let id: uuid::Uuid = contact["id"].as_str().unwrap().parse().unwrap();
    let conn = app.core.store().conn();
    let rows = repo::custom_fields::values_of(conn, &[id]).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.value_text.is_none() && r.value_ct.is_some())
    );
    // The first field's ciphertext under the second field: same record, same key, but the
    // AAD binds the field id.
    let mut moved = rows[1].clone();
    moved.value_ct = rows[0].value_ct.clone();
    repo::custom_fields::replace(
        app.core.store().writer(),
        id,
        &[moved.field_id],
        vec![moved],
    )
    .await
    .unwrap();
    let (status, body) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("data_integrity"))
    );
    assert!(!body.to_string().contains("value"), "no data in the error");
    // Lists do not decrypt personal values, so they still work.
    let (status, _) = app.get_json("/api/v1/contacts").await;
    assert_eq!(status, StatusCode::OK);
}

on_both_backends!(
    definitions_are_administered_by_administrators,
    an_entity_has_at_most_fifty_fields,
    values_round_trip_for_every_type,
    wrong_values_are_refused_with_specific_codes,
    type_and_classification_are_locked_once_values_exist,
    archived_fields_keep_their_values,
    contacts_filter_by_a_plain_custom_value,
    a_moved_custom_ciphertext_fails_closed,
);
