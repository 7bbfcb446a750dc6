//! R11.1: append a row to the chained audit log inside the caller's transaction; search; walk.

use kumanet_core::audit::{
    chain_hash, AuditAction, AuditRecord, AuditResult, ChainError, ChainHead, ChainVerifier, GENESIS,
};
use kumanet_core::Micros;

use crate::db::{on_read, on_tx, RowExt};
use crate::{AuditRow, Result, Store, Tx};

/// An event to record; `seq` and the hashes are the store's business.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub ts: Micros,
    pub actor_user_id: Option<String>,
    pub actor_role: Option<String>,
    pub actor_facility_id: Option<String>,
    pub ip: Option<String>,
    pub action: AuditAction,
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub result: AuditResult,
    pub reason: Option<String>,
    pub details: serde_json::Value,
}

/// What the center searches the log by.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_user_id: Option<String>,
    pub action: Option<String>,
    pub result: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<Micros>,
    pub until: Option<Micros>,
    /// Rows with seq below this (keyset paging, newest first).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

const COLUMNS: &str = "seq, ts, actor_user_id, actor_role, actor_facility_id, ip, action, target_type, \
                       target_id, result, reason, details, prev_hash, entry_hash";

fn row_to_audit(r: &impl RowExt) -> Result<AuditRow> {
    Ok(AuditRow {
        record: AuditRecord {
            seq: r.int("seq")?,
            ts: r.int("ts")?,
            actor_user_id: r.opt_text("actor_user_id")?,
            actor_role: r.opt_text("actor_role")?,
            actor_facility_id: r.opt_text("actor_facility_id")?,
            ip: r.opt_text("ip")?,
            action: r.text("action")?,
            target_type: r.opt_text("target_type")?,
            target_id: r.opt_text("target_id")?,
            result: r.text("result")?,
            reason: r.opt_text("reason")?,
            details: r.text("details")?,
        },
        prev_hash: r.text("prev_hash")?,
        entry_hash: r.text("entry_hash")?,
    })
}

impl Tx {
    /// R11.1: append one chained row in this transaction. If it cannot be written, the caller's
    /// whole transaction fails with it (fail closed).
    pub async fn audit(&mut self, ev: NewAudit) -> Result<i64> {
        // Serialise appends across nodes: one chain head at a time.
        self.pg_lock(7310002).await?;
        let last: Option<(i64, String, i64)> =
            on_tx!(self, |c| sqlx::query_as("SELECT seq, entry_hash, ts FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(c)
                .await?);
        let (prev_seq, prev_hash, prev_ts) = last.unwrap_or((0, GENESIS.to_string(), i64::MIN));
        let record = AuditRecord {
            seq: prev_seq + 1,
            // The chain's time never goes backwards, even if the host clock does.
            ts: ev.ts.max(prev_ts),
            actor_user_id: ev.actor_user_id,
            actor_role: ev.actor_role,
            actor_facility_id: ev.actor_facility_id,
            ip: ev.ip,
            action: ev.action.code().to_string(),
            target_type: ev.target_type.map(str::to_string),
            target_id: ev.target_id,
            result: ev.result.code().to_string(),
            reason: ev.reason,
            details: ev.details.to_string(),
        };
        let entry_hash = chain_hash(&self.audit_key, &prev_hash, &record);
        let r = &record;
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO audit_log (seq, ts, actor_user_id, actor_role, actor_facility_id, ip, action, \
             target_type, target_id, result, reason, details, prev_hash, entry_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
        .bind(r.seq)
        .bind(r.ts)
        .bind(&r.actor_user_id)
        .bind(&r.actor_role)
        .bind(&r.actor_facility_id)
        .bind(&r.ip)
        .bind(&r.action)
        .bind(&r.target_type)
        .bind(&r.target_id)
        .bind(&r.result)
        .bind(&r.reason)
        .bind(&r.details)
        .bind(&prev_hash)
        .bind(&entry_hash)
        .execute(c)
        .await?
        .rows_affected());
        self.audit_head = Some(ChainHead { seq: record.seq, hash: entry_hash });
        Ok(record.seq)
    }
}

impl Store {
    /// The center's search, newest first.
    pub async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE \
             ($1 IS NULL OR actor_user_id = $1) AND ($2 IS NULL OR action = $2) AND \
             ($3 IS NULL OR result = $3) AND ($4 IS NULL OR target_id = $4) AND \
             ($5 IS NULL OR ts >= $5) AND ($6 IS NULL OR ts < $6) AND ($7 IS NULL OR seq < $7) \
             ORDER BY seq DESC LIMIT $8"
        );
        on_read!(self, |c| {
            let rows = sqlx::query(&sql)
                .bind(&f.actor_user_id)
                .bind(&f.action)
                .bind(&f.result)
                .bind(&f.target_id)
                .bind(f.from)
                .bind(f.until)
                .bind(f.before_seq)
                .bind(f.limit)
                .fetch_all(c)
                .await?;
            rows.iter().map(row_to_audit).collect()
        })
    }

    /// Rows with `seq > after`, oldest first, at most `limit`: for walking the whole log in pages.
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        on_read!(self, |c| {
            let rows = sqlx::query(&sql).bind(after).bind(limit).fetch_all(c).await?;
            rows.iter().map(row_to_audit).collect()
        })
    }

    /// R11.1: walk the whole chain, and compare it with the head kept outside the database when
    /// there is one; `Ok(count)` or the first bad row.
    pub async fn audit_verify(&self) -> Result<std::result::Result<i64, ChainError>> {
        let mut verifier = ChainVerifier::with_head(&self.audit_key, self.audit_head_file());
        let mut after = 0;
        loop {
            let page = self.audit_page(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.record.seq;
            for row in &page {
                if let Err(e) = verifier.push(&row.record, &row.prev_hash, &row.entry_hash) {
                    return Ok(Err(e));
                }
            }
        }
        Ok(verifier.finish())
    }

    pub async fn audit_count(&self) -> Result<i64> {
        on_read!(self, |c| Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(c).await?))
    }
}
