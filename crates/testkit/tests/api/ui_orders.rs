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

on_both_backends!(order_pages_and_purchase_history);
