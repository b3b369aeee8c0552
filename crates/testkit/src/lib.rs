//! `spawn_app()`: the real server (real TLS, real database) on port 0 with a fresh database per
//! test — a SQLite file in a temporary directory, or a new PostgreSQL database that is dropped
//! afterwards — plus a client that is already signed in as the first administrator.
//!
//! PostgreSQL comes from `TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). If it is unreachable the PostgreSQL tests fail;
//! they never skip.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod oidc;
pub mod outbound;

use custodian::config::Config;
use custodian::server::{self, InitPolicy, RunningServer, Wiring};
use custodian_core::Core;
use custodian_core::secrets::SecretString;
use custodian_crypto::random::SystemRandom;
use custodian_domain::{Clock, ManualClock, SystemClock};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

pub const ADMIN_EMAIL: &str = "admin@custodian.test";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple 7";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh PostgreSQL database, dropped (with FORCE) when this value is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        use sqlx::Connection;
        let admin = pg_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is unreachable at {admin} ({e}); start it (see .ci/run) — the PostgreSQL suite never skips")
        });
        let name = format!("custodian_t_{}", uuid::Uuid::new_v4().simple());
        // The name is generated from a UUID's hex digits: no injection possible.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async context guarantees: use a private runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            }
        })
        .join();
    }
}

#[derive(Debug)]
pub struct TestApp {
    pub backend: Backend,
    pub base_url: String,
    /// Signed in as the first administrator (cookie session).
    pub client: reqwest::Client,
    /// Same trust, no cookies: for unauthenticated and bearer-token calls.
    pub anon: reqwest::Client,
    pub csrf: String,
    pub clock: Arc<ManualClock>,
    pub core: Core,
    pub config: Config,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub cert_pem: Vec<u8>,
    server: Option<RunningServer>,
    pub pg: Option<PgDatabase>,
    // Declared last: dropped after the server stopped using it.
    pub tmp: tempfile::TempDir,
}

pub fn test_config() -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".to_owned();
    config.log.level = "warn".to_owned();
    // Small expected size: a test's handful of rows still get meaningful truncation.
    config.search.expected_rows = 1_000_000;
    // Throttled sign-ins answer at once in tests (one test checks the real delay).
    config.login.throttled_delay_ms = 0;
    // The monitor runs in every test, but quietly: off-hours alerts would come and go with the
    // hour of the run, every user a test creates would be a "role granted" alert in the
    // administrator's notifications, and tests that present ended sessions on purpose would
    // see the user's other sessions ended. The monitoring tests turn these on themselves.
    config.monitor.rules.off_hours_enabled = false;
    config.monitor.rules.privilege_escalation = false;
    config.monitor.rules.ended_session_action = custodian_core::monitor::rules::RuleAction::None;
    config
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, test_config()).await
}

/// A server on a fresh data directory with no user yet, as `custodian serve` leaves it on its
/// first run, and the one-time setup code it would print.
pub async fn spawn_unconfigured(backend: Backend) -> (TestApp, SecretString) {
    let mut app = launch(backend, test_config(), false).await;
    let code = app
        .core
        .issue_setup_code()
        .await
        .expect("setup code")
        .expect("no user exists yet");
    app.csrf.clear();
    (app, code)
}

pub async fn spawn_app_with(backend: Backend, config: Config) -> TestApp {
    launch(backend, config, true).await
}

/// Server warnings and errors appear in the failing test's output (the test harness captures
/// the rest).
fn init_test_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_test_writer()
        .try_init();
}

async fn launch(backend: Backend, mut config: Config, with_admin: bool) -> TestApp {
    init_test_logging();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data_dir = tmp.path().join("data");
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgDatabase::create().await),
    };
    let database_url = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", data_dir.join("custodian.db").display()),
    };
    config.database.url = database_url.clone();
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let wiring = Wiring {
        clock: clock.clone(),
        rng: Arc::new(SystemRandom),
    };
    let url = config.database_url(&data_dir).expect("database url");
    let prepared = server::prepare(&data_dir, &url, &config, &wiring, InitPolicy::MustBeFresh)
        .await
        .expect("prepare");
    if with_admin {
        prepared
            .core
            .create_first_admin(ADMIN_EMAIL, SecretString::from(ADMIN_PASSWORD.to_owned()))
            .await
            .expect("first admin");
    }
    let core = prepared.core.clone();
    let listen = config.server.listen.parse().expect("listen");
    let server = server::start(prepared.core, &config, &data_dir, listen)
        .await
        .expect("start server");
    let cert_pem = std::fs::read(data_dir.join("tls/cert.pem")).expect("cert");
    let base_url = format!("https://127.0.0.1:{}", server.addr.port());
    let client = client(&cert_pem, true);
    let anon = client_without_cookies(&cert_pem);
    let mut app = TestApp {
        backend,
        base_url,
        client,
        anon,
        csrf: String::new(),
        clock,
        core,
        config,
        database_url,
        data_dir,
        cert_pem,
        server: Some(server),
        pg,
        tmp,
    };
    if !with_admin {
        return app;
    }
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login request");
    assert_eq!(login.status(), StatusCode::OK, "admin login");
    let body: Value = login.json().await.expect("login body");
    app.csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    app
}

/// A client that trusts only the server's own certificate: real TLS verification, no
/// "accept invalid certificates".
pub fn client(cert_pem: &[u8], cookies: bool) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(cert_pem).expect("certificate");
    reqwest::Client::builder()
        .tls_certs_only([cert])
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Sends a page request in the given `Accept-Language`: status and HTML.
async fn page_in(request: RequestBuilder, lang: &str) -> (StatusCode, String) {
    let res = request
        .header(reqwest::header::ACCEPT_LANGUAGE, lang)
        .send()
        .await
        .expect("send");
    let status = res.status();
    (status, res.text().await.expect("body"))
}

/// The id of a pipeline's stage at `index`.
pub fn stage_id(pipeline: &Value, index: usize) -> String {
    pipeline["stages"][index]["id"]
        .as_str()
        .expect("stage id")
        .to_owned()
}

/// The stable code of an API error: the first field error's, else the error's own.
pub fn error_code(body: &Value) -> Option<&str> {
    body["details"][0]["code"]
        .as_str()
        .or_else(|| body["code"].as_str())
}

pub fn client_without_cookies(cert_pem: &[u8]) -> reqwest::Client {
    client(cert_pem, false)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request with the session cookie and, for state changes, the CSRF header.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let needs_csrf = !matches!(method, Method::GET | Method::HEAD);
        let mut rb = self.client.request(method, self.url(path));
        if needs_csrf {
            rb = rb.header("x-csrf-token", &self.csrf);
        }
        rb
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        split(self.request(Method::GET, path).send().await.expect("send")).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        split(
            self.request(Method::POST, path)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        split(
            self.request(Method::PATCH, path)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        split(
            self.request(Method::DELETE, path)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// A UI page in the given `Accept-Language`: status and HTML.
    pub async fn html(&self, path: &str, lang: &str) -> (StatusCode, String) {
        page_in(self.client.get(self.url(path)), lang).await
    }

    /// Posts a UI form (the caller includes `_csrf`); redirects are not followed.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header(reqwest::header::ACCEPT_LANGUAGE, "en")
            .form(form)
            .send()
            .await
            .expect("send")
    }

    /// Posts a CSV import (multipart: `file` plus the given text fields) and returns the
    /// status and JSON answer.
    pub async fn import_contacts(
        &self,
        file: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(file)
                .file_name("contacts.csv")
                .mime_str("text/csv")
                .expect("mime"),
        );
        for (name, value) in fields {
            form = form.text((*name).to_owned(), (*value).to_owned());
        }
        split(
            self.request(Method::POST, "/api/v1/imports/contacts")
                .multipart(form)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// Creates a contact and returns its JSON.
    pub async fn create_contact(&self, body: Value) -> Value {
        let (status, json) = self.post_json("/api/v1/contacts", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json
    }

    pub async fn create_company(&self, body: Value) -> Value {
        let (status, json) = self.post_json("/api/v1/companies", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json
    }

    /// Creates a pipeline with `(name, probability)` stages and returns its JSON.
    pub async fn create_pipeline(&self, name: &str, stages: &[(&str, i64)]) -> Value {
        let stages: Vec<Value> = stages
            .iter()
            .map(|(n, p)| serde_json::json!({"name": n, "probability": p}))
            .collect();
        let (status, body) = self
            .post_json(
                "/api/v1/pipelines",
                &serde_json::json!({"name": name, "stages": stages}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn create_deal(&self, body: Value) -> Value {
        let (status, json) = self.post_json("/api/v1/deals", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json
    }

    /// Creates an active user who may work with every record (`all_records`) and signs them in
    /// with a client of their own.
    pub async fn sign_in_new_user(&self, email: &str) -> OtherUser {
        self.sign_in_with_roles(email, &["all_records"], None, None)
            .await
    }

    /// Creates an active user with `roles`, a team and a region, and signs them in.
    pub async fn sign_in_with_roles(
        &self,
        email: &str,
        roles: &[&str],
        team: Option<&str>,
        region: Option<&str>,
    ) -> OtherUser {
        let admin = self.core.cli_actor().await.expect("admin actor");
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let id = self
            .core
            .create_user(
                &admin,
                email,
                "",
                &roles,
                SecretString::from(ADMIN_PASSWORD.to_owned()),
            )
            .await
            .expect("create user");
        if team.is_some() || region.is_some() {
            self.core
                .set_user_attributes(
                    &admin,
                    id,
                    custodian_core::users::UserAttributes {
                        team: team.map(str::to_owned),
                        department: None,
                        region: region.map(str::to_owned),
                    },
                )
                .await
                .expect("user attributes");
        }
        let client = client(&self.cert_pem, true);
        let login = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("login request");
        assert_eq!(login.status(), StatusCode::OK, "user login");
        let body: Value = login.json().await.expect("login body");
        OtherUser {
            id: id.to_string(),
            client,
            csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
            base_url: self.base_url.clone(),
        }
    }

    /// A sign-in attempt for `email` with a wrong password (refused with 401).
    pub async fn wrong_password(&self, email: &str) {
        let res = self
            .anon
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": "not the password"}))
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a wrong password");
    }

    /// Step-up of the administrator's session with the password ("confirm it is you").
    pub async fn reauthenticate(&self) {
        let (status, body) = self
            .post_json(
                "/api/v1/auth/reauthenticate",
                &serde_json::json!({ "password": ADMIN_PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "step-up: {body}");
    }

    /// Runs raw SQL against the test database (to simulate tampering or inspect storage).
    pub async fn sql(&self, sql: &str) {
        use custodian_store::ConnectionTrait;
        self.core
            .store()
            .writer()
            .execute_unprepared(sql)
            .await
            .expect("sql");
    }

    /// A second server process on the same database and key file (PostgreSQL: what a cluster
    /// node is), with its own memory and the same clock. Stop it with `shutdown`.
    pub async fn second_server(&self) -> (String, RunningServer) {
        let wiring = Wiring {
            clock: self.clock.clone(),
            rng: Arc::new(SystemRandom),
        };
        let url = self
            .config
            .database_url(&self.data_dir)
            .expect("database url");
        let prepared = server::prepare(
            &self.data_dir,
            &url,
            &self.config,
            &wiring,
            InitPolicy::Never,
        )
        .await
        .expect("prepare second server");
        let listen = self.config.server.listen.parse().expect("listen");
        let server = server::start(prepared.core, &self.config, &self.data_dir, listen)
            .await
            .expect("start second server");
        (format!("https://127.0.0.1:{}", server.addr.port()), server)
    }

    /// Stops the server (graceful), keeping the data directory and database.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("shutdown");
        }
    }
}

/// The `Location` of a redirect.
pub fn location(response: &Response) -> String {
    response.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned()
}

/// Another signed-in user of the same server.
#[derive(Debug)]
pub struct OtherUser {
    pub id: String,
    pub client: reqwest::Client,
    pub csrf: String,
    base_url: String,
}

impl OtherUser {
    /// The same signed-in user talking to another server of the same installation (the
    /// session cookie is valid on every server sharing the database).
    pub fn on(&self, base_url: &str) -> OtherUser {
        OtherUser {
            id: self.id.clone(),
            client: self.client.clone(),
            csrf: self.csrf.clone(),
            base_url: base_url.to_owned(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let needs_csrf = !matches!(method, Method::GET | Method::HEAD);
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        if needs_csrf {
            rb = rb.header("x-csrf-token", &self.csrf);
        }
        rb
    }

    /// A UI page in the given `Accept-Language`: status and HTML.
    pub async fn html(&self, path: &str, lang: &str) -> (StatusCode, String) {
        page_in(self.request(Method::GET, path), lang).await
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        split(self.request(Method::GET, path).send().await.expect("send")).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        split(
            self.request(Method::POST, path)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        split(
            self.request(Method::PATCH, path)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        split(
            self.request(Method::DELETE, path)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// Step-up of this user's session with the password.
    pub async fn reauthenticate(&self) {
        let (status, body) = self
            .post_json(
                "/api/v1/auth/reauthenticate",
                &serde_json::json!({ "password": ADMIN_PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "step-up: {body}");
    }
}

pub async fn split(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// Generates `#[tokio::test]`s running each listed `async fn(Backend)` on SQLite and on
/// PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await;
                }
            )+
        }
    };
}
