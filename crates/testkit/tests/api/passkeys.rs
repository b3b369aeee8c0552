//! Passkeys end to end with a software authenticator (webauthn-authenticator-rs `SoftPasskey`,
//! which signs real WebAuthn assertions): registering several behind step-up, naming and
//! removing them, a passkey as the second step of a password sign-in and for step-up, and a
//! passwordless sign-in. Refused: a replayed assertion, a finished ceremony used again, a wrong
//! origin or RP ID, another user's handle, a disabled user. Nothing identifying is stored in
//! plaintext.

use crate::encryption::{contains, stored_bytes};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, client, error_code, on_both_backends, spawn_app,
    spawn_app_with, split, test_config,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// The origin browsers see: the server's public URL (`https://localhost:<port>` in tests).
fn origin(app: &TestApp) -> Url {
    Url::parse(&app.base_url.replace("127.0.0.1", "localhost")).unwrap()
}

/// A software authenticator that performs user verification (the server requires it).
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// What the authenticator answered at registration, as the browser would send it.
struct Registered {
    credential_id: String,
    user_handle: String,
}

async fn begin(c: &reqwest::Client, app: &TestApp, path: &str, csrf: &str) -> (StatusCode, Value) {
    split(
        c.post(app.url(path))
            .header("X-CSRF-Token", csrf)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Registers a passkey on `key` for the admin through the API.
async fn register(
    app: &TestApp,
    key: &mut SoftPasskey,
    name: &str,
) -> (StatusCode, Value, Registered) {
    let (status, challenge) = app
        .post_json("/api/v1/account/passkeys/registration", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    let public_key = &challenge["options"]["publicKey"];
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    let user_handle = public_key["user"]["id"].as_str().unwrap().to_owned();
    let options: CreationChallengeResponse =
        serde_json::from_value(challenge["options"].clone()).unwrap();
    let credential = key.do_registration(origin(app), options).unwrap();
    let credential = serde_json::to_value(&credential).unwrap();
    let credential_id = credential["rawId"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post_json(
            "/api/v1/account/passkeys",
            &json!({"ceremony_id": challenge["ceremony_id"], "name": name, "credential": credential}),
        )
        .await;
    (
        status,
        body,
        Registered {
            credential_id,
            user_handle,
        },
    )
}

/// The authenticator's answer to a started assertion ceremony, signed for `origin`.
fn assert_with(key: &mut SoftPasskey, challenge: &Value, origin: Url) -> Value {
    let options: RequestChallengeResponse =
        serde_json::from_value(challenge["options"].clone()).unwrap();
    serde_json::to_value(key.do_authentication(origin, options).unwrap()).unwrap()
}

/// A discoverable answer: the browser picks the credential and returns the user handle the
/// authenticator stored. `SoftPasskey` keeps no resident credentials, so the test names the
/// credential to it and adds the handle (which the signature does not cover, as in WebAuthn).
fn discoverable_answer(
    key: &mut SoftPasskey,
    challenge: &Value,
    origin: Url,
    registered: &Registered,
    handle: &str,
) -> Value {
    let mut options = challenge["options"].clone();
    assert_eq!(
        options["publicKey"]["allowCredentials"],
        json!([]),
        "discoverable: no list"
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    options["publicKey"]["allowCredentials"] =
        json!([{"type": "public-key", "id": registered.credential_id}]);
    let mut answer = assert_with(key, &json!({ "options": options }), origin);
    answer["response"]["userHandle"] = json!(handle);
    answer
}

/// A client that has entered the admin's password; the second factor is due.
async fn password_step(app: &TestApp) -> (reqwest::Client, Value) {
    let c = client(&app.cert_pem, true);
    let (status, body) = split(
        c.post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    (c, body)
}

async fn post(c: &reqwest::Client, app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    split(c.post(app.url(path)).json(body).send().await.unwrap()).await
}

async fn signed_in_methods(c: &reqwest::Client, app: &TestApp) -> Vec<String> {
    let (status, sessions) = split(
        c.get(app.url("/api/v1/account/sessions"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["auth_methods"].as_str().unwrap().to_owned())
        .collect()
}

async fn passkeys_are_registered_named_and_used_as_the_second_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    // Adding a factor needs a recent sign-in.
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = app
        .post_json("/api/v1/account/passkeys/registration", &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("reauthentication_required"));
    app.reauthenticate().await;

    let mut laptop = authenticator();
    let (status, body, _) = register(&app, &mut laptop, "  Laptop  ").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["recovery_codes"].as_array().map(Vec::len),
        Some(10),
        "the first second factor brings recovery codes"
    );
    // A moment later, so the list's order (oldest first) is defined.
    app.clock.advance(time::Duration::seconds(1));
    let mut phone = authenticator();
    let (status, body, _) = register(&app, &mut phone, "手机").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("recovery_codes").is_none(), "{body}");

    let (_, list) = app.get_json("/api/v1/account/passkeys").await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Laptop", "手机"]);
    assert!(list[0]["last_used_at"].is_null());
    let laptop_id = list[0]["id"].as_str().unwrap().to_owned();

    let (status, _) = app
        .patch_json(
            &format!("/api/v1/account/passkeys/{laptop_id}"),
            &json!({"name": "Work laptop"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/account/passkeys/{laptop_id}"),
            &json!({"name": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app
        .patch_json(
            &format!("/api/v1/account/passkeys/{}", uuid::Uuid::from_u128(42)),
            &json!({"name": "nobody's"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get_json("/api/v1/account/passkeys").await;
    assert_eq!(list[0]["name"], "Work laptop");

    // Sign-in: the password, then the passkey.
    let (c, due) = password_step(&app).await;
    assert!(
        due["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("passkey")),
        "{due}"
    );
    let (status, challenge) = post(
        &c,
        &app,
        "/api/v1/auth/second-factor/passkey/options",
        &json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    assert_eq!(
        challenge["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "the account's passkeys are offered"
    );
    let answer = assert_with(&mut laptop, &challenge, origin(&app));
    let finish = json!({"ceremony_id": challenge["ceremony_id"], "credential": answer});
    let (status, body) = post(&c, &app, "/api/v1/auth/second-factor/passkey", &finish).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(signed_in_methods(&c, &app).await, ["password+passkey"]);
    let (_, list) = app.get_json("/api/v1/account/passkeys").await;
    assert!(list[0]["last_used_at"].is_i64(), "use is recorded: {list}");

    // The same answer again: its ceremony is gone, and on a new sign-in the challenge differs.
    let (c2, _) = password_step(&app).await;
    let (status, body) = post(&c2, &app, "/api/v1/auth/second-factor/passkey", &finish).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), Some("passkey_request_expired"));
    let (_, fresh) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey/options",
        &json!({}),
    )
    .await;
    let replay = json!({"ceremony_id": fresh["ceremony_id"], "credential": answer});
    let (status, body) = post(&c2, &app, "/api/v1/auth/second-factor/passkey", &replay).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(&body), Some("passkey_rejected"));

    // Signed on a look-alike origin (a subdomain the authenticator accepts for this RP ID, as
    // after a subdomain takeover): the server checks the origin itself.
    let (_, challenge) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey/options",
        &json!({}),
    )
    .await;
    let look_alike = origin(&app)
        .as_str()
        .replace("https://localhost", "https://login.localhost");
    let phished = assert_with(&mut laptop, &challenge, Url::parse(&look_alike).unwrap());
    let (status, body) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": phished}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(&body), Some("passkey_rejected"));
    // An assertion whose RP ID hash names another relying party.
    let (_, challenge) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey/options",
        &json!({}),
    )
    .await;
    let mut wrong_rp = assert_with(&mut laptop, &challenge, origin(&app));
    let mut data = URL_SAFE_NO_PAD
        .decode(wrong_rp["response"]["authenticatorData"].as_str().unwrap())
        .unwrap();
    data[..32].copy_from_slice(&Sha256::digest(b"example.com"));
    wrong_rp["response"]["authenticatorData"] = json!(URL_SAFE_NO_PAD.encode(&data));
    let (status, _) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": wrong_rp}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Not a credential at all.
    let (_, challenge) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey/options",
        &json!({}),
    )
    .await;
    let (status, body) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": {"id": 1}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Each refused passkey is a security event of the account.
    let (_, events) = app.get_json("/api/v1/account/security-events").await;
    let refused = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "authn_second_factor_fail" && e["detail"] == "passkey")
        .count();
    assert_eq!(refused, 3, "{events}");
    // The other passkey still finishes this sign-in.
    let (_, challenge) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey/options",
        &json!({}),
    )
    .await;
    let answer = assert_with(&mut phone, &challenge, origin(&app));
    let (status, body) = post(
        &c2,
        &app,
        "/api/v1/auth/second-factor/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": answer}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn a_discoverable_passkey_signs_in_without_a_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut key = authenticator();
    let (status, body, registered) = register(&app, &mut key, "Security key").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let c = client(&app.cert_pem, true);
    let (status, challenge) = post(&c, &app, "/api/v1/auth/passkey/options", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    assert!(
        challenge["options"].get("mediation").is_none(),
        "a modal prompt: {challenge}"
    );
    let answer = discoverable_answer(
        &mut key,
        &challenge,
        origin(&app),
        &registered,
        &registered.user_handle,
    );
    let (status, body) = post(
        &c,
        &app,
        "/api/v1/auth/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": answer}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(body["second_factor_enrolment_required"], false);
    assert_eq!(signed_in_methods(&c, &app).await, ["passkey"]);

    // The handle of another user with this credential: refused, and no session.
    let other = app.sign_in_new_user("other@example.com").await;
    let other_handle = URL_SAFE_NO_PAD.encode(uuid::Uuid::parse_str(&other.id).unwrap().as_bytes());
    let c2 = client(&app.cert_pem, true);
    let (_, challenge) = post(&c2, &app, "/api/v1/auth/passkey/options", &json!({})).await;
    let answer = discoverable_answer(
        &mut key,
        &challenge,
        origin(&app),
        &registered,
        &other_handle,
    );
    let (status, body) = post(
        &c2,
        &app,
        "/api/v1/auth/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": answer}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(&body), Some("passkey_rejected"));
    let (_, events) = app.get_json("/api/v1/account/security-events").await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "authn_login_fail" && e["detail"] == "passkey"),
        "the credential's owner sees the attempt: {events}"
    );
    // Without a handle (a non-discoverable answer): refused.
    let (_, challenge) = post(&c2, &app, "/api/v1/auth/passkey/options", &json!({})).await;
    let mut answer = discoverable_answer(&mut key, &challenge, origin(&app), &registered, "");
    answer["response"]["userHandle"] = Value::Null;
    let (status, _) = post(
        &c2,
        &app,
        "/api/v1/auth/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": answer}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = split(c2.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A disabled user's passkey signs nobody in.
    let (status, body, other_key) = {
        let mut other_key = authenticator();
        let (s, b, r) = register_for(&app, &other, &mut other_key).await;
        (s, b, (other_key, r))
    };
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (mut other_key, other_registered) = other_key;
    let (status, _) = app
        .post_json(&format!("/api/v1/users/{}/disable", other.id), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, challenge) = post(&c2, &app, "/api/v1/auth/passkey/options", &json!({})).await;
    let answer = discoverable_answer(
        &mut other_key,
        &challenge,
        origin(&app),
        &other_registered,
        &other_registered.user_handle,
    );
    let (status, _) = post(
        &c2,
        &app,
        "/api/v1/auth/passkey",
        &json!({"ceremony_id": challenge["ceremony_id"], "credential": answer}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Registers a passkey for another signed-in user.
async fn register_for(
    app: &TestApp,
    user: &custodian_testkit::OtherUser,
    key: &mut SoftPasskey,
) -> (StatusCode, Value, Registered) {
    let (status, challenge) = user
        .post_json("/api/v1/account/passkeys/registration", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    let user_handle = challenge["options"]["publicKey"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let options: CreationChallengeResponse =
        serde_json::from_value(challenge["options"].clone()).unwrap();
    let credential =
        serde_json::to_value(key.do_registration(origin(app), options).unwrap()).unwrap();
    let credential_id = credential["rawId"].as_str().unwrap().to_owned();
    let (status, body) = user
        .post_json(
            "/api/v1/account/passkeys",
            &json!({"ceremony_id": challenge["ceremony_id"], "name": "Other's key", "credential": credential}),
        )
        .await;
    (
        status,
        body,
        Registered {
            credential_id,
            user_handle,
        },
    )
}

async fn passkey_step_up_removal_and_admin_reset(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut key = authenticator();
    let (status, body, _) = register(&app, &mut key, "Laptop").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, list) = app.get_json("/api/v1/account/passkeys").await;
    let id = list[0]["id"].as_str().unwrap().to_owned();

    // With a passkey, step-up takes it (the password alone no longer does).
    app.clock.advance(time::Duration::minutes(11));
    let (status, body) = app.delete(&format!("/api/v1/account/passkeys/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app
        .post_json(
            "/api/v1/auth/reauthenticate",
            &json!({"password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, challenge) = app
        .post_json("/api/v1/auth/reauthenticate/passkey/options", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    let answer = assert_with(&mut key, &challenge, origin(&app));
    let (status, body) = app
        .post_json(
            "/api/v1/auth/reauthenticate/passkey",
            &json!({"ceremony_id": challenge["ceremony_id"], "credential": answer}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // The MFA policy covers everyone: the only second factor cannot go.
    let (status, body) = app
        .post_json("/api/v1/mfa-policy", &json!({"scope": "everyone"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.delete(&format!("/api/v1/account/passkeys/{id}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), Some("second_factor_required"));
    let (_, policy) = app.get_json("/api/v1/mfa-policy").await;
    let rule = policy["rules"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app.delete(&format!("/api/v1/mfa-policy/{rule}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Removing the last factor takes the recovery codes with it.
    let (status, _) = app.delete(&format!("/api/v1/account/passkeys/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, factors) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(factors["passkeys"], 0);
    assert_eq!(factors["recovery_codes_left"], 0);
    let (status, _) = app.delete(&format!("/api/v1/account/passkeys/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An administrator's factor reset removes another user's passkeys.
    let other = app.sign_in_new_user("reset@example.com").await;
    let mut other_key = authenticator();
    let (status, _, _) = register_for(&app, &other, &mut other_key).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post_json(
            &format!("/api/v1/users/{}/reset-second-factors", other.id),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let c = client(&app.cert_pem, true);
    let (status, _) = post(
        &c,
        &app,
        "/api/v1/auth/login",
        &json!({"email": "reset@example.com", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no second factor is left to ask for"
    );
}

async fn passkey_names_and_credentials_are_not_stored_in_plaintext(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut key = authenticator();
    let name = "Passkey-name-4f1d9c on the CFO's phone";
    let (status, body, registered) = register(&app, &mut key, name).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let credential_id = URL_SAFE_NO_PAD.decode(&registered.credential_id).unwrap();
    let stored = stored_bytes(&app).await;
    assert!(
        !contains(&stored, name.as_bytes()),
        "passkey name in plaintext"
    );
    assert!(
        !contains(&stored, &credential_id),
        "credential id in plaintext"
    );
    assert!(
        !contains(&stored, registered.credential_id.as_bytes()),
        "credential id (base64) in plaintext"
    );
}

async fn passkeys_are_off_when_the_public_url_is_an_ip_address(backend: Backend) {
    let mut config = test_config();
    config.server.public_url = "https://127.0.0.1:8443".to_owned();
    let app = spawn_app_with(backend, config).await;
    let (_, factors) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(factors["passkeys_available"], false);
    let (status, body) = app
        .post_json("/api/v1/account/passkeys/registration", &json!({}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body), Some("passkeys_unavailable"));
    let c = client(&app.cert_pem, true);
    let (status, _) = begin(&c, &app, "/api/v1/auth/passkey/options", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

async fn passkey_pages_in_both_languages(backend: Backend) {
    let app = spawn_app(backend).await;
    let anon = client(&app.cert_pem, true);
    let res = anon
        .get(app.url("/login"))
        .header(reqwest::header::ACCEPT_LANGUAGE, "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let login = res.text().await.unwrap();
    assert!(login.contains("id=\"passkey-sign-in\""), "{login}");
    assert!(login.contains("使用通行密钥登录"));
    let (_, security) = app.html("/account/security", "zh-CN").await;
    assert!(security.contains("您还没有通行密钥"), "{security}");
    assert!(security.contains("data-options=\"/api/v1/account/passkeys/registration\""));

    let mut key = authenticator();
    let (status, body, _) = register(&app, &mut key, "Desk key").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, list) = app.get_json("/api/v1/account/passkeys").await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let (_, security) = app.html("/account/security", "en").await;
    assert!(security.contains("value=\"Desk key\""), "{security}");

    // Rename through the page; a blank name is refused next to the list.
    let res = app
        .post_form(
            &format!("/account/passkeys/{id}/rename"),
            &[("_csrf", app.csrf.as_str()), ("passkey_name", "Office key")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Passkey renamed."));
    let res = app
        .post_form(
            &format!("/account/passkeys/{id}/rename"),
            &[("_csrf", app.csrf.as_str()), ("passkey_name", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"passkeys-error\""));

    // A browser answer that is no credential: the pages say so, in the reader's language.
    let res = anon
        .post(app.url("/login/passkey"))
        .header(reqwest::header::ACCEPT_LANGUAGE, "zh-CN")
        .form(&[("ceremony_id", "not-a-ceremony"), ("credential", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("无法使用该通行密钥"));

    // Removing needs a recent step-up: the step-up page offers the passkey.
    app.clock.advance(time::Duration::minutes(11));
    let res = app
        .post_form(
            &format!("/account/passkeys/{id}/remove"),
            &[("_csrf", app.csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"reauth-passkey\""), "{page}");
    assert!(
        page.contains("name=\"code\""),
        "a recovery code is the fallback"
    );
    let (_, challenge) = app
        .post_json("/api/v1/auth/reauthenticate/passkey/options", &json!({}))
        .await;
    let answer = assert_with(&mut key, &challenge, origin(&app));
    let res = app
        .post_form(
            "/account/reauthenticate/passkey",
            &[
                ("_csrf", app.csrf.as_str()),
                ("return_to", "/account/security"),
                ("ceremony_id", challenge["ceremony_id"].as_str().unwrap()),
                ("credential", &answer.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app
        .post_form(
            &format!("/account/passkeys/{id}/remove"),
            &[("_csrf", app.csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Passkey removed."));
    let (_, list) = app.get_json("/api/v1/account/passkeys").await;
    assert_eq!(list, json!([]));
}

async fn a_passkey_completes_the_enrolment_the_mfa_policy_asks_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app
        .post_json("/api/v1/mfa-policy", &json!({"scope": "everyone"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = app.sign_in_new_user("enrol@example.com").await;
    let (status, body) = user.get_json("/api/v1/contacts").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), Some("second_factor_enrolment_required"));
    let mut key = authenticator();
    let (status, body, _) = register_for(&app, &user, &mut key).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["recovery_codes"].as_array().map(Vec::len), Some(10));
    assert!(
        body["csrf_token"].is_string(),
        "a new, full session: {body}"
    );
    let (status, _) = user.get_json("/api/v1/contacts").await;
    assert_eq!(status, StatusCode::OK);
}

on_both_backends!(
    passkeys_are_registered_named_and_used_as_the_second_factor,
    a_discoverable_passkey_signs_in_without_a_password,
    passkey_step_up_removal_and_admin_reset,
    passkey_names_and_credentials_are_not_stored_in_plaintext,
    passkeys_are_off_when_the_public_url_is_an_ip_address,
    passkey_pages_in_both_languages,
    a_passkey_completes_the_enrolment_the_mfa_policy_asks_for,
);
