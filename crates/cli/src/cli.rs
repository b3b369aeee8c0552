//! The command-line contract. Every command takes `--data-dir` and `--database-url` the same
//! way; errors go to stderr with a non-zero exit code and a sentence saying what to do.

use crate::config::{self, Config};
use crate::server::{self, InitPolicy, Wiring};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use custodian_core::secrets::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "custodian",
    version,
    about = "Custodian: the security-first CRM server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives. Shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Location {
    /// Data directory: SQLite database, master key file, TLS certificate.
    #[arg(long, env = "CUSTODIAN_DATA_DIR", default_value = "./custodian-data")]
    pub data_dir: PathBuf,
    /// Database URL (sqlite:///path or postgres://…). Default: SQLite inside the data directory.
    /// Prefer CUSTODIAN_DATABASE__URL_FILE for URLs that hold a password.
    #[arg(long, env = "CUSTODIAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Configuration file. Default: custodian.toml in the data directory, when present.
    #[arg(long, env = "CUSTODIAN_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and REST API over HTTPS (initialises an empty data directory).
    Serve {
        #[command(flatten)]
        location: Location,
        /// Address to listen on, e.g. 127.0.0.1:8443.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Initialise a data directory and its first administrator without prompts.
    Init {
        #[command(flatten)]
        location: Location,
        #[arg(long)]
        admin_email: String,
        /// File holding the administrator's password (first line).
        #[arg(long)]
        admin_password_file: PathBuf,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        location: Location,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Demonstration data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Authorization policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole log: every event's hash, the chain, the Merkle tree at every signed
    /// checkpoint, every signature, and the checkpoint file. Exits non-zero and names the
    /// place of every problem. Reads only; needs no data keys.
    Verify {
        #[command(flatten)]
        location: Location,
        /// The audit public key (64 hex digits). Default: derived from the signing key file.
        #[arg(long)]
        public_key: Option<String>,
        /// The checkpoint file to compare with. Default: `audit.checkpoint_file`.
        #[arg(long)]
        checkpoint_file: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove events older than `audit.retention_days`, below the newest checkpoint signed
    /// before that age (the server also does this every 6 hours). The checkpoint is kept and
    /// stands in for them, so the log stays verifiable. Recorded as an `audit_pruned` event.
    Prune {
        #[command(flatten)]
        location: Location,
        /// Report what would be pruned; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check an exported time range (`GET /api/v1/audit/export`) offline, without the
    /// database: the checkpoint's signature, and every event's hash and inclusion proof.
    VerifyExport {
        /// The JSON-lines export.
        file: PathBuf,
        /// The audit public key (64 hex digits), obtained apart from the export. Without it
        /// the key named in the export is used, which proves only that the file is unaltered
        /// since someone signed it.
        #[arg(long)]
        public_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an active user with roles and attributes (as the first administrator; for
    /// scripted set-ups — people are normally invited from the Users page).
    Add {
        #[command(flatten)]
        location: Location,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Comma-separated roles, e.g. `sales` or `manager,all_regions`.
        #[arg(long, default_value = "")]
        roles: String,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        region: Option<String>,
        /// File holding the user's password (first line).
        #[arg(long)]
        password_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a file of Cedar policies against the authorization schema (no database needed).
    Check {
        /// The policy file.
        file: PathBuf,
    },
    /// Print the policies in force (`--schema`: the schema they are written against).
    Show {
        #[command(flatten)]
        location: Location,
        #[arg(long)]
        schema: bool,
    },
    /// Answer whether a user may do an action to a resource, and which policies decided.
    Explain {
        #[command(flatten)]
        location: Location,
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
        /// An action, e.g. `read`, `contact_details.reveal`, `admin.users`.
        #[arg(long)]
        action: String,
        /// `Type:id` (`Contact:<uuid>`), `Collection:<name>` or `System`.
        #[arg(long)]
        resource: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; prints it once (only its hash is stored).
    Create {
        #[command(flatten)]
        location: Location,
        /// E-mail of the user the token acts as.
        #[arg(long)]
        user: String,
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
        /// What it may do, space- or comma-separated: `contacts:read`, `deals:write`,
        /// `*:read`, `*:write`, `admin` (`write` includes `read`).
        #[arg(long, default_value = "*:read *:write")]
        scope: String,
        /// Expire after this many days (default 90; at most `api_tokens.max_days`).
        #[arg(long = "expires", visible_alias = "expires-in-days")]
        expires_in_days: Option<u32>,
        /// Networks it may be used from (CIDRs, comma-separated); default anywhere.
        #[arg(long, default_value = "")]
        network: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the default configuration, commented.
    Default,
    /// Validate the configuration and say what to fix.
    Check {
        #[command(flatten)]
        location: Location,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Fill the database with realistic demonstration companies and contacts.
    Seed {
        #[command(flatten)]
        location: Location,
        #[arg(long, default_value_t = 200)]
        contacts: usize,
    },
}

/// Prints a line for the operator. The one place that writes to stdout.
#[allow(clippy::print_stdout)]
pub fn say(line: &str) {
    println!("{line}");
}

#[allow(clippy::print_stderr)]
fn complain(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            complain(&anyhow::Error::new(e).context("cannot start the async runtime"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, Wiring::system())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            complain(&e);
            ExitCode::FAILURE
        }
    }
}

fn load(location: &Location) -> anyhow::Result<(Config, custodian_store::DatabaseUrl)> {
    let mut config = config::load(&location.data_dir, location.config.as_deref())?;
    if let Some(url) = &location.database_url {
        config.database.url = url.clone();
    }
    let url = config.database_url(&location.data_dir)?;
    Ok((config, url))
}

/// `custodian audit prune`.
async fn prune_audit(location: &Location, wiring: &Wiring, dry_run: bool) -> anyhow::Result<()> {
    use custodian_core::audit::retention::PruneTrigger;
    let (config, _) = load(location)?;
    let retention = config.audit.retention().map_err(|e| anyhow::anyhow!(e))?;
    let prepared = open_existing(location, wiring).await?;
    let report = prepared
        .core
        .prune_audit(retention, PruneTrigger::CommandLine, dry_run)
        .await
        .context("cannot prune the audit log")?;
    prepared
        .core
        .stop_audit()
        .await
        .context("cannot sign the audit log's checkpoint")?;
    let cutoff = custodian_domain::clock::from_millis(report.cutoff);
    let line = match (report.newly_pruned, dry_run) {
        (0, _) => format!(
            "nothing to prune: no signed checkpoint older than {cutoff} covers events not pruned yet (events before #{} were pruned earlier)",
            report.pruned_below
        ),
        (n, true) => format!(
            "dry run: would prune {n} events older than {cutoff}, up to #{} (the checkpoint of that size stays)",
            report.pruned_below
        ),
        (n, false) => format!(
            "pruned {n} events older than {cutoff}: events before #{} are gone, {} rows deleted; the checkpoint of that size stands in for them",
            report.pruned_below, report.deleted
        ),
    };
    say(&line);
    Ok(())
}

/// `custodian audit verify`.
async fn verify_audit(
    location: &Location,
    public_key: Option<&str>,
    checkpoint_file: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    use custodian_core::audit::{checkpoints, verify};
    let (config, url) = load(location)?;
    let public_key = match public_key {
        Some(hex) => custodian_crypto::audit::from_hex::<32>(hex.trim())
            .context("--public-key: expected 64 hex digits (the audit public key)")?,
        None => crate::datadir::read_audit_key(&config.audit.signing_key_path(&location.data_dir))
            .context("cannot read the audit signing key; pass --public-key instead")?
            .public_key(),
    };
    let file = checkpoint_file.unwrap_or_else(|| config.audit.checkpoint_path(&location.data_dir));
    let file_checkpoints = checkpoints::read_checkpoint_file(&file)
        .with_context(|| format!("cannot read the checkpoint file {}", file.display()))?;
    let store = custodian_store::Store::connect(&url, custodian_store::OpenMode::MustExist).await?;
    let report = verify::verify(
        &store,
        &verify::VerifyOptions {
            public_key: Some(public_key),
            file_checkpoints,
        },
    )
    .await
    .context("cannot read the audit log")?;
    store.close().await?;
    if json {
        say(&serde_json::to_string_pretty(&report)?);
    } else {
        say(&format!(
            "audit log: {} events, {} signed checkpoints, {} bytes hashed; {} events after the last good checkpoint (chained, not yet signed)",
            report.events, report.checkpoints, report.bytes, report.unsigned_tail
        ));
        if report.pruned_below > 0 {
            say(&format!(
                "events #0 to #{} were pruned under the retention period; the signed checkpoint of {} events stands in for them",
                report.pruned_below - 1,
                report.pruned_below
            ));
        }
        for problem in &report.problems {
            say(&format!("PROBLEM {:?}: {}", problem.kind, problem.message));
        }
    }
    if report.is_intact() {
        if !json {
            say("intact: no edit, deletion, insertion, reordering or truncation found");
        }
        Ok(())
    } else {
        bail!(
            "the audit log failed verification: {} problem(s), listed above",
            report.problems.len()
        )
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let _ = if config.log.format == "pretty" {
        builder.try_init()
    } else {
        builder.json().try_init()
    };
}

pub async fn run(cli: Cli, wiring: Wiring) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { location, listen } => {
            let (mut config, url) = load(&location)?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            init_logging(&config);
            serve(&location.data_dir, &url, &config, &wiring).await
        }
        Command::Init {
            location,
            admin_email,
            admin_password_file,
        } => {
            let (config, url) = load(&location)?;
            let password = read_password_file(&admin_password_file)?;
            // Refuse a weak password before anything is created, so a failed init leaves no
            // half-initialised data directory behind.
            let email = custodian_domain::values::Email::parse("admin-email", &admin_email)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let password = custodian_core::auth::password_policy(
                password,
                &email,
                config.password.min_length,
            )?;
            let prepared = server::prepare(
                &location.data_dir,
                &url,
                &config,
                &wiring,
                InitPolicy::MustBeFresh,
            )
            .await?;
            prepared
                .core
                .create_first_admin(&admin_email, password)
                .await
                .context("cannot create the administrator")?;
            for line in &prepared.created {
                say(&format!("created {line}"));
            }
            say("created the first administrator; sign in with the e-mail and password given");
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    location,
                    user,
                    name,
                    scope,
                    expires_in_days,
                    network,
                },
        } => {
            let prepared = open_existing(&location, &wiring).await?;
            let request = custodian_core::tokens::ApiTokenRequest {
                name,
                scopes: scope,
                expires_in_days,
                networks: network,
            };
            let token = prepared
                .core
                .create_api_token(&user, request)
                .await
                .context("cannot create the token")?;
            say(token.expose_secret());
            Ok(())
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    location,
                    public_key,
                    checkpoint_file,
                    json,
                },
        } => verify_audit(&location, public_key.as_deref(), checkpoint_file, json).await,
        Command::Audit {
            command: AuditCommand::Prune { location, dry_run },
        } => prune_audit(&location, &wiring, dry_run).await,
        Command::Audit {
            command: AuditCommand::VerifyExport { file, public_key },
        } => {
            let key = public_key
                .map(|hex| {
                    custodian_crypto::audit::from_hex::<32>(hex.trim())
                        .context("--public-key: expected 64 hex digits (the audit public key)")
                })
                .transpose()?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let check = custodian_core::audit::export::verify_export(&text, key)
                .map_err(|e| anyhow::anyhow!("the export failed verification: {e}"))?;
            say(&format!(
                "export verified: {} events, each in the tree of {} events signed by key {}{}",
                check.events,
                check.tree_size,
                check.key_id,
                if key.is_none() {
                    " (the key named in the file: compare it with your copy of the audit public key)"
                } else {
                    ""
                }
            ));
            Ok(())
        }
        Command::Migrate { location } => {
            let (_, url) = load(&location)?;
            if crate::datadir::is_fresh(&location.data_dir)? {
                bail!(
                    "the data directory {} is empty; nothing to migrate (run `custodian init` first)",
                    location.data_dir.display()
                );
            }
            let store =
                custodian_store::Store::connect(&url, custodian_store::OpenMode::MustExist).await?;
            let pending = store.pending_migrations().await?;
            store.migrate().await?;
            say(&format!(
                "applied {pending} migration(s); the schema is current"
            ));
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Default,
        } => {
            say(config::DEFAULT_TOML.trim_end());
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check { location },
        } => {
            let (config, _) = load(&location)?;
            let problems = config.problems();
            if problems.is_empty() {
                say("configuration OK");
                Ok(())
            } else {
                bail!("invalid configuration:\n  {}", problems.join("\n  "))
            }
        }
        Command::Policy { command } => run_policy(command, &wiring).await,
        Command::User {
            command:
                UserCommand::Add {
                    location,
                    email,
                    name,
                    roles,
                    team,
                    region,
                    password_file,
                },
        } => {
            let password = read_password_file(&password_file)?;
            let prepared = open_existing(&location, &wiring).await?;
            let core = &prepared.core;
            let actor = core.cli_actor().await?;
            let roles: Vec<String> = roles
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            let id = core
                .create_user(&actor, &email, &name, &roles, password)
                .await
                .context("cannot add the user")?;
            core.set_user_attributes(
                &actor,
                id,
                custodian_core::users::UserAttributes {
                    team,
                    department: None,
                    region,
                },
            )
            .await
            .context("cannot set the user's team and region")?;
            say(&format!("added user {id}"));
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Seed { location, contacts },
        } => {
            let prepared = open_existing(&location, &wiring).await?;
            // Generated data can be generated again; do not wait for the disk on every commit.
            prepared
                .core
                .store()
                .relax_durability_for_bulk_load()
                .await?;
            let summary = crate::demo::seed(&prepared.core, contacts).await?;
            say(&summary);
            Ok(())
        }
    }
}

async fn run_policy(command: PolicyCommand, wiring: &Wiring) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Check { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read the policy file {}", file.display()))?;
            custodian_core::policies::check_policy_text(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            say(&format!(
                "{}: the policies parse and match the authorization schema",
                file.display()
            ));
            Ok(())
        }
        PolicyCommand::Show { location, schema } => {
            if schema {
                say(custodian_core::authz::Authz::schema_text().trim_end());
                return Ok(());
            }
            let prepared = open_existing(&location, wiring).await?;
            let actor = prepared.core.cli_actor().await?;
            let overview = prepared.core.policy_overview(&actor).await?;
            say(&format!("// version {}", overview.active_version));
            say(overview.text.trim_end());
            Ok(())
        }
        PolicyCommand::Explain {
            location,
            user,
            action,
            resource,
        } => {
            let prepared = open_existing(&location, wiring).await?;
            let actor = prepared.core.cli_actor().await?;
            let request = custodian_core::policies::ExplainRequest {
                user,
                action,
                resource,
            };
            let answer = prepared.core.explain(&actor, request).await?;
            let verdict = if answer.allowed { "ALLOW" } else { "DENY" };
            let why = if answer.policies.is_empty() {
                "no policy permits it (deny by default)".to_owned()
            } else if answer.allowed {
                format!("permitted by {}", answer.policies.join(", "))
            } else {
                format!("forbidden by {}", answer.policies.join(", "))
            };
            say(&format!(
                "{verdict}: {} {} — {why} (policy version {})",
                answer.action, answer.resource, answer.policy_version
            ));
            if !answer.errors.is_empty() {
                say(&format!(
                    "policies that could not be evaluated: {}",
                    answer.errors.join(", ")
                ));
            }
            Ok(())
        }
    }
}

async fn open_existing(location: &Location, wiring: &Wiring) -> anyhow::Result<server::Prepared> {
    let (config, url) = load(location)?;
    server::prepare(&location.data_dir, &url, &config, wiring, InitPolicy::Never).await
}

fn read_password_file(path: &Path) -> anyhow::Result<SecretString> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?,
    );
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        bail!("the password file {} is empty", path.display());
    }
    Ok(SecretString::from(first.to_owned()))
}

async fn serve(
    data_dir: &Path,
    url: &custodian_store::DatabaseUrl,
    config: &Config,
    wiring: &Wiring,
) -> anyhow::Result<()> {
    let listen: std::net::SocketAddr = config
        .server
        .listen
        .parse()
        .with_context(|| format!("--listen {} is not an address:port", config.server.listen))?;
    let prepared = server::prepare(data_dir, url, config, wiring, InitPolicy::IfFresh).await?;
    for line in &prepared.created {
        say(&format!("created {line}"));
    }
    let core = prepared.core.clone();
    let running = server::start(prepared.core, config, data_dir, listen).await?;
    say(&format!(
        "Custodian is serving https://{} (database {url})",
        running.addr
    ));
    if let Some(code) = core.issue_setup_code().await? {
        say("No administrator exists yet. Open this one-time link to create the first one:");
        say(&format!(
            "  {}",
            server::setup_link(&config.server.public_url, running.addr, &code)
        ));
        say(&format!(
            "  (or open {}/setup and paste the code {}; it expires in 24 hours)",
            server::base_url(&config.server.public_url, running.addr),
            code.expose_secret()
        ));
    }
    let handle = running.handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    running.wait().await?;
    // Requests and background jobs have finished: copy the WAL into the database file and
    // close, so a stopped server leaves one self-contained file behind (SQLite).
    core.store()
        .clone()
        .close()
        .await
        .context("cannot close the database cleanly")?;
    say("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}
