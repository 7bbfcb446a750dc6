//! Password rules (R8.1, R8.2).
//!
//! Sources: the regional operating policy 第8条(3), the MHLW 医療情報システムの安全管理に
//! 関するガイドライン 第6.0版, and NIST SP 800-63B.
//!
//! * R8.1 — a new password must be 8..=128 code points after NFKC normalisation, contain a
//!   letter, a digit and a symbol, must not be a common password (or a simple variant of
//!   one), must not contain the user's own words, must be rated at least 3 by zxcvbn, and
//!   must differ clearly from the current password. Reuse of the last [`HISTORY_LEN`]
//!   passwords is checked by the caller against the stored Argon2 hashes.
//! * R8.2 — passwords of 13 or more code points ([`PasswordTier::Long`]) never expire;
//!   shorter ones ([`PasswordTier::Short`]) expire after at most [`MAX_AGE_DAYS_LIMIT`]
//!   days ([`expires_at_us`]).
//!
//! Everything here is pure: no clock, no RNG, no I/O (the common-password list is
//! embedded with `include_bytes!`).

use std::collections::HashSet;
use std::io::Read;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

/// R8.1: minimum length in code points (after NFKC).
pub const MIN_LEN: usize = 8;
/// R8.2: from this length (code points, after NFKC) a password never expires.
pub const LONG_LEN: usize = 13;
/// R8.1: maximum length in code points (after NFKC); NIST asks for at least 64.
pub const MAX_LEN: usize = 128;
/// R8.1: how many previous passwords may not be reused (checked by the caller against
/// the Argon2 hashes it keeps).
pub const HISTORY_LEN: usize = 10;
/// R8.2: a short-tier password expires after at most this many days, whatever is
/// configured.
pub const MAX_AGE_DAYS_LIMIT: u32 = 60;

const US_PER_DAY: i64 = 86_400_000_000;

/// Words that are always treated as the user's context (R8.1): the system's and the
/// region's own names. They are checked whatever their length.
const CONTEXT_WORDS: &[&str] = &["kumanet", "くまねっと", "kumagaya", "熊谷", "mcs"];

/// Personal words shorter than this (in code points) are not looked for (R8.1).
const MIN_PERSONAL_WORD_LEN: usize = 3;

/// Lowest acceptable zxcvbn score (0..=4) (R8.1).
const MIN_ZXCVBN_SCORE: u8 = 3;

/// Edit distance (optimal string alignment, over code points) at or below which a new
/// password counts as similar to the current one (R8.1).
const MAX_SIMILAR_DISTANCE: usize = 3;

/// Django 5.2's common-password list (19,640 entries, BSD-3-Clause); see
/// `data/COMMON-PASSWORDS-LICENSE.txt`.
static COMMON_PASSWORDS_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

static COMMON_PASSWORDS: LazyLock<HashSet<String>> = LazyLock::new(load_common_passwords);

/// Decompresses the embedded list once. The data is fixed at compile time and a unit
/// test checks it decompresses to the full list, so the error branch is unreachable in a
/// tested build; it yields an empty set rather than panicking.
fn load_common_passwords() -> HashSet<String> {
    let mut text = String::new();
    let mut decoder = flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ);
    if decoder.read_to_string(&mut text).is_err() {
        return HashSet::new();
    }
    text.lines().filter(|line| !line.is_empty()).map(|line| normalize(line).to_lowercase()).collect()
}

/// R8.2: the password's tier, by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PasswordTier {
    /// 8..=12 code points: expires after at most [`MAX_AGE_DAYS_LIMIT`] days.
    Short,
    /// 13 or more code points: never expires.
    Long,
}

/// R8.1: why a candidate password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_LEN`] code points.
    TooShort { min: usize, got: usize },
    /// More than [`MAX_LEN`] code points.
    TooLong { max: usize, got: usize },
    /// No letter (any Unicode alphabetic character, kana and kanji included).
    MissingLetter,
    /// No digit.
    MissingDigit,
    /// No symbol, punctuation or space.
    MissingSymbol,
    /// A common password, or a simple variant of one.
    Common,
    /// Contains one of the user's own words (name, login id, facility, region) or a
    /// context word such as the system's name. `word` is the word as found (NFKC,
    /// lower-cased).
    ContainsPersonalWord { word: String },
    /// zxcvbn rates it below 3.
    TooWeak,
    /// The same as the current password.
    SameAsCurrent,
    /// Too close to the current password.
    SimilarToCurrent,
}

impl PasswordProblem {
    /// R8.1: a stable snake_case code for APIs, logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::MissingLetter => "missing_letter",
            Self::MissingDigit => "missing_digit",
            Self::MissingSymbol => "missing_symbol",
            Self::Common => "common",
            Self::ContainsPersonalWord { .. } => "contains_personal_word",
            Self::TooWeak => "too_weak",
            Self::SameAsCurrent => "same_as_current",
            Self::SimilarToCurrent => "similar_to_current",
        }
    }
}

/// R8.1: what the check needs to know about the user.
pub struct PasswordContext<'a> {
    /// The user's own words: name in kanji, name in kana, login id, facility name,
    /// region name. Words shorter than 3 code points are ignored.
    pub personal_words: &'a [&'a str],
    /// The current password, when the user is changing it (plain text, as typed).
    pub current: Option<&'a str>,
}

/// R8.1: the normalisation every rule works on: Unicode NFKC (full-width ASCII becomes
/// ASCII, half-width kana becomes full-width). Never truncates.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// R8.1, R8.2: checks a candidate password and returns its tier.
///
/// All length and composition problems are returned together; once those pass, the
/// first of common / personal word / too weak / same as or similar to the current
/// password is returned alone, so that the user sees one clear reason.
pub fn check(candidate: &str, ctx: &PasswordContext<'_>) -> Result<PasswordTier, Vec<PasswordProblem>> {
    let normalized = normalize(candidate);
    let len = normalized.chars().count();

    let mut problems = Vec::new();
    if len < MIN_LEN {
        problems.push(PasswordProblem::TooShort { min: MIN_LEN, got: len });
    }
    if len > MAX_LEN {
        problems.push(PasswordProblem::TooLong { max: MAX_LEN, got: len });
    }
    if !normalized.chars().any(is_letter) {
        problems.push(PasswordProblem::MissingLetter);
    }
    if !normalized.chars().any(is_digit) {
        problems.push(PasswordProblem::MissingDigit);
    }
    if !normalized.chars().any(is_symbol) {
        problems.push(PasswordProblem::MissingSymbol);
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let lower = normalized.to_lowercase();

    if is_common(&lower) {
        return Err(vec![PasswordProblem::Common]);
    }

    let needles = personal_needles(ctx.personal_words);
    if let Some(word) = find_personal_word(&lower, &needles) {
        return Err(vec![PasswordProblem::ContainsPersonalWord { word }]);
    }

    let user_inputs: Vec<&str> = needles.iter().map(|n| n.word.as_str()).collect();
    let score = u8::from(zxcvbn::zxcvbn(&normalized, &user_inputs).score());
    if score < MIN_ZXCVBN_SCORE {
        return Err(vec![PasswordProblem::TooWeak]);
    }

    if let Some(current) = ctx.current {
        if let Some(problem) = compare_with_current(&normalized, &normalize(current)) {
            return Err(vec![problem]);
        }
    }

    Ok(if len >= LONG_LEN { PasswordTier::Long } else { PasswordTier::Short })
}

/// R8.2: when a password set at `set_at_us` (microseconds since the Unix epoch)
/// expires. Long passwords never do; short ones after `max_age_days`, capped at
/// [`MAX_AGE_DAYS_LIMIT`] days.
pub fn expires_at_us(tier: PasswordTier, set_at_us: i64, max_age_days: u32) -> Option<i64> {
    match tier {
        PasswordTier::Long => None,
        PasswordTier::Short => {
            let days = i64::from(max_age_days.min(MAX_AGE_DAYS_LIMIT));
            Some(set_at_us.saturating_add(days.saturating_mul(US_PER_DAY)))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Character classes (R8.1)

fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

fn is_digit(c: char) -> bool {
    c.is_numeric()
}

/// Anything printable that is neither a letter nor a digit: symbols, punctuation,
/// spaces.
fn is_symbol(c: char) -> bool {
    !c.is_alphabetic() && !c.is_numeric() && !c.is_control()
}

// ---------------------------------------------------------------------------------------
// Variants: stripping, de-leeting, kana folding (R8.1)

/// Leading and trailing digits and symbols removed.
fn strip_both(s: &str) -> &str {
    s.trim_matches(|c: char| !c.is_alphabetic())
}

fn strip_start(s: &str) -> &str {
    s.trim_start_matches(|c: char| !c.is_alphabetic())
}

fn strip_end(s: &str) -> &str {
    s.trim_end_matches(|c: char| !c.is_alphabetic())
}

fn without_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The common leet substitutions, except `1`, which may stand for `l` or `i`.
fn unleet(c: char) -> char {
    match c {
        '@' | '4' => 'a',
        '0' => 'o',
        '3' => 'e',
        '5' | '$' => 's',
        '7' => 't',
        '!' => 'i',
        other => other,
    }
}

/// Up to this many `1`s every `l`/`i` combination is tried; beyond it, all-`l` and
/// all-`i` only.
const MAX_ONES_COMBINED: u32 = 4;

/// De-leeted forms of `s` (already lower-cased). `1` is tried both as `l` and as `i`.
fn leet_variants(s: &str) -> Vec<String> {
    let ones = s.chars().filter(|&c| c == '1').count();
    let masks: Vec<u32> = match u32::try_from(ones) {
        Ok(0) => vec![0],
        Ok(n) if n <= MAX_ONES_COMBINED => (0..(1u32 << n)).collect(),
        _ => vec![0, u32::MAX],
    };
    let mut out: Vec<String> = Vec::with_capacity(masks.len());
    for mask in masks {
        let mut index = 0u32;
        let variant: String = s
            .chars()
            .map(|c| {
                if c == '1' {
                    // Bit `index` of the mask picks `i`; indexes past 31 reuse bit 31.
                    let bit = (mask >> index.min(31)) & 1;
                    index = index.saturating_add(1);
                    if bit == 1 {
                        'i'
                    } else {
                        'l'
                    }
                } else {
                    unleet(c)
                }
            })
            .collect();
        if !out.contains(&variant) {
            out.push(variant);
        }
    }
    out
}

/// Katakana folded to hiragana, so that a name given in one matches the other.
fn fold_kana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{30A1}'..='\u{30F6}' | '\u{30FD}'..='\u{30FE}' => char::from_u32(u32::from(c) - 0x60).unwrap_or(c),
            other => other,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Common passwords (R8.1)

/// `lower` is the NFKC, lower-cased candidate.
fn is_common(lower: &str) -> bool {
    let list = &*COMMON_PASSWORDS;
    let nospace = without_whitespace(lower);
    let bases = [lower, nospace.as_str(), strip_both(lower), strip_start(lower), strip_end(lower)];
    bases.iter().any(|base| {
        list.contains(*base)
            || leet_variants(base).iter().any(|v| list.contains(v.as_str()) || list.contains(strip_both(v)))
    })
}

// ---------------------------------------------------------------------------------------
// Personal and context words (R8.1)

struct Needle {
    /// As reported and passed to zxcvbn: NFKC, lower-cased.
    word: String,
    /// What is looked for: `word` kana-folded, and its de-leeted forms.
    forms: Vec<String>,
}

fn personal_needles(personal_words: &[&str]) -> Vec<Needle> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |w: &str, min_len: usize| {
        if w.chars().count() >= min_len && !words.iter().any(|x| x == w) {
            words.push(w.to_owned());
        }
    };
    for raw in personal_words {
        let word = normalize(raw).to_lowercase();
        let word = word.trim();
        add(word, MIN_PERSONAL_WORD_LEN);
        add(&without_whitespace(word), MIN_PERSONAL_WORD_LEN);
        for part in word.split(|c: char| !c.is_alphanumeric()) {
            add(part, MIN_PERSONAL_WORD_LEN);
        }
    }
    for context in CONTEXT_WORDS {
        add(context, 1);
    }
    words
        .into_iter()
        .map(|word| {
            let folded = fold_kana(&word);
            let mut forms = vec![folded.clone()];
            for v in leet_variants(&folded) {
                if !forms.contains(&v) {
                    forms.push(v);
                }
            }
            Needle { word, forms }
        })
        .collect()
}

/// The first needle found in the candidate (`lower`: NFKC, lower-cased), as is, without
/// spaces, or de-leeted.
fn find_personal_word(lower: &str, needles: &[Needle]) -> Option<String> {
    let folded = fold_kana(lower);
    let nospace = without_whitespace(&folded);
    let mut haystacks = vec![folded.clone()];
    for base in [folded.as_str(), nospace.as_str()] {
        for v in std::iter::once(base.to_owned()).chain(leet_variants(base)) {
            if !haystacks.contains(&v) {
                haystacks.push(v);
            }
        }
    }
    needles
        .iter()
        .find(|n| n.forms.iter().any(|form| haystacks.iter().any(|h| h.contains(form.as_str()))))
        .map(|n| n.word.clone())
}

// ---------------------------------------------------------------------------------------
// Similarity to the current password (R8.1)

/// Both arguments NFKC-normalised.
fn compare_with_current(candidate: &str, current: &str) -> Option<PasswordProblem> {
    if candidate == current {
        return Some(PasswordProblem::SameAsCurrent);
    }
    let new_lower = candidate.to_lowercase();
    let cur_lower = current.to_lowercase();
    if cur_lower.is_empty() {
        return None;
    }
    let new_chars: Vec<char> = new_lower.chars().collect();
    let cur_chars: Vec<char> = cur_lower.chars().collect();
    let similar = new_lower.contains(&cur_lower)
        || cur_lower.contains(&new_lower)
        || (new_chars.len().abs_diff(cur_chars.len()) <= MAX_SIMILAR_DISTANCE
            && osa_distance(&new_chars, &cur_chars) <= MAX_SIMILAR_DISTANCE)
        || {
            let new_letters = letters_only(&new_lower);
            !new_letters.is_empty() && new_letters == letters_only(&cur_lower)
        };
    similar.then_some(PasswordProblem::SimilarToCurrent)
}

/// Every digit, symbol and space removed.
fn letters_only(s: &str) -> String {
    s.chars().filter(|c| c.is_alphabetic()).collect()
}

/// Damerau-Levenshtein distance, optimal string alignment variant (each substring is
/// edited at most once): insertions, deletions, substitutions and transpositions of
/// adjacent characters each cost 1.
fn osa_distance(a: &[char], b: &[char]) -> usize {
    // Three rolling rows: i-2, i-1 and i, each of length b.len() + 1.
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur: Vec<usize> = vec![0; width];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut best = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
            if i > 0 && j > 0 && a[i - 1] == cb && ca == b[j - 1] {
                best = best.min(before[j - 1] + 1);
            }
            cur[j + 1] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A long, non-repetitive English text; its first `n` code points (n ≥ 30) contain a
    /// letter, a digit and a symbol.
    fn text_of_len(n: usize) -> String {
        const TEXT: &str = "Blue lanterns drift over 7 quiet rivers; herons nap, and old \
            ferries hum softly near Chichibu bridges at dusk while crickets tune violins \
            under maple leaves, counting 42 slow stars before the morning trains awaken \
            sleepy villages across autumn hills.";
        let s: String = TEXT.chars().take(n).collect();
        assert_eq!(s.chars().count(), n, "TEXT is too short for {n}");
        s
    }

    #[derive(Debug)]
    enum Expect {
        Ok(PasswordTier),
        /// Exactly these problem codes, in this order.
        Err(&'static [&'static str]),
        /// Exactly one `ContainsPersonalWord` with this word.
        Personal(&'static str),
    }

    use Expect::{Err as E, Ok as O, Personal as P};
    use PasswordTier::{Long, Short};

    const NONE: &[&str] = &[];
    const YAMADA: &[&str] = &["山田 花子", "ヤマダ ハナコ", "yamada.h", "訪問看護ステーション ひなた", "深谷市"];

    #[test]
    fn r8_1_r8_2_password_rule_table() {
        let cases: Vec<(String, &[&str], Option<&str>, Expect)> = vec![
            // --- accepted: long passphrases, Japanese included (R8.1, R8.2)
            ("correct horse battery staple 9".into(), NONE, None, O(Long)),
            ("さくら並木を3回ゆっくり歩いた!".into(), NONE, None, O(Long)),
            // 12 code points: a Japanese passphrase, but the Short tier (R8.2).
            ("さくら並木を3回歩いた!".into(), NONE, None, O(Short)),
            ("夏祭りの金魚すくいで7匹とれた。".into(), NONE, None, O(Long)),
            ("Natsu no yoru ni 3 hotaru!".into(), NONE, None, O(Long)),
            // --- accepted: 9..=12 strong ones (Short tier)
            ("Qw7!vN3#pZ".into(), NONE, None, O(Short)),
            ("Tr0ub4dor&3".into(), NONE, None, O(Short)),
            ("Natsu#7Kyoto".into(), NONE, None, O(Short)),
            ("Kango!2024".into(), NONE, None, O(Short)),
            // --- length (R8.1)
            ("Ab1!".into(), NONE, None, E(&["too_short"])),
            ("Qw7!vN3".into(), NONE, None, E(&["too_short"])),
            // exactly 8: passes the length rule; zxcvbn can never rate 8 characters ≥ 3
            ("Zq8!vN3#".into(), NONE, None, E(&["too_weak"])),
            ("Zq8vvN3x".into(), NONE, None, E(&["missing_symbol"])),
            // exactly 13: the Long tier starts here (R8.2)
            ("Qw7!vN3#pZ-Lm".into(), NONE, None, O(Long)),
            ("Qw7!vN3#pZ-L".into(), NONE, None, O(Short)),
            (text_of_len(64), NONE, None, O(Long)),
            (text_of_len(128), NONE, None, O(Long)),
            (text_of_len(129), NONE, None, E(&["too_long"])),
            ("x".repeat(200), NONE, None, E(&["too_long", "missing_digit", "missing_symbol"])),
            // --- composition: every missing class is reported (R8.1)
            ("".into(), NONE, None, E(&["too_short", "missing_letter", "missing_digit", "missing_symbol"])),
            ("abc".into(), NONE, None, E(&["too_short", "missing_digit", "missing_symbol"])),
            ("Quiet rivers flow!".into(), NONE, None, E(&["missing_digit"])),
            ("9174-3382-5521".into(), NONE, None, E(&["missing_letter"])),
            ("QuietRivers42".into(), NONE, None, E(&["missing_symbol"])),
            ("さくら並木を歩いた!".into(), NONE, None, E(&["missing_digit"])),
            ("!!!???###".into(), NONE, None, E(&["missing_letter", "missing_digit"])),
            // --- full-width input is normalised by NFKC before counting (R8.1)
            ("Ｑｗ７！ｖＮ３＃ｐＺ".into(), NONE, None, O(Short)),
            ("ＡＢＣ１２３！ｘｙｚ".into(), NONE, None, E(&["too_weak"])),
            ("ＡＢ１！".into(), NONE, None, E(&["too_short"])),
            ("Ｐ＠ｓｓｗ０ｒｄ１！".into(), NONE, None, E(&["common"])),
            // ideographic space (U+3000) becomes a space: a symbol
            ("さくら　並木を3回歩いた".into(), NONE, None, O(Short)),
            // --- common passwords and simple variants (R8.1)
            ("Password1!".into(), NONE, None, E(&["common"])),
            ("P@ssw0rd2024!".into(), NONE, None, E(&["common"])),
            ("!Dragon2024".into(), NONE, None, E(&["common"])),
            ("1qaz2wsx!".into(), NONE, None, E(&["common"])),
            ("M0nk3y!!99".into(), NONE, None, E(&["common"])),
            ("$unshine7".into(), NONE, None, E(&["common"])),
            // 1 → i
            ("1l0veyou!".into(), NONE, None, E(&["common"])),
            // 1 → l
            ("F1ower5!!".into(), NONE, None, E(&["common"])),
            ("Sakura2024!".into(), NONE, None, E(&["common"])),
            ("Aaaaaaaa1!".into(), NONE, None, E(&["common"])),
            // --- personal and context words (R8.1)
            ("Yamada#Spring9".into(), YAMADA, None, P("yamada")),
            ("Y@m@d@#Spring9".into(), YAMADA, None, P("yamada")),
            ("はなこ!2024ねこ".into(), YAMADA, None, P("ハナコ")),
            ("山田花子の7月の日記!".into(), YAMADA, None, P("山田花子")),
            ("ひなた号で7時に出発!".into(), YAMADA, None, P("ひなた")),
            ("みどり訪問看護の7号車!".into(), &["みどり訪問看護"], None, P("みどり訪問看護")),
            ("Hinata!Home4Care".into(), &["Hinata Home Care"], None, P("hinata")),
            ("深谷市の夏は暑い!37度".into(), YAMADA, None, P("深谷市")),
            ("Fukaya!River2024".into(), &["Fukaya"], None, P("fukaya")),
            ("Kumanet#2024spring".into(), NONE, None, P("kumanet")),
            ("熊谷の夏は暑い!37度".into(), NONE, None, P("熊谷")),
            ("クマネットで7時に集合!".into(), NONE, None, P("くまねっと")),
            ("Mcs!7Harbor-Lights".into(), NONE, None, P("mcs")),
            // personal words shorter than 3 code points are not looked for
            ("林さんの3番目の猫!".into(), &["林", "Li"], None, O(Short)),
            // --- strength (R8.1): compliant but rated below 3 by zxcvbn
            ("Aaaabbbb1!".into(), NONE, None, E(&["too_weak"])),
            ("Xy!7Xy!7Xy!7".into(), NONE, None, E(&["too_weak"])),
            // --- the current password (R8.1)
            ("Blue!Lantern42".into(), NONE, Some("Blue!Lantern42"), E(&["same_as_current"])),
            ("Ｂｌｕｅ!Lantern42".into(), NONE, Some("Blue!Lantern42"), E(&["same_as_current"])),
            ("Haru2025!".into(), NONE, Some("Haru2024!"), E(&["similar_to_current"])),
            ("Sakura#2025#Spring".into(), NONE, Some("Sakura#2024#Spring"), E(&["similar_to_current"])),
            ("Sakura!1999!Spring".into(), NONE, Some("Sakura#2024#Spring"), E(&["similar_to_current"])),
            ("Haru2024!Natsu".into(), NONE, Some("Haru2024!"), E(&["similar_to_current"])),
            ("blue!lantern42".into(), NONE, Some("Blue!Lantern42x"), E(&["similar_to_current"])),
            ("Blue!Lanturn4".into(), NONE, Some("Blue!Lantern42"), E(&["similar_to_current"])),
            ("Bleu!Lantern24".into(), NONE, Some("Blue!Lantern42"), E(&["similar_to_current"])),
            ("Natsu#7Osaka".into(), NONE, Some("Natsu#7Kyoto"), O(Short)),
            ("さくら並木を3回ゆっくり歩いた!".into(), NONE, Some("Blue!Lantern42"), O(Long)),
        ];

        let mut failures = Vec::new();
        for (index, (candidate, words, current, expect)) in cases.iter().enumerate() {
            let ctx = PasswordContext { personal_words: words, current: *current };
            let got = check(candidate, &ctx);
            let matches = match (expect, &got) {
                (Expect::Ok(tier), Ok(got_tier)) => tier == got_tier,
                (Expect::Err(codes), Err(problems)) => {
                    problems.iter().map(PasswordProblem::code).collect::<Vec<_>>() == *codes
                }
                (Expect::Personal(word), Err(problems)) => {
                    problems[..] == [PasswordProblem::ContainsPersonalWord { word: (*word).to_owned() }]
                }
                _ => false,
            };
            if !matches {
                failures.push(format!(
                    "case {index}: {candidate:?} (words {words:?}, current {current:?}): \
                     expected {expect:?}, got {got:?}"
                ));
            }
        }
        assert!(cases.len() >= 45, "only {} cases", cases.len());
        assert!(failures.is_empty(), "{} failing case(s):\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn r8_1_problems_report_lengths_in_code_points() {
        let ctx = PasswordContext { personal_words: &[], current: None };
        // 5 kanji and kana are 15 bytes but 5 code points.
        let problems = check("春夏秋冬!", &ctx).unwrap_err();
        assert_eq!(problems[0], PasswordProblem::TooShort { min: 8, got: 5 });
        let problems = check(&text_of_len(129), &ctx).unwrap_err();
        assert_eq!(problems, vec![PasswordProblem::TooLong { max: 128, got: 129 }]);
    }

    #[test]
    fn r8_1_codes_are_stable_and_messages_japanese() {
        let all = [
            PasswordProblem::TooShort { min: 8, got: 5 },
            PasswordProblem::TooLong { max: 128, got: 129 },
            PasswordProblem::MissingLetter,
            PasswordProblem::MissingDigit,
            PasswordProblem::MissingSymbol,
            PasswordProblem::Common,
            PasswordProblem::ContainsPersonalWord { word: "yamada".into() },
            PasswordProblem::TooWeak,
            PasswordProblem::SameAsCurrent,
            PasswordProblem::SimilarToCurrent,
        ];
        let codes: Vec<&str> = all.iter().map(PasswordProblem::code).collect();
        assert_eq!(
            codes,
            [
                "too_short",
                "too_long",
                "missing_letter",
                "missing_digit",
                "missing_symbol",
                "common",
                "contains_personal_word",
                "too_weak",
                "same_as_current",
                "similar_to_current"
            ]
        );
    }

    #[test]
    fn r8_1_common_list_is_embedded_and_loaded() {
        assert_eq!(COMMON_PASSWORDS.len(), 19_640);
        assert!(COMMON_PASSWORDS.contains("password"));
        assert!(COMMON_PASSWORDS.contains("1qaz2wsx"));
        assert!(!COMMON_PASSWORDS.contains(""));
    }

    #[test]
    fn r8_1_normalize_is_nfkc() {
        assert_eq!(normalize("ＡＢＣ１２３！"), "ABC123!");
        assert_eq!(normalize("ﾊﾟｽﾜｰﾄﾞ"), "パスワード");
        assert_eq!(normalize("\u{3000}"), " ");
        assert_eq!(normalize("ﬁ①㍻"), "fi1平成");
        // NFKC composes: か + combining dakuten → が.
        assert_eq!(normalize("か\u{3099}"), "が");
        // Never truncated.
        let long = "a".repeat(1000);
        assert_eq!(normalize(&long), long);
    }

    fn dist(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa_distance(&a, &b)
    }

    #[test]
    fn r8_1_osa_distance() {
        assert_eq!(dist("", ""), 0);
        assert_eq!(dist("abc", ""), 3);
        assert_eq!(dist("", "abcd"), 4);
        assert_eq!(dist("same", "same"), 0);
        assert_eq!(dist("kitten", "sitting"), 3);
        assert_eq!(dist("flaw", "lawn"), 2);
        // one adjacent transposition costs 1
        assert_eq!(dist("ab", "ba"), 1);
        assert_eq!(dist("haru2024", "haru2042"), 1);
        // optimal string alignment: "ca" → "abc" is 3 (true Damerau-Levenshtein: 2)
        assert_eq!(dist("ca", "abc"), 3);
        // counted in code points, not bytes
        assert_eq!(dist("さくら", "さくろ"), 1);
        assert_eq!(dist("さくら", "くさら"), 1);
        // symmetric
        assert_eq!(dist("Blue!Lantern42", "Blue!Lanturn4"), 2);
        assert_eq!(dist("Blue!Lanturn4", "Blue!Lantern42"), 2);
    }

    #[test]
    fn r8_1_leet_variants_try_1_as_l_and_i() {
        let v = leet_variants("p@55w0rd");
        assert_eq!(v, vec!["password".to_owned()]);
        let v = leet_variants("1l0v3");
        assert!(v.contains(&"llove".to_owned()) && v.contains(&"ilove".to_owned()));
        assert_eq!(leet_variants("11").len(), 4);
        // many 1s: all-l and all-i only
        assert_eq!(leet_variants("1111111").len(), 2);
    }

    #[test]
    fn r8_2_expiry() {
        let set_at = 1_700_000_000_000_000_i64;
        let day = 86_400_000_000_i64;
        assert_eq!(expires_at_us(PasswordTier::Long, set_at, 60), None);
        assert_eq!(expires_at_us(PasswordTier::Long, set_at, 90), None);
        assert_eq!(expires_at_us(PasswordTier::Short, set_at, 30), Some(set_at + 30 * day));
        assert_eq!(expires_at_us(PasswordTier::Short, set_at, 60), Some(set_at + 60 * day));
        // configured longer than the limit: capped at 60 days
        assert_eq!(expires_at_us(PasswordTier::Short, set_at, 90), Some(set_at + 60 * day));
        assert_eq!(expires_at_us(PasswordTier::Short, set_at, u32::MAX), Some(set_at + 60 * day));
        // no overflow panic at the edge
        assert_eq!(expires_at_us(PasswordTier::Short, i64::MAX, 60), Some(i64::MAX));
    }

    #[test]
    fn r8_1_constants() {
        assert_eq!((MIN_LEN, LONG_LEN, MAX_LEN), (8, 13, 128));
        assert_eq!(HISTORY_LEN, 10);
        assert_eq!(MAX_AGE_DAYS_LIMIT, 60);
    }
}
