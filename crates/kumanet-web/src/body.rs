//! Request bodies, as the gate reads them (issue 13): nothing is read before the session, the
//! size and — where it can be — the CSRF token have been checked.
//!
//! - Size: by who asks and for what. A stranger (no session) sends at most a login or setup
//!   form; only the operations that take files accept megabytes. A `Content-Length` over the
//!   limit is refused before a byte is read; a chunked body is cut at the limit.
//! - CSRF: a token in the `X-CSRF-Token` header, or none where one is needed, is decided before
//!   reading; a form's token travels first in it (every form puts its hidden `csrf` field
//!   first), so a multipart body is refused after its first [`CSRF_WITHIN`] bytes if the token is
//!   not there or wrong.
//! - Time: each chunk must come within [`IDLE`], and the whole body within a total that allows a
//!   slow phone connection an upload of the largest file.
//! - Uploads: one address may send at most [`UPLOADS_PER_ADDRESS`] large bodies at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use kumanet_core::authz::Action;

use crate::error::WebError;

/// A stranger's body: a login or the first-run setup form.
pub const ANONYMOUS_LIMIT: usize = 64 * 1024;
/// A signed-in user's form or JSON.
pub const FORM_LIMIT: usize = 512 * 1024;
/// The policy text.
pub const POLICY_LIMIT: usize = 2 * 1024 * 1024;
/// Forms and JSON with files: five attachments of 20 MB in all, a 10 MB consent scan as
/// base64 (≈13.4 MB), a directory CSV.
pub const UPLOAD_LIMIT: usize = 28 * 1024 * 1024;
/// A form must carry its `csrf` field within its first bytes.
pub const CSRF_WITHIN: usize = 16 * 1024;
/// The longest pause between two chunks of a body.
pub const IDLE: Duration = Duration::from_secs(30);
/// The longest a small body may take in all.
pub const SMALL_TOTAL: Duration = Duration::from_secs(60);
/// The longest an upload may take in all (28 MB at about 0.4 Mbit/s).
pub const UPLOAD_TOTAL: Duration = Duration::from_secs(600);
/// Large bodies one address may be sending at once.
pub const UPLOADS_PER_ADDRESS: usize = 6;
/// What counts as a large body.
const LARGE: usize = 1024 * 1024;

/// The largest body `action` accepts from this asker.
pub fn limit_for(action: Action, signed_in: bool) -> usize {
    if !signed_in {
        return ANONYMOUS_LIMIT;
    }
    match action {
        Action::PostToGroup
        | Action::PostToShared
        | Action::PostToBoard
        | Action::EditPost
        | Action::RecordConsent
        | Action::ImportResources => UPLOAD_LIMIT,
        Action::EditPolicy => POLICY_LIMIT,
        _ => FORM_LIMIT,
    }
}

/// How the body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Form,
    Multipart,
    Json,
    Other,
}

impl Encoding {
    pub fn of(content_type: Option<&str>) -> Encoding {
        match content_type.map(str::trim) {
            Some(t) if t.starts_with("multipart/form-data") => Encoding::Multipart,
            Some(t) if t.starts_with("application/x-www-form-urlencoded") => Encoding::Form,
            Some(t) if t.starts_with("application/json") => Encoding::Json,
            _ => Encoding::Other,
        }
    }
}

/// How the CSRF token is to be checked while reading.
pub enum Csrf<'a> {
    /// Decided before reading (a header token, or a request that needs none).
    Decided,
    /// In the body: this is the token it must carry.
    InBody(&'a str),
}

/// Read a body of at most `limit` bytes within the time limits, checking its CSRF token as
/// soon as the bytes that must hold it have arrived.
pub async fn read(body: Body, limit: usize, encoding: Encoding, csrf: Csrf<'_>) -> Result<Bytes, WebError> {
    let total = if limit > FORM_LIMIT { UPLOAD_TOTAL } else { SMALL_TOTAL };
    let deadline = tokio::time::Instant::now() + total;
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut expected = match csrf {
        Csrf::Decided => None,
        Csrf::InBody(token) => Some(token),
    };
    loop {
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now()).min(IDLE);
        let chunk = match tokio::time::timeout(wait, stream.next()).await {
            Err(_) => return Err(WebError::BodyTimeout),
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return Err(WebError::BadRequest("送信が途中で切れました。もう一度お試しください。".into()))
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        if buf.len() + chunk.len() > limit {
            return Err(WebError::TooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
        if let (Some(token), Encoding::Multipart) = (expected, encoding) {
            let head = &buf[..CSRF_WITHIN.min(buf.len())];
            match multipart_field(head, "csrf") {
                Some(sent) => check(Some(&sent), token)?,
                None if buf.len() >= CSRF_WITHIN => return Err(WebError::Csrf),
                None => continue,
            }
            expected = None;
        }
    }
    if let Some(token) = expected {
        let sent = match encoding {
            Encoding::Multipart => multipart_field(&buf, "csrf"),
            _ => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&buf)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v)),
        };
        check(sent.as_deref(), token)?;
    }
    Ok(Bytes::from(buf))
}

/// The token sent must be the one expected (compared in constant time).
pub fn check(sent: Option<&str>, expected: &str) -> Result<(), WebError> {
    use subtle::ConstantTimeEq;
    let ok = sent.is_some_and(|s| !expected.is_empty() && bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
    if ok {
        Ok(())
    } else {
        Err(WebError::Csrf)
    }
}

/// The value of a small text field of a multipart body (the CSRF token), without parsing files.
fn multipart_field(body: &[u8], name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = body.windows(needle.len()).position(|w| w == needle.as_bytes())?;
    let rest = &body[at..];
    let start = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let len = rest[start..].windows(2).position(|w| w == b"\r\n")?;
    String::from_utf8(rest[start..start + len].to_vec()).ok().filter(|v| v.len() <= 128)
}

/// Large bodies being received, per address.
#[derive(Default)]
pub struct Uploads(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One large body's place; given back when dropped.
pub struct UploadSlot {
    table: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Uploads {
    /// A place for a body of `declared` bytes (None: unknown) and `encoding` from `ip`; Ok(None)
    /// when the body is small enough not to count; an error when the address has too many.
    pub fn take(
        &self,
        ip: IpAddr,
        declared: Option<usize>,
        encoding: Encoding,
    ) -> Result<Option<UploadSlot>, WebError> {
        let large = encoding == Encoding::Multipart || declared.is_none_or(|n| n > LARGE);
        if !large {
            return Ok(None);
        }
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= UPLOADS_PER_ADDRESS {
            return Err(WebError::TooManyUploads);
        }
        *n += 1;
        Ok(Some(UploadSlot { table: self.0.clone(), ip }))
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut m = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multipart(fields: &[(&str, &str)], file: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for (k, v) in fields {
            b.extend_from_slice(
                format!("--x\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        b.extend_from_slice(b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n");
        b.extend(std::iter::repeat_n(b'J', file));
        b.extend_from_slice(b"\r\n--x--\r\n");
        b
    }

    /// A body that sends `first` and then nothing more, without ending.
    fn stalled(first: Vec<u8>) -> Body {
        let s = futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) })
            .chain(futures_util::stream::pending());
        Body::from_stream(s)
    }

    #[tokio::test]
    async fn a_form_with_the_right_token_is_read_whole() {
        let b = multipart(&[("csrf", "tok"), ("body", "本日訪問")], 100_000);
        let got = read(Body::from(b.clone()), UPLOAD_LIMIT, Encoding::Multipart, Csrf::InBody("tok")).await.unwrap();
        assert_eq!(got.len(), b.len());
        let form = "body=%E8%A8%AA%E5%95%8F&csrf=tok";
        assert!(read(Body::from(form), FORM_LIMIT, Encoding::Form, Csrf::InBody("tok")).await.is_ok());
        assert!(matches!(
            read(Body::from(form), FORM_LIMIT, Encoding::Form, Csrf::InBody("other")).await,
            Err(WebError::Csrf)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_multipart_body_without_its_token_first_is_refused_before_the_rest_arrives() {
        // The first 16 KB came without the token; the rest never comes: refused at once, not
        // after waiting for the body.
        let b = multipart(&[("body", "x")], 40_000);
        let r = read(stalled(b[..20_000].to_vec()), UPLOAD_LIMIT, Encoding::Multipart, Csrf::InBody("tok")).await;
        assert!(matches!(r, Err(WebError::Csrf)), "{r:?}");
        let wrong = multipart(&[("csrf", "bad")], 40_000);
        let r = read(stalled(wrong[..20_000].to_vec()), UPLOAD_LIMIT, Encoding::Multipart, Csrf::InBody("tok")).await;
        assert!(matches!(r, Err(WebError::Csrf)), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_or_grows_past_its_limit_is_refused() {
        let started = tokio::time::Instant::now();
        let r = read(stalled(b"login_id=a".to_vec()), ANONYMOUS_LIMIT, Encoding::Form, Csrf::Decided).await;
        assert!(matches!(r, Err(WebError::BodyTimeout)), "{r:?}");
        assert_eq!(started.elapsed().as_secs(), IDLE.as_secs());
        let big = vec![b'a'; ANONYMOUS_LIMIT + 1];
        let r = read(Body::from(big), ANONYMOUS_LIMIT, Encoding::Form, Csrf::Decided).await;
        assert!(matches!(r, Err(WebError::TooLarge(ANONYMOUS_LIMIT))), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_at_the_total_time() {
        // One byte every 20 s: never idle for 30 s, but the whole body may take 60 s.
        let s = futures_util::stream::unfold(0u32, |n| async move {
            tokio::time::sleep(Duration::from_secs(20)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"a")), n + 1))
        });
        let started = tokio::time::Instant::now();
        let r = read(Body::from_stream(s), FORM_LIMIT, Encoding::Form, Csrf::Decided).await;
        assert!(matches!(r, Err(WebError::BodyTimeout)), "{r:?}");
        assert!(started.elapsed() <= SMALL_TOTAL + Duration::from_secs(1));
    }

    #[test]
    fn large_bodies_from_one_address_are_capped() {
        let uploads = Uploads::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(uploads.take(ip, Some(1000), Encoding::Form).unwrap().is_none(), "a small form does not count");
        let slots: Vec<_> =
            (0..UPLOADS_PER_ADDRESS).map(|_| uploads.take(ip, None, Encoding::Multipart).unwrap().unwrap()).collect();
        assert!(matches!(uploads.take(ip, Some(5 << 20), Encoding::Json), Err(WebError::TooManyUploads)));
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(uploads.take(other, None, Encoding::Multipart).is_ok(), "another address has its own");
        drop(slots);
        assert!(uploads.take(ip, None, Encoding::Multipart).unwrap().is_some(), "slots come back");
    }

    #[test]
    fn limits_follow_who_asks_and_what_for() {
        assert_eq!(limit_for(Action::Login, false), ANONYMOUS_LIMIT);
        assert_eq!(limit_for(Action::PostToGroup, false), ANONYMOUS_LIMIT, "a stranger never gets the upload limit");
        assert_eq!(limit_for(Action::PostToGroup, true), UPLOAD_LIMIT);
        assert_eq!(limit_for(Action::RecordConsent, true), UPLOAD_LIMIT);
        assert_eq!(limit_for(Action::AckPost, true), FORM_LIMIT);
        assert_eq!(Encoding::of(Some("multipart/form-data; boundary=x")), Encoding::Multipart);
        assert_eq!(Encoding::of(Some("application/json; charset=utf-8")), Encoding::Json);
        assert_eq!(Encoding::of(None), Encoding::Other);
    }
}
