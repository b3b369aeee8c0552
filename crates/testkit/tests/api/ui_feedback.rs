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

/// Posts a UI form in the given language (redirects are not followed).
async fn post_form_in(
    app: &custodian_testkit::TestApp,
    path: &str,
    lang: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(reqwest::header::ACCEPT_LANGUAGE, lang)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The preference and survey forms of the contact page answer a refusal with the contact page
/// itself: the section's form unfolded, the message next to the field, what was typed kept.
async fn preference_and_survey_errors_show_inline(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "陈静"})).await;
    let id = contact["id"].as_str().unwrap();
    let page = format!("/contacts/{id}");
    let (_, html) = app.html(&page, "en").await;
    assert!(
        html.contains("<details id=\"preferences-edit\">"),
        "folded at first"
    );

    // A reason over 2,000 characters.
    let long_reason = "不要再打电话".repeat(400);
    let res = app
        .post_form(
            &format!("{page}/preferences"),
            &[
                ("_csrf", &app.csrf),
                ("version", "0"),
                ("channel", "post"),
                ("opt_out_phone", "on"),
                ("do_not_contact", "on"),
                ("do_not_contact_reason", &long_reason),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"page-title\">陈静"), "the contact page");
    assert!(html.contains("<details id=\"preferences-edit\" open>"));
    assert!(
        html.contains("id=\"pref-f-reason-error\">Must be at most 2000 characters.</p>"),
        "{html}"
    );
    assert!(html.contains(&long_reason), "the reason is kept");
    assert!(html.contains("<option value=\"post\" selected>"));
    assert!(html.contains("name=\"opt_out_phone\" value=\"on\" checked"));
    assert!(html.contains("id=\"pref-f-dnc\" name=\"do_not_contact\" value=\"on\" checked"));
    let (_, prefs) = app
        .get_json(&format!("/api/v1/contacts/{id}/preferences"))
        .await;
    assert_eq!(prefs["version"], 0, "nothing saved");

    // Saved, then a stale form: 409 with the warning, the choices kept.
    let res = app
        .post_form(
            &format!("{page}/preferences"),
            &[("_csrf", &app.csrf), ("version", "0"), ("channel", "email")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post_form_in(
        &app,
        &format!("{page}/preferences"),
        "zh-CN",
        &[("_csrf", &app.csrf), ("version", "0"), ("channel", "sms")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"preferences-stale\"") && html.contains("其他人修改了这些偏好"));
    assert!(html.contains("<option value=\"sms\" selected>"));
    let (_, prefs) = app
        .get_json(&format!("/api/v1/contacts/{id}/preferences"))
        .await;
    assert_eq!(prefs["channel"], "email", "the stale form changed nothing");

    // Survey: a score that is not a number, then one out of range for CSAT.
    let res = app
        .post_form(
            &format!("{page}/surveys"),
            &[
                ("_csrf", &app.csrf),
                ("kind", "csat"),
                ("score", "five"),
                ("comment", "送货很慢"),
                ("channel", "wechat"),
                ("responded_on", "2026-03-02"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("<details id=\"survey-record\" open>"));
    assert!(
        html.contains("id=\"survey-score-error\">Enter a whole number.</p>"),
        "{html}"
    );
    assert!(html.contains("value=\"five\"") && html.contains(">送货很慢</textarea>"));
    assert!(html.contains("<option value=\"csat\" selected>"));
    assert!(html.contains("value=\"2026-03-02\""));
    let res = post_form_in(
        &app,
        &format!("{page}/surveys"),
        "zh-CN",
        &[("_csrf", &app.csrf), ("kind", "csat"), ("score", "9")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"survey-score-error\""), "{html}");
    assert!(!html.contains("1–5 for CSAT"), "in Chinese");
    // A bad date goes next to the date.
    let res = app
        .post_form(
            &format!("{page}/surveys"),
            &[
                ("_csrf", &app.csrf),
                ("kind", "nps"),
                ("score", "7"),
                ("responded_on", "02/03/2026"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"survey-date-error\"")
    );
    let (_, list) = app
        .get_json(&format!("/api/v1/surveys?contact_id={id}"))
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing recorded"
    );
}

/// A survey response is corrected and deleted from the contact's feedback section.
async fn survey_responses_are_corrected_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "周杰"})).await;
    let id = contact["id"].as_str().unwrap();
    let page = format!("/contacts/{id}");
    let res = app
        .post_form(
            &format!("{page}/surveys"),
            &[
                ("_csrf", &app.csrf),
                ("kind", "csat"),
                ("score", "2"),
                ("comment", "安装太慢"),
                ("channel", "phone"),
                ("responded_on", "2026-03-02"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = app
        .get_json(&format!("/api/v1/surveys?contact_id={id}"))
        .await;
    let survey = list["items"][0].clone();
    let sid = survey["id"].as_str().unwrap().to_owned();
    let responded_at = survey["responded_at"].as_str().unwrap().to_owned();

    let (_, html) = app.html(&page, "en").await;
    assert!(html.contains(&format!("href=\"/surveys/{sid}/edit\"")));
    assert!(html.contains(&format!("action=\"/surveys/{sid}/delete\"")));
    let (status, form) = app.html(&format!("/surveys/{sid}/edit"), "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("更正调查回复") && form.contains("CSAT（1–5）"));
    assert!(form.contains("value=\"2\"") && form.contains(">安装太慢</textarea>"));
    assert!(form.contains("value=\"2026-03-02\"") && form.contains("name=\"_csrf\""));
    no_inline_script(&form);

    // Out of range for CSAT: the edit form again, with the message next to the score.
    let edit = format!("/surveys/{sid}");
    let res = app
        .post_form(
            &edit,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("score", "6"),
                ("comment", "安装太慢 但服务好"),
                ("channel", "phone"),
                ("responded_on", "2026-03-02"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"f-score-error\">The score must be 0–10 for NPS and 1–5 for CSAT.</p>"),
        "{html}"
    );
    assert!(html.contains("value=\"6\"") && html.contains("安装太慢 但服务好"));

    // Corrected: score and comment change, the unchanged date keeps the recorded moment.
    let res = app
        .post_form(
            &edit,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("score", "4"),
                ("comment", "安装太慢 但服务好"),
                ("channel", "phone"),
                ("responded_on", "2026-03-02"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{page}#feedback"));
    let (_, stored) = app.get_json(&format!("/api/v1/surveys/{sid}")).await;
    assert_eq!(
        (
            stored["score"].as_i64(),
            stored["comment"].as_str(),
            stored["responded_at"].as_str(),
            stored["version"].as_i64()
        ),
        (
            Some(4),
            Some("安装太慢 但服务好"),
            Some(responded_at.as_str()),
            Some(2)
        )
    );
    // A stale form: 409, nothing changed.
    let res = app
        .post_form(
            &edit,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("score", "5"),
                ("responded_on", "2026-03-02"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("id=\"stale-warning\""));
    // A new date moves it; clearing the comment clears it.
    let res = app
        .post_form(
            &edit,
            &[
                ("_csrf", &app.csrf),
                ("version", "2"),
                ("score", "4"),
                ("comment", ""),
                ("responded_on", "2026-02-27"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, stored) = app.get_json(&format!("/api/v1/surveys/{sid}")).await;
    assert!(
        stored["responded_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-02-27")
    );
    assert!(stored["comment"].is_null() && stored["channel"].is_null());
    let (_, html) = app.html(&page, "en").await;
    assert!(!html.contains("安装太慢"));

    // Deleted: gone from the section and the list; its edit form is refused.
    let res = app
        .post_form(&format!("{edit}/delete"), &[("_csrf", &app.csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{page}#feedback"));
    let (_, html) = app.html(&page, "en").await;
    assert!(!html.contains(&sid) && html.contains("No survey responses yet."));
    let (_, list) = app
        .get_json(&format!("/api/v1/surveys?contact_id={id}"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (status, _) = app.html(&format!("{edit}/edit"), "en").await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Without the CSRF token nothing is deleted.
    let (_, other) = app
        .post_json(
            "/api/v1/surveys",
            &json!({"contact_id": id, "kind": "nps", "score": 8}),
        )
        .await;
    let res = app
        .post_form(
            &format!("/surveys/{}/delete", other["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, list) = app
        .get_json(&format!("/api/v1/surveys?contact_id={id}"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// The complaint page carries an edit form for subject, description, category, severity and
/// assignee, while the complaint can still change.
async fn complaint_is_edited_on_its_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Li Na"})).await;
    let (status, c) = app
        .post_json(
            "/api/v1/complaints",
            &json!({"contact_id": contact["id"], "subject": SUBJECT, "description": "三桶漏油",
                    "category": "delivery", "severity": "low"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let detail = format!("/complaints/{}", c["id"].as_str().unwrap());
    let due_before = c["response_due_at"].as_str().unwrap().to_owned();

    let (_, html) = app.html(&detail, "zh-CN").await;
    assert!(html.contains("<details class=\"related\" id=\"complaint-edit\">"));
    assert!(html.contains("编辑投诉") && html.contains("暂无"));
    assert!(
        html.contains(&format!("value=\"{SUBJECT}\"")) && html.contains(">三桶漏油</textarea>")
    );
    assert!(html.contains("<option value=\"delivery\" selected>"));
    no_inline_script(&html);

    // A blank subject: the page again, form open, message next to the subject, input kept.
    let res = app
        .post_form(
            &detail,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("subject", " "),
                ("description", "四桶漏油"),
                ("category", "product_quality"),
                ("severity", "critical"),
                ("assignee", "me"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("<details class=\"related\" id=\"complaint-edit\" open>"));
    assert!(
        html.contains("id=\"f-subject-error\">This field is required.</p>"),
        "{html}"
    );
    assert!(html.contains(">四桶漏油</textarea>"));
    assert!(html.contains("<option value=\"critical\" selected>"));
    let (_, stored) = app.get_json(&format!("/api/v1{detail}")).await;
    assert_eq!(stored["version"], 1, "nothing saved");

    let res = app
        .post_form(
            &detail,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("subject", "润滑油桶漏油 - 四桶"),
                ("description", "四桶漏油"),
                ("category", "product_quality"),
                ("severity", "critical"),
                ("assignee", "me"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), detail);
    let (_, me) = app.get_json("/api/v1/auth/me").await;
    let (_, stored) = app.get_json(&format!("/api/v1{detail}")).await;
    assert_eq!(
        (
            stored["subject"].as_str(),
            stored["description"].as_str(),
            stored["category"].as_str(),
            stored["severity"].as_str(),
            stored["assignee_id"].as_str(),
        ),
        (
            Some("润滑油桶漏油 - 四桶"),
            Some("四桶漏油"),
            Some("product_quality"),
            Some("critical"),
            me["user"]["id"].as_str(),
        )
    );
    assert_ne!(
        stored["response_due_at"].as_str(),
        Some(due_before.as_str()),
        "a new severity, a new due time"
    );
    // A stale form: 409, the changes kept on the page with the warning.
    let res = app
        .post_form(
            &detail,
            &[
                ("_csrf", &app.csrf),
                ("version", "1"),
                ("subject", "Stale subject"),
                ("description", "x"),
                ("category", "billing"),
                ("severity", "low"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"complaint-edit-stale\"") && html.contains("value=\"Stale subject\"")
    );
    // Unassigned through the form.
    let res = app
        .post_form(
            &detail,
            &[
                ("_csrf", &app.csrf),
                ("version", "2"),
                ("subject", "润滑油桶漏油 - 四桶"),
                ("description", "四桶漏油"),
                ("category", "product_quality"),
                ("severity", "critical"),
                ("assignee", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, stored) = app.get_json(&format!("/api/v1{detail}")).await;
    assert!(stored["assignee_id"].is_null());

    // Rejected: final, so no form, and a late post is refused in words.
    let (status, _) = app
        .post_json(
            &format!("/api/v1{detail}/transition"),
            &json!({"version": 3, "status": "rejected"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = app.html(&detail, "en").await;
    assert!(!html.contains("id=\"complaint-edit-form\""));
    let res = app
        .post_form(
            &detail,
            &[
                ("_csrf", &app.csrf),
                ("version", "4"),
                ("subject", "Too late"),
                ("description", "x"),
                ("category", "billing"),
                ("severity", "low"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The complaint is closed or rejected and can no longer be changed.")
    );
}

/// The company page shows the feedback of its contacts: aggregates, latest responses (without
/// the comments) and complaints; another company's are not there.
async fn company_page_shows_its_contacts_feedback(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.create_company(json!({"name": "Jade River Oil"})).await;
    let other = app.create_company(json!({"name": "Other Co"})).await;
    let zhang = app
        .create_contact(json!({"name": "张伟", "company_id": company["id"]}))
        .await;
    let liu = app
        .create_contact(json!({"name": "刘洋", "company_id": company["id"]}))
        .await;
    let outsider = app
        .create_contact(json!({"name": "Outsider", "company_id": other["id"]}))
        .await;
    for (contact, kind, score, comment) in [
        (&zhang, "nps", 10, "非常满意"),
        (&liu, "nps", 6, "价格太高"),
        (&liu, "csat", 5, ""),
        (&outsider, "nps", 0, "不相关"),
    ] {
        let (status, body) = app
            .post_json(
                "/api/v1/surveys",
                &json!({"contact_id": contact["id"], "kind": kind, "score": score,
                        "comment": comment}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for (contact, subject) in [(&liu, "油品检测不合格"), (&outsider, "Not ours")] {
        let (status, body) = app
            .post_json(
                "/api/v1/complaints",
                &json!({"contact_id": contact["id"], "subject": subject, "description": "d",
                        "category": "product_quality", "severity": "high"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let page = format!("/companies/{}", company["id"].as_str().unwrap());
    let (status, html) = app.html(&page, "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"company-feedback-title\">Feedback from this company"),
        "{html}"
    );
    // One promoter, one detractor: NPS 0.0 over two; CSAT 100.0 % over one.
    assert!(
        html.contains("id=\"company-nps\">0.0 <span class=\"muted\">(2 responses)"),
        "{html}"
    );
    assert!(html.contains("id=\"company-csat\">100.0 %"));
    assert!(html.contains("id=\"company-csat-average\">5.00"));
    assert!(html.contains("张伟") && html.contains("刘洋"));
    assert_eq!(
        html.matches("#feedback\">").count(),
        3,
        "three responses, linked"
    );
    assert!(
        !html.contains("非常满意") && !html.contains("价格太高"),
        "no comments"
    );
    assert!(html.contains("油品检测不合格") && !html.contains("Not ours"));
    assert!(!html.contains("不相关"));
    assert!(html.contains(&format!(
        "href=\"/feedback?company_id={}\"",
        company["id"].as_str().unwrap()
    )));
    let (_, html) = app.html(&page, "zh-CN").await;
    assert!(html.contains("该公司联系人的反馈") && html.contains("净推荐值（NPS）"));
    no_inline_script(&html);
    // A company without feedback says so.
    let (_, html) = app
        .html(
            &format!("/companies/{}", other["id"].as_str().unwrap()),
            "en",
        )
        .await;
    assert!(
        html.contains("id=\"company-nps\">-100.0"),
        "only the outsider's answer"
    );
    let empty = app.create_company(json!({"name": "Quiet Co"})).await;
    let (_, html) = app
        .html(
            &format!("/companies/{}", empty["id"].as_str().unwrap()),
            "en",
        )
        .await;
    assert!(html.contains("No survey responses from this company"));
    assert!(html.contains("id=\"company-complaints-empty\""));
}

on_both_backends!(
    contact_sections_and_forms,
    complaint_pages_in_both_languages,
    feedback_summary_page,
    preference_and_survey_errors_show_inline,
    survey_responses_are_corrected_and_deleted,
    complaint_is_edited_on_its_page,
    company_page_shows_its_contacts_feedback,
);
