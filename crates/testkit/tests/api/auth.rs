use custodian_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, on_both_backends, spawn_app, split};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

async fn health_is_public_and_everything_else_needs_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = split(
        app.anon
            .get(app.url("/api/v1/health"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));

    let id = uuid::Uuid::nil();
    let routes = [
        (Method::GET, "/api/v1/contacts".to_owned()),
        (Method::POST, "/api/v1/contacts".to_owned()),
        (Method::GET, format!("/api/v1/contacts/{id}")),
        (Method::PATCH, format!("/api/v1/contacts/{id}")),
        (Method::DELETE, format!("/api/v1/contacts/{id}")),
        (Method::POST, format!("/api/v1/contacts/{id}/restore")),
        (Method::GET, "/api/v1/companies".to_owned()),
        (Method::POST, "/api/v1/companies".to_owned()),
        (Method::GET, format!("/api/v1/companies/{id}")),
        (Method::PATCH, format!("/api/v1/companies/{id}")),
        (Method::DELETE, format!("/api/v1/companies/{id}")),
        (Method::POST, format!("/api/v1/companies/{id}/restore")),
        (Method::GET, "/api/v1/auth/me".to_owned()),
        (Method::POST, "/api/v1/auth/logout".to_owned()),
    ];
    for (method, path) in routes {
        let res = app
            .anon
            .request(method.clone(), app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let (status, body) = split(res).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(body["code"], "unauthenticated", "{method} {path}");
    }
}

async fn forged_or_malformed_credentials_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for cookie in [
        "__Host-custodian_session=cus_s_forgedforgedforgedforgedforgedforgedforg",
        "__Host-custodian_session=",
        "__Host-custodian_session=%00%ff",
    ] {
        let res = app
            .anon
            .get(app.url("/api/v1/contacts"))
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{cookie}");
    }
    for auth in [
        "Bearer cus_t_forged",
        "Bearer ",
        "Basic abc",
        "Bearer x".repeat(100).as_str(),
    ] {
        let res = app
            .anon
            .get(app.url("/api/v1/contacts"))
            .header(header::AUTHORIZATION, auth)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth}");
    }
}

async fn login_failures_do_not_reveal_accounts(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut bodies = Vec::new();
    for (email, password) in [
        (ADMIN_EMAIL, "wrong password entirely"),
        ("nobody@custodian.test", "wrong password entirely"),
        ("not-an-email", "x"),
    ] {
        let res = app
            .anon
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let (status, body) = split(res).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        bodies.push(body);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    assert_eq!(bodies[0]["code"], "invalid_credentials");
}

async fn session_cookie_is_hardened_and_logout_ends_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .anon
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let set_cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "__Host-custodian_session=cus_s_",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} missing in {set_cookie}"
        );
    }
    assert!(!set_cookie.contains("Domain"));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let body: serde_json::Value = res.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);

    let me = app
        .anon
        .get(app.url("/api/v1/auth/me"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // A state change with the cookie but without the CSRF header is refused.
    let res = app
        .anon
        .post(app.url("/api/v1/auth/logout"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(split(res).await.1["code"], "csrf_failed");

    let res = app
        .anon
        .post(app.url("/api/v1/auth/logout"))
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let after = app
        .anon
        .get(app.url("/api/v1/auth/me"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "the old cookie must be dead server-side"
    );
}

async fn sessions_expire_when_idle_and_absolutely(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, _) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(time::Duration::minutes(31));
    let (status, body) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "idle timeout");
    assert_eq!(body["code"], "unauthenticated");

    let app = spawn_app(backend).await;
    // Active every 20 minutes: the idle timeout never fires, the 12-hour absolute one does.
    for _ in 0..35 {
        app.clock.advance(time::Duration::minutes(20));
        let (status, _) = app.get_json("/api/v1/auth/me").await;
        assert_eq!(status, StatusCode::OK);
    }
    // 11 h 40 min so far; 21 more minutes passes 12 h.
    app.clock.advance(time::Duration::minutes(21));
    let (status, _) = app.get_json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "absolute timeout");
}

async fn api_tokens_authenticate_without_csrf(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app
        .core
        .create_api_token(
            ADMIN_EMAIL,
            custodian_core::tokens::ApiTokenRequest {
                name: "integration".to_owned(),
                scopes: "*:write".to_owned(),
                expires_in_days: Some(1),
                networks: String::new(),
            },
        )
        .await
        .unwrap();
    use custodian_core::secrets::ExposeSecret;
    let bearer = format!("Bearer {}", token.expose_secret());
    let res = app
        .anon
        .post(app.url("/api/v1/contacts"))
        .header(header::AUTHORIZATION, &bearer)
        .json(&json!({"name": "Token User"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    app.clock.advance(time::Duration::days(2));
    let res = app
        .anon
        .get(app.url("/api/v1/contacts"))
        .header(header::AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "expired token");
}

async fn security_headers_on_every_response(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/api/v1/health",
        "/api/v1/contacts",
        "/api/v1/nope",
        "/login",
    ] {
        let res = app.request(Method::GET, path).send().await.unwrap();
        let h = res.headers();
        let hsts = h["strict-transport-security"].to_str().unwrap();
        let max_age: u64 = hsts
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("max-age=")
            .parse()
            .unwrap();
        assert!(max_age >= 31_536_000, "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        for directive in [
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "script-src 'self'",
        ] {
            assert!(csp.contains(directive), "{directive} missing on {path}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
}

on_both_backends!(
    health_is_public_and_everything_else_needs_credentials,
    forged_or_malformed_credentials_are_rejected,
    login_failures_do_not_reveal_accounts,
    session_cookie_is_hardened_and_logout_ends_it,
    sessions_expire_when_idle_and_absolutely,
    api_tokens_authenticate_without_csrf,
    security_headers_on_every_response,
);
