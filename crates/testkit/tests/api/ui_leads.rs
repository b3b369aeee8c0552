//! The lead pages over real HTTP: the list with its filters, the e-mail search (a POST; the
//! address never reaches a URL), the forms, qualify/disqualify, conversion with a company and a
//! deal, the converted lead's page (nothing personal left), and both languages.

use custodian_testkit::{
    Backend, TestApp, error_code, location, on_both_backends, spawn_app, stage_id,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

const NAME: &str = "赵丽华";
const EMAIL: &str = "zhao.lihua@dongying-refinery.example.cn";
const PHONE: &str = "+8613912345678";
const NOTES: &str = "Met at the Shanghai valve expo";
const COMPANY: &str = "Dongying Refinery";

async fn create_lead(app: &TestApp, body: Value) -> Value {
    let (status, json) = app.post_json("/api/v1/leads", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

/// Every URL in a page: links, form targets, htmx targets, scripts and styles.
fn urls(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for attr in ["href=\"", "action=\"", "hx-post=\"", "hx-get=\"", "src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attr) {
            let value = &rest[start + attr.len()..];
            let end = value.find('"').unwrap();
            out.push(&value[..end]);
            rest = &value[end..];
        }
    }
    out
}

/// The table row (`<tr>…</tr>`) that mentions `needle`.
fn row_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {html}"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

async fn list_filters_and_email_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let zhao = create_lead(
        &app,
        json!({"name": NAME, "email": EMAIL, "phone": PHONE, "notes": NOTES,
               "company_name": COMPANY, "source": "trade_show", "score": 70}),
    )
    .await;
    let tom = create_lead(
        &app,
        json!({"name": "Tom Baker", "email": "tom@baker.example", "source": "web", "score": 20}),
    )
    .await;
    let lena = create_lead(
        &app,
        json!({"name": "Lena Park", "company_name": "Park Logistics", "source": "referral", "score": 90}),
    )
    .await;
    let (status, _) = app
        .patch_json(
            &format!("/api/v1/leads/{}", tom["id"].as_str().unwrap()),
            &json!({"version": 1, "status": "contacted"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The list: name, company name, source and status labels, score; never notes or e-mail.
    let (status, html) = app.html("/leads", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"nav-leads\"") && html.contains(">Leads</a>"),
        "nav entry"
    );
    let nav = &html[html.find("class=\"main-nav\"").unwrap()..];
    assert!(
        nav.find("id=\"nav-leads\"").unwrap() < nav.find("id=\"nav-deals\"").unwrap(),
        "leads come before deals"
    );
    let row = row_with(&html, NAME);
    assert!(row.contains(COMPANY) && row.contains("Trade show") && row.contains("New"));
    assert!(row.contains(">70<"), "{row}");
    assert!(row.contains(&format!("href=\"/leads/{}\"", zhao["id"].as_str().unwrap())));
    let row = row_with(&html, "Tom Baker");
    assert!(
        row.contains("Website") && row.contains("Contacted"),
        "{row}"
    );
    assert!(html.contains("Lena Park"));
    assert!(!html.contains(NOTES) && !html.contains(EMAIL) && !html.contains(PHONE));
    assert!(!html.contains("<script>") && !html.contains(" style="));

    // Filters: status, source, minimum score; sort by score.
    let (_, html) = app.html("/leads?status=contacted", "en").await;
    assert!(html.contains("Tom Baker") && !html.contains(NAME) && !html.contains("Lena Park"));
    assert!(html.contains("<option value=\"contacted\" selected>"));
    let (_, html) = app.html("/leads?source=referral", "en").await;
    assert!(html.contains("Lena Park") && !html.contains("Tom Baker") && !html.contains(NAME));
    let (_, html) = app.html("/leads?min_score=50&sort=-score", "en").await;
    assert!(!html.contains("Tom Baker"));
    assert!(
        html.find("Lena Park").unwrap() < html.find(NAME).unwrap(),
        "highest score first"
    );
    assert!(html.contains("<option value=\"-score\" selected>"));
    let (_, html) = app.html("/leads?status=qualified", "en").await;
    assert!(html.contains("No leads match"), "empty filtered list");
    let (status, html) = app.html("/leads?min_score=abc", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Enter a whole number from 0 to 100."),
        "{html}"
    );
    let (status, _) = app.html("/leads?min_score=101", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, html) = app.html("/leads?status=won", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Choose a status from the list."), "{html}");

    // Search by e-mail: a POST (any case), found by the blind index; the address appears in
    // no URL of the answer and there is no redirect carrying it.
    let res = app
        .post_form(
            "/leads/search",
            &[("_csrf", &app.csrf), ("q", &EMAIL.to_uppercase())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::LOCATION).is_none());
    assert!(!res.url().as_str().to_lowercase().contains("zhao"));
    assert_eq!(res.url().query(), None);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"results-title\"") && html.contains(NAME));
    assert!(!html.contains("Tom Baker") && !html.contains("Lena Park"));
    for url in urls(&html) {
        assert!(
            !url.to_lowercase().contains("zhao") && !url.contains('@'),
            "{url}"
        );
    }
    // Positive control for the URL check: the page's links were found.
    assert!(urls(&html).contains(&"/leads/new"));
    // htmx gets the same page (it selects the results itself).
    let res = app
        .client
        .post(app.url("/leads/search"))
        .header("HX-Request", "true")
        .form(&[("_csrf", app.csrf.as_str()), ("q", "tom@baker.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"results-inner\"") && html.contains("Tom Baker"));
    let res = app
        .post_form(
            "/leads/search",
            &[("_csrf", &app.csrf), ("q", "nobody@example.com")],
        )
        .await;
    assert!(res.text().await.unwrap().contains("No leads match"));
    let res = app
        .post_form(
            "/leads/search",
            &[("_csrf", &app.csrf), ("q", "not an address")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"search-error\""));
    let res = app.post_form("/leads/search", &[("q", EMAIL)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "CSRF token required");
    let res = app
        .client
        .get(app.url("/leads/search"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/leads");

    // Active/Deleted tabs.
    let lena_id = lena["id"].as_str().unwrap();
    let res = app
        .post_form(&format!("/leads/{lena_id}/delete"), &[("_csrf", &app.csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/leads");
    let (_, active) = app.html("/leads", "en").await;
    assert!(!active.contains("Lena Park") && active.contains("Tom Baker"));
    let (_, deleted) = app.html("/leads?deleted=only", "en").await;
    assert!(deleted.contains("Lena Park") && deleted.contains("restore-button"));
    assert!(!deleted.contains("Tom Baker"));
    let res = app
        .post_form(
            &format!("/leads/{lena_id}/restore"),
            &[("_csrf", &app.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/leads/{lena_id}"));
    let (_, active) = app.html("/leads", "en").await;
    assert!(active.contains("Lena Park"));
}

async fn create_and_edit_through_the_forms(backend: Backend) {
    let app = spawn_app(backend).await;
    let csrf = app.csrf.clone();
    let (status, html) = app.html("/leads/new", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"lead-form\"") && html.contains("name=\"score\""));
    assert!(
        !html.contains("name=\"status\""),
        "a new lead starts as new"
    );

    // Invalid input: 422, the messages next to the fields, the input kept.
    let res = app
        .post_form(
            "/leads",
            &[
                ("_csrf", &csrf),
                ("name", NAME),
                ("email", "not-an-email"),
                ("score", "150"),
                ("source", "trade_show"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"f-email-error\"") && html.contains("id=\"f-score-error\""));
    assert!(html.contains("Enter a whole number from 0 to 100."));
    assert!(html.contains(&format!("value=\"{NAME}\"")));
    assert!(html.contains("<option value=\"trade_show\" selected>"));
    let (_, list) = app.get_json("/api/v1/leads").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing saved"
    );

    // Without the CSRF token: refused.
    let res = app.post_form("/leads", &[("name", NAME)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = app
        .post_form(
            "/leads",
            &[
                ("_csrf", &csrf),
                ("name", NAME),
                ("email", EMAIL),
                ("phone", "+86 139 1234 5678"),
                ("job_title", "Procurement Manager"),
                ("company_name", COMPANY),
                ("notes", "line 1\r\nline 2"),
                ("source", "trade_show"),
                ("score", "70"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with("/leads/") && !to.contains('@'), "{to}");
    let id = to.trim_start_matches("/leads/").to_owned();
    let (_, lead) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["name"], NAME);
    assert_eq!(lead["email"], EMAIL);
    assert_eq!(lead["phone"], PHONE);
    assert_eq!(lead["notes"], "line 1\nline 2");
    assert_eq!(
        (
            lead["source"].as_str(),
            lead["score"].as_i64(),
            lead["status"].as_str()
        ),
        (Some("trade_show"), Some(70), Some("new"))
    );

    // The detail page has every field, notes included.
    let (status, html) = app.html(&format!("/leads/{id}"), "en").await;
    assert_eq!(status, StatusCode::OK);
    for text in [NAME, EMAIL, PHONE, "Procurement Manager", COMPANY, "line 2"] {
        assert!(html.contains(text), "{text}");
    }
    assert!(html.contains("Trade show") && html.contains("id=\"convert-form\""));

    // Edit: status new → contacted, score changed, phone cleared.
    let (status, html) = app.html(&format!("/leads/{id}/edit"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<option value=\"new\" selected>"));
    assert!(html.contains("<option value=\"contacted\">"));
    assert!(
        !html.contains("value=\"qualified\""),
        "qualify has its own action"
    );
    let edit = |version: &'static str, score: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("version", version.to_owned()),
            ("name", NAME.to_owned()),
            ("email", EMAIL.to_owned()),
            ("phone", String::new()),
            ("job_title", "Procurement Manager".to_owned()),
            ("company_name", COMPANY.to_owned()),
            ("notes", String::new()),
            ("source", "event".to_owned()),
            ("score", score.to_owned()),
            ("status", "contacted".to_owned()),
        ]
    };
    let form = edit("1", "85");
    let res = app
        .client
        .post(app.url(&format!("/leads/{id}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/leads/{id}"));
    let (_, lead) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(
        (
            lead["status"].as_str(),
            lead["score"].as_i64(),
            lead["source"].as_str()
        ),
        (Some("contacted"), Some(85), Some("event"))
    );
    assert!(lead["phone"].is_null() && lead.get("notes").is_none());
    assert_eq!(lead["version"], 2);

    // The same (now stale) form again: 409 with the warning, nothing overwritten.
    let form = edit("1", "10");
    let res = app
        .client
        .post(app.url(&format!("/leads/{id}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("id=\"stale-warning\""));
    let (_, lead) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["score"], 85);

    // A status the edit form does not offer is refused with the reason.
    let mut form = edit("2", "85");
    form[10].1 = "qualified".to_owned();
    let res = app
        .client
        .post(app.url(&format!("/leads/{id}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"f-status-error\"") && html.contains("Only New or Contacted"));

    // Once qualified, the edit form shows the status without offering to change it.
    let res = app
        .post_form(
            &format!("/leads/{id}/qualify"),
            &[("_csrf", &csrf), ("version", "2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.html(&format!("/leads/{id}/edit"), "en").await;
    assert!(!html.contains("name=\"status\"") && html.contains("id=\"f-status\""));
    assert!(html.contains("Qualified"));
}

async fn disqualify_qualify_and_convert_with_company_and_deal(backend: Backend) {
    let app = spawn_app(backend).await;
    let csrf = app.csrf.clone();
    let pipeline = app
        .create_pipeline(
            "Industrial sales",
            &[("Qualification", 10), ("Proposal", 50)],
        )
        .await;
    let proposal = stage_id(&pipeline, 1);
    let existing = app
        .create_company(json!({"name": "Existing Holdings"}))
        .await;
    let lead = create_lead(
        &app,
        json!({"name": NAME, "email": EMAIL, "phone": PHONE, "notes": NOTES,
               "job_title": "Procurement Manager", "company_name": COMPANY}),
    )
    .await;
    let id = lead["id"].as_str().unwrap();

    // The convert form offers the companies, the pipeline's stages and the currencies.
    let (_, html) = app.html(&format!("/leads/{id}"), "en").await;
    let form = &html[html.find("id=\"convert-form\"").unwrap()..];
    assert!(form.contains("Existing Holdings"));
    assert!(form.contains(&format!("Create the company “{COMPANY}”")));
    assert!(form.contains("Proposal (50%)") && form.contains("<option value=\"SAR\">"));
    assert!(form.contains("value=\"none\" id=\"company-none\" checked"));

    // Disqualify with a reason: shown on the detail page only.
    let reason = "No budget this year";
    let res = app
        .post_form(
            &format!("/leads/{id}/disqualify"),
            &[("_csrf", &csrf), ("version", "1"), ("reason", reason)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!location(&res).contains("budget"));
    let (_, html) = app.html(&format!("/leads/{id}"), "en").await;
    assert!(html.contains(reason) && html.contains("Disqualified"));
    assert!(
        html.contains(NAME) && html.contains(EMAIL) && html.contains(NOTES),
        "positive control: the page shows the person until conversion"
    );
    assert!(html.contains("id=\"convert-hint\"") && !html.contains("id=\"convert-form\""));
    let (_, list) = app.html("/leads", "en").await;
    assert!(!list.contains(reason), "lists never show the reason");

    // Converting a disqualified lead is refused, with the reason in words.
    let res = app
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("_csrf", &csrf),
                ("version", "2"),
                ("company_choice", "create"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"lead-message\""), "{html}");
    assert!(html.contains("This lead is disqualified; qualify it before converting it."));
    let (_, contacts) = app.get_json("/api/v1/contacts").await;
    assert!(contacts["items"].as_array().unwrap().is_empty());

    // Qualify (a stale qualify first).
    let res = app
        .post_form(
            &format!("/leads/{id}/qualify"),
            &[("_csrf", &csrf), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Someone changed this lead")
    );
    let res = app
        .post_form(
            &format!("/leads/{id}/qualify"),
            &[("_csrf", &csrf), ("version", "2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, lead) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["status"], "qualified");

    // Convert with a deal but no title: 422, the message at the title, the choices kept.
    let res = app
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("_csrf", &csrf),
                ("version", "3"),
                ("company_choice", "create"),
                ("company_id", ""),
                ("with_deal", "on"),
                ("deal_title", " "),
                ("deal_amount", "880000"),
                ("deal_currency", "CNY"),
                ("deal_stage_id", &proposal),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"f-deal_title-error\""), "{html}");
    assert!(html.contains("value=\"create\" id=\"company-create\" checked"));
    assert!(html.contains("id=\"f-with_deal\" checked"));
    assert!(html.contains(&format!("<option value=\"{proposal}\" selected>")));
    assert!(html.contains("value=\"880000\""));
    let (_, contacts) = app.get_json("/api/v1/contacts").await;
    assert!(contacts["items"].as_array().unwrap().is_empty());

    // Now properly: a new company from the lead's company name and a deal. An existing
    // company is still selected in the list, but the radio button decides.
    let existing_id = existing["id"].as_str().unwrap();
    let res = app
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("_csrf", &csrf),
                ("version", "3"),
                ("company_choice", "create"),
                ("company_id", existing_id),
                ("with_deal", "on"),
                ("deal_title", "Valve retrofit"),
                ("deal_amount", "880000"),
                ("deal_currency", "CNY"),
                ("deal_stage_id", &proposal),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with("/contacts/"), "{to}");
    assert!(!to.contains('@') && !to.contains('?') && !to.contains("zhao"));
    let contact_id = to.trim_start_matches("/contacts/").to_owned();
    let (status, contact) = app
        .get_json(&format!("/api/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contact["name"], NAME);
    assert_eq!(contact["emails"], json!([EMAIL]));
    let (_, lead) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["status"], "converted");
    let refs = &lead["converted"];
    assert_eq!(refs["contact_id"], contact_id.as_str());
    let company_id = refs["company_id"].as_str().unwrap();
    assert_ne!(company_id, existing_id, "a new company was created");
    assert_eq!(contact["company_id"], company_id);
    let (_, company) = app
        .get_json(&format!("/api/v1/companies/{company_id}"))
        .await;
    assert_eq!(company["name"], COMPANY);
    let deal_id = refs["deal_id"].as_str().unwrap();
    let (_, deal) = app.get_json(&format!("/api/v1/deals/{deal_id}")).await;
    assert_eq!(
        (
            deal["title"].as_str(),
            deal["stage_id"].as_str(),
            deal["amount"].as_str(),
            deal["contact_id"].as_str()
        ),
        (
            Some("Valve retrofit"),
            Some(proposal.as_str()),
            Some("880000.00"),
            Some(contact_id.as_str())
        )
    );
    let (status, contact_page) = app.html(&to, "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(contact_page.contains(NAME));

    // The converted lead's page: where it went, nothing of the person.
    let (status, html) = app.html(&format!("/leads/{id}"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"converted-banner\"") && html.contains("This lead was converted on")
    );
    assert!(html.contains(&format!("href=\"/contacts/{contact_id}\"")));
    assert!(html.contains(&format!("href=\"/companies/{company_id}\"")));
    assert!(
        html.contains(&format!("href=\"/deals/{deal_id}\"")) && html.contains("Valve retrofit")
    );
    for personal in [NAME, EMAIL, PHONE, NOTES, "Procurement Manager", reason] {
        assert!(!html.contains(personal), "{personal} left on the page");
    }
    assert!(html.contains("Converted lead") && html.contains(COMPANY));
    assert!(!html.contains("id=\"convert-form\"") && !html.contains("id=\"edit-lead\""));
    // The list marks it converted and links the contact.
    let (_, list) = app.html("/leads", "en").await;
    let row = row_with(&list, &format!("/leads/{id}"));
    assert!(row.contains("Converted") && row.contains(&format!("href=\"/contacts/{contact_id}\"")));
    assert!(!list.contains(NAME));

    // Converting again, or editing, is refused with the reason.
    let res = app
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("_csrf", &csrf),
                ("version", "4"),
                ("company_choice", "none"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This lead has been converted; work with the contact it became.")
    );
    let (status, html) = app.html(&format!("/leads/{id}/edit"), "en").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("id=\"error-code\">lead_converted<"), "{html}");
}

async fn conversion_errors_are_explained(backend: Backend) {
    let app = spawn_app(backend).await;
    let csrf = app.csrf.clone();
    let bare = create_lead(
        &app,
        json!({"name": "Tom Baker", "email": "tom@baker.example"}),
    )
    .await;
    let id = bare["id"].as_str().unwrap();
    let convert = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url(&format!("/leads/{id}/convert")))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = res.status();
            (status, res.text().await.unwrap())
        }
    };
    let base = |choice: &str| {
        vec![
            ("_csrf", csrf.clone()),
            ("version", "1".to_owned()),
            ("company_choice", choice.to_owned()),
        ]
    };

    // No company name to create a company from.
    let (status, html) = convert(base("create")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"f-company_choice-error\""), "{html}");
    assert!(html.contains("The lead has no company name"));
    // "Link an existing company" without choosing one.
    let (status, html) = convert(base("existing")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"f-company_id-error\""), "{html}");
    // A deal while no pipeline exists: explained, and nothing was created.
    let (_, html) = app.html(&format!("/leads/{id}"), "en").await;
    assert!(html.contains("id=\"convert-no-pipeline\""));
    let mut form = base("none");
    form.push(("with_deal", "on".to_owned()));
    form.push(("deal_title", "First order".to_owned()));
    let (status, html) = convert(form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"f-deal_stage_id-error\""), "{html}");
    assert!(html.contains("There is no pipeline yet"));
    let (_, contacts) = app.get_json("/api/v1/contacts").await;
    assert!(contacts["items"].as_array().unwrap().is_empty());
    // A stale version.
    let mut form = base("none");
    form[1].1 = "7".to_owned();
    let (status, html) = convert(form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("Someone changed this lead"));
    // The API's codes for the same cases, for reference.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/leads/{id}/convert"),
            &json!({"version": 1, "create_company": true}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("company_name_required")
        )
    );

    // Linking an existing company works without a company name on the lead.
    let company = app.create_company(json!({"name": "Baker & Sons"})).await;
    let company_id = company["id"].as_str().unwrap();
    let mut form = base("existing");
    form.push(("company_id", company_id.to_owned()));
    let (status, _) = convert(form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, lead) = app.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["converted"]["company_id"], company_id);
    assert!(lead["converted"]["deal_id"].is_null());
    let contact_id = lead["converted"]["contact_id"].as_str().unwrap();
    let (_, contact) = app
        .get_json(&format!("/api/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(
        (contact["name"].as_str(), contact["company_id"].as_str()),
        (Some("Tom Baker"), Some(company_id))
    );
}

async fn lead_pages_render_in_chinese(backend: Backend) {
    let app = spawn_app(backend).await;
    let zh = "zh-CN,zh;q=0.9";
    let lead = create_lead(
        &app,
        json!({"name": "王小明", "email": "wang@example.cn", "company_name": "胜利油田",
               "source": "trade_show", "score": 60}),
    )
    .await;
    let id = lead["id"].as_str().unwrap();
    for (path, label) in [
        ("/leads".to_owned(), "最低评分"),
        ("/leads?deleted=only".to_owned(), "已删除的线索"),
        ("/leads/new".to_owned(), "新建线索"),
        (format!("/leads/{id}"), "转化为联系人"),
        (format!("/leads/{id}/edit"), "编辑线索"),
    ] {
        let (status, html) = app.html(&path, zh).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("lang=\"zh-CN\""), "{path}");
        assert!(html.contains(label), "{path}: {label}");
        assert!(html.contains(">线索</a>"), "{path}: navigation");
        assert!(
            !html.contains("<script>") && !html.contains(" style="),
            "{path}"
        );
    }
    let (_, list) = app.html("/leads", zh).await;
    assert!(list.contains("展会") && list.contains("新线索") && list.contains("王小明"));
    let (_, detail) = app.html(&format!("/leads/{id}"), zh).await;
    assert!(detail.contains("新建公司“胜利油田”") && detail.contains("标为不合格"));

    // Refusals answer in Chinese too.
    let (status, _) = app
        .post_json(
            &format!("/api/v1/leads/{id}/disqualify"),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let res = app
        .client
        .post(app.url(&format!("/leads/{id}/convert")))
        .header(header::ACCEPT_LANGUAGE, zh)
        .form(&[("_csrf", app.csrf.as_str()), ("version", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("该线索不合格；请先标为合格再转化。")
    );
    let (status, _) = app
        .post_json(
            &format!("/api/v1/leads/{id}/qualify"),
            &json!({"version": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post_json(
            &format!("/api/v1/leads/{id}/convert"),
            &json!({"version": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = app.html(&format!("/leads/{id}"), zh).await;
    assert!(detail.contains("该线索已于") && detail.contains("打开联系人"));
    assert!(!detail.contains("王小明") && !detail.contains("wang@example.cn"));
    let (_, list) = app.html("/leads", zh).await;
    assert!(list.contains("已转化") && !list.contains("王小明"));
}

on_both_backends!(
    list_filters_and_email_search,
    create_and_edit_through_the_forms,
    disqualify_qualify_and_convert_with_company_and_deal,
    conversion_errors_are_explained,
    lead_pages_render_in_chinese,
);
