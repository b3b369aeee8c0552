//! Custodian's ratio benchmark. Everything is measured in one run on one machine, and each
//! result is reported against a baseline from the same run:
//!
//! (a) contacts created per second through the HTTPS API (encryption, blind indexes, audit-ready
//!     transaction) vs (b) the same rows inserted as plaintext straight into SQLite with the same
//!     durability settings and indexes, one commit per row;
//! (c) reads by id and searches by e-mail per second through the API vs (d) a hello-JSON axum
//!     server on the same TLS stack and the same load generator (the ceiling);
//! (g) sign-ins per second through the API (Argon2id inside the server, sessions written) vs
//!     (h) Argon2id verifications alone with the same parameters on one thread per core;
//! (i) reads by id during a flood of wrong-password sign-ins, from one address (throttled) and
//!     from 64 loopback addresses (hashing), vs (c1) reads without the flood;
//! optionally, search-by-e-mail latency and the server's peak memory at a large data set
//! (`--search-contacts 1000000`).
//!
//! Build and run (release): `cargo build --release -p custodian -p custodian-bench &&
//! target/release/custodian-ratios [--duration-secs 10] [--concurrency 16] [--search-contacts N]`

#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use anyhow::{Context, bail};
use custodian_bench::{Stats, load, peak_rss_kib, stats};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    duration: Duration,
    concurrency: usize,
    search_contacts: usize,
    import_rows: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        duration: Duration::from_secs(10),
        concurrency: 16,
        search_contacts: 0,
        import_rows: 50_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--duration-secs" => args.duration = Duration::from_secs(value.parse()?),
            "--concurrency" => args.concurrency = value.parse()?,
            "--search-contacts" => args.search_contacts = value.parse()?,
            "--import-rows" => args.import_rows = value.parse()?,
            _ => bail!("unknown flag {flag}; see the doc comment of custodian-ratios"),
        }
    }
    if args.import_rows > 100_000 {
        bail!("--import-rows must be at most 100000 (the import limit)");
    }
    if args.duration > Duration::from_secs(300) || args.concurrency == 0 || args.concurrency > 256 {
        bail!("--duration-secs must be ≤ 300 and --concurrency between 1 and 256");
    }
    Ok(args)
}

/// A child process killed (and reaped) when dropped, so a failed run leaves nothing behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.parent().context("no exe dir")?.join(name);
    if !path.is_file() {
        bail!(
            "{} not found; build it first: cargo build --release -p custodian -p custodian-bench",
            path.display()
        );
    }
    Ok(path)
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output()?;
    if !out.status.success() {
        bail!("{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn client(cert: &[u8]) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert)?])
        .http1_only()
        .pool_max_idle_per_host(512)
        .build()?)
}

async fn wait_healthy(client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("server at {url} did not become healthy")
}

fn start_custodian(exe: &Path, data: &Path, port: u16) -> anyhow::Result<Server> {
    Ok(Server(
        Command::new(exe)
            .args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("CUSTODIAN_LOG__LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    ))
}

/// A tiny deterministic generator for picking ids.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn contact_body(n: u64) -> serde_json::Value {
    json!({
        "name": format!("Bench Person {n} 王小明"),
        "emails": [format!("bench{n}@example.com")],
        "phones": [format!("+1555{:07}", n % 10_000_000)],
        "job_title": "Procurement Manager",
        "address": "88 Century Avenue, Pudong, Shanghai",
        "notes": "Prefers calls after 3pm",
        "team": "bench",
        "tags": ["bench"],
    })
}

/// (b): the same rows as plaintext, straight into SQLite: WAL + synchronous=FULL like the
/// server, the same indexes, one transaction (commit) per row.
async fn baseline_inserts(dir: &Path, args: &Args) -> anyhow::Result<Stats> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let options = SqliteConnectOptions::new()
        .filename(dir.join("baseline.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    for ddl in [
        "CREATE TABLE contacts (id BLOB PRIMARY KEY, name TEXT NOT NULL, emails TEXT, phones TEXT, job_title TEXT, company_id BLOB, address TEXT, notes TEXT, owner_id BLOB, team TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER, version INTEGER NOT NULL)",
        "CREATE INDEX ix_contacts_created ON contacts (created_at, id)",
        "CREATE INDEX ix_contacts_updated ON contacts (updated_at, id)",
        "CREATE INDEX ix_contacts_company ON contacts (company_id)",
        "CREATE INDEX ix_contacts_owner ON contacts (owner_id)",
        "CREATE INDEX ix_contacts_team ON contacts (team)",
        "CREATE TABLE contact_emails (email TEXT NOT NULL, contact_id BLOB NOT NULL, PRIMARY KEY (email, contact_id))",
        "CREATE TABLE record_tags (entity TEXT NOT NULL, tag TEXT NOT NULL, entity_id BLOB NOT NULL, PRIMARY KEY (entity, tag, entity_id))",
    ] {
        sqlx::query(ddl).execute(&pool).await?;
    }
    let owner = uuid::Uuid::new_v4();
    let stats = load(args.concurrency, args.duration, move |n| {
        let pool = pool.clone();
        async move {
            let insert = async {
                let body = contact_body(n);
                let id = uuid::Uuid::new_v4();
                let now = i64::try_from(n).unwrap_or(0);
                let mut conn = pool.acquire().await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
                sqlx::query("INSERT INTO contacts (id, name, emails, phones, job_title, address, notes, owner_id, team, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)")
                    .bind(id)
                    .bind(body["name"].as_str())
                    .bind(body["emails"].to_string())
                    .bind(body["phones"].to_string())
                    .bind(body["job_title"].as_str())
                    .bind(body["address"].as_str())
                    .bind(body["notes"].as_str())
                    .bind(owner)
                    .bind(body["team"].as_str())
                    .bind(now)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("INSERT INTO contact_emails (email, contact_id) VALUES (?, ?)")
                    .bind(format!("bench{n}@example.com"))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("INSERT INTO record_tags (entity, tag, entity_id) VALUES ('contact', 'bench', ?)")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                anyhow::Ok(())
            };
            insert.await.is_ok()
        }
    })
    .await;
    Ok(stats)
}

/// The import file: `rows` contacts, one in a hundred repeating an e-mail of a contact created
/// in phase (a) (so duplicate detection finds and skips real matches).
fn import_csv(rows: usize, existing: &[(u64, String)]) -> String {
    let mut csv = String::from("Name,Email,Phone,Job title,Company,Address,Notes,Team,Tags\n");
    for i in 0..rows {
        let email = match existing.get(i / 100).filter(|_| i % 100 == 0) {
            Some((k, _)) => format!("bench{k}@example.com"),
            None => format!("import{i}@example.com"),
        };
        csv.push_str(&format!(
            "Import Person {i} 李娜,{email},+1666{:07},Procurement Manager,Bench Company {},\"88 Century Avenue, Pudong, Shanghai\",Prefers calls after 3pm,bench,import\n",
            i % 10_000_000,
            i % 200
        ));
    }
    csv
}

/// Which lookups the plaintext bulk baseline indexes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PlainIndexes {
    /// (f) what the import maintains, in plaintext: e-mail, phone and name words (the words
    /// the import's blind indexes make searchable), each table also indexed by contact for
    /// updates and erasure, as the import's token table is.
    SameSearches,
    /// (f0) e-mail only, the baseline of earlier runs, printed for comparison.
    EmailOnly,
}

/// (f): the same rows as plaintext, bulk-inserted into the server's own database file in one
/// transaction (multi-row inserts, the same indexes as the contacts table).
async fn baseline_bulk_insert(
    db: &Path,
    csv: &str,
    indexes: PlainIndexes,
) -> anyhow::Result<(usize, Duration)> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{ConnectOptions, Connection};
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        // The server's writer settings: commits leave checkpoints to later, 32 MiB cache.
        .pragma("wal_autocheckpoint", "0")
        .pragma("cache_size", "-32768")
        .pragma("temp_store", "memory")
        .connect()
        .await?;
    // Untimed: start from an empty WAL, as the import did (the server checkpoints in the
    // background after it).
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    for ddl in [
        "CREATE TABLE bench_plain_contacts (id BLOB PRIMARY KEY, name TEXT NOT NULL, emails TEXT, phones TEXT, job_title TEXT, company TEXT, address TEXT, notes TEXT, owner_id BLOB, team TEXT, tags TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER, version INTEGER NOT NULL)",
        "CREATE INDEX ix_bpc_created ON bench_plain_contacts (created_at, id)",
        "CREATE INDEX ix_bpc_updated ON bench_plain_contacts (updated_at, id)",
        "CREATE INDEX ix_bpc_company ON bench_plain_contacts (company, updated_at)",
        "CREATE INDEX ix_bpc_owner ON bench_plain_contacts (owner_id, updated_at)",
        "CREATE INDEX ix_bpc_team ON bench_plain_contacts (team, updated_at)",
        "CREATE TABLE bench_plain_emails (email TEXT NOT NULL, contact_id BLOB NOT NULL, PRIMARY KEY (email, contact_id))",
        "CREATE TABLE bench_plain_tags (tag TEXT NOT NULL, contact_id BLOB NOT NULL, PRIMARY KEY (tag, contact_id))",
        "CREATE TABLE bench_plain_words (field TEXT NOT NULL, word TEXT NOT NULL, contact_id BLOB NOT NULL, PRIMARY KEY (field, word, contact_id)) WITHOUT ROWID",
        "CREATE INDEX ix_bpw_contact ON bench_plain_words (contact_id)",
    ] {
        sqlx::query(ddl).execute(&mut conn).await?;
    }
    let owner = uuid::Uuid::new_v4();
    let start = Instant::now();
    let records: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .collect::<Result<_, _>>()?;
    let mut txn = conn.begin().await?;
    let mut rows = 0usize;
    // Multi-row INSERTs of 500 rows, as the import itself writes.
    for chunk in records.chunks(500) {
        let ids: Vec<uuid::Uuid> = chunk.iter().map(|_| uuid::Uuid::now_v7()).collect();
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO bench_plain_contacts (id, name, emails, phones, job_title, company, address, notes, owner_id, team, tags, created_at, updated_at, version) ",
        );
        q.push_values(chunk.iter().zip(&ids), |mut b, (r, id)| {
            let now = i64::try_from(rows).unwrap_or(0);
            b.push_bind(*id)
                .push_bind(r[0].to_owned())
                .push_bind(r[1].to_owned())
                .push_bind(r[2].to_owned())
                .push_bind(r[3].to_owned())
                .push_bind(r[4].to_owned())
                .push_bind(r[5].to_owned())
                .push_bind(r[6].to_owned())
                .push_bind(owner)
                .push_bind(r[7].to_owned())
                .push_bind(r[8].to_owned())
                .push_bind(now)
                .push_bind(now)
                .push_bind(1i64);
        });
        q.build().execute(&mut *txn).await?;
        let mut q = sqlx::QueryBuilder::new("INSERT INTO bench_plain_emails (email, contact_id) ");
        q.push_values(chunk.iter().zip(&ids), |mut b, (r, id)| {
            b.push_bind(r[1].to_owned()).push_bind(*id);
        });
        q.build().execute(&mut *txn).await?;
        let mut q = sqlx::QueryBuilder::new("INSERT INTO bench_plain_tags (tag, contact_id) ");
        q.push_values(chunk.iter().zip(&ids), |mut b, (r, id)| {
            b.push_bind(r[8].to_owned()).push_bind(*id);
        });
        q.build().execute(&mut *txn).await?;
        if indexes == PlainIndexes::SameSearches {
            let words: Vec<(&str, String, uuid::Uuid)> = chunk
                .iter()
                .zip(&ids)
                .flat_map(|(r, id)| {
                    let name = r[0]
                        .split_whitespace()
                        .map(|w| ("name", w.to_lowercase(), *id));
                    name.chain([("phone", r[2].to_owned(), *id)])
                })
                .collect();
            for part in words.chunks(2_000) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO bench_plain_words (field, word, contact_id) ",
                );
                q.push_values(part, |mut b, (field, word, id)| {
                    b.push_bind(*field).push_bind(word.clone()).push_bind(*id);
                });
                q.build().execute(&mut *txn).await?;
            }
        }
        rows += chunk.len();
    }
    txn.commit().await?;
    let elapsed = start.elapsed();
    // Not timed: the next baseline starts from the same empty tables.
    for drop in [
        "DROP TABLE bench_plain_contacts",
        "DROP TABLE bench_plain_emails",
        "DROP TABLE bench_plain_tags",
        "DROP TABLE bench_plain_words",
    ] {
        sqlx::query(drop).execute(&mut conn).await?;
    }
    Ok((rows, elapsed))
}

fn report(label: &str, s: &Stats) {
    println!(
        "{label:<46} {:>10.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} ok, {} failed)",
        s.per_second(),
        s.p50_us as f64 / 1000.0,
        s.p99_us as f64 / 1000.0,
        s.ok,
        s.failed
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets target" } else { "BELOW TARGET" }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let custodian = sibling("custodian")?;
    let hello = sibling("custodian-hello")?;
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("data");
    let token = init_data_dir(&custodian, &data)?;
    let port = free_port()?;
    let mut server = start_custodian(&custodian, &data, port)?;
    let cert = std::fs::read(data.join("tls/cert.pem"))?;
    let http = client(&cert)?;
    let base = format!("https://127.0.0.1:{port}");
    wait_healthy(&http, &format!("{base}/api/v1/health")).await?;
    let auth = format!("Bearer {token}");
    println!(
        "Custodian ratio benchmark: {} workers, {} s per phase, SQLite, {} cores",
        args.concurrency,
        args.duration.as_secs(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    // (a) creates through the API.
    let created: Arc<Mutex<Vec<(u64, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let create = {
        let (http, base, auth, created) =
            (http.clone(), base.clone(), auth.clone(), created.clone());
        load(args.concurrency, args.duration, move |n| {
            let (http, base, auth, created) =
                (http.clone(), base.clone(), auth.clone(), created.clone());
            async move {
                let res = http
                    .post(format!("{base}/api/v1/contacts"))
                    .header("authorization", auth)
                    .json(&contact_body(n))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 201 => {
                        let id = r
                            .json::<serde_json::Value>()
                            .await
                            .ok()
                            .and_then(|v| v["id"].as_str().map(str::to_owned));
                        if let (Some(id), Ok(mut list)) = (id, created.lock()) {
                            list.push((n, id));
                        }
                        true
                    }
                    _ => false,
                }
            }
        })
        .await
    };
    report("(a) create contact via HTTPS API (encrypted)", &create);

    // (b) the plaintext baseline.
    let baseline = baseline_inserts(tmp.path(), &args).await?;
    report("(b) plaintext insert into SQLite (baseline)", &baseline);

    let ids: Arc<Vec<(u64, String)>> =
        Arc::new(created.lock().map(|l| l.clone()).unwrap_or_default());
    if ids.is_empty() {
        bail!("no contact was created; see the server's errors above");
    }
    // (c) reads by id and searches by e-mail.
    let reads = {
        let (http, base, auth, ids) = (http.clone(), base.clone(), auth.clone(), ids.clone());
        load(args.concurrency, args.duration, move |n| {
            let (http, base, auth, ids) = (http.clone(), base.clone(), auth.clone(), ids.clone());
            async move {
                let (_, id) = &ids[(mix(n) % ids.len() as u64) as usize];
                matches!(http.get(format!("{base}/api/v1/contacts/{id}")).header("authorization", auth).send().await, Ok(r) if r.status() == 200)
            }
        })
        .await
    };
    report("(c1) read contact by id via API", &reads);
    let searches = {
        let (http, base, auth, ids) = (http.clone(), base.clone(), auth.clone(), ids.clone());
        load(args.concurrency, args.duration, move |n| {
            let (http, base, auth, ids) = (http.clone(), base.clone(), auth.clone(), ids.clone());
            async move {
                let (k, id) = &ids[(mix(n) % ids.len() as u64) as usize];
                let res = http
                    .get(format!("{base}/api/v1/contacts"))
                    .query(&[("email", format!("bench{k}@example.com"))])
                    .header("authorization", auth)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 200 => r
                        .json::<serde_json::Value>()
                        .await
                        .is_ok_and(|v| v["items"][0]["id"].as_str() == Some(id.as_str())),
                    _ => false,
                }
            }
        })
        .await
    };
    report("(c2) search contact by e-mail via API", &searches);

    // (d) the ceiling: hello-JSON on the same TLS stack.
    let hello_port = free_port()?;
    let _hello = Server(
        Command::new(&hello)
            .arg(data.join("tls/cert.pem"))
            .arg(data.join("tls/key.pem"))
            .arg(format!("127.0.0.1:{hello_port}"))
            .spawn()?,
    );
    let hello_url = format!("https://127.0.0.1:{hello_port}/hello");
    wait_healthy(&http, &hello_url).await?;
    let ceiling = {
        let http = http.clone();
        load(args.concurrency, args.duration, move |_| {
            let (http, url) = (http.clone(), hello_url.clone());
            async move { matches!(http.get(url).send().await, Ok(r) if r.status() == 200) }
        })
        .await
    };
    report("(d) hello-JSON axum on the same TLS (ceiling)", &ceiling);

    let sign_ins = sign_in_phases(&args, &http, &base, &auth, &ids, &cert).await?;

    // (e) CSV import through the API vs (f) the same rows bulk-inserted as plaintext.
    let csv = import_csv(args.import_rows, &ids);
    let t = Instant::now();
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.clone().into_bytes()).file_name("bench.csv"),
        )
        .text("on_duplicate", "skip");
    let res = http
        .post(format!("{base}/api/v1/imports/contacts"))
        .header("authorization", &auth)
        .multipart(form)
        .send()
        .await?;
    let status = res.status();
    let import_report: serde_json::Value = res.json().await?;
    let import_time = t.elapsed();
    if status != 200 {
        bail!("the import failed: {status} {import_report}");
    }
    let imported = import_report["created"].as_u64().unwrap_or(0);
    let import_rate = args.import_rows as f64 / import_time.as_secs_f64();
    println!(
        "(e) CSV import via HTTPS API (encrypted, dedup)   {import_rate:>10.0} rows/s   ({} rows in {:.2} s: {imported} created, {} duplicates skipped)",
        args.import_rows,
        import_time.as_secs_f64(),
        import_report["skipped"]
    );
    let db = data.join("custodian.db");
    let (narrow_rows, narrow_time) =
        baseline_bulk_insert(&db, &csv, PlainIndexes::EmailOnly).await?;
    let narrow_rate = narrow_rows as f64 / narrow_time.as_secs_f64();
    let (plain_rows, plain_time) =
        baseline_bulk_insert(&db, &csv, PlainIndexes::SameSearches).await?;
    let plain_rate = plain_rows as f64 / plain_time.as_secs_f64();
    println!(
        "(f) plaintext bulk insert, same searches (base)  {plain_rate:>10.0} rows/s   ({plain_rows} rows in {:.2} s; e-mail, phone and name words indexed)",
        plain_time.as_secs_f64()
    );
    println!(
        "(f0) plaintext bulk insert, e-mail index only    {narrow_rate:>10.0} rows/s   ({narrow_rows} rows in {:.2} s)",
        narrow_time.as_secs_f64()
    );

    let a_b = create.per_second() / baseline.per_second().max(1e-9);
    let c_d = reads.per_second() / ceiling.per_second().max(1e-9);
    let s_d = searches.per_second() / ceiling.per_second().max(1e-9);
    println!();
    println!(
        "ratio (a)/(b) creates vs plaintext inserts: {a_b:.2}  (target ≥ 0.5: {})",
        verdict(a_b >= 0.5)
    );
    println!(
        "ratio (c1)/(d) reads vs ceiling:             {c_d:.2}  (target ≥ 0.2: {})",
        verdict(c_d >= 0.2)
    );
    println!("ratio (c2)/(d) e-mail searches vs ceiling:   {s_d:.2}");
    let e_f = import_rate / plain_rate.max(1e-9);
    let e_f0 = import_rate / narrow_rate.max(1e-9);
    println!(
        "ratio (e)/(f) import vs plaintext bulk insert: {e_f:.2}  (target ≥ 0.5: {}; {import_rate:.0} rows/s, target ≥ 40,000: {})",
        verdict(e_f >= 0.5),
        verdict(import_rate >= 40_000.0)
    );
    println!("ratio (e)/(f0) import vs e-mail-only plaintext: {e_f0:.2}");
    sign_ins.print_ratios(reads.per_second());
    println!(
        "server peak RSS so far: {:.1} MiB",
        peak_rss_kib(server.0.id()).unwrap_or(0) as f64 / 1024.0
    );

    if args.search_contacts > 0 {
        large_data_set(&args, &custodian, &data, &http, &auth, &mut server).await?;
    }
    Ok(())
}

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "load test passphrase 42";

struct SignInResults {
    logins: Stats,
    hashes: Stats,
    throttled_flood_reads: Stats,
    hashing_flood_reads: Stats,
}

impl SignInResults {
    fn print_ratios(&self, normal_reads: f64) {
        let g_h = self.hashes.per_second() / self.logins.per_second().max(1e-9);
        println!(
            "ratio (h)/(g) Argon2id alone vs sign-in (time per sign-in over hash): {g_h:.2}  (target ≤ 1.2: {})",
            verdict(g_h <= 1.2)
        );
        for (label, stats) in [
            (
                "(i1) reads during a one-address flood",
                &self.throttled_flood_reads,
            ),
            (
                "(i2) reads during a 64-address flood",
                &self.hashing_flood_reads,
            ),
        ] {
            let r = stats.per_second() / normal_reads.max(1e-9);
            println!(
                "ratio {label} vs (c1): {r:.2}  (target ≥ 0.5: {})",
                verdict(r >= 0.5)
            );
        }
    }
}

/// A client whose connections leave from `source` (any 127.0.0.0/8 address works on Linux).
fn client_from(cert: &[u8], source: std::net::IpAddr) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert)?])
        .http1_only()
        .local_address(source)
        .build()?)
}

/// (g), (h) and (i): sign-in cost against bare Argon2id, and reads while sign-ins are flooded.
async fn sign_in_phases(
    args: &Args,
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    ids: &Arc<Vec<(u64, String)>>,
    cert: &[u8],
) -> anyhow::Result<SignInResults> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // (g) right-password sign-ins, enough at once to keep every hashing permit busy.
    let logins = {
        let (http, url) = (http.clone(), format!("{base}/api/v1/auth/login"));
        load(cores * 4, args.duration, move |_| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let res = http
                    .post(url)
                    .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
                    .send()
                    .await;
                matches!(res, Ok(r) if r.status() == 200)
            }
        })
        .await
    };
    report("(g) sign-in via HTTPS API (Argon2id + session)", &logins);

    // (h) the same verification alone, one blocking thread per core.
    let rng = custodian_crypto::random::SystemRandom;
    let hasher = custodian_crypto::password::PasswordHasher::new(Default::default(), &rng)?;
    let secret = secrecy::SecretString::from(ADMIN_PASSWORD.to_owned());
    let phc = hasher.hash(&secret, &rng)?;
    let hashes = {
        let (hasher, phc) = (hasher.clone(), Arc::new(phc));
        load(cores, args.duration, move |_| {
            let (hasher, phc) = (hasher.clone(), phc.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let secret = secrecy::SecretString::from(ADMIN_PASSWORD.to_owned());
                    matches!(
                        hasher.verify(&secret, &phc),
                        Ok(custodian_crypto::password::PasswordCheck::Valid { .. })
                    )
                })
                .await
                .unwrap_or(false)
            }
        })
        .await
    };
    report("(h) Argon2id verification alone (baseline)", &hashes);

    // (i) reads by id while wrong-password sign-ins flood in.
    let reads_during = |flood_clients: Vec<reqwest::Client>, label: &'static str| {
        let (http, base, auth, ids) = (http.clone(), base.to_owned(), auth.to_owned(), ids.clone());
        let duration = args.duration;
        let concurrency = args.concurrency;
        async move {
            let refused = Arc::new(AtomicU64::new(0));
            let flood = {
                let (clients, url, refused) = (
                    Arc::new(flood_clients),
                    format!("{base}/api/v1/auth/login"),
                    refused.clone(),
                );
                tokio::spawn(load(32, duration, move |n| {
                    let client = clients[(n % clients.len() as u64) as usize].clone();
                    let (url, refused) = (url.clone(), refused.clone());
                    async move {
                        let res = client
                            .post(url)
                            .json(&json!({"email": format!("guess{n}@example.com"), "password": "Winter2026!"}))
                            .send()
                            .await;
                        if matches!(&res, Ok(r) if r.status() == 429) {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        matches!(res, Ok(r) if r.status() == 401 || r.status() == 429)
                    }
                }))
            };
            let reads = load(concurrency, duration, move |n| {
                let (http, base, auth, ids) = (http.clone(), base.clone(), auth.clone(), ids.clone());
                async move {
                    let (_, id) = &ids[(mix(n) % ids.len() as u64) as usize];
                    matches!(http.get(format!("{base}/api/v1/contacts/{id}")).header("authorization", auth).send().await, Ok(r) if r.status() == 200)
                }
            })
            .await;
            let flood = flood
                .await
                .unwrap_or_else(|_| stats(Vec::new(), 0, duration));
            report(label, &reads);
            println!(
                "     the flood: {:.0} wrong sign-ins/s answered, {} of them refused at once (429)",
                flood.per_second(),
                refused.load(Ordering::Relaxed)
            );
            reads
        }
    };
    let one = vec![http.clone()];
    let throttled_flood_reads =
        reads_during(one, "(i1) reads by id during a one-address flood").await;
    let many = (0..64u8)
        .map(|i| client_from(cert, std::net::IpAddr::from([127, 0, 1, i + 1])))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let hashing_flood_reads =
        reads_during(many, "(i2) reads by id during a 64-address flood").await;
    Ok(SignInResults {
        logins,
        hashes,
        throttled_flood_reads,
        hashing_flood_reads,
    })
}

/// A new data directory with the benchmark's administrator; returns an API token for them.
fn init_data_dir(custodian: &Path, data: &Path) -> anyhow::Result<String> {
    let password = data.with_extension("password");
    std::fs::write(&password, format!("{ADMIN_PASSWORD}\n"))?;
    run(Command::new(custodian)
        .args([
            "init",
            "--admin-email",
            ADMIN_EMAIL,
            "--admin-password-file",
        ])
        .arg(&password)
        .arg("--data-dir")
        .arg(data))?;
    Ok(run(Command::new(custodian)
        .args([
            "token",
            "create",
            "--user",
            "bench@example.com",
            "--name",
            "bench",
            "--data-dir",
        ])
        .arg(data))?
    .trim()
    .to_owned())
}

/// `custodian demo seed --contacts n`, timed.
fn seed(custodian: &Path, data: &Path, n: usize) -> anyhow::Result<f64> {
    let t = Instant::now();
    run(Command::new(custodian)
        .args(["demo", "seed", "--contacts", &n.to_string(), "--data-dir"])
        .arg(data)
        .env("CUSTODIAN_LOG__LEVEL", "warn"))?;
    Ok(t.elapsed().as_secs_f64())
}

/// Requests not counted before each latency series: they warm the connection and page cache.
const WARM_UP: usize = 50;
/// Requests counted in each latency series.
const ROUNDS: usize = 500;

/// One GET at a time (latency, not throughput); a request only counts as ok if its page holds
/// at least `min_items` items.
async fn sequential(http: &reqwest::Client, url: &str, auth: &str, min_items: usize) -> Stats {
    let mut latencies = Vec::with_capacity(ROUNDS);
    let mut failed = 0;
    let start = Instant::now();
    for i in 0..WARM_UP + ROUNDS {
        let t = Instant::now();
        let ok = match http.get(url).header("authorization", auth).send().await {
            Ok(r) if r.status() == 200 => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["items"].as_array().is_some_and(|a| a.len() >= min_items)),
            _ => false,
        };
        if i >= WARM_UP {
            if ok {
                latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            } else {
                failed += 1;
            }
        }
    }
    stats(latencies, failed, start.elapsed())
}

/// The first pages people open all day: the contact list, the deal list (50 rows each) and a
/// contact's timeline (one that has activities).
struct FirstPages {
    contacts: Stats,
    deals: Stats,
    timeline: Stats,
}

async fn first_pages(http: &reqwest::Client, base: &str, auth: &str) -> anyhow::Result<FirstPages> {
    let activity: serde_json::Value = http
        .get(format!("{base}/api/v1/activities?limit=1"))
        .header("authorization", auth)
        .send()
        .await?
        .json()
        .await?;
    let contact = activity["items"][0]["contact_id"]
        .as_str()
        .context("the demo data has no activity on a contact")?
        .to_owned();
    Ok(FirstPages {
        contacts: sequential(http, &format!("{base}/api/v1/contacts?limit=50"), auth, 50).await,
        deals: sequential(http, &format!("{base}/api/v1/deals?limit=50"), auth, 50).await,
        timeline: sequential(
            http,
            &format!("{base}/api/v1/contacts/{contact}/timeline?limit=50"),
            auth,
            1,
        )
        .await,
    })
}

/// Contacts in the reference data set the first pages at scale are compared with.
const REFERENCE_CONTACTS: usize = 10_000;

/// The first pages' p95 on a fresh data set of [`REFERENCE_CONTACTS`] demo contacts.
async fn reference_first_pages(custodian: &Path, root: &Path) -> anyhow::Result<FirstPages> {
    let data = root.join("reference");
    let token = init_data_dir(custodian, &data)?;
    seed(custodian, &data, REFERENCE_CONTACTS)?;
    let port = free_port()?;
    let _server = start_custodian(custodian, &data, port)?;
    let base = format!("https://127.0.0.1:{port}");
    // The reference server has its own self-signed certificate.
    let cert = std::fs::read(data.join("tls/cert.pem"))?;
    let http = client(&cert)?;
    wait_healthy(&http, &format!("{base}/api/v1/health")).await?;
    first_pages(&http, &base, &format!("Bearer {token}")).await
}

/// The contact list's first page for a sales user limited by the policies to their team and
/// territory (the demo's `china-sales` / `cn`, about half the contacts), against the same page
/// for the administrator, who reads every record: the policies' condition is part of the
/// query, so the restricted page should cost about what the unrestricted one does.
async fn territory_pages(
    custodian: &Path,
    data: &Path,
    http: &reqwest::Client,
    base: &str,
    admin_auth: &str,
    n: usize,
) -> anyhow::Result<()> {
    let password = data.with_extension("rep-password");
    std::fs::write(&password, format!("{ADMIN_PASSWORD}\n"))?;
    run(Command::new(custodian)
        .args([
            "user",
            "add",
            "--email",
            "rep@example.com",
            "--roles",
            "sales",
            "--team",
            "china-sales",
            "--region",
            "cn",
            "--password-file",
        ])
        .arg(&password)
        .arg("--data-dir")
        .arg(data))?;
    let token = run(Command::new(custodian)
        .args([
            "token",
            "create",
            "--user",
            "rep@example.com",
            "--name",
            "rep",
            "--data-dir",
        ])
        .arg(data))?;
    let rep_auth = format!("Bearer {}", token.trim());
    let url = format!("{base}/api/v1/contacts?limit=50");
    let unrestricted = sequential(http, &url, admin_auth, 50).await;
    let restricted = sequential(http, &url, &rep_auth, 50).await;
    let ratio = restricted.p95_us as f64 / (unrestricted.p95_us as f64).max(1.0);
    println!(
        "contact list (50 rows) at {n} contacts, p95: unrestricted {:.2} ms, team and territory restricted {:.2} ms, ratio {ratio:.2}  (target ≤ 1.3: {}; restricted ≤ 50 ms: {}; {} + {} failed)",
        unrestricted.p95_us as f64 / 1000.0,
        restricted.p95_us as f64 / 1000.0,
        verdict(ratio <= 1.3),
        verdict(restricted.p95_us <= 50_000),
        unrestricted.failed,
        restricted.failed
    );
    Ok(())
}

fn compare_first_pages(small: &FirstPages, large: &FirstPages, n: usize) {
    println!("first pages at {REFERENCE_CONTACTS} vs {n} contacts, one request at a time (p95):");
    for (label, s, l) in [
        ("contact list (50 rows)", &small.contacts, &large.contacts),
        ("deal list (50 rows)", &small.deals, &large.deals),
        ("a contact's timeline", &small.timeline, &large.timeline),
    ] {
        let ratio = l.p95_us as f64 / (s.p95_us as f64).max(1.0);
        println!(
            "  {label:<24} {:>7.2} ms → {:>7.2} ms   ratio {ratio:.2} (target ≤ 1.5: {}; ≤ 50 ms: {}; {} + {} failed)",
            s.p95_us as f64 / 1000.0,
            l.p95_us as f64 / 1000.0,
            verdict(ratio <= 1.5),
            verdict(l.p95_us <= 50_000),
            s.failed,
            l.failed
        );
    }
}

async fn large_data_set(
    args: &Args,
    custodian: &Path,
    data: &Path,
    http: &reqwest::Client,
    auth: &str,
    server: &mut Server,
) -> anyhow::Result<()> {
    let n = args.search_contacts;
    let _ = server.0.kill();
    let _ = server.0.wait();
    println!();
    // The reference first, so the large data set's server is the one left running.
    let reference =
        reference_first_pages(custodian, data.parent().context("no data parent")?).await?;
    println!("seeding {n} demo contacts through the use cases (batches of 500)…");
    let seed_secs = seed(custodian, data, n)?;
    println!(
        "seeded in {seed_secs:.0} s ({:.0} contacts/s, encrypted and indexed)",
        n as f64 / seed_secs
    );
    let db_bytes: u64 = ["custodian.db", "custodian.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(data.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!("database size: {:.0} MiB", db_bytes as f64 / 1_048_576.0);

    let port = free_port()?;
    *server = start_custodian(custodian, data, port)?;
    let base = format!("https://127.0.0.1:{port}");
    wait_healthy(http, &format!("{base}/api/v1/health")).await?;
    let email = |k: usize| {
        custodian::demo::contact_input(k, 0x5EED, None)
            .emails
            .first()
            .cloned()
            .unwrap_or_default()
    };
    // One request at a time: latency, not throughput.
    let mut latencies = Vec::new();
    let mut failed = 0;
    let start = Instant::now();
    for i in 0..2_200u64 {
        let k = (mix(i) % n as u64) as usize;
        let t = Instant::now();
        let res = http
            .get(format!("{base}/api/v1/contacts"))
            .query(&[("email", email(k))])
            .header("authorization", auth)
            .send()
            .await;
        let ok = match res {
            Ok(r) if r.status() == 200 => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["items"].as_array().is_some_and(|a| a.len() == 1)),
            _ => false,
        };
        // The first 200 warm the page cache and connection; they are not counted.
        if i >= 200 {
            if ok {
                latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            } else {
                failed += 1;
            }
        }
    }
    let search = stats(latencies, failed, start.elapsed());
    println!(
        "search by e-mail at {n} contacts, sequential: p50 {:.2} ms, p99 {:.2} ms ({} ok, {} failed)  (target p99 ≤ 5 ms: {})",
        search.p50_us as f64 / 1000.0,
        search.p99_us as f64 / 1000.0,
        search.ok,
        search.failed,
        verdict(search.p99_us <= 5_000 && search.failed == 0)
    );
    let large = first_pages(http, &base, auth).await?;
    compare_first_pages(&reference, &large, n);
    territory_pages(custodian, data, http, &base, auth, n).await?;
    // Concurrent list + search traffic to push memory to its working peak.
    let (http2, base2, auth2) = (http.clone(), base.clone(), auth.to_owned());
    let mixed = load(args.concurrency, args.duration, move |i| {
        let (http, base, auth) = (http2.clone(), base2.clone(), auth2.clone());
        async move {
            let url = if i % 2 == 0 {
                format!("{base}/api/v1/contacts?limit=200")
            } else {
                format!("{base}/api/v1/contacts?limit=50&sort=-updated")
            };
            matches!(http.get(url).header("authorization", auth).send().await, Ok(r) if r.status() == 200)
        }
    })
    .await;
    report("list pages (200 and 50 rows) at scale", &mixed);
    let rss = peak_rss_kib(server.0.id()).unwrap_or(0) as f64 / 1024.0;
    println!(
        "server peak RSS at {n} contacts: {rss:.1} MiB  (target ≤ 150 MB: {})",
        verdict(rss * 1.048_576 <= 150.0)
    );
    Ok(())
}
