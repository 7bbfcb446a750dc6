//! What is wrong with something a person typed, as a code. The words are the UI's: kumanet-web
//! holds the one table of Japanese messages (`messages`), and the API sends the code with them.

/// A problem with one field of a form or one column of a CSV row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Nothing was typed where something is needed.
    Missing,
    /// Longer than `max` characters (`len` were typed).
    TooLong {
        max: usize,
        len: usize,
    },
    /// A control character, or another character that cannot be stored.
    BadCharacter,
    /// Not hiragana or katakana.
    NotKana,
    /// Not a whole number from 0 to 100,000.
    NotNumber,
    /// Not one of the region's terms (its kinds or areas), which are listed.
    NotListed {
        choices: Vec<String>,
    },
    /// Not digits and hyphens.
    NotPhone,
    NotEmail,
    /// Not an http:// or https:// address.
    NotWebAddress,
    /// Not days of the week (月火水, 月〜金, 平日, 毎日).
    NotDays,
    /// Not a date (2026-11-24).
    NotDate,
    /// A date after today.
    InFuture,
    /// One item of a list is longer than `max` characters.
    ItemTooLong {
        max: usize,
    },
    /// More than the field it is bounded by (the vacancies than the capacity).
    AboveCapacity,
    /// A number outside `lo..=hi`.
    OutOfRange {
        lo: u32,
        hi: u32,
    },
}

impl Problem {
    /// The stable code the API sends (`fields[].code`).
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Missing => "required",
            Problem::TooLong { .. } => "too_long",
            Problem::BadCharacter => "bad_character",
            Problem::NotKana => "not_kana",
            Problem::NotNumber => "not_a_number",
            Problem::NotListed { .. } => "not_listed",
            Problem::NotPhone => "not_a_phone_number",
            Problem::NotEmail => "not_an_email_address",
            Problem::NotWebAddress => "not_a_web_address",
            Problem::NotDays => "not_days_of_the_week",
            Problem::NotDate => "not_a_date",
            Problem::InFuture => "in_the_future",
            Problem::ItemTooLong { .. } => "item_too_long",
            Problem::AboveCapacity => "above_capacity",
            Problem::OutOfRange { .. } => "out_of_range",
        }
    }
}

/// Trimmed text of at most `max` characters without control characters (line breaks allowed
/// where `lines`).
pub fn check_text(raw: &str, max: usize, lines: bool) -> Result<String, Problem> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Problem::Missing);
    }
    let len = s.chars().count();
    if len > max {
        return Err(Problem::TooLong { max, len });
    }
    if s.chars().any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\t'))) {
        return Err(Problem::BadCharacter);
    }
    Ok(s.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(check_text("  田中 ", 64, false).unwrap(), "田中");
        assert_eq!(check_text(" \u{3000}", 64, false), Err(Problem::Missing));
        assert_eq!(check_text("あいう", 2, false), Err(Problem::TooLong { max: 2, len: 3 }));
        assert_eq!(check_text("a\u{7}b", 64, false), Err(Problem::BadCharacter));
        assert_eq!(check_text("a\nb", 64, false), Err(Problem::BadCharacter));
        assert_eq!(check_text("a\nb", 64, true).unwrap(), "a\nb");
        let codes: std::collections::HashSet<_> =
            [Problem::Missing, Problem::TooLong { max: 1, len: 2 }, Problem::NotKana]
                .iter()
                .map(Problem::code)
                .collect();
        assert_eq!(codes.len(), 3, "each problem has its own code");
    }
}
