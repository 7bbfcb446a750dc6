//! IDs (第6条): users, passwords and their history, pledges, notifications.

use kumanet_core::people::{Profession, Role, UserStatus};
use kumanet_core::Micros;

use crate::db::{on_read, on_tx, RowExt};
use crate::{NewUser, Notification, ProfileChange, Result, Store, StoreError, Tx, User, UserListItem};

pub(crate) const USER_COLUMNS: &str = "u.id, u.login_id, u.name, u.kana, u.role, u.profession, u.facility_id, \
    u.email, u.phone, u.status, u.password_hash, u.password_set_at, u.password_expires_at, u.password_issued, \
    u.pledge_signed_at, u.created_at, u.updated_at";

pub(crate) fn row_to_user(r: &impl RowExt) -> Result<User> {
    let bad = |what: &str, v: &str| StoreError::Corrupt(format!("users.{what} = {v}"));
    let role = r.text("role")?;
    let status = r.text("status")?;
    let profession = match r.opt_text("profession")? {
        Some(p) => Some(Profession::from_code(&p).ok_or_else(|| bad("profession", &p))?),
        None => None,
    };
    Ok(User {
        id: r.text("id")?,
        login_id: r.text("login_id")?,
        name: r.text("name")?,
        kana: r.text("kana")?,
        role: Role::from_code(&role).ok_or_else(|| bad("role", &role))?,
        profession,
        facility_id: r.opt_text("facility_id")?,
        email: r.text("email")?,
        phone: r.text("phone")?,
        status: UserStatus::from_code(&status).ok_or_else(|| bad("status", &status))?,
        password_hash: r.text("password_hash")?.into(),
        password_set_at: r.int("password_set_at")?,
        password_expires_at: r.opt_int("password_expires_at")?,
        password_issued: r.int("password_issued")? != 0,
        pledge_signed_at: r.opt_int("pledge_signed_at")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

fn row_to_item(r: &impl RowExt) -> Result<UserListItem> {
    Ok(UserListItem { user: row_to_user(r)?, facility_name: r.opt_text("facility_name")? })
}

/// Filters for lists of users.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub facility_id: Option<String>,
    /// Matches name, kana or login id (substring).
    pub text: Option<String>,
    pub status: Option<UserStatus>,
    pub limit: i64,
}

impl Store {
    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        on_read!(self, |c| sqlx::query(&sql).bind(id).fetch_optional(c).await?.as_ref().map(row_to_user).transpose())
    }

    pub async fn user_by_login(&self, login_id: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.login_id = $1");
        on_read!(self, |c| sqlx::query(&sql)
            .bind(login_id)
            .fetch_optional(c)
            .await?
            .as_ref()
            .map(row_to_user)
            .transpose())
    }

    pub async fn center_exists(&self) -> Result<bool> {
        let n: i64 = on_read!(self, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'center'")
            .fetch_one(c)
            .await?);
        Ok(n > 0)
    }

    pub async fn users(&self, q: &UserQuery) -> Result<Vec<UserListItem>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, f.name AS facility_name FROM users u LEFT JOIN facilities f ON f.id = u.facility_id \
             WHERE ($1 IS NULL OR u.facility_id = $1) AND ($2 IS NULL OR u.status = $2) AND \
             ($3 IS NULL OR u.name LIKE $3 OR u.kana LIKE $3 OR u.login_id LIKE $3) \
             ORDER BY u.kana, u.id LIMIT $4"
        );
        let like = q.text.as_ref().map(|t| format!("%{}%", t.replace(['%', '_'], "")));
        let status = q.status.map(|s| s.code());
        on_read!(self, |c| {
            let rows =
                sqlx::query(&sql).bind(&q.facility_id).bind(status).bind(&like).bind(q.limit).fetch_all(c).await?;
            rows.iter().map(row_to_item).collect()
        })
    }

    /// One user with their facility's name.
    pub async fn user_list_item(&self, id: &str) -> Result<Option<UserListItem>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, f.name AS facility_name FROM users u LEFT JOIN facilities f ON f.id = u.facility_id \
             WHERE u.id = $1"
        );
        on_read!(self, |c| sqlx::query(&sql).bind(id).fetch_optional(c).await?.as_ref().map(row_to_item).transpose())
    }

    /// R8.2: the hashes of the user's last passwords, newest first.
    pub async fn password_history(&self, user_id: &str, n: i64) -> Result<Vec<String>> {
        on_read!(self, |c| Ok(sqlx::query_scalar(
            "SELECT hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        .bind(user_id)
        .bind(n)
        .fetch_all(c)
        .await?))
    }

    pub async fn notifications(&self, user_id: &str, limit: i64) -> Result<Vec<Notification>> {
        on_read!(self, |c| {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT id, body, created_at FROM notifications WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
            )
            .bind(user_id)
            .bind(limit)
            .fetch_all(c)
            .await?;
            Ok(rows.into_iter().map(|(id, body, created_at)| Notification { id, body, created_at }).collect())
        })
    }
}

impl Tx {
    pub async fn insert_user(&mut self, u: &NewUser, now: Micros) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO users (id, login_id, name, kana, role, profession, facility_id, email, phone, status, \
             password_hash, password_set_at, password_expires_at, password_issued, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $12, $12)",
            )
            .bind(&u.id)
            .bind(&u.login_id)
            .bind(&u.name)
            .bind(&u.kana)
            .bind(u.role.code())
            .bind(u.profession.map(|p| p.code()))
            .bind(&u.facility_id)
            .bind(&u.email)
            .bind(&u.phone)
            .bind(u.status.code())
            .bind(u.password_hash.expose())
            .bind(now)
            .bind(u.password_expires_at)
            .bind(i64::from(u.password_issued))
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Set a new password; a chosen one (not issued) also goes into the history (R8.2).
    pub async fn set_password(
        &mut self,
        user_id: &str,
        hash: &str,
        issued: bool,
        expires_at: Option<Micros>,
        now: Micros,
        history_id: &str,
    ) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "UPDATE users SET password_hash = $2, password_issued = $3, password_expires_at = $4, \
             password_set_at = $5, updated_at = $5 WHERE id = $1"
        )
        .bind(user_id)
        .bind(hash)
        .bind(i64::from(issued))
        .bind(expires_at)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        if !issued {
            on_tx!(self, |c| sqlx::query(
                "INSERT INTO password_history (id, user_id, hash, created_at) VALUES ($1, $2, $3, $4)"
            )
            .bind(history_id)
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    pub async fn set_user_status(&mut self, user_id: &str, status: UserStatus, now: Micros) -> Result<()> {
        let n = on_tx!(self, |c| sqlx::query("UPDATE users SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(status.code())
            .bind(now)
            .execute(c)
            .await?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn update_profile(&mut self, user_id: &str, p: &ProfileChange, now: Micros) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "UPDATE users SET name = $2, kana = $3, profession = $4, email = $5, phone = $6, updated_at = $7 WHERE id = $1"
        )
        .bind(user_id)
        .bind(&p.name)
        .bind(&p.kana)
        .bind(p.profession.map(|x| x.code()))
        .bind(&p.email)
        .bind(&p.phone)
        .bind(now)
        .execute(c).await?.rows_affected()
        });
        Ok(())
    }

    /// R6.2: the user's own pledge (様式3).
    pub async fn sign_pledge(&mut self, user_id: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "UPDATE users SET pledge_signed_at = COALESCE(pledge_signed_at, $2) WHERE id = $1"
        )
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn notify(&mut self, id: &str, user_id: &str, body: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO notifications (id, user_id, body, created_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(id)
        .bind(user_id)
        .bind(body)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// The admins of a facility (to tell them of a lock-out, R8.6).
    pub async fn facility_admin_ids(&mut self, facility_id: &str) -> Result<Vec<String>> {
        Ok(on_tx!(self, |c| sqlx::query_scalar(
            "SELECT id FROM users WHERE facility_id = $1 AND role = 'facility_admin' AND status = 'approved'"
        )
        .bind(facility_id)
        .fetch_all(c)
        .await?))
    }

    /// The center's approved accounts (told of a lock-out when a facility has no other admin, R8.6).
    pub async fn center_user_ids(&mut self) -> Result<Vec<String>> {
        Ok(on_tx!(self, |c| sqlx::query_scalar("SELECT id FROM users WHERE role = 'center' AND status = 'approved'")
            .fetch_all(c)
            .await?))
    }
}
