//! The preferences, feedback and complaints pages over real HTTP, in both languages: the
//! contact page sections and their forms, the do-not-contact badge and list filter, the
//! complaints queue, detail with transitions and history, and the NPS / CSAT page.

use custodian_testkit::{Backend, location, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

const REASON: &str = "只接受书面通知";
const SUBJECT: &str = "润滑油桶漏油";

fn no_inline_script(html: &str) {
    assert!(!html.contains("<script>") && !html.contains("hx-on") && !html.contains("style="));
}

async fn contact_sections_and_forms(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "王小明"})).await;
    let id = contact["id"].as_str().unwrap();
    let page = format!("/contacts/{id}");

    for (lang, words) in [
        (
            "en",
            [
                "Communication preferences",
                "Feedback",
                "Complaints",
                "Record response",
            ],
        ),
        ("zh-CN", ["沟通偏好", "反馈", "投诉", "记录回复"]),
    ] {
        let (status, html) = app.html(&page, lang).await;
        assert_eq!(status, StatusCode::OK);
        for w in words {
            assert!(html.contains(w), "{lang}: {w}");
        }
        assert!(html.contains("id=\"preferences-form\"") && html.contains("name=\"_csrf\""));
        assert!(!html.contains("id=\"dnc-badge\""));
        no_inline_script(&html);
    }

    // Save preferences with do-not-contact through the form.
    let res = app
        .post_form(
            &format!("/contacts/{id}/preferences"),
            &[
                ("_csrf", &app.csrf),
                ("version", "0"),
                ("channel", "wechat"),
                ("language", "zh-CN"),
                ("frequency", "quarterly"),
                ("opt_out_sms", "on"),
                ("do_not_contact", "on"),
                ("do_not_contact_reason", REASON),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/contacts/{id}#preferences"));
    assert!(!location(&res).contains("wechat"));
    let (_, html) = app.html(&page, "zh-CN").await;
    assert!(html.contains("id=\"dnc-badge\"") && html.contains("勿扰"));
    assert!(html.contains(REASON) && html.contains("微信") && html.contains("每季度"));
    // A stale form is refused with its code.
    let res = app
        .post_form(
            &format!("/contacts/{id}/preferences"),
            &[("_csrf", &app.csrf), ("version", "0")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Without the CSRF token nothing happens.
    let res = app
        .post_form(&format!("/contacts/{id}/preferences"), &[("version", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The contact list filters.
    let (_, dnc) = app.html("/contacts?do_not_contact=true", "en").await;
    assert!(dnc.contains("王小明"));
    let (_, contactable) = app.html("/contacts?do_not_contact=false", "en").await;
    assert!(!contactable.contains("王小明"));

    // Record a survey response; the section shows it with the contact's NPS.
    let res = app
        .post_form(
            &format!("/contacts/{id}/surveys"),
            &[
                ("_csrf", &app.csrf),
                ("kind", "nps"),
                ("score", "10"),
                ("comment", "服务很好"),
                ("channel", "wechat"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.html(&page, "en").await;
    assert!(html.contains("服务很好"));
    assert!(html.contains("id=\"contact-nps\">100.0"), "{html}");
    // A score out of range is an error page with the translated message, nothing stored.
    let res = app
        .post_form(
            &format!("/contacts/{id}/surveys"),
            &[("_csrf", &app.csrf), ("kind", "csat"), ("score", "9")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("1–5 for CSAT"));
}

async fn complaint_pages_in_both_languages(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Li Na"})).await;
    let id = contact["id"].as_str().unwrap();
    let (status, form) = app
        .html(&format!("/complaints/new?contact_id={id}"), "zh-CN")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("新建投诉") && form.contains("产品质量") && form.contains("紧急"));
    no_inline_script(&form);
    // Missing fields re-render the form with messages.
    let res = app
        .post_form(
            "/complaints",
            &[("_csrf", &app.csrf), ("contact_id", id), ("subject", " ")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .post_form(
            "/complaints",
            &[
                ("_csrf", &app.csrf),
                ("contact_id", id),
                ("subject", SUBJECT),
                ("description", "三桶漏油"),
                ("category", "product_quality"),
                ("severity", "critical"),
                ("assign_to_me", "me"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let detail = location(&res);
    assert!(detail.starts_with("/complaints/"));

    for (lang, words) in [
        (
            "en",
            [
                "Complaints",
                "Open",
                "Critical",
                "Start investigating",
                "Status history",
            ],
        ),
        ("zh-CN", ["投诉", "待处理", "紧急", "开始调查", "状态历史"]),
    ] {
        let (status, html) = app.html(&detail, lang).await;
        assert_eq!(status, StatusCode::OK);
        for w in words {
            assert!(html.contains(w), "{lang}: {w}");
        }
        assert!(html.contains(SUBJECT) && html.contains("三桶漏油"));
        no_inline_script(&html);
        let (status, list) = app.html("/complaints", lang).await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains(SUBJECT) && list.contains("id=\"complaint-filter\""));
        assert!(list.contains("id=\"nav-complaints\"") && list.contains("id=\"nav-feedback\""));
    }

    // Resolving without a resolution stays on the page with the message.
    let res = app
        .post_form(
            &format!("{detail}/transition"),
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("status", "resolved"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Describe how the complaint was resolved.")
    );
    // An illegal transition: 409 with its message.
    let res = app
        .post_form(
            &format!("{detail}/transition"),
            &[("_csrf", &app.csrf), ("version", "1"), ("status", "closed")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("not allowed"));
    let res = app
        .post_form(
            &format!("{detail}/transition"),
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("status", "resolved"),
                ("resolution", "换货并赔偿"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.html(&detail, "en").await;
    assert!(html.contains("换货并赔偿") && html.contains("Resolved"));
    assert_eq!(html.matches("class=\"history-item\"").count(), 2);

    // Filters: the resolved complaint is not open, and not overdue.
    let (_, open) = app.html("/complaints?status=open", "en").await;
    assert!(!open.contains(SUBJECT) && open.contains("id=\"complaints-empty\""));
    let (_, mine) = app
        .html("/complaints?assignee=me&severity=critical", "en")
        .await;
    assert!(mine.contains(SUBJECT));
    let (_, overdue) = app.html("/complaints?overdue=true", "en").await;
    assert!(!overdue.contains(SUBJECT));
    // The contact page lists it.
    let (_, contact_page) = app.html(&format!("/contacts/{id}"), "en").await;
    assert!(contact_page.contains(SUBJECT));
}

async fn feedback_summary_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Zhao"})).await;
    for (kind, score) in [
        ("nps", 10),
        ("nps", 6),
        ("nps", 9),
        ("csat", 4),
        ("csat", 2),
    ] {
        let (status, _) = app
            .post_json(
                "/api/v1/surveys",
                &json!({"contact_id": contact["id"], "kind": kind, "score": score,
                        "responded_at": "2026-02-10"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    for (lang, title) in [("en", "Customer feedback"), ("zh-CN", "客户反馈")] {
        let (status, html) = app.html("/feedback", lang).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(title));
        assert!(html.contains("id=\"nps-score\">33.3<"), "{html}");
        assert!(html.contains("id=\"csat-percent\">50.0 %<"));
        assert!(html.contains("id=\"csat-average\">3.00<"));
        no_inline_script(&html);
    }
    let (status, html) = app
        .html("/feedback?from=2026-03-01&to=2026-03-31", "en")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"nps-responses\">0<"));
    let (status, html) = app
        .html("/feedback?from=2026-03-31&to=2026-03-01", "zh-CN")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("结束日期不能早于开始日期"));
}

on_both_backends!(
    contact_sections_and_forms,
    complaint_pages_in_both_languages,
    feedback_summary_page,
);
