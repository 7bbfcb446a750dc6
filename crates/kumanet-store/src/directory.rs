//! The regional resource directory (Ayamu; R12.1, R12.2): entries, the kinds and areas they are
//! filed under, and the search over them (words as substrings of the folded text, filters by kind,
//! area, day and vacancy, ordered by relevance or by name, in pages).

use kumanet_core::policy::directory::{
    EntryFields, Term, WEIGHT_KANA, WEIGHT_NAME, WEIGHT_NAME_START, WEIGHT_NOTES, WEIGHT_SERVICES,
};
use kumanet_core::policy::naming::fold;
use kumanet_core::Micros;
use serde::Serialize;

use crate::db::{on_read, on_tx, RowExt};
use crate::posts::like_pattern;
use crate::{Result, Store, Tx};

/// An entry as it is shown: its checked content, and where it stands.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryEntry {
    pub id: String,
    pub f: EntryFields,
    pub facility_name: Option<String>,
    pub updated_at: Micros,
}

/// What to look for. `words` are matched as folded substrings, all of them.
#[derive(Debug, Clone, Default)]
pub struct DirectoryQuery {
    pub words: Vec<String>,
    pub kind: Option<String>,
    pub area: Option<String>,
    /// 0 = Monday … 6 = Sunday.
    pub day: Option<u8>,
    pub vacancy: bool,
    /// Only the entries of this Kumanet facility.
    pub facility: Option<String>,
    pub by_name: bool,
    pub offset: i64,
    pub limit: i64,
}

/// The folded form searched: name, kana, services and notes ('|' keeps a word from matching
/// across two fields).
pub fn search_text(f: &EntryFields) -> String {
    [&f.name, &f.kana, &f.services.join("|"), &f.notes]
        .iter()
        .map(|s| fold(s).to_lowercase())
        .collect::<Vec<_>>()
        .join("|")
}

const COLUMNS: &str = "e.id, e.kind, e.name, e.kana, e.address, e.area, e.phone, e.fax, e.email, e.web, e.days, \
    e.hours, e.services, e.capacity, e.vacancies, e.notes, e.confirmed_on, e.facility_id, f.name AS facility_name, \
    e.updated_at";
const FROM: &str = "directory_entries e LEFT JOIN facilities f ON f.id = e.facility_id";

fn row_to_entry(r: &impl RowExt) -> Result<DirectoryEntry> {
    Ok(DirectoryEntry {
        id: r.text("id")?,
        f: EntryFields {
            kind: r.text("kind")?,
            name: r.text("name")?,
            kana: r.text("kana")?,
            address: r.text("address")?,
            area: r.text("area")?,
            phone: r.text("phone")?,
            fax: r.text("fax")?,
            email: r.text("email")?,
            web: r.text("web")?,
            days: r.int("days")?,
            hours: r.text("hours")?,
            services: r.text("services")?.split('、').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            capacity: r.opt_int("capacity")?,
            vacancies: r.opt_int("vacancies")?,
            notes: r.text("notes")?,
            confirmed_on: r.opt_text("confirmed_on")?,
            facility_id: r.opt_text("facility_id")?,
        },
        facility_name: r.opt_text("facility_name")?,
        updated_at: r.int("updated_at")?,
    })
}

impl Store {
    /// A vocabulary ("kind" or "area"), in its order.
    pub async fn directory_terms(&self, vocabulary: &str) -> Result<Vec<Term>> {
        let rows: Vec<(String, String)> = on_read!(self, |c| sqlx::query_as(
            "SELECT code, label FROM directory_terms WHERE vocabulary = $1 ORDER BY sort, code"
        )
        .bind(vocabulary)
        .fetch_all(c)
        .await?);
        Ok(rows.into_iter().map(|(code, label)| Term { code, label }).collect())
    }

    pub async fn directory_entry(&self, id: &str) -> Result<Option<DirectoryEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE e.id = $1");
        on_read!(self, |c| sqlx::query(&sql).bind(id).fetch_optional(c).await?.as_ref().map(row_to_entry).transpose())
    }

    /// The entries that belong to a Kumanet facility.
    pub async fn directory_entries_of(&self, facility_id: &str) -> Result<Vec<DirectoryEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE e.facility_id = $1 ORDER BY e.kana, e.name");
        on_read!(self, |c| sqlx::query(&sql).bind(facility_id).fetch_all(c).await?.iter().map(row_to_entry).collect())
    }

    /// R12.2: entries confirmed before `cutoff` (YYYY-MM-DD), or never, the oldest first.
    pub async fn stale_directory_entries(&self, cutoff: &str) -> Result<Vec<DirectoryEntry>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE e.confirmed_on IS NULL OR e.confirmed_on < $1 \
             ORDER BY COALESCE(e.confirmed_on, ''), e.kana, e.name"
        );
        on_read!(self, |c| sqlx::query(&sql).bind(cutoff).fetch_all(c).await?.iter().map(row_to_entry).collect())
    }

    /// R12.1: one page of the entries matching `q`, and how many match in all.
    pub async fn search_directory(&self, q: &DirectoryQuery) -> Result<(Vec<DirectoryEntry>, i64)> {
        let mut cond = vec!["1 = 1".to_string()];
        let mut binds: Vec<String> = Vec::new();
        let arg = |v: String, binds: &mut Vec<String>| {
            binds.push(v);
            format!("${}", binds.len())
        };
        for w in &q.words {
            let w = fold(w).to_lowercase();
            if !w.is_empty() {
                cond.push(format!("e.search_text LIKE {} ESCAPE '\\'", arg(like_pattern(&w), &mut binds)));
            }
        }
        if let Some(k) = &q.kind {
            cond.push(format!("e.kind = {}", arg(k.clone(), &mut binds)));
        }
        if let Some(a) = &q.area {
            cond.push(format!("e.area = {}", arg(a.clone(), &mut binds)));
        }
        if let Some(d) = q.day.filter(|d| *d < 7) {
            // A number from 0 to 6, not text from the request.
            cond.push(format!("(e.days & {}) <> 0", 1i64 << d));
        }
        if q.vacancy {
            cond.push("e.vacancies > 0".to_string());
        }
        if let Some(f) = &q.facility {
            cond.push(format!("e.facility_id = {}", arg(f.clone(), &mut binds)));
        }
        let cond = cond.join(" AND ");
        let limit = q.limit.clamp(1, 20_000);
        let offset = q.offset.max(0);
        let order = if q.by_name || q.words.is_empty() {
            "e.kana, e.name, e.id".to_string()
        } else {
            // By relevance, ranked in SQL on the stored folded text "name|kana|services|notes"
            // with the weights of `kumanet_core::policy::directory::relevance`: a word is in the
            // name when three separators follow it, in the kana when one precedes and two follow,
            // and so on.
            let mut score = Vec::new();
            for w in q.words.iter().map(|w| fold(w).to_lowercase()).filter(|w| !w.is_empty()) {
                let e = like_pattern(&w);
                let e = &e[1..e.len() - 1];
                for (pattern, weight) in [
                    (format!("%{e}%|%|%|%"), WEIGHT_NAME),
                    (format!("{e}%|%|%|%"), WEIGHT_NAME_START),
                    (format!("%|%{e}%|%|%"), WEIGHT_KANA),
                    (format!("%|%|%{e}%|%"), WEIGHT_SERVICES),
                    (format!("%|%|%|%{e}%"), WEIGHT_NOTES),
                ] {
                    score.push(format!(
                        "CASE WHEN e.search_text LIKE {} ESCAPE '\\' THEN {weight} ELSE 0 END",
                        arg(pattern, &mut binds)
                    ));
                }
            }
            if score.is_empty() {
                "e.kana, e.id".to_string()
            } else {
                format!("{} DESC, e.kana, e.id", score.join(" + "))
            }
        };
        // One scan: the page and, with it, how many match in all.
        let sql = format!(
            "SELECT {COLUMNS}, COUNT(*) OVER () AS total FROM {FROM} WHERE {cond} ORDER BY {order} \
             LIMIT {limit} OFFSET {offset}"
        );
        let (page, total) = on_read!(self, |c| {
            let mut query = sqlx::query(&sql);
            for b in &binds {
                query = query.bind(b);
            }
            let rows = query.fetch_all(c).await?;
            let total = match rows.first() {
                Some(r) => r.int("total")?,
                None => 0,
            };
            (rows.iter().map(row_to_entry).collect::<Result<Vec<_>>>()?, total)
        });
        if page.is_empty() && offset > 0 {
            // Past the last page: the count alone.
            let count_sql = format!("SELECT COUNT(*) FROM directory_entries e WHERE {cond}");
            let total: i64 = on_read!(self, |c| {
                let mut query = sqlx::query_scalar(&count_sql);
                for b in binds.iter().take(cond.matches('$').count()) {
                    query = query.bind(b);
                }
                query.fetch_one(c).await?
            });
            return Ok((page, total));
        }
        Ok((page, total))
    }
}

impl Tx {
    /// Rename a kind or an area, or add one at the end.
    pub async fn put_directory_term(&mut self, vocabulary: &str, code: &str, label: &str, sort: i64) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO directory_terms (vocabulary, code, label, sort) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (vocabulary, code) DO UPDATE SET label = excluded.label, sort = excluded.sort"
        )
        .bind(vocabulary)
        .bind(code)
        .bind(label)
        .bind(sort)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// A new entry (`id` given), or the new content of an existing one.
    pub async fn put_directory_entry(
        &mut self,
        id: &str,
        f: &EntryFields,
        by: &str,
        now: Micros,
        create: bool,
    ) -> Result<bool> {
        let sql = if create {
            "INSERT INTO directory_entries (kind, name, kana, address, area, phone, fax, email, web, days, hours, \
             services, capacity, vacancies, notes, confirmed_on, facility_id, search_text, created_by, created_at, \
             updated_by, updated_at, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17, $18, $19, $20, $19, $20, $21)"
        } else {
            "UPDATE directory_entries SET kind = $1, name = $2, kana = $3, address = $4, area = $5, phone = $6, \
             fax = $7, email = $8, web = $9, days = $10, hours = $11, services = $12, capacity = $13, \
             vacancies = $14, notes = $15, confirmed_on = $16, facility_id = $17, search_text = $18, \
             updated_by = $19, updated_at = $20 WHERE id = $21"
        };
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(&f.kind)
            .bind(&f.name)
            .bind(&f.kana)
            .bind(&f.address)
            .bind(&f.area)
            .bind(&f.phone)
            .bind(&f.fax)
            .bind(&f.email)
            .bind(&f.web)
            .bind(f.days)
            .bind(&f.hours)
            .bind(f.services.join("、"))
            .bind(f.capacity)
            .bind(f.vacancies)
            .bind(&f.notes)
            .bind(&f.confirmed_on)
            .bind(&f.facility_id)
            .bind(search_text(f))
            .bind(by)
            .bind(now)
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// R12.2: the entry is as it says, as of `date`.
    pub async fn confirm_directory_entry(&mut self, id: &str, date: &str, by: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE directory_entries SET confirmed_on = $2, updated_by = $3, updated_at = $4 WHERE id = $1"
        )
        .bind(id)
        .bind(date)
        .bind(by)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }
}
