use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn product(app: &TestApp, body: Value) -> Value {
    let (status, json) = app.post_json("/api/v1/products", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

async fn order(app: &TestApp, body: Value) -> Value {
    let (status, json) = app.post_json("/api/v1/orders", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

async fn transition(app: &TestApp, order: &Value, version: i64, to: &str) -> (StatusCode, Value) {
    app.post_json(
        &format!(
            "/api/v1/orders/{}/transition",
            order["id"].as_str().unwrap()
        ),
        &json!({"version": version, "status": to}),
    )
    .await
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn product_catalogue_with_unique_skus(backend: Backend) {
    let app = spawn_app(backend).await;
    let diesel = product(
        &app,
        json!({"sku": " dsl-10ppm ", "name": "Diesel 10 ppm 柴油", "category": "Fuels",
               "list_price": "812.40", "currency": "usd", "unit": "t",
               "description": "EN 590 / 国VI"}),
    )
    .await;
    assert_eq!(diesel["sku"], "DSL-10PPM");
    assert_eq!(diesel["list_price"], "812.40");
    assert_eq!(diesel["currency"], "USD");
    assert_eq!(diesel["active"], true);
    // The same SKU in another spelling is the same product.
    let (status, body) = app
        .post_json(
            "/api/v1/products",
            &json!({"sku": "Dsl-10ppm", "name": "Copy", "list_price": "1", "currency": "USD", "unit": "t"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("sku_taken"))
    );
    for (body, code) in [
        (
            json!({"sku": "A B", "name": "x", "list_price": "1", "currency": "USD", "unit": "t"}),
            "invalid_sku",
        ),
        (
            json!({"sku": "A", "name": "x", "list_price": "1.001", "currency": "USD", "unit": "t"}),
            "invalid_amount",
        ),
        (
            json!({"sku": "A", "name": "x", "list_price": "1", "currency": "XXX", "unit": "t"}),
            "invalid_currency",
        ),
        (
            json!({"sku": "A", "name": "x", "list_price": "1", "currency": "USD", "unit": "crate"}),
            "invalid_unit",
        ),
        (
            json!({"sku": "A", "name": "", "list_price": "1", "currency": "USD", "unit": "t"}),
            "required",
        ),
    ] {
        let (status, reply) = app.post_json("/api/v1/products", &body).await;
        assert_eq!(
            (status, error_code(&reply)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}"
        );
    }
    let path = format!("/api/v1/products/{}", id(&diesel));
    let (status, patched) = app
        .patch_json(
            &path,
            &json!({"version": 1, "list_price": "799.95", "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["list_price"].as_str(), patched["active"].as_bool()),
        (Some("799.95"), Some(false))
    );
    let (status, body) = app
        .patch_json(&path, &json!({"version": 1, "name": "Late"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    product(&app, json!({"sku": "LUB-15W40", "name": "Engine oil 15W-40", "list_price": "4.10", "currency": "EUR", "unit": "l"})).await;
    let (_, page) = app.get_json("/api/v1/products?active=true").await;
    let skus: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["LUB-15W40"]);
    let (_, page) = app.get_json("/api/v1/products?q=diesel").await;
    assert_eq!(page["items"][0]["sku"], "DSL-10PPM");
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = app.get_json("/api/v1/products").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (status, restored) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(
        (status, restored["version"].as_i64()),
        (StatusCode::OK, Some(4))
    );
}

async fn order_totals_are_exact_decimals(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Gulf Refining"})).await;
    let crude = product(&app, json!({"sku": "CRUDE-BRENT", "name": "Brent crude", "list_price": "1250.00", "currency": "USD", "unit": "bbl"})).await;
    let o = order(
        &app,
        json!({"company_id": id(&company), "currency": "USD", "ordered_on": "2026-03-01", "lines": [
            {"product_id": id(&crude), "quantity": "1000.5", "discount": "2.5"},
            {"description": "Freight", "quantity": "1", "unit_price": "0.05", "discount": "50", "currency": "USD"},
            {"description": "Handling", "quantity": "1", "unit_price": "0.15", "discount": "50"},
        ]}),
    )
    .await;
    assert_eq!(o["status"], "draft");
    assert_eq!(o["number"], "SO-000001");
    let lines = o["lines"].as_array().unwrap();
    let amounts: Vec<(&str, &str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["quantity"].as_str().unwrap(),
                l["gross"].as_str().unwrap(),
                l["discount_amount"].as_str().unwrap(),
                l["total"].as_str().unwrap(),
            )
        })
        .collect();
    // 1000.5 × 1250.00 × 0.975 = 1219359.375 → half to even → .38; 0.025 → 0.02; 0.075 → 0.08.
    assert_eq!(
        amounts,
        [
            ("1000.5", "1250625.00", "31265.62", "1219359.38"),
            ("1", "0.05", "0.03", "0.02"),
            ("1", "0.15", "0.07", "0.08"),
        ]
    );
    assert_eq!(lines[0]["description"], "Brent crude");
    assert_eq!(lines[0]["unit_price"], "1250.00");
    assert_eq!(lines[0]["discount"], "2.5");
    assert_eq!(
        (
            o["subtotal"].as_str(),
            o["discount_total"].as_str(),
            o["total"].as_str()
        ),
        (Some("1250625.20"), Some("31265.72"), Some("1219359.48"))
    );
    // Read back from storage, the same exact strings.
    let (_, fetched) = app.get_json(&format!("/api/v1/orders/{}", id(&o))).await;
    assert_eq!(fetched["total"], "1219359.48");
    assert_eq!(fetched["lines"][0]["total"], "1219359.38");

    // A currency without minor units: ¥999 at 10 % = 899.1 → 899; 0.5 × ¥1 = 0.5 → 0 (to even).
    let yen = order(
        &app,
        json!({"company_id": id(&company), "currency": "JPY", "lines": [
            {"description": "Sample kit", "quantity": "3", "unit_price": "333", "discount": "10"},
            {"description": "Half unit", "quantity": "0.5", "unit_price": "1"},
        ]}),
    )
    .await;
    assert_eq!(
        (
            yen["subtotal"].as_str(),
            yen["discount_total"].as_str(),
            yen["total"].as_str()
        ),
        (Some("999"), Some("100"), Some("899"))
    );
    assert_eq!(yen["number"], "SO-000002");

    // The largest quantity at a fractional price and a tiny discount stays exact.
    let big = order(
        &app,
        json!({"company_id": id(&company), "currency": "USD", "lines": [
            {"description": "Bulk", "quantity": "1000000000", "unit_price": "12.34", "discount": "0.01"},
        ]}),
    )
    .await;
    assert_eq!(
        (
            big["subtotal"].as_str(),
            big["discount_total"].as_str(),
            big["total"].as_str()
        ),
        (
            Some("12340000000.00"),
            Some("1234000.00"),
            Some("12338766000.00")
        )
    );
    // KWD has three decimals: 2.5 × 1.005 = 2.5125 → 2.512 (half to even).
    let kwd = order(
        &app,
        json!({"company_id": id(&company), "currency": "KWD", "lines": [
            {"description": "Gasket", "quantity": "2.5", "unit_price": "1.005"},
        ]}),
    )
    .await;
    assert_eq!(kwd["total"], "2.512");
}

async fn bad_orders_are_refused_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Harbin Foods"})).await;
    let flour = product(&app, json!({"sku": "FLOUR-T55", "name": "Flour T55", "list_price": "3.20", "currency": "CNY", "unit": "kg"})).await;
    let euro = product(&app, json!({"sku": "VALVE-DN50", "name": "Ball valve DN50", "list_price": "120.00", "currency": "EUR", "unit": "each"})).await;
    let retired = product(&app, json!({"sku": "OLD-1", "name": "Retired", "list_price": "1.00", "currency": "CNY", "unit": "each", "active": false})).await;
    let ok_line = json!({"product_id": id(&flour), "quantity": "10"});
    let with_line = |line: Value| json!({"company_id": id(&company), "currency": "CNY", "lines": [ok_line.clone(), line]});
    let many: Vec<Value> = (0..201).map(|_| ok_line.clone()).collect();
    let cases = [
        (
            with_line(json!({"product_id": id(&flour), "quantity": "-5"})),
            "lines[1].quantity",
            "negative_quantity",
        ),
        (
            with_line(json!({"product_id": id(&flour), "quantity": "0"})),
            "lines[1].quantity",
            "invalid_quantity",
        ),
        (
            with_line(json!({"product_id": id(&flour), "quantity": "1.2345"})),
            "lines[1].quantity",
            "invalid_quantity",
        ),
        (
            with_line(json!({"product_id": id(&flour), "quantity": "2", "currency": "USD"})),
            "lines[1].currency",
            "currency_mismatch",
        ),
        (
            with_line(json!({"product_id": id(&euro), "quantity": "2"})),
            "lines[1].unit_price",
            "currency_mismatch",
        ),
        (
            with_line(json!({"product_id": id(&retired), "quantity": "2"})),
            "lines[1].product_id",
            "inactive_product",
        ),
        (
            with_line(
                json!({"product_id": "0190d5e4-0000-7000-8000-000000000000", "quantity": "2"}),
            ),
            "lines[1].product_id",
            "unknown_product",
        ),
        (
            with_line(json!({"description": "Ad hoc", "quantity": "2"})),
            "lines[1].unit_price",
            "unit_price_required",
        ),
        (
            with_line(json!({"product_id": id(&flour), "quantity": "1", "discount": "100.5"})),
            "lines[1].discount",
            "invalid_discount",
        ),
        (
            with_line(
                json!({"description": "Huge", "quantity": "1000000000", "unit_price": "1000000000000"}),
            ),
            "lines[1]",
            "line_total_too_large",
        ),
        (
            json!({"company_id": id(&company), "currency": "CNY", "lines": many}),
            "lines",
            "too_many_lines",
        ),
        (
            json!({"currency": "CNY", "lines": [ok_line.clone()]}),
            "contact_id",
            "customer_required",
        ),
        (
            json!({"company_id": "0190d5e4-0000-7000-8000-000000000000", "currency": "CNY"}),
            "company_id",
            "unknown_company",
        ),
    ];
    for (body, field, code) in cases {
        let (status, reply) = app.post_json("/api/v1/orders", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {reply}");
        let details = reply["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["field"] == field && d["code"] == code),
            "{code} at {field}: {reply}"
        );
    }
    // Several problems are reported at once.
    let (_, reply) = app
        .post_json(
            "/api/v1/orders",
            &json!({"company_id": id(&company), "currency": "CNY", "lines": [
                {"product_id": id(&flour), "quantity": "-1"},
                {"product_id": id(&euro), "quantity": "1"},
            ]}),
        )
        .await;
    assert_eq!(reply["details"].as_array().unwrap().len(), 2, "{reply}");
    // Nothing was written, not even an order number.
    let (_, all) = app.get_json("/api/v1/orders?deleted=include").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 0, "{all}");
    let (_, history) = app
        .get_json(&format!("/api/v1/companies/{}/purchases", id(&company)))
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 0);
    // The positive control: an explicit price in the order's currency makes the euro product fine.
    let good = order(
        &app,
        json!({"company_id": id(&company), "currency": "CNY", "lines": [
            ok_line, {"product_id": id(&euro), "quantity": "1", "unit_price": "930.00"}
        ]}),
    )
    .await;
    assert_eq!(good["number"], "SO-000001");
    assert_eq!(good["total"], "962.00");
    // A failed edit leaves the order and its lines as they were.
    let (status, reply) = app
        .patch_json(
            &format!("/api/v1/orders/{}", id(&good)),
            &json!({"version": 1, "lines": [{"product_id": id(&flour), "quantity": "-1"}]}),
        )
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("negative_quantity"))
    );
    let (_, fetched) = app.get_json(&format!("/api/v1/orders/{}", id(&good))).await;
    assert_eq!(
        (fetched["version"].as_i64(), fetched["line_count"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(fetched["total"], "962.00");
}

async fn order_status_transitions(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Zhang Wei"})).await;
    let o = order(
        &app,
        json!({"contact_id": id(&contact), "currency": "EUR", "notes": "Deliver via Rotterdam",
               "lines": [{"description": "Pump seal kit", "quantity": "4", "unit_price": "25.00"}]}),
    )
    .await;
    assert_eq!(o["notes"], "Deliver via Rotterdam");
    let path = format!("/api/v1/orders/{}", id(&o));
    // Drafts are edited; lines are replaced as a whole, version-checked.
    let (status, edited) = app
        .patch_json(
            &path,
            &json!({"version": 1, "lines": [
                {"description": "Pump seal kit", "quantity": "2", "unit_price": "25.00"},
                {"description": "Bearing", "quantity": "1", "unit_price": "9.99"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["line_count"].as_i64(), edited["total"].as_str()),
        (Some(2), Some("59.99"))
    );
    assert_eq!(edited["notes"], "Deliver via Rotterdam", "notes are kept");
    let (status, body) = app
        .patch_json(&path, &json!({"version": 1, "notes": "late"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    let (status, body) = transition(&app, &o, 2, "paid").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (status, body) = transition(&app, &o, 2, "shipped").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_status"))
    );
    let (status, placed) = transition(&app, &o, 2, "placed").await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    assert_eq!(placed["status"], "placed");
    assert!(placed["placed_at"].is_string());
    // Once placed, no edits and no deletion; only transitions.
    let (status, body) = app
        .patch_json(&path, &json!({"version": 3, "notes": "x"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("order_not_draft"))
    );
    let (status, body) = app.delete(&path).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("order_not_deletable"))
    );
    let (status, body) = transition(&app, &o, 2, "paid").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("stale_version"))
    );
    let mut version = 3;
    for to in ["paid", "fulfilled", "refunded"] {
        let (status, body) = transition(&app, &o, version, to).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some(to)),
            "{body}"
        );
        version = body["version"].as_i64().unwrap();
        assert!(body[format!("{to}_at")].is_string());
    }
    for to in ["paid", "placed", "cancelled", "fulfilled"] {
        let (status, body) = transition(&app, &o, version, to).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::CONFLICT, Some("invalid_transition")),
            "{to}"
        );
    }
    // An empty draft cannot be placed, but can be cancelled and then deleted and restored.
    let empty = order(&app, json!({"contact_id": id(&contact), "currency": "EUR"})).await;
    let (status, body) = transition(&app, &empty, 1, "placed").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("order_empty"))
    );
    let (status, _) = transition(&app, &empty, 1, "cancelled").await;
    assert_eq!(status, StatusCode::OK);
    let empty_path = format!("/api/v1/orders/{}", id(&empty));
    let (status, _) = app.delete(&empty_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .post_json(&format!("{empty_path}/restore"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, drafts) = app.get_json("/api/v1/orders?status=cancelled").await;
    assert_eq!(drafts["items"].as_array().unwrap().len(), 1);
    assert!(drafts["items"][0].get("notes").is_none() && drafts["items"][0].get("lines").is_none());
}

async fn customer_totals_count_only_real_orders(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Sino Petro"})).await;
    let contact = app
        .create_contact(json!({"name": "Li Na", "company_id": id(&company)}))
        .await;
    let other = app.create_contact(json!({"name": "Someone else"})).await;
    let line =
        |price: &str| json!([{"description": "Goods", "quantity": "1", "unit_price": price}]);
    let make = |currency: &str, price: &str, on: &str, who: Value| {
        let mut body = json!({"currency": currency, "ordered_on": on, "lines": line(price)});
        for (k, v) in who.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let by_contact = json!({"contact_id": id(&contact)});
    let steps: &[(&str, &str, &str, &[&str])] = &[
        ("USD", "100.00", "2026-01-10", &["placed"]),
        ("USD", "50.50", "2026-02-10", &["placed", "paid"]),
        (
            "CNY",
            "10.00",
            "2026-03-10",
            &["placed", "paid", "fulfilled"],
        ),
        ("USD", "999.00", "2026-04-10", &[]),
        ("USD", "1000.00", "2026-05-10", &["cancelled"]),
        ("USD", "7.00", "2026-06-10", &["placed", "paid", "refunded"]),
    ];
    for (currency, price, on, path) in steps {
        let o = order(&app, make(currency, price, on, by_contact.clone())).await;
        let mut version = 1;
        for to in *path {
            let (status, body) = transition(&app, &o, version, to).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            version = body["version"].as_i64().unwrap();
        }
    }
    // The contact's company got the orders too; one more for the company alone, one for another.
    let company_order = order(
        &app,
        make(
            "EUR",
            "20.00",
            "2026-07-01",
            json!({"company_id": id(&company)}),
        ),
    )
    .await;
    transition(&app, &company_order, 1, "placed").await;
    let stranger = order(
        &app,
        make(
            "USD",
            "5.00",
            "2026-07-02",
            json!({"contact_id": id(&other)}),
        ),
    )
    .await;
    transition(&app, &stranger, 1, "placed").await;

    let (status, mine) = app
        .get_json(&format!(
            "/api/v1/contacts/{}/purchases?limit=4",
            id(&contact)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["summary"]["order_count"], 3);
    assert_eq!(
        mine["summary"]["totals"],
        json!([{"currency": "CNY", "orders": 1, "amount": "10.00"}, {"currency": "USD", "orders": 2, "amount": "150.50"}])
    );
    assert_eq!(mine["summary"]["last_ordered_on"], "2026-03-10");
    assert_eq!(
        mine["summary"]["counted_statuses"],
        json!(["placed", "paid", "fulfilled"])
    );
    // The history lists every order, newest first, paginated.
    let dates: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["ordered_on"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2026-06-10", "2026-05-10", "2026-04-10", "2026-03-10"]
    );
    let cursor = mine["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get_json(&format!(
            "/api/v1/contacts/{}/purchases?limit=4&cursor={cursor}",
            id(&contact)
        ))
        .await;
    let dates: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["ordered_on"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-02-10", "2026-01-10"]);
    assert!(rest.get("next_cursor").is_none());

    let (_, theirs) = app
        .get_json(&format!("/api/v1/companies/{}/purchases", id(&company)))
        .await;
    assert_eq!(theirs["summary"]["order_count"], 4);
    assert_eq!(
        theirs["summary"]["totals"][1],
        json!({"currency": "EUR", "orders": 1, "amount": "20.00"})
    );
    assert_eq!(theirs["summary"]["last_ordered_on"], "2026-07-01");
    assert_eq!(theirs["items"].as_array().unwrap().len(), 7);
    let (status, _) = app
        .get_json("/api/v1/contacts/0190d5e4-0000-7000-8000-000000000000/purchases")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn product_interests_on_contacts(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "王芳"})).await;
    let p = product(&app, json!({"sku": "LUB-HYD46", "name": "Hydraulic oil 46", "list_price": "3.00", "currency": "USD", "unit": "l"})).await;
    let path = format!("/api/v1/contacts/{}/product-interests", id(&contact));
    let (status, body) = app
        .post_json(&path, &json!({"product_id": id(&p), "level": "medium"}))
        .await;
    assert_eq!(
        (status, body["level"].as_str()),
        (StatusCode::OK, Some("medium")),
        "{body}"
    );
    let (status, body) = app
        .post_json(&path, &json!({"product_id": id(&p), "level": "high"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = app.get_json(&path).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "re-recording replaces: {list}");
    assert_eq!(
        (items[0]["level"].as_str(), items[0]["sku"].as_str()),
        (Some("high"), Some("LUB-HYD46"))
    );
    let (status, body) = app
        .post_json(&path, &json!({"product_id": id(&p), "level": "keen"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_level"))
    );
    let (status, body) = app
        .post_json(
            &path,
            &json!({"product_id": "0190d5e4-0000-7000-8000-000000000000", "level": "low"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_product"))
    );
    let (status, _) = app.delete(&format!("{path}/{}", id(&p))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.delete(&format!("{path}/{}", id(&p))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get_json(&path).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

on_both_backends!(
    product_catalogue_with_unique_skus,
    order_totals_are_exact_decimals,
    bad_orders_are_refused_and_write_nothing,
    order_status_transitions,
    customer_totals_count_only_real_orders,
    product_interests_on_contacts,
);
