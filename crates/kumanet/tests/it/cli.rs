//! The `kumanet` binary as operators script it: serve (plain and TLS), migrate, audit verify, demo,
//! config example. SQLite, in a fresh data directory each.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kumanet");

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("kumanet-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `kumanet serve`, killed when dropped; its stdout lines arrive on a channel.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(dir: &TempDir, port: u16, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir", dir.arg()])
        .env_remove("KUMANET_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Server { child, lines }
}

impl Server {
    fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("server never printed '{needle}': {e}"),
            }
        }
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env_remove("KUMANET_DATABASE_URL").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn serve_prints_the_one_time_setup_url_and_answers_healthz() {
    let dir = TempDir::new();
    let port = free_port();
    let srv = serve(&dir, port, &[]);
    let line = srv.wait_for("/setup?token=");
    let url = line.trim().to_string();
    assert!(url.starts_with(&format!("http://127.0.0.1:{port}/setup?token=")), "{url}");
    srv.wait_for("Plain HTTP");
    let http = reqwest::Client::new();
    let health = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let setup = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(setup.contains("初期設定"), "{setup}");
    let wrong = http.get(format!("http://127.0.0.1:{port}/setup?token=nope")).send().await.unwrap();
    assert_eq!(wrong.status(), 400);
    // SQLite runs with WAL and the audit key lives in its own file, readable by the owner only.
    assert!(dir.path().join("kumanet.db-wal").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("audit.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Log in `n` times as a demo user through the real server (each login adds an audit row).
async fn demo_logins(dir: &TempDir, demo_out: &str, n: usize) {
    let password = demo_out
        .lines()
        .find(|l| l.trim_start().starts_with("himawari.ns"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let port = free_port();
    let srv = serve(dir, port, &[]);
    srv.wait_for("listening");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..n {
        let page = http.get(format!("{base}/login")).send().await.unwrap();
        let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let csrf = cookie.split('=').nth(1).unwrap().to_string();
        let form = format!("login_id=himawari.ns&password={}&csrf={csrf}", password);
        let r = http
            .post(format!("{base}/login"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
    drop(srv);
}

#[tokio::test]
async fn r11_1_audit_verify_names_the_row_edited_with_sqlite() {
    let dir = TempDir::new();
    let (code, out, err) = run(&["demo", "--data-dir", dir.arg()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("demo.center") && out.contains("himawari.dr"), "{out}");
    let (code, _, err) = run(&["demo", "--data-dir", dir.arg()]);
    assert_ne!(code, 0, "demo refuses a database that is not empty");
    assert!(err.contains("not empty"), "{err}");
    demo_logins(&dir, &out, 3).await;
    let (code, out, _) = run(&["audit", "verify", "--data-dir", dir.arg()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 rows, chain intact"), "{out}");
    // Edit row 3 with the sqlite3 tool (after dropping the trigger that forbids it).
    let db = dir.path().join("kumanet.db");
    let edit = Command::new("sqlite3")
        .arg(&db)
        .arg("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET ip = '192.0.2.1' WHERE seq = 3;")
        .output()
        .unwrap();
    assert!(edit.status.success(), "{}", String::from_utf8_lossy(&edit.stderr));
    let (code, out, _) = run(&["audit", "verify", "--data-dir", dir.arg()]);
    assert_eq!(code, 1);
    assert!(out.contains("first bad row seq=3"), "{out}");
}

/// R11.1: deleting the newest audit rows leaves a shorter chain that still verifies; the head
/// kept in a file beside the key finds it, `audit verify` says which rows are gone, and `serve`
/// refuses to start over the evidence.
#[tokio::test]
async fn r11_1_deleting_the_newest_audit_rows_is_found_by_the_head_file_with_sqlite() {
    let dir = TempDir::new();
    let (code, out, err) = run(&["demo", "--data-dir", dir.arg()]);
    assert_eq!(code, 0, "{err}");
    demo_logins(&dir, &out, 4).await;
    let head = std::fs::read_to_string(dir.path().join("audit.head")).unwrap();
    let (code, verified, _) = run(&["audit", "verify", "--data-dir", dir.arg()]);
    assert_eq!(code, 0, "{verified}");
    let rows: i64 = verified.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert_eq!(head.split(' ').next().unwrap(), rows.to_string(), "the head file names the newest row: {head}");
    assert!(verified.contains("agrees with the head file"), "{verified}");
    assert!(out.contains("demo.center"));
    let db = dir.path().join("kumanet.db");
    let cut = Command::new("sqlite3")
        .arg(&db)
        .arg(format!("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq > {};", rows - 2))
        .output()
        .unwrap();
    assert!(cut.status.success(), "{}", String::from_utf8_lossy(&cut.stderr));
    let (code, out, _) = run(&["audit", "verify", "--data-dir", dir.arg()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("first bad row seq={}", rows - 1)) && out.contains("missing"), "{out}");
    let (code, _, err) = run(&["serve", "--listen", &format!("127.0.0.1:{}", free_port()), "--data-dir", dir.arg()]);
    assert_ne!(code, 0);
    assert!(err.contains(&format!("the audit log ends at seq={}", rows - 2)), "{err}");
}

#[test]
fn r11_1_deleting_the_newest_audit_rows_is_found_by_the_head_file_with_psql() {
    let Some(db) = CliDb::create() else { return };
    let dir = TempDir::new();
    let (code, out) = db.run(&["demo", "--data-dir", dir.arg()]);
    assert_eq!(code, 0, "{out}");
    db.psql(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; \
         DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 3 FROM audit_log);",
    );
    let (code, out) = db.run(&["audit", "verify", "--data-dir", dir.arg()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing: the head kept outside the database names seq="), "{out}");
}

#[test]
fn migrate_is_idempotent() {
    let dir = TempDir::new();
    for _ in 0..2 {
        let (code, out, err) = run(&["migrate", "--data-dir", dir.arg()]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("up to date"));
    }
    let rows = Command::new("sqlite3")
        .arg(dir.path().join("kumanet.db"))
        .arg("SELECT name FROM schema_migrations")
        .output()
        .unwrap();
    let names: Vec<&str> = kumanet_store::MIGRATIONS.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(String::from_utf8_lossy(&rows.stdout).trim(), names.join("\n"));
    assert!(names.len() >= 4);
}

#[test]
fn config_example_and_readme_document_every_setting() {
    let (code, out, _) = run(&["config", "example"]);
    assert_eq!(code, 0);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for (key, var, ..) in kumanet::config::SETTINGS {
        assert!(out.contains(var) && out.contains(key), "config example lacks {key}");
        assert!(readme.contains(var), "README's configuration table lacks {var}");
    }
}

#[tokio::test]
async fn r9_2_serve_terminates_tls_1_2_and_1_3_only() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI requires openssl for the TLS test");
        crate::helpers::skipped("TLS test (no openssl)");
        return;
    }
    let dir = TempDir::new();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let gen = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(gen.status.success());
    let port = free_port();
    let srv =
        serve(&dir, port, &[("KUMANET_TLS_CERT", cert.to_str().unwrap()), ("KUMANET_TLS_KEY", key.to_str().unwrap())]);
    srv.wait_for("listening on https://");
    let probe = |flag: &str| {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), flag])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert!(probe("-tls1_3").contains(", TLSv1.3, Cipher is "));
    assert!(probe("-tls1_2").contains(", TLSv1.2, Cipher is "));
    let old = probe("-tls1_1");
    assert!(!old.contains("TLSv1.1, Cipher is") && old.contains("Cipher    : 0000"), "TLS 1.1 negotiated: {old}");
}

/// A PostgreSQL database of its own for a command-line test, dropped at the end.
struct CliDb {
    server: String,
    name: String,
    url: String,
}

impl CliDb {
    fn create() -> Option<CliDb> {
        let server = crate::helpers::pg_url()?;
        let name = format!("kumanet_cli_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let url = format!("{}/{name}", server.rsplit_once('/').expect("a database URL").0);
        let db = CliDb { server, name, url };
        psql(&db.server, &format!("CREATE DATABASE {}", db.name));
        Some(db)
    }

    /// Run SQL in this database, as an operator (or an attacker) with psql would.
    fn psql(&self, sql: &str) {
        psql(&self.url, sql);
    }

    /// Run the kumanet binary on this database: its exit code and everything it printed.
    fn run(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(BIN).args(args).env("KUMANET_DATABASE_URL", &self.url).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }
}

impl Drop for CliDb {
    fn drop(&mut self) {
        let _ =
            Command::new("psql").arg(&self.server).args(["-q", "-c", &format!("DROP DATABASE {}", self.name)]).output();
    }
}

fn psql(target: &str, sql: &str) {
    let out = Command::new("psql").arg(target).args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().unwrap();
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn r11_1_audit_verify_names_the_row_edited_with_psql() {
    let Some(db) = CliDb::create() else { return };
    let dir = TempDir::new();
    let (code, out) = db.run(&["demo", "--data-dir", dir.arg()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = db.run(&["audit", "verify", "--data-dir", dir.arg()]);
    assert_eq!(code, 0, "{out}");
    db.psql(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; UPDATE audit_log SET details = '{}' WHERE seq = 1;",
    );
    let (code, out) = db.run(&["audit", "verify", "--data-dir", dir.arg()]);
    assert_eq!(code, 1);
    assert!(out.contains("first bad row seq=1"), "{out}");
}

/// Sign in on one node (sessions live in the shared database).
async fn login_on(srv: &crate::helpers::Srv, base: &str, login_id: &str) -> crate::helpers::Client {
    let c = crate::helpers::Client::new(srv).at(base);
    let r = c.post_form("/login", &[("login_id", login_id), ("password", crate::helpers::PASSWORD)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    c
}

/// Two `kumanet serve` processes on different ports share one PostgreSQL database: a post, a
/// 了解 and a removal made on one node reach the open pages on the other (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgresql_deliver_live_updates_to_each_other() {
    use crate::helpers::{spawn, Backend};
    let Some(srv) = spawn(Backend::Postgres).await else { return };
    let (t, _, group, _) = crate::posts::care_room(&srv).await;
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let node_a = crate::helpers::Node::start(&srv, dir_a.path(), &[]).await;
    let node_b = crate::helpers::Node::start(&srv, dir_b.path(), &[]).await;
    let (a, b) = (node_a.base.clone(), node_b.base.clone());
    let doctor = login_on(&srv, &a, "dr.a").await;
    let pharmacist = login_on(&srv, &b, "ph.p").await;
    let mut on_a = doctor.events(&format!("/groups/{group}/live")).await;
    let mut on_b = pharmacist.events(&format!("/groups/{group}/live")).await;
    let id = crate::posts::post(&doctor, &group, "ノードAから:今夜の訪問は21時です").await;
    let got = on_b.until("post", "ノードAから:今夜の訪問は21時です", 5).await.expect("the post crosses to node B");
    assert!(got.contains(&id));
    assert_eq!(pharmacist.post_form(&format!("/posts/{id}/ack"), &[]).await.status, 303);
    on_a.until("post", "了解: ", 5).await.expect("了解 crosses back to node A");
    // Removed on node A: the page open on node B is closed at once.
    let r = doctor.post_form(&format!("/groups/{group}/members/{}/remove", t.pharmacist_id), &[]).await;
    assert_eq!(r.status, 303);
    let closed = loop {
        let (name, _) = on_b.next(5).await.expect("node B hears the removal");
        if name != "post" {
            break name;
        }
    };
    assert_eq!(closed, "closed");
    assert!(on_b.next(2).await.is_none() && on_b.ended);
}
