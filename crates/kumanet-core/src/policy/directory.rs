//! The regional resource directory (Ayamu; R12.1, R12.2): the region's clinics, care services and
//! community venues. What an entry must hold, how its text is read (from a form or a CSV row),
//! the opening days, the search words and their relevance, and when an entry is out of date.

use crate::problem::{check_text, Problem};

/// The kinds every region starts with; the center may rename them and add more.
pub const DEFAULT_KINDS: &[(&str, &str)] = &[
    ("hospital", "病院"),
    ("clinic", "診療所"),
    ("dental_clinic", "歯科診療所"),
    ("pharmacy", "薬局"),
    ("visiting_nursing", "訪問看護ステーション"),
    ("home_care_support", "居宅介護支援事業所"),
    ("day_service", "通所介護(デイサービス)"),
    ("short_stay", "短期入所(ショートステイ)"),
    ("group_home", "グループホーム"),
    ("nursing_home", "介護老人福祉施設"),
    ("community_support_center", "地域包括支援センター"),
    ("salon", "通いの場・サロン"),
    ("dementia_cafe", "認知症カフェ"),
    ("volunteer", "ボランティア団体"),
    ("other", "その他"),
];

/// The districts a region starts with; the center edits them to the region's own.
pub const DEFAULT_AREAS: &[(&str, &str)] =
    &[("north", "北部"), ("south", "南部"), ("east", "東部"), ("west", "西部"), ("central", "中央")];

/// Days of the week, Monday first, as bits of `days`.
pub const DAY_LABELS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// An entry is listed for the center when not confirmed for this long (R12.2).
pub const STALE_AFTER_DAYS: i64 = 365;

/// A kind or an area: a stable code and the label people read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Term {
    pub code: String,
    pub label: String,
}

impl Term {
    /// The term named by its code or its label.
    pub fn find<'a>(terms: &'a [Term], text: &str) -> Option<&'a Term> {
        let t = text.trim();
        terms.iter().find(|k| k.code == t || k.label == t)
    }

    /// The label of `code` (the code itself when it is not a term any more).
    pub fn label_of<'a>(terms: &'a [Term], code: &'a str) -> &'a str {
        terms.iter().find(|t| t.code == code).map_or(code, |t| t.label.as_str())
    }
}

/// An entry as typed into a form or read from a CSV row: text, not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryInput {
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub name: String,
    pub kana: String,
    pub address: String,
    pub area: String,
    pub phone: String,
    pub fax: String,
    pub email: String,
    pub web: String,
    pub days: String,
    pub hours: String,
    pub services: String,
    pub capacity: String,
    pub vacancies: String,
    pub notes: String,
    pub confirmed_on: String,
    /// The Kumanet facility the entry belongs to (forms and the API; not in CSV files).
    pub facility_id: String,
    #[serde(skip_serializing)]
    pub csrf: Option<String>,
}

/// A checked entry, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryFields {
    pub kind: String,
    pub name: String,
    pub kana: String,
    pub address: String,
    pub area: String,
    pub phone: String,
    pub fax: String,
    pub email: String,
    pub web: String,
    /// Bit 0 Monday … bit 6 Sunday.
    pub days: i64,
    pub hours: String,
    pub services: Vec<String>,
    pub capacity: Option<i64>,
    pub vacancies: Option<i64>,
    pub notes: String,
    /// YYYY-MM-DD, Japan's calendar.
    pub confirmed_on: Option<String>,
    pub facility_id: Option<String>,
}

/// What is wrong with an input: (field, problem), in field order.
pub type EntryErrors = Vec<(&'static str, Problem)>;

/// The columns of a CSV file, by field: the Japanese header, and the field's name (also accepted).
pub const COLUMNS: &[(&str, &str)] = &[
    ("id", "ID"),
    ("kind", "種別"),
    ("name", "名称"),
    ("kana", "ふりがな"),
    ("address", "住所"),
    ("area", "地区"),
    ("phone", "電話"),
    ("fax", "FAX"),
    ("email", "メール"),
    ("web", "ウェブ"),
    ("days", "営業日"),
    ("hours", "営業時間"),
    ("services", "サービス"),
    ("capacity", "定員"),
    ("vacancies", "空き"),
    ("notes", "備考"),
    ("confirmed_on", "最終確認日"),
];

/// The Japanese name of a field, for messages ("3行目「電話」: …").
pub fn column_label(field: &str) -> &'static str {
    COLUMNS.iter().find(|(f, _)| *f == field).map_or("", |(_, l)| l)
}

fn text(raw: &str, field: &'static str, max: usize, required: bool, errors: &mut EntryErrors) -> String {
    let v: String = raw.trim().chars().map(|c| if c == '\u{3000}' { ' ' } else { c }).collect();
    let v = v.trim().to_string();
    match check_text(&v, max, true) {
        Err(Problem::Missing) if !required => {}
        Err(p) => errors.push((field, p)),
        Ok(_) => {}
    }
    v
}

/// Half-width digits for full-width ones (what Japanese keyboards and Excel often give).
fn narrow_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            'ー' | '−' | '－' | '‐' => '-',
            '／' => '/',
            _ => c,
        })
        .collect()
}

fn number(raw: &str, field: &'static str, errors: &mut EntryErrors) -> Option<i64> {
    let v = narrow_digits(raw.trim());
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) if (0..=100_000).contains(&n) => Some(n),
        _ => {
            errors.push((field, Problem::NotNumber));
            None
        }
    }
}

/// "月火水", "月・水・金", "月〜金", "平日", "毎日" → bits; None when a part is not a day.
pub fn parse_days(raw: &str) -> Option<i64> {
    let s = raw
        .trim()
        .replace("曜日", "")
        .replace('曜', "")
        .replace("平日", "月火水木金")
        .replace("毎日", "月火水木金土日");
    let chars: Vec<char> = s.chars().filter(|c| !matches!(c, '・' | '、' | ',' | ' ' | '\u{3000}' | '/')).collect();
    let day = |c: char| DAY_LABELS.iter().position(|d| d.starts_with(c));
    let mut bits = 0i64;
    let mut i = 0;
    while i < chars.len() {
        let d = day(chars[i])?;
        // A range: 月〜金, 月-金, 月~金.
        if chars.get(i + 1).is_some_and(|c| matches!(c, '〜' | '~' | '-' | '～' | 'ー')) {
            let e = chars.get(i + 2).and_then(|c| day(*c))?;
            for k in d.min(e)..=d.max(e) {
                bits |= 1 << k;
            }
            i += 3;
        } else {
            bits |= 1 << d;
            i += 1;
        }
    }
    Some(bits)
}

/// "月・火・水" for the bits of `days`; "" for none.
pub fn days_label(days: i64) -> String {
    DAY_LABELS.iter().enumerate().filter(|(i, _)| days & (1 << i) != 0).map(|(_, d)| *d).collect::<Vec<_>>().join("・")
}

/// "2026-11-24", "2026/11/24" or "2026/1/5" → "YYYY-MM-DD"; None when it is not a date.
pub fn parse_date(raw: &str) -> Option<String> {
    let s = narrow_digits(raw.trim()).replace(['/', '.', '年', '月'], "-").replace('日', "");
    let mut parts = s.split('-');
    let (y, m, d) =
        (parts.next()?.parse::<i64>().ok()?, parts.next()?.parse::<i64>().ok()?, parts.next()?.parse::<i64>().ok()?);
    if parts.next().is_some() || !(1900..=2200).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if d < 1 || d > days[(m - 1) as usize] {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Services as tags: split on 、,;/ and spaces, each kept once, in order.
pub fn parse_services(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in raw.split(['、', ',', ';', '/', '・', ' ', '\u{3000}', '\n']).map(str::trim).filter(|t| !t.is_empty()) {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// Check an input against the region's kinds and areas; `today` is Japan's date (YYYY-MM-DD).
pub fn validate(input: &EntryInput, kinds: &[Term], areas: &[Term], today: &str) -> Result<EntryFields, EntryErrors> {
    let mut e = EntryErrors::new();
    let kind = match Term::find(kinds, &input.kind) {
        Some(k) => k.code.clone(),
        None => {
            e.push(("kind", Problem::NotListed { choices: kinds.iter().map(|k| k.label.clone()).collect() }));
            String::new()
        }
    };
    let name = text(&input.name, "name", 100, true, &mut e);
    let kana = text(&input.kana, "kana", 100, false, &mut e);
    // Kana, and the digits and letters names carry ("ひまわり2ばんかん", "ABCやっきょく").
    let kana_like = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '\u{3041}'..='\u{309F}' | '\u{30A0}'..='\u{30FF}' | ' ' | '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '(' | ')' | '（' | '）' | '-')
    };
    if !kana.chars().all(kana_like) {
        e.push(("kana", Problem::NotKana));
    }
    let address = text(&input.address, "address", 200, false, &mut e);
    let area = if input.area.trim().is_empty() {
        String::new()
    } else {
        match Term::find(areas, &input.area) {
            Some(a) => a.code.clone(),
            None => {
                e.push(("area", Problem::NotListed { choices: areas.iter().map(|a| a.label.clone()).collect() }));
                String::new()
            }
        }
    };
    let phone_like = |raw: &str, field: &'static str, e: &mut EntryErrors| {
        let v = narrow_digits(raw.trim());
        if !v.is_empty()
            && (!v.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '(' | ')' | ' ')) || v.len() > 20)
        {
            e.push((field, Problem::NotPhone));
        }
        v
    };
    let phone = phone_like(&input.phone, "phone", &mut e);
    let fax = phone_like(&input.fax, "fax", &mut e);
    let email = text(&input.email, "email", 200, false, &mut e);
    if !email.is_empty() && (!email.contains('@') || email.contains(' ')) {
        e.push(("email", Problem::NotEmail));
    }
    let web = text(&input.web, "web", 300, false, &mut e);
    if !(web.is_empty() || web.starts_with("https://") || web.starts_with("http://")) {
        e.push(("web", Problem::NotWebAddress));
    }
    let days = match parse_days(&input.days) {
        Some(d) => d,
        None => {
            e.push(("days", Problem::NotDays));
            0
        }
    };
    let hours = text(&input.hours, "hours", 100, false, &mut e);
    let services_text = text(&input.services, "services", 500, false, &mut e);
    let services = parse_services(&services_text);
    if services.iter().any(|s| s.chars().count() > 30) {
        e.push(("services", Problem::ItemTooLong { max: 30 }));
    }
    let capacity = number(&input.capacity, "capacity", &mut e);
    let vacancies = number(&input.vacancies, "vacancies", &mut e);
    if let (Some(c), Some(v)) = (capacity, vacancies) {
        if v > c {
            e.push(("vacancies", Problem::AboveCapacity));
        }
    }
    let notes = text(&input.notes, "notes", 1000, false, &mut e);
    let confirmed_on = if input.confirmed_on.trim().is_empty() {
        None
    } else {
        match parse_date(&input.confirmed_on) {
            Some(d) if d.as_str() <= today => Some(d),
            Some(_) => {
                e.push(("confirmed_on", Problem::InFuture));
                None
            }
            None => {
                e.push(("confirmed_on", Problem::NotDate));
                None
            }
        }
    };
    let facility_id = Some(input.facility_id.trim().to_string()).filter(|f| !f.is_empty());
    if !e.is_empty() {
        return Err(e);
    }
    Ok(EntryFields {
        kind,
        name,
        kana,
        address,
        area,
        phone,
        fax,
        email,
        web,
        days,
        hours,
        services,
        capacity,
        vacancies,
        notes,
        confirmed_on,
        facility_id,
    })
}

/// R12.2: not confirmed within a year (or never) before `today`.
pub fn is_stale(confirmed_on: Option<&str>, today: &str) -> bool {
    let Some(d) = confirmed_on else { return true };
    let Ok(y) = d.get(0..4).unwrap_or("").parse::<i64>() else { return true };
    let a_year_later = format!("{:04}{}", y + 1, d.get(4..).unwrap_or(""));
    a_year_later.as_str() < today
}

/// The words of a search: split on spaces (half- and full-width), at most 8, each at most 50.
pub fn search_words(q: &str) -> Vec<String> {
    q.split([' ', '\u{3000}'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| w.chars().take(50).collect())
        .collect()
}

/// How well an entry matches the words (each word is known to match somewhere): the name counts
/// most, then the kana and the services, then the notes. Words and fields come folded alike (the
/// store's `search_text`), so this compares them as they are.
pub fn relevance(words: &[String], name: &str, kana: &str, services: &str, notes: &str) -> i64 {
    let has = |hay: &str, w: &str| hay.contains(w);
    words
        .iter()
        .map(|w| {
            let mut s = 0;
            if has(name, w) {
                s += WEIGHT_NAME;
                if name.starts_with(w.as_str()) {
                    s += WEIGHT_NAME_START;
                }
            }
            if has(kana, w) {
                s += WEIGHT_KANA;
            }
            if has(services, w) {
                s += WEIGHT_SERVICES;
            }
            if has(notes, w) {
                s += WEIGHT_NOTES;
            }
            s
        })
        .sum()
}

/// The weights of `relevance` (the store ranks with the same ones in SQL).
pub const WEIGHT_NAME: i64 = 8;
pub const WEIGHT_NAME_START: i64 = 4;
pub const WEIGHT_KANA: i64 = 4;
pub const WEIGHT_SERVICES: i64 = 4;
pub const WEIGHT_NOTES: i64 = 1;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn terms(list: &[(&str, &str)]) -> Vec<Term> {
        list.iter().map(|(c, l)| Term { code: c.to_string(), label: l.to_string() }).collect()
    }

    #[test]
    fn r12_1_days_read_as_people_write_them() {
        assert_eq!(parse_days("月水金"), Some(0b001_0101));
        assert_eq!(parse_days("月〜金"), Some(0b001_1111));
        assert_eq!(parse_days("月曜日・水曜日"), Some(0b000_0101));
        assert_eq!(parse_days("平日"), Some(0b001_1111));
        assert_eq!(parse_days("毎日"), Some(0b111_1111));
        assert_eq!(parse_days("土日"), Some(0b110_0000));
        assert_eq!(parse_days(""), Some(0));
        assert_eq!(parse_days("月曜と水曜"), None);
        assert_eq!(days_label(0b001_0101), "月・水・金");
    }

    #[test]
    fn r12_2_dates_and_staleness() {
        assert_eq!(parse_date("2026/1/5").as_deref(), Some("2026-01-05"));
        assert_eq!(parse_date("２０２６－１１－２４").as_deref(), Some("2026-11-24"));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert!(is_stale(None, "2026-11-24"));
        assert!(is_stale(Some("2025-11-23"), "2026-11-24"));
        assert!(!is_stale(Some("2025-11-24"), "2026-11-24"));
    }

    #[test]
    fn r12_1_r12_2_an_entry_is_checked_field_by_field_in_japanese() {
        let kinds = terms(DEFAULT_KINDS);
        let areas = terms(DEFAULT_AREAS);
        let ok = EntryInput {
            kind: "通所介護(デイサービス)".into(),
            name: "デイサービスひまわり".into(),
            kana: "でいさーびすひまわり".into(),
            area: "北部".into(),
            phone: "０４８－１２３－４５６７".into(),
            days: "月〜金".into(),
            services: "入浴、送迎、食事".into(),
            capacity: "25".into(),
            vacancies: "3".into(),
            confirmed_on: "2026/11/1".into(),
            ..EntryInput::default()
        };
        let f = validate(&ok, &kinds, &areas, "2026-11-24").unwrap();
        assert_eq!((f.kind.as_str(), f.area.as_str(), f.phone.as_str()), ("day_service", "north", "048-123-4567"));
        assert_eq!(f.services, vec!["入浴", "送迎", "食事"]);
        assert_eq!(f.days, 0b001_1111);
        let bad = EntryInput {
            kind: "喫茶店".into(),
            name: " ".into(),
            vacancies: "30".into(),
            capacity: "25".into(),
            web: "www.example.jp".into(),
            confirmed_on: "2027-01-01".into(),
            ..EntryInput::default()
        };
        let e = validate(&bad, &kinds, &areas, "2026-11-24").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["kind", "name", "web", "vacancies", "confirmed_on"]);
        assert!(matches!(&e[0].1, Problem::NotListed { choices } if choices.iter().any(|c| c == "通いの場・サロン")));
    }

    #[test]
    fn r12_1_words_and_relevance() {
        assert_eq!(search_words(" 入浴\u{3000}水曜  "), vec!["入浴", "水曜"]);
        let w = search_words("ひまわり");
        assert!(relevance(&w, "ひまわり苑", "", "", "") > relevance(&w, "あおば", "", "", "ひまわり畑の近く"));
    }
}
