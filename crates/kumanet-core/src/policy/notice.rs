//! E-mail notices: whether, when and what. A notice says only that there is something new and
//! where to log in; it never carries patient information (no name, no text, no group).

use crate::{Micros, MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE};

labelled_enum!(
    /// Each user's choice (default: a daily digest).
    NoticeMode {
        Instant = "instant": "新しい投稿があるとすぐに(10分に1通まで)",
        Daily = "daily": "1日1回まとめて(18時)",
        Off = "off": "送らない",
    }
);

/// "At once" sends at most one mail per user in this span, however busy the groups are.
pub const INSTANT_GAP_US: Micros = 10 * MICROS_PER_MINUTE;

/// Japan time is UTC+9 all year.
const JST_OFFSET_US: Micros = 9 * MICROS_PER_HOUR;
/// The digest goes out at 18:00 Japan time.
const DIGEST_HOUR_JST: Micros = 18;

/// The most recent 18:00 (Japan time) at or before `now`.
pub fn last_digest_slot(now: Micros) -> Micros {
    let local = now + JST_OFFSET_US;
    let day_start = local - local.rem_euclid(MICROS_PER_DAY);
    let slot = day_start + DIGEST_HOUR_JST * MICROS_PER_HOUR;
    let slot = if slot > local { slot - MICROS_PER_DAY } else { slot };
    slot - JST_OFFSET_US
}

/// A daily digest is due when none has been sent since the latest 18:00.
pub fn digest_due(now: Micros, last_sent: Option<Micros>) -> bool {
    last_sent.is_none_or(|t| t < last_digest_slot(now))
}

/// An "at once" notice is allowed when none went out in the last ten minutes.
pub fn instant_allowed(now: Micros, last_sent: Option<Micros>) -> bool {
    last_sent.is_none_or(|t| now - t >= INSTANT_GAP_US)
}

/// Subject and body of an "at once" notice.
pub fn instant_mail(region: &str, name: &str, url: &str) -> (String, String) {
    (
        format!("【{region}】新しい投稿があります"),
        format!(
            "{name} 様\n\n参加しているグループに新しい投稿があります。\n内容はログインしてご確認ください。\n{url}\n\n\
             このメールには患者さんの情報は含まれていません。通知の受け取り方はプロフィールで変えられます。\n"
        ),
    )
}

/// Subject and body of the daily digest.
pub fn digest_mail(region: &str, name: &str, unread: i64, url: &str) -> (String, String) {
    (
        format!("【{region}】未読の投稿が{unread}件あります"),
        format!(
            "{name} 様\n\n参加しているグループに、まだ読んでいない投稿が{unread}件あります。\n内容はログインしてご確認ください。\n{url}\n\n\
             このメールには患者さんの情報は含まれていません。通知の受け取り方はプロフィールで変えられます。\n"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24 14:05 JST.
    const T0: Micros = 1_795_496_700_000_000;

    #[test]
    fn the_digest_goes_out_once_a_day_after_six_in_the_evening_japan_time() {
        // At 14:05 the latest slot is yesterday 18:00, 20 h 05 min earlier.
        assert_eq!(T0 - last_digest_slot(T0), 20 * MICROS_PER_HOUR + 5 * MICROS_PER_MINUTE);
        let six_pm = T0 + 3 * MICROS_PER_HOUR + 55 * MICROS_PER_MINUTE;
        assert_eq!(last_digest_slot(six_pm), six_pm);
        assert!(digest_due(six_pm, None));
        assert!(digest_due(six_pm, Some(T0)), "sent this morning: the evening one is still due");
        assert!(!digest_due(six_pm + MICROS_PER_HOUR, Some(six_pm)));
        assert!(digest_due(six_pm + MICROS_PER_DAY, Some(six_pm)));
    }

    #[test]
    fn instant_notices_are_spaced() {
        assert!(instant_allowed(T0, None));
        assert!(!instant_allowed(T0 + 9 * MICROS_PER_MINUTE, Some(T0)));
        assert!(instant_allowed(T0 + INSTANT_GAP_US, Some(T0)));
    }

    #[test]
    fn mails_carry_no_patient_information() {
        let (subject, body) = instant_mail("熊谷市", "訪問 花子", "https://kumanet.example.jp/");
        assert_eq!(subject, "【熊谷市】新しい投稿があります");
        assert!(body.starts_with("訪問 花子 様") && body.contains("https://kumanet.example.jp/"));
        let (subject, _) = digest_mail("熊谷市", "訪問 花子", 3, "https://kumanet.example.jp/");
        assert!(subject.contains("3件"));
    }
}
