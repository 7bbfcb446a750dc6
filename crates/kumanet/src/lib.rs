//! The Kumanet server as a library: configuration, opening the store with its audit key, and
//! serving the web layer on a bound listener (so tests serve on 127.0.0.1:0).

pub mod config;
pub mod demo;

use std::net::SocketAddr;
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

/// Serve `app` on an already bound listener until `shutdown` resolves.
pub async fn serve_on(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let router = kumanet_web::router(app);
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
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
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| ServerError::Tls(e.to_string()))?;
            println!("Kumanet listening on https://{} (TLS 1.2/1.3, {backend})", cfg.listen);
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            axum_server::bind_rustls(cfg.listen, tls)
                .handle(handle)
                .serve(kumanet_web::router(app).into_make_service_with_connect_info::<SocketAddr>())
                .await?;
        }
        (None, None) => {
            let listener = TcpListener::bind(cfg.listen).await?;
            println!(
                "Kumanet listening on http://{} ({backend}). Plain HTTP: no TLS certificate was given; put a TLS proxy in front or set tls_cert and tls_key.",
                listener.local_addr()?
            );
            serve_on(app, listener, shutdown).await?;
        }
        _ => return Err(ServerError::Tls("tls_cert and tls_key must be given together".into())),
    }
    store.close().await;
    Ok(())
}
