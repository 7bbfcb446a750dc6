//! E-mail notices over SMTP: "at once" (at most one mail per user per ten minutes) or a daily
//! digest at 18:00 Japan time, each user's choice. The mail says only that there is something
//! new and where to log in (`kumanet_core::policy::notice`); no patient information at all.
//! Sending happens on a background task, never in the request that confirmed the post.

use kumanet_core::policy::notice::{digest_due, digest_mail, instant_allowed, instant_mail, NoticeMode};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::mpsc;

use crate::error::WebError;
use crate::App;

/// Where mail goes and what links point at (from the operator's configuration).
#[derive(Clone)]
pub struct MailConfig {
    /// `smtp://host:25` (plain, e.g. a relay on the same host), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtps://user:password@host:465`.
    pub smtp_url: String,
    /// The sender, e.g. `くまねっと <noreply@kumanet.example.jp>`.
    pub from: String,
    /// The address users open, e.g. `https://kumanet.example.jp/` (the only link in a mail).
    pub public_url: String,
}

/// Printed without the SMTP password.
impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &kumanet_core::secret::redact_url(&self.smtp_url))
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .finish()
    }
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    pub public_url: String,
    jobs: mpsc::UnboundedSender<String>,
}

impl Mailer {
    /// Build the transport; the background task starts with `start`.
    pub fn new(cfg: &MailConfig) -> Result<(Mailer, mpsc::UnboundedReceiver<String>), WebError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.smtp_url)
            .map_err(|e| WebError::Internal(format!("smtp_url: {e}")))?
            .build();
        let from: Mailbox = cfg.from.parse().map_err(|e| WebError::Internal(format!("mail_from: {e}")))?;
        let (jobs, rx) = mpsc::unbounded_channel();
        let mut public_url = cfg.public_url.trim().to_string();
        if !public_url.ends_with('/') {
            public_url.push('/');
        }
        Ok((Mailer { transport, from, public_url, jobs }, rx))
    }

    async fn send(&self, to: &str, name: &str, subject: String, body: String) -> Result<(), String> {
        let to: Mailbox = format!("{name} <{to}>").parse().or_else(|_| to.parse()).map_err(|e| format!("{e}"))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport.send(msg).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// After a post is confirmed in a group: queue the "at once" notices (no-op without mail).
pub fn post_confirmed(app: &App, group_id: &str) {
    if let Some(m) = &app.mailer {
        let _ = m.jobs.send(group_id.to_string());
    }
}

/// The background task: notices for confirmed posts as they come, and the digest check every
/// minute.
pub fn start(app: App, mut rx: mpsc::UnboundedReceiver<String>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    let digests = app.clone();
    rt.spawn(async move {
        while let Some(group_id) = rx.recv().await {
            if let Err(e) = instant_notices(&app, &group_id).await {
                tracing::warn!("notices: {e}");
            }
        }
    });
    rt.spawn(async move {
        loop {
            if let Err(e) = send_digests(&digests).await {
                tracing::warn!("digest: {e}");
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    });
}

async fn instant_notices(app: &App, group_id: &str) -> Result<(), WebError> {
    let Some(m) = &app.mailer else { return Ok(()) };
    let now = app.now();
    let region = app.store.settings().await?.region_name;
    for t in app.store.notice_targets(group_id, "").await? {
        if t.mode != NoticeMode::Instant || !instant_allowed(now, app.store.last_mail(&t.user_id, "instant").await?) {
            continue;
        }
        // The author has read their own post: nothing unread, nothing to say.
        if !app.store.unread_counts(&t.user_id).await?.iter().any(|(g, _, n)| g == group_id && *n > 0) {
            continue;
        }
        let (subject, body) = instant_mail(&region, &t.name, &m.public_url);
        match m.send(&t.email, &t.name, subject, body).await {
            Ok(()) => {
                let mut tx = app.store.begin().await?;
                tx.log_mail(&t.user_id, "instant", now).await?;
                tx.commit().await?;
            }
            Err(e) => tracing::warn!("notice to {} failed: {e}", t.user_id),
        }
    }
    Ok(())
}

/// The daily digest to everyone who chose it and has something unread, once per 18:00.
/// Returns how many were sent.
pub async fn send_digests(app: &App) -> Result<usize, WebError> {
    let Some(m) = &app.mailer else { return Ok(0) };
    let now = app.now();
    let region = app.store.settings().await?.region_name;
    let mut sent = 0;
    for t in app.store.digest_targets().await? {
        if !digest_due(now, app.store.last_mail(&t.user_id, "digest").await?) {
            continue;
        }
        // Unread posts in the user's groups and on their boards (R5.4).
        let unread: i64 = app.store.unread_counts(&t.user_id).await?.iter().map(|(_, _, n)| n).sum::<i64>()
            + app.store.boards_of(&t.user_id).await?.iter().map(|b| b.unread).sum::<i64>();
        if unread == 0 {
            continue;
        }
        let (subject, body) = digest_mail(&region, &t.name, unread, &m.public_url);
        match m.send(&t.email, &t.name, subject, body).await {
            Ok(()) => {
                let mut tx = app.store.begin().await?;
                tx.log_mail(&t.user_id, "digest", now).await?;
                tx.commit().await?;
                sent += 1;
            }
            Err(e) => tracing::warn!("digest to {} failed: {e}", t.user_id),
        }
    }
    Ok(sent)
}
