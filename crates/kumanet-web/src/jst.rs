//! Every timestamp is stored in UTC and shown in Japan time: 2026年11月24日(火) 14:05.

use kumanet_core::Micros;
use time::{OffsetDateTime, UtcOffset};

const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

fn to_jst(us: Micros) -> Option<OffsetDateTime> {
    let offset = UtcOffset::from_hms(9, 0, 0).ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).ok().map(|t| t.to_offset(offset))
}

/// `2026年11月24日(火) 14:05`
pub fn datetime(us: impl std::borrow::Borrow<Micros>) -> String {
    match to_jst(*us.borrow()) {
        Some(t) => format!(
            "{}年{}月{}日({}) {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            WEEKDAYS[usize::from(t.weekday().number_days_from_monday())],
            t.hour(),
            t.minute()
        ),
        None => String::from("—"),
    }
}

/// `2026年11月24日(火)`
pub fn date(us: impl std::borrow::Borrow<Micros>) -> String {
    match to_jst(*us.borrow()) {
        Some(t) => format!(
            "{}年{}月{}日({})",
            t.year(),
            u8::from(t.month()),
            t.day(),
            WEEKDAYS[usize::from(t.weekday().number_days_from_monday())]
        ),
        None => String::from("—"),
    }
}

/// `YYYY-MM-DD` of the day in Japan time.
pub fn iso_date_jst(us: Micros) -> String {
    match to_jst(us) {
        Some(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        None => String::new(),
    }
}

/// A stored calendar date `YYYY-MM-DD` shown as `1940年4月1日`; anything else as it is.
pub fn ymd(date: &str) -> String {
    let mut it = date.splitn(3, '-');
    match (
        it.next().and_then(|y| y.parse::<i32>().ok()),
        it.next().and_then(|m| m.parse::<u8>().ok()),
        it.next().and_then(|d| d.parse::<u8>().ok()),
    ) {
        (Some(y), Some(m), Some(d)) => format!("{y}年{m}月{d}日"),
        _ => date.to_string(),
    }
}

/// Age in whole years on the day of `now` (Japan time), from a `YYYY-MM-DD` birth date.
pub fn age(birth: &str, now: Micros) -> Option<i32> {
    let today = iso_date_jst(now);
    let year = |s: &str| s.get(0..4).and_then(|y| y.parse::<i32>().ok());
    let (by, ty) = (year(birth)?, year(&today)?);
    let had_birthday = today.get(5..)? >= birth.get(5..)?;
    Some(ty - by - i32::from(!had_birthday))
}

/// ISO 8601 in UTC with seconds, for exports.
pub fn iso_utc(us: Micros) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Parse `YYYY-MM-DD` (a date input) as midnight in Japan time.
pub fn parse_date_jst(s: &str) -> Option<Micros> {
    let mut it = s.trim().splitn(3, '-');
    let (y, m, d) = (it.next()?.parse::<i32>().ok()?, it.next()?.parse::<u8>().ok()?, it.next()?.parse::<u8>().ok()?);
    let d = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    let t = d.midnight().assume_offset(UtcOffset::from_hms(9, 0, 0).ok()?);
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_japan_time_with_weekday() {
        // 2026-11-24 05:05 UTC is 14:05 on Tuesday in Japan.
        let us = 1_795_496_700_000_000;
        assert_eq!(datetime(us), "2026年11月24日(火) 14:05");
        assert_eq!(date(us), "2026年11月24日(火)");
        assert_eq!(parse_date_jst("2026-11-24").map(datetime).as_deref(), Some("2026年11月24日(火) 00:00"));
        assert_eq!(ymd("1940-04-01"), "1940年4月1日");
        assert_eq!(age("1940-04-01", us), Some(86));
        assert_eq!(age("1940-11-25", us), Some(85), "the birthday is tomorrow");
        assert_eq!(age("1940-11-24", us), Some(86));
    }
}
