//! The regional resource directory (Ayamu; R12.1, R12.2): search, entries kept current by the
//! center and by each facility for its own, CSV import (UTF-8 or Shift_JIS, a dry run first) and
//! export. Directory data is public information about places, not patient information.

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::people::Role;
use kumanet_core::policy::directory::{
    column_label, days_label, search_words, validate, EntryFields, EntryInput, Term, COLUMNS, STALE_AFTER_DAYS,
};
use kumanet_core::problem::Problem;
use kumanet_store::{DirectoryEntry, DirectoryQuery};
use serde::Deserialize;

use super::new_id;
use crate::error::{FieldErrors, WebError};
use crate::request::{AuditTarget, Ctx};
use crate::App;

/// Results per page of a search.
pub const PAGE: i64 = 20;
/// An import reads at most this many rows and bytes.
pub const MAX_ROWS: usize = 50_000;
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

/// The search form (pages, the API and the CSV export share it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SearchForm {
    pub q: String,
    pub kind: String,
    pub area: String,
    /// 0 = Monday … 6 = Sunday; empty for any day.
    pub day: String,
    /// "1": only places with vacancies.
    pub vacancy: String,
    /// "name" or "relevance" (the default when words are given).
    pub sort: String,
    /// Only the entries of one Kumanet facility (a facility admin's own, from the home page).
    pub facility: String,
    pub page: Option<i64>,
}

impl SearchForm {
    pub fn query(&self, kinds: &[Term], areas: &[Term], limit: i64) -> DirectoryQuery {
        let page = self.page.unwrap_or(1).clamp(1, 10_000);
        let mut day = self.day.trim().parse::<u8>().ok().filter(|d| *d < 7);
        let mut words = search_words(&self.q);
        // "水曜" or "水曜日" among the words is the day of the week, not text to find; so are the
        // names of an area or a kind.
        let mut kind = Term::find(kinds, &self.kind).map(|k| k.code.clone());
        let mut area = Term::find(areas, &self.area).map(|a| a.code.clone());
        words.retain(|w| {
            if let Some(d) = weekday(w) {
                day = day.or(Some(d));
                return false;
            }
            if let (None, Some(a)) = (&area, Term::find(areas, w)) {
                area = Some(a.code.clone());
                return false;
            }
            if let (None, Some(k)) = (&kind, Term::find(kinds, w)) {
                kind = Some(k.code.clone());
                return false;
            }
            true
        });
        DirectoryQuery {
            words,
            kind,
            area,
            day,
            vacancy: self.vacancy == "1",
            facility: Some(self.facility.trim().to_string()).filter(|f| !f.is_empty()),
            by_name: self.sort == "name",
            offset: (page - 1) * limit,
            limit,
        }
    }
}

/// "水曜" or "水曜日" → 2 (Monday is 0).
fn weekday(word: &str) -> Option<u8> {
    let w = word.strip_suffix("曜日").or_else(|| word.strip_suffix('曜'))?;
    kumanet_core::policy::directory::DAY_LABELS.iter().position(|d| *d == w).and_then(|i| u8::try_from(i).ok())
}

/// The region's kinds and areas.
pub async fn terms(app: &App) -> Result<(Vec<Term>, Vec<Term>), WebError> {
    Ok((app.store.directory_terms("kind").await?, app.store.directory_terms("area").await?))
}

/// Japan's date today, YYYY-MM-DD.
pub fn today(ctx: &Ctx) -> String {
    crate::jst::iso_date_jst(ctx.now)
}

/// The day before which an entry counts as out of date (R12.2).
pub fn stale_cutoff(ctx: &Ctx) -> String {
    crate::jst::iso_date_jst(ctx.now - STALE_AFTER_DAYS * 24 * 3600 * kumanet_core::MICROS_PER_SECOND)
}

fn field_errors(errors: Vec<(&'static str, Problem)>) -> WebError {
    let mut e = FieldErrors::default();
    for (f, p) in errors {
        e.problem(f, column_label(f), &p);
    }
    WebError::Invalid(e)
}

/// Check a form against the region's vocabularies and the asker's facility: a facility admin's
/// entries are the facility's own; the center may name any facility, or none.
async fn checked(app: &App, ctx: &Ctx, input: &EntryInput) -> Result<EntryFields, WebError> {
    let (kinds, areas) = terms(app).await?;
    let mut f = validate(input, &kinds, &areas, &today(ctx)).map_err(field_errors)?;
    let u = ctx.user.as_ref().ok_or(WebError::NotFound)?;
    if u.role == Role::FacilityAdmin {
        f.facility_id = u.facility_id.clone();
    } else if let Some(fid) = &f.facility_id {
        if app.store.facility(fid).await?.is_none() {
            let mut e = FieldErrors::default();
            e.add("facility_id", "その施設はくまねっとに登録されていません。");
            return Err(WebError::Invalid(e));
        }
    }
    Ok(f)
}

pub async fn create(app: &App, ctx: &Ctx, input: &EntryInput) -> Result<String, WebError> {
    let f = checked(app, ctx, input).await?;
    let id = new_id();
    let mut tx = app.store.begin().await?;
    tx.put_directory_entry(&id, &f, ctx.user_id(), ctx.now, true).await?;
    tx.audit(
        ctx.audit(AuditAction::ResourceCreated, AuditResult::Ok)
            .on("resource", &id)
            .details(serde_json::json!({ "kind": f.kind, "facility_id": f.facility_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(app: &App, ctx: &Ctx, entry: &DirectoryEntry, input: &EntryInput) -> Result<(), WebError> {
    let f = checked(app, ctx, input).await?;
    let mut tx = app.store.begin().await?;
    tx.put_directory_entry(&entry.id, &f, ctx.user_id(), ctx.now, false).await?;
    tx.audit(
        ctx.audit(AuditAction::ResourceUpdated, AuditResult::Ok)
            .on("resource", &entry.id)
            .details(serde_json::json!({ "kind": f.kind, "facility_id": f.facility_id })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// R12.2: "as it says, today".
pub async fn confirm(app: &App, ctx: &Ctx, entry: &DirectoryEntry) -> Result<(), WebError> {
    let day = today(ctx);
    let mut tx = app.store.begin().await?;
    tx.confirm_directory_entry(&entry.id, &day, ctx.user_id(), ctx.now).await?;
    tx.audit(
        ctx.audit(AuditAction::ResourceConfirmed, AuditResult::Ok)
            .on("resource", &entry.id)
            .details(serde_json::json!({ "confirmed_on": day })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// An entry as a form shows it (labels for codes, "月・水" for the days).
pub fn input_of(e: &DirectoryEntry, kinds: &[Term], areas: &[Term]) -> EntryInput {
    let label = |terms: &[Term], code: &str| Term::label_of(terms, code).to_string();
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    EntryInput {
        kind: label(kinds, &e.f.kind),
        name: e.f.name.clone(),
        kana: e.f.kana.clone(),
        address: e.f.address.clone(),
        area: if e.f.area.is_empty() { String::new() } else { label(areas, &e.f.area) },
        phone: e.f.phone.clone(),
        fax: e.f.fax.clone(),
        email: e.f.email.clone(),
        web: e.f.web.clone(),
        days: days_label(e.f.days),
        hours: e.f.hours.clone(),
        services: e.f.services.join("、"),
        capacity: n(e.f.capacity),
        vacancies: n(e.f.vacancies),
        notes: e.f.notes.clone(),
        confirmed_on: e.f.confirmed_on.clone().unwrap_or_default(),
        facility_id: e.f.facility_id.clone().unwrap_or_default(),
        csrf: None,
    }
}

/// What an import does with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowAction {
    Create,
    Update(String),
    Refuse,
}

/// One row of a CSV file, as the dry run reports it.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The file's line the row starts on (the header is line 1).
    pub line: u64,
    pub name: String,
    pub action: RowAction,
    /// (column, reason) in Japanese.
    pub errors: Vec<(String, String)>,
    fields: Option<EntryFields>,
}

impl ImportRow {
    pub fn refused(&self) -> bool {
        self.action == RowAction::Refuse
    }
}

/// What an import found, and whether it wrote.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub encoding: &'static str,
    pub rows: Vec<ImportRow>,
    pub created: usize,
    pub updated: usize,
    pub refused: usize,
    /// Rows written (0 on a dry run, or when the file had errors and only all rows were asked for).
    pub written: usize,
}

/// How to import: look only, everything or nothing, or the valid rows only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    DryRun,
    All,
    ValidOnly,
}

impl ImportMode {
    pub fn from_code(code: &str) -> Option<ImportMode> {
        match code {
            "dry_run" | "" => Some(ImportMode::DryRun),
            "all" => Some(ImportMode::All),
            "valid_only" => Some(ImportMode::ValidOnly),
            _ => None,
        }
    }
}

fn refuse(message: impl Into<String>) -> WebError {
    let mut e = FieldErrors::default();
    e.add("file", message);
    WebError::Invalid(e)
}

/// The text of an uploaded file: UTF-8 (with or without a BOM), else Shift_JIS (what Excel in
/// Japan writes).
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), WebError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(body) {
        return Ok((s.to_string(), "UTF-8"));
    }
    match encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(s) => Ok((s.into_owned(), "Shift_JIS")),
        None => Err(refuse("文字コードを判別できませんでした。UTF-8 か Shift_JIS の CSV ファイルで保存してください。")),
    }
}

/// A CSV text's columns (by field) and its records with the line each starts on (the header is
/// line 1); a record that cannot be read carries the reason instead.
#[allow(clippy::type_complexity)]
fn csv_rows(text: &str) -> Result<(Vec<&'static str>, Vec<(u64, Result<csv::StringRecord, String>)>), WebError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(text.as_bytes());
    let mut records = reader.records();
    let headers = match records.next() {
        Some(Ok(h)) => h,
        _ => return Err(refuse("1行目(見出し)を読み取れませんでした。")),
    };
    // Which field each column holds: by its Japanese header or the field's own name.
    let mut fields: Vec<&'static str> = Vec::new();
    for h in headers.iter() {
        let h = h.trim().trim_start_matches('\u{feff}');
        match COLUMNS.iter().find(|(f, l)| *l == h || *f == h) {
            Some((f, _)) if fields.contains(f) => return Err(refuse(format!("見出し「{h}」が2回あります。"))),
            Some((f, _)) => fields.push(f),
            None => {
                let known = COLUMNS.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("、");
                return Err(refuse(format!("見出し「{h}」はわかりません。使える見出し: {known}")));
            }
        }
    }
    for needed in ["kind", "name"] {
        if !fields.contains(&needed) {
            return Err(refuse(format!("見出しに「{}」の列が必要です。", column_label(needed))));
        }
    }
    let mut out = Vec::new();
    // Lines are counted here, from the end of the previous record: a quoted field may hold line
    // breaks, so the record's own start is where the previous one ended, plus one.
    let mut next_line = 2u64;
    for (n, record) in records.enumerate() {
        if n >= MAX_ROWS {
            return Err(refuse(format!("1回に取り込めるのは{MAX_ROWS}行までです。ファイルを分けてください。")));
        }
        match record {
            Ok(r) => {
                let line = next_line;
                next_line = line + 1 + r.iter().map(|v| v.matches('\n').count() as u64).sum::<u64>();
                out.push((line, Ok(r)));
            }
            Err(e) => {
                let line = e.position().map_or(next_line, |p| p.line());
                out.push((line, Err("この行を読み取れませんでした(引用符の対応を確かめてください)。".to_string())));
                break;
            }
        }
    }
    Ok((fields, out))
}

/// Read a CSV file: every row checked, nothing written (the dry run), and what would happen.
pub async fn read_csv(app: &App, ctx: &Ctx, bytes: &[u8]) -> Result<ImportReport, WebError> {
    if bytes.is_empty() {
        return Err(refuse("ファイルを選んでください。"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(refuse(format!("ファイルが大きすぎます({}MBまでです)。", MAX_BYTES / 1024 / 1024)));
    }
    let (text, encoding) = decode(bytes)?;
    let (kinds, areas) = terms(app).await?;
    let today = today(ctx);
    let (fields, records) = csv_rows(&text)?;
    let mut report = ImportReport { encoding, ..ImportReport::default() };
    for (line, record) in records {
        let record = match record {
            Ok(r) => r,
            Err(why) => {
                report.rows.push(ImportRow {
                    line,
                    name: String::new(),
                    action: RowAction::Refuse,
                    errors: vec![(String::new(), why)],
                    fields: None,
                });
                continue;
            }
        };
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let mut input = EntryInput::default();
        let mut id = String::new();
        let mut errors: Vec<(String, String)> = Vec::new();
        if record.len() > fields.len() {
            errors.push((String::new(), format!("列が見出しより多くあります({}列)。", record.len())));
        }
        for (field, value) in fields.iter().zip(record.iter()) {
            // A cell an export made text (a leading apostrophe) is read as it was.
            let v = crate::spreadsheet::read_cell(value).to_string();
            match *field {
                "id" => id = v.trim().to_string(),
                "kind" => input.kind = v,
                "name" => input.name = v,
                "kana" => input.kana = v,
                "address" => input.address = v,
                "area" => input.area = v,
                "phone" => input.phone = v,
                "fax" => input.fax = v,
                "email" => input.email = v,
                "web" => input.web = v,
                "days" => input.days = v,
                "hours" => input.hours = v,
                "services" => input.services = v,
                "capacity" => input.capacity = v,
                "vacancies" => input.vacancies = v,
                "notes" => input.notes = v,
                "confirmed_on" => input.confirmed_on = v,
                _ => {}
            }
        }
        let mut action = RowAction::Create;
        if !id.is_empty() {
            match app.store.directory_entry(&id).await? {
                Some(existing) => {
                    input.facility_id = existing.f.facility_id.unwrap_or_default();
                    action = RowAction::Update(id.clone());
                }
                None => errors.push((
                    column_label("id").into(),
                    "このIDの項目はありません(新しく登録する行はIDを空けてください)。".into(),
                )),
            }
        }
        let checked = match validate(&input, &kinds, &areas, &today) {
            Ok(f) => Some(f),
            Err(es) => {
                errors.extend(
                    es.into_iter()
                        .map(|(f, p)| (column_label(f).to_string(), crate::messages::problem(column_label(f), &p))),
                );
                None
            }
        };
        let name = input.name.trim().to_string();
        if !errors.is_empty() {
            action = RowAction::Refuse;
        }
        report.rows.push(ImportRow { line, name, action, errors, fields: checked });
    }
    let count = |f: fn(&RowAction) -> bool| report.rows.iter().filter(|r| f(&r.action)).count();
    report.created = count(|a| *a == RowAction::Create);
    report.updated = count(|a| matches!(a, RowAction::Update(_)));
    report.refused = count(|a| *a == RowAction::Refuse);
    if report.rows.is_empty() {
        return Err(refuse("取り込む行がありません(2行目から項目を書いてください)。"));
    }
    Ok(report)
}

/// R12.2: import a CSV file. A dry run writes nothing; "all" writes only a file without errors;
/// "valid only" writes the rows that passed. One transaction, one audit row.
pub async fn import(app: &App, ctx: &Ctx, bytes: &[u8], mode: ImportMode) -> Result<ImportReport, WebError> {
    let mut report = read_csv(app, ctx, bytes).await?;
    let write = match mode {
        ImportMode::DryRun => false,
        ImportMode::All => report.refused == 0,
        ImportMode::ValidOnly => true,
    };
    if !write {
        return Ok(report);
    }
    let mut tx = app.store.begin().await?;
    let mut written = 0;
    for row in &report.rows {
        let Some(f) = &row.fields else { continue };
        match &row.action {
            RowAction::Create => {
                tx.put_directory_entry(&new_id(), f, ctx.user_id(), ctx.now, true).await?;
            }
            RowAction::Update(id) => {
                tx.put_directory_entry(id, f, ctx.user_id(), ctx.now, false).await?;
            }
            RowAction::Refuse => continue,
        }
        written += 1;
    }
    tx.audit(ctx.audit(AuditAction::ResourcesImported, AuditResult::Ok).details(serde_json::json!({
        "encoding": report.encoding, "rows": report.rows.len(), "written": written,
        "created": report.created, "updated": report.updated, "refused": report.refused,
        "mode": if mode == ImportMode::All { "all" } else { "valid_only" },
    })))
    .await?;
    tx.commit().await?;
    report.written = written;
    Ok(report)
}

/// The entries as a CSV file in the import's own columns, through the one CSV writer (formulas
/// made text), so an export can be edited and imported again.
pub fn export_csv(entries: &[DirectoryEntry], kinds: &[Term], areas: &[Term]) -> String {
    let mut w = crate::spreadsheet::CsvWriter::new();
    w.row(COLUMNS.iter().map(|(_, l)| *l));
    for e in entries {
        let i = input_of(e, kinds, areas);
        w.row([
            e.id.as_str(),
            &i.kind,
            &i.name,
            &i.kana,
            &i.address,
            &i.area,
            &i.phone,
            &i.fax,
            &i.email,
            &i.web,
            &i.days,
            &i.hours,
            &i.services,
            &i.capacity,
            &i.vacancies,
            &i.notes,
            &i.confirmed_on,
        ]);
    }
    w.finish()
}

/// The center renames kinds and areas, and adds new ones (codes stay, so entries keep theirs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermsForm {
    /// "kind" or "area".
    #[serde(default)]
    pub vocabulary: String,
    /// One label per line, in order; the lines of existing terms rename them, new lines add.
    #[serde(default)]
    pub labels: String,
    #[serde(default)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

pub async fn update_terms(app: &App, ctx: &Ctx, f: &TermsForm) -> Result<(), WebError> {
    let vocabulary = match f.vocabulary.as_str() {
        "kind" | "area" => f.vocabulary.as_str(),
        _ => {
            // A form's missing choice is a field error (422), as everywhere else.
            let mut errors = FieldErrors::default();
            errors.add("vocabulary", "種別か地区を選んでください。");
            return Err(WebError::Invalid(errors));
        }
    };
    let current = app.store.directory_terms(vocabulary).await?;
    let labels: Vec<&str> = f.labels.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut errors = FieldErrors::default();
    if labels.len() < current.len() {
        errors.add(
            "labels",
            "項目は消せません(登録済みの項目が使っています)。名前を変えるか、新しい行を足してください。",
        );
    }
    if labels.iter().any(|l| l.chars().count() > 40) {
        errors.add("labels", "1つの名前は40文字以内にしてください。");
    }
    let mut seen = std::collections::HashSet::new();
    if labels.iter().any(|l| !seen.insert(*l)) {
        errors.add("labels", "同じ名前が2回あります。");
    }
    errors.into_result()?;
    let mut tx = app.store.begin().await?;
    for (i, label) in labels.iter().enumerate() {
        let code = current
            .get(i)
            .map_or_else(|| format!("{vocabulary}_{}", new_id().get(..8).unwrap_or("x")), |t| t.code.clone());
        tx.put_directory_term(vocabulary, &code, label, i as i64 + 1).await?;
    }
    tx.audit(
        ctx.audit(AuditAction::ResourceTermsUpdated, AuditResult::Ok)
            .details(serde_json::json!({ "vocabulary": vocabulary, "count": labels.len() })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{csv_rows, decode};

    #[test]
    fn r12_2_rows_carry_the_line_they_start_on() {
        let text = "\u{feff}種別,名称,備考\r\n診療所,あ,\r\n診療所,い,\"2行の\r\n備考\"\r\n診療所,う,\r\n";
        let (fields, rows) = csv_rows(text).unwrap();
        assert_eq!(fields, vec!["kind", "name", "notes"]);
        let lines: Vec<u64> = rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 5]);
        assert!(csv_rows("種別,店名\r\n").is_err(), "an unknown header is named");
        assert!(csv_rows("名称\r\nあ\r\n").is_err(), "種別 is needed");
    }

    #[test]
    fn r12_2_utf8_and_shift_jis_are_read() {
        assert_eq!(decode("名称".as_bytes()).unwrap(), ("名称".to_string(), "UTF-8"));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("名称,営業時間 9:00～17:00");
        assert_eq!(decode(&sjis).unwrap(), ("名称,営業時間 9:00～17:00".to_string(), "Shift_JIS"));
        assert!(decode(b"\xff\xfe\x00\x01").is_err());
    }
}
