//! The command-line contract, exercised through the real binary: exit codes, messages a person
//! can act on, and the first run of `serve`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary with no `CUSTODIAN_*` variables from the caller's environment: they are
/// configuration, and unknown ones are (rightly) rejected.
fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_custodian"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CUSTODIAN_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn custodian(args: &[&str]) -> Output {
    command().args(args).output().expect("run custodian")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn init(dir: &Path) -> Output {
    let password = dir.parent().unwrap().join("admin-password");
    std::fs::write(&password, "a long and memorable passphrase\n").unwrap();
    custodian(&[
        "init",
        "--data-dir",
        dir.to_str().unwrap(),
        "--admin-email",
        "admin@example.com",
        "--admin-password-file",
        password.to_str().unwrap(),
    ])
}

#[test]
fn config_default_prints_valid_commented_toml() {
    let out = custodian(&["config", "default"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("# Custodian configuration"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custodian.toml");
    std::fs::write(&file, &stdout).unwrap();
    let check = custodian(&[
        "config",
        "check",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert_eq!(text(&check.stdout).trim(), "configuration OK");
}

#[test]
fn config_check_names_each_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"everywhere\"\n[password]\nmin_length = 4\n",
    )
    .unwrap();
    let out = custodian(&["config", "check", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("server.listen") && stderr.contains("password.min_length"),
        "{stderr}"
    );

    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:1\"\nlisten_port = 3\n",
    )
    .unwrap();
    let out = custodian(&["config", "check", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("listen_port"),
        "unknown keys are named"
    );

    let out = custodian(&["config", "check", "--config", "/nonexistent/custodian.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("config default"),
        "says how to create one"
    );
}

#[test]
fn unknown_database_scheme_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = custodian(&[
        "serve",
        "--data-dir",
        data.to_str().unwrap(),
        "--database-url",
        "mysql://root@localhost/crm",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("postgres://"),
        "{}",
        text(&out.stderr)
    );
    assert!(!data.exists());
}

#[test]
fn init_token_migrate_demo_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let out = init(&data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("master key file") && stdout.contains("first administrator"),
        "{stdout}"
    );

    let weak = dir.path().join("weak");
    std::fs::write(&weak, "short\n").unwrap();
    let other = dir.path().join("other");
    let out = custodian(&[
        "init",
        "--data-dir",
        other.to_str().unwrap(),
        "--admin-email",
        "a@example.com",
        "--admin-password-file",
        weak.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("password: must be at least 12 characters"),
        "{}",
        text(&out.stderr)
    );

    let again = init(&data);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("not empty"));

    let token = custodian(&[
        "token",
        "create",
        "--data-dir",
        d,
        "--user",
        "admin@example.com",
        "--name",
        "ci",
    ]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let secret = text(&token.stdout);
    assert!(secret.trim().starts_with("cus_t_") && secret.trim().len() > 40);
    let db = std::fs::read(data.join("custodian.db")).unwrap();
    assert!(
        !db.windows(20).any(|w| w == &secret.trim().as_bytes()[..20]),
        "only the hash is stored"
    );

    let unknown = custodian(&[
        "token",
        "create",
        "--data-dir",
        d,
        "--user",
        "nobody@example.com",
        "--name",
        "x",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("user not found"),
        "{}",
        text(&unknown.stderr)
    );

    let migrate = custodian(&["migrate", "--data-dir", d]);
    assert!(migrate.status.success());
    assert!(text(&migrate.stdout).contains("applied 0 migration(s)"));

    let seed = custodian(&["demo", "seed", "--data-dir", d, "--contacts", "40"]);
    assert!(seed.status.success(), "{}", text(&seed.stderr));
    assert!(text(&seed.stdout).contains("40 contacts"));
    assert!(
        text(&seed.stdout).contains("4 tasks"),
        "{}",
        text(&seed.stdout)
    );

    // A mistyped SQLite path is refused, and nothing is created.
    let typo = dir.path().join("data/custodain.db");
    let out = custodian(&[
        "migrate",
        "--data-dir",
        d,
        "--database-url",
        &format!("sqlite://{}", typo.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!typo.exists());

    // The wrong master key: refused with what to do.
    let key = data.join("master.key");
    let original = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let other =
        custodian_crypto::keys::KeyFile::generate(&custodian_crypto::random::SystemRandom).unwrap();
    custodian::datadir::write_private_file(&key, other.to_text().as_bytes(), false).unwrap();
    let out = custodian(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("does not match") && stderr.contains("Restore the key file"),
        "{stderr}"
    );

    // No key file at all.
    std::fs::remove_file(&key).unwrap();
    let out = custodian(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("master key file"),
        "{}",
        text(&out.stderr)
    );
    custodian::datadir::write_private_file(&key, &original, false).unwrap();
}

#[test]
fn first_serve_initialises_and_prints_a_one_time_setup_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = command()
        .args([
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("CUSTODIAN_LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let mut link = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("/setup#code=cus_setup_") {
            link = Some(line.trim().to_owned());
            break;
        }
        seen.push(line);
        assert!(seen.len() < 20, "no setup link in {seen:?}");
    }
    let link = link.expect("setup link");
    let all = seen.join("\n");
    assert!(
        all.contains("created data directory") && all.contains("master key file"),
        "{all}"
    );
    assert!(
        all.contains("Custodian is serving https://127.0.0.1:"),
        "{all}"
    );
    assert!(data.join("tls/cert.pem").is_file() && data.join("custodian.db").is_file());
    let port: u16 = link
        .trim_start_matches("https://localhost:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let cert = std::fs::read(data.join("tls/cert.pem")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
            .build()
            .unwrap();
        client
            .get(format!("https://127.0.0.1:{port}/api/v1/health"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    // The client's kept-alive connection goes with its runtime, so the stop need not wait
    // for it to time out.
    drop(rt);
    // SIGTERM: a graceful stop that checkpoints and closes the database.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.iter().any(|l| l == "stopped"), "{rest:?}");
    let wal = data.join("custodian.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0,
        "the WAL was left with data in it"
    );
}

#[test]
fn environment_and_file_secrets_override_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // Environment beats defaults: a bad value is reported under its key.
    let out = command()
        .args(["config", "check", "--data-dir", d])
        .env("CUSTODIAN_SERVER__LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("server.listen"),
        "{}",
        text(&out.stderr)
    );
    // *_FILE reads the value from a file (for secrets such as a database URL).
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, "mysql://user:hunter2@db/crm\n").unwrap();
    let out = command()
        .args(["config", "check", "--data-dir", d])
        .env("CUSTODIAN_DATABASE__URL_FILE", &secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("database.url"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the secret is not echoed: {stderr}"
    );
    // An unknown CUSTODIAN_ variable is an error, not silently ignored.
    let out = command()
        .args(["config", "check", "--data-dir", d])
        .env("CUSTODIAN_SERVR__LISTEN", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("servr"), "{}", text(&out.stderr));
}
