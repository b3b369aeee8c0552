//! Timelines on the record pages over real HTTP: the quick-log form, paging to older entries,
//! the detailed form with its errors, editing and deleting, in both languages.

use custodian_testkit::{Backend, location, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

const SUBJECT: &str = "Pricing call about Q3 diesel volumes";

async fn quick_log_page_through_edit_and_delete(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "刘洋"})).await;
    let id = contact["id"].as_str().unwrap();
    let path = format!("/contacts/{id}");

    let (status, html) = app.html(&path, "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("时间线") && html.contains("id=\"timeline-empty\""),
        "{html}"
    );

    // The quick-log form on the contact page returns to it.
    let res = app
        .post_form(
            "/activities",
            &[
                ("_csrf", &app.csrf),
                ("contact_id", id),
                ("return_to", &path),
                ("kind", "call"),
                ("subject", SUBJECT),
                ("occurred_at", "2026-03-01T09:30"),
                ("body", "Wants 2,000 t\r\nfrom April"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}#timeline"));
    let (_, html) = app.html(&path, "en").await;
    assert!(
        html.contains(SUBJECT) && html.contains("2026-03-01 09:30 UTC"),
        "{html}"
    );
    assert!(html.contains("Wants 2,000 t\nfrom April"));

    // Twenty-one more notes: the page shows twenty, the rest are one link away.
    for n in 0..21 {
        let (status, _) = app
            .post_json(
                "/api/v1/activities",
                &json!({"kind": "note", "body": format!("note {n:02}"), "contact_id": id,
                        "occurred_at": format!("2026-04-01T00:{n:02}:00Z")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, html) = app.html(&path, "en").await;
    assert!(html.contains("note 20") && !html.contains(SUBJECT));
    let older = html
        .split("id=\"timeline-older\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .unwrap();
    let older = older.split('"').next().unwrap().replace("&#x23;", "#");
    assert!(older.starts_with(&format!("{path}?timeline=")), "{older}");
    let (status, html) = app.html(&older, "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(SUBJECT) && html.contains("id=\"timeline-newest\""));
    assert!(!html.contains("note 20"));

    // The detailed form refuses what does not apply, keeping what was typed.
    let res = app
        .post_form(
            "/activities",
            &[
                ("_csrf", &app.csrf),
                ("contact_id", id),
                ("return_to", &path),
                ("kind", "meeting"),
                ("subject", "Site visit"),
                ("outcome", "busy"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"f-outcome-error\"") && html.contains("Site visit"),
        "{html}"
    );

    // Edit and delete from the timeline.
    let (_, page) = app
        .get_json(&format!("/api/v1/contacts/{id}/timeline?limit=200"))
        .await;
    let call = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject"] == SUBJECT)
        .unwrap();
    let aid = call["id"].as_str().unwrap();
    let (status, form) = app.html(&format!("/activities/{aid}/edit"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"2026-03-01T09:30\""), "{form}");
    let res = app
        .post_form(
            &format!("/activities/{aid}"),
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("return_to", &path),
                ("kind", "call"),
                ("subject", "Pricing call (rescheduled)"),
                ("occurred_at", "2026-03-02T10:00"),
                ("outcome", "no_answer"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, edited) = app.get_json(&format!("/api/v1/activities/{aid}")).await;
    assert_eq!(
        (
            edited["subject"].as_str(),
            edited["outcome"].as_str(),
            edited["body"].as_str()
        ),
        (Some("Pricing call (rescheduled)"), Some("no_answer"), None)
    );
    assert_eq!(edited["occurred_at"], "2026-03-02T10:00:00Z");
    let res = app
        .post_form(
            &format!("/activities/{aid}/delete"),
            &[("_csrf", &app.csrf), ("return_to", &path)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.get_json(&format!("/api/v1/activities/{aid}")).await;
    assert_eq!(status, StatusCode::OK, "soft-deleted, still restorable");
    let (_, line) = app
        .get_json(&format!("/api/v1/contacts/{id}/timeline?limit=200"))
        .await;
    assert_eq!(line["items"].as_array().unwrap().len(), 21);

    // A forged form without the CSRF token changes nothing.
    let res = app
        .post_form(
            "/activities",
            &[("contact_id", id), ("kind", "note"), ("body", "forged")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn company_and_deal_pages_show_their_timelines(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Yantai Foods"})).await;
    let contact = app
        .create_contact(json!({"name": "Sun Li", "company_id": company["id"]}))
        .await;
    app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    let deal = app
        .create_deal(json!({"title": "Cold chain", "contact_id": contact["id"]}))
        .await;
    let (status, _) = app
        .post_json(
            "/api/v1/activities",
            &json!({"kind": "meeting", "subject": "Tasting session", "deal_id": deal["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for path in [
        format!("/companies/{}", company["id"].as_str().unwrap()),
        format!("/deals/{}", deal["id"].as_str().unwrap()),
        format!("/contacts/{}", contact["id"].as_str().unwrap()),
    ] {
        let (status, html) = app.html(&path, "en").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Tasting session"), "{path}: {html}");
    }
    // A deleted record shows no timeline form.
    let (status, _) = app
        .delete(&format!(
            "/api/v1/companies/{}",
            company["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, html) = app
        .html(
            &format!("/companies/{}", company["id"].as_str().unwrap()),
            "en",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"quick-log\""));
}

on_both_backends!(
    quick_log_page_through_edit_and_delete,
    company_and_deal_pages_show_their_timelines,
);
