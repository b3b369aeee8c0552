//! The HTML side over real HTTP: what a browser without JavaScript would get, and the transport.

use custodian_testkit::{Backend, on_both_backends, spawn_app, split};
use reqwest::{StatusCode, header};

async fn pages_follow_the_browser_language_and_require_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .anon
        .get(app.url("/login"))
        .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("lang=\"zh-CN\"") && html.contains("登录"),
        "Chinese login page"
    );
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    let res = app
        .anon
        .get(app.url("/login"))
        .header(header::ACCEPT_LANGUAGE, "en-GB")
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("lang=\"en\""));

    for path in ["/", "/contacts", "/companies", "/contacts/new"] {
        let res = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()[header::LOCATION], "/login", "{path}");
    }
    let res = app.client.get(app.url("/contacts")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "signed in");
}

async fn forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .client
        .post(app.url("/contacts"))
        .form(&[("name", "Forged Person")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, list) = app.get_json("/api/v1/contacts").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing was created"
    );

    let res = app
        .client
        .post(app.url("/contacts"))
        .form(&[("name", "Real Person"), ("_csrf", app.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_json("/api/v1/contacts").await;
    assert_eq!(list["items"][0]["name"], "Real Person");

    // A cross-site login form post is refused.
    let res = app
        .anon
        .post(app.url("/login"))
        .header(header::ORIGIN, "https://evil.example")
        .form(&[
            ("email", custodian_testkit::ADMIN_EMAIL),
            ("password", custodian_testkit::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn static_assets_and_api_docs_are_public(backend: Backend) {
    let app = spawn_app(backend).await;
    for (path, content_type) in [
        ("/static/htmx.min.js", "javascript"),
        ("/static/app.js", "javascript"),
        ("/static/app.css", "text/css"),
        ("/api/docs/", "text/html"),
    ] {
        let res = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains(content_type),
            "{path}"
        );
    }
    let res = app
        .anon
        .get(app.url("/static/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (status, spec) = split(
        app.anon
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/companies",
        "/api/v1/auth/login",
        "/api/v1/health",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(spec["components"]["schemas"].get("ContactInput").is_some());
    assert!(
        spec["components"]["securitySchemes"]
            .get("bearer")
            .is_some()
    );
}

/// TLS 1.2 and 1.3 only: an old client offering at most TLS 1.1 gets no connection.
async fn only_tls_1_2_and_1_3_are_spoken(backend: Backend) {
    let app = spawn_app(backend).await;
    let addr = app.base_url.trim_start_matches("https://").to_owned();
    let handshake = |version: &str| {
        std::process::Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &addr,
                version,
                "-cipher",
                "DEFAULT@SECLEVEL=0",
                "-brief",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl (Debian package openssl) must be installed; scripts/test installs it")
    };
    for version in ["-tls1_2", "-tls1_3"] {
        let out = handshake(version);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(text.contains("CONNECTION ESTABLISHED"), "{version}: {text}");
    }
    for version in ["-tls1", "-tls1_1"] {
        let out = handshake(version);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !text.contains("CONNECTION ESTABLISHED"),
            "{version} must be refused: {text}"
        );
        assert!(!out.status.success(), "{version}");
    }
}

on_both_backends!(
    pages_follow_the_browser_language_and_require_sign_in,
    forms_without_the_csrf_token_are_refused,
    static_assets_and_api_docs_are_public,
    only_tls_1_2_and_1_3_are_spoken,
);
