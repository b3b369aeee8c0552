//! The task and notification pages over real HTTP: the views, the form (create from a
//! contact's page, pre-linked), complete and reopen, the record section, the bell and the
//! notification list, in both languages; titles never reach a URL.

use custodian_domain::Clock;
use custodian_testkit::{Backend, TestApp, on_both_backends, spawn_app};
use reqwest::{StatusCode, header};
use serde_json::json;

const TITLE: &str = "致电王小明确认报价";

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

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(header::ACCEPT_LANGUAGE, "en")
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

async fn task_pages_views_and_bell(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "王小明"})).await;
    let contact_id = contact["id"].as_str().unwrap();

    // The contact page offers "Add task", pre-linked to it by id only.
    let (status, html) = page(&app, &format!("/contacts/{contact_id}"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"record-tasks\"") && html.contains("No open tasks."));
    let new_href = format!("/tasks/new?contact_id={contact_id}");
    assert!(html.contains(&new_href), "{html}");
    let (status, form) = page(&app, &new_href, "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("新建任务") && form.contains(&format!("value=\"{contact_id}\"")));
    assert!(form.contains("name=\"_csrf\""));
    assert!(!form.contains("<script>") && !form.contains("hx-on"));

    // Invalid input re-renders the form with the field's message.
    let res = post_form(
        &app,
        "/tasks",
        &[("_csrf", &app.csrf), ("title", " "), ("priority", "normal")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This field is required.")
    );
    // Without the CSRF token nothing is created.
    let res = post_form(&app, "/tasks", &[("title", "Forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let now = app.clock.now();
    let due = now + time::Duration::minutes(10);
    let due_date = format!(
        "{:04}-{:02}-{:02}",
        due.year(),
        u8::from(due.month()),
        due.day()
    );
    let due_time = format!("{:02}:{:02}", due.hour(), due.minute());
    let res = post_form(
        &app,
        "/tasks",
        &[
            ("_csrf", &app.csrf),
            ("title", TITLE),
            ("due_date", &due_date),
            ("due_time", &due_time),
            ("priority", "urgent"),
            ("status", "open"),
            ("contact_id", contact_id),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let task_path = location(&res);
    assert!(task_path.starts_with("/tasks/") && !task_path.contains('%'));
    let (_, detail) = page(&app, &task_path, "en").await;
    assert!(detail.contains(TITLE) && detail.contains("Urgent"));
    assert!(detail.contains(&format!("/contacts/{contact_id}")));

    // My tasks lists it; nothing overdue yet; a quarter of an hour later it is, visibly.
    let (_, mine) = page(&app, "/tasks", "en").await;
    assert!(mine.contains(TITLE) && mine.contains("aria-current=\"page\">My tasks"));
    let (_, overdue) = page(&app, "/tasks?view=overdue", "en").await;
    assert!(!overdue.contains(TITLE) && overdue.contains("Nothing is overdue."));
    app.clock.advance(time::Duration::minutes(15));
    let (_, overdue) = page(&app, "/tasks?view=overdue", "zh-CN").await;
    assert!(overdue.contains(TITLE) && overdue.contains("task-row overdue"));
    assert!(overdue.contains("已逾期"));
    let (_, contact_page) = page(&app, &format!("/contacts/{contact_id}"), "en").await;
    assert!(contact_page.contains(TITLE) && contact_page.contains("badge-overdue"));

    // Complete, then the edit is refused until reopened.
    let res = post_form(
        &app,
        &format!("{task_path}/complete"),
        &[("_csrf", &app.csrf), ("version", "1")],
    )
    .await;
    assert_eq!(
        (res.status(), location(&res)),
        (StatusCode::SEE_OTHER, task_path.clone())
    );
    let (_, done) = page(&app, &task_path, "en").await;
    assert!(done.contains("id=\"reopen-task\"") && !done.contains("id=\"edit-task\""));
    let (status, _) = page(&app, &format!("{task_path}/edit"), "en").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let res = post_form(
        &app,
        &format!("{task_path}/complete"),
        &[("_csrf", &app.csrf), ("version", "1")],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "stale version re-renders with a notice"
    );
    let res = post_form(
        &app,
        &format!("{task_path}/reopen"),
        &[("_csrf", &app.csrf), ("version", "2")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, open) = page(&app, &format!("{task_path}/edit"), "en").await;
    assert!(open.contains("id=\"task-form\"") && open.contains(TITLE));

    // The bell: zero, then one unread after a reminder; the list shows the task's title.
    let (_, html) = page(&app, "/tasks", "en").await;
    assert!(html.contains("id=\"notification-count\">0<"));
    let task_id = task_path.trim_start_matches("/tasks/");
    let remind = time::OffsetDateTime::format(
        app.clock.now() - time::Duration::minutes(1),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"version": 3, "due_at": null, "remind_at": remind}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.core.send_due_reminders().await.unwrap();
    let (_, html) = page(&app, "/tasks", "en").await;
    assert!(html.contains("bell bell-unread") && html.contains("id=\"notification-count\">1<"));
    let (_, list) = page(&app, "/notifications", "zh-CN").await;
    assert!(list.contains("提醒：") && list.contains(TITLE) && list.contains("标为已读"));
    let res = post_form(&app, "/notifications/read-all", &[("_csrf", &app.csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&app, "/notifications?unread=1", "en").await;
    assert!(html.contains("No notifications.") && html.contains("id=\"notification-count\">0<"));
}

on_both_backends!(task_pages_views_and_bell);
