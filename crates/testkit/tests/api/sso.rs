//! Single sign-on against a real OpenID Provider (npm oidc-provider on loopback): the
//! authorization code flow with PKCE through the browser's redirects, the provider's amr/acr
//! deciding whether Custodian still asks for its own second factor, and refusals — an address
//! the provider has not verified, no such user, another browser's or a used state, an expired
//! ID token, a provider whose issuer does not match.

use custodian_testkit::oidc::OidcProvider;
use custodian_testkit::{
    ADMIN_EMAIL, Backend, TestApp, client, on_both_backends, spawn_app_with, test_config,
};
use reqwest::{StatusCode, header};
use serde_json::json;

struct Sso {
    app: TestApp,
    _provider: OidcProvider,
}

async fn with_provider(backend: Backend, mfa_acr: &[&str]) -> Sso {
    let port = OidcProvider::reserve_port();
    let mut config = test_config();
    OidcProvider::configure(port, &mut config);
    config.oidc.mfa_acr_values = mfa_acr.iter().map(|s| (*s).to_owned()).collect();
    let app = spawn_app_with(backend, config).await;
    let redirect = format!(
        "{}/auth/oidc/callback",
        app.base_url.replace("127.0.0.1", "localhost")
    );
    let accounts = json!({
        "admin-7": {"email": ADMIN_EMAIL, "email_verified": true},
        "unverified-3": {"email": ADMIN_EMAIL, "email_verified": false},
        "stranger-9": {"email": "stranger@example.com", "email_verified": true},
    });
    let provider = OidcProvider::start(port, &redirect, &accounts);
    Sso {
        app,
        _provider: provider,
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Starts at Custodian and signs in at the provider as `sub` with `amr` (and `acr`); returns
/// the callback URL the provider sent the browser to (not yet followed).
async fn at_provider(
    app: &TestApp,
    c: &reqwest::Client,
    sub: &str,
    amr: &str,
    acr: &str,
) -> String {
    let res = c.get(app.url("/auth/oidc/start")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let authorize = location(&res);
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("nonce="), "{authorize}");
    let issuer = authorize.split("/auth?").next().unwrap().to_owned();
    let absolute = |l: String| {
        if l.starts_with('/') {
            format!("{issuer}{l}")
        } else {
            l
        }
    };
    let res = c.get(&authorize).send().await.unwrap();
    let interaction = absolute(location(&res));
    assert!(interaction.contains("/interaction/"), "{interaction}");
    let mut url = format!("{interaction}?sub={sub}&amr={amr}");
    if !acr.is_empty() {
        url.push_str(&format!("&acr={acr}"));
    }
    let res = c.get(&url).send().await.unwrap();
    let resume = absolute(location(&res));
    let res = c.get(&resume).send().await.unwrap();
    let callback = location(&res);
    assert!(callback.contains("/auth/oidc/callback?code="), "{callback}");
    // The provider sends people to the public URL (localhost); this client's cookies are the
    // server's at 127.0.0.1 — the same server.
    callback.replace("https://localhost:", "https://127.0.0.1:")
}

async fn callback(c: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let res = c.get(url).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

async fn methods(app: &TestApp) -> Vec<String> {
    let (_, sessions) = app.get_json("/api/v1/account/sessions").await;
    sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["auth_methods"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_providers_mfa_completes_the_sign_in(backend: Backend) {
    let sso = with_provider(backend, &["urn:custodian:test:mfa"]).await;
    let app = &sso.app;
    let anon = client(&app.cert_pem, true);
    let login = anon
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("Sign in with Example SSO"), "{login}");

    // A password and a one-time code at the provider: multi-factor, signed in.
    let c = client(&app.cert_pem, true);
    let url = at_provider(app, &c, "admin-7", "pwd,otp", "").await;
    let (status, page) = callback(&c, &url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("url=/dashboard"), "{page}");
    let (status, _) =
        custodian_testkit::split(c.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    // The same answer again: its state was used.
    let (status, page) = callback(&c, &url).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("did not complete"), "{page}");

    // An acr the configuration names as multi-factor counts too.
    let c = client(&app.cert_pem, true);
    let url = at_provider(app, &c, "admin-7", "pwd", "urn:custodian:test:mfa").await;
    let (status, page) = callback(&c, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("url=/dashboard"), "{page}");
    let listed = methods(app).await;
    assert_eq!(
        listed.iter().filter(|m| *m == "oidc+mfa").count(),
        2,
        "{listed:?}"
    );
    let (_, events) = app.get_json("/api/v1/account/security-events").await;
    assert_eq!(events["items"][0]["kind"], "authn_login_success");
}

async fn a_password_alone_at_the_provider_leaves_our_second_factor(backend: Backend) {
    let sso = with_provider(backend, &[]).await;
    let app = &sso.app;
    let (key, _) = crate::second_factors::enrol(app).await;
    let c = client(&app.cert_pem, true);
    let url = at_provider(app, &c, "admin-7", "pwd", "").await;
    let (status, page) = callback(&c, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("url=/login/verify"), "{page}");
    // Not signed in yet.
    let (status, _) =
        custodian_testkit::split(c.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.clock.advance(time::Duration::seconds(30));
    let secs =
        u64::try_from(custodian_domain::Clock::now_millis(app.clock.as_ref()) / 1000).unwrap();
    let code = custodian_crypto::otp::totp_secret_from_base32(&key)
        .unwrap()
        .code_at(secs)
        .unwrap();
    let (status, body) = custodian_testkit::split(
        c.post(app.url("/api/v1/auth/second-factor"))
            .json(&json!({ "code": code }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(methods(app).await.contains(&"oidc+totp".to_owned()));
}

async fn unverified_unknown_foreign_and_expired_answers_are_refused(backend: Backend) {
    let sso = with_provider(backend, &[]).await;
    let app = &sso.app;
    for sub in ["unverified-3", "stranger-9"] {
        let c = client(&app.cert_pem, true);
        let url = at_provider(app, &c, sub, "pwd,otp", "").await;
        let (status, page) = callback(&c, &url).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{sub}");
        assert!(page.contains("did not complete"), "{page}");
    }
    // Another browser's answer: its state is not this browser's.
    let victim = client(&app.cert_pem, true);
    let url = at_provider(app, &victim, "admin-7", "pwd,otp", "").await;
    let attacker = client(&app.cert_pem, true);
    let res = attacker
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = callback(&attacker, &url).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Each refusal is a security event with its reason (no account is named).
    let reasons: Vec<String> = crate::security_activity::anonymous(app)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "authn_sso_fail")
        .map(|(_, reason)| reason)
        .collect();
    for reason in ["email_unverified", "no_account", "state_mismatch"] {
        assert!(reasons.iter().any(|r| r == reason), "{reason}: {reasons:?}");
    }
    // An ID token that expired before it arrived (the provider's live 2 minutes; the attempt
    // itself would wait 10).
    let c = client(&app.cert_pem, true);
    let url = at_provider(app, &c, "admin-7", "pwd,otp", "").await;
    app.clock.advance(time::Duration::minutes(1));
    let (status, _) = callback(&c, &url).await;
    assert_eq!(status, StatusCode::OK, "not yet expired");
    let c = client(&app.cert_pem, true);
    let url = at_provider(app, &c, "admin-7", "pwd,otp", "").await;
    app.clock.advance(time::Duration::minutes(4));
    let (status, _) = callback(&c, &url).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let expired = crate::security_activity::anonymous(app).await;
    assert!(
        expired.contains(&("authn_sso_fail".to_owned(), "id_token_invalid".to_owned())),
        "{expired:?}"
    );
}

async fn a_provider_with_another_issuer_is_not_trusted(backend: Backend) {
    let port = OidcProvider::reserve_port();
    let mut config = test_config();
    OidcProvider::configure(port, &mut config);
    // The provider calls itself http://127.0.0.1:<port>; this names it differently.
    config.oidc.issuer = format!("http://localhost:{port}");
    let app = spawn_app_with(backend, config).await;
    let _provider = OidcProvider::start(port, "https://localhost:1/auth/oidc/callback", &json!({}));
    let c = client(&app.cert_pem, true);
    let res = c.get(app.url("/auth/oidc/start")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page: String = res.text().await.unwrap();
    assert!(page.contains("cannot be reached"), "{page}");
}

on_both_backends!(
    the_providers_mfa_completes_the_sign_in,
    a_password_alone_at_the_provider_leaves_our_second_factor,
    unverified_unknown_foreign_and_expired_answers_are_refused,
    a_provider_with_another_issuer_is_not_trusted,
);
