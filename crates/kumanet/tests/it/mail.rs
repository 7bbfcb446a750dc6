//! E-mail notices against a real SMTP server started on 127.0.0.1 by the test: "at once" (spaced
//! ten minutes), the daily digest at 18:00, "off"; and never any patient information in a mail.

use std::sync::{Arc, Mutex};

use kumanet_web::notices::MailConfig;
use kumanet_web::WebConfig;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::*;
use crate::posts::{care_room, post};

/// One message as the SMTP server received it: envelope and raw DATA.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

/// A small SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
pub struct SmtpServer {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<Received>>>,
}

pub async fn smtp_server() -> SmtpServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 kumanet-test ESMTP\r\n").await.unwrap();
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-kumanet-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                    } else if cmd.starts_with("HELO") || cmd.starts_with("MAIL") || cmd.starts_with("NOOP") {
                        b"250 OK\r\n"
                    } else if cmd.starts_with("RSET") {
                        to.clear();
                        b"250 OK\r\n"
                    } else if cmd.starts_with("RCPT") {
                        to.push(line[line.find('<').unwrap_or(0)..].trim_matches(|c| c == '<' || c == '>').to_string());
                        b"250 OK\r\n"
                    } else if cmd.starts_with("DATA") {
                        w.write_all(b"354 end with .\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                            data.push('\n');
                        }
                        store.lock().unwrap().push(Received { to: std::mem::take(&mut to), data });
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"502 not implemented\r\n"
                    };
                    if w.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    SmtpServer { port, messages }
}

impl SmtpServer {
    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Wait (up to 10 s) until `n` messages arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..100 {
            if self.count() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.messages.lock().unwrap().clone()
    }
}

fn b64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = s.bytes().filter_map(val).collect();
    digits
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().enumerate().fold(0u32, |acc, (i, d)| acc | (u32::from(*d) << (18 - 6 * i)));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes[..c.len().saturating_sub(1)].to_vec()
        })
        .collect()
}

fn qp(s: &str) -> Vec<u8> {
    let s = s.replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'=', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Subject and body of a received message, decoded (encoded-words; base64 or quoted-printable).
pub fn decode(m: &Received) -> (String, String) {
    let (head, body) = m.data.split_once("\n\n").unwrap();
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':')).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let subject: String = header("Subject")
        .split_whitespace()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            if lower.starts_with("=?utf-8?b?") && w.ends_with("?=") {
                String::from_utf8(b64(&w[10..w.len() - 2])).unwrap()
            } else if lower.starts_with("=?utf-8?q?") && w.ends_with("?=") {
                String::from_utf8(qp(&w[10..w.len() - 2].replace('_', " "))).unwrap()
            } else {
                w.to_string()
            }
        })
        .collect();
    let body = match header("Content-Transfer-Encoding").to_ascii_lowercase().as_str() {
        "base64" => String::from_utf8(b64(body)).unwrap(),
        "quoted-printable" => String::from_utf8(qp(body)).unwrap(),
        _ => body.to_string(),
    };
    (subject, body)
}

async fn notices_story(backend: Backend) {
    let smtp = smtp_server().await;
    let web = WebConfig {
        mail: Some(MailConfig {
            smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
            from: "くまねっと <noreply@kumanet.test>".into(),
            public_url: "https://kumanet.test".into(),
        }),
        ..test_web_config()
    };
    let Some(srv) = spawn_with(backend, web).await else { return };
    let (t, patient, group, _) = care_room(&srv).await;
    raw_sql(&srv, "UPDATE users SET email = 'ph@pharmacy.test' WHERE login_id = 'ph.p'").await.unwrap();
    raw_sql(&srv, "UPDATE users SET email = 'dr@clinic.test' WHERE login_id = 'dr.a'").await.unwrap();
    // The pharmacist wants to know at once; the doctor keeps the daily digest (the default).
    let r = t.pharmacist.post_form("/profile/notices", &[("notice_mode", "instant")]).await;
    assert_eq!(r.status, 303);
    assert!(t.pharmacist.get("/profile").await.body.contains(r#"value="instant" checked"#));
    assert_eq!(audit_rows(&srv, "user.notices_changed").await.len(), 1);
    let secret = "熊谷一郎さん 仙骨部の褥瘡が悪化、夜間の体位変換を2時間毎に";
    post(&t.doctor, &group, secret).await;
    let got = smtp.wait_for(1).await;
    assert_eq!(got.len(), 1, "one notice");
    assert_eq!(got[0].to, vec!["ph@pharmacy.test".to_string()]);
    let (subject, body) = decode(&got[0]);
    assert!(subject.contains("新しい投稿があります"), "{subject}");
    assert!(body.contains("https://kumanet.test/"), "{body}");
    // No patient information at all: not the name, not the text, not even which group. (The
    // region is 熊谷市, so the subject carries 熊谷 as the city's name; the patient's name is not.)
    assert!(subject.starts_with("【熊谷市】"));
    for leak in ["熊谷一郎", "熊谷 一郎", "一郎", "くまがや", "褥瘡", "体位変換", group.as_str(), patient.as_str()]
    {
        assert!(!got[0].data.contains(leak) && !subject.contains(leak) && !body.contains(leak), "{leak} leaked");
    }
    // At most one "at once" notice in ten minutes.
    post(&t.doctor, &group, "追記: 夕方に再訪問します").await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(smtp.count(), 1);
    // The digest at 18:00 Japan time: the doctor has one unread post (the pharmacist's).
    let r = t.pharmacist.post_form(&format!("/groups/{group}/posts"), &[("body", "残薬を確認しました")]).await;
    assert_eq!(r.status, 303);
    // ... and one on a board they share (R5.4): the digest counts both.
    let (board, _) = crate::boards::board_with(&srv, &t).await;
    let r = t.pharmacist.post_form(&format!("/boards/{board}/posts"), &[("body", "研修会の資料を置きました")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(kumanet_web::notices::send_digests(&srv.app).await.unwrap(), 1, "14:05 is after yesterday's 18:00");
    assert_eq!(kumanet_web::notices::send_digests(&srv.app).await.unwrap(), 0, "once per day");
    let got = smtp.wait_for(2).await;
    assert_eq!(got[1].to, vec!["dr@clinic.test".to_string()]);
    let (subject, body) = decode(&got[1]);
    assert!(subject.contains("未読の投稿が2件あります"), "{subject}");
    assert!(!body.contains("残薬") && !body.contains("一郎"));
    srv.clock.advance(4 * 3600 * 1_000_000);
    assert_eq!(kumanet_web::notices::send_digests(&srv.app).await.unwrap(), 1, "18:05: today's digest");
    // Off: nothing, even after the ten minutes.
    let pharmacist = login_ok(&srv, "ph.p", PASSWORD).await;
    assert_eq!(pharmacist.post_form("/profile/notices", &[("notice_mode", "off")]).await.status, 303);
    let doctor = login_ok(&srv, "dr.a", PASSWORD).await;
    post(&doctor, &group, "夜間の連絡先を更新しました").await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(smtp.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_by_mail_carry_no_patient_information_sqlite() {
    notices_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_by_mail_carry_no_patient_information_postgres() {
    notices_story(Backend::Postgres).await;
}
