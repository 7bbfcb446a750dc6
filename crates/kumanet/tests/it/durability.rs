//! R11.3: nothing acknowledged that is not saved. A `kumanet serve` whose SQLite data directory
//! fills up answers 503 while it cannot save, recovers by itself when space returns, and after
//! kill -9 holds every post it answered 201, once; on PostgreSQL, connections cut while posts are
//! being committed lose none that were answered 201.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::helpers::*;

/// A small tmpfs mounted for one test (it takes root), unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(megabytes: u32) -> Option<Tmpfs> {
        let dir = std::env::temp_dir().join(format!("kumanet-full-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m,mode=0700"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir)),
            other => {
                let _ = std::fs::remove_dir(&dir);
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI requires mounting a tmpfs (root): {why}");
                skipped(&format!("disk-full test (cannot mount a tmpfs: {why})"));
                None
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Fill the file system holding `dir` with a ballast file, to the last block.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512] {
        let block = vec![0u8; chunk];
        while f.write_all(&block).is_ok() {}
    }
    let _ = f.sync_all();
    path
}

/// Confirm a post through the API (the one request a phone's 確定 makes).
async fn post(c: &Client, csrf: &str, group: &str, body: &str) -> Resp {
    let json = json!({ "body": body, "confirm": true }).to_string();
    c.send(
        "POST",
        &format!("/api/v1/groups/{group}/posts"),
        Some(("application/json", json)),
        &[("x-csrf-token", csrf)],
    )
    .await
}

/// Log in on `node`; the client and the answer.
async fn login_at(srv: &Srv, node: &Node, login_id: &str) -> (Client, Resp) {
    let c = Client::new(srv).at(&node.base);
    let r = c.post_form("/login", &[("login_id", login_id), ("password", PASSWORD)]).await;
    (c, r)
}

fn sqlite3(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().expect("sqlite3 runs");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_3_a_full_disk_acknowledges_nothing_unsaved_and_the_server_recovers_by_itself() {
    let Some(disk) = Tmpfs::mount(48) else { return };
    let data = disk.path().join("data");
    let srv = spawn_at(Backend::Sqlite, test_web_config(), data.clone()).await.unwrap();
    let (_, _, group, _) = crate::posts::care_room(&srv).await;
    srv.store.close().await;
    let mut node = Node::start(&srv, &data, &[]).await;
    let (doctor, r) = login_at(&srv, &node, "dr.a").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let csrf = doctor.csrf().await;
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    for i in 0..5 {
        let body = format!("満杯前の記録 {i}");
        let r = post(&doctor, &csrf, &group, &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        acknowledged.push((r.json()["post_id"].as_str().unwrap().to_string(), body));
    }

    // The disk fills up: every answer is 201 (saved) or 503 with the Japanese message, never
    // a 201 for what could not be saved.
    let ballast = fill(disk.path());
    let (mut refused, mut tried) = (0, 0);
    while refused < 10 && tried < 600 {
        tried += 1;
        let body = format!("満杯中の記録 {tried}");
        let r = post(&doctor, &csrf, &group, &body).await;
        match r.status {
            201 => acknowledged.push((r.json()["post_id"].as_str().unwrap().to_string(), body)),
            503 => {
                refused += 1;
                assert_eq!(r.json()["code"], "unavailable", "{}", r.body);
                assert!(r.json()["message"].as_str().unwrap().contains("時間をおいて"), "{}", r.body);
            }
            other => panic!("a post on a full disk answered {other}: {}", r.body),
        }
    }
    assert!(refused >= 10, "the full disk never refused a post in {tried} tries");
    let (_, r) = login_at(&srv, &node, "nurse.n").await;
    assert_eq!(r.status, 503, "a login whose session cannot be saved is refused: {}", r.body);

    // Space returns: the server recovers by itself, and what it answers 201 is there.
    std::fs::remove_file(&ballast).unwrap();
    for i in 0..50 {
        let body = format!("回復後の記録 {i}");
        let r = post(&doctor, &csrf, &group, &body).await;
        assert_eq!(r.status, 201, "post {i} after space returned: {}", r.body);
        let id = r.json()["post_id"].as_str().unwrap().to_string();
        assert_eq!(doctor.get(&format!("/api/v1/posts/{id}")).await.status, 200, "post {i} reads back");
        acknowledged.push((id, body));
    }
    let (nurse, r) = login_at(&srv, &node, "nurse.n").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(nurse.get("/api/v1/session").await.status, 200, "the new session was saved");

    // kill -9, start again: every post answered 201 is there, once; the database and the audit
    // chain are whole.
    node.restart().await;
    let (doctor, r) = login_at(&srv, &node, "dr.a").await;
    assert_eq!(r.status, 303, "{}", r.body);
    for (id, body) in &acknowledged {
        let r = doctor.get(&format!("/api/v1/posts/{id}")).await;
        assert_eq!(r.status, 200, "acknowledged post {id} ({body}) is lost");
        assert!(r.body.contains(body.as_str()), "{}", r.body);
    }
    node.kill9();
    let db = data.join("kumanet.db");
    assert_eq!(sqlite3(&db, "SELECT COUNT(*) FROM (SELECT body FROM posts GROUP BY body HAVING COUNT(*) > 1)"), "0");
    assert_eq!(sqlite3(&db, "PRAGMA integrity_check"), "ok");
    let out = Command::new(env!("CARGO_BIN_EXE_kumanet"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    eprintln!(
        "disk full: {} posts acknowledged ({} while full), {refused} refused with 503, all present after kill -9",
        acknowledged.len(),
        tried - refused
    );
    drop(srv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_3_connections_cut_while_posting_lose_nothing_acknowledged_on_postgresql() {
    let Some(srv) = spawn(Backend::Postgres).await else { return };
    let (t, _, group, _) = crate::posts::care_room(&srv).await;
    let schema = srv.pg_schema.clone().unwrap();
    let csrf = t.doctor.csrf().await;
    let doctor = std::sync::Arc::new(t.doctor);
    // Cut every connection of this server, again and again, while six clients post.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (url, stop) = (srv.database_url.clone(), stop.clone());
        tokio::spawn(async move {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let mut cut = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1 AND pid <> pg_backend_pid()) AS t",
                )
                .bind(format!("kumanet {}", schema))
                .fetch_one(&pool)
                .await
                .unwrap();
                cut += n;
                tokio::time::sleep(std::time::Duration::from_millis(120)).await;
            }
            pool.close().await;
            cut
        })
    };
    let mut posters = Vec::new();
    for p in 0..6 {
        let (doctor, csrf, group) = (doctor.clone(), csrf.clone(), group.clone());
        posters.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for i in 0..25 {
                let body = format!("切断試験 {p}-{i}");
                let r = post(&doctor, &csrf, &group, &body).await;
                assert!(r.status == 201 || r.status == 503, "answered {}: {}", r.status, r.body);
                answers.push((r.status, r.json()["post_id"].as_str().map(str::to_string), body));
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for p in posters {
        answers.extend(p.await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let cut = killer.await.unwrap();
    assert!(cut > 0, "no connection was cut");
    // The server recovers by itself.
    for i in 0..5 {
        let r = post(&doctor, &csrf, &group, &format!("切断後の記録 {i}")).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let ok: Vec<_> = answers.iter().filter(|a| a.0 == 201).collect();
    for (_, id, body) in &ok {
        let id = id.as_deref().unwrap();
        let r = doctor.get(&format!("/api/v1/posts/{id}")).await;
        assert_eq!(r.status, 200, "acknowledged post {id} ({body}) is lost");
    }
    let stored = srv.store.audit_verify().await.unwrap();
    assert!(stored.is_ok(), "{stored:?}");
    eprintln!("connections cut: {cut}; posts answered 201: {}, 503: {}", ok.len(), answers.len() - ok.len());
}
