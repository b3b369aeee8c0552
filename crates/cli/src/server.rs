//! Wiring: opens (or on first run creates) the data directory, database and keys, builds the
//! application and serves it over HTTPS.

use crate::config::Config;
use crate::{datadir, tls};
use anyhow::{Context, bail};
use custodian_core::secrets::SecretString;
use custodian_core::{Core, KeyRing};
use custodian_crypto::random::{SecureRandom, SystemRandom};
use custodian_domain::{Clock, SystemClock};
use custodian_store::{DatabaseUrl, OpenMode, Store};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Time and randomness, injected so tests control them.
#[derive(Debug, Clone)]
pub struct Wiring {
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn SecureRandom>,
}

impl Wiring {
    pub fn system() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            rng: Arc::new(SystemRandom),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitPolicy {
    /// `serve`: initialise an empty data directory, otherwise open the existing one.
    IfFresh,
    /// `init`: the data directory must be empty.
    MustBeFresh,
    /// Every other command: the data directory must already be initialised.
    Never,
}

#[derive(Debug)]
pub struct Prepared {
    pub core: Core,
    pub data_dir: PathBuf,
    /// What the first run created, to tell the operator.
    pub created: Vec<String>,
}

/// Opens everything a command needs, creating it on a first run when `policy` allows.
pub async fn prepare(
    data_dir: &Path,
    database_url: &DatabaseUrl,
    config: &Config,
    wiring: &Wiring,
    policy: InitPolicy,
) -> anyhow::Result<Prepared> {
    let problems = config.problems();
    if !problems.is_empty() {
        bail!("invalid configuration:\n  {}", problems.join("\n  "));
    }
    let fresh = datadir::is_fresh(data_dir)?;
    let mut created = Vec::new();
    let (keys, mode) = match (fresh, policy) {
        (true, InitPolicy::IfFresh | InitPolicy::MustBeFresh) => {
            datadir::create_private_dir(data_dir)?;
            created.push(format!("data directory {} (mode 0700)", data_dir.display()));
            let keys = datadir::create_key_file(data_dir, wiring.rng.as_ref())?;
            created.push(format!(
                "master key file {} (mode 0600) — back it up offline, apart from database backups",
                datadir::key_path(data_dir).display()
            ));
            if let DatabaseUrl::Sqlite(path) = database_url {
                created.push(format!("SQLite database {}", path.display()));
            }
            if config.tls_files().is_none() {
                tls::resolve(None, data_dir, wiring.clock.now())?;
                created.push(format!(
                    "self-signed TLS certificate {} (90 days; localhost, custodian.localhost, 127.0.0.1)",
                    tls::self_signed_paths(data_dir).0.display()
                ));
            }
            (keys, OpenMode::CreateIfMissing)
        }
        (true, InitPolicy::Never) => bail!(
            "the data directory {} is empty or missing; run `custodian serve` or `custodian init` to initialise it, or pass the right --data-dir",
            data_dir.display()
        ),
        (false, InitPolicy::MustBeFresh) => bail!(
            "the data directory {} is not empty; `init` only initialises an empty directory",
            data_dir.display()
        ),
        (false, _) => (datadir::read_key_file(data_dir)?, OpenMode::MustExist),
    };
    let pool_size = (config.database.pool_size > 0).then_some(config.database.pool_size);
    let store = Store::connect_with_pool(database_url, mode, pool_size)
        .await
        .with_context(|| format!("cannot open the database {database_url}"))?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    let settings = config.core_settings();
    let ring = KeyRing::new(
        keys,
        settings.data_key_cache_size,
        settings.search_expected_rows,
    );
    let core = Core::open(
        store,
        ring,
        wiring.clock.clone(),
        wiring.rng.clone(),
        settings,
    )
    .await
    .context("cannot start")?;
    let log_was_signed = custodian_store::repo::audit::latest_checkpoint(core.store().conn())
        .await
        .context("cannot read the audit log")?
        .is_some();
    let signing_key = datadir::audit_key(
        &config.audit.signing_key_path(data_dir),
        log_was_signed,
        wiring.rng.as_ref(),
        &mut created,
    )?;
    core.start_audit(custodian_core::audit::checkpoints::AuditSettings {
        signing_key: Arc::new(signing_key),
        checkpoint_file: Some(config.audit.checkpoint_path(data_dir)),
        every_events: config.audit.checkpoint_every_events,
        every: Duration::from_secs(config.audit.checkpoint_every_secs),
        node: config.audit.node_name(),
        retention: config
            .audit
            .retention()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?,
    })
    .context("cannot start the audit log")?;
    Ok(Prepared {
        core,
        data_dir: data_dir.to_path_buf(),
        created,
    })
}

/// How often the background jobs run: task reminders, then outside notification deliveries.
pub const NOTIFICATION_JOB_INTERVAL: Duration = Duration::from_secs(30);

/// Background jobs of a running server, stopped with it.
#[derive(Debug)]
struct Jobs {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    core: Core,
}

impl Jobs {
    /// Runs the reminder sweep and the delivery run every [`NOTIFICATION_JOB_INTERVAL`] (the
    /// first run one interval after start). A failed run is logged and tried again next time.
    fn start(core: Core) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let kept = core.clone();
        let task = tokio::spawn(async move {
            let start = tokio::time::Instant::now() + NOTIFICATION_JOB_INTERVAL;
            let mut ticks = tokio::time::interval_at(start, NOTIFICATION_JOB_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = ticks.tick() => {}
                }
                match core.send_due_reminders().await {
                    Ok(0) => {}
                    Ok(sent) => tracing::info!(sent, "task reminders sent"),
                    Err(e) => tracing::warn!(error = %e, "task reminder sweep failed"),
                }
                if let Err(e) = core.deliver_pending_notifications().await {
                    tracing::warn!(error = %e, "notification delivery run failed");
                }
            }
        });
        Self {
            stop,
            task,
            core: kept,
        }
    }

    /// Signals the loop and waits for the run in progress, if any, to finish; then writes the
    /// queued read events and signs a last audit checkpoint.
    async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "background jobs ended abnormally");
        }
        if let Err(e) = self.core.stop_audit().await {
            tracing::error!(target: "security", error = %e, "the audit log was not closed cleanly");
        }
    }
}

/// A running HTTPS server.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    jobs: Jobs,
}

impl RunningServer {
    /// Stops accepting connections and lets in-flight requests finish (up to 10 s), then
    /// stops the background jobs.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(Duration::from_secs(10)));
        self.wait().await
    }

    /// Waits until the server stops (after a graceful shutdown through [`Self::handle`]),
    /// then stops the background jobs.
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.task.await;
        self.jobs.stop().await;
        served.context("server task failed")??;
        Ok(())
    }

    pub fn handle(&self) -> axum_server::Handle<SocketAddr> {
        self.handle.clone()
    }
}

pub async fn start(
    core: Core,
    config: &Config,
    data_dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<RunningServer> {
    let (cert, key) = tls::resolve(config.tls_files(), data_dir, core.clock().now())?;
    let tls_config = tls::server_config(&cert, &key)?;
    let rustls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls_config));
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    core.set_public_url(&base_url(&config.server.public_url, addr));
    if let Some(sso) = config.sso() {
        core.set_sso(sso)
            .map_err(|e| anyhow::anyhow!("oidc: {}", crate::config::describe_core(&e)))?;
    }
    if let Some(mailer) = config.mailer()? {
        core.set_mailer(Arc::new(mailer));
    }
    if let Some(gateway) = config.sms_gateway(data_dir)? {
        core.set_sms_gateway(gateway);
    }
    core.start_siem(config.siem.settings().map_err(|e| anyhow::anyhow!(e))?);
    if let Some(monitor) = config.monitor.settings()? {
        core.start_monitor(monitor)
            .context("cannot start the security monitor")?;
    }
    let core_for_jobs = core.clone();
    let state = custodian_web::AppState::new(core)?;
    let app = custodian_web::router(state);
    let handle = axum_server::Handle::new();
    let server = axum_server::tls_rustls::from_tcp_rustls(listener, rustls)?.handle(handle.clone());
    let jobs = Jobs::start(core_for_jobs);
    let task = tokio::spawn(async move {
        server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
    });
    Ok(RunningServer {
        addr,
        handle,
        task,
        jobs,
    })
}

/// The link printed for the first administrator. The code rides in the URL fragment, which
/// browsers never send to the server, so it cannot end up in access logs or Referer headers.
pub fn setup_link(public_url: &str, addr: SocketAddr, code: &SecretString) -> String {
    use custodian_core::secrets::ExposeSecret;
    format!(
        "{}/setup#code={}",
        base_url(public_url, addr),
        code.expose_secret()
    )
}

pub fn base_url(public_url: &str, addr: SocketAddr) -> String {
    if !public_url.is_empty() {
        return public_url.trim_end_matches('/').to_owned();
    }
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        format!("https://localhost:{}", addr.port())
    } else {
        format!("https://{addr}")
    }
}
