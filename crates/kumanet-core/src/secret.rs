//! Values that must never reach a log or a panic message: passwords, password hashes, tokens,
//! and URLs that may carry credentials. `{:?}` of a [`Secret`] shows only whether it is empty,
//! and it has no `Display` or `Serialize`: the value is read as a `&str` (by `Deref` or
//! [`Secret::expose`]) only where it is hashed, compared or sent where it belongs.

use std::fmt;

/// A password, hash or token. Deserializes from a plain string (forms, JSON), prints redacted.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for hashing, comparing or sending where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "Secret(empty)" } else { "Secret(redacted)" })
    }
}

/// A URL as it may be printed: a password in its user part (`scheme://user:password@host`) and
/// any query (which may hold a token) are replaced.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:redacted@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?redacted"),
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("月と7つの星が見える夜です!");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(empty)");
        assert_eq!(s.expose(), "月と7つの星が見える夜です!");
        let parsed: Secret = serde_json::from_str("\"hunter2hunter2\"").unwrap();
        assert_eq!(parsed.expose(), "hunter2hunter2");
    }

    #[test]
    fn urls_lose_their_passwords_and_queries() {
        assert_eq!(
            redact_url("smtps://mailer:s3cret@mail.example.jp:465"),
            "smtps://mailer:redacted@mail.example.jp:465"
        );
        assert_eq!(
            redact_url("postgres://kumanet:pw@db:5432/kumanet?sslmode=require&password=pw"),
            "postgres://kumanet:redacted@db:5432/kumanet?redacted"
        );
        assert_eq!(redact_url("smtp://relay:25"), "smtp://relay:25");
        assert_eq!(redact_url("sqlite://./data/kumanet.db"), "sqlite://./data/kumanet.db");
        assert_eq!(redact_url("postgres://user@db/x"), "postgres://user@db/x");
        assert!(!redact_url("smtp://a:p%40ss@h").contains("p%40ss"));
    }
}
