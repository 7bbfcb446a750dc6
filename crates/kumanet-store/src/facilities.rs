//! Facilities (事業所等) registered by the center.

use kumanet_core::people::FacilityKind;
use kumanet_core::Micros;

use crate::db::{on_read, on_tx, RowExt};
use crate::{Facility, NewFacility, Result, Store, StoreError, Tx};

fn row_to_facility(r: &impl RowExt) -> Result<Facility> {
    let kind = r.text("kind")?;
    Ok(Facility {
        id: r.text("id")?,
        name: r.text("name")?,
        kana: r.text("kana")?,
        kind: FacilityKind::from_code(&kind).ok_or_else(|| StoreError::Corrupt(format!("facilities.kind = {kind}")))?,
        address: r.text("address")?,
        phone: r.text("phone")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

const COLUMNS: &str = "id, name, kana, kind, address, phone, created_at, updated_at";

impl Store {
    pub async fn facilities(&self) -> Result<Vec<Facility>> {
        let sql = format!("SELECT {COLUMNS} FROM facilities ORDER BY kana, id");
        on_read!(self, |c| sqlx::query(&sql).fetch_all(c).await?.iter().map(row_to_facility).collect())
    }

    pub async fn facility(&self, id: &str) -> Result<Option<Facility>> {
        let sql = format!("SELECT {COLUMNS} FROM facilities WHERE id = $1");
        on_read!(self, |c| sqlx::query(&sql)
            .bind(id)
            .fetch_optional(c)
            .await?
            .as_ref()
            .map(row_to_facility)
            .transpose())
    }
}

impl Tx {
    pub async fn insert_facility(&mut self, f: &NewFacility, now: Micros) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO facilities (id, name, kana, kind, address, phone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
        )
        .bind(&f.id)
        .bind(&f.name)
        .bind(&f.kana)
        .bind(f.kind.code())
        .bind(&f.address)
        .bind(&f.phone)
        .bind(now)
        .execute(c).await?.rows_affected()
        });
        Ok(())
    }

    pub async fn update_facility(&mut self, f: &NewFacility, now: Micros) -> Result<()> {
        let n = on_tx!(self, |c| {
            sqlx::query(
            "UPDATE facilities SET name = $2, kana = $3, kind = $4, address = $5, phone = $6, updated_at = $7 WHERE id = $1"
        )
        .bind(&f.id)
        .bind(&f.name)
        .bind(&f.kana)
        .bind(f.kind.code())
        .bind(&f.address)
        .bind(&f.phone)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
