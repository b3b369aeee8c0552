use custodian_core::notifications::{
    DeliveryError, DeliveryFuture, NotificationTransport, OutboundNotification,
};
use custodian_domain::Clock;
use custodian_testkit::{Backend, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const TITLE: &str = "致电王小明确认阀门报价";

async fn create_task(app: &TestApp, body: Value) -> Value {
    let (status, json) = app.post_json("/api/v1/tasks", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

fn titles(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn task_lifecycle_and_stale_version(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app
        .create_contact(json!({"name": "王小明", "emails": ["wang@example.cn"]}))
        .await;
    let contact_id = contact["id"].as_str().unwrap();
    let task = create_task(
        &app,
        json!({"title": TITLE, "notes": "Ask about the DN50 valves", "priority": "high",
               "due_at": "2030-03-05", "contact_id": contact_id}),
    )
    .await;
    assert_eq!(
        (
            task["status"].as_str(),
            task["priority"].as_str(),
            task["due_all_day"].as_bool(),
            task["overdue"].as_bool(),
            task["version"].as_i64()
        ),
        (Some("open"), Some("high"), Some(true), Some(false), Some(1))
    );
    assert_eq!(task["due_at"], "2030-03-05T23:59:59.999Z");
    assert_eq!(task["contact_id"], contact_id);
    let (_, me) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(
        task["assignee_id"], me["user"]["id"],
        "defaults to the creator"
    );
    let id = task["id"].as_str().unwrap();
    let path = format!("/api/v1/tasks/{id}");

    // The task is encrypted under the contact's own key.
    let row = custodian_store::repo::tasks::get(app.core.store().conn(), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let contact_row =
        custodian_store::repo::contacts::get(app.core.store().conn(), contact_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(row.dek_id, contact_row.dek_id);

    let (status, got) = app.get_json(&path).await;
    assert_eq!(
        (status, got["notes"].as_str()),
        (StatusCode::OK, Some("Ask about the DN50 valves"))
    );
    let (status, patched) = app
        .patch_json(
            &path,
            &json!({"version": 1, "status": "in_progress", "priority": "urgent", "notes": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (
            patched["status"].as_str(),
            patched["priority"].as_str(),
            patched.get("notes"),
            patched["title"].as_str()
        ),
        (Some("in_progress"), Some("urgent"), None, Some(TITLE))
    );
    let (status, body) = app
        .patch_json(&path, &json!({"version": 1, "title": "Lost update"}))
        .await;
    assert_eq!(
        (
            status,
            error_code(&body),
            body["details"]["current_version"].as_i64()
        ),
        (StatusCode::CONFLICT, Some("stale_version"), Some(2))
    );

    let (status, done) = app
        .post_json(&format!("{path}/complete"), &json!({"version": 2}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_string());
    // A closed task refuses edits; reopening is the way back.
    let (status, body) = app
        .patch_json(&path, &json!({"version": 3, "title": "Changed"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, Some("task_closed"))
    );
    let (status, reopened) = app
        .post_json(&format!("{path}/reopen"), &json!({"version": 3}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!(
        (
            reopened["status"].as_str(),
            reopened["completed_at"].is_null()
        ),
        (Some("open"), true)
    );

    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.get_json("/api/v1/tasks").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, deleted) = app.get_json("/api/v1/tasks?deleted=only").await;
    assert_eq!(titles(&deleted), vec![TITLE]);
    let (status, restored) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    let (status, body) = app.post_json(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

async fn bad_task_input_has_stable_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (
            json!({"title": "x", "priority": "asap"}),
            "invalid_priority",
        ),
        (
            json!({"title": "x", "contact_id": "0196f3a0-0000-7000-8000-000000000001"}),
            "unknown_contact",
        ),
        (
            json!({"title": "x", "deal_id": "0196f3a0-0000-7000-8000-000000000001"}),
            "unknown_deal",
        ),
        (json!({"title": "x".repeat(301)}), "too_long"),
        (json!({"title": "  "}), "required"),
        (
            json!({"title": "x", "due_at": "next week"}),
            "invalid_datetime",
        ),
        (
            json!({"title": "x", "due_at": "2030-01-01", "remind_at": "2030-01-02T09:00:00Z"}),
            "remind_after_due",
        ),
        (
            json!({"title": "x", "status": "done"}),
            "invalid_status_change",
        ),
        (
            json!({"title": "x", "assignee_id": "0196f3a0-0000-7000-8000-000000000001"}),
            "unknown_user",
        ),
    ];
    for (body, code) in cases {
        let (status, json) = app.post_json("/api/v1/tasks", &body).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}: {json}"
        );
    }
    let (status, body) = app
        .post_json("/api/v1/tasks", &json!({"title": "x", "colour": "red"}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields refused: {body}"
    );
    for (query, status, code) in [
        (
            "limit=201",
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
        ),
        (
            "sort=title",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sort",
        ),
        (
            "status=closed",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_status",
        ),
        (
            "assignee=you",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_assignee",
        ),
        ("cursor=abc", StatusCode::BAD_REQUEST, "invalid_cursor"),
    ] {
        let (got, body) = app.get_json(&format!("/api/v1/tasks?{query}")).await;
        assert_eq!(
            (got, error_code(&body)),
            (status, Some(code)),
            "{query}: {body}"
        );
    }
}

async fn my_tasks_overdue_and_record_views(backend: Backend) {
    let app = spawn_app(backend).await;
    let colleague = app.sign_in_new_user("li.na@custodian.test").await;
    let now = app.clock.now();
    let minutes = |m: i64| rfc3339(now + time::Duration::minutes(m));
    let company = app.create_company(json!({"name": "Sino Petro"})).await;
    let company_id = company["id"].as_str().unwrap();
    create_task(
        &app,
        json!({"title": "Due soon", "due_at": minutes(10), "priority": "low"}),
    )
    .await;
    create_task(&app, json!({"title": "No due date", "priority": "urgent"})).await;
    create_task(
        &app,
        json!({"title": "Due tomorrow", "due_at": minutes(24 * 60), "company_id": company_id}),
    )
    .await;
    let done = create_task(&app, json!({"title": "Done early", "due_at": minutes(5)})).await;
    let (status, _) = app
        .post_json(
            &format!("/api/v1/tasks/{}/complete", done["id"].as_str().unwrap()),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    create_task(
        &app,
        json!({"title": "Theirs", "due_at": minutes(5), "assignee_id": colleague.id}),
    )
    .await;

    // My open tasks by due date, no due date last.
    let (_, mine) = app
        .get_json("/api/v1/tasks?assignee=me&status=open,in_progress")
        .await;
    assert_eq!(
        titles(&mine),
        vec!["Due soon", "Due tomorrow", "No due date"]
    );
    let (_, by_priority) = app
        .get_json("/api/v1/tasks?assignee=me&status=open&sort=-priority")
        .await;
    assert_eq!(titles(&by_priority)[0], "No due date");
    let (_, theirs) = colleague.get_json("/api/v1/tasks?assignee=me").await;
    assert_eq!(titles(&theirs), vec!["Theirs"]);
    let (_, of_company) = app
        .get_json(&format!("/api/v1/tasks?company_id={company_id}"))
        .await;
    assert_eq!(titles(&of_company), vec!["Due tomorrow"]);

    // Nothing is overdue yet; a quarter of an hour later two are (the done one never is).
    let (_, overdue) = app.get_json("/api/v1/tasks?overdue=true").await;
    assert!(titles(&overdue).is_empty(), "{overdue}");
    app.clock.advance(time::Duration::minutes(15));
    let (_, overdue) = app.get_json("/api/v1/tasks?overdue=true").await;
    assert_eq!(titles(&overdue), vec!["Theirs", "Due soon"]);
    assert!(overdue["items"][0]["overdue"].as_bool().unwrap());
    let (_, my_overdue) = app.get_json("/api/v1/tasks?overdue=true&assignee=me").await;
    assert_eq!(titles(&my_overdue), vec!["Due soon"]);
    let (_, closed_overdue) = app.get_json("/api/v1/tasks?overdue=true&status=done").await;
    assert!(titles(&closed_overdue).is_empty());

    // Cursor pagination walks the same order.
    let (_, first) = app.get_json("/api/v1/tasks?assignee=me&limit=2").await;
    assert_eq!(titles(&first), vec!["Done early", "Due soon"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .get_json(&format!(
            "/api/v1/tasks?assignee=me&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(titles(&second), vec!["Due tomorrow", "No due date"]);
    assert!(second.get("next_cursor").is_none());
}

async fn reminders_and_private_notifications(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = app.clock.now();
    let task = create_task(
        &app,
        json!({"title": TITLE, "due_at": rfc3339(now + time::Duration::hours(5)),
               "remind_at": rfc3339(now + time::Duration::minutes(10))}),
    )
    .await;
    let task_id = task["id"].as_str().unwrap();
    let (_, count) = app.get_json("/api/v1/notifications/unread-count").await;
    assert_eq!(count["unread"], 0, "assigning to yourself notifies nobody");

    // Not due yet: the sweep sends nothing. (The server's own timer may run the sweep too,
    // so what is asserted is the notifications, not which run sent them.)
    assert_eq!(app.core.send_due_reminders().await.unwrap(), 0);
    assert_eq!(notification_count(&app).await, 0);
    app.clock.advance(time::Duration::minutes(20));
    app.core.send_due_reminders().await.unwrap();
    assert_eq!(
        app.core.send_due_reminders().await.unwrap(),
        0,
        "idempotent"
    );
    let (_, list) = app.get_json("/api/v1/notifications").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(
        (
            items[0]["kind"].as_str(),
            items[0]["task_id"].as_str(),
            items[0]["task_title"].as_str()
        ),
        (Some("task_reminder"), Some(task_id), Some(TITLE))
    );
    let (_, got) = app.get_json(&format!("/api/v1/tasks/{task_id}")).await;
    assert!(got["reminded_at"].is_string());

    // An edit made from a copy read before the reminder does not re-arm it...
    let (status, _) = app
        .patch_json(
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"version": 1, "priority": "high"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.core.send_due_reminders().await.unwrap(), 0);
    assert_eq!(notification_count(&app).await, 1);
    // ...moving the reminder does, once it is due again.
    let later = rfc3339(app.clock.now() + time::Duration::minutes(10));
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"version": 2, "remind_at": later}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["reminded_at"].is_null());
    assert_eq!(app.core.send_due_reminders().await.unwrap(), 0);
    assert_eq!(notification_count(&app).await, 1);
    app.clock.advance(time::Duration::minutes(15));
    app.core.send_due_reminders().await.unwrap();
    assert_eq!(notification_count(&app).await, 2);

    // Reassigning notifies the new assignee, and only them.
    let colleague = app.sign_in_new_user("zhao.lei@custodian.test").await;
    let (status, _) = app
        .patch_json(
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"version": 3, "assignee_id": colleague.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, theirs) = colleague
        .get_json("/api/v1/notifications?unread=true")
        .await;
    let theirs = theirs["items"].as_array().unwrap().clone();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["kind"], "task_assigned");
    assert_eq!(theirs[0]["task_title"], TITLE);
    let (_, mine) = app.get_json("/api/v1/notifications").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);

    // Private: another user's notification is "not found", and stays unread.
    let their_id = theirs[0]["id"].as_str().unwrap();
    let (status, body) = app
        .post_json(
            &format!("/api/v1/notifications/{their_id}/read"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (_, count) = colleague
        .get_json("/api/v1/notifications/unread-count")
        .await;
    assert_eq!(count["unread"], 1);
    let (status, read) = colleague
        .post_json(
            &format!("/api/v1/notifications/{their_id}/read"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read["read_at"].is_string());
    let (_, count) = colleague
        .get_json("/api/v1/notifications/unread-count")
        .await;
    assert_eq!(count["unread"], 0);

    let (_, count) = app.get_json("/api/v1/notifications/unread-count").await;
    assert_eq!(count["unread"], 2);
    let (_, marked) = app
        .post_json("/api/v1/notifications/read-all", &json!({}))
        .await;
    assert_eq!(marked["marked"], 2);
    let (_, unread) = app.get_json("/api/v1/notifications?unread=true").await;
    assert!(unread["items"].as_array().unwrap().is_empty());

    // A deleted task's notification no longer shows its title.
    let (status, _) = app.delete(&format!("/api/v1/tasks/{task_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, mine) = app.get_json("/api/v1/notifications").await;
    assert!(mine["items"][0]["task_title"].is_null());
}

async fn notification_count(app: &TestApp) -> usize {
    let (_, list) = app.get_json("/api/v1/notifications").await;
    list["items"].as_array().unwrap().len()
}

/// A transport recording what it was asked to deliver; fails the first attempt when told to.
#[derive(Debug, Default)]
struct Recorder {
    delivered: Mutex<Vec<(String, Option<String>, String)>>,
    fail_first: Mutex<bool>,
}

impl NotificationTransport for Recorder {
    fn channel(&self) -> &'static str {
        "test"
    }

    fn deliver<'a>(&'a self, message: &'a OutboundNotification) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let mut fail = self.fail_first.lock().unwrap();
            if *fail {
                *fail = false;
                return Err(DeliveryError {
                    code: "unreachable",
                    permanent: false,
                });
            }
            self.delivered.lock().unwrap().push((
                message.recipient_email.clone(),
                message.task_title.clone(),
                message.kind.clone(),
            ));
            Ok(())
        })
    }
}

async fn outside_channels_get_one_delivery_each_with_retry(backend: Backend) {
    let app = spawn_app(backend).await;
    let recorder = Arc::new(Recorder::default());
    *recorder.fail_first.lock().unwrap() = true;
    app.core.add_notification_transport(recorder.clone());
    let colleague = app.sign_in_new_user("chen.jie@custodian.test").await;
    create_task(&app, json!({"title": TITLE, "assignee_id": colleague.id})).await;

    // The first attempt fails transiently, so nothing is delivered and it waits a minute.
    // (The server's timer may make attempts too: what is asserted is what was delivered.)
    app.core.deliver_pending_notifications().await.unwrap();
    assert!(recorder.delivered.lock().unwrap().is_empty());
    app.core.deliver_pending_notifications().await.unwrap();
    assert!(
        recorder.delivered.lock().unwrap().is_empty(),
        "not before the back-off"
    );
    app.clock.advance(time::Duration::minutes(2));
    app.core.deliver_pending_notifications().await.unwrap();
    app.core.deliver_pending_notifications().await.unwrap();
    let delivered = recorder.delivered.lock().unwrap().clone();
    assert_eq!(
        delivered,
        vec![(
            "chen.jie@custodian.test".to_owned(),
            Some(TITLE.to_owned()),
            "task_assigned".to_owned()
        )]
    );
}

on_both_backends!(
    task_lifecycle_and_stale_version,
    bad_task_input_has_stable_codes,
    my_tasks_overdue_and_record_views,
    reminders_and_private_notifications,
    outside_channels_get_one_delivery_each_with_retry,
);
