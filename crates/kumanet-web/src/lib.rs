//! Kumanet's web layer: use cases (`service`), the gate every request passes (`gate`), the URL map
//! (`routes`), server-rendered Japanese pages (`html`) and the JSON API (`api`).

pub mod api;
pub mod body;
pub mod clock;
pub mod error;
pub mod gate;
pub mod html;
pub mod jst;
pub mod live;
pub mod media;
pub mod messages;
pub mod net;
pub mod notices;
pub mod passwords;
pub mod query;
pub mod request;
pub mod room;
pub mod routes;
#[cfg(test)]
mod secrets_test;
pub mod service;
pub mod session_cookies;
pub mod spreadsheet;

use std::sync::Arc;

use kumanet_store::Store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use routes::{route_table, router, Find, RouteDef};

/// Settings of the web layer that come from the operator's configuration (not the center's).
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` and use the `__Host-` prefix (R9.2). Off only for plain-HTTP
    /// development on a host that is not localhost.
    pub cookie_secure: bool,
    /// Login attempts one address may make per minute before it is answered 429 (R8.6).
    pub login_attempts_per_minute: u32,
    /// Argon2id memory in KiB (at least 19456) and iterations (at least 2) (R8.3).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// E-mail notices; None sends no mail.
    pub mail: Option<notices::MailConfig>,
    /// Users reach the server by https (its own TLS, or a TLS proxy in front): HSTS is sent and
    /// a form's `Origin` must be https.
    pub https: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `net`).
    pub trusted_proxies: Vec<net::IpNet>,
    /// Memory all image and PDF work may use at once, in MiB (R9.3; see `media`).
    pub media_memory_mib: u32,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            cookie_secure: true,
            login_attempts_per_minute: 30,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            mail: None,
            https: false,
            trusted_proxies: Vec::new(),
            media_memory_mib: media::default_budget_mib(),
        }
    }
}

/// How long a browser keeps its device cookie: 400 days, the longest browsers allow.
pub const DEVICE_COOKIE_MAX_AGE_S: i64 = 400 * 24 * 60 * 60;

/// Everything a request needs, passed explicitly (no globals), so tests run side by side.
#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub hasher: passwords::Hasher,
    pub config: WebConfig,
    pub limiter: gate::LoginLimiter,
    pub live: Arc<live::Hub>,
    /// R9.3: burns the viewer's name and the time into every attachment shown.
    pub watermarker: Arc<kumanet_media::Watermarker>,
    /// R9.3: the memory image and PDF work may use at once.
    pub media: media::MediaBudget,
    /// E-mail notices (None when no SMTP server is configured).
    pub mailer: Option<notices::Mailer>,
    /// Large request bodies being received, per address.
    pub uploads: body::Uploads,
    /// R8.6: when this node last pruned the memory of failed logins.
    pub login_pruned_at: std::sync::atomic::AtomicI64,
}

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: WebConfig) -> Result<App, error::WebError> {
        let hasher = passwords::Hasher::new(config.argon2_memory_kib, config.argon2_iterations)?;
        let limiter = gate::LoginLimiter::new(config.login_attempts_per_minute);
        let live = Arc::new(live::Hub::default());
        live::spawn_listener(store.clone(), live.clone());
        let watermarker = Arc::new(kumanet_media::Watermarker::load(None));
        if !watermarker.has_cjk_font() {
            tracing::warn!("no Japanese font found (install fonts-noto-cjk): watermarks fall back to ASCII");
        }
        let (mailer, jobs) = match &config.mail {
            Some(m) => {
                let (mailer, rx) = notices::Mailer::new(m)?;
                (Some(mailer), Some(rx))
            }
            None => (None, None),
        };
        let media_mib = config.media_memory_mib;
        let app = App(Arc::new(AppInner {
            store,
            clock,
            hasher,
            config,
            limiter,
            live,
            watermarker,
            media: media::MediaBudget::new(media_mib),
            mailer,
            uploads: body::Uploads::default(),
            login_pruned_at: std::sync::atomic::AtomicI64::new(i64::MIN),
        }));
        if let Some(rx) = jobs {
            notices::start(app.clone(), rx);
        }
        Ok(app)
    }

    pub fn now(&self) -> kumanet_core::Micros {
        self.clock.now()
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.config.cookie_secure {
            "__Host-kumanet_session"
        } else {
            "kumanet_session"
        }
    }

    pub fn csrf_cookie(&self) -> &'static str {
        if self.config.cookie_secure {
            "__Host-kumanet_csrf"
        } else {
            "kumanet_csrf"
        }
    }

    /// R8.6: the browser's device cookie (the same for every user of the browser; known per user).
    pub fn device_cookie(&self) -> &'static str {
        if self.config.cookie_secure {
            "__Host-kumanet_device"
        } else {
            "kumanet_device"
        }
    }

    /// `Set-Cookie` value of the device cookie: it outlives the browser session (400 days, the
    /// longest browsers keep), HttpOnly, SameSite=Strict. It is no session: it only lets the
    /// browser's logins past a lock that failures elsewhere caused (R8.6), and names the device.
    pub fn device_cookie_value(&self, token: &str) -> String {
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        format!(
            "{}={token}; Path=/; Max-Age={DEVICE_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict{secure}",
            self.device_cookie()
        )
    }

    /// `Set-Cookie` value: browser-session only (no Max-Age, R9.2), HttpOnly, SameSite=Strict.
    pub fn cookie(&self, name: &str, value: &str) -> String {
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }

    pub fn clear_cookie(&self, name: &str) -> String {
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
    }
}
