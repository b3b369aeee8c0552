//! Policy administration: a change is validated, carries a reason and a diff, needs a second
//! administrator, takes effect on the next request, and can never lock every administrator
//! out; "explain" names the deciding policy and "who can read" lists a record's readers.

use custodian_testkit::{Backend, OtherUser, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DEFAULT: &str = include_str!("../../../core/src/authz/default.cedar");

async fn contact(app: &TestApp, name: &str, region: &str) -> String {
    app.create_contact(json!({"name": name, "emails": ["x@example.com"], "region": region}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A second administrator (the first is `app`'s), signed in and stepped up.
async fn second_admin(app: &TestApp) -> OtherUser {
    app.sign_in_with_roles("admin2@example.com", &["administrator"], None, None)
        .await
}

async fn changes_need_a_reason_a_valid_text_and_a_second_administrator(backend: Backend) {
    let app = spawn_app(backend).await;
    let wang = contact(&app, "Wang", "cn").await;
    let marketing = app
        .sign_in_with_roles("mkt@example.com", &["marketing"], None, Some("cn"))
        .await;
    let other = second_admin(&app).await;
    let (status, overview) = app.get_json("/api/v1/policies").await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    assert_eq!(overview["active_version"], 0);
    assert_eq!(overview["two_person_rule"], true);

    // Bad input: no reason, text that does not parse, an action the schema lacks, a set
    // under which no administrator could repair anything.
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    for (body, expected, code) in [
        (
            json!({"text": DEFAULT, "reason": " "}),
            unprocessable,
            "reason_required",
        ),
        (
            json!({"text": "permit (", "reason": "x"}),
            unprocessable,
            "invalid_policy",
        ),
        (
            json!({"text": "@id(\"fly\")\npermit (principal, action == Action::\"fly\", resource);",
                   "reason": "x"}),
            unprocessable,
            "invalid_policy",
        ),
        (
            json!({"text": "@id(\"nobody\")\nforbid (principal, action, resource);",
                   "reason": "lock down"}),
            StatusCode::CONFLICT,
            "policy_lockout",
        ),
    ] {
        let (status, err) = app.post_json("/api/v1/policies", &body).await;
        assert_eq!(status, expected, "{body} → {err}");
        let found = error_code(&err)
            .map(str::to_owned)
            .or_else(|| err["details"][0]["code"].as_str().map(str::to_owned));
        assert_eq!(found.as_deref(), Some(code), "{err}");
    }

    // Marketing loses reveal: proposed, not yet in force.
    let text = DEFAULT.replace(
        "@id(\"marketing.reveal\")\npermit (principal in Role::\"marketing\", action == Action::\"contact_details.reveal\", resource)\nwhen { context.stepped_up };",
        "",
    );
    assert_ne!(
        text, DEFAULT,
        "the default policies changed; update this test"
    );
    let (status, proposed) = app
        .post_json(
            "/api/v1/policies",
            &json!({"text": text, "reason": "Reveals only through the privacy officer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    assert_eq!(proposed["status"], "proposed");
    let version = proposed["version"].as_i64().unwrap();
    let (_, detail) = app
        .get_json(&format!("/api/v1/policies/versions/{version}"))
        .await;
    let removed: Vec<&str> = detail["diff"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["op"] == "-")
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert!(
        removed.contains(&"@id(\"marketing.reveal\")"),
        "{removed:?}"
    );
    let reveal = format!("/api/v1/contacts/{wang}/reveal");
    let (status, body) = marketing.post_json(&reveal, &json!({})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "still in force before approval: {body}"
    );

    // The proposer cannot approve their own change; another administrator can.
    let approve = format!("/api/v1/policies/versions/{version}/approve");
    let (status, err) = app.post_json(&approve, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(error_code(&err), Some("second_approver_required"));
    let (status, approved) = other.post_json(&approve, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "active");
    assert_eq!(approved["decided_by"], other.id.as_str());

    // In force on the very next request.
    let (status, body) = marketing.post_json(&reveal, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, overview) = app.get_json("/api/v1/policies").await;
    assert_eq!(overview["active_version"], version);
    let (status, err) = other.post_json(&approve, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(error_code(&err), Some("not_proposed"));

    // Explain names what decided; nothing permits the reveal any more.
    let (status, why) = app
        .post_json(
            "/api/v1/policies/explain",
            &json!({"user": "mkt@example.com", "action": "contact_details.reveal",
                    "resource": format!("Contact:{wang}")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{why}");
    assert_eq!(why["allowed"], false);
    assert_eq!(why["policies"], json!([]));
    let (_, why) = app
        .post_json(
            "/api/v1/policies/explain",
            &json!({"user": "mkt@example.com", "action": "read",
                    "resource": format!("Contact:{wang}")}),
        )
        .await;
    assert_eq!(why["allowed"], true);
    assert_eq!(why["policies"], json!(["marketing.records"]));
    let (status, err) = app
        .post_json(
            "/api/v1/policies/explain",
            &json!({"user": "mkt@example.com", "action": "read", "resource": "Dragon:1"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
}

async fn explain_and_readers_for_administrators_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let wang = contact(&app, "Wang", "cn").await;
    let sales = app
        .sign_in_with_roles("sales@example.com", &["sales"], Some("north"), Some("eu"))
        .await;
    let marketing = app
        .sign_in_with_roles("mkt@example.com", &["marketing"], None, Some("cn"))
        .await;
    // A territory forbid is named when it decides.
    let (_, why) = app
        .post_json(
            "/api/v1/policies/explain",
            &json!({"user": "sales@example.com", "action": "read",
                    "resource": format!("Contact:{wang}")}),
        )
        .await;
    assert_eq!(why["allowed"], false, "{why}");

    let (status, readers) = app
        .get_json(&format!("/api/v1/policies/readers?resource=Contact:{wang}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{readers}");
    let items = readers["items"].as_array().unwrap();
    let of = |id: &str| items.iter().find(|r| r["user_id"] == id).cloned();
    let m: Value = of(&marketing.id).expect("marketing reads the contact");
    assert_eq!(m["field_groups"]["contact_details"], "masked");
    assert_eq!(m["field_groups"]["preferences_feedback"], "full");
    assert!(of(&sales.id).is_none(), "{readers}");

    for path in ["/api/v1/policies", "/api/v1/policies/schema"] {
        let (status, _) = sales.get_json(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = marketing
        .post_json(
            "/api/v1/policies/explain",
            &json!({"user": "mkt@example.com", "action": "read", "resource": "System"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_change_applies_on_the_next_request_of_another_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let wang = contact(&app, "Wang", "cn").await;
    let marketing = app
        .sign_in_with_roles("mkt@example.com", &["marketing"], None, Some("cn"))
        .await;
    let (base2, server2) = app.second_server().await;
    let elsewhere = marketing.on(&base2);
    let path = format!("/api/v1/contacts/{wang}");
    let (status, body) = elsewhere.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Changed and approved through the first server: marketing no longer reads contacts.
    let text = DEFAULT.replace(
        "when { resource is Contact || resource is Company || resource is Lead || resource is SurveyResponse };",
        "when { resource is Company || resource is Lead || resource is SurveyResponse };",
    );
    assert_ne!(
        text, DEFAULT,
        "the default policies changed; update this test"
    );
    let (status, proposed) = app
        .post_json(
            "/api/v1/policies",
            &json!({"text": text, "reason": "Marketing works from segments only"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    let other = second_admin(&app).await;
    let (status, body) = other
        .post_json(
            &format!("/api/v1/policies/versions/{}/approve", proposed["version"]),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The second server has its own memory; its very next request decides by the new text.
    let (status, body) = elsewhere.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = marketing.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server2.shutdown().await.unwrap();
}

on_both_backends!(
    changes_need_a_reason_a_valid_text_and_a_second_administrator,
    a_change_applies_on_the_next_request_of_another_server,
    explain_and_readers_for_administrators_only,
);
