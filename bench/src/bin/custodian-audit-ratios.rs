//! The audit log's benchmark, in one run on one machine, each figure against a baseline from
//! the same run:
//!
//! (a) events appended per second by writes (one transaction each, as a change's own event)
//!     and (b) by grouped reads (queued, appended together within 5 ms), from `--concurrency`
//!     tasks;
//! (c) `audit verify` over `--events` events (1,000,000 by default), in MB/s of canonical event
//!     bytes, vs (d) plain SHA-256 over the same bytes in memory (target (c)/(d) ≥ 0.5), and the
//!     verify time itself (target ≤ 2 s for 1,000,000 events);
//! (e) the security monitor judging the whole log from its start (rules, windows, alerts), in
//!     events per second, vs (b): at (e)/(b) ≥ 1 the monitor keeps up with the heaviest
//!     append traffic.
//!
//! Build and run (release): `cargo build --release -p custodian-bench &&
//! target/release/custodian-audit-ratios [--events 1000000] [--duration-secs 5] [--concurrency 16]`

#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use anyhow::{Context, bail};
use custodian::config::Config;
use custodian::server::{InitPolicy, Wiring, prepare};
use custodian_bench::load;
use custodian_core::Core;
use custodian_core::audit::AuditEvent;
use custodian_core::audit::verify::{VerifyOptions, verify};
use custodian_domain::audit::AuditCode;
use std::time::{Duration, Instant};

struct Args {
    events: u64,
    duration: Duration,
    concurrency: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        events: 1_000_000,
        duration: Duration::from_secs(5),
        concurrency: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--events" => args.events = value.parse()?,
            "--duration-secs" => args.duration = Duration::from_secs(value.parse()?),
            "--concurrency" => args.concurrency = value.parse()?,
            _ => bail!("unknown flag {flag}; see the doc comment of custodian-audit-ratios"),
        }
    }
    if args.concurrency == 0 || args.concurrency > 256 || args.events > 10_000_000 {
        bail!("--concurrency between 1 and 256, --events at most 10000000");
    }
    Ok(args)
}

/// A typical change event: a contact's fields, by name.
fn change_event(n: u64) -> AuditEvent {
    AuditEvent::system(AuditCode::DataUpdate)
        .target("contact", uuid::Uuid::from_u128(u128::from(n)))
        .detail("fields", vec!["job_title", "phones"])
        .detail("groups", vec!["contact_details"])
        .detail("from_version", n)
        .detail("to_version", n + 1)
}

/// A typical read event, by one of a hundred users (the monitor's windows are per user).
fn read_event(n: u64) -> AuditEvent {
    AuditEvent::for_user(
        Some(uuid::Uuid::from_u128(u128::from(n % 100) + 1)),
        None,
        AuditCode::DataRead,
    )
    .target("contact", uuid::Uuid::from_u128(u128::from(n)))
    .detail("groups", vec!["contact_details", "notes"])
    .detail("masked", Vec::<&str>::new())
}

async fn rate(core: &Core, args: &Args, grouped: bool) -> custodian_bench::Stats {
    let core = core.clone();
    load(args.concurrency, args.duration, move |n| {
        let core = core.clone();
        async move {
            if grouped {
                core.audit_read(read_event(n)).await.is_ok()
            } else {
                core.audit_now(change_event(n)).await.is_ok()
            }
        }
    })
    .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let tmp = tempfile::tempdir()?;
    let data_dir = tmp.path().join("data");
    let mut config = Config::default();
    config.log.level = "warn".to_owned();
    let url = config.database_url(&data_dir)?;
    let prepared = prepare(
        &data_dir,
        &url,
        &config,
        &Wiring::system(),
        InitPolicy::MustBeFresh,
    )
    .await?;
    let core = prepared.core;

    let writes = rate(&core, &args, false).await;
    println!(
        "(a) write appends: {:.0} events/s (p50 {} µs, p99 {} µs, {} failed)",
        writes.per_second(),
        writes.p50_us,
        writes.p99_us,
        writes.failed
    );
    let reads = rate(&core, &args, true).await;
    core.flush_audit().await?;
    println!(
        "(b) grouped read appends: {:.0} events/s (p50 {} µs, p99 {} µs, {} failed); (b)/(a) = {:.1}",
        reads.per_second(),
        reads.p50_us,
        reads.p99_us,
        reads.failed,
        reads.per_second() / writes.per_second().max(1e-9)
    );

    // Fill up to the verify size with grouped reads, as a busy server would.
    let have = writes.ok + reads.ok;
    let fill_started = Instant::now();
    let remaining = args.events.saturating_sub(have);
    let per_task = remaining / args.concurrency as u64 + 1;
    let mut tasks = Vec::new();
    for t in 0..args.concurrency as u64 {
        let core = core.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                core.audit_read(read_event(t * per_task + i)).await?;
            }
            Ok::<(), custodian_core::CoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    core.flush_audit().await?;
    core.checkpoint_audit().await?;
    println!(
        "filled to {} events in {:.1} s",
        have + per_task * args.concurrency as u64,
        fill_started.elapsed().as_secs_f64()
    );

    let options = VerifyOptions {
        public_key: core.audit_public_key(),
        file_checkpoints: Vec::new(),
    };
    let started = Instant::now();
    let report = verify(core.store(), &options).await?;
    let verify_secs = started.elapsed().as_secs_f64();
    if !report.is_intact() {
        bail!("verification found problems: {:?}", report.problems);
    }
    let mb = report.bytes as f64 / 1e6;
    let verify_rate = mb / verify_secs;

    // (d): the same canonical bytes, in memory, through plain SHA-256.
    let bytes = custodian_core::audit::verify::canonical_bytes_of_all(core.store()).await?;
    let started = Instant::now();
    let mut sink = 0u8;
    for event in &bytes {
        sink ^= custodian_crypto::audit::plain_sha256(event)[0];
    }
    let sha_secs = started.elapsed().as_secs_f64();
    let sha_rate = mb / sha_secs;
    println!(
        "(c) audit verify: {} events, {:.1} MB in {:.2} s = {:.1} MB/s (target ≤ 2 s per 1,000,000 events: {})",
        report.events,
        mb,
        verify_secs,
        verify_rate,
        if verify_secs * 1e6 / report.events.max(1) as f64 <= 2.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "(d) plain SHA-256 over the same bytes: {:.1} MB/s (checksum {sink}); (c)/(d) = {:.2} (target ≥ 0.5)",
        sha_rate,
        verify_rate / sha_rate
    );

    // (e): the monitor, started on the filled log, judges every event.
    let started = Instant::now();
    core.start_monitor(custodian_core::monitor::MonitorSettings {
        rules: custodian_core::monitor::rules::RuleSettings::default(),
        verify_every: None,
        webhook: None,
    })?;
    let mut judged = 0;
    let mut raised = 0;
    loop {
        let run = core.run_monitor().await?;
        judged += run.read;
        raised += run.raised;
        if run.read == 0 {
            break;
        }
    }
    let judge_secs = started.elapsed().as_secs_f64();
    let judge_rate = report.events as f64 / judge_secs;
    println!(
        "(e) monitor: {} events judged in {:.2} s = {:.0} events/s ({} by this call, {} alerts); (e)/(b) = {:.2} (≥ 1: keeps up)",
        report.events,
        judge_secs,
        judge_rate,
        judged,
        raised,
        judge_rate / reads.per_second().max(1e-9)
    );
    Ok(())
}
