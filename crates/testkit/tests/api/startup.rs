use custodian::server::{self, InitPolicy, Wiring};
use custodian_core::CoreError;
use custodian_core::secrets::SecretString;
use custodian_testkit::{Backend, PgDatabase, on_both_backends, spawn_app, test_config};
use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn first_run_creates_private_files_and_a_90_day_certificate(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(mode(&app.data_dir), 0o700);
    assert_eq!(mode(&app.data_dir.join("master.key")), 0o600);
    assert_eq!(mode(&app.data_dir.join("tls/key.pem")), 0o600);
    let left = custodian::tls::seconds_until_expiry(
        &app.data_dir.join("tls/cert.pem"),
        custodian_domain::Clock::now(app.clock.as_ref()),
    )
    .unwrap();
    assert!((89 * 86_400..=90 * 86_400).contains(&left), "{left}");
    // The certificate names custodian.localhost and localhost (the tests already use 127.0.0.1).
    let addr: std::net::SocketAddr = app.base_url.trim_start_matches("https://").parse().unwrap();
    let cert = reqwest::Certificate::from_pem(&app.cert_pem).unwrap();
    for host in ["custodian.localhost", "localhost"] {
        let client = reqwest::Client::builder()
            .tls_certs_only([cert.clone()])
            .resolve(host, addr)
            .build()
            .unwrap();
        let res = client
            .get(format!("https://{host}:{}/api/v1/health", addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{host}");
    }
}

async fn fresh_database_url(
    backend: Backend,
    dir: &std::path::Path,
) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.join("custodian.db").display()),
            None,
        ),
        Backend::Postgres => {
            let db = PgDatabase::create().await;
            (db.url.clone(), Some(db))
        }
    }
}

async fn setup_code_is_one_time_and_expires(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (url, _pg) = fresh_database_url(backend, &dir).await;
    let mut config = test_config();
    config.database.url = url;
    let clock = std::sync::Arc::new(custodian_domain::ManualClock::new(
        custodian_domain::Clock::now(&custodian_domain::SystemClock),
    ));
    let wiring = Wiring {
        clock: clock.clone(),
        rng: std::sync::Arc::new(custodian_crypto::random::SystemRandom),
    };
    let db_url = config.database_url(&dir).unwrap();
    let prepared = server::prepare(&dir, &db_url, &config, &wiring, InitPolicy::IfFresh)
        .await
        .unwrap();
    assert!(
        prepared
            .created
            .iter()
            .any(|c| c.contains("master key file"))
    );
    let core = prepared.core;
    assert!(core.needs_setup().await.unwrap());
    let first = core.issue_setup_code().await.unwrap().unwrap();
    let second = core.issue_setup_code().await.unwrap().unwrap();
    let password = || SecretString::from("a long enough passphrase".to_owned());
    let err = core
        .complete_setup(
            &first,
            "root@example.com",
            "Root",
            password(),
            &custodian_core::sessions::ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidSetupCode),
        "a superseded code is dead: {err:?}"
    );
    let err = core
        .complete_setup(
            &second,
            "root@example.com",
            "Root",
            SecretString::from("short".to_owned()),
            &custodian_core::sessions::ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::Validation(ref e) if e[0].code == "password_too_short"),
        "{err:?}"
    );
    let err = core
        .complete_setup(
            &second,
            "root@example.com",
            "Root",
            SecretString::from("root-is-my-password".to_owned()),
            &custodian_core::sessions::ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::Validation(ref e) if e[0].code == "password_contains_context"),
        "{err:?}"
    );
    core.complete_setup(
        &second,
        "root@example.com",
        "Root",
        password(),
        &custodian_core::sessions::ClientInfo::default(),
    )
    .await
    .unwrap();
    let err = core
        .complete_setup(
            &second,
            "other@example.com",
            "Other",
            password(),
            &custodian_core::sessions::ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::InvalidSetupCode), "single use");
    assert!(
        core.issue_setup_code().await.unwrap().is_none(),
        "no codes once an admin exists"
    );
    assert!(!core.needs_setup().await.unwrap());
}

async fn setup_code_expires_after_a_day(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (url, _pg) = fresh_database_url(backend, &dir).await;
    let mut config = test_config();
    config.database.url = url;
    let clock = std::sync::Arc::new(custodian_domain::ManualClock::new(
        custodian_domain::Clock::now(&custodian_domain::SystemClock),
    ));
    let wiring = Wiring {
        clock: clock.clone(),
        rng: std::sync::Arc::new(custodian_crypto::random::SystemRandom),
    };
    let db_url = config.database_url(&dir).unwrap();
    let core = server::prepare(&dir, &db_url, &config, &wiring, InitPolicy::IfFresh)
        .await
        .unwrap()
        .core;
    let code = core.issue_setup_code().await.unwrap().unwrap();
    clock.advance(time::Duration::hours(25));
    assert!(!core.setup_code_is_valid(&code).await.unwrap());
    let err = core
        .complete_setup(
            &code,
            "root@example.com",
            "",
            SecretString::from("a long enough passphrase".to_owned()),
            &custodian_core::sessions::ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::InvalidSetupCode));
}

async fn mistyped_database_never_creates_a_new_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let wiring = Wiring::system();
    let mut config = app.config.clone();
    let typo = match backend {
        Backend::Sqlite => format!("sqlite://{}", app.data_dir.join("custodain.db").display()),
        Backend::Postgres => app.database_url.replace("custodian_t_", "custodian_typo_"),
    };
    config.database.url = typo.clone();
    let url = config.database_url(&app.data_dir).unwrap();
    let err = server::prepare(&app.data_dir, &url, &config, &wiring, InitPolicy::IfFresh)
        .await
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("database"), "{message}");
    assert!(
        !app.data_dir.join("custodain.db").exists(),
        "no new SQLite file from a typo"
    );

    config.database.url = "mysql://root@localhost/crm".to_owned();
    let err = config.database_url(&app.data_dir).unwrap_err();
    assert!(format!("{err:#}").contains("postgres://"), "{err:#}");
    assert!(
        config
            .problems()
            .iter()
            .any(|p| p.starts_with("database.url"))
    );

    // `init` refuses a directory that is already in use.
    let err = server::prepare(
        &app.data_dir,
        &app.config.database_url(&app.data_dir).unwrap(),
        &app.config,
        &wiring,
        InitPolicy::MustBeFresh,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("not empty"));
}

on_both_backends!(
    first_run_creates_private_files_and_a_90_day_certificate,
    setup_code_is_one_time_and_expires,
    setup_code_expires_after_a_day,
    mistyped_database_never_creates_a_new_one,
);
