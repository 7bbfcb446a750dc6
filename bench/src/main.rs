//! `kumanet-bench`: builds a region straight into a fresh database, starts the real server
//! (`kumanet serve`) on 127.0.0.1 as a separate process, drives it over HTTP and prints the
//! figures beside their targets. Bounded: a fixed number of requests per phase, time limits on
//! each, and everything it created (data directory, PostgreSQL schema) removed at the end.
//! See bench/README.md.

mod directory;
mod phases;
mod region;
mod server;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kumanet_store::{Store, StoreOptions};
use sqlx::Connection;

use crate::phases::Api;
use crate::region::Sizes;
use crate::server::Server;
use crate::stats::{ms, Samples};

pub type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "\
kumanet-bench [--db sqlite|postgres] [--quick] [--staff N] [--groups N] [--members N]
              [--posts-per-poster N] [--stored-posts N] [--idle N] [--timeline-readers N]
              [--directory-entries N] [--directory-requests N] [--directory-only]
              [--pg-url URL] [--server-bin PATH] [--no-build]

Builds a region in a fresh database, starts `kumanet serve` on 127.0.0.1 and prints posts/s and
post latency at 16 and 64 posters, post → live delivery latency, timeline latency, search
latency (when search exists), resource-directory search latency and the server's memory with
many idle live connections.
--quick: a small region for a smoke run (under a minute).
--directory-only: only the directory (no stored posts unless --stored-posts, no posting,
delivery, timeline, search or idle phases). See bench/README.md.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
struct Opts {
    db: Db,
    sizes: Sizes,
    posts_per_poster: usize,
    idle: usize,
    delivery_groups: usize,
    delivery_rounds: usize,
    timeline_requests: usize,
    timeline_readers: usize,
    /// Resource-directory entries seeded before the run (0: no directory phase).
    directory_entries: usize,
    /// Requests per kind of directory query.
    directory_requests: usize,
    directory_only: bool,
    pg_url: String,
    server_bin: Option<PathBuf>,
    build: bool,
}

impl Opts {
    fn parse(args: &[String]) -> R<Opts> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut o = if quick {
            Opts {
                db: Db::Sqlite,
                sizes: Sizes { staff: 200, groups: 50, members: 8, stored_posts: 20_000 },
                posts_per_poster: 20,
                idle: 500,
                delivery_groups: 8,
                delivery_rounds: 5,
                timeline_requests: 200,
                timeline_readers: 4,
                directory_entries: 2_000,
                directory_requests: 100,
                directory_only: false,
                pg_url: String::new(),
                server_bin: None,
                build: true,
            }
        } else {
            Opts {
                db: Db::Sqlite,
                sizes: Sizes { staff: 2_000, groups: 500, members: 8, stored_posts: 1_000_000 },
                posts_per_poster: 200,
                idle: 5_000,
                delivery_groups: 32,
                delivery_rounds: 10,
                timeline_requests: 2_000,
                timeline_readers: 4,
                directory_entries: 20_000,
                directory_requests: 300,
                directory_only: false,
                pg_url: String::new(),
                server_bin: None,
                build: true,
            }
        };
        o.pg_url = "postgres://postgres@127.0.0.1:5432/test".into();
        let mut stored_posts_given = false;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            let mut number = || -> R<usize> { Ok(value()?.replace('_', "").parse()?) };
            match a.as_str() {
                "--quick" => {}
                "--db" => {
                    o.db = match value()?.as_str() {
                        "sqlite" => Db::Sqlite,
                        "postgres" | "postgresql" => Db::Postgres,
                        other => return Err(format!("--db {other}: sqlite or postgres").into()),
                    }
                }
                "--staff" => o.sizes.staff = number()?,
                "--groups" => o.sizes.groups = number()?,
                "--members" => o.sizes.members = number()?,
                "--posts-per-poster" => o.posts_per_poster = number()?,
                "--stored-posts" => {
                    o.sizes.stored_posts = number()?;
                    stored_posts_given = true;
                }
                "--idle" => o.idle = number()?,
                "--timeline-readers" => o.timeline_readers = number()?,
                "--directory-entries" => o.directory_entries = number()?,
                "--directory-requests" => o.directory_requests = number()?,
                "--directory-only" => o.directory_only = true,
                "--pg-url" => o.pg_url = value()?.clone(),
                "--server-bin" => o.server_bin = Some(PathBuf::from(value()?)),
                "--no-build" => o.build = false,
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other}\n\n{USAGE}").into()),
            }
        }
        if o.sizes.staff < 10 || o.sizes.groups == 0 || o.sizes.members < 2 {
            return Err("the region needs at least 10 staff (one in ten is a doctor), 1 group and 2 members".into());
        }
        if o.directory_only {
            if o.directory_entries == 0 || o.directory_requests == 0 {
                return Err("--directory-only needs --directory-entries and --directory-requests above 0".into());
            }
            // The posts are not read in this run: none stored unless asked for.
            if !stored_posts_given {
                o.sizes.stored_posts = 0;
            }
            o.idle = 0;
        }
        Ok(o)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match Opts::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kumanet-bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database of one run and how to remove it.
struct Database {
    url: String,
    /// What the server is given (PostgreSQL: the schema in the URL's options).
    server_url: String,
    pg_schema: Option<String>,
}

async fn run(o: &Opts) -> R<()> {
    let needed = (o.idle + o.delivery_groups * o.sizes.members + 1_000) as u64;
    if let Some(limit) = server::open_files_limit() {
        if limit < needed && !o.directory_only {
            return Err(format!(
                "the open-files limit is {limit}; {needed} are needed for {} idle connections: run `ulimit -n 20000` first",
                o.idle
            )
            .into());
        }
    }
    let bin = server_binary(o)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("kumanet-bench-{}", &id[..12]));
    std::fs::create_dir_all(&dir)?;
    let db = match o.db {
        Db::Sqlite => {
            let url = format!("sqlite://{}", dir.join("kumanet.db").display());
            Database { url: url.clone(), server_url: url, pg_schema: None }
        }
        Db::Postgres => {
            let schema = format!("bench_{}", &id[..12]);
            let mut c = sqlx::PgConnection::connect(&o.pg_url).await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut c).await?;
            c.close().await?;
            let sep = if o.pg_url.contains('?') { '&' } else { '?' };
            let server_url = format!("{}{sep}options=-c%20search_path%3D{schema}", o.pg_url);
            Database { url: o.pg_url.clone(), server_url, pg_schema: Some(schema) }
        }
    };
    let result = measure(o, &bin, &dir, &db).await;
    if let Some(schema) = &db.pg_schema {
        match sqlx::PgConnection::connect(&db.url).await {
            Ok(mut c) => {
                if let Err(e) = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c).await {
                    eprintln!("could not drop schema {schema}: {e}");
                }
                let _ = c.close().await;
            }
            Err(e) => eprintln!("could not drop schema {schema}: {e}"),
        }
    }
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("could not remove {}: {e}", dir.display());
    }
    result
}

/// `kumanet` next to this binary, built first (release) unless told otherwise.
fn server_binary(o: &Opts) -> R<PathBuf> {
    if let Some(bin) = &o.server_bin {
        return Ok(bin.clone());
    }
    if o.build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        println!("building the server: cargo build --release -p kumanet");
        let status = std::process::Command::new(cargo)
            .args(["build", "--release", "-p", "kumanet"])
            .current_dir(workspace)
            .status()?;
        if !status.success() {
            return Err("cargo build --release -p kumanet failed".into());
        }
    }
    let bin = std::env::current_exe()?.parent().ok_or("no directory for this binary")?.join("kumanet");
    if !bin.exists() {
        return Err(format!("{} is missing: build it (cargo build --release -p kumanet)", bin.display()).into());
    }
    Ok(bin)
}

/// One line of the report.
struct Row {
    name: String,
    value: String,
    target: &'static str,
    ok: Option<bool>,
}

fn row(name: impl Into<String>, value: impl Into<String>, target: &'static str, ok: Option<bool>) -> Row {
    Row { name: name.into(), value: value.into(), target, ok }
}

fn p50_p99(s: &Samples) -> String {
    match s.p50_p99() {
        Some((a, b)) => format!("{:.1} / {:.1} ms", ms(a), ms(b)),
        None => "no samples".into(),
    }
}

fn p99_within(s: &Samples, limit: Duration) -> Option<bool> {
    s.percentile(99.0).map(|p| p <= limit)
}

fn megabytes(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

async fn measure(o: &Opts, bin: &Path, dir: &Path, db: &Database) -> R<()> {
    let backend = match o.db {
        Db::Sqlite => "SQLite (WAL, synchronous=FULL)",
        Db::Postgres => "PostgreSQL",
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("Kumanet benchmark on {backend}, {cores} cores, server and load generator on this machine");

    // The audit key: 32 random bytes, hex, mode 0600, shared by the seeding store and the server.
    let key_hex = kumanet_web::passwords::random_token(32);
    let key_file = dir.join("audit.key");
    std::fs::write(&key_file, format!("{key_hex}\n"))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))?;
    }

    println!("seeding the region …");
    let store = Store::open(
        &StoreOptions {
            url: db.url.clone(),
            pg_schema: db.pg_schema.clone(),
            max_connections: 4,
            audit_head_file: None,
        },
        hex::decode(&key_hex)?,
    )
    .await?;
    let region = region::seed(&store, &o.sizes).await?;
    let seconds_directory =
        if o.directory_entries > 0 { directory::seed(&store, &region, o.directory_entries).await? } else { 0.0 };
    store.close().await;

    let server = Server::start(bin, dir, &db.server_url, &key_file).await?;
    let at_start = server.memory()?;
    println!(
        "server up on {} (pid RSS {:.0} MB); log: {}",
        server.base(),
        megabytes(at_start.rss_kib),
        server.log().display()
    );
    let api = Api::new(server.base())?;

    let mut rows = Vec::new();
    let figures = phases_in_order(o, &api, &server, &region, &mut rows).await;
    let end = server.memory();
    server.stop().await;
    if let Err(e) = figures {
        print_rows(&rows);
        return Err(e);
    }
    if let Ok(end) = end {
        rows.push(row("peak RSS over the whole run (VmHWM)", format!("{:.0} MB", megabytes(end.hwm_kib)), "", None));
    }

    println!();
    println!(
        "region: {} staff in {} facilities, {} patient groups × {} members; {} posts stored before the run \
         (people {:.0} s, posts {:.0} s to seed)",
        o.sizes.staff,
        region.facilities,
        o.sizes.groups,
        o.sizes.members,
        o.sizes.stored_posts,
        region.seconds_people,
        region.seconds_posts
    );
    if o.directory_entries > 0 {
        println!(
            "directory: {} resource entries ({:.1} s to seed), {} requests per kind of query, {} readers",
            o.directory_entries, seconds_directory, o.directory_requests, o.timeline_readers
        );
    }
    print_rows(&rows);
    Ok(())
}

async fn phases_in_order(o: &Opts, api: &Api, server: &Server, region: &region::Region, rows: &mut Vec<Row>) -> R<()> {
    if !o.directory_only {
        traffic_phases(o, api, region, rows).await?;
    }
    if o.directory_entries > 0 && o.directory_requests > 0 {
        directory_phase(o, api, region, rows).await?;
    }
    if !o.directory_only {
        idle_phase(o, server, api, region, rows).await?;
    }
    Ok(())
}

/// Posting, delivery, timeline and search.
async fn traffic_phases(o: &Opts, api: &Api, region: &region::Region, rows: &mut Vec<Row>) -> R<()> {
    // Warm-up, not measured: every poster reads its timeline once (connections, caches).
    for i in 0..64 {
        let (g, u) = region.member(i, i / region.groups.len());
        api.timeline(&g.id, u).await?;
    }

    for posters in [16, 64] {
        println!("posting: {posters} posters × {} posts …", o.posts_per_poster);
        let p = phases::posting(api, region, posters, o.posts_per_poster).await;
        let per_s = p.per_second();
        let (rate_target, lat_target, rate_ok, lat_ok) = if posters == 64 {
            (
                "≥ 5000",
                "p99 ≤ 50 ms",
                Some(per_s >= 5_000.0 && p.errors == 0),
                p99_within(&p.latency, Duration::from_millis(50)),
            )
        } else {
            ("", "", None, None)
        };
        rows.push(row(format!("confirmed posts/s @{posters}"), format!("{per_s:.0}"), rate_target, rate_ok));
        rows.push(row(format!("post latency p50/p99 @{posters}"), p50_p99(&p.latency), lat_target, lat_ok));
        if p.errors > 0 {
            rows.push(row(
                format!("  failed posts @{posters}"),
                format!("{} of {}", p.errors, p.errors + p.ok),
                "",
                Some(false),
            ));
            if let Some(e) = &p.first_error {
                println!("  first failure: {e}");
            }
        }
    }

    println!("delivery: {} groups, {} rounds …", o.delivery_groups, o.delivery_rounds);
    let d = phases::delivery(api, region, o.delivery_groups, o.delivery_rounds).await?;
    let all = d.latency.len() == d.expected && d.errors == 0;
    rows.push(row(
        "post → live delivery p50/p99",
        p50_p99(&d.latency),
        "p99 ≤ 100 ms",
        p99_within(&d.latency, Duration::from_millis(100)).map(|ok| ok && all),
    ));
    rows.push(row(
        "  deliveries received",
        format!("{} of {} ({} posts, {} streams)", d.latency.len(), d.expected, d.posts, d.streams),
        "",
        Some(all),
    ));
    if let Some(e) = &d.first_error {
        println!("  first failure: {e}");
    }

    println!("timeline: {} requests, {} readers …", o.timeline_requests, o.timeline_readers);
    let t = phases::timeline(api, region, o.timeline_requests, o.timeline_readers).await;
    rows.push(row(
        format!("timeline (latest {}) p50/p99", t.page),
        p50_p99(&t.latency),
        "p99 ≤ 10 ms",
        p99_within(&t.latency, Duration::from_millis(10)).map(|ok| ok && t.errors == 0),
    ));
    if t.errors > 0 {
        rows.push(row("  failed timeline reads", format!("{} of {}", t.errors, t.requests), "", Some(false)));
        if let Some(e) = &t.first_error {
            println!("  first failure: {e}");
        }
    }

    let requests = o.timeline_requests / 4;
    println!("search: {requests} requests, {} readers …", o.timeline_readers);
    match phases::search(api, region, requests, o.timeline_readers).await {
        Some(s) => {
            rows.push(row(
                "search p50/p99",
                p50_p99(&s.latency),
                "p99 ≤ 100 ms",
                p99_within(&s.latency, Duration::from_millis(100)).map(|ok| ok && s.errors == 0),
            ));
            if s.errors > 0 {
                rows.push(row("  failed searches", format!("{} of {}", s.errors, s.requests), "", Some(false)));
                if let Some(e) = &s.first_error {
                    println!("  first failure: {e}");
                }
            }
        }
        None => rows.push(row("search", "not implemented yet", "p99 ≤ 100 ms", None)),
    }
    Ok(())
}

/// Issue 6, R12.1: directory search, each kind of query on its own line, then all together.
async fn directory_phase(o: &Opts, api: &Api, region: &region::Region, rows: &mut Vec<Row>) -> R<()> {
    let readers = o.timeline_readers;
    println!(
        "directory: {} kinds of query × {} requests, {readers} readers, {} entries …",
        directory::QUERIES.len(),
        o.directory_requests,
        o.directory_entries
    );
    let limit = Duration::from_millis(100);
    let Some(d) = directory::search(api, region, o.directory_requests, readers).await? else {
        rows.push(row("directory search", "not implemented yet", "p99 ≤ 100 ms", None));
        return Ok(());
    };
    for (q, f) in directory::QUERIES.iter().zip(&d.per_query) {
        let params: Vec<String> = q.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {:<22} {:>6} matches, {:>2} on the page: {}", q.label, f.total, f.page, params.join("&"));
        if f.page == 0 {
            println!("  warning: {} returned an empty page", q.label);
        }
    }
    if let Some(rare) = d.per_query.get(3) {
        if rare.total != 1 {
            println!("  warning: the rare word matched {} entries, not 1", rare.total);
        }
    }
    for (q, f) in directory::QUERIES.iter().zip(&d.per_query) {
        rows.push(row(
            format!("directory p50/p99: {}", q.label),
            format!("{} (n={})", p50_p99(&f.latency), f.latency.len()),
            "p99 ≤ 100 ms",
            p99_within(&f.latency, limit).map(|ok| ok && f.errors == 0),
        ));
    }
    rows.push(row(
        "directory p50/p99: all kinds",
        format!("{} (n={})", p50_p99(&d.all), d.all.len()),
        "p99 ≤ 100 ms",
        p99_within(&d.all, limit).map(|ok| ok && d.errors == 0),
    ));
    rows.push(row(
        "  directory searches/s",
        format!("{:.0} ({} readers)", d.all.len() as f64 / d.took.as_secs_f64().max(1e-9), readers),
        "",
        None,
    ));
    if d.errors > 0 {
        rows.push(row(
            "  failed directory searches",
            format!("{} of {}", d.errors, d.errors + d.all.len()),
            "",
            Some(false),
        ));
        if let Some(e) = &d.first_error {
            println!("  first failure: {e}");
        }
    }
    Ok(())
}

/// Memory with many idle live connections.
async fn idle_phase(o: &Opts, server: &Server, api: &Api, region: &region::Region, rows: &mut Vec<Row>) -> R<()> {
    println!("idle: opening {} live connections …", o.idle);
    let idle = phases::open_idle(api, region, o.idle).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mem = server.memory()?;
    let held = idle.open.len();
    rows.push(row(
        format!("server RSS with {held} idle live connections"),
        format!("{:.0} MB", megabytes(mem.rss_kib)),
        "≤ 300 MB",
        Some(megabytes(mem.rss_kib) <= 300.0 && idle.errors == 0),
    ));
    rows.push(row(
        "  peak RSS so far (VmHWM)",
        format!("{:.0} MB (opened in {:.1} s)", megabytes(mem.hwm_kib), idle.took.as_secs_f64()),
        "",
        None,
    ));
    if idle.errors > 0 {
        rows.push(row("  failed to open", format!("{} of {}", idle.errors, o.idle), "", Some(false)));
        if let Some(e) = &idle.first_error {
            println!("  first failure: {e}");
        }
    }
    drop(idle);
    Ok(())
}

fn print_rows(rows: &[Row]) {
    println!("{:<40} {:>34}   {:<14}", "figure", "measured", "target");
    for r in rows {
        let mark = match r.ok {
            Some(true) => "✓",
            Some(false) => "✗",
            None => "",
        };
        println!("{:<40} {:>34}   {:<14} {mark}", r.name, r.value, r.target);
    }
}
