//! Use cases: authorize (done by the gate) → apply the policy's rule → write and audit in one
//! transaction → commit. Shared by the HTML pages and the JSON API; `now` comes from the context.

pub mod accounts;
pub mod admin;
pub mod attachments;
pub mod boards;
pub mod directory;
pub mod patients;
pub mod posts;
pub mod throttle;

use kumanet_core::people::{parse_kana, parse_name, LoginId, Profession};
use serde::Deserialize;

use crate::error::FieldErrors;

/// The invitee's answer (groups and boards): "accept" is true, "decline" false.
pub fn accept_or_decline(decision: &str) -> Result<bool, crate::error::WebError> {
    match decision {
        "accept" => Ok(true),
        "decline" => Ok(false),
        _ => {
            let mut errors = FieldErrors::default();
            errors.add("decision", "参加するか辞退するかを選んでください。");
            Err(crate::error::WebError::Invalid(errors))
        }
    }
}

/// A new opaque identifier (random, never sequential).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The purpose statement (R1.2), shown on the login page and where the policy is accepted.
pub fn default_purpose(region: &str) -> String {
    format!(
        "このシステムは、{region}の在宅医療・介護に携わる多職種が、同意を得て登録された患者さんの療養を支えるための情報共有にのみ使用します。\
         それ以外の目的での利用は禁止されています(運用ポリシー第1条・第10条(11))。"
    )
}

pub const POLICY_TEXT: &str = include_str!("../../assets/policy-ja.txt");

/// The form for a new ID (staff or facility admin), from a page or the API.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonForm {
    #[serde(default)]
    #[schema(required = true)]
    pub login_id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub kana: String,
    #[serde(default)]
    #[schema(required = true, value_type = kumanet_core::people::Profession)]
    pub profession: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// Present in HTML forms; ignored here (checked by the gate).
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

pub struct Person {
    pub login_id: Option<LoginId>,
    pub name: String,
    pub kana: String,
    pub profession: Option<Profession>,
    pub email: String,
    pub phone: String,
}

/// Parse a person's fields; every problem is reported next to its field.
pub fn parse_person(f: &PersonForm, with_login: bool, errors: &mut FieldErrors) -> Option<Person> {
    let login_id = if with_login {
        match LoginId::parse(&f.login_id) {
            Ok(l) => Some(l),
            Err(m) => {
                errors.add("login_id", m);
                None
            }
        }
    } else {
        None
    };
    let name = parse_name(&f.name).map_err(|p| errors.problem("name", "氏名", &p)).ok();
    let kana = parse_kana(&f.kana).map_err(|p| errors.problem("kana", "ふりがな", &p)).ok();
    let profession = if f.profession.trim().is_empty() {
        errors.add("profession", "職種を選んでください。");
        None
    } else {
        let p = Profession::from_code(f.profession.trim());
        if p.is_none() {
            errors.add("profession", "職種を一覧から選んでください。");
        }
        p
    };
    let email = f.email.trim().to_string();
    if !email.is_empty() && (!email.contains('@') || email.chars().count() > 254 || email.contains(char::is_whitespace))
    {
        errors.add("email", "メールアドレスの形式が正しくありません。");
    }
    let phone = f.phone.trim().to_string();
    if phone.chars().count() > 32
        || !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ' | '(' | ')'))
    {
        errors.add("phone", "電話番号は数字とハイフンで入力してください。");
    }
    if !errors.is_empty() {
        return None;
    }
    Some(Person { login_id, name: name?, kana: kana?, profession, email, phone })
}

/// A required free-text field of at most `max` characters.
pub fn required_text(value: &str, field: &str, label: &str, max: usize, errors: &mut FieldErrors) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, format!("{label}を入力してください。"));
    } else if v.chars().count() > max {
        errors.add(field, format!("{label}は{max}文字以内で入力してください。"));
    }
    v.to_string()
}

/// The details of a view's audit row, marked `"api": true` when the view came through the API
/// (R11.1: the log tells the page and the API apart).
pub(crate) fn api_marked(mut details: serde_json::Value, api: bool) -> serde_json::Value {
    if api {
        details["api"] = true.into();
    }
    details
}
