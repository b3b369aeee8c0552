//! Real receivers for what the server sends: an SMTP server (Debian's `python3-aiosmtpd`, with
//! STARTTLS required, delivering into a maildir) and an HTTP endpoint standing in for an SMS
//! gateway's webhook. Tests read what arrived, as a person or a gateway would.

// Waiting on outside processes is wall-clock time, not the server's (injected) clock.
#![allow(clippy::disallowed_methods)]

use custodian::config::Config;
use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The interpreter Debian's `python3-aiosmtpd` is installed for (a pyenv `python3` earlier in
/// `PATH` would not see it).
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// One delivered e-mail, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A local SMTP server that requires STARTTLS with its own certificate (which the server under
/// test is told to trust through `mail.ca_file`).
#[derive(Debug)]
pub struct MailSink {
    child: Child,
    port: u16,
    maildir: PathBuf,
    cert: PathBuf,
    seen: Mutex<HashSet<PathBuf>>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl MailSink {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        custodian::tls::write_self_signed(dir.path(), time::OffsetDateTime::now_utc())
            .expect("SMTP certificate");
        let (cert, key) = custodian::tls::self_signed_paths(dir.path());
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let child = Command::new(SYSTEM_PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--tlscert")
            .arg(&cert)
            .arg("--tlskey")
            .arg(&key)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (Debian package python3-aiosmtpd; scripts/test installs it)");
        wait_for_port(port);
        Self {
            child,
            port,
            maildir,
            cert,
            seen: Mutex::default(),
            _dir: dir,
        }
    }

    /// Points the server's `[mail]` settings at this sink.
    pub fn configure(&self, config: &mut Config) {
        config.mail.smtp_host = "localhost".to_owned();
        config.mail.smtp_port = self.port;
        config.mail.security = "starttls".to_owned();
        config.mail.ca_file = self.cert.display().to_string();
        config.mail.from = "Custodian <no-reply@custodian.test>".to_owned();
    }

    /// Messages delivered so far that no earlier call returned.
    pub fn take_new(&self) -> Vec<Mail> {
        let mut seen = self.seen.lock().expect("seen");
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return out;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if seen.insert(path.clone()) {
                out.push(parse_mail(&path));
            }
        }
        out
    }

    /// Waits (up to 20 s) for the next message to `to`.
    pub async fn wait_for(&self, to: &str) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut pending = Vec::new();
        loop {
            pending.extend(self.take_new());
            if let Some(i) = pending.iter().position(|m: &Mail| m.to.contains(to)) {
                return pending.remove(i);
            }
            assert!(Instant::now() < deadline, "no e-mail to {to} arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 20 s) for the next message to `to` whose subject contains `subject`,
    /// passing over others (a security alert mailed to the same administrator).
    pub async fn wait_for_subject(&self, to: &str, subject: &str) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(mail) = self
                .take_new()
                .into_iter()
                .find(|m| m.to.contains(to) && m.subject.contains(subject))
            {
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "no e-mail to {to} about {subject} arrived"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits briefly and asserts nothing new arrived for `to`.
    pub async fn assert_nothing_for(&self, to: &str) {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let arrived: Vec<Mail> = self
            .take_new()
            .into_iter()
            .filter(|m| m.to.contains(to))
            .collect();
        assert!(arrived.is_empty(), "unexpected e-mail to {to}: {arrived:?}");
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_mail(path: &Path) -> Mail {
    let raw = std::fs::read_to_string(path).expect("read mail");
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    // Unfold continued header lines.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = match header("Content-Transfer-Encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => {
            use base64::Engine as _;
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .expect("base64 body"),
            )
            .expect("utf-8 body")
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.to_owned(),
    };
    Mail {
        to: header("To"),
        subject: decode_encoded_words(&header("Subject")),
        body,
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 body")
}

/// RFC 2047 `=?utf-8?b?…?=` words (Chinese subjects).
fn decode_encoded_words(text: &str) -> String {
    use base64::Engine as _;
    text.split_whitespace()
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            if lower.starts_with("=?utf-8?b?") && word.ends_with("?=") {
                let inner = &word[10..word.len() - 2];
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(inner)
                        .unwrap_or_default(),
                )
                .unwrap_or_default()
            } else {
                format!("{word} ")
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The first run of six digits in `text` (a sent code).
pub fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .enumerate()
        .find(|(i, w)| {
            w.iter().all(char::is_ascii_digit)
                && (*i == 0 || !chars[i - 1].is_ascii_digit())
                && chars.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
        })
        .map(|(_, w)| w.iter().collect())
        .expect("a six-digit code in the message")
}

/// The token after `#token=` in an e-mailed link.
pub fn link_token(body: &str) -> String {
    let start = body.find("#token=").expect("a link with a token") + "#token=".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// One request the SMS webhook received.
#[derive(Debug, Clone)]
pub struct ReceivedSms {
    pub authorization: Option<String>,
    pub to: String,
    pub message: String,
}

/// A local HTTP endpoint standing in for an SMS provider's webhook. It answers 200, or the
/// status set with [`SmsReceiver::respond_with`].
#[derive(Debug, Clone)]
pub struct SmsReceiver {
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedSms>>>,
    status: Arc<Mutex<u16>>,
}

pub const SMS_WEBHOOK_TOKEN: &str = "test-sms-gateway-token";

impl SmsReceiver {
    pub async fn start() -> Self {
        use axum::extract::State;
        use axum::http::{HeaderMap, StatusCode};
        type Shared = (Arc<Mutex<Vec<ReceivedSms>>>, Arc<Mutex<u16>>);
        async fn receive(
            State((received, status)): State<Shared>,
            headers: HeaderMap,
            axum::Json(body): axum::Json<serde_json::Value>,
        ) -> StatusCode {
            let code = *status.lock().expect("status");
            if code == 200 {
                received.lock().expect("received").push(ReceivedSms {
                    authorization: headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    to: body["to"].as_str().unwrap_or_default().to_owned(),
                    message: body["message"].as_str().unwrap_or_default().to_owned(),
                });
            }
            StatusCode::from_u16(code).expect("status")
        }
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200));
        let app = axum::Router::new()
            .route("/sms", axum::routing::post(receive))
            .with_state((received.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMS receiver");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/sms"),
            received,
            status,
        }
    }

    pub fn configure(&self, config: &mut Config) {
        config.sms.provider = "webhook".to_owned();
        config.sms.webhook_url = self.url.clone();
        config.sms.webhook_token = SMS_WEBHOOK_TOKEN.to_owned();
    }

    /// The status the next requests are answered with (200 records them).
    pub fn respond_with(&self, status: u16) {
        *self.status.lock().expect("status") = status;
    }

    pub fn received(&self) -> Vec<ReceivedSms> {
        self.received.lock().expect("received").clone()
    }

    /// Waits (up to 10 s) for message number `n` (counting from 1).
    pub async fn wait_for_count(&self, n: usize) -> ReceivedSms {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(sms) = self.received().get(n - 1) {
                return sms.clone();
            }
            assert!(Instant::now() < deadline, "SMS number {n} did not arrive");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// One POST the alert webhook received: the signature header and the raw body.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

/// A local HTTP endpoint receiving the monitor's signed alert webhooks (a SIEM or on-call
/// tool's stand-in). It answers 200, or the status set with [`WebhookReceiver::respond_with`].
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedWebhook>>>,
    status: Arc<Mutex<u16>>,
}

pub const ALERT_WEBHOOK_SECRET: &str = "test-alert-webhook-secret";

impl WebhookReceiver {
    pub async fn start() -> Self {
        use axum::extract::State;
        use axum::http::{HeaderMap, StatusCode};
        type Shared = (Arc<Mutex<Vec<ReceivedWebhook>>>, Arc<Mutex<u16>>);
        async fn receive(
            State((received, status)): State<Shared>,
            headers: HeaderMap,
            body: axum::body::Bytes,
        ) -> StatusCode {
            let code = *status.lock().expect("status");
            if code == 200 {
                received.lock().expect("received").push(ReceivedWebhook {
                    signature: headers
                        .get("custodian-signature")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    body: body.to_vec(),
                });
            }
            StatusCode::from_u16(code).expect("status")
        }
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200));
        let app = axum::Router::new()
            .route("/alerts", axum::routing::post(receive))
            .with_state((received.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind webhook receiver");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/alerts"),
            received,
            status,
        }
    }

    pub fn configure(&self, config: &mut Config) {
        config.monitor.webhook_url = self.url.clone();
        config.monitor.webhook_secret = ALERT_WEBHOOK_SECRET.to_owned();
    }

    /// The status the next requests are answered with (200 records them).
    pub fn respond_with(&self, status: u16) {
        *self.status.lock().expect("status") = status;
    }

    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.received.lock().expect("received").clone()
    }
}

/// Debian's rsyslog, receiving RFC 5425 syslog over TLS (its GnuTLS driver, anonymous client
/// authentication) on a free port and writing what arrives to a file: MSGID, structured data
/// and message, one line each.
#[derive(Debug)]
pub struct SyslogReceiver {
    child: Child,
    port: u16,
    cert: PathBuf,
    received: PathBuf,
    _dir: tempfile::TempDir,
}

impl SyslogReceiver {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        custodian::tls::write_self_signed(dir.path(), time::OffsetDateTime::now_utc())
            .expect("syslog certificate");
        let (cert, key) = custodian::tls::self_signed_paths(dir.path());
        let work = dir.path().join("work");
        std::fs::create_dir(&work).expect("work dir");
        let received = dir.path().join("received.log");
        let port = free_port();
        let conf = dir.path().join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{work}"
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile="{cert}"
       DefaultNetstreamDriverCertFile="{cert}"
       DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" port="{port}" address="127.0.0.1")
template(name="fields" type="string" string="%msgid% %structured-data% %msg%\n")
action(type="omfile" file="{received}" template="fields")
"#,
                work = work.display(),
                cert = cert.display(),
                key = key.display(),
                received = received.display(),
            ),
        )
        .expect("rsyslog.conf");
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rsyslogd (Debian packages rsyslog and rsyslog-gnutls; scripts/test installs them)");
        wait_for_port(port);
        Self {
            child,
            port,
            cert,
            received,
            _dir: dir,
        }
    }

    /// Points the server's `[siem]` syslog feed at this receiver (TLS, its certificate trusted).
    pub fn configure(&self, config: &mut Config) {
        config.siem.syslog_address = format!("127.0.0.1:{}", self.port);
        config.siem.syslog_server_name = "localhost".to_owned();
        config.siem.syslog_ca_file = self.cert.display().to_string();
        config.siem.syslog_tls = true;
    }

    /// The lines received so far.
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.received)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits (up to 20 s) until a received line passes `accept`.
    pub async fn wait_for(&self, accept: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| accept(l)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no such syslog line: {:?}",
                self.lines()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SyslogReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
