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

on_both_backends!(policies_page_explains_and_takes_proposals);
