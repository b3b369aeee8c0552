//! A real OpenID Provider for the single sign-on tests: npm's `oidc-provider` (OpenID
//! Certified) run with Node from `crates/testkit/oidc` (installed by `scripts/test`: `npm ci`).

#![allow(clippy::disallowed_methods)] // waiting for the provider's port uses the real clock

use custodian::config::Config;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CLIENT_ID: &str = "custodian-test";
pub const CLIENT_SECRET: &str = "test-only-client-secret-8c1f";

/// The provider process; stopped when dropped.
#[derive(Debug)]
pub struct OidcProvider {
    child: Child,
    pub port: u16,
}

impl OidcProvider {
    /// A port for the provider, chosen before the server under test starts (which must know the
    /// issuer) and before the provider starts (which must know the server's redirect URI).
    pub fn reserve_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port()
    }

    pub fn issuer(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    /// Points the server's `[oidc]` at a provider on `port`.
    pub fn configure(port: u16, config: &mut Config) {
        config.oidc.issuer = Self::issuer(port);
        config.oidc.client_id = CLIENT_ID.to_owned();
        config.oidc.client_secret = CLIENT_SECRET.to_owned();
        config.oidc.label = "Example SSO".to_owned();
    }

    /// Starts the provider on `port`, sending people back to `redirect_uri`, with `accounts`
    /// (subject → claims).
    pub fn start(port: u16, redirect_uri: &str, accounts: &serde_json::Value) -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed: run `npm ci --prefix crates/testkit/oidc` (scripts/test does)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", redirect_uri)
            .env("ACCOUNTS", accounts.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node (Debian package nodejs) must be installed");
        let stdout = child.stdout.take().expect("provider stdout");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut lines = BufReader::new(stdout).lines();
        loop {
            assert!(
                Instant::now() < deadline,
                "the OpenID provider did not start"
            );
            match lines.next() {
                Some(Ok(line)) if line.trim() == "ready" => break,
                Some(Ok(_)) => {}
                _ => panic!("the OpenID provider exited"),
            }
        }
        Self { child, port }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
