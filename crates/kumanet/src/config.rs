//! Configuration: defaults < `kumanet.toml` < `KUMANET_*` environment variables < command-line
//! flags. Every setting is declared once in `SETTINGS`, with its documentation and default;
//! `kumanet config example` prints them as a commented file.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// (key in kumanet.toml, environment variable, default, what it does)
pub const SETTINGS: &[(&str, &str, &str, &str)] = &[
    ("listen", "KUMANET_LISTEN", "127.0.0.1:8080", "Address and port to serve on."),
    ("data_dir", "KUMANET_DATA_DIR", "./data", "Folder for the SQLite database and the audit key file."),
    ("database_url", "KUMANET_DATABASE_URL", "sqlite://<data_dir>/kumanet.db", "sqlite://PATH (embedded, default) or postgres://USER@HOST:PORT/DB (several nodes share one database)."),
    ("audit_key_file", "KUMANET_AUDIT_KEY_FILE", "<data_dir>/audit.key", "HMAC key of the audit-log chain. Keep it outside the database and back it up separately: without it the chain cannot be verified."),
    ("tls_cert", "KUMANET_TLS_CERT", "", "PEM certificate chain. With tls_key, serve terminates TLS itself (TLS 1.2 and 1.3 only)."),
    ("tls_key", "KUMANET_TLS_KEY", "", "PEM private key for tls_cert."),
    ("cookie_secure", "KUMANET_COOKIE_SECURE", "true", "Secure cookies with the __Host- prefix. Set false only for plain-HTTP trials on a host other than localhost."),
    ("login_attempts_per_minute", "KUMANET_LOGIN_ATTEMPTS_PER_MINUTE", "30", "Login attempts one address may make per minute before it gets 429."),
    ("db_max_connections", "KUMANET_DB_MAX_CONNECTIONS", "8", "Connections in the database pool (readers, on SQLite)."),
    ("argon2_memory_kib", "KUMANET_ARGON2_MEMORY_KIB", "19456", "Argon2id memory per password hash in KiB (at least 19456)."),
    ("smtp_url", "KUMANET_SMTP_URL", "", "E-mail notices: smtp://HOST:25 (plain relay), smtp://USER:PASS@HOST:587?tls=required (STARTTLS) or smtps://USER:PASS@HOST:465. Empty: no mail is sent."),
    ("mail_from", "KUMANET_MAIL_FROM", "くまねっと <noreply@localhost>", "Sender of the notices."),
    ("public_url", "KUMANET_PUBLIC_URL", "", "The address users open (the only link in a notice), e.g. https://kumanet.example.jp/. Default: http://<listen>/."),
    ("max_connections", "KUMANET_MAX_CONNECTIONS", "0", "Most open connections, live pages included (0: as many as the open-files limit allows after raising it to its hard maximum, less 256 for the server's own files). A connection over the limit is answered 503 at once."),
    ("max_connections_per_address", "KUMANET_MAX_CONNECTIONS_PER_ADDRESS", "256", "Most open connections from one address (trusted proxies excepted)."),
    ("idle_timeout_secs", "KUMANET_IDLE_TIMEOUT_SECS", "30", "Seconds a connection may take to send a request's head, and may stay idle between requests, before it is closed."),
    ("trusted_proxies", "KUMANET_TRUSTED_PROXIES", "", "Reverse proxies in front of the server (addresses or networks, comma-separated, e.g. 127.0.0.1,10.0.0.0/8): from them, X-Forwarded-For names the client for the login limit, the upload limit and the audit log. Empty: the connection's address is the client."),
    ("media_memory_mb", "KUMANET_MEDIA_MEMORY_MB", "0", "Memory all image and PDF work may use at once, in MB (0: a sixteenth of the machine's memory, between 256 and 1024). Uploads and views past it wait, and after 30 seconds are answered 503."),
    ("log", "KUMANET_LOG", "info", "Log filter (tracing env-filter syntax)."),
];

/// `{:?}` leaves out the passwords the database and SMTP URLs may hold.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub audit_key_file: PathBuf,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub cookie_secure: bool,
    pub login_attempts_per_minute: u32,
    pub db_max_connections: u32,
    pub argon2_memory_kib: u32,
    pub smtp_url: String,
    pub mail_from: String,
    pub public_url: String,
    pub max_connections: u32,
    pub max_connections_per_address: u32,
    pub idle_timeout_secs: u32,
    pub trusted_proxies: Vec<kumanet_web::net::IpNet>,
    pub media_memory_mb: u32,
    pub log: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use kumanet_core::secret::redact_url;
        // Every field named: a new one must be added here (or the build fails).
        let Config {
            listen,
            data_dir,
            database_url,
            audit_key_file,
            tls_cert,
            tls_key,
            cookie_secure,
            login_attempts_per_minute,
            db_max_connections,
            argon2_memory_kib,
            smtp_url,
            mail_from,
            public_url,
            max_connections,
            max_connections_per_address,
            idle_timeout_secs,
            trusted_proxies,
            media_memory_mb,
            log,
        } = self;
        f.debug_struct("Config")
            .field("listen", listen)
            .field("data_dir", data_dir)
            .field("database_url", &redact_url(database_url))
            .field("audit_key_file", audit_key_file)
            .field("tls_cert", tls_cert)
            .field("tls_key", tls_key)
            .field("cookie_secure", cookie_secure)
            .field("login_attempts_per_minute", login_attempts_per_minute)
            .field("db_max_connections", db_max_connections)
            .field("argon2_memory_kib", argon2_memory_kib)
            .field("smtp_url", &redact_url(smtp_url))
            .field("mail_from", mail_from)
            .field("public_url", public_url)
            .field("max_connections", max_connections)
            .field("max_connections_per_address", max_connections_per_address)
            .field("idle_timeout_secs", idle_timeout_secs)
            .field("trusted_proxies", trusted_proxies)
            .field("media_memory_mb", media_memory_mb)
            .field("log", log)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Toml(PathBuf, toml::de::Error),
    #[error("unknown setting '{0}' in the configuration file (see `kumanet config example`)")]
    Unknown(String),
    #[error("setting {0}: {1}")]
    Value(&'static str, String),
}

/// Read the configuration. `file`: an explicit path (must exist) or `./kumanet.toml` if present.
/// `flags`: values given on the command line, by key.
pub fn load(
    file: Option<&Path>,
    env: &HashMap<String, String>,
    flags: &[(&str, Option<String>)],
) -> Result<Config, ConfigError> {
    let mut values: HashMap<&'static str, String> = SETTINGS.iter().map(|(k, _, d, _)| (*k, d.to_string())).collect();
    let path = file.map(Path::to_path_buf).or_else(|| {
        let p = PathBuf::from("kumanet.toml");
        p.exists().then_some(p)
    });
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read(path.clone(), e))?;
        let table: toml::Table = text.parse().map_err(|e| ConfigError::Toml(path.clone(), e))?;
        for (k, v) in table {
            let Some((key, ..)) = SETTINGS.iter().find(|(name, ..)| *name == k) else {
                return Err(ConfigError::Unknown(k));
            };
            let s = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            values.insert(key, s);
        }
    }
    for (key, var, ..) in SETTINGS {
        if let Some(v) = env.get(*var) {
            values.insert(key, v.clone());
        }
    }
    for (key, v) in flags {
        if let (Some(v), Some((k, ..))) = (v, SETTINGS.iter().find(|(name, ..)| name == key)) {
            values.insert(k, v.clone());
        }
    }
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let num = |k: &'static str| get(k).trim().parse::<u32>().map_err(|e| ConfigError::Value(k, e.to_string()));
    let data_dir = PathBuf::from(get("data_dir"));
    let database_url = match get("database_url") {
        s if s.is_empty() || s.contains("<data_dir>") => format!("sqlite://{}", data_dir.join("kumanet.db").display()),
        s => s,
    };
    let audit_key_file = match get("audit_key_file") {
        s if s.is_empty() || s.contains("<data_dir>") => data_dir.join("audit.key"),
        s => PathBuf::from(s),
    };
    let opt_path = |k: &str| Some(get(k)).filter(|s| !s.trim().is_empty()).map(PathBuf::from);
    let cookie_secure = match get("cookie_secure").trim() {
        "true" | "1" | "yes" => true,
        "false" | "0" | "no" => false,
        other => return Err(ConfigError::Value("cookie_secure", format!("'{other}' is not true or false"))),
    };
    Ok(Config {
        listen: get("listen")
            .parse()
            .map_err(|e: std::net::AddrParseError| ConfigError::Value("listen", e.to_string()))?,
        data_dir,
        database_url,
        audit_key_file,
        tls_cert: opt_path("tls_cert"),
        tls_key: opt_path("tls_key"),
        cookie_secure,
        login_attempts_per_minute: num("login_attempts_per_minute")?,
        db_max_connections: num("db_max_connections")?,
        argon2_memory_kib: num("argon2_memory_kib")?,
        smtp_url: get("smtp_url").trim().to_string(),
        mail_from: get("mail_from"),
        public_url: get("public_url").trim().to_string(),
        max_connections: num("max_connections")?,
        max_connections_per_address: num("max_connections_per_address")?,
        idle_timeout_secs: num("idle_timeout_secs")?,
        trusted_proxies: kumanet_web::net::parse_list(&get("trusted_proxies"))
            .map_err(|e| ConfigError::Value("trusted_proxies", e))?,
        media_memory_mb: num("media_memory_mb")?,
        log: get("log"),
    })
}

/// `kumanet config example`: every setting, documented, with its default.
pub fn example() -> String {
    let mut out = String::from("# kumanet.toml — every setting with its default. Environment variables override this file,\n# and command-line flags override both.\n\n");
    for (key, var, default, doc) in SETTINGS {
        out.push_str(&format!("# {doc}\n# (environment: {var})\n# {key} = \"{default}\"\n\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_env_then_flags() {
        let dir = std::env::temp_dir().join(format!("kumanet-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kumanet.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/k\"\nlogin_attempts_per_minute = 5\n")
            .unwrap();
        let c = load(Some(&file), &HashMap::new(), &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.database_url, "sqlite:///srv/k/kumanet.db");
        assert_eq!(c.audit_key_file, PathBuf::from("/srv/k/audit.key"));
        assert_eq!(c.login_attempts_per_minute, 5);
        let env: HashMap<String, String> = [("KUMANET_LISTEN".to_string(), "127.0.0.1:9100".to_string())].into();
        assert_eq!(load(Some(&file), &env, &[]).unwrap().listen.port(), 9100);
        let c = load(Some(&file), &env, &[("listen", Some("127.0.0.1:9200".into()))]).unwrap();
        assert_eq!(c.listen.port(), 9200);
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        assert!(matches!(load(Some(&file), &HashMap::new(), &[]), Err(ConfigError::Unknown(_))));
    }

    #[test]
    fn printing_the_configuration_shows_no_password() {
        let env: HashMap<String, String> = [
            ("KUMANET_DATABASE_URL".to_string(), "postgres://kumanet:db-s3cret@db:5432/kumanet".to_string()),
            ("KUMANET_SMTP_URL".to_string(), "smtps://mailer:smtp-s3cret@mail.example.jp:465".to_string()),
        ]
        .into();
        let c = load(None, &env, &[]).unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("db-s3cret") && !printed.contains("smtp-s3cret"), "{printed}");
        assert!(printed.contains("db:5432") && printed.contains("mail.example.jp"), "{printed}");
        let printed = format!("{:?}", crate::web_config(&c));
        assert!(!printed.contains("smtp-s3cret"), "{printed}");
    }

    #[test]
    fn example_documents_every_setting() {
        let e = example();
        for (key, var, ..) in SETTINGS {
            assert!(e.contains(key) && e.contains(var));
        }
    }
}
