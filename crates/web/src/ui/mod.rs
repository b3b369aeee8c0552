//! The HTML UI: askama templates, vendored htmx, no inline script or style (the CSP forbids
//! them). Every text comes from the message catalogs; personal data is held only in memory for
//! rendering and never put into URLs.

mod account;
mod activities;
mod audit;
mod audit_report;
mod charts;
mod companies;
mod contacts;
mod custom_fields;
mod dashboard;
mod deals;
mod exports;
mod feedback;
mod leads;
mod links;
mod notifications;
mod orders;
mod pipelines;
mod policies;
pub(crate) mod security;
mod session;
mod support;
mod tasks;
mod transfer;
mod users;
mod views;

use crate::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(session::root))
        .route("/static/{file}", get(static_file))
        .route("/dashboard", get(dashboard::page))
        .route("/login", get(session::login_page).post(session::login))
        .route(
            "/login/verify",
            get(session::verify_page).post(session::verify),
        )
        .route("/password/strength", post(session::password_strength))
        .route("/login/verify/send", post(session::send_sign_in_code))
        .route("/login/passkey", post(session::passkey_login))
        .route("/auth/oidc/start", get(session::sso_start))
        .route("/auth/oidc/callback", get(session::sso_callback))
        .route("/login/verify/passkey", post(session::passkey_verify))
        .route(
            "/password/forgot",
            get(links::forgot_page).post(links::forgot),
        )
        .route("/password/reset", get(links::reset_page).post(links::reset))
        .route(
            "/invitation",
            get(links::invitation_page).post(links::accept_invitation),
        )
        .route("/account/security", get(account::security))
        .route("/settings/users", get(users::list))
        .route(
            "/settings/policies",
            get(policies::show).post(policies::propose),
        )
        .route(
            "/settings/policies/{version}/{decision}",
            post(policies::decide),
        )
        .route("/settings/mfa-policy", post(users::add_rule))
        .route("/settings/mfa-policy/{id}/remove", post(users::remove_rule))
        .route(
            "/settings/users/{id}",
            get(users::edit_form).post(users::update),
        )
        .route("/settings/users/{id}/roles", post(users::set_roles))
        .route("/settings/users/{id}/{action}", post(users::act))
        .route("/settings/users/invite", post(users::invite))
        .route("/settings/users/{id}/delete", post(users::delete))
        .route("/account/password", post(account::change_password))
        .route(
            "/account/reauthenticate",
            get(account::reauth_form).post(account::reauthenticate),
        )
        .route(
            "/account/totp",
            get(account::totp_form).post(account::begin_totp),
        )
        .route("/account/totp/confirm", post(account::confirm_totp))
        .route(
            "/account/reauthenticate/passkey",
            post(account::reauthenticate_with_passkey),
        )
        .route("/account/passkeys", post(account::add_passkey))
        .route(
            "/account/passkeys/{id}/rename",
            post(account::rename_passkey),
        )
        .route(
            "/account/passkeys/{id}/remove",
            post(account::remove_passkey),
        )
        .route("/account/totp/remove", post(account::remove_totp))
        .route("/account/sent-codes/{action}", post(account::sent_codes))
        .route(
            "/account/recovery-codes",
            post(account::regenerate_recovery_codes),
        )
        .route("/account/sessions/{id}/end", post(account::end_session))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route(
            "/account/sessions/end-others",
            post(account::end_other_sessions),
        )
        .route("/setup", get(session::setup_form).post(session::setup))
        .route("/logout", post(session::logout))
        .route("/settings/language", post(session::set_language))
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/search",
            get(contacts::search_get).post(contacts::search),
        )
        .route("/contacts/new", get(contacts::new_form))
        .route(
            "/contacts/import",
            get(transfer::import_form).post(transfer::import).layer(
                axum::extract::DefaultBodyLimit::max(crate::api::transfer::IMPORT_BODY_BYTES),
            ),
        )
        .route("/export/{kind}", get(transfer::export))
        .route("/audit", get(audit::show))
        .route("/audit/report", get(audit_report::show))
        .route("/security", get(security::dashboard))
        .route("/security/verify", post(security::verify))
        .route(
            "/security/alerts/{id}",
            get(security::alert).post(security::change),
        )
        .route("/exports", get(exports::show))
        .route("/exports/new", get(exports::new_form).post(exports::create))
        .route("/exports/{id}/download", get(exports::download_file))
        .route("/exports/{id}/{action}", post(exports::decide))
        .route("/search", get(views::search_form).post(views::search))
        .route("/views", post(views::save))
        .route("/views/{id}/delete", post(views::delete))
        .route(
            "/contacts/{id}",
            get(contacts::detail).post(contacts::update),
        )
        .route("/contacts/{id}/edit", get(contacts::edit_form))
        .route("/contacts/{id}/delete", post(contacts::delete))
        .route("/contacts/{id}/restore", post(contacts::restore))
        .route("/contacts/{id}/reveal", post(contacts::reveal))
        .route("/companies", get(companies::list).post(companies::create))
        .route("/companies/new", get(companies::new_form))
        .route(
            "/companies/{id}",
            get(companies::detail).post(companies::update),
        )
        .route("/companies/{id}/edit", get(companies::edit_form))
        .route("/companies/{id}/delete", post(companies::delete))
        .route("/companies/{id}/restore", post(companies::restore))
        .route("/leads", get(leads::list).post(leads::create))
        .route("/leads/search", get(leads::search_get).post(leads::search))
        .route("/leads/new", get(leads::new_form))
        .route("/leads/{id}", get(leads::detail).post(leads::update))
        .route("/leads/{id}/edit", get(leads::edit_form))
        .route("/leads/{id}/qualify", post(leads::qualify))
        .route("/leads/{id}/disqualify", post(leads::disqualify))
        .route("/leads/{id}/convert", post(leads::convert))
        .route("/leads/{id}/delete", post(leads::delete))
        .route("/leads/{id}/restore", post(leads::restore))
        .route("/deals", get(deals::board).post(deals::create))
        .route("/deals/list", get(deals::list))
        .route("/deals/new", get(deals::new_form))
        .route("/deals/contact-options", get(deals::contact_options))
        .route("/deals/{id}", get(deals::detail).post(deals::update))
        .route("/deals/{id}/edit", get(deals::edit_form))
        .route("/deals/{id}/move", post(deals::move_stage))
        .route("/deals/{id}/close", post(deals::close))
        .route("/deals/{id}/reopen", post(deals::reopen))
        .route("/deals/{id}/delete", post(deals::delete))
        .route("/deals/{id}/restore", post(deals::restore))
        .route("/activities", post(activities::create))
        .route("/activities/new", get(activities::new_form))
        .route("/activities/{id}", post(activities::update))
        .route("/activities/{id}/edit", get(activities::edit_form))
        .route("/activities/{id}/delete", post(activities::delete))
        .route("/tasks", get(tasks::list).post(tasks::create))
        .route("/tasks/new", get(tasks::new_form))
        .route("/tasks/{id}", get(tasks::detail).post(tasks::update))
        .route("/tasks/{id}/edit", get(tasks::edit_form))
        .route("/tasks/{id}/complete", post(tasks::complete))
        .route("/tasks/{id}/reopen", post(tasks::reopen))
        .route("/tasks/{id}/delete", post(tasks::delete))
        .route("/tasks/{id}/restore", post(tasks::restore))
        .route("/notifications", get(notifications::list))
        .route(
            "/notifications/read-all",
            post(notifications::mark_all_read),
        )
        .route("/notifications/{id}/read", post(notifications::mark_read))
        .route(
            "/settings/fields",
            get(custom_fields::list).post(custom_fields::create),
        )
        .route("/settings/fields/new", get(custom_fields::new_form))
        .route("/settings/fields/{id}", post(custom_fields::update))
        .route("/settings/fields/{id}/edit", get(custom_fields::edit_form))
        .route("/pipelines", get(pipelines::list).post(pipelines::create))
        .route("/pipelines/new", get(pipelines::new_form))
        .route(
            "/pipelines/{id}",
            get(pipelines::show).post(pipelines::update),
        )
        .route("/pipelines/{id}/edit", get(pipelines::edit_form))
        .route("/orders", get(orders::list).post(orders::create))
        .route("/orders/new", get(orders::new_form))
        .route("/orders/{id}", get(orders::detail).post(orders::update))
        .route("/orders/{id}/edit", get(orders::edit_form))
        .route("/orders/{id}/transition", post(orders::transition))
        .route("/orders/{id}/delete", post(orders::delete))
        .route(
            "/products",
            get(orders::products).post(orders::create_product),
        )
        .route("/products/new", get(orders::new_product))
        .route(
            "/products/{id}",
            get(orders::show_product).post(orders::update_product),
        )
        .route("/products/{id}/edit", get(orders::edit_product))
        .route("/products/{id}/delete", post(orders::archive_product))
        .route("/products/{id}/restore", post(orders::restore_product))
        .route("/contacts/{id}/interests", post(orders::add_interest))
        .route(
            "/contacts/{id}/interests/{product}/delete",
            post(orders::remove_interest),
        )
        .route(
            "/contacts/{id}/preferences",
            post(feedback::save_preferences),
        )
        .route("/contacts/{id}/surveys", post(feedback::record_survey))
        .route(
            "/surveys/{id}",
            get(feedback::show_survey).post(feedback::update_survey),
        )
        .route("/surveys/{id}/edit", get(feedback::edit_survey_form))
        .route("/surveys/{id}/delete", post(feedback::delete_survey))
        .route("/complaints", get(feedback::list).post(feedback::create))
        .route("/complaints/new", get(feedback::new_form))
        .route(
            "/complaints/{id}",
            get(feedback::detail).post(feedback::update),
        )
        .route("/complaints/{id}/transition", post(feedback::transition))
        .route("/complaints/{id}/delete", post(feedback::delete))
        .route("/complaints/{id}/restore", post(feedback::restore))
        .route("/feedback", get(feedback::summary))
}

const HTMX_JS: &[u8] = include_bytes!("../../static/htmx.min.js");
const APP_JS: &[u8] = include_bytes!("../../static/app.js");
const APP_CSS: &[u8] = include_bytes!("../../static/app.css");

fn static_asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    match name {
        "htmx.min.js" => Some(("text/javascript; charset=utf-8", HTMX_JS)),
        "app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        "app.css" => Some(("text/css; charset=utf-8", APP_CSS)),
        _ => None,
    }
}

/// The three vendored assets, compiled into the binary; anything else is a 404.
async fn static_file(Path(file): Path<String>) -> Response {
    match static_asset(&file) {
        Some((content_type, body)) => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::contacts::{ContactForm, search_query};
    use super::session::LoginPage;
    use super::support::*;
    use crate::i18n::Catalogs;
    use askama::Template;
    use custodian_domain::FieldError;

    #[test]
    fn return_to_accepts_only_same_site_paths() {
        assert_eq!(safe_return_to("/contacts"), Some("/contacts"));
        assert_eq!(
            safe_return_to("/companies?q=abc&cursor=x"),
            Some("/companies?q=abc&cursor=x")
        );
        for bad in [
            "",
            "contacts",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn search_box_classification() {
        assert_eq!(classify_search("li.na@example.cn"), SearchKind::Email);
        assert_eq!(classify_search(" li＠example.cn"), SearchKind::Email);
        assert_eq!(classify_search("+86 138 0013 8000"), SearchKind::Phone);
        assert_eq!(classify_search("0086 138"), SearchKind::Phone);
        assert_eq!(classify_search("１３８"), SearchKind::Phone);
        assert_eq!(classify_search("王小明"), SearchKind::Name);
        assert_eq!(classify_search("Li Na"), SearchKind::Name);
        let q = search_query(" a@b.cn ", None);
        assert_eq!(q.email.as_deref(), Some("a@b.cn"));
        assert!(q.phone.is_none() && q.name.is_none());
        let q = search_query("+8613800138000", None);
        assert_eq!(q.phone.as_deref(), Some("+8613800138000"));
        let q = search_query("王", Some("c".into()));
        assert_eq!(q.name.as_deref(), Some("王"));
        assert_eq!(q.cursor.as_deref(), Some("c"));
    }

    #[test]
    fn lists_split_on_commas_and_newlines() {
        assert_eq!(
            split_list("a@x.cn, b@x.cn\r\nc@x.cn，d@x.cn、e@x.cn;;  "),
            vec!["a@x.cn", "b@x.cn", "c@x.cn", "d@x.cn", "e@x.cn"]
        );
        assert!(split_list("  , ,\n").is_empty());
        assert_eq!(join_list(&["a".into(), "b".into()]), "a, b");
        assert_eq!(normalize_newlines("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(optional("  "), None);
        assert_eq!(optional("x\r\ny").as_deref(), Some("x\ny"));
    }

    #[test]
    fn contact_form_becomes_input_and_patch() {
        let form = ContactForm {
            name: "王小明".into(),
            emails: "a@x.cn, b@x.cn".into(),
            phones: "+86 138 0013 8000".into(),
            job_title: " ".into(),
            company_id: String::new(),
            address: "line 1\r\nline 2".into(),
            tags: "vip, 石油".into(),
            version: "3".into(),
            ..ContactForm::default()
        };
        let input = form.to_input().unwrap();
        assert_eq!(input.emails, vec!["a@x.cn", "b@x.cn"]);
        assert_eq!(input.phones.len(), 1);
        assert_eq!(input.job_title, None);
        assert_eq!(input.company_id, None);
        assert_eq!(input.address.as_deref(), Some("line 1\nline 2"));
        assert_eq!(input.tags, vec!["vip", "石油"]);
        let patch = form.to_patch().unwrap();
        assert_eq!(patch.version, 3);
        assert_eq!(patch.job_title, Some(None));
        assert_eq!(patch.company_id, Some(None));
        assert!(patch.owner_id.is_none());

        let bad = ContactForm {
            company_id: "not-a-uuid".into(),
            version: "x".into(),
            ..ContactForm::default()
        };
        assert_eq!(bad.to_input().unwrap_err().field, "company_id");
        assert_eq!(bad.to_patch().unwrap_err().field, "version");
    }

    #[test]
    fn url_building_encodes_values() {
        assert_eq!(encode_query_value("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            build_url(
                "/companies",
                &[("q", "中"), ("industry", ""), ("cursor", "abc-_")]
            ),
            "/companies?q=%E4%B8%AD&cursor=abc-_"
        );
        assert_eq!(build_url("/contacts", &[("deleted", "")]), "/contacts");
    }

    #[test]
    fn times_render_in_utc() {
        let t = time::macros::datetime!(2025-03-04 05:06:07 +08:00);
        assert_eq!(format_time(t), "2025-03-03 21:06 UTC");
    }

    #[test]
    fn field_errors_are_translated_and_mapped() {
        let catalogs = Catalogs::load().unwrap();
        let zh = catalogs.translator("zh-CN");
        let en = catalogs.translator("en");
        let too_long = FieldError::new("name", "too_long", "must be at most 200 characters");
        assert_eq!(field_message(&zh, &too_long), "不能超过 200 个字符。");
        assert_eq!(
            field_message(&en, &too_long),
            "Must be at most 200 characters."
        );
        let unknown = FieldError::new("x", "brand_new_code", "must be nice");
        assert_eq!(
            field_message(&en, &unknown),
            "This field is invalid: must be nice"
        );
        let errors = FormErrors::from_fields(
            &en,
            &[
                FieldError::new("emails[1]", "invalid_email", "bad"),
                FieldError::new("owner_id", "unknown_user", "no such user"),
            ],
            &["name", "emails"],
        );
        assert!(errors.get("emails").is_some());
        assert!(errors.get("name").is_none());
        assert_eq!(errors.general.len(), 1);
        assert!(errors.any());
    }

    #[test]
    fn origin_check() {
        use axum::http::{HeaderMap, HeaderValue, Uri};
        let uri: Uri = "/login".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("crm.example.cn:8443"));
        assert!(same_origin(&h, &uri), "no Origin header");
        h.insert(
            "origin",
            HeaderValue::from_static("https://crm.example.cn:8443"),
        );
        assert!(same_origin(&h, &uri));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h, &uri));
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(!same_origin(&h, &uri));
        h.insert(
            "origin",
            HeaderValue::from_static("http://crm.example.cn:8443"),
        );
        assert!(!same_origin(&h, &uri));
        h.remove("origin");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, &uri));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(
            !same_origin(&h, &uri),
            "a sibling subdomain is not this site"
        );
        // Referrer-Policy: no-referrer makes browsers send `Origin: null` on same-origin posts.
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(!same_origin(&h, &uri));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, &uri));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h, &uri), "a real foreign origin always loses");
    }

    #[test]
    fn static_assets_are_known_and_typed() {
        assert!(
            super::static_asset("htmx.min.js")
                .unwrap()
                .0
                .starts_with("text/javascript")
        );
        assert!(
            super::static_asset("app.css")
                .unwrap()
                .0
                .starts_with("text/css")
        );
        assert!(super::static_asset("../Cargo.toml").is_none());
        assert!(super::static_asset("app.js.map").is_none());
    }

    #[test]
    fn login_page_renders_in_both_languages() {
        let catalogs = Catalogs::load().unwrap();
        for (locale, title) in [("en", "Sign in"), ("zh-CN", "登录")] {
            let page = LoginPage {
                t: catalogs.translator(locale),
                chrome: Chrome::public("/login"),
                email: "<li@example.cn>".into(),
                lang: String::new(),
                failed: Some("E-mail or password is incorrect.".to_owned()),
                needs_setup: true,
                errors: FormErrors::default(),
                passkeys: true,
                sso_label: Some("Example SSO".to_owned()),
            };
            let html = page.render().unwrap();
            assert!(html.contains(&format!("lang=\"{locale}\"")), "{locale}");
            assert!(
                html.contains(&format!("<h1 id=\"page-title\">{title}</h1>")),
                "{html}"
            );
            assert!(html.contains("id=\"login-submit\""));
            assert!(html.contains("id=\"passkey-sign-in\""), "{html}");
            assert!(html.contains("Example SSO"), "{html}");
            assert!(html.contains("name=\"email\"") && html.contains("name=\"password\""));
            assert!(html.contains("/setup"), "setup link when no admin exists");
            // Autoescaping on; no inline script or style.
            assert!(
                html.contains("&#60;li@example.cn&#62;") || html.contains("&lt;li@example.cn&gt;")
            );
            assert!(!html.contains("<script>") && !html.contains("style="));
            assert!(!html.contains("hx-on"));
        }
    }
}
