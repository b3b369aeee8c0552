//! CSV import and CSV/JSON export over the API: dry runs that report every bad line, imports
//! that write all or nothing, duplicates by e-mail, encodings, limits, and the formula guard.

use custodian_testkit::{Backend, OtherUser, TestApp, error_code, on_both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn count(app: &TestApp, path: &str) -> usize {
    let (status, page) = app.get_json(path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().len()
}

fn errors(report: &Value) -> Vec<(u64, String, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap_or("").to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const MIXED: &str = "Name,E-mail,Phone,Company,Notes\r\n\
王小明,wang@sinopec.example.cn,+8613800138000,Sinopec,\"Prefers calls,\r\nafter 3pm\"\r\n\
Bad Email,not-an-address,,,\r\n\
Ragged,r@x.example\r\n\
No Country Code,nc@x.example,13800138000,,\r\n\
,blank@x.example,,,\r\n\
Ada Lovelace,ada@analytical.example,+442071234567,sinopec,\r\n";

async fn dry_run_reports_every_bad_line_and_a_bad_import_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, report) = app
        .import_contacts(MIXED.as_bytes().to_vec(), &[("dry_run", "true")])
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        errors(&report),
        [
            (4, "E-mail".to_owned(), "invalid_email".to_owned()),
            (5, String::new(), "ragged_row".to_owned()),
            (6, "Phone".to_owned(), "invalid_phone".to_owned()),
            (7, "Name".to_owned(), "required".to_owned()),
        ],
        "{report}"
    );
    assert_eq!(
        (
            report["rows"].as_u64(),
            report["created"].as_u64(),
            report["companies_created"].as_u64()
        ),
        (Some(6), Some(2), Some(1)),
        "two good rows; Sinopec and sinopec are one new company"
    );
    assert_eq!(report["columns"][3]["field"], "company");
    assert_eq!(
        count(&app, "/api/v1/contacts").await,
        0,
        "a dry run writes nothing"
    );

    let (status, refused) = app.import_contacts(MIXED.as_bytes().to_vec(), &[]).await;
    assert_eq!(
        (status, error_code(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("import_invalid"))
    );
    assert_eq!(refused["details"]["error_count"], 4);
    assert_eq!(
        count(&app, "/api/v1/contacts").await,
        0,
        "nothing half-imported"
    );
    assert_eq!(count(&app, "/api/v1/companies").await, 0);

    // Without the bad lines the same file imports, company created once and linked.
    let good: String = MIXED
        .split("\r\n")
        .enumerate()
        .filter(|(i, _)| ![3, 4, 5, 6].contains(i))
        .map(|(_, l)| format!("{l}\r\n"))
        .collect();
    let (status, report) = app.import_contacts(good.into_bytes(), &[]).await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{report}"
    );
    let (_, found) = app
        .get_json("/api/v1/contacts?email=WANG@sinopec.example.cn")
        .await;
    let wang = &found["items"][0];
    assert_eq!(wang["name"], "王小明");
    let (_, full) = app
        .get_json(&format!(
            "/api/v1/contacts/{}",
            wang["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(full["notes"], "Prefers calls,\nafter 3pm");
    let (_, companies) = app.get_json("/api/v1/companies").await;
    assert_eq!(companies["items"].as_array().unwrap().len(), 1);
    assert_eq!(full["company_id"], companies["items"][0]["id"]);
}

async fn duplicates_by_email_skip_merge_or_create(backend: Backend) {
    let app = spawn_app(backend).await;
    let existing = app
        .create_contact(
            json!({"name": "Li Na", "emails": ["li.na@yantai.example"], "tags": ["vip"]}),
        )
        .await;
    let file = "Name,Email,Phone,Tags\n\
Li Na (import),LI.NA@yantai.example,+8613911112222,food\n\
New Person,new@x.example,,\n\
New Person again,new@x.example,+8613933334444,\n";

    let (_, skip) = app
        .import_contacts(file.into(), &[("on_duplicate", "skip")])
        .await;
    assert_eq!(
        (
            skip["created"].as_u64(),
            skip["skipped"].as_u64(),
            skip["duplicate_count"].as_u64()
        ),
        (Some(1), Some(2), Some(2)),
        "{skip}"
    );
    assert_eq!(skip["duplicates"][0]["existing_contact_id"], existing["id"]);
    assert_eq!(skip["duplicates"][1]["same_as_line"], 3);
    assert_eq!(count(&app, "/api/v1/contacts").await, 2);

    // Merge: the existing contact takes the phone and tag; nothing new for it.
    let (_, merge) = app
        .import_contacts(file.into(), &[("on_duplicate", "merge")])
        .await;
    assert_eq!(
        (merge["merged"].as_u64(), merge["created"].as_u64()),
        (Some(2), Some(0)),
        "{merge}"
    );
    let (_, li) = app
        .get_json(&format!(
            "/api/v1/contacts/{}",
            existing["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(li["name"], "Li Na (import)");
    assert_eq!(li["phones"], json!(["+8613911112222"]));
    assert_eq!(li["tags"], json!(["food", "vip"]));
    assert_eq!(li["version"], 2);
    let (_, new) = app.get_json("/api/v1/contacts?email=new@x.example").await;
    let (_, new) = app
        .get_json(&format!(
            "/api/v1/contacts/{}",
            new["items"][0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        new["phones"],
        json!(["+8613933334444"]),
        "the later file row merged in"
    );

    let (_, create) = app
        .import_contacts(file.into(), &[("on_duplicate", "create")])
        .await;
    assert_eq!(create["created"].as_u64(), Some(3), "{create}");
    assert_eq!(count(&app, "/api/v1/contacts?email=new@x.example").await, 3);
}

async fn encodings_mappings_and_bad_files(backend: Backend) {
    let app = spawn_app(backend).await;
    // GB18030, as Excel saves CSV in a Chinese locale, with Chinese headers.
    let (gb, _, _) = encoding_rs::GB18030
        .encode("姓名,邮箱,手机,公司\n张伟,zhang.wei@example.cn,+8613812345678,中石化\n");
    let (status, report) = app.import_contacts(gb.into_owned(), &[]).await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
    let (_, found) = app
        .get_json("/api/v1/contacts?email=zhang.wei@example.cn")
        .await;
    assert_eq!(found["items"][0]["name"], "张伟");
    // UTF-8 with a byte-order mark and an explicit mapping for odd headers.
    let bom = "\u{feff}Person,Mail,Ignored\nMei Chen,mei@example.com,x\n";
    let (status, report) = app
        .import_contacts(
            bom.into(),
            &[(
                "mapping",
                r#"{"Person":"name","Mail":"emails","Ignored":"ignore"}"#,
            )],
        )
        .await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
    assert_eq!(report["columns"][0]["header"], "Person");

    let field_code = |body: &Value| body["details"][0]["code"].as_str().map(str::to_owned);
    for (bytes, code) in [
        (
            b"PK\x03\x04\x14\x00\x06\x00".to_vec(),
            "spreadsheet_not_csv",
        ),
        (b"Name\n\x00\x01\x02\x03".to_vec(), "not_text"),
        (vec![0xFF, 0xFE, b'N', 0, b'a', 0], "unsupported_encoding"),
        (b"Name,Email\n\"open quote,x\n".to_vec(), "malformed_csv"),
        (b"Favourite colour\nblue\n".to_vec(), "name_column_missing"),
        (Vec::new(), "empty_file"),
    ] {
        let (status, body) = app.import_contacts(bytes, &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {body}");
        assert_eq!(field_code(&body).as_deref(), Some(code), "{body}");
    }
    let (status, body) = app
        .import_contacts("Name\nA\n".into(), &[("encoding", "latin1")])
        .await;
    assert_eq!(
        (status, field_code(&body).as_deref()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_encoding_choice")
        )
    );
    let (status, body) = app
        .import_contacts("Name\nA\n".into(), &[("mapping", "not json")])
        .await;
    assert_eq!(
        (status, field_code(&body).as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_mapping"))
    );

    // Larger than the limit: refused with 413 before anything is parsed.
    let huge = vec![b'a'; 33 * 1024 * 1024];
    let (status, body) = app.import_contacts(huge, &[]).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    // Not multipart at all.
    let (status, body) = app.post_json("/api/v1/imports/contacts", &json!({})).await;
    assert_eq!(
        (status, error_code(&body)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    assert_eq!(count(&app, "/api/v1/contacts").await, 2);
}

/// Requests every contact in `format`, has the privacy officer approve it and downloads it.
async fn approved_export(app: &TestApp, dpo: &OtherUser, format: &str) -> reqwest::Response {
    let (status, request) = app
        .post_json(
            "/api/v1/export-requests",
            &json!({"kind": "contacts", "format": format, "reason": "CRM migration"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let id = request["id"].as_str().unwrap();
    let (status, approved) = dpo
        .post_json(&format!("/api/v1/export-requests/{id}/approve"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    app.request(
        reqwest::Method::GET,
        &format!("/api/v1/export-requests/{id}/download"),
    )
    .send()
    .await
    .unwrap()
}

async fn exports_guard_formulas_and_stream_every_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut file = String::from("Name,Email,Job title,Notes\n");
    for n in 0..1_203 {
        file.push_str(&format!("Person {n:04},p{n}@example.com,Buyer,\n"));
    }
    file.push_str("\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",formula@example.com,+SUM(A1),\"@cmd, 'quoted'\"\n");
    let (status, report) = app.import_contacts(file.into_bytes(), &[]).await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (StatusCode::OK, Some(1_204)),
        "{report}"
    );

    // More than 1,000 records: the file comes through an approved request (separation of
    // duties; see export_approvals.rs).
    let (status, refused) = app.get_json("/api/v1/exports/contacts").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("export_approval_required"))
    );
    let dpo = app
        .sign_in_with_roles("dpo@example.com", &["privacy_officer"], None, None)
        .await;
    let res = approved_export(&app, &dpo, "csv").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("custodian-contacts-")
    );
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "BOM for spreadsheets");
    let text = std::str::from_utf8(&body[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1_204, "every row across pages of 500");
    let evil = rows
        .iter()
        .find(|r| r[2] == *"formula@example.com")
        .unwrap();
    assert_eq!(&evil[1], "'=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(&evil[4], "'+SUM(A1)");
    assert_eq!(&evil[8], "'@cmd, 'quoted'");
    assert!(
        rows.iter()
            .any(|r| r[1] == *"Person 0000" && r[4] == *"Buyer")
    );

    let res = approved_export(&app, &dpo, "json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let json: serde_json::Value = res.json().await.unwrap();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), 1_204);
    assert!(
        items
            .iter()
            .any(|c| c["name"] == "=HYPERLINK(\"http://evil.example\",\"x\")"),
        "JSON keeps values as they are"
    );

    app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    app.create_deal(json!({"title": "-1 discount deal", "amount": "1234.50", "currency": "CNY"}))
        .await;
    let res = app
        .request(reqwest::Method::GET, "/api/v1/exports/deals")
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(
        text.contains("'-1 discount deal") && text.contains("1234.50"),
        "{text}"
    );
    let (status, body) = app.get_json("/api/v1/exports/tasks").await;
    assert_eq!(
        (status, body["details"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_kind"))
    );
    let (status, _) = app.get_json("/api/v1/exports/contacts?format=xml").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A bad row in a late batch: earlier batches were already inserted in the transaction, and
/// all of it is rolled back. Then the corrected file imports every row.
async fn a_bad_row_after_several_batches_leaves_nothing_behind(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = |bad: &[usize]| {
        let mut file = String::from("Name,Email,Company\n");
        for n in 0..4_500 {
            let email = if bad.contains(&n) {
                "broken-address".to_owned()
            } else {
                format!("p{n}@example.com")
            };
            file.push_str(&format!("Person {n},{email},Company {}\n", n % 7));
        }
        file.into_bytes()
    };
    // One bad row in the first batch of 2,000 and one in the third: both are reported.
    let (status, body) = app.import_contacts(file(&[100, 4_200]), &[]).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("import_invalid"))
    );
    assert_eq!(
        errors(&body["details"]),
        [
            (102, "Email".to_owned(), "invalid_email".to_owned()),
            (4_202, "Email".to_owned(), "invalid_email".to_owned())
        ]
    );
    // Only the last one: the first two batches are inserted before the third fails.
    let (status, body) = app.import_contacts(file(&[4_200]), &[]).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("import_invalid"))
    );
    assert_eq!(
        errors(&body["details"]),
        [(4_202, "Email".to_owned(), "invalid_email".to_owned())]
    );
    assert_eq!(body["details"]["created"], 0);
    assert_eq!(count(&app, "/api/v1/contacts").await, 0);
    assert_eq!(count(&app, "/api/v1/companies").await, 0);
    use custodian_store::entities::{data_key, search_token};
    use custodian_store::{EntityTrait, PaginatorTrait};
    let conn = app.core.store().conn();
    assert_eq!(search_token::Entity::find().count(conn).await.unwrap(), 0);
    // Only the organisation key exists: no contact's data key survived.
    assert_eq!(data_key::Entity::find().count(conn).await.unwrap(), 1);

    let (status, body) = app.import_contacts(file(&[]), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["created"].as_u64(), body["rows"].as_u64()),
        (Some(4_500), Some(4_500))
    );
    assert_eq!(data_key::Entity::find().count(conn).await.unwrap(), 4_501);
    // Rows of the first, middle and last batch are found by their addresses (blind index).
    for n in [0, 2_000, 4_499] {
        let (status, found) = app
            .get_json(&format!("/api/v1/contacts?email=p{n}@example.com"))
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["items"][0]["name"], format!("Person {n}"));
    }
}

fn csv_rows(body: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "BOM for spreadsheets");
    let text = std::str::from_utf8(&body[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader.records().map(Result::unwrap).collect();
    (header, rows)
}

async fn export_bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let res = app
        .request(reqwest::Method::GET, path)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap().to_vec()
}

/// Exports carry one column per active custom field, personal values decrypted with each
/// record's own key, archived fields left out, and the formula guard on custom cells too.
async fn exports_carry_active_custom_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let define = |body: Value| {
        let app = &app;
        async move {
            let (status, field) = app.post_json("/api/v1/custom-fields", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{field}");
            field
        }
    };
    define(
        json!({"entity": "contact", "key": "region_code", "label_en": "Region code",
                  "label_zh": "区域代码", "type": "text", "classification": "internal"}),
    )
    .await;
    define(
        json!({"entity": "contact", "key": "birthday", "label_en": "Birthday",
                  "label_zh": "生日", "type": "date", "classification": "personal"}),
    )
    .await;
    define(
        json!({"entity": "contact", "key": "newsletter", "label_en": "Newsletter",
                  "label_zh": "订阅通讯", "type": "boolean", "classification": "public"}),
    )
    .await;
    let legacy = define(json!({"entity": "contact", "key": "legacy_code",
                               "label_en": "Legacy code", "label_zh": "旧代码",
                               "type": "text", "classification": "internal"}))
    .await;
    define(
        json!({"entity": "company", "key": "tax_contact", "label_en": "Tax contact",
                  "label_zh": "税务联系人", "type": "text", "classification": "sensitive"}),
    )
    .await;
    define(
        json!({"entity": "deal", "key": "margin", "label_en": "Margin",
                  "label_zh": "利润率", "type": "number", "decimals": 1,
                  "classification": "internal"}),
    )
    .await;

    // Two contacts, so two data keys: each one's personal value must come out right.
    app.create_contact(json!({"name": "Wang Fang", "custom_fields": {
        "region_code": "=1+2", "birthday": "1980-02-29", "newsletter": true,
        "legacy_code": "OLD-1"}}))
        .await;
    app.create_contact(json!({"name": "Li Lei", "custom_fields": {"birthday": "1991-11-11"}}))
        .await;
    app.create_contact(json!({"name": "No Values"})).await;
    let (status, _) = app
        .post_json(
            &format!(
                "/api/v1/custom-fields/{}/archive",
                legacy["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (header, rows) = csv_rows(&export_bytes(&app, "/api/v1/exports/contacts").await);
    assert_eq!(
        header[header.len() - 3..],
        ["cf.region_code", "cf.birthday", "cf.newsletter"],
        "active fields after the built-in columns, in display order: {header:?}"
    );
    assert!(
        !header.iter().any(|h| h.contains("legacy")),
        "archived left out"
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = |name: &str| rows.iter().find(|r| &r[1] == name).unwrap().clone();
    let wang = row("Wang Fang");
    assert_eq!(&wang[col("cf.region_code")], "'=1+2", "formula guard");
    assert_eq!(&wang[col("cf.birthday")], "1980-02-29", "decrypted");
    assert_eq!(&wang[col("cf.newsletter")], "true");
    assert_eq!(wang.len(), header.len());
    let li = row("Li Lei");
    assert_eq!(
        &li[col("cf.birthday")],
        "1991-11-11",
        "the other contact's key"
    );
    assert_eq!(&li[col("cf.region_code")], "");
    assert_eq!(&row("No Values")[col("cf.newsletter")], "");

    let (status, json) = app.get_json("/api/v1/exports/contacts?format=json").await;
    assert_eq!(status, StatusCode::OK);
    let wang = json
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Wang Fang")
        .unwrap();
    assert_eq!(
        wang["custom_fields"],
        json!({"region_code": "=1+2", "birthday": "1980-02-29", "newsletter": true}),
        "JSON keeps values as they are, archived left out"
    );

    // Companies and deals: under the organisation key.
    app.create_company(json!({"name": "Hangzhou Silk", "custom_fields": {
        "tax_contact": "@Ms Chen"}}))
        .await;
    let (header, rows) = csv_rows(&export_bytes(&app, "/api/v1/exports/companies").await);
    assert_eq!(header.last().map(String::as_str), Some("cf.tax_contact"));
    assert_eq!(&rows[0][header.len() - 1], "'@Ms Chen");
    let (_, json) = app.get_json("/api/v1/exports/companies?format=json").await;
    assert_eq!(json[0]["custom_fields"], json!({"tax_contact": "@Ms Chen"}));

    app.create_pipeline("Sales", &[("Qualify", 10)]).await;
    app.create_deal(json!({"title": "Silk tender", "custom_fields": {"margin": "-2.5"}}))
        .await;
    let (header, rows) = csv_rows(&export_bytes(&app, "/api/v1/exports/deals").await);
    assert_eq!(header.last().map(String::as_str), Some("cf.margin"));
    assert_eq!(
        &rows[0][header.len() - 1],
        "'-2.5",
        "a negative number is guarded too"
    );
    let (_, json) = app.get_json("/api/v1/exports/deals?format=json").await;
    assert_eq!(json[0]["custom_fields"], json!({"margin": "-2.5"}));
}

/// Custom fields import from `cf.<key>` columns (as exports write them): spreadsheet words for
/// booleans, option labels for choices, an export's formula guard undone; a bad value is
/// reported on its line and column; unknown keys and a missing required field refuse the file;
/// merges change only the imported custom values.
async fn imports_fill_custom_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    for body in [
        json!({"entity": "contact", "key": "birthday", "label_en": "Birthday",
               "label_zh": "生日", "type": "date", "classification": "personal"}),
        json!({"entity": "contact", "key": "newsletter", "label_en": "Newsletter",
               "label_zh": "订阅通讯", "type": "boolean", "classification": "public"}),
        json!({"entity": "contact", "key": "tier", "label_en": "Tier", "label_zh": "等级",
               "type": "choice", "classification": "internal", "options": [
                   {"value": "gold", "label_en": "Gold", "label_zh": "金牌"},
                   {"value": "silver", "label_en": "Silver", "label_zh": "银牌"}]}),
        json!({"entity": "contact", "key": "credit_limit", "label_en": "Credit limit",
               "label_zh": "信用额度", "type": "number", "decimals": 2,
               "classification": "internal"}),
    ] {
        let (status, field) = app.post_json("/api/v1/custom-fields", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{field}");
    }

    let bad = "Name,Email,cf.birthday,cf.newsletter,cf.tier,cf.credit_limit\n\
Wang Fang,wang@x.example,1980-02-29,是,金牌,'-2.50\n\
Li Lei,li@x.example,31/02/1990,maybe,Platinum,12.5\n";
    let (status, report) = app
        .import_contacts(bad.into(), &[("dry_run", "true")])
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 1, "{report}");
    let line3: Vec<(String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["line"], 3, "{e}");
            (
                e["column"].as_str().unwrap_or_default().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (column, code) in [
        ("cf.birthday", "invalid_date"),
        ("cf.newsletter", "expected_boolean"),
        ("cf.tier", "unknown_option"),
    ] {
        assert!(
            line3.iter().any(|(c, k)| c == column && k == code),
            "{column} {code} in {line3:?}"
        );
    }
    assert_eq!(report["columns"][4]["field"], "cf.tier");

    let good = "Name,Email,cf.birthday,cf.newsletter,cf.tier,cf.credit_limit\n\
Wang Fang,wang@x.example,1980-02-29,是,金牌,'-2.50\n\
Li Lei,li@x.example,,no,silver,\n";
    let (status, report) = app.import_contacts(good.into(), &[]).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 2, "{report}");
    let custom = |email: &'static str| {
        let app = &app;
        async move {
            let (_, found) = app
                .get_json(&format!("/api/v1/contacts?email={email}"))
                .await;
            let id = found["items"][0]["id"].as_str().unwrap().to_owned();
            let (_, contact) = app.get_json(&format!("/api/v1/contacts/{id}")).await;
            contact["custom_fields"].clone()
        }
    };
    assert_eq!(
        custom("wang@x.example").await,
        json!({"birthday": "1980-02-29", "newsletter": true, "tier": "gold",
               "credit_limit": "-2.50"})
    );
    assert_eq!(
        custom("li@x.example").await,
        json!({"newsletter": false, "tier": "silver"})
    );

    // A merge changes the imported values and keeps the others.
    let update = "Email,Name,cf.newsletter\nwang@x.example,,false\n";
    let (status, report) = app
        .import_contacts(update.into(), &[("on_duplicate", "merge")])
        .await;
    assert_eq!(
        (status, report["merged"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
    assert_eq!(
        custom("wang@x.example").await,
        json!({"birthday": "1980-02-29", "newsletter": false, "tier": "gold",
               "credit_limit": "-2.50"})
    );

    // File-level refusals: nothing is read.
    let (status, report) = app
        .import_contacts("Name,cf.shoe_size\nA,42\n".into(), &[])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_code(&report),
        Some("unknown_custom_field"),
        "{report}"
    );
    let (status, field) = app
        .post_json(
            "/api/v1/custom-fields",
            &json!({"entity": "contact", "key": "region", "label_en": "Region",
                    "label_zh": "区域", "type": "text", "classification": "internal",
                    "required": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{field}");
    let (status, report) = app.import_contacts("Name\nNo Region\n".into(), &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_code(&report),
        Some("required_custom_field_missing"),
        "{report}"
    );
    assert_eq!(count(&app, "/api/v1/contacts").await, 2);
}

on_both_backends!(
    dry_run_reports_every_bad_line_and_a_bad_import_writes_nothing,
    a_bad_row_after_several_batches_leaves_nothing_behind,
    duplicates_by_email_skip_merge_or_create,
    encodings_mappings_and_bad_files,
    exports_guard_formulas_and_stream_every_row,
    exports_carry_active_custom_fields,
    imports_fill_custom_fields,
);
