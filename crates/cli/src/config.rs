//! Configuration: built-in defaults → TOML file → `CUSTODIAN_*` environment → command-line
//! flags. Unknown keys are rejected so a typo is an error, not a silently ignored setting.
//! Secrets may come from files (`CUSTODIAN_DATABASE__URL_FILE=/run/secrets/db`).

use anyhow::{Context, bail};
use custodian_core::CoreSettings;
use custodian_crypto::password::PasswordParams;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub tls: TlsConfig,
    pub session: SessionConfig,
    pub login: LoginConfig,
    pub api_tokens: ApiTokensConfig,
    pub password: PasswordConfig,
    pub search: SearchConfig,
    pub crypto: CryptoConfig,
    pub authorization: AuthorizationConfig,
    pub audit: AuditConfig,
    pub monitor: MonitorConfig,
    pub siem: SiemConfig,
    pub users: UsersConfig,
    pub mail: MailConfig,
    pub sms: SmsConfig,
    pub oidc: OidcConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// The address people use to reach the server: links in e-mails and printed links point at
    /// it, and its host name is the passkeys' relying party. Empty: `https://localhost:<port>`.
    pub public_url: String,
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Empty: SQLite file `custodian.db` inside the data directory.
    pub url: String,
    /// SQLite: idle read-only connections kept (more open on demand; writes always use one);
    /// PostgreSQL: the pool size;
    /// 0 = the backend's default (4 and 16).
    pub pool_size: u32,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("DatabaseConfig")
            .field("url", &"[REDACTED]")
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain. Empty: a self-signed certificate kept in the data directory.
    pub cert_file: String,
    /// PEM private key for `cert_file`.
    pub key_file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub idle_timeout_secs: i64,
    pub absolute_timeout_secs: i64,
    pub max_per_user: usize,
    pub reauth_window_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    pub lockout_threshold: i64,
    pub lockout_secs: i64,
    pub throttled_delay_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiTokensConfig {
    pub max_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UsersConfig {
    pub invitation_ttl_hours: i64,
}

/// Outgoing e-mail (codes, invitations, password resets, task notifications). No host: off.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls` (required, never optional) or `tls` (implicit TLS, port 465).
    pub security: String,
    pub username: String,
    pub password: String,
    pub from: String,
    /// A PEM CA certificate to trust besides the system's (a private relay).
    pub ca_file: String,
    pub timeout_secs: u64,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("security", &self.security)
            .field("password", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Outgoing text messages (codes). `none` (default), `webhook` or `file` (development).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub provider: String,
    pub webhook_url: String,
    pub webhook_token: String,
    /// For `file`: where messages are appended. Empty: `sms-outbox.jsonl` in the data directory.
    pub file_path: String,
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("provider", &self.provider)
            .field("webhook_token", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Single sign-on with an OpenID Connect provider. No issuer: off.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The button reads "Sign in with <label>".
    pub label: String,
    /// `acr` values that mean the provider did multi-factor authentication.
    pub mfa_acr_values: Vec<String>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: 587,
            security: "starttls".to_owned(),
            username: String::new(),
            password: String::new(),
            from: "Custodian <no-reply@localhost>".to_owned(),
            ca_file: String::new(),
            timeout_secs: 15,
        }
    }
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: "none".to_owned(),
            webhook_url: String::new(),
            webhook_token: String::new(),
            file_path: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub min_length: usize,
    pub reset_link_minutes: i64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    pub expected_rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CryptoConfig {
    pub data_key_cache_size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizationConfig {
    /// A policy change needs a second administrator's approval.
    pub two_person_policy_changes: bool,
    /// An export of more than `bulk_export_rows` records needs another person's approval.
    pub bulk_export_approval: bool,
    pub bulk_export_rows: u64,
    /// How long an approved export can be downloaded.
    pub bulk_export_download_hours: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The Ed25519 key that signs checkpoints. Empty: `audit-signing.key` in the data
    /// directory (created on the first start).
    pub signing_key_file: String,
    /// Signed checkpoints, one JSON line each, outside the database. Empty:
    /// `audit-checkpoints.jsonl` in the data directory.
    pub checkpoint_file: String,
    pub checkpoint_every_events: u64,
    pub checkpoint_every_secs: u64,
    /// This server's name in events. Empty: the host name.
    pub node: String,
    /// Days events are kept before pruning (below a signed checkpoint); 0: for ever.
    pub retention_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            signing_key_file: String::new(),
            checkpoint_file: String::new(),
            checkpoint_every_events: custodian_core::audit::checkpoints::DEFAULT_EVERY_EVENTS,
            checkpoint_every_secs: custodian_core::audit::checkpoints::DEFAULT_EVERY.as_secs(),
            node: String::new(),
            retention_days: custodian_core::audit::retention::DEFAULT_RETENTION_DAYS,
        }
    }
}

impl AuditConfig {
    pub fn signing_key_path(&self, data_dir: &Path) -> PathBuf {
        if self.signing_key_file.is_empty() {
            data_dir.join("audit-signing.key")
        } else {
            PathBuf::from(&self.signing_key_file)
        }
    }

    pub fn checkpoint_path(&self, data_dir: &Path) -> PathBuf {
        if self.checkpoint_file.is_empty() {
            data_dir.join("audit-checkpoints.jsonl")
        } else {
            PathBuf::from(&self.checkpoint_file)
        }
    }

    /// The retention period, or why it is refused.
    pub fn retention(&self) -> Result<custodian_core::audit::retention::Retention, String> {
        custodian_core::audit::retention::Retention::from_days(self.retention_days)
            .map_err(|e| format!("audit.retention_days: {e}"))
    }

    /// The configured node name, else the host name.
    pub fn node_name(&self) -> String {
        if !self.node.is_empty() {
            return custodian_domain::audit::sanitize(&self.node, 64);
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| custodian_domain::audit::sanitize(h.trim(), 64))
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "custodian".to_owned())
    }
}

/// Real-time monitoring of the audit stream: rules, alerts, the signed webhook.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    pub enabled: bool,
    /// Verify the whole audit log this often; 0: only on demand.
    pub verify_every_mins: u64,
    /// Alerts are also posted here, signed with `webhook_secret`. Empty: no webhook.
    pub webhook_url: String,
    pub webhook_secret: String,
    pub rules: custodian_core::monitor::rules::RuleSettings,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            verify_every_mins: 60,
            webhook_url: String::new(),
            webhook_secret: String::new(),
            rules: custodian_core::monitor::rules::RuleSettings::default(),
        }
    }
}

impl std::fmt::Debug for MonitorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorConfig")
            .field("enabled", &self.enabled)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl MonitorConfig {
    fn webhook(&self) -> Result<Option<custodian_core::monitor::webhook::WebhookTarget>, String> {
        if self.webhook_url.is_empty() {
            return Ok(None);
        }
        custodian_core::monitor::webhook::WebhookTarget::new(
            &self.webhook_url,
            secrecy::SecretString::from(self.webhook_secret.clone()),
        )
        .map(Some)
    }

    /// The monitor's settings, when it is enabled.
    pub fn settings(&self) -> anyhow::Result<Option<custodian_core::monitor::MonitorSettings>> {
        if !self.enabled {
            return Ok(None);
        }
        Ok(Some(custodian_core::monitor::MonitorSettings {
            rules: self.rules.clone(),
            verify_every: (self.verify_every_mins > 0)
                .then(|| std::time::Duration::from_secs(self.verify_every_mins.saturating_mul(60))),
            webhook: self
                .webhook()
                .map_err(|e| anyhow::anyhow!("monitor.webhook_url: {e}"))?,
        }))
    }
}

/// Feeds of the audit log to a SIEM.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SiemConfig {
    /// Every audit event as a JSON line, appended here. Empty: off.
    pub jsonl_file: String,
    /// An RFC 5424 syslog receiver, `host:port`. Empty: off.
    pub syslog_address: String,
    /// TLS (RFC 5425). Off only for a relay on a trusted network.
    pub syslog_tls: bool,
    /// The name the receiver's certificate must carry. Empty: the host of `syslog_address`.
    pub syslog_server_name: String,
    /// PEM CA certificate(s) to trust for the receiver. Empty: the system's roots.
    pub syslog_ca_file: String,
    /// Syslog facility, 0–23 (13: log audit).
    pub syslog_facility: u8,
}

impl Default for SiemConfig {
    fn default() -> Self {
        Self {
            jsonl_file: String::new(),
            syslog_address: String::new(),
            syslog_tls: true,
            syslog_server_name: String::new(),
            syslog_ca_file: String::new(),
            syslog_facility: custodian_core::audit::siem::DEFAULT_FACILITY,
        }
    }
}

impl SiemConfig {
    /// The feeds' settings.
    pub fn settings(&self) -> Result<custodian_core::audit::siem::SiemSettings, String> {
        use custodian_core::audit::siem::{SiemSettings, SyslogTarget};
        if self.syslog_facility > 23 {
            return Err("siem.syslog_facility: between 0 and 23".to_owned());
        }
        let syslog = if self.syslog_address.is_empty() {
            None
        } else if self.syslog_tls {
            let host = self
                .syslog_address
                .rsplit_once(':')
                .map_or("", |(h, _)| h.trim_start_matches('[').trim_end_matches(']'));
            let name = if self.syslog_server_name.is_empty() {
                host
            } else {
                &self.syslog_server_name
            };
            let ca = (!self.syslog_ca_file.is_empty()).then(|| Path::new(&self.syslog_ca_file));
            Some(
                SyslogTarget::tls(&self.syslog_address, name, ca, self.syslog_facility)
                    .map_err(|e| format!("siem.syslog_*: {e}"))?,
            )
        } else {
            Some(
                SyslogTarget::plain(&self.syslog_address, self.syslog_facility)
                    .map_err(|e| format!("siem.syslog_address: {e}"))?,
            )
        };
        Ok(SiemSettings {
            jsonl_file: (!self.jsonl_file.is_empty()).then(|| PathBuf::from(&self.jsonl_file)),
            syslog,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `json` (default, for log shippers) or `pretty`.
    pub format: String,
    /// A tracing filter such as `info` or `custodian=debug,info`.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        let core = CoreSettings::default();
        Self {
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            tls: TlsConfig::default(),
            session: SessionConfig {
                idle_timeout_secs: core.session_idle_secs,
                absolute_timeout_secs: core.session_absolute_secs,
                max_per_user: core.session_max_per_user,
                reauth_window_secs: core.reauth_window_secs,
            },
            login: LoginConfig {
                lockout_threshold: core.login_lockout_threshold,
                lockout_secs: core.login_lockout_secs,
                throttled_delay_ms: core.login_throttled_delay_ms,
            },
            api_tokens: ApiTokensConfig {
                max_days: core.api_token_max_days,
            },
            users: UsersConfig {
                invitation_ttl_hours: core.invitation_ttl_secs / 3600,
            },
            mail: MailConfig::default(),
            sms: SmsConfig::default(),
            oidc: OidcConfig::default(),
            password: PasswordConfig {
                min_length: core.password_min_length,
                reset_link_minutes: core.password_reset_ttl_secs / 60,
                argon2_memory_kib: core.password_params.memory_kib,
                argon2_iterations: core.password_params.iterations,
                argon2_parallelism: core.password_params.parallelism,
            },
            search: SearchConfig {
                expected_rows: core.search_expected_rows,
            },
            crypto: CryptoConfig {
                data_key_cache_size: core.data_key_cache_size,
            },
            authorization: AuthorizationConfig {
                two_person_policy_changes: core.policy_two_person_rule,
                bulk_export_approval: core.export_approval_above_rows.is_some(),
                bulk_export_rows: core.export_approval_above_rows.unwrap_or(1000),
                bulk_export_download_hours: core.export_approval_ttl_secs / 3600,
            },
            audit: AuditConfig::default(),
            monitor: MonitorConfig::default(),
            siem: SiemConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".to_owned(),
            public_url: String::new(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Config::default().session
    }
}
impl Default for LoginConfig {
    fn default() -> Self {
        Config::default().login
    }
}
impl Default for ApiTokensConfig {
    fn default() -> Self {
        Config::default().api_tokens
    }
}
impl Default for PasswordConfig {
    fn default() -> Self {
        Config::default().password
    }
}
impl Default for UsersConfig {
    fn default() -> Self {
        Config::default().users
    }
}
impl Default for SearchConfig {
    fn default() -> Self {
        Config::default().search
    }
}
impl Default for CryptoConfig {
    fn default() -> Self {
        Config::default().crypto
    }
}
impl Default for AuthorizationConfig {
    fn default() -> Self {
        Config::default().authorization
    }
}
impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "json".to_owned(),
            level: "info".to_owned(),
        }
    }
}

/// Name of the optional configuration file inside the data directory.
pub const CONFIG_FILE_NAME: &str = "custodian.toml";

/// Loads configuration for a data directory. `explicit_file` must exist; the data-directory
/// file is read only when present.
pub fn load(data_dir: &Path, explicit_file: Option<&Path>) -> anyhow::Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    match explicit_file {
        Some(path) => {
            if !path.is_file() {
                bail!(
                    "configuration file {} does not exist; create it with `custodian config default > {}`",
                    path.display(),
                    path.display()
                );
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        None => {
            let in_dir = data_dir.join(CONFIG_FILE_NAME);
            if in_dir.is_file() {
                figment = figment.merge(Toml::file_exact(in_dir));
            }
        }
    }
    figment = figment.merge(secret_files_from_env()?);
    figment = figment.merge(
        Env::prefixed("CUSTODIAN_")
            .split("__")
            .filter(|k| !k.as_str().to_ascii_lowercase().ends_with("_file"))
            .ignore(&["data_dir", "config", "database_url", "listen"]),
    );
    let config: Config = figment.extract().map_err(|e| {
        anyhow::anyhow!(
            "invalid configuration: {}",
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    Ok(config)
}

/// `CUSTODIAN_DATABASE__URL_FILE=/path` reads the value of `database.url` from that file, so
/// secrets stay out of the environment listing and shell history.
fn secret_files_from_env() -> anyhow::Result<Serialized<toml::Table>> {
    let mut table = toml::Table::new();
    for (key, path) in std::env::vars() {
        let Some(name) = key
            .strip_prefix("CUSTODIAN_")
            .and_then(|k| k.strip_suffix("_FILE"))
        else {
            continue;
        };
        let value =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {key}={path}"))?;
        let parts: Vec<String> = name.to_lowercase().split("__").map(str::to_owned).collect();
        let mut node = &mut table;
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                node.insert(part.clone(), toml::Value::String(value.trim().to_owned()));
            } else {
                node = node
                    .entry(part.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .with_context(|| format!("{key} conflicts with another setting"))?;
            }
        }
    }
    Ok(Serialized::defaults(table))
}

impl Config {
    pub fn core_settings(&self) -> CoreSettings {
        CoreSettings {
            session_idle_secs: self.session.idle_timeout_secs,
            session_absolute_secs: self.session.absolute_timeout_secs,
            session_max_per_user: self.session.max_per_user,
            reauth_window_secs: self.session.reauth_window_secs,
            login_lockout_threshold: self.login.lockout_threshold,
            login_lockout_secs: self.login.lockout_secs,
            login_throttled_delay_ms: self.login.throttled_delay_ms,
            api_token_max_days: self.api_tokens.max_days,
            password_min_length: self.password.min_length,
            password_params: PasswordParams {
                memory_kib: self.password.argon2_memory_kib,
                iterations: self.password.argon2_iterations,
                parallelism: self.password.argon2_parallelism,
            },
            invitation_ttl_secs: self.users.invitation_ttl_hours.saturating_mul(3600),
            password_reset_ttl_secs: self.password.reset_link_minutes.saturating_mul(60),
            setup_code_ttl_secs: CoreSettings::default().setup_code_ttl_secs,
            search_expected_rows: self.search.expected_rows,
            data_key_cache_size: self.crypto.data_key_cache_size,
            policy_two_person_rule: self.authorization.two_person_policy_changes,
            export_approval_above_rows: self
                .authorization
                .bulk_export_approval
                .then_some(self.authorization.bulk_export_rows),
            export_approval_ttl_secs: self
                .authorization
                .bulk_export_download_hours
                .saturating_mul(3600),
        }
    }

    /// Every problem at once, each with the key and what to do.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=1_000_000).contains(&self.audit.checkpoint_every_events) {
            out.push("audit.checkpoint_every_events: between 1 and 1000000".to_owned());
        }
        if !(1..=3_600).contains(&self.audit.checkpoint_every_secs) {
            out.push("audit.checkpoint_every_secs: between 1 and 3600 (an hour)".to_owned());
        }
        if let Err(e) = self.audit.retention() {
            out.push(e);
        }
        out.extend(
            self.monitor
                .rules
                .problems()
                .into_iter()
                .map(|p| p.replacen("monitor.", "monitor.rules.", 1)),
        );
        if let Err(e) = self.siem.settings() {
            out.push(e);
        }
        if let Err(e) = self.monitor.webhook() {
            out.push(format!("monitor.webhook_url / webhook_secret: {e}"));
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            out.push(format!(
                "server.listen: `{}` is not an address:port such as 127.0.0.1:8443 or [::]:443",
                self.server.listen
            ));
        }
        if !self.server.public_url.is_empty() && !self.server.public_url.starts_with("https://") {
            out.push(
                "server.public_url: must start with https:// (Custodian serves HTTPS only)"
                    .to_owned(),
            );
        }
        if !self.database.url.is_empty()
            && self
                .database
                .url
                .parse::<custodian_store::DatabaseUrl>()
                .is_err()
        {
            out.push(
                "database.url: use sqlite:///path/to/custodian.db or postgres://user@host/database"
                    .to_owned(),
            );
        }
        match (self.tls.cert_file.is_empty(), self.tls.key_file.is_empty()) {
            (true, true) => {}
            (false, false) => {
                for (key, file) in [("tls.cert_file", &self.tls.cert_file), ("tls.key_file", &self.tls.key_file)] {
                    if !Path::new(file).is_file() {
                        out.push(format!("{key}: {file} does not exist or is not a file"));
                    }
                }
            }
            _ => out.push("tls.cert_file and tls.key_file: set both or neither (neither = self-signed certificate in the data directory)".to_owned()),
        }
        if !matches!(self.log.format.as_str(), "json" | "pretty") {
            out.push("log.format: must be `json` or `pretty`".to_owned());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            out.push(format!(
                "log.level: `{}` is not a valid filter such as `info`",
                self.log.level
            ));
        }
        out.extend(self.outbound_problems());
        if let Err(custodian_core::CoreError::Config(errors)) = self.core_settings().validate() {
            for e in errors {
                out.push(format!("{}: {}", e.field, e.message));
            }
        }
        out
    }

    pub fn database_url(&self, data_dir: &Path) -> anyhow::Result<custodian_store::DatabaseUrl> {
        if self.database.url.is_empty() {
            Ok(custodian_store::DatabaseUrl::sqlite_in(data_dir))
        } else {
            self.database
                .url
                .parse()
                .map_err(|e| anyhow::anyhow!("database.url (or --database-url): {e}"))
        }
    }

    fn outbound_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.mail.smtp_host.is_empty() {
            if !matches!(self.mail.security.as_str(), "starttls" | "tls") {
                out.push(
                    "mail.security: must be `starttls` or `tls` (there is no plaintext option)"
                        .to_owned(),
                );
            }
            if self.mail.username.is_empty() != self.mail.password.is_empty() {
                out.push("mail.username and mail.password: set both or neither".to_owned());
            }
            if !self.mail.ca_file.is_empty() && !Path::new(&self.mail.ca_file).is_file() {
                out.push(format!(
                    "mail.ca_file: {} does not exist or is not a file",
                    self.mail.ca_file
                ));
            }
            if !(1..=300).contains(&self.mail.timeout_secs) {
                out.push("mail.timeout_secs: must be between 1 and 300".to_owned());
            }
        }
        match self.sms.provider.as_str() {
            "none" | "file" => {}
            "webhook" if self.sms.webhook_url.is_empty() => {
                out.push("sms.webhook_url: required when sms.provider = \"webhook\"".to_owned());
            }
            "webhook" => {}
            _ => out.push("sms.provider: must be `none`, `webhook` or `file`".to_owned()),
        }
        out
    }

    /// The e-mail transport, if configured.
    pub fn mailer(&self) -> anyhow::Result<Option<custodian_core::outbound::SmtpMailer>> {
        use custodian_core::outbound::{SmtpMailer, SmtpSecurity, SmtpSettings};
        if self.mail.smtp_host.is_empty() {
            return Ok(None);
        }
        let extra_root_pem = if self.mail.ca_file.is_empty() {
            None
        } else {
            Some(
                std::fs::read(&self.mail.ca_file)
                    .with_context(|| format!("mail.ca_file: cannot read {}", self.mail.ca_file))?,
            )
        };
        let mailer = SmtpMailer::new(SmtpSettings {
            host: self.mail.smtp_host.clone(),
            port: self.mail.smtp_port,
            security: if self.mail.security == "tls" {
                SmtpSecurity::ImplicitTls
            } else {
                SmtpSecurity::StartTls
            },
            username: (!self.mail.username.is_empty()).then(|| self.mail.username.clone()),
            password: (!self.mail.password.is_empty())
                .then(|| custodian_core::secrets::SecretString::from(self.mail.password.clone())),
            from: self.mail.from.clone(),
            extra_root_pem,
            timeout: std::time::Duration::from_secs(self.mail.timeout_secs),
        })
        .map_err(|e| anyhow::anyhow!("mail: {}", describe_core(&e)))?;
        Ok(Some(mailer))
    }

    /// The identity provider for single sign-on, if configured.
    pub fn sso(&self) -> Option<custodian_core::sso::SsoSettings> {
        (!self.oidc.issuer.is_empty()).then(|| custodian_core::sso::SsoSettings {
            issuer: self.oidc.issuer.clone(),
            client_id: self.oidc.client_id.clone(),
            client_secret: custodian_core::secrets::SecretString::from(
                self.oidc.client_secret.clone(),
            ),
            label: self.oidc.label.clone(),
            mfa_acr_values: self.oidc.mfa_acr_values.clone(),
        })
    }

    /// The SMS gateway, if configured.
    pub fn sms_gateway(
        &self,
        data_dir: &Path,
    ) -> anyhow::Result<Option<std::sync::Arc<dyn custodian_core::outbound::SmsGateway>>> {
        use custodian_core::outbound::{FileSms, WebhookSms};
        Ok(match self.sms.provider.as_str() {
            "webhook" => {
                let token = (!self.sms.webhook_token.is_empty()).then(|| {
                    custodian_core::secrets::SecretString::from(self.sms.webhook_token.clone())
                });
                Some(std::sync::Arc::new(
                    WebhookSms::new(&self.sms.webhook_url, token)
                        .map_err(|e| anyhow::anyhow!("sms: {}", describe_core(&e)))?,
                ))
            }
            "file" => {
                let path = if self.sms.file_path.is_empty() {
                    data_dir.join("sms-outbox.jsonl")
                } else {
                    PathBuf::from(&self.sms.file_path)
                };
                tracing::warn!(path = %path.display(), "sms.provider = \"file\": sign-in codes are written to a file; use this for development only");
                Some(std::sync::Arc::new(FileSms::new(path)))
            }
            _ => None,
        })
    }

    pub fn tls_files(&self) -> Option<(PathBuf, PathBuf)> {
        (!self.tls.cert_file.is_empty() && !self.tls.key_file.is_empty()).then(|| {
            (
                PathBuf::from(&self.tls.cert_file),
                PathBuf::from(&self.tls.key_file),
            )
        })
    }
}

pub(crate) fn describe_core(e: &custodian_core::CoreError) -> String {
    match e {
        custodian_core::CoreError::Config(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The commented default configuration printed by `custodian config default`.
pub const DEFAULT_TOML: &str = r#"# Custodian configuration.
# Precedence: these defaults < this file < CUSTODIAN_* environment variables < command-line flags.
# Environment names join sections with a double underscore: CUSTODIAN_SERVER__LISTEN=0.0.0.0:8443.
# Any setting can be read from a file instead: CUSTODIAN_DATABASE__URL_FILE=/run/secrets/db-url.
# Unknown keys are rejected.

[server]
# Address and port to listen on (HTTPS only).
listen = "127.0.0.1:8443"
# How people reach this server (https://crm.example.com): links in e-mails point at it, and
# its host name is what passkeys are bound to (an IP address turns passkeys off). Empty:
# https://localhost:<port>.
public_url = ""

[database]
# Empty: SQLite file custodian.db in the data directory.
# PostgreSQL: "postgres://custodian@db.internal/custodian" (put passwords in a *_FILE secret).
url = ""
# SQLite: idle read-only connections kept (more open on demand; writes always go through one).
# PostgreSQL: the pool size.
# 0 = default (4 for SQLite, 16 for PostgreSQL).
pool_size = 0

[tls]
# PEM certificate chain and key. Both empty: a self-signed certificate (90 days, renewed at start
# when fewer than 30 days remain) kept in the data directory.
cert_file = ""
key_file = ""

[session]
# A session ends after this many seconds without activity...
idle_timeout_secs = 1800
# ...and this many seconds after sign-in, whatever its activity.
absolute_timeout_secs = 43200
# Running sessions per user; signing in once more ends the least recently used one.
max_per_user = 10
# Sensitive actions (second factors, later exports and key changes) need a sign-in or a
# "confirm it is you" step-up at most this many seconds ago.
reauth_window_secs = 600

[login]
# Failed sign-ins are counted per account and per network in the database. After 5 failures
# (20 per network) each further one doubles the wait, up to 15 minutes. This many consecutive
# failures lock the account (10 to 100)...
lockout_threshold = 100
# ...until this many seconds after the last failure, or until an administrator unlocks it.
lockout_secs = 3600
# A refused (throttled) attempt is answered this many milliseconds late, which slows guessing
# tools that wait for answers without costing the server CPU.
throttled_delay_ms = 1000

[api_tokens]
# The longest life a new API token may be given, in days (tokens default to 90).
max_days = 365

[password]
# NIST SP 800-63B: at least 8; 15 recommended for single-factor accounts.
min_length = 12
# A "forgot password" link works once, for this many minutes (5 to 1440).
reset_link_minutes = 30
# Argon2id cost; may only be raised above the OWASP minimum (19456 KiB, 2 passes, 1 lane).
# Raising it upgrades each user's hash at their next sign-in.
argon2_memory_kib = 19456
argon2_iterations = 2
argon2_parallelism = 1

[users]
# An invitation link works once, for this many hours (1 to 720).
invitation_ttl_hours = 72

[mail]
# Outgoing e-mail: one-time codes, invitations, password resets, task notifications.
# Empty host: e-mail is off (invitations and e-mail codes are unavailable).
smtp_host = ""
smtp_port = 587
# starttls (port 587; STARTTLS is required, never optional) or tls (implicit TLS, port 465).
# Certificates are always verified; there is no plaintext option.
security = "starttls"
# Both or neither. Put the password in a secret file: CUSTODIAN_MAIL__PASSWORD_FILE=/run/secrets/smtp.
username = ""
password = ""
from = "Custodian <no-reply@localhost>"
# A PEM CA certificate to trust besides the system's (for a relay with a private CA).
ca_file = ""
timeout_secs = 15

[sms]
# Text messages for one-time codes: none, webhook (POSTs {"to": "+86…", "message": "…"} as JSON
# to webhook_url with "Authorization: Bearer <webhook_token>"; https, or http to loopback only),
# or file (appends each message to file_path; development only — the codes are live).
provider = "none"
webhook_url = ""
# Put it in a secret file: CUSTODIAN_SMS__WEBHOOK_TOKEN_FILE=/run/secrets/sms-token.
webhook_token = ""
# Empty: sms-outbox.jsonl in the data directory.
file_path = ""

[oidc]
# Single sign-on with your organisation's OpenID Connect provider (authorization code + PKCE).
# Register https://<public_url>/auth/oidc/callback as the redirect URI. Empty issuer: off.
# People sign in as the active user whose e-mail the provider reports as verified.
issuer = ""
client_id = ""
# Put it in a secret file: CUSTODIAN_OIDC__CLIENT_SECRET_FILE=/run/secrets/oidc-secret.
client_secret = ""
# The button reads "Sign in with <label>". Empty: "Sign in with your organisation's account".
label = ""
# acr values meaning the provider did multi-factor authentication (amr "mfa", or a password
# plus otp/hwk/fpt/… always counts). Otherwise Custodian asks for its own second factor.
mfa_acr_values = []

[search]
# Rows you expect per table; sets how far blind indexes are truncated (more rows, more bits).
expected_rows = 1000000

[crypto]
# Unwrapped data keys kept in memory (zeroized on eviction).
data_key_cache_size = 10000

[authorization]
# A change of the authorization policies takes effect only when a second administrator
# approves it (two-person rule). Turn off only where there is one administrator.
two_person_policy_changes = true
# An export of more than bulk_export_rows records is downloaded only after someone else (a
# user whose policies allow approve_export: privacy officers by default)
# approves the request for it; the requester can never approve their own.
bulk_export_approval = true
bulk_export_rows = 1000
# How long an approved export can be downloaded (once).
bulk_export_download_hours = 24

[audit]
# The Ed25519 key that signs audit checkpoints (its own key, apart from master.key). Empty:
# audit-signing.key in the data directory, created on the first start. Keep a copy with the
# master key; `custodian audit verify` needs it (or its public key) to check signatures.
signing_key_file = ""
# Every checkpoint is also appended here, outside the database. Empty:
# audit-checkpoints.jsonl in the data directory. Put it on other storage where you can.
checkpoint_file = ""
# A signed checkpoint after this many events or seconds, whichever comes first. Events after
# the last checkpoint are chained but not yet signed.
checkpoint_every_events = 1000
checkpoint_every_secs = 10
# This server's name in audit events. Empty: the host name.
node = ""
# Days audit events are kept (at least 365; 0 keeps them for ever). Older events are pruned
# every 6 hours, only below a signed checkpoint, which is kept and stands in for them: the
# log stays verifiable and every kept event keeps its inclusion proof.
retention_days = 400

[monitor]
# Rules over the audit stream raise alerts for security officers (in-app, e-mail when mail
# is set up, and the webhook below) and can act on the account concerned.
enabled = true
# Verify the whole audit log this often (minutes); a failure is an alert. 0: on demand only.
verify_every_mins = 60
# Alerts are also POSTed here as JSON, signed: header Custodian-Signature: t=<unix seconds>,
# v1=<hex HMAC-SHA256 of "<t>.<body>" under webhook_secret (16+ characters; or set
# CUSTODIAN_MONITOR__WEBHOOK_SECRET_FILE)>. https:// only (http:// to this host). Empty: none.
webhook_url = ""
webhook_secret = ""

[monitor.rules]
# Failed sign-ins for one account, or from one network, within the window.
failed_logins_per_account = 5
failed_logins_per_network = 20
failed_logins_window_mins = 15
# none, lock_account (lock and end sessions), end_sessions or step_up (sensitive actions
# need a fresh sign-in proof).
failed_logins_action = "none"
# Password spraying: one password, or one network, failing against this many accounts.
spraying_accounts = 10
spraying_window_mins = 60
# One user reading this many records of personal data (list pages count every row).
mass_read_records = 500
mass_read_window_mins = 10
mass_read_action = "none"
# An export of this many rows; this many exports by one user within the window.
large_export_rows = 10000
exports_per_window = 5
exports_window_mins = 60
# Sign-ins, reveals and exports outside working hours, in the organisation's time zone as a
# fixed offset from UTC in minutes (480 for China Standard Time).
off_hours_enabled = true
utc_offset_mins = 0
work_starts_hour = 7
work_ends_hour = 20
weekends_off = true
# A sign-in from a network the account had not used; a role granted to a user.
new_network = true
privilege_escalation = true
# What to do when a session is presented after it ended (a stolen cookie?).
ended_session_action = "end_sessions"

[siem]
# Every audit event as a JSON line appended to this file (for a log shipper). Empty: off.
jsonl_file = ""
# Every audit event as RFC 5424 syslog to this host:port, over TLS (RFC 5425, octet-counted
# frames). Records carry client IP addresses: keep TLS on. Delivery is at least once (each
# record has the event's id and position). Empty: off.
syslog_address = ""
syslog_tls = true
# The name on the receiver's certificate (empty: the host of syslog_address), and the CA to
# trust (empty: the system's roots).
syslog_server_name = ""
syslog_ca_file = ""
# 13: log audit.
syslog_facility = 13

[log]
# json (for log shippers) or pretty (for a terminal).
format = "json"
level = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_toml_parses_to_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
        assert!(parsed.problems().is_empty(), "{:?}", parsed.problems());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<Config>("[server]\nlisten = \"127.0.0.1:1\"\nlistn = 1\n")
            .unwrap_err();
        assert!(err.to_string().contains("listn"));
    }

    #[test]
    fn problems_name_the_key() {
        let mut c = Config::default();
        c.server.listen = "localhost".into();
        c.database.url = "mysql://x".into();
        c.tls.cert_file = "/nonexistent.pem".into();
        c.password.min_length = 4;
        c.audit.retention_days = 90;
        let problems = c.problems().join("\n");
        for key in [
            "server.listen",
            "database.url",
            "tls.cert_file",
            "password.min_length",
            "audit.retention_days",
        ] {
            assert!(problems.contains(key), "{key} missing in {problems}");
        }
        // 0 keeps events for ever; a year is the shortest period.
        for days in [0, 365, 3650] {
            c.audit.retention_days = days;
            assert!(c.audit.retention().is_ok(), "{days}");
        }
        c.audit.retention_days = 364;
        assert!(c.audit.retention().unwrap_err().contains("at least 365"));
    }
}
