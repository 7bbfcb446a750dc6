//! R10.4: a post in one patient's room that names another patient the author can see is warned
//! about before it is confirmed.
//!
//! The names of every visible patient (kanji and kana; family + given in either order; with or
//! without spaces) go into one Aho–Corasick automaton, so a check costs one pass over the text
//! whatever the number of patients.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use unicode_normalization::UnicodeNormalization;

/// A patient the author can see, as the matcher needs it.
#[derive(Debug, Clone)]
pub struct KnownPatient {
    pub id: String,
    pub name: String,
    pub kana: String,
}

/// A warning: which patient, and how the text named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameHit {
    pub patient_id: String,
    pub name: String,
    pub matched: String,
}

/// R10.4, R5.4 (R12.3): the patients a post must not name unless its author confirms it: every
/// patient the author can see but the room's own. A board belongs to no patient, so there every
/// visible patient is warned about: no patient information belongs on a board.
pub fn others_than(room_patient: Option<&str>, visible: Vec<KnownPatient>) -> Vec<KnownPatient> {
    visible.into_iter().filter(|p| Some(p.id.as_str()) != room_patient).collect()
}

pub struct NameMatcher {
    automaton: Option<AhoCorasick>,
    /// For each pattern: the index of its patient and the pattern's text.
    owners: Vec<(usize, String)>,
    patients: Vec<KnownPatient>,
}

/// Text and names are compared in one form: NFKC (full-width letters and half-width kana
/// unified), katakana folded to hiragana, blank space removed.
pub fn fold(s: &str) -> String {
    s.nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The ways a full name is written: as registered, and with the two parts swapped.
fn variants(name: &str) -> Vec<String> {
    let parts: Vec<&str> = name.split(|c: char| c.is_whitespace()).filter(|p| !p.is_empty()).collect();
    let mut out = vec![fold(name)];
    if parts.len() == 2 {
        out.push(fold(&format!("{}{}", parts[1], parts[0])));
    }
    out
}

/// Shorter patterns would fire on ordinary words.
const MIN_PATTERN_CHARS: usize = 2;

impl NameMatcher {
    pub fn new(patients: Vec<KnownPatient>) -> NameMatcher {
        let mut owners = Vec::new();
        for (i, p) in patients.iter().enumerate() {
            for v in variants(&p.name).into_iter().chain(variants(&p.kana)) {
                if v.chars().count() >= MIN_PATTERN_CHARS && !owners.iter().any(|(o, t)| *o == i && *t == v) {
                    owners.push((i, v));
                }
            }
        }
        let automaton = if owners.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new().match_kind(MatchKind::Standard).build(owners.iter().map(|(_, t)| t.as_str())).ok()
        };
        NameMatcher { automaton, owners, patients }
    }

    pub fn len(&self) -> usize {
        self.patients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patients.is_empty()
    }

    /// Every visible patient the text names, once each, in the order they first appear.
    pub fn find(&self, text: &str) -> Vec<NameHit> {
        let Some(ac) = &self.automaton else { return Vec::new() };
        let folded = fold(text);
        let mut hits: Vec<NameHit> = Vec::new();
        for m in ac.find_overlapping_iter(&folded) {
            let (owner, pattern) = &self.owners[m.pattern().as_usize()];
            let p = &self.patients[*owner];
            if !hits.iter().any(|h| h.patient_id == p.id) {
                hits.push(NameHit { patient_id: p.id.clone(), name: p.name.clone(), matched: pattern.clone() });
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r10_4_r5_4_a_group_warns_about_the_others_and_a_board_about_everyone() {
        let visible = || matcher().patients;
        let ids = |v: Vec<KnownPatient>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(others_than(Some("p1"), visible())), ["p2", "p3"], "the room's own patient is not warned about");
        assert_eq!(ids(others_than(None, visible())), ["p1", "p2", "p3"], "on a board, every patient is");
    }

    fn matcher() -> NameMatcher {
        NameMatcher::new(vec![
            KnownPatient { id: "p1".into(), name: "山田 太郎".into(), kana: "やまだ たろう".into() },
            KnownPatient { id: "p2".into(), name: "佐藤花子".into(), kana: "サトウ ハナコ".into() },
            KnownPatient { id: "p3".into(), name: "林 一".into(), kana: "はやし はじめ".into() },
        ])
    }

    #[test]
    fn r10_4_names_in_every_written_form() {
        let m = matcher();
        let ids = |t: &str| m.find(t).into_iter().map(|h| h.patient_id).collect::<Vec<_>>();
        assert_eq!(ids("山田太郎さん 本日訪問"), ["p1"]);
        assert_eq!(ids("山田 太郎さん"), ["p1"]);
        assert_eq!(ids("山田\u{3000}太郎さん"), ["p1"]);
        assert_eq!(ids("太郎 山田 様"), ["p1"]);
        assert_eq!(ids("やまだたろうさん"), ["p1"]);
        assert_eq!(ids("ヤマダ タロウ"), ["p1"]);
        assert_eq!(ids("ﾔﾏﾀﾞﾀﾛｳ"), ["p1"]);
        assert_eq!(ids("さとうはなこさんと山田太郎さん"), ["p2", "p1"]);
        assert_eq!(ids("林一さん"), ["p3"]);
        assert_eq!(m.find("はやしはじめ")[0].name, "林 一");
    }

    #[test]
    fn r10_4_ordinary_words_do_not_fire() {
        let m = matcher();
        assert!(m.find("山田さん(別の方)の件、太郎さんにも連絡").is_empty());
        assert!(m.find("林の中を散歩").is_empty());
        assert!(NameMatcher::new(Vec::new()).find("山田太郎").is_empty());
    }

    #[test]
    fn r10_4_thousands_of_patients_one_pass() {
        let patients = (0..5000)
            .map(|i| KnownPatient {
                id: format!("p{i}"), name: format!("患者{i} 名前{i}"), kana: "かんじゃ".into()
            })
            .collect();
        let m = NameMatcher::new(patients);
        assert_eq!(m.len(), 5000);
        let hits = m.find("今日は患者4321 名前4321さんを訪問");
        assert!(hits.iter().any(|h| h.patient_id == "p4321"), "{hits:?}");
    }
}
