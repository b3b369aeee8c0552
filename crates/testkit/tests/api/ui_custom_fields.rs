//! The custom field pages over real HTTP: the administrators' settings page and form, and
//! custom fields on the contact form and the contact, company and deal pages, in English and
//! Chinese.

use crate::custom_fields::{define, define_contact_fields};
use custodian_testkit::{Backend, location, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

async fn settings_page_lists_and_creates_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    define_contact_fields(&app).await;
    let (status, html) = app.html("/settings/fields", "en").await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "Custom fields",
        "Region code",
        "region_code",
        "Personal (encrypted)",
        "Yes/no",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    let (status, html) = app.html("/settings/fields", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    for text in ["自定义字段", "区域代码", "个人（加密）", "是/否"] {
        assert!(html.contains(text), "{text}");
    }
    // The form: a choice field with option rows, no inline script.
    let (status, html) = app.html("/settings/fields/new?entity=deal", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"opt_4_value\""),
        "five blank option rows"
    );
    assert!(html.contains("name=\"_csrf\""));
    assert!(!html.contains("<script>"), "no inline script");
    let response = app
        .post_form(
            "/settings/fields",
            &[
                ("_csrf", &app.csrf),
                ("entity", "deal"),
                ("key", "incoterm"),
                ("label_en", "Incoterm"),
                ("label_zh", "贸易术语"),
                ("type", "choice"),
                ("classification", "internal"),
                ("opt_0_value", "fob"),
                ("opt_0_label_en", "Free on board"),
                ("opt_0_label_zh", "离岸价"),
                ("opt_1_value", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings/fields");
    let (_, fields) = app.get_json("/api/v1/custom-fields?entity=deal").await;
    assert_eq!(fields["items"][0]["options"][0]["label_zh"], "离岸价");
    // A bad key is shown next to its input.
    let response = app
        .post_form(
            "/settings/fields",
            &[
                ("_csrf", &app.csrf),
                ("entity", "deal"),
                ("key", "Bad Key"),
                ("label_en", "X"),
                ("label_zh", "X"),
                ("type", "text"),
                ("classification", "internal"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"f-key-error\""), "{html}");
    // Locked type: a 409 in words.
    let contact_fields = app.get_json("/api/v1/custom-fields?entity=contact").await.1;
    let tier = contact_fields["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "tier")
        .unwrap()
        .clone();
    app.create_contact(json!({"name": "Holder", "custom_fields": {"tier": "gold"}}))
        .await;
    let response = app
        .post_form(
            &format!("/settings/fields/{}", tier["id"].as_str().unwrap()),
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("label_en", "Tier"),
                ("label_zh", "等级"),
                ("type", "text"),
                ("classification", "internal"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("type and decimal places cannot change")
    );

    // Not for staff.
    let staff = app.sign_in_new_user("staff@example.com").await;
    let response = staff
        .client
        .get(app.url("/settings/fields"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Administrators see the configuration links in the header; staff do not.
    let (_, admin_page) = app.html("/contacts", "en").await;
    assert!(
        admin_page.contains("id=\"nav-custom-fields\" href=\"/settings/fields\"")
            && admin_page.contains("id=\"nav-pipelines\"")
    );
    let staff_page = staff
        .client
        .get(app.url("/contacts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        staff_page.contains("id=\"nav-contacts\"") && !staff_page.contains("nav-custom-fields")
    );
}

async fn contact_form_and_page_show_custom_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    define_contact_fields(&app).await;
    let hidden = define(
        &app,
        json!({"entity": "contact", "key": "legacy_code", "label_en": "Legacy code",
               "label_zh": "旧代码", "type": "text", "classification": "internal"}),
    )
    .await;
    let (status, html) = app.html("/contacts/new", "en").await;
    assert_eq!(status, StatusCode::OK);
    for part in [
        "name=\"cf.region_code\" type=\"text\"",
        "name=\"cf.credit_limit\" type=\"number\"",
        "step=\"0.01\"",
        "name=\"cf.birthday\" type=\"date\"",
        "<select id=\"f-cf-tier\" name=\"cf.tier\"",
        "<option value=\"gold\">Gold</option>",
        "type=\"checkbox\" id=\"f-cf-newsletter\" name=\"cf.newsletter\" value=\"true\"",
        "name=\"cfb.newsletter\"",
        "Two letters",
        "Legacy code",
    ] {
        assert!(html.contains(part), "{part} in the form");
    }
    let (_, html) = app.html("/contacts/new", "zh-CN").await;
    for part in [
        "区域代码",
        "<option value=\"gold\">金牌</option>",
        "两个字母",
    ] {
        assert!(html.contains(part), "{part} in the Chinese form");
    }

    // A wrong value comes back next to its field, nothing stored.
    let response = app
        .post_form(
            "/contacts",
            &[
                ("_csrf", &app.csrf),
                ("name", "Form Person"),
                ("cf.credit_limit", "12.345"),
                ("cf.tier", "gold"),
                ("cfb.newsletter", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"f-cf-credit_limit-error\""), "{html}");
    assert!(html.contains("at most 2 digits after the decimal point"));
    let (_, list) = app.get_json("/api/v1/contacts").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    let response = app
        .post_form(
            "/contacts",
            &[
                ("_csrf", &app.csrf),
                ("name", "Form Person"),
                ("cf.region_code", "CN"),
                ("cf.credit_limit", "12.5"),
                ("cf.birthday", "1985-06-01"),
                ("cf.tier", "gold"),
                ("cfb.newsletter", "1"),
                ("cf.legacy_code", "L-1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = location(&response);
    let id = page.trim_start_matches("/contacts/");
    let (_, stored) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(
        stored["custom_fields"],
        json!({"region_code": "CN", "credit_limit": "12.50", "birthday": "1985-06-01",
               "tier": "gold", "newsletter": false, "legacy_code": "L-1"})
    );
    let (_, html) = app.html(&page, "zh-CN").await;
    for part in ["信用额度", "12.50", "金牌", "订阅通讯", ">否<"] {
        assert!(html.contains(part), "{part} on the Chinese page");
    }

    // Archived: gone from the form and the page, value kept.
    let (status, _) = app
        .post_json(
            &format!(
                "/api/v1/custom-fields/{}/archive",
                hidden["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = app.html(&format!("{page}/edit"), "en").await;
    assert!(
        !html.contains("cf.legacy_code"),
        "archived field not on the form"
    );
    assert!(html.contains("value=\"CN\""), "current values filled in");
    let (_, html) = app.html(&page, "en").await;
    assert!(!html.contains("Legacy code"));
    // Saving the edit form keeps the archived field's value.
    let response = app
        .post_form(
            &page,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("name", "Form Person"),
                ("cf.region_code", "EU"),
                ("cf.credit_limit", ""),
                ("cf.birthday", "1985-06-01"),
                ("cf.tier", "gold"),
                ("cfb.newsletter", "1"),
                ("cf.newsletter", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, stored) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(
        stored["custom_fields"],
        json!({"region_code": "EU", "birthday": "1985-06-01", "tier": "gold",
               "newsletter": true, "legacy_code": "L-1"})
    );
}

/// Company and deal pages show their custom values in the viewer's language.
async fn company_and_deal_pages_show_custom_values(backend: Backend) {
    let app = spawn_app(backend).await;
    define(
        &app,
        json!({"entity": "company", "key": "vendor_code", "label_en": "Vendor code",
               "label_zh": "供应商代码", "type": "text", "classification": "internal"}),
    )
    .await;
    define(
        &app,
        json!({"entity": "deal", "key": "tender", "label_en": "Public tender",
               "label_zh": "公开招标", "type": "boolean", "classification": "internal"}),
    )
    .await;
    let company = app
        .create_company(json!({"name": "Yantai Foods", "custom_fields": {"vendor_code": "V-0042"}}))
        .await;
    app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    let deal = app
        .create_deal(json!({"title": "Cold chain", "custom_fields": {"tender": true}}))
        .await;
    let (_, html) = app
        .html(
            &format!("/companies/{}", company["id"].as_str().unwrap()),
            "zh-CN",
        )
        .await;
    assert!(
        html.contains("<dt>供应商代码</dt>") && html.contains(">V-0042</dd>"),
        "{html}"
    );
    let (_, html) = app
        .html(&format!("/deals/{}", deal["id"].as_str().unwrap()), "en")
        .await;
    assert!(
        html.contains("<dt>Public tender</dt>") && html.contains("id=\"cf-value-tender\">Yes</dd>"),
        "{html}"
    );
}

/// The company and deal forms take custom values: created and edited through the UI, a value
/// of the wrong type refused next to its own input with what was typed kept, in both languages.
async fn company_and_deal_forms_take_custom_values(backend: Backend) {
    let app = spawn_app(backend).await;
    define(
        &app,
        json!({"entity": "company", "key": "credit_line", "label_en": "Credit line",
               "label_zh": "授信额度", "type": "number", "decimals": 2,
               "classification": "internal"}),
    )
    .await;
    define(
        &app,
        json!({"entity": "company", "key": "tax_contact", "label_en": "Tax contact",
               "label_zh": "税务联系人", "type": "text", "classification": "personal"}),
    )
    .await;
    define(
        &app,
        json!({"entity": "deal", "key": "tender_date", "label_en": "Tender date",
               "label_zh": "招标日期", "type": "date", "classification": "internal"}),
    )
    .await;
    define(
        &app,
        json!({"entity": "deal", "key": "framework", "label_en": "Framework agreement",
               "label_zh": "框架协议", "type": "boolean", "classification": "internal"}),
    )
    .await;

    // Company: the form offers the fields, in both languages.
    let (status, html) = app.html("/companies/new", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"cf.credit_line\" type=\"number\"")
            && html.contains("step=\"0.01\"")
            && html.contains("name=\"cf.tax_contact\" type=\"text\"")
            && html.contains("Credit line"),
        "{html}"
    );
    let (_, html) = app.html("/companies/new", "zh-CN").await;
    assert!(html.contains("授信额度") && html.contains("税务联系人"));

    // A wrong-type value: 422, the message next to that field, the input kept, nothing stored.
    let response = app
        .post_form(
            "/companies",
            &[
                ("_csrf", &app.csrf),
                ("name", "Qingdao Port Logistics"),
                ("cf.credit_line", "lots"),
                ("cf.tax_contact", "Ms Zhou"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"f-cf-credit_line-error\">Enter a number, such as 12.5.</p>"),
        "{html}"
    );
    assert!(
        !html.contains("f-cf-tax_contact-error"),
        "only the bad field"
    );
    assert!(
        html.contains("value=\"lots\"") && html.contains("value=\"Ms Zhou\""),
        "what was typed is kept"
    );
    assert!(html.contains("value=\"Qingdao Port Logistics\""));
    let (_, list) = app.get_json("/api/v1/companies").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // Created with values.
    let response = app
        .post_form(
            "/companies",
            &[
                ("_csrf", &app.csrf),
                ("name", "Qingdao Port Logistics"),
                ("cf.credit_line", "250000.5"),
                ("cf.tax_contact", "Ms Zhou"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = location(&response);
    let company_id = page.trim_start_matches("/companies/").to_owned();
    let (_, stored) = app
        .get_json(&format!("/api/v1/companies/{company_id}"))
        .await;
    assert_eq!(
        stored["custom_fields"],
        json!({"credit_line": "250000.50", "tax_contact": "Ms Zhou"})
    );
    // The edit form is filled in; an edit changes one value and clears the other.
    let (_, html) = app.html(&format!("{page}/edit"), "en").await;
    assert!(
        html.contains("value=\"250000.50\"") && html.contains("value=\"Ms Zhou\""),
        "{html}"
    );
    let response = app
        .post_form(
            &page,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("name", "Qingdao Port Logistics"),
                ("cf.credit_line", "1.5.0"),
                ("cf.tax_contact", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"f-cf-credit_line-error\""), "{html}");
    assert!(html.contains("value=\"1.5.0\""));
    let response = app
        .post_form(
            &page,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("name", "Qingdao Port Logistics"),
                ("cf.credit_line", "300000"),
                ("cf.tax_contact", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, stored) = app
        .get_json(&format!("/api/v1/companies/{company_id}"))
        .await;
    assert_eq!(stored["custom_fields"], json!({"credit_line": "300000.00"}));
    assert_eq!(stored["version"], 2);
    let (_, html) = app.html(&page, "zh-CN").await;
    assert!(html.contains("<dt>授信额度</dt>") && html.contains("300000.00"));

    // Deal: the same on its form.
    let pipeline = app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    let stage = custodian_testkit::stage_id(&pipeline, 0);
    let (status, html) = app.html("/deals/new", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"cf.tender_date\" type=\"date\"")
            && html.contains("name=\"cfb.framework\""),
        "{html}"
    );
    let response = app
        .post_form(
            "/deals",
            &[
                ("_csrf", &app.csrf),
                ("title", "Crane lease"),
                ("stage_id", &stage),
                ("cf.tender_date", "31/12/2026"),
                ("cfb.framework", "1"),
                ("cf.framework", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"f-cf-tender_date-error\">Enter a date such as 2026-12-31.</p>"),
        "{html}"
    );
    assert!(html.contains("value=\"31/12/2026\""), "the input is kept");
    assert!(
        html.contains("name=\"cf.framework\" value=\"true\" checked"),
        "the ticked box stays ticked"
    );
    let (_, list) = app.get_json("/api/v1/deals").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // The Chinese form says it in Chinese.
    let response = app
        .client
        .post(app.url("/deals"))
        .header(reqwest::header::ACCEPT_LANGUAGE, "zh-CN")
        .form(&[
            ("_csrf", app.csrf.as_str()),
            ("title", "Crane lease"),
            ("stage_id", &stage),
            ("cf.tender_date", "31/12/2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"f-cf-tender_date-error\""));
    assert!(!html.contains("Enter a date such as"), "{html}");

    let response = app
        .post_form(
            "/deals",
            &[
                ("_csrf", &app.csrf),
                ("title", "Crane lease"),
                ("stage_id", &stage),
                ("cf.tender_date", "2026-12-31"),
                ("cfb.framework", "1"),
                ("cf.framework", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = location(&response);
    let deal_id = page.trim_start_matches("/deals/").to_owned();
    let (_, stored) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(
        stored["custom_fields"],
        json!({"tender_date": "2026-12-31", "framework": true})
    );
    let (_, html) = app.html(&format!("{page}/edit"), "en").await;
    assert!(
        html.contains("value=\"2026-12-31\"")
            && html.contains("name=\"cf.framework\" value=\"true\" checked"),
        "{html}"
    );
    // Unticking the box means "no"; a new date replaces the old one.
    let response = app
        .post_form(
            &page,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("title", "Crane lease"),
                ("cf.tender_date", "2027-01-15"),
                ("cfb.framework", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, stored) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(
        stored["custom_fields"],
        json!({"tender_date": "2027-01-15", "framework": false})
    );
}

on_both_backends!(
    settings_page_lists_and_creates_fields,
    contact_form_and_page_show_custom_fields,
    company_and_deal_pages_show_custom_values,
    company_and_deal_forms_take_custom_values,
);
