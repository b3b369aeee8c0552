//! The import page and export downloads over real HTTP, in both languages.

use custodian_testkit::{
    Backend, TestApp, location, on_both_backends, spawn_app, spawn_app_with, test_config,
};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

async fn upload(
    app: &TestApp,
    csv: &[u8],
    dry_run: bool,
    csrf: &str,
    lang: &str,
) -> (StatusCode, String) {
    let mut form = Form::new()
        .text("_csrf", csrf.to_owned())
        .text("on_duplicate", "skip")
        .text("encoding", "auto")
        .text("mapping", "")
        .part("file", Part::bytes(csv.to_vec()).file_name("c.csv"));
    if dry_run {
        form = form.text("dry_run", "true");
    }
    let res = app
        .client
        .post(app.url("/contacts/import"))
        .header(reqwest::header::ACCEPT_LANGUAGE, lang)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

const FILE: &[u8] =
    "姓名,邮箱,手机\n王芳,wang.fang@example.cn,+8613800000002\n坏行,不是邮箱,\n".as_bytes();

async fn import_page_checks_imports_and_reports_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, html) = app.html("/contacts/import", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("导入联系人") && html.contains("enctype=\"multipart/form-data\""));
    let (_, list) = app.html("/contacts", "en").await;
    assert!(
        list.contains("href=\"/contacts/import\"")
            && list.contains("href=\"/export/contacts?format=csv\"")
    );

    let (status, html) = upload(&app, FILE, true, &app.csrf, "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已检查 2 行：将新建 1 个"), "{html}");
    let errors = &html[html.find("id=\"import-errors\"").unwrap()..];
    assert!(
        errors.contains("<td class=\"num\">3</td><td>邮箱</td>"),
        "{errors}"
    );

    // A real import of the same file is refused whole.
    let (status, html) = upload(&app, FILE, false, &app.csrf, "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Nothing was imported: 1 problems"), "{html}");
    let (_, contacts) = app.get_json("/api/v1/contacts").await;
    assert!(contacts["items"].as_array().unwrap().is_empty());

    let good = "姓名,邮箱,手机\n王芳,wang.fang@example.cn,+8613800000002\n".as_bytes();
    let (status, html) = upload(&app, good, false, &app.csrf, "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("1 contacts created") && html.contains("id=\"import-view-contacts\""),
        "{html}"
    );

    // An Excel workbook gets told what it is; a forged upload without the token changes nothing.
    let (status, html) = upload(&app, b"PK\x03\x04xlsx", true, &app.csrf, "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("This is an Excel workbook, not CSV"),
        "{html}"
    );
    let (status, _) = upload(&app, good, false, "forged", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let res = app
        .client
        .get(app.url("/export/contacts?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("王芳") && body.contains("wang.fang@example.cn"));
    let (status, _) = app.html("/export/secrets?format=csv", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Active contact custom fields are offered in the mapping table under their label, and a
/// `cf.<key>` column shows that label in the report.
async fn import_page_offers_custom_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, field) = app
        .post_json(
            "/api/v1/custom-fields",
            &serde_json::json!({"entity": "contact", "key": "birthday", "label_en": "Birthday",
                                "label_zh": "生日", "type": "date",
                                "classification": "personal"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{field}");
    let (_, html) = app.html("/contacts/import", "zh-CN").await;
    assert!(
        html.contains("<option value=\"cf.birthday\">生日</option>"),
        "{html}"
    );
    let file = "Name,cf.birthday\nWang Fang,1980-02-29\n".as_bytes();
    let (status, html) = upload(&app, file, true, &app.csrf, "en").await;
    assert_eq!(status, StatusCode::OK);
    let columns = &html[html.find("cf.birthday").unwrap()..];
    assert!(columns.contains("Birthday"), "{html}");
}

/// An export over the bulk threshold: the export button leads to the request form; the
/// privacy officer approves it on the Exports page (in Chinese); the requester downloads it
/// from there, once.
async fn export_over_the_threshold_is_requested_approved_and_downloaded(backend: Backend) {
    let mut config = test_config();
    config.authorization.bulk_export_rows = 1;
    let app = spawn_app_with(backend, config).await;
    for name in ["王芳", "李伟"] {
        app.create_contact(serde_json::json!({"name": name})).await;
    }

    let res = app
        .client
        .get(app.url("/export/contacts?format=csv&tag=vip%20cn"))
        .send()
        .await
        .unwrap();
    // Filtered to nothing: under the threshold, downloaded at once.
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .get(app.url("/export/contacts?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let form_url = location(&res);
    assert_eq!(form_url, "/exports/new?kind=contacts&format=csv");
    let (status, html) = app.html(&form_url, "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("more than 1 records") && html.contains("id=\"export-request-form\""),
        "{html}"
    );
    let (_, html) = app.html(&form_url, "zh-CN").await;
    assert!(
        html.contains("申请导出") && html.contains("须先经他人批准"),
        "{html}"
    );

    // No reason: the form comes back saying so.
    let fields = |reason: &'static str| {
        vec![
            ("_csrf", app.csrf.clone()),
            ("kind", "contacts".to_owned()),
            ("format", "csv".to_owned()),
            ("owner_id", String::new()),
            ("company_id", String::new()),
            ("tag", String::new()),
            ("pipeline_id", String::new()),
            ("status", String::new()),
            ("reason", reason.to_owned()),
        ]
    };
    let form = fields(" ");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.post_form("/exports/new", &pairs).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Say why"));
    let form = fields("Trade fair follow-up");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.post_form("/exports/new", &pairs).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.html(&location(&res), "en").await;
    assert!(html.contains("Your request was sent"), "{html}");
    assert!(html.contains("data-status=\"pending\"") && html.contains("Trade fair follow-up"));
    assert!(!html.contains("download-export"));

    let dpo = app
        .sign_in_with_roles("dpo@example.com", &["privacy_officer"], None, None)
        .await;
    let (_, page) = dpo.html("/exports", "zh-CN").await;
    assert!(
        page.contains("等待您审批") && page.contains("Trade fair follow-up"),
        "{page}"
    );
    assert!(page.contains(custodian_testkit::ADMIN_EMAIL));
    let id = page
        .split("<tr id=\"awaiting-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let res = dpo
        .request(reqwest::Method::POST, &format!("/exports/{id}/approve"))
        .form(&[("_csrf", dpo.csrf.as_str()), ("note", "OK")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let (_, html) = app.html("/exports", "en").await;
    assert!(html.contains("data-status=\"approved\"") && html.contains("download-export"));
    let res = app
        .client
        .get(app.url(&format!("/exports/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(body.contains("王芳") && body.contains("李伟"));
    let (status, html) = app.html(&format!("/exports/{id}/download"), "zh-CN").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("已下载过"), "{html}");
}

on_both_backends!(
    import_page_checks_imports_and_reports_lines,
    import_page_offers_custom_fields,
    export_over_the_threshold_is_requested_approved_and_downloaded,
);
