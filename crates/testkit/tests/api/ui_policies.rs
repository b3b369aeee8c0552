//! The policies page over real HTTP, in English and Chinese: explain names the deciding
//! policy, a refused proposal says why, a proposal waits for a second administrator, who
//! approves it from the page.

use custodian_testkit::{Backend, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

const DEFAULT: &str = include_str!("../../../core/src/authz/default.cedar");

async fn policies_page_explains_and_takes_proposals(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app
        .create_contact(json!({"name": "Wang", "region": "cn"}))
        .await;
    let id = contact["id"].as_str().unwrap();
    let _marketing = app
        .sign_in_with_roles("mkt@example.com", &["marketing"], None, Some("cn"))
        .await;

    let (status, html) = app.html("/settings/policies", "en").await;
    assert_eq!(status, StatusCode::OK);
    for text in ["Access policies", "region.territory", "built-in defaults"] {
        assert!(html.contains(text), "{text}");
    }
    let (status, html) = app.html("/settings/policies", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("访问策略") && html.contains("为什么某人能看到这条记录"));

    // Explain: why can the marketing user read Wang?
    let (status, html) = app
        .html(
            &format!(
                "/settings/policies?user=mkt%40example.com&action=read&resource=Contact%3A{id}"
            ),
            "en",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"explain-answer\""), "{html}");
    assert!(html.contains("Allowed") && html.contains("marketing.records"));
    let (status, html) = app
        .html(
            &format!("/settings/policies?user=mkt%40example.com&action=contact_details.read&resource=Contact%3A{id}"),
            "zh-CN",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("拒绝") && html.contains("没有任何策略允许"),
        "{html}"
    );

    // A proposal that does not validate is refused on the page, the text kept.
    let response = app
        .post_form(
            "/settings/policies",
            &[
                ("_csrf", &app.csrf),
                ("text", "permit (principal, action, resource"),
                ("reason", "test"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Not accepted"), "{html}");
    assert!(html.contains("permit (principal, action, resource</textarea>"));

    // A valid one waits for a second administrator, who approves it on the page.
    let response = app
        .post_form(
            "/settings/policies",
            &[
                ("_csrf", &app.csrf),
                ("text", DEFAULT),
                ("reason", "Same again"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Another administrator must approve it"),
        "{html}"
    );
    assert!(html.contains("Awaiting approval"));
    let other = app
        .sign_in_with_roles("admin2@example.com", &["administrator"], None, None)
        .await;
    let response = other
        .request(reqwest::Method::POST, "/settings/policies/1/approve")
        .form(&[("_csrf", other.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("the new policies are in force"), "{html}");
    assert!(html.contains("id=\"active-version\">1<"));

    // Not for people without admin.policies.
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], None, None)
        .await;
    let response = sales
        .request(reqwest::Method::GET, "/settings/policies")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn administrators_edit_roles_on_the_user_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let rep = app
        .sign_in_with_roles("rep@example.com", &["sales"], Some("north"), Some("cn"))
        .await;
    let page = format!("/settings/users/{}", rep.id);
    let (status, html) = app.html(&page, "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"role-sales\" name=\"role_sales\" value=\"on\" checked"));
    assert!(html.contains("Privacy officer"));
    let (_, html) = app.html(&page, "zh-CN").await;
    assert!(html.contains("角色") && html.contains("销售") && html.contains("隐私官"));

    let roles_path = format!("{page}/roles");
    let response = app
        .post_form(
            &roles_path,
            &[
                ("_csrf", &app.csrf),
                ("role_marketing", "on"),
                ("role_all_regions", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, users) = app.get_json("/api/v1/users").await;
    let held = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == rep.id.as_str())
        .unwrap()["roles"]
        .clone();
    assert_eq!(held, json!(["all_regions", "marketing"]));
    // An unknown role is refused; the form says so.
    let response = app
        .post_form(&roles_path, &[("_csrf", &app.csrf), ("role_dragon", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Later, the change asks the administrator to confirm it is them first.
    app.clock.advance(time::Duration::minutes(11));
    let response = app
        .post_form(&roles_path, &[("_csrf", &app.csrf), ("role_sales", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("reauth-submit"));
}

/// The contact form leaves out what the user may not change: a sales user editing their
/// team's contact sees no sensitive custom field, and saving the form succeeds.
async fn forms_leave_out_field_groups_the_user_may_not_change(backend: Backend) {
    let app = spawn_app(backend).await;
    crate::custom_fields::define(
        &app,
        json!({"entity": "contact", "key": "health_note", "label_en": "Health note",
               "label_zh": "健康备注", "type": "text", "classification": "sensitive"}),
    )
    .await;
    let contact = app
        .create_contact(json!({"name": "Wang", "team": "north", "region": "cn",
                               "custom_fields": {"health_note": "Allergic to latex"}}))
        .await;
    let id = contact["id"].as_str().unwrap();
    let sales = app
        .sign_in_with_roles("rep@example.com", &["sales"], Some("north"), Some("cn"))
        .await;
    let response = sales
        .request(reqwest::Method::GET, &format!("/contacts/{id}/edit"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("name=\"name\""), "the form");
    assert!(
        !html.contains("cf.health_note") && !html.contains("Allergic"),
        "{html}"
    );
    // The administrator, who may, gets the field.
    let (_, html) = app.html(&format!("/contacts/{id}/edit"), "en").await;
    assert!(html.contains("cf.health_note"));

    let response = sales
        .request(reqwest::Method::POST, &format!("/contacts/{id}"))
        .form(&[
            ("_csrf", sales.csrf.as_str()),
            ("name", "Wang Wei"),
            ("emails", ""),
            ("phones", ""),
            ("job_title", ""),
            ("company_id", ""),
            ("address", ""),
            ("notes", ""),
            ("team", "north"),
            ("tags", ""),
            ("version", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let (_, after) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(after["name"], "Wang Wei");
    assert_eq!(
        after["custom_fields"]["health_note"], "Allergic to latex",
        "kept"
    );
}

/// Product interests are preferences, not purchase history: marketing sees and records them
/// on the contact page without seeing purchases; a manager reads both and changes neither.
async fn product_interests_follow_preferences_not_purchases(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app
        .create_contact(json!({"name": "Zhou", "team": "north", "region": "cn"}))
        .await;
    let contact_id = contact["id"].as_str().unwrap();
    let (status, product) = app
        .post_json(
            "/api/v1/products",
            &json!({"sku": "VALVE-9", "name": "Ball valve", "list_price": "9.00",
                    "currency": "CNY", "unit": "each"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let (status, body) = app
        .post_json(
            &format!("/api/v1/contacts/{contact_id}/product-interests"),
            &json!({"product_id": product["id"], "level": "high"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = format!("/contacts/{contact_id}");

    let marketing = app
        .sign_in_with_roles("mkt@example.com", &["marketing"], None, Some("cn"))
        .await;
    let (_, html) = marketing.html(&page, "en").await;
    assert!(
        html.contains("id=\"product-interests\"") && html.contains("VALVE-9"),
        "{html}"
    );
    assert!(html.contains("id=\"interest-form\"") && html.contains("remove-interest"));
    assert!(
        !html.contains("id=\"purchases\""),
        "no purchase history for marketing"
    );

    let manager = app
        .sign_in_with_roles("mgr@example.com", &["manager"], Some("north"), Some("cn"))
        .await;
    let (_, html) = manager.html(&page, "en").await;
    assert!(
        html.contains("id=\"purchases\"") && html.contains("VALVE-9"),
        "{html}"
    );
    assert!(!html.contains("id=\"interest-form\"") && !html.contains("remove-interest"));
}

on_both_backends!(
    policies_page_explains_and_takes_proposals,
    administrators_edit_roles_on_the_user_page,
    forms_leave_out_field_groups_the_user_may_not_change,
    product_interests_follow_preferences_not_purchases,
);
