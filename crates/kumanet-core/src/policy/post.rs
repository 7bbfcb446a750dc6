//! Posts (第10条): short and to the point (R10.3), confirmed before they count, with author, time
//! and a content hash; later edits keep every earlier version (R10.6).

use sha2::{Digest, Sha256};

labelled_enum!(
    /// Which part of a room a post belongs to (R5.3: the family sees only the shared part).
    Part {
        Professional = "pro": "専門職のみ",
        Shared = "shared": "患者・家族と共有",
        Board = "board": "掲示板",
    }
);

/// R10.3: the default soft limit; past it the composer advises brevity but does not block.
pub const DEFAULT_SOFT_LIMIT: u32 = 400;
/// A hard ceiling, far beyond any note from a home visit, so one post cannot fill a page.
pub const HARD_LIMIT: usize = 5_000;

/// The body as it is stored: line endings unified, surrounding blank space removed, at most
/// `HARD_LIMIT` characters, no control characters other than line breaks and tabs.
pub fn parse_body(raw: &str) -> Result<String, crate::problem::Problem> {
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    crate::problem::check_text(&unified, HARD_LIMIT, true)
}

/// R10.6: the content hash recorded with each confirmed version (SHA-256 of the UTF-8 body, hex).
pub fn content_hash(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// R10.3: the advice shown past the soft limit, or nothing.
pub fn brevity_advice(body: &str, soft_limit: u32) -> Option<String> {
    let len = body.chars().count();
    (len > soft_limit as usize).then(|| {
        format!("{len}文字です。{soft_limit}文字を超えています。要点を短くまとめると、忙しいメンバーにも伝わりやすくなります。")
    })
}

/// A piece of a post as it is shown: text, a link, or a line break. Templates escape the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Link(&'a str),
    Break,
}

/// Where a URL ends: blank space, or the punctuation and brackets Japanese text puts after one.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || "<>\"'()「」『』（）【】、。，！？".contains(c)
}

/// Plain text with line breaks and autolinked http(s) URLs (R10.3: posts are plain text).
pub fn segments(body: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push(Segment::Break);
        }
        let mut rest = line;
        while let Some(start) = find_url(rest) {
            if start > 0 {
                out.push(Segment::Text(&rest[..start]));
            }
            let tail = &rest[start..];
            let end = tail.char_indices().find(|&(_, c)| ends_url(c)).map_or(tail.len(), |(j, _)| j);
            // A trailing full stop or comma belongs to the sentence, not the address.
            let url = tail[..end].trim_end_matches(['.', ',', ';', ':']);
            out.push(Segment::Link(url));
            rest = &tail[url.len()..];
        }
        if !rest.is_empty() {
            out.push(Segment::Text(rest));
        }
    }
    out
}

fn find_url(s: &str) -> Option<usize> {
    let a = s.find("https://");
    let b = s.find("http://");
    let start = match (a, b) {
        (Some(x), Some(y)) => x.min(y),
        (x, y) => x.or(y)?,
    };
    // "http://" alone is not a link.
    let scheme = if s[start..].starts_with("https://") { 8 } else { 7 };
    let next = s[start + scheme..].chars().next();
    if next.is_some_and(|c| !ends_url(c)) {
        Some(start)
    } else {
        // Skip this one and look further.
        let skip = start + scheme;
        find_url(&s[skip..]).map(|n| n + skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r10_6_body_is_normalised_and_hashed() {
        assert_eq!(parse_body("  \r\n熱 37.8℃\r\n食事 半分\n\n").unwrap(), "熱 37.8℃\n食事 半分");
        assert!(parse_body(" \n\u{3000}").is_err());
        assert!(parse_body("a\u{0007}b").is_err());
        assert!(parse_body(&"あ".repeat(HARD_LIMIT + 1)).is_err());
        assert!(parse_body(&"あ".repeat(HARD_LIMIT)).is_ok());
        // The hash of the stored text, stable and hex.
        assert_eq!(content_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(content_hash("熱 37.8℃"), content_hash("熱 37.9℃"));
    }

    #[test]
    fn r10_3_soft_limit_advises_but_does_not_block() {
        let long = "あ".repeat(401);
        assert!(brevity_advice(&long, DEFAULT_SOFT_LIMIT).unwrap().contains("401文字"));
        assert!(brevity_advice(&"あ".repeat(400), DEFAULT_SOFT_LIMIT).is_none());
        assert!(parse_body(&long).is_ok());
    }

    #[test]
    fn links_and_breaks() {
        use Segment::*;
        assert_eq!(
            segments("資料 https://example.jp/a?b=1。\n以上"),
            vec![Text("資料 "), Link("https://example.jp/a?b=1"), Text("。"), Break, Text("以上")]
        );
        assert_eq!(segments("(http://x.jp/p)."), vec![Text("("), Link("http://x.jp/p"), Text(").")]);
        assert_eq!(segments("http:// だけ"), vec![Text("http:// だけ")]);
        assert_eq!(segments("javascript:alert(1)"), vec![Text("javascript:alert(1)")]);
        assert_eq!(segments("<b>"), vec![Text("<b>")]);
    }
}
