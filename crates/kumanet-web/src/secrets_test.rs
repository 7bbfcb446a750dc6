//! Issue 18, part 6: no password, hash, token or credential in a URL reaches `{:?}` (logs,
//! panic messages, tracing fields).

use kumanet_core::people::{Role, UserStatus};
use kumanet_core::secret::Secret;
use kumanet_store::{NewUser, Session, StoreOptions, User};

use crate::notices::MailConfig;
use crate::service::accounts::{LoggedIn, LoginClient, LoginForm, PasswordForm, SetupForm};
use crate::WebConfig;

const PASSWORD: &str = "月と7つの星が見える夜です!";
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const TOKEN: &str = "tok3n-Zq9xW2vB7nM4kL1pR8sT";
const SMTP_PASSWORD: &str = "smtp-p4ss";

fn assert_clean(what: &str, printed: &str) {
    for secret in [PASSWORD, HASH, TOKEN, SMTP_PASSWORD] {
        assert!(!printed.contains(secret), "{what} prints a secret: {printed}");
    }
}

fn user() -> User {
    User {
        id: "u1".into(),
        login_id: "dr.a".into(),
        name: "熊谷 一郎".into(),
        kana: "くまがや いちろう".into(),
        role: Role::Staff,
        profession: None,
        facility_id: None,
        email: String::new(),
        phone: String::new(),
        status: UserStatus::Approved,
        password_hash: Secret::new(HASH),
        password_set_at: 0,
        password_expires_at: None,
        password_issued: false,
        pledge_signed_at: None,
        created_at: 0,
        updated_at: 0,
    }
}

#[test]
fn debug_output_holds_no_password_hash_token_or_url_credential() {
    let u = user();
    assert_clean("User", &format!("{u:?}"));
    assert_eq!(u.password_hash.expose(), HASH, "the value itself is still there");
    let new_user = NewUser {
        id: u.id.clone(),
        login_id: u.login_id.clone(),
        name: u.name.clone(),
        kana: u.kana.clone(),
        role: u.role,
        profession: None,
        facility_id: None,
        email: String::new(),
        phone: String::new(),
        status: u.status,
        password_hash: Secret::new(HASH),
        password_issued: true,
        password_expires_at: None,
    };
    assert_clean("NewUser", &format!("{new_user:?}"));
    let session = Session {
        token_hash: Secret::new(TOKEN),
        user_id: u.id.clone(),
        csrf_token: Secret::new(TOKEN),
        ip: "127.0.0.1".into(),
        created_at: 0,
        last_seen_at: 0,
        device_hash: None,
    };
    assert_clean("Session", &format!("{session:?}"));
    let login: LoginForm =
        serde_urlencoded::from_str(&format!("login_id=dr.a&password={}&csrf={TOKEN}", urlencode(PASSWORD))).unwrap();
    assert_eq!(login.password.expose(), PASSWORD);
    assert_clean("LoginForm", &format!("{login:?}"));
    let change: PasswordForm = serde_urlencoded::from_str(&format!(
        "current={p}&password={p}&password_confirm={p}&csrf={TOKEN}",
        p = urlencode(PASSWORD)
    ))
    .unwrap();
    assert_clean("PasswordForm", &format!("{change:?}"));
    let setup: SetupForm = serde_urlencoded::from_str(&format!(
        "token={TOKEN}&password={p}&password_confirm={p}",
        p = urlencode(PASSWORD)
    ))
    .unwrap();
    assert_clean("SetupForm", &format!("{setup:?}"));
    let logged_in = LoggedIn { session_token: Secret::new(TOKEN), device_token: Secret::new(TOKEN) };
    assert_clean("LoggedIn", &format!("{logged_in:?}"));
    let client = LoginClient { device_token: Some(Secret::new(TOKEN)), user_agent: "test".into() };
    assert_clean("LoginClient", &format!("{client:?}"));
    let mail = MailConfig {
        smtp_url: format!("smtps://mailer:{SMTP_PASSWORD}@mail.example.jp:465"),
        from: "くまねっと <noreply@example.jp>".into(),
        public_url: "https://kumanet.example.jp/".into(),
    };
    let printed = format!("{mail:?}");
    assert_clean("MailConfig", &printed);
    assert!(printed.contains("mail.example.jp"), "the rest stays readable: {printed}");
    let web = WebConfig { mail: Some(mail), ..WebConfig::default() };
    assert_clean("WebConfig", &format!("{web:?}"));
    let store = StoreOptions {
        url: format!("postgres://kumanet:{SMTP_PASSWORD}@db:5432/kumanet"),
        pg_schema: None,
        max_connections: 8,
        audit_head_file: None,
    };
    assert_clean("StoreOptions", &format!("{store:?}"));
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap().trim_start_matches("v=").to_string()
}
