//! The browser suite: real Chromium (headless, phone-sized) driven over W3C WebDriver through
//! chromedriver, against a real server. R6.2, R8.1, R1.1 (first run to a nurse's home, all in the
//! browser) and R8.4 (idle timeout with the injected clock).
//!
//! Needs `chromium` and `chromium-driver` (Debian). Without them the suite is skipped with a loud
//! line, except when CI=true, where it fails.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for an element or a navigation before failing.
pub(crate) const WAIT: Duration = Duration::from_secs(20);
/// The message of the CSRF refusal page.
const CSRF_REFUSED: &str = "画面の有効期限が切れたか、別のサイトからの送信です";

/// At most two browsers at a time (the machine has two cores; each test owns one browser).
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn find_program(name: &str, usual: &str) -> Option<PathBuf> {
    if Path::new(usual).is_file() {
        return Some(PathBuf::from(usual));
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

/// chromedriver, started by this test; killed (with the browser it started) when dropped.
struct Driver {
    child: Child,
    port: u16,
    dir: PathBuf,
    session: Mutex<Option<String>>,
}

impl Driver {
    /// Send `DELETE /session/{id}` without an async runtime (used from `Drop`, also on panic).
    fn delete_session_blocking(&self, id: &str) {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { return };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let req = format!(
            "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        if s.write_all(req.as_bytes()).is_ok() {
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.lock().map(|mut s| s.take()).unwrap_or(None) {
            self.delete_session_blocking(&id);
        }
        // chromedriver runs in its own process group (with the Chromium it started): end that group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A minimal W3C WebDriver client: one session in one Chromium.
pub(crate) struct Browser {
    http: reqwest::Client,
    driver: Driver,
    session: String,
    /// The server as the browser sees it, e.g. `http://localhost:1234`.
    site: String,
    _permit: tokio::sync::SemaphorePermit<'static>,
}

/// Start chromedriver and a browser, or say loudly why not (and fail on CI).
pub(crate) async fn browser(srv: &Srv) -> Option<Browser> {
    let found = (find_program("chromedriver", "/usr/bin/chromedriver"), find_program("chromium", "/usr/bin/chromium"));
    let (Some(chromedriver), Some(chromium)) = found else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI requires the browser suite: install chromium and chromium-driver");
        }
        crate::helpers::skipped("browser suite (apt-get install chromium chromium-driver)");
        return None;
    };
    let permit = BROWSERS.acquire().await.expect("semaphore is never closed");

    let dir = std::env::temp_dir().join(format!("kumanet-browser-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("profile")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", dir.join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts")
    };
    let driver = Driver { child, port, dir: dir.clone(), session: Mutex::new(None) };
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let driver_url = format!("http://127.0.0.1:{port}");

    let started = Instant::now();
    loop {
        let ready = match http.get(format!("{driver_url}/status")).send().await {
            Ok(r) => r.json::<Value>().await.map(|v| v["value"]["ready"] == json!(true)).unwrap_or(false),
            Err(_) => false,
        };
        if ready {
            break;
        }
        assert!(started.elapsed() < WAIT, "chromedriver did not become ready on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let caps = json!({
        "capabilities": {
            "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "goog:chromeOptions": {
                    "binary": chromium.display().to_string(),
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--window-size=412,915",
                        format!("--user-data-dir={}", dir.join("profile").display()),
                    ],
                },
            },
        },
    });
    let r = http.post(format!("{driver_url}/session")).json(&caps).send().await.expect("chromedriver answers");
    let v: Value = r.json().await.expect("new session answer is JSON");
    let session = v["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| {
            panic!("no browser session: {v}\nchromedriver log: {}", dir.join("chromedriver.log").display())
        })
        .to_string();
    *driver.session.lock().unwrap() = Some(session.clone());

    // Secure cookies (`__Host-` prefix) are kept on http://localhost, a secure context; the server
    // listens on 127.0.0.1, where localhost resolves.
    let site = srv.base.replace("127.0.0.1", "localhost");
    Some(Browser { http, driver, session, site, _permit: permit })
}

fn element_id(v: &Value) -> Option<String> {
    v.get(ELEMENT).and_then(Value::as_str).map(str::to_string)
}

impl Browser {
    /// One WebDriver command; `Err` carries the W3C error code and message.
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}/session/{}{}", self.driver.port, self.session, path);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| format!("chromedriver unreachable: {e}"))?;
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.map_err(|e| format!("bad answer: {e}"))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(format!("{}: {}", value["error"].as_str().unwrap_or("?"), value["message"].as_str().unwrap_or("")))
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, String> {
        self.cmd(reqwest::Method::GET, path, None).await
    }

    /// Navigate to a path of the server and wait for the page to load.
    pub(crate) async fn go(&self, path: &str) {
        let url = format!("{}{}", self.site, path);
        self.post("/url", json!({ "url": url })).await.unwrap_or_else(|e| panic!("navigate to {path}: {e}"));
    }

    async fn url(&self) -> String {
        self.get("/url").await.unwrap().as_str().unwrap_or("").to_string()
    }

    /// The path (and query) of the current page.
    pub(crate) async fn path(&self) -> String {
        let url = self.url().await;
        url.strip_prefix(&self.site).map_or(url.clone(), str::to_string)
    }

    pub(crate) async fn source(&self) -> String {
        self.get("/source").await.unwrap().as_str().unwrap_or("").to_string()
    }

    pub(crate) async fn exec(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await.unwrap()
    }

    /// The elements matching a CSS selector right now.
    async fn all(&self, css: &str) -> Vec<String> {
        let started = Instant::now();
        loop {
            match self.post("/elements", json!({ "using": "css selector", "value": css })).await {
                Ok(Value::Array(items)) => return items.iter().filter_map(element_id).collect(),
                // A page being replaced can answer with an error for a moment.
                other => assert!(started.elapsed() < WAIT, "looking for {css}: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn has(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub(crate) async fn el(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(id) = self.all(css).await.into_iter().next() {
                return id;
            }
            if started.elapsed() > WAIT {
                let path = self.path().await;
                let source = self.source().await;
                panic!("no element {css} on {path}:\n{}", excerpt(&source));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        let id = self.el(css).await;
        self.get(&format!("/element/{id}/text")).await.unwrap().as_str().unwrap_or("").trim().to_string()
    }

    pub(crate) async fn value(&self, css: &str) -> String {
        let id = self.el(css).await;
        self.get(&format!("/element/{id}/property/value")).await.unwrap().as_str().unwrap_or("").to_string()
    }

    /// Clear a field and type into it, then check the field holds exactly what was typed.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let id = self.el(css).await;
        self.post(&format!("/element/{id}/clear"), json!({})).await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
        assert_eq!(self.value(css).await, text, "{css} holds what was typed");
    }

    /// Choose an option of a `<select>` by its value, as a finger would.
    pub(crate) async fn choose(&self, select_css: &str, value: &str) {
        self.click(&format!("{select_css} option[value=\"{value}\"]")).await;
        assert_eq!(self.value(select_css).await, value, "{select_css} has {value} chosen");
    }

    /// Make sure a checkbox is ticked (a form shown again keeps what was ticked).
    pub(crate) async fn tick(&self, css: &str) {
        let id = self.el(css).await;
        if self.get(&format!("/element/{id}/selected")).await != Ok(json!(true)) {
            self.click(css).await;
        }
        assert_eq!(self.get(&format!("/element/{id}/selected")).await, Ok(json!(true)), "{css} is ticked");
    }

    async fn click(&self, css: &str) {
        let id = self.el(css).await;
        self.post(&format!("/element/{id}/click"), json!({})).await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Click something that loads a new page (a submit button, a link) and wait until the new
    /// document has replaced this one.
    pub(crate) async fn click_and_load(&self, css: &str) {
        self.exec("window.__kumanetOldPage = true;", json!([])).await;
        self.click(css).await;
        let started = Instant::now();
        loop {
            let fresh = self
                .post(
                    "/execute/sync",
                    json!({ "script": "return !window.__kumanetOldPage && document.readyState === 'complete';", "args": [] }),
                )
                .await;
            if fresh == Ok(json!(true)) {
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "clicking {css} did not load a new page (still on {})",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Say plainly when the server refused, as cross-site, a form the browser sent from the
        // server's own page (this happened: with `Referrer-Policy: no-referrer` Chromium sends
        // `Origin: null` on same-origin form posts, and `gate::check_origin` refuses that).
        let page = self.source().await;
        assert!(
            !page.contains(CSRF_REFUSED),
            "the server refused the form sent by clicking {css} on its own page {} as cross-site (CSRF check); \
             check the Origin the browser sends (Referrer-Policy must not be no-referrer) and the pre-login token",
            self.path().await
        );
    }

    /// Log in through the login page; returns the path the browser ends up on.
    pub(crate) async fn login(&self, login_id: &str, password: &str) -> String {
        self.go("/login").await;
        self.fill("#f-login_id", login_id).await;
        self.fill("#f-password", password).await;
        self.click_and_load("#login").await;
        let path = self.path().await;
        assert!(!path.starts_with("/login"), "login of {login_id} refused: {}", excerpt(&self.source().await));
        path
    }

    /// The logout button in the header of the page.
    pub(crate) async fn logout(&self) {
        self.click_and_load("#logout").await;
        assert_eq!(self.path().await, "/login?reason=logout");
        assert!(self.source().await.contains("ログアウトしました。"));
        assert!(!self.has("#logout").await, "signed out: no logout button any more");
    }

    /// First login with an issued password: the change is required before anything else (R8.1),
    /// then the policy (R1.1). Ends on the home page.
    async fn first_login(&self, login_id: &str, issued: &str) {
        assert_eq!(self.login(login_id, issued).await, "/password", "R8.1: an issued password must be changed first");
        assert!(self.source().await.contains("発行されたパスワードでログインしました"));
        // Anything else leads back to the change form.
        self.go("/").await;
        assert_eq!(self.path().await, "/password", "R8.1: home is closed until the password is changed");
        self.change_password(issued, PASSWORD).await;
        assert_eq!(self.path().await, "/policy", "R1.1: the policy comes before the home page");
        self.accept_policy().await;
        assert_eq!(self.path().await, "/");
    }

    async fn change_password(&self, current: &str, new: &str) {
        self.fill("#f-current", current).await;
        self.fill("#f-password", new).await;
        self.fill("#f-password_confirm", new).await;
        self.click_and_load("#change-password").await;
    }

    async fn accept_policy(&self) {
        assert!(self.has("#accept-policy").await, "the policy page asks for acceptance");
        self.tick("#f-agree").await;
        self.tick("#f-pledge").await;
        self.click_and_load("#accept-policy").await;
    }

    /// End the browser session (chromedriver itself is ended by `Driver`'s drop).
    pub(crate) async fn quit(self) {
        let id = self.driver.session.lock().unwrap().take();
        if let Some(id) = id {
            let _ = self.http.delete(format!("http://127.0.0.1:{}/session/{id}", self.driver.port)).send().await;
        }
    }
}

/// The readable part of a page, for failure messages.
pub(crate) fn excerpt(source: &str) -> String {
    let start = source.find("<main>").unwrap_or(0);
    source[start..].chars().take(3000).collect()
}

// ---- R6.2, R8.1, R1.1: first run to a nurse's home, in the browser only ----

both!(r6_2_r8_1_r1_1_browser_first_run_to_nurse_home, |srv: Srv| async move {
    let token = kumanet_web::service::accounts::ensure_setup_token(&srv.app).await.unwrap().expect("empty database");
    let Some(b) = browser(&srv).await else { return };

    // First run: the one-time setup page.
    b.go(&format!("/setup?token={token}")).await;
    b.fill("#f-region_name", "熊谷市").await;
    b.fill("#f-center_name", "熊谷市在宅医療支援センター").await;
    b.fill("#f-login_id", "center").await;
    b.fill("#f-name", "支援 花子").await;
    b.fill("#f-kana", "しえん はなこ").await;
    b.choose("#f-profession", "clerk").await;
    b.fill("#f-password", PASSWORD).await;
    b.fill("#f-password_confirm", PASSWORD).await;
    b.click_and_load("form[action=\"/setup\"] button[type=submit]").await;
    let page = b.source().await;
    assert!(page.contains("初期設定が完了しました"), "{}", excerpt(&page));
    assert!(b.has("a[href=\"/login\"]").await);
    assert!(srv.store.center_exists().await.unwrap());

    // The center logs in: the policy comes first (R1.1).
    assert_eq!(b.login("center", PASSWORD).await, "/policy", "R1.1: policy acceptance before anything else");
    b.go("/center/facilities/new").await;
    assert_eq!(b.path().await, "/policy", "R1.1: center pages are closed until the policy is accepted");
    // Ticking only one box is not enough.
    b.click("#f-agree").await;
    b.click_and_load("#accept-policy").await;
    assert_eq!(b.path().await, "/policy");
    assert!(b.has("#accept-policy").await, "still asked to accept");
    b.accept_policy().await;
    assert_eq!(b.path().await, "/");
    assert_eq!(b.text("#pending-count").await, "0");
    assert!(b.source().await.contains("熊谷市"), "the region is shown in the header");

    // A visiting nursing station.
    b.go("/center/facilities/new").await;
    b.fill("#f-name", "くまがや訪問看護ステーション").await;
    b.fill("#f-kana", "くまがやほうもんかんごすてーしょん").await;
    b.choose("#f-kind", "visiting_nursing").await;
    b.fill("#f-address", "熊谷市宮町2-47-1").await;
    b.fill("#f-phone", "048-524-1111").await;
    b.click_and_load("#save-facility").await;
    let path = b.path().await;
    let fid =
        path.strip_prefix("/center/facilities/").unwrap_or_else(|| panic!("facility page, not {path}")).to_string();
    let facility = srv.store.facility(&fid).await.unwrap().expect("the facility is stored");
    assert_eq!(facility.name, "くまがや訪問看護ステーション");
    assert_eq!(facility.kind.code(), "visiting_nursing");

    // Its admin: the one-time password is shown once.
    b.click_and_load("#new-admin").await;
    assert_eq!(b.path().await, format!("/center/facilities/{fid}/admins/new"));
    b.fill("#f-login_id", "kango.admin").await;
    b.fill("#f-name", "管理 和子").await;
    b.fill("#f-kana", "かんり かずこ").await;
    b.choose("#f-profession", "nurse").await;
    b.click_and_load("#create-person").await;
    assert_eq!(b.text("#issued-login").await, "kango.admin");
    let admin_pw = b.text("#issued-password").await;
    assert!(admin_pw.len() >= 8, "an issued password: {admin_pw:?}");
    b.logout().await;

    // The admin: password change first (R8.1), with reasons shown next to the field.
    assert_eq!(b.login("kango.admin", &admin_pw).await, "/password", "R8.1: must change the issued password");
    assert!(b.source().await.contains("発行されたパスワードでログインしました"));
    b.change_password(&admin_pw, "ab1!x").await;
    assert_eq!(b.path().await, "/password", "a refused password keeps the user on the form");
    assert!(b.text("#e-password").await.contains("パスワードが短すぎます"), "the reason is next to the field");
    assert!(b.has("#f-password[aria-invalid=\"true\"]").await);
    assert!(b.source().await.contains("入力内容に誤りがあります"));
    // The refused password did not replace the issued one: the change still works with it.
    b.change_password(&admin_pw, PASSWORD).await;
    assert_eq!(b.path().await, "/policy", "R1.1: the policy comes after the password");
    b.accept_policy().await;
    assert_eq!(b.path().await, "/");

    // The staff page, through the menu.
    b.click_and_load(&format!("nav.menu a[href=\"/facilities/{fid}/staff\"]")).await;
    assert_eq!(b.path().await, format!("/facilities/{fid}/staff"));
    assert!(b.text("main").await.contains("くまがや訪問看護ステーション"));
    b.click_and_load("#new-staff").await;
    b.fill("#f-login_id", "nurse.kuma").await;
    b.fill("#f-name", "看護 桜").await;
    b.fill("#f-kana", "かんご さくら").await;
    b.choose("#f-profession", "nurse").await;
    b.click_and_load("#create-person").await;
    assert_eq!(b.text("#issued-login").await, "nurse.kuma");
    let nurse_pw = b.text("#issued-password").await;
    assert!(b.source().await.contains("在宅医療支援センターへ利用申込(様式2)を送りました"));
    b.go(&format!("/facilities/{fid}/staff")).await;
    assert!(b.has(".staff-row[data-login=\"nurse.kuma\"]").await);
    b.logout().await;

    // The nurse: password, policy, then home, but not approved yet (R6.2).
    b.first_login("nurse.kuma", &nurse_pw).await;
    assert!(b.has("#pending-approval").await, "R6.2: not approved yet");
    assert!(!b.has("nav.menu a[href=\"/directory\"]").await, "no directory in the menu before approval");
    b.go("/directory").await;
    let page = b.source().await;
    assert!(page.contains("この操作はできません"), "R6.2: the directory is closed before approval: {}", excerpt(&page));
    assert!(!page.contains("氏名・ふりがなで探す"));
    let nurse_id = srv.store.user_by_login("nurse.kuma").await.unwrap().unwrap().id;
    assert!(
        audit_rows(&srv, "access.denied")
            .await
            .iter()
            .any(|r| r.record.actor_user_id.as_deref() == Some(nurse_id.as_str())),
        "the refusal is in the audit log"
    );
    b.go("/").await;
    b.logout().await;

    // The center approves the application.
    assert_eq!(b.login("center", PASSWORD).await, "/");
    assert_eq!(b.text("#pending-count").await, "1");
    b.go("/center/applications").await;
    let row = ".application[data-login=\"nurse.kuma\"]";
    assert!(b.text(row).await.contains("看護 桜"));
    b.click_and_load(&format!("{row} button.approve")).await;
    assert_eq!(b.path().await, "/center/applications");
    assert!(!b.has(row).await, "the application left the queue");
    assert!(b.has("#queue-empty").await);
    b.logout().await;

    // The nurse again: approved, the directory opens.
    assert_eq!(b.login("nurse.kuma", PASSWORD).await, "/", "no more password change or policy");
    assert!(!b.has("#pending-approval").await, "R6.2: approved now");
    b.click_and_load("nav.menu a[href=\"/directory\"]").await;
    assert_eq!(b.path().await, "/directory");
    let page = b.source().await;
    assert!(!page.contains("この操作はできません"), "{}", excerpt(&page));
    assert!(page.contains("氏名・ふりがなで探す"));
    assert!(b.text("main").await.contains("看護 桜"), "the nurse is listed in the directory");
    b.go("/").await;
    b.logout().await;

    b.quit().await;
});

// ---- R8.4: idle timeout, with the server's clock moved by the test ----

both!(r8_4_browser_idle_timeout_with_injected_clock, |srv: Srv| async move {
    let _w = world(&srv).await;
    let Some(b) = browser(&srv).await else { return };

    assert_eq!(b.login("nurse.a", PASSWORD).await, "/");
    b.go("/").await;
    assert!(b.has("#logout").await);

    // 14:59 without a request: still signed in.
    srv.clock.advance((14 * 60 + 59) * 1_000_000);
    b.go("/profile").await;
    assert_eq!(b.path().await, "/profile", "R8.4: 14 minutes 59 seconds idle is not yet too long");
    assert_eq!(b.text("#status").await, "承認済み");
    assert!(b.has("#logout").await);
    assert!(audit_rows(&srv, "auth.idle_expired").await.is_empty());

    // 15:01 since that request: the session has ended; the page asks for a login again.
    srv.clock.advance((15 * 60 + 1) * 1_000_000);
    b.go("/profile").await;
    let path = b.path().await;
    assert!(path.starts_with("/login"), "R8.4: after 15 minutes idle the user is sent to the login page, not {path}");
    assert!(b.has("#f-login_id").await && b.has("#login").await);
    assert!(!b.has("#logout").await, "signed out");
    let rows = audit_rows(&srv, "auth.idle_expired").await;
    assert_eq!(rows.len(), 1, "R8.4: the idle end is in the audit log");
    let nurse = srv.store.user_by_login("nurse.a").await.unwrap().unwrap();
    assert_eq!(rows[0].record.actor_user_id.as_deref(), Some(nurse.id.as_str()));
    let page = b.source().await;
    assert!(
        page.contains("一定時間操作がなかったため"),
        "R8.4: the login page must say why the user was signed out (went to {path}): {}",
        excerpt(&page)
    );

    b.quit().await;
});
