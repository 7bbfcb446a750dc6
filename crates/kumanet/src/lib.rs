//! The Kumanet server as a library: configuration, opening the store with its audit key, and
//! serving the web layer on a bound listener (so tests serve on 127.0.0.1:0).

pub mod config;
pub mod demo;
pub mod server;

use std::path::Path;
use std::sync::Arc;

use kumanet_store::{Store, StoreOptions};
use kumanet_web::{App, Clock, WebConfig};
use tokio::net::TcpListener;

pub use config::Config;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("storage: {0}")]
    Store(#[from] kumanet_store::StoreError),
    #[error("web: {0}")]
    Web(#[from] kumanet_web::error::WebError),
    #[error("audit key {0}: {1}")]
    AuditKey(String, String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the database is not empty (a center account exists); use a new --data-dir")]
    NotEmpty,
}

/// Read the audit key, or create it (32 random bytes, hex, mode 0600) when there is none.
/// Returns the key and whether it was just created.
pub fn load_or_create_audit_key(path: &Path) -> Result<(Vec<u8>, bool), ServerError> {
    let bad = |m: String| ServerError::AuditKey(path.display().to_string(), m);
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let key = hex::decode(text.trim()).map_err(|e| bad(format!("not hex: {e}")))?;
        if key.len() < 32 {
            return Err(bad("shorter than 32 bytes".into()));
        }
        return Ok((key, false));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let hex_key = kumanet_web::passwords::random_token(32);
    std::fs::write(path, format!("{hex_key}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    let key = hex::decode(hex_key).map_err(|e| bad(e.to_string()))?;
    Ok((key, true))
}

/// R11.1: the file beside the audit key that keeps the chain's head outside the database
/// (`audit.key` → `audit.head`).
pub fn audit_head_path(key_file: &Path) -> std::path::PathBuf {
    key_file.with_extension("head")
}

/// Open (and migrate) the database named by the configuration, with its audit key.
pub async fn open_store(cfg: &Config) -> Result<Store, ServerError> {
    if cfg.database_url.starts_with("sqlite://") {
        std::fs::create_dir_all(&cfg.data_dir)?;
    }
    let (key, created) = load_or_create_audit_key(&cfg.audit_key_file)?;
    let store = Store::open(
        &StoreOptions {
            url: cfg.database_url.clone(),
            pg_schema: None,
            max_connections: cfg.db_max_connections,
            audit_head_file: Some(audit_head_path(&cfg.audit_key_file)),
        },
        key,
    )
    .await?;
    if created && store.audit_count().await? > 0 {
        let _ = std::fs::remove_file(&cfg.audit_key_file);
        return Err(ServerError::AuditKey(
            cfg.audit_key_file.display().to_string(),
            "the file is missing but the audit log already has rows; restore the key file from backup".into(),
        ));
    }
    Ok(store)
}

pub fn web_config(cfg: &Config) -> WebConfig {
    WebConfig {
        cookie_secure: cfg.cookie_secure,
        login_attempts_per_minute: cfg.login_attempts_per_minute,
        argon2_memory_kib: cfg.argon2_memory_kib,
        argon2_iterations: 2,
        https: cfg.tls_cert.is_some() || cfg.public_url.starts_with("https://"),
        trusted_proxies: cfg.trusted_proxies.clone(),
        media_memory_mib: match cfg.media_memory_mb {
            0 => kumanet_web::media::default_budget_mib(),
            mb => mb,
        },
        mail: (!cfg.smtp_url.is_empty()).then(|| kumanet_web::notices::MailConfig {
            smtp_url: cfg.smtp_url.clone(),
            from: cfg.mail_from.clone(),
            public_url: if cfg.public_url.is_empty() {
                format!("http://{}/", cfg.listen)
            } else {
                cfg.public_url.clone()
            },
        }),
    }
}

/// Serve `app` on an already bound listener until `shutdown` resolves (plain HTTP, default
/// limits: what the tests use).
pub async fn serve_on(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    server::serve(app, listener, None, server::Limits::default(), shutdown).await?;
    Ok(())
}

/// The connection limits from the configuration: `max_connections` (0: as many as the
/// open-files limit allows, which is first raised to its hard maximum) and the rest.
pub fn server_limits(cfg: &Config) -> server::Limits {
    let (allowed, files) = server::connections_the_file_limit_allows();
    let max_connections = match cfg.max_connections {
        0 => allowed,
        n => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > allowed {
                tracing::warn!(
                    "max_connections {n} is more than the open-files limit ({files}) allows: {allowed} used"
                );
            }
            n.min(allowed)
        }
    };
    println!("Open files: the limit is {files}.");
    server::Limits {
        max_connections,
        max_connections_per_address: usize::try_from(cfg.max_connections_per_address).unwrap_or(usize::MAX).max(1),
        header_timeout: std::time::Duration::from_secs(u64::from(cfg.idle_timeout_secs.max(1))),
        trusted_proxies: cfg.trusted_proxies.clone(),
        ..server::Limits::default()
    }
}

/// Build the application over a store with the given clock.
pub fn build_app(store: Store, clock: Arc<dyn Clock>, web: WebConfig) -> Result<App, ServerError> {
    Ok(App::new(store, clock, web)?)
}

/// `kumanet serve`.
pub async fn serve(cfg: Config) -> Result<(), ServerError> {
    let store = open_store(&cfg).await?;
    // R11.1: refuse to serve over a log whose newest rows were deleted.
    store.check_audit_head().await?;
    let app = build_app(store.clone(), Arc::new(kumanet_web::SystemClock), web_config(&cfg))?;
    let scheme = if cfg.tls_cert.is_some() { "https" } else { "http" };
    if let Some(token) = kumanet_web::service::accounts::ensure_setup_token(&app).await? {
        println!("初回セットアップ: 次のURLをブラウザで開き、在宅医療支援センターのアカウントを作成してください(24時間有効・1回限り)。");
        println!("First run: open this URL to create the support center's account (valid 24 h, once):");
        println!("  {scheme}://{}/setup?token={token}", cfg.listen);
    }
    let backend = match store.backend() {
        kumanet_store::Backend::Sqlite => "SQLite",
        kumanet_store::Backend::Postgres => "PostgreSQL",
    };
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls_acceptor(cert, key).map_err(ServerError::Tls)?),
        (None, None) => None,
        _ => return Err(ServerError::Tls("tls_cert and tls_key must be given together".into())),
    };
    let limits = server_limits(&cfg);
    let listener = TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    if tls.is_some() {
        println!("Kumanet listening on https://{addr} (TLS 1.2/1.3, {backend})");
    } else {
        println!(
            "Kumanet listening on http://{addr} ({backend}). Plain HTTP: no TLS certificate was given; put a TLS proxy in front or set tls_cert and tls_key."
        );
    }
    println!(
        "Connections: up to {} ({} per address), idle or slow ones closed after {} s.",
        limits.max_connections,
        limits.max_connections_per_address,
        limits.header_timeout.as_secs()
    );
    server::serve(app, listener, tls, limits, server::shutdown_signal()).await?;
    store.close().await;
    Ok(())
}
