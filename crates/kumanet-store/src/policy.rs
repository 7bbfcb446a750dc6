//! The region's settings (R11.2), the first-run token, the policy text and its acceptances
//! (R1.1), and the applications filed with the center (様式2, R6.2–R6.3).

use kumanet_core::people::{ApplicationKind, ApplicationState};
use kumanet_core::policy::settings::Settings;
use kumanet_core::Micros;

use crate::db::{on_read, on_tx, RowExt};
use crate::users::{row_to_user, USER_COLUMNS};
use crate::{Application, ApplicationItem, PolicyVersion, Result, Store, StoreError, Tx};

const SETTINGS: &str = "region";

fn row_to_application(r: &impl RowExt) -> Result<Application> {
    let kind = r.text("kind")?;
    let state = r.text("state")?;
    Ok(Application {
        id: r.text("a_id")?,
        kind: ApplicationKind::from_code(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("applications.kind = {kind}")))?,
        state: ApplicationState::from_code(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("applications.state = {state}")))?,
        user_id: r.text("a_user_id")?,
        facility_id: r.opt_text("a_facility_id")?,
        filed_by: r.text("filed_by")?,
        filed_at: r.int("filed_at")?,
        payload: r.text("payload")?,
        reason: r.text("reason")?,
        decided_by: r.opt_text("decided_by")?,
        decided_at: r.opt_int("decided_at")?,
        decision_note: r.opt_text("decision_note")?,
    })
}

fn row_to_application_item(r: &impl RowExt) -> Result<ApplicationItem> {
    Ok(ApplicationItem {
        application: row_to_application(r)?,
        user: row_to_user(r)?,
        facility_name: r.opt_text("facility_name")?,
        filed_by_name: r.text("filed_by_name")?,
    })
}

impl Store {
    /// R11.2: the region's settings (defaults until the center saves them).
    pub async fn settings(&self) -> Result<Settings> {
        let v: Option<String> = on_read!(self, |c| sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(SETTINGS)
            .fetch_optional(c)
            .await?);
        match v {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("settings: {e}"))),
            None => Ok(Settings::default()),
        }
    }

    /// Is there an unused, unexpired first-run token with this hash?
    pub async fn setup_token_valid(&self, token_hash: &str, now: Micros) -> Result<bool> {
        let n: i64 = on_read!(self, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now)
        .fetch_one(c)
        .await?);
        Ok(n > 0)
    }

    /// R1.1: the current policy version.
    pub async fn current_policy(&self) -> Result<Option<PolicyVersion>> {
        on_read!(self, |c| {
            let row: Option<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT version, purpose, body, created_at FROM policy_versions ORDER BY version DESC LIMIT 1",
            )
            .fetch_optional(c)
            .await?;
            Ok(row.map(|(version, purpose, body, created_at)| PolicyVersion { version, purpose, body, created_at }))
        })
    }

    pub async fn policy_versions(&self) -> Result<Vec<PolicyVersion>> {
        on_read!(self, |c| {
            let rows: Vec<(i64, String, String, i64)> =
                sqlx::query_as("SELECT version, purpose, body, created_at FROM policy_versions ORDER BY version DESC")
                    .fetch_all(c)
                    .await?;
            Ok(rows
                .into_iter()
                .map(|(version, purpose, body, created_at)| PolicyVersion { version, purpose, body, created_at })
                .collect())
        })
    }

    /// R1.1: the latest version this user accepted.
    pub async fn accepted_policy_version(&self, user_id: &str) -> Result<Option<i64>> {
        on_read!(self, |c| Ok(sqlx::query_scalar("SELECT MAX(version) FROM policy_acceptances WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(c)
            .await?))
    }

    async fn applications_where(&self, cond: &str, bind: Option<&str>) -> Result<Vec<ApplicationItem>> {
        let sql = format!(
            "SELECT a.id AS a_id, a.kind, a.state, a.user_id AS a_user_id, a.facility_id AS a_facility_id, a.filed_by, \
             a.filed_at, a.payload, a.reason, a.decided_by, a.decided_at, a.decision_note, {USER_COLUMNS}, \
             f.name AS facility_name, fb.name AS filed_by_name \
             FROM applications a JOIN users u ON u.id = a.user_id JOIN users fb ON fb.id = a.filed_by \
             LEFT JOIN facilities f ON f.id = a.facility_id WHERE {cond} ORDER BY a.filed_at, a.id"
        );
        on_read!(self, |c| sqlx::query(&sql)
            .bind(bind)
            .fetch_all(c)
            .await?
            .iter()
            .map(row_to_application_item)
            .collect())
    }

    /// R6.2: the center's approval queue, oldest first.
    pub async fn pending_applications(&self) -> Result<Vec<ApplicationItem>> {
        self.applications_where("a.state = 'pending' AND ($1 IS NULL OR a.id = $1)", None).await
    }

    pub async fn application(&self, id: &str) -> Result<Option<ApplicationItem>> {
        Ok(self.applications_where("a.id = $1", Some(id)).await?.into_iter().next())
    }

    /// What has been filed about one user, oldest first.
    pub async fn applications_of_user(&self, user_id: &str) -> Result<Vec<ApplicationItem>> {
        self.applications_where("a.user_id = $1", Some(user_id)).await
    }
}

impl Tx {
    pub async fn save_settings(&mut self, s: &Settings, now: Micros) -> Result<()> {
        let json = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
        )
        .bind(SETTINGS)
        .bind(&json)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn insert_setup_token(&mut self, token_hash: &str, now: Micros, expires_at: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)"
        )
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Use the first-run token once. False when it is unknown, used or expired.
    pub async fn consume_setup_token(&mut self, token_hash: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    pub async fn center_exists(&mut self) -> Result<bool> {
        let n: i64 = on_tx!(self, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'center'")
            .fetch_one(c)
            .await?);
        Ok(n > 0)
    }

    /// R1.1: publish a new version; returns its number.
    pub async fn publish_policy(&mut self, purpose: &str, body: &str, by: Option<&str>, now: Micros) -> Result<i64> {
        let next: i64 =
            on_tx!(self, |c| sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions")
                .fetch_one(c)
                .await?);
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO policy_versions (version, purpose, body, created_at, created_by) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(next)
        .bind(purpose)
        .bind(body)
        .bind(now)
        .bind(by)
        .execute(c)
        .await?
        .rows_affected());
        Ok(next)
    }

    pub async fn accept_policy(&mut self, user_id: &str, version: i64, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO policy_acceptances (user_id, version, accepted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        )
        .bind(user_id)
        .bind(version)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn file_application(
        &mut self,
        id: &str,
        kind: ApplicationKind,
        user_id: &str,
        facility_id: Option<&str>,
        filed_by: &str,
        payload: &str,
        reason: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO applications (id, kind, state, user_id, facility_id, filed_by, filed_at, payload, reason) \
             VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8)"
        )
        .bind(id)
        .bind(kind.code())
        .bind(user_id)
        .bind(facility_id)
        .bind(filed_by)
        .bind(now)
        .bind(payload)
        .bind(reason)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Decide a pending application. False when it was no longer pending (decided twice).
    pub async fn decide_application(
        &mut self,
        id: &str,
        state: ApplicationState,
        by: &str,
        note: &str,
        now: Micros,
    ) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE applications SET state = $2, decided_by = $3, decision_note = $4, decided_at = $5 \
             WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(state.code())
        .bind(by)
        .bind(note)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Pending applications about a user, so a deletion also closes them.
    pub async fn has_pending_application(&mut self, user_id: &str, kind: ApplicationKind) -> Result<bool> {
        let n: i64 = on_tx!(self, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM applications WHERE user_id = $1 AND kind = $2 AND state = 'pending'"
        )
        .bind(user_id)
        .bind(kind.code())
        .fetch_one(c)
        .await?);
        Ok(n > 0)
    }
}
