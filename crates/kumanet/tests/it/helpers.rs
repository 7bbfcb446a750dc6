//! The harness: a real Kumanet server on 127.0.0.1:0 with its own database (a fresh SQLite file,
//! or a fresh PostgreSQL schema), a manual clock, and an HTTP client that keeps cookies and the
//! CSRF token like a browser does.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kumanet_store::{Store, StoreOptions};
use kumanet_web::{App, ManualClock, WebConfig};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// 2026-11-24 14:05 in Japan.
pub const T0: i64 = 1_795_496_700_000_000;
pub const PASSWORD: &str = "月と7つの星が見える夜です!";
pub const PASSWORD2: &str = "川辺で3羽の鷺が休んでいた。";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A directory of a test's files, removed when dropped (also on panic).
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("kumanet-{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Srv {
    pub base: String,
    pub app: App,
    pub store: Store,
    pub clock: ManualClock,
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub pg_schema: Option<String>,
}

impl Drop for Srv {
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            let _ = std::process::Command::new("psql")
                .arg(&self.database_url)
                .args(["-q", "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Say loudly that a suite was skipped: written to stderr directly, past the test harness's
/// capture, so it shows even when the test passes.
pub fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "######## SKIPPED: {what} ########");
}

pub fn pg_url() -> Option<String> {
    match std::env::var("KUMANET_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI requires the PostgreSQL suite: set KUMANET_TEST_POSTGRES_URL");
            }
            skipped("PostgreSQL suite (set KUMANET_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test)");
            None
        }
    }
}

pub fn test_web_config() -> WebConfig {
    WebConfig { login_attempts_per_minute: 100_000, ..WebConfig::default() }
}

pub async fn spawn(backend: Backend) -> Option<Srv> {
    spawn_with(backend, test_web_config()).await
}

pub async fn spawn_with(backend: Backend, web: WebConfig) -> Option<Srv> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    spawn_at(backend, web, std::env::temp_dir().join(format!("kumanet-it-{id}"))).await
}

/// The audit key of every test server, and its hex form for a key file.
pub const AUDIT_KEY: &[u8] = b"integration-test-audit-key-32-bytes!";

/// A test server whose files (the SQLite database, the audit head) live in `data_dir`.
pub async fn spawn_at(backend: Backend, web: WebConfig, data_dir: PathBuf) -> Option<Srv> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    std::fs::create_dir_all(&data_dir).unwrap();
    let (url, schema) = match backend {
        Backend::Sqlite => (format!("sqlite://{}", data_dir.join("kumanet.db").display()), None),
        Backend::Postgres => {
            let url = pg_url()?;
            let schema = format!("kt_{}", &id[..16]);
            let out = std::process::Command::new("psql")
                .arg(&url)
                .args(["-q", "-c", &format!("CREATE SCHEMA {schema}")])
                .output()
                .expect("psql runs");
            assert!(out.status.success(), "cannot create schema: {}", String::from_utf8_lossy(&out.stderr));
            (url, Some(schema))
        }
    };
    let audit_key = AUDIT_KEY.to_vec();
    let store = Store::open(
        &StoreOptions {
            url: url.clone(),
            pg_schema: schema.clone(),
            max_connections: 8,
            audit_head_file: Some(data_dir.join("audit.head")),
        },
        audit_key.clone(),
    )
    .await
    .expect("store opens");
    let clock = ManualClock::new(T0);
    let app = kumanet::build_app(store.clone(), Arc::new(clock.clone()), web).expect("app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = app.clone();
    tokio::spawn(async move {
        let _ = kumanet::serve_on(served, listener, std::future::pending()).await;
    });
    Some(Srv {
        base: format!("http://{addr}"),
        app,
        store,
        clock,
        backend,
        data_dir,
        database_url: url,
        pg_schema: schema,
    })
}

/// Run one test body on SQLite and on PostgreSQL.
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::helpers::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(srv) = spawn(Backend::Sqlite).await {
                    ($body)(srv).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(srv) = spawn(Backend::Postgres).await {
                    ($body)(srv).await;
                }
            }
        }
    };
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap_or("").to_string()).collect()
    }
    /// The text between `id="ID">` and the next `<`.
    pub fn by_id(&self, id: &str) -> Option<String> {
        let start = self.body.find(&format!("id=\"{id}\">"))? + id.len() + 6;
        let rest = &self.body[start..];
        Some(rest[..rest.find('<')?].to_string())
    }
}

/// An HTTP client that behaves like one browser tab: cookies, no redirects followed.
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    cookies: Mutex<HashMap<String, String>>,
}

impl Client {
    pub fn new(srv: &Srv) -> Client {
        Client {
            base: srv.base.clone(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            cookies: Mutex::new(HashMap::new()),
        }
    }

    /// A browser on another machine: its requests come from `ip` (any 127.x.y.z reaches the server).
    pub fn from_address(srv: &Srv, ip: [u8; 4]) -> Client {
        Client {
            base: srv.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(std::net::IpAddr::from(ip))
                .build()
                .unwrap(),
            cookies: Mutex::new(HashMap::new()),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.to_string(), value.to_string());
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<(&str, String)>, extra: &[(&str, &str)]) -> Resp {
        let mut req = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{}", self.base, path))
            .header("cookie", self.cookie_header());
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request is answered");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for sc in headers.get_all("set-cookie") {
            let sc = sc.to_str().unwrap_or("");
            let (kv, attrs) = sc.split_once(';').unwrap_or((sc, ""));
            if let Some((k, v)) = kv.split_once('=') {
                let mut jar = self.cookies.lock().unwrap();
                if attrs.contains("Max-Age=0") || v.is_empty() {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_string(), v.to_string());
                }
            }
        }
        let body = resp.text().await.unwrap_or_default();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        crate::openapi_check::check(method, path, status, content_type, &body);
        Resp { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }

    /// The CSRF token a page of this tab would carry right now.
    pub async fn csrf(&self) -> String {
        let s = self.get("/api/v1/session").await;
        if s.status == 200 {
            return s.json()["csrf_token"].as_str().unwrap().to_string();
        }
        let page = self.get("/login").await;
        let at = page.body.find("name=\"csrf\" value=\"").expect("login page has a csrf field") + 19;
        page.body[at..at + page.body[at..].find('"').unwrap()].to_string()
    }

    /// Submit a form as a page would, with the CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &csrf));
        self.send(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", serde_urlencoded::to_string(&all).unwrap())),
            &[],
        )
        .await
    }

    /// Submit a `multipart/form-data` form (with an optional file) as a page would.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &str, &[u8])>,
    ) -> Resp {
        let csrf = self.csrf().await;
        let boundary = "----kumanet-test-boundary-7f3a";
        let mut body: Vec<u8> = Vec::new();
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        all.extend_from_slice(fields);
        for (k, v) in all {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        if let Some((name, filename, ctype, bytes)) = file {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("cookie", self.cookie_header())
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        let resp = req.send().await.expect("request is answered");
        Resp {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap_or_default(),
        }
    }

    pub async fn api(&self, method: &str, path: &str, body: Value) -> Resp {
        let csrf = self.csrf().await;
        self.send(method, path, Some(("application/json", body.to_string())), &[("x-csrf-token", &csrf)]).await
    }
}

// ---- building a region through the real HTTP interface ----

/// First run and the center's account, logged in with the policy accepted.
pub async fn setup_center(srv: &Srv) -> Client {
    let token = kumanet_web::service::accounts::ensure_setup_token(&srv.app).await.unwrap().expect("empty database");
    let c = Client::new(srv);
    assert_eq!(c.get(&format!("/setup?token={token}")).await.status, 200);
    // A mistake is answered 422 with the form again (it was 200).
    let r = c.post_form("/setup", &[("token", &token), ("login_id", "center")]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("value=\"center\""), "what was typed is kept");
    let r = c
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("region_name", "熊谷市"),
                ("center_name", "熊谷市在宅医療支援センター"),
                ("login_id", "center"),
                ("name", "支援 花子"),
                ("kana", "しえん はなこ"),
                ("profession", "clerk"),
                ("email", ""),
                ("phone", ""),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = login_ok(srv, "center", PASSWORD).await;
    accept_policy(&c).await;
    c
}

pub async fn login(srv: &Srv, login_id: &str, password: &str) -> (Client, Resp) {
    let c = Client::new(srv);
    let r = c.post_form("/login", &[("login_id", login_id), ("password", password)]).await;
    (c, r)
}

pub async fn login_ok(srv: &Srv, login_id: &str, password: &str) -> Client {
    let (c, r) = login(srv, login_id, password).await;
    assert_eq!(r.status, 303, "login of {login_id} failed: {}", r.body);
    c
}

pub async fn accept_policy(c: &Client) {
    let v = c.get("/api/v1/session").await.json()["current_policy_version"].as_i64().unwrap().to_string();
    let r = c.post_form("/policy", &[("version", &v), ("agree", "on"), ("pledge", "on")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

pub async fn change_password(c: &Client, current: &str, new: &str) -> Resp {
    c.post_form("/password", &[("current", current), ("password", new), ("password_confirm", new)]).await
}

/// First login with an issued password: change it, accept the policy.
pub async fn activate(srv: &Srv, login_id: &str, issued: &str) -> Client {
    let c = login_ok(srv, login_id, issued).await;
    let r = change_password(&c, issued, PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    accept_policy(&c).await;
    c
}

pub async fn create_facility(center: &Client, name: &str, kind: &str) -> String {
    let r = center
        .post_form(
            "/center/facilities",
            &[("name", name), ("kana", "しせつ"), ("kind", kind), ("address", "熊谷市1-1"), ("phone", "048-000-0000")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().rsplit('/').next().unwrap().to_string()
}

/// A new ID through a page; returns (user id, issued password).
pub async fn create_person(srv: &Srv, by: &Client, path: &str, login_id: &str, profession: &str) -> (String, String) {
    let r = by
        .post_form(
            path,
            &[
                ("login_id", login_id),
                ("name", "看護 太郎"),
                ("kana", "かんご たろう"),
                ("profession", profession),
                ("email", ""),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pw = r.by_id("issued-password").expect("issued password shown once");
    let id = srv.store.user_by_login(login_id).await.unwrap().unwrap().id;
    (id, pw)
}

pub async fn approve_all(srv: &Srv, center: &Client) {
    for item in srv.store.pending_applications().await.unwrap() {
        let r = center
            .post_form(
                &format!("/center/applications/{}", item.application.id),
                &[("decision", "approve"), ("note", "")],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
}

/// A region: the center, facilities A and B with their admins, an approved nurse of A.
pub struct World {
    pub center: Client,
    pub fac_a: String,
    pub admin_a: Client,
    pub admin_a_id: String,
    pub admin_b: Client,
    pub nurse: Client,
    pub nurse_id: String,
}

pub async fn world(srv: &Srv) -> World {
    let center = setup_center(srv).await;
    let fac_a = create_facility(&center, "ひまわりクリニック", "clinic").await;
    let fac_b = create_facility(&center, "みどり薬局", "pharmacy").await;
    let (admin_a_id, pw) =
        create_person(srv, &center, &format!("/center/facilities/{fac_a}/admins"), "admin.a", "clerk").await;
    let admin_a = activate(srv, "admin.a", &pw).await;
    let (_, pw) =
        create_person(srv, &center, &format!("/center/facilities/{fac_b}/admins"), "admin.b", "pharmacist").await;
    let admin_b = activate(srv, "admin.b", &pw).await;
    let (nurse_id, pw) = create_person(srv, &admin_a, &format!("/facilities/{fac_a}/staff"), "nurse.a", "nurse").await;
    approve_all(srv, &center).await;
    let nurse = activate(srv, "nurse.a", &pw).await;
    World { center, fac_a, admin_a, admin_a_id, admin_b, nurse, nurse_id }
}

pub async fn audit_rows(srv: &Srv, action: &str) -> Vec<kumanet_store::AuditRow> {
    srv.store
        .audit_search(&kumanet_store::AuditFilter { action: Some(action.into()), limit: 10_000, ..Default::default() })
        .await
        .unwrap()
}

/// The sequence number of the newest audit row (0 when there is none).
pub async fn audit_head_seq(srv: &Srv) -> i64 {
    let newest = srv.store.audit_search(&kumanet_store::AuditFilter { limit: 1, ..Default::default() }).await.unwrap();
    newest.first().map_or(0, |r| r.record.seq)
}

/// The audit rows written after the row `seq`, oldest first.
pub async fn audit_since(srv: &Srv, seq: i64) -> Vec<kumanet_store::AuditRow> {
    let mut rows =
        srv.store.audit_search(&kumanet_store::AuditFilter { limit: 1_000, ..Default::default() }).await.unwrap();
    rows.retain(|r| r.record.seq > seq);
    rows.reverse();
    rows
}

/// Run SQL on the test's database outside the application (an attacker or an operator with
/// database access).
pub async fn raw_sql(srv: &Srv, sql: &str) -> Result<(), String> {
    use std::str::FromStr;
    match srv.backend {
        Backend::Sqlite => {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&srv.database_url).unwrap();
            let pool = sqlx::SqlitePool::connect_with(opts).await.map_err(|e| e.to_string())?;
            let r = sqlx::raw_sql(sql).execute(&pool).await.map(|_| ()).map_err(|e| e.to_string());
            pool.close().await;
            r
        }
        Backend::Postgres => {
            let opts = sqlx::postgres::PgConnectOptions::from_str(&srv.database_url)
                .unwrap()
                .options([("search_path", srv.pg_schema.as_deref().unwrap())]);
            let pool = sqlx::PgPool::connect_with(opts).await.map_err(|e| e.to_string())?;
            let r = sqlx::raw_sql(sql).execute(&pool).await.map(|_| ()).map_err(|e| e.to_string());
            pool.close().await;
            r
        }
    }
}

impl Client {
    /// The same browser (cookies) talking to another node.
    pub fn at(&self, base: &str) -> Client {
        Client {
            base: base.to_string(),
            http: self.http.clone(),
            cookies: Mutex::new(self.cookies.lock().unwrap().clone()),
        }
    }

    /// A GET with this browser's cookies, its body not read yet.
    async fn raw_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.base, path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("request is answered")
    }

    /// The status and headers of a GET whose body may never end (a live stream).
    pub async fn head_of(&self, path: &str) -> Resp {
        let resp = self.raw_get(path).await;
        Resp { status: resp.status().as_u16(), headers: resp.headers().clone(), body: String::new() }
    }

    /// Open a Server-Sent Events stream as a page would.
    pub async fn events(&self, path: &str) -> Events {
        let resp = self
            .http
            .get(format!("{}{}", self.base, path))
            .header("cookie", self.cookie_header())
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("request is answered");
        assert_eq!(resp.status().as_u16(), 200, "live stream refused");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        Events { resp, buf: String::new(), ended: false }
    }
}

/// A live stream being read: events as (name, data).
pub struct Events {
    resp: reqwest::Response,
    buf: String,
    pub ended: bool,
}

impl Events {
    /// The next event (comments and keep-alives skipped), or None at the end or after `secs`.
    pub async fn next(&mut self, secs: u64) -> Option<(String, String)> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(at) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..at + 2).collect();
                let mut name = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((name, data.join("\n")));
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n")),
                Ok(Ok(None)) | Ok(Err(_)) => self.ended = true,
                Err(_) => return None,
            }
        }
    }

    /// The name of the first event that is not a post (the stream's end: "closed" or "reload").
    pub async fn first_not_post(&mut self, secs: u64) -> String {
        loop {
            let ev = self.next(secs).await.expect("an event before the end");
            if ev.0 != "post" {
                return ev.0;
            }
        }
    }

    /// Skip events until one named `name` whose data contains `needle`.
    pub async fn until(&mut self, name: &str, needle: &str, secs: u64) -> Option<String> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).as_secs().max(1);
            let (n, d) = self.next(left).await?;
            if n == name && d.contains(needle) {
                return Some(d);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
        }
    }
}

impl Client {
    /// A GET's body as bytes (images).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let resp = self.raw_get(path).await;
        assert_eq!(resp.status().as_u16(), 200, "GET {path}");
        resp.bytes().await.unwrap().to_vec()
    }
}

/// A `kumanet serve` process on the database of `srv` (its audit key file and head file in
/// `data_dir`), killed when dropped: for what only another process shows (kill -9, two nodes).
pub struct Node {
    child: Option<std::process::Child>,
    port: u16,
    pub base: String,
    pub data_dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Node {
    pub async fn start(srv: &Srv, data_dir: &std::path::Path, extra_env: &[(&str, &str)]) -> Node {
        std::fs::create_dir_all(data_dir).unwrap();
        let key = data_dir.join("audit.key");
        std::fs::write(&key, hex::encode(AUDIT_KEY)).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let url = match &srv.pg_schema {
            Some(schema) => format!("{}?options=-c%20search_path%3D{schema}", srv.database_url),
            None => srv.database_url.clone(),
        };
        let mut env = vec![
            ("KUMANET_DATABASE_URL".to_string(), url),
            ("KUMANET_AUDIT_KEY_FILE".to_string(), key.display().to_string()),
            ("KUMANET_LOGIN_ATTEMPTS_PER_MINUTE".to_string(), "100000".to_string()),
        ];
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut node =
            Node { child: None, port, base: format!("http://127.0.0.1:{port}"), data_dir: data_dir.to_path_buf(), env };
        node.run().await;
        node
    }

    /// Start the process and wait until it answers /healthz.
    async fn run(&mut self) {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kumanet"));
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{}", self.port), "--data-dir"])
            .arg(&self.data_dir)
            .env_remove("KUMANET_DATABASE_URL")
            .env("KUMANET_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().unwrap());
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("kumanet serve on port {} never answered /healthz", self.port);
    }

    /// SIGKILL: no shutdown, no flush; whatever was not committed is lost.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The process id (for /proc and signals).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, std::process::Child::id)
    }

    /// Peak resident memory of the process so far (VmHWM), in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb / 1024.0
    }

    /// SIGTERM, and the exit status once the process has ended (None if it has not within
    /// `secs`, then it is killed).
    pub async fn terminate(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        for _ in 0..secs * 10 {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Start again on the same port and files.
    pub async fn restart(&mut self) {
        self.kill9();
        self.run().await;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}
