//! The order, product and purchase-history pages over real HTTP, in both languages.

use custodian_testkit::{Backend, TestApp, on_both_backends, spawn_app};
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

async fn order_pages_and_purchase_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Gulf Refining"})).await;
    let contact = app
        .create_contact(json!({"name": "Li Na", "company_id": company["id"]}))
        .await;
    let (_, product) = app
        .post_json(
            "/api/v1/products",
            &json!({"sku": "CRUDE-BRENT", "name": "Brent crude", "list_price": "1250.00", "currency": "USD", "unit": "bbl"}),
        )
        .await;
    let (status, order) = app
        .post_json(
            "/api/v1/orders",
            &json!({"contact_id": contact["id"], "currency": "USD", "ordered_on": "2026-03-01", "lines": [
                {"product_id": product["id"], "quantity": "1000.5", "discount": "2.5"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_str().unwrap();
    let (status, _) = app
        .post_json(
            &format!("/api/v1/orders/{id}/transition"),
            &json!({"version": 1, "status": "placed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    for (lang, title, placed) in [
        ("en", "Purchase history", "Placed"),
        ("zh-CN", "购买记录", "已下单"),
    ] {
        let (status, html) = page(&app, &format!("/orders/{id}"), lang).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("SO-000001"));
        assert!(html.contains("USD 1,219,359.38"), "{html}");
        assert!(html.contains(placed));
        assert!(
            html.contains("action=\"/orders/") && html.contains("name=\"status\" value=\"paid\"")
        );
        assert!(html.contains("name=\"_csrf\""));
        assert!(
            !html.contains("id=\"edit-order\""),
            "placed orders are not edited"
        );

        let contact_path = format!("/contacts/{}", contact["id"].as_str().unwrap());
        let (status, html) = page(&app, &contact_path, lang).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(title), "{lang}");
        assert!(html.contains("id=\"purchase-count\">1<"), "{html}");
        assert!(html.contains("USD 1,219,359.38"));
        assert!(html.contains("id=\"interest-form\""));
        let company_path = format!("/companies/{}", company["id"].as_str().unwrap());
        let (_, html) = page(&app, &company_path, lang).await;
        assert!(html.contains(title) && html.contains("SO-000001"));
        assert!(!html.contains("id=\"interest-form\""));
        let (status, html) = page(&app, "/orders/new", lang).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            html.matches("name=\"line_quantity\"").count(),
            3,
            "blank lines without JS"
        );
        assert!(!html.contains("<script>") && !html.contains("hx-on"));
        let (status, html) = page(&app, "/products", lang).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("CRUDE-BRENT"));
    }

    // The form: two lines, one with a negative quantity, re-rendered with the message at its row
    // and nothing written.
    let form = [
        ("_csrf", app.csrf.as_str()),
        ("company_id", company["id"].as_str().unwrap()),
        ("contact_id", ""),
        ("currency", "USD"),
        ("ordered_on", "2026-04-01"),
        ("notes", ""),
        ("line_product", ""),
        ("line_description", "Freight"),
        ("line_quantity", "1"),
        ("line_unit_price", "0.15"),
        ("line_discount", "50"),
        ("line_product", ""),
        ("line_description", "Handling"),
        ("line_quantity", "-2"),
        ("line_unit_price", "1"),
        ("line_discount", ""),
    ];
    let res = app
        .client
        .post(app.url("/orders"))
        .header(header::ACCEPT_LANGUAGE, "en")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("The quantity must be more than 0"), "{html}");
    let (_, list) = app.get_json("/api/v1/orders").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let mut fixed = form;
    fixed[13] = ("line_quantity", "2");
    let res = app
        .client
        .post(app.url("/orders"))
        .form(&fixed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let (_, html) = page(&app, &location, "en").await;
    assert!(
        html.contains("SO-000002") && html.contains("USD 2.08"),
        "{html}"
    );
}

/// The product list filters by name, category and status (active, inactive, archived);
/// administrators archive a product from its form and restore it from the archived list.
async fn product_list_filters_archive_and_restore(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = std::collections::HashMap::new();
    for (sku, name, category, active) in [
        ("DSL-10", "Diesel 10 ppm", "fuel", true),
        ("DSL-50", "Diesel 50 ppm", "fuel", false),
        ("LUB-5W30", "Lubricant 5W-30", "lubricant", true),
        ("BIT-70", "Bitumen 70/100", "asphalt", true),
    ] {
        let (status, product) = app
            .post_json(
                "/api/v1/products",
                &json!({"sku": sku, "name": name, "category": category, "list_price": "10.00",
                        "currency": "CNY", "unit": "t", "active": active}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        ids.insert(sku, product["id"].as_str().unwrap().to_owned());
    }
    let skus = |html: &str| -> Vec<&'static str> {
        ["DSL-10", "DSL-50", "LUB-5W30", "BIT-70"]
            .into_iter()
            .filter(|s| html.contains(&format!("<td class=\"nowrap\">{s}</td>")))
            .collect()
    };
    let (status, html) = page(&app, "/products", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(skus(&html), ["DSL-10", "DSL-50", "LUB-5W30", "BIT-70"]);
    assert!(html.contains("id=\"filter-status\"") && html.contains("id=\"filter-category\""));
    let (_, html) = page(&app, "/products?status=active", "en").await;
    assert_eq!(skus(&html), ["DSL-10", "LUB-5W30", "BIT-70"]);
    assert!(html.contains("<option value=\"active\" selected>"));
    let (_, html) = page(&app, "/products?status=inactive", "en").await;
    assert_eq!(skus(&html), ["DSL-50"]);
    let (_, html) = page(&app, "/products?q=diesel&status=active", "en").await;
    assert_eq!(skus(&html), ["DSL-10"]);
    let (_, html) = page(&app, "/products?category=fuel", "en").await;
    assert_eq!(skus(&html), ["DSL-10", "DSL-50"]);
    let (_, html) = page(&app, "/products?q=kerosene", "en").await;
    assert!(skus(&html).is_empty() && html.contains("No products match these filters."));
    // A refused filter is shown next to its field.
    let (status, html) = page(&app, &format!("/products?q={}", "x".repeat(300)), "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"filter-q-error\""), "{html}");
    let (status, html) = page(&app, "/products?status=gone", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"filter-status-error\""));

    // Archive from the edit form.
    let bitumen = &ids["BIT-70"];
    let (_, form) = page(&app, &format!("/products/{bitumen}/edit"), "en").await;
    assert!(form.contains(&format!("action=\"/products/{bitumen}/delete\"")));
    let res = app
        .post_form(
            &format!("/products/{bitumen}/delete"),
            &[("_csrf", &app.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        custodian_testkit::location(&res),
        "/products?status=archived"
    );
    let (_, html) = page(&app, "/products", "en").await;
    assert!(!skus(&html).contains(&"BIT-70"), "archived leaves the list");
    for (lang, title) in [("en", "Archived products"), ("zh-CN", "已归档产品")] {
        let (_, html) = page(&app, "/products?status=archived", lang).await;
        assert_eq!(skus(&html), ["BIT-70"], "{lang}");
        assert!(html.contains(title));
        assert!(html.contains(&format!("action=\"/products/{bitumen}/restore\"")));
    }
    let (_, form) = page(&app, &format!("/products/{bitumen}/edit"), "en").await;
    assert!(form.contains("id=\"archived-banner\"") && !form.contains("id=\"product-form\""));

    // Staff read the catalogue but neither see nor may use the restore button.
    let staff = app.sign_in_new_user("staff@example.com").await;
    let html = staff
        .client
        .get(app.url("/products?status=archived"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("BIT-70") && !html.contains("/restore\""));
    let res = staff
        .client
        .post(app.url(&format!("/products/{bitumen}/restore")))
        .form(&[("_csrf", staff.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Without the CSRF token nothing happens.
    let res = app
        .post_form(&format!("/products/{bitumen}/restore"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, html) = page(&app, "/products?status=archived", "en").await;
    assert_eq!(skus(&html), ["BIT-70"]);

    // Restored by the administrator: back in the list, active as before.
    let res = app
        .post_form(
            &format!("/products/{bitumen}/restore"),
            &[("_csrf", &app.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(custodian_testkit::location(&res), "/products");
    let (_, html) = page(&app, "/products?status=active", "en").await;
    assert!(skus(&html).contains(&"BIT-70"));
    let (_, html) = page(&app, "/products?status=archived", "en").await;
    assert!(skus(&html).is_empty());
    let (_, product) = app.get_json(&format!("/api/v1/products/{bitumen}")).await;
    assert!(product["deleted_at"].is_null() && product["active"] == true);
}

on_both_backends!(
    order_pages_and_purchase_history,
    product_list_filters_archive_and_restore,
);
