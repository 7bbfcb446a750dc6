//! Patients, consent records, groups, members, invitations and requests to leave (第3条–第5条).

use kumanet_core::policy::patient::{ConsentState, Consenter, EligibilityBasis, Sex};
use kumanet_core::Micros;

use crate::db::{on_read, on_tx, RowExt};
use crate::{
    Consent, FamilyMember, FamilyProposal, FamilyVote, Group, Invitation, Member, NewConsent, NewPatient, Patient,
    RemovalRequest, Result, Store, StoreError, Tx,
};

const PATIENT_COLUMNS: &str = "p.id, p.name, p.kana, p.birth_date, p.sex, p.address, p.attending_id, \
    a.name AS attending_name, p.basis, p.basis_reason, p.delegated_facility_id, f.name AS delegated_facility_name, \
    p.created_at, p.updated_at";
const PATIENT_FROM: &str =
    "patients p JOIN users a ON a.id = p.attending_id LEFT JOIN facilities f ON f.id = p.delegated_facility_id";

/// The patients user `$1` (of facility `$2`) may see: attending, delegated facility, or member.
const VISIBLE_TO: &str = "p.attending_id = $1 OR ($2 IS NOT NULL AND p.delegated_facility_id = $2) OR EXISTS (\
    SELECT 1 FROM patient_groups g JOIN group_members m ON m.group_id = g.id \
    WHERE g.patient_id = p.id AND m.user_id = $1 AND m.removed_at IS NULL)";

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} = {v}"))
}

fn row_to_patient(r: &impl RowExt) -> Result<Patient> {
    let sex = r.text("sex")?;
    let basis = r.text("basis")?;
    Ok(Patient {
        id: r.text("id")?,
        name: r.text("name")?,
        kana: r.text("kana")?,
        birth_date: r.text("birth_date")?,
        sex: Sex::from_code(&sex).ok_or_else(|| corrupt("patients.sex", &sex))?,
        address: r.text("address")?,
        attending_id: r.text("attending_id")?,
        attending_name: r.text("attending_name")?,
        basis: EligibilityBasis::from_code(&basis).ok_or_else(|| corrupt("patients.basis", &basis))?,
        basis_reason: r.text("basis_reason")?,
        delegated_facility_id: r.opt_text("delegated_facility_id")?,
        delegated_facility_name: r.opt_text("delegated_facility_name")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

const CONSENT_COLUMNS: &str = "c.id, c.patient_id, c.explained_by, e.name AS explained_by_name, c.consenter, \
    c.consenter_name, c.relationship, c.consented_on, c.scope, c.scan_type, c.recorded_by, c.recorded_at, \
    c.withdrawn_at, c.withdrawal_note, \
    (SELECT COUNT(*) FROM consent_scan_pages s WHERE s.consent_id = c.id) AS scan_pages";

fn row_to_consent(r: &impl RowExt) -> Result<Consent> {
    let who = r.text("consenter")?;
    Ok(Consent {
        id: r.text("id")?,
        patient_id: r.text("patient_id")?,
        explained_by: r.text("explained_by")?,
        explained_by_name: r.text("explained_by_name")?,
        consenter: Consenter::from_code(&who).ok_or_else(|| corrupt("consents.consenter", &who))?,
        consenter_name: r.text("consenter_name")?,
        relationship: r.text("relationship")?,
        consented_on: r.text("consented_on")?,
        scope: r.text("scope")?,
        scan_type: r.opt_text("scan_type")?,
        scan_pages: r.int("scan_pages")?,
        recorded_by: r.text("recorded_by")?,
        recorded_at: r.int("recorded_at")?,
        withdrawn_at: r.opt_int("withdrawn_at")?,
        withdrawal_note: r.opt_text("withdrawal_note")?,
    })
}

const INVITATION_COLUMNS: &str = "i.id, i.group_id, g.patient_id, p.name AS patient_name, i.invitee_id, \
    iv.name AS invitee_name, i.inviter_id, ir.name AS inviter_name, f.name AS inviter_facility, i.reason, i.state, \
    i.created_at, i.responded_at";
const INVITATION_FROM: &str = "invitations i JOIN patient_groups g ON g.id = i.group_id JOIN patients p ON p.id = g.patient_id \
    JOIN users iv ON iv.id = i.invitee_id JOIN users ir ON ir.id = i.inviter_id LEFT JOIN facilities f ON f.id = ir.facility_id";

fn row_to_invitation(r: &impl RowExt) -> Result<Invitation> {
    Ok(Invitation {
        id: r.text("id")?,
        group_id: r.text("group_id")?,
        patient_id: r.text("patient_id")?,
        patient_name: r.text("patient_name")?,
        invitee_id: r.text("invitee_id")?,
        invitee_name: r.text("invitee_name")?,
        inviter_id: r.text("inviter_id")?,
        inviter_name: r.text("inviter_name")?,
        inviter_facility: r.opt_text("inviter_facility")?,
        reason: r.text("reason")?,
        state: r.text("state")?,
        created_at: r.int("created_at")?,
        responded_at: r.opt_int("responded_at")?,
    })
}

pub(crate) fn row_to_member(r: &impl RowExt) -> Result<Member> {
    let profession = match r.opt_text("profession")? {
        Some(p) => {
            Some(kumanet_core::people::Profession::from_code(&p).ok_or_else(|| corrupt("users.profession", &p))?)
        }
        None => None,
    };
    Ok(Member {
        user_id: r.text("user_id")?,
        name: r.text("name")?,
        kana: r.text("kana")?,
        profession,
        facility_name: r.opt_text("facility_name")?,
        joined_at: r.int("joined_at")?,
    })
}

/// Everything the gate needs to decide about one patient for one user.
pub struct PatientContext {
    pub patient: Patient,
    pub group: Option<Group>,
    pub consent: ConsentState,
    pub is_member: bool,
    /// R5.3: the asker is the patient or a family member admitted to this group.
    pub is_family: bool,
}

impl Store {
    pub async fn patient(&self, id: &str) -> Result<Option<Patient>> {
        let sql = format!("SELECT {PATIENT_COLUMNS} FROM {PATIENT_FROM} WHERE p.id = $1");
        on_read!(self, |c| sqlx::query(&sql).bind(id).fetch_optional(c).await?.as_ref().map(row_to_patient).transpose())
    }

    /// The patient, their group, the state of their consent, and whether `user_id` is an active member.
    pub async fn patient_context(&self, patient_id: &str, user_id: &str) -> Result<Option<PatientContext>> {
        let Some(patient) = self.patient(patient_id).await? else { return Ok(None) };
        let group = self.group_of_patient(patient_id).await?;
        let consent = ConsentState::of(self.latest_consent(patient_id).await?.map(|c| (c.recorded_at, c.withdrawn_at)));
        let (is_member, is_family) = match &group {
            Some(g) => (
                self.is_member(&g.id, user_id).await?,
                self.family_group_of(user_id).await?.as_deref() == Some(g.id.as_str()),
            ),
            None => (false, false),
        };
        Ok(Some(PatientContext { patient, group, consent, is_member, is_family }))
    }

    /// The patients `user_id` may see: attending, of the delegated facility, or a member. `text`
    /// matches name or kana.
    /// The groups `user_id` (of facility `facility_id`) manages (R5.1): (group id, patient's name).
    pub async fn managed_groups(&self, user_id: &str, facility_id: Option<&str>) -> Result<Vec<(String, String)>> {
        on_read!(self, |c| Ok(sqlx::query_as(
            "SELECT g.id, p.name FROM patient_groups g JOIN patients p ON p.id = g.patient_id \
             WHERE p.attending_id = $1 OR ($2 IS NOT NULL AND p.delegated_facility_id = $2) ORDER BY p.kana, g.id"
        )
        .bind(user_id)
        .bind(facility_id)
        .fetch_all(c)
        .await?))
    }

    pub async fn visible_patients(
        &self,
        user_id: &str,
        facility_id: Option<&str>,
        text: Option<&str>,
    ) -> Result<Vec<Patient>> {
        let sql = format!(
            "SELECT {PATIENT_COLUMNS} FROM {PATIENT_FROM} WHERE ({VISIBLE_TO}) \
             AND ($3 IS NULL OR p.name LIKE $3 OR p.kana LIKE $3) ORDER BY p.kana, p.id LIMIT 500"
        );
        let like = text.map(|t| format!("%{}%", t.replace(['%', '_'], "")));
        on_read!(self, |c| sqlx::query(&sql)
            .bind(user_id)
            .bind(facility_id)
            .bind(like)
            .fetch_all(c)
            .await?
            .iter()
            .map(row_to_patient)
            .collect())
    }

    pub async fn latest_consent(&self, patient_id: &str) -> Result<Option<Consent>> {
        Ok(self.consents(patient_id).await?.into_iter().next())
    }

    /// Every consent record of the patient, newest first (nothing is ever deleted, R4.3).
    pub async fn consents(&self, patient_id: &str) -> Result<Vec<Consent>> {
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM consents c JOIN users e ON e.id = c.explained_by \
             WHERE c.patient_id = $1 ORDER BY c.recorded_at DESC, c.id DESC"
        );
        on_read!(self, |c| sqlx::query(&sql).bind(patient_id).fetch_all(c).await?.iter().map(row_to_consent).collect())
    }

    /// Page `page` (from 1) of a consent scan, cleaned.
    pub async fn consent_scan_page(&self, consent_id: &str, page: i64) -> Result<Option<Vec<u8>>> {
        on_read!(self, |c| Ok(sqlx::query_scalar(
            "SELECT data FROM consent_scan_pages WHERE consent_id = $1 AND page = $2"
        )
        .bind(consent_id)
        .bind(page)
        .fetch_optional(c)
        .await?))
    }

    /// The scan as kept in the consent row, and its type: a PDF as signed; for an image, nothing
    /// (only its cleaned pages are kept), unless it was recorded before scans were cleaned.
    pub async fn consent_scan(&self, consent_id: &str) -> Result<Option<(Vec<u8>, String)>> {
        on_read!(self, |c| {
            let row: Option<(Option<Vec<u8>>, Option<String>)> =
                sqlx::query_as("SELECT scan, scan_type FROM consents WHERE id = $1")
                    .bind(consent_id)
                    .fetch_optional(c)
                    .await?;
            Ok(match row {
                Some((Some(bytes), Some(t))) => Some((bytes, t)),
                _ => None,
            })
        })
    }

    pub async fn group(&self, id: &str) -> Result<Option<Group>> {
        on_read!(self, |c| {
            let row: Option<(String, String, i64)> =
                sqlx::query_as("SELECT id, patient_id, created_at FROM patient_groups WHERE id = $1")
                    .bind(id)
                    .fetch_optional(c)
                    .await?;
            Ok(row.map(|(id, patient_id, created_at)| Group { id, patient_id, created_at }))
        })
    }

    pub async fn group_of_patient(&self, patient_id: &str) -> Result<Option<Group>> {
        on_read!(self, |c| {
            let row: Option<(String, String, i64)> =
                sqlx::query_as("SELECT id, patient_id, created_at FROM patient_groups WHERE patient_id = $1")
                    .bind(patient_id)
                    .fetch_optional(c)
                    .await?;
            Ok(row.map(|(id, patient_id, created_at)| Group { id, patient_id, created_at }))
        })
    }

    pub async fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool> {
        let n: i64 = on_read!(self, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2 AND removed_at IS NULL"
        )
        .bind(group_id)
        .bind(user_id)
        .fetch_one(c)
        .await?);
        Ok(n > 0)
    }

    /// Active members, by kana.
    pub async fn members(&self, group_id: &str) -> Result<Vec<Member>> {
        on_read!(self, |c| sqlx::query(
            "SELECT m.user_id, u.name, u.kana, u.profession, f.name AS facility_name, m.joined_at \
             FROM group_members m JOIN users u ON u.id = m.user_id LEFT JOIN facilities f ON f.id = u.facility_id \
             WHERE m.group_id = $1 AND m.removed_at IS NULL ORDER BY u.kana, u.id"
        )
        .bind(group_id)
        .fetch_all(c)
        .await?
        .iter()
        .map(row_to_member)
        .collect())
    }

    async fn invitations_where(&self, cond: &str, a: &str) -> Result<Vec<Invitation>> {
        let sql =
            format!("SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE {cond} ORDER BY i.created_at DESC, i.id");
        on_read!(self, |c| sqlx::query(&sql).bind(a).fetch_all(c).await?.iter().map(row_to_invitation).collect())
    }

    /// R10.1: the invitations waiting for this user.
    pub async fn pending_invitations_for(&self, user_id: &str) -> Result<Vec<Invitation>> {
        self.invitations_where("i.invitee_id = $1 AND i.state = 'pending'", user_id).await
    }

    /// R10.1: the invitations this user can still answer (sent after `since`).
    pub async fn open_invitations_for(&self, user_id: &str, since: Micros) -> Result<Vec<Invitation>> {
        Ok(self.pending_invitations_for(user_id).await?.into_iter().filter(|i| i.created_at >= since).collect())
    }

    pub async fn pending_invitations_of_group(&self, group_id: &str) -> Result<Vec<Invitation>> {
        self.invitations_where("i.group_id = $1 AND i.state = 'pending'", group_id).await
    }

    pub async fn invitation(&self, id: &str) -> Result<Option<Invitation>> {
        Ok(self.invitations_where("i.id = $1", id).await?.into_iter().next())
    }

    /// R7.1: the active group memberships of a facility's staff: (user id, group id, patient name).
    pub async fn facility_memberships(&self, facility_id: &str) -> Result<Vec<(String, String, String)>> {
        on_read!(self, |c| Ok(sqlx::query_as(
            "SELECT m.user_id, m.group_id, p.name FROM group_members m JOIN users u ON u.id = m.user_id \
             JOIN patient_groups g ON g.id = m.group_id JOIN patients p ON p.id = g.patient_id \
             WHERE u.facility_id = $1 AND m.removed_at IS NULL ORDER BY p.kana, m.group_id"
        )
        .bind(facility_id)
        .fetch_all(c)
        .await?))
    }

    /// R5.3: the group a patient or family account belongs to.
    pub async fn family_group_of(&self, user_id: &str) -> Result<Option<String>> {
        on_read!(self, |c| Ok(sqlx::query_scalar("SELECT group_id FROM family_members WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(c)
            .await?))
    }

    pub async fn family_members(&self, group_id: &str) -> Result<Vec<FamilyMember>> {
        on_read!(self, |c| {
            let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
                "SELECT f.user_id, f.group_id, u.name, f.relationship, f.created_at FROM family_members f \
                 JOIN users u ON u.id = f.user_id WHERE f.group_id = $1 AND u.status = 'approved' ORDER BY f.created_at",
            )
            .bind(group_id)
            .fetch_all(c)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(user_id, group_id, name, relationship, created_at)| FamilyMember {
                    user_id,
                    group_id,
                    name,
                    relationship,
                    created_at,
                })
                .collect())
        })
    }

    /// R5.3: the latest proposal of the group, with every answer so far.
    pub async fn family_proposal(&self, group_id: &str) -> Result<Option<FamilyProposal>> {
        let row: Option<(String, String, String, String, i64)> = on_read!(self, |c| {
            sqlx::query_as(
            "SELECT p.id, p.group_id, u.name, p.reason, p.created_at FROM family_proposals p JOIN users u ON u.id = p.proposed_by \
             WHERE p.group_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT 1"
        )
        .bind(group_id)
        .fetch_optional(c)
        .await?
        });
        let Some((id, group_id, proposed_by_name, reason, created_at)) = row else { return Ok(None) };
        let votes: Vec<(String, String, i64, String, i64)> = on_read!(self, |c| {
            sqlx::query_as(
            "SELECT v.user_id, u.name, v.agree, v.comment, v.created_at FROM family_votes v JOIN users u ON u.id = v.user_id \
             WHERE v.proposal_id = $1 ORDER BY v.created_at, v.user_id"
        )
        .bind(&id)
        .fetch_all(c)
        .await?
        });
        let votes = votes
            .into_iter()
            .map(|(user_id, name, agree, comment, created_at)| FamilyVote {
                user_id,
                name,
                agree: agree != 0,
                comment,
                created_at,
            })
            .collect();
        Ok(Some(FamilyProposal { id, group_id, proposed_by_name, reason, created_at, votes }))
    }

    /// R10.5: open requests to leave a group.
    pub async fn removal_requests(&self, group_id: &str) -> Result<Vec<RemovalRequest>> {
        on_read!(self, |c| {
            let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
                "SELECT r.id, r.group_id, r.user_id, u.name, r.reason, r.created_at FROM removal_requests r \
                 JOIN users u ON u.id = r.user_id WHERE r.group_id = $1 AND r.state = 'pending' ORDER BY r.created_at",
            )
            .bind(group_id)
            .fetch_all(c)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, group_id, user_id, user_name, reason, created_at)| RemovalRequest {
                    id,
                    group_id,
                    user_id,
                    user_name,
                    reason,
                    created_at,
                })
                .collect())
        })
    }
}

impl Tx {
    pub async fn insert_patient(&mut self, p: &NewPatient, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO patients (id, name, kana, birth_date, sex, address, attending_id, basis, basis_reason, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.kana)
        .bind(&p.birth_date)
        .bind(p.sex.code())
        .bind(&p.address)
        .bind(&p.attending_id)
        .bind(p.basis.code())
        .bind(&p.basis_reason)
        .bind(&p.created_by)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// R5.1: delegate the group's management to a facility, or take it back (`None`).
    pub async fn set_delegation(&mut self, patient_id: &str, facility_id: Option<&str>, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query("UPDATE patients SET delegated_facility_id = $2, updated_at = $3 WHERE id = $1")
            .bind(patient_id)
            .bind(facility_id)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn insert_consent(&mut self, k: &NewConsent, now: Micros) -> Result<()> {
        let (scan, scan_type) = match &k.scan {
            Some(s) => (s.original.as_deref(), Some(s.mime)),
            None => (None, None),
        };
        on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO consents (id, patient_id, explained_by, consenter, consenter_name, relationship, consented_on, \
             scope, scan, scan_type, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )
        .bind(&k.id)
        .bind(&k.patient_id)
        .bind(&k.explained_by)
        .bind(k.consenter.code())
        .bind(&k.consenter_name)
        .bind(&k.relationship)
        .bind(&k.consented_on)
        .bind(&k.scope)
        .bind(scan)
        .bind(scan_type)
        .bind(&k.recorded_by)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        if let Some(s) = &k.scan {
            self.insert_consent_scan_pages(&k.id, &s.pages).await?;
        }
        Ok(())
    }

    /// R9.3: replace a scan recorded before scans were cleaned by its cleaned pages; `original`
    /// is what the consent row keeps of it (the PDF as signed; None for an image).
    pub async fn set_consent_scan_pages(
        &mut self,
        consent_id: &str,
        pages: &[Vec<u8>],
        original: Option<&[u8]>,
    ) -> Result<()> {
        on_tx!(self, |c| sqlx::query("DELETE FROM consent_scan_pages WHERE consent_id = $1")
            .bind(consent_id)
            .execute(c)
            .await?
            .rows_affected());
        on_tx!(self, |c| sqlx::query("UPDATE consents SET scan = $2 WHERE id = $1")
            .bind(consent_id)
            .bind(original)
            .execute(c)
            .await?
            .rows_affected());
        self.insert_consent_scan_pages(consent_id, pages).await
    }

    async fn insert_consent_scan_pages(&mut self, consent_id: &str, pages: &[Vec<u8>]) -> Result<()> {
        for (i, data) in pages.iter().enumerate() {
            on_tx!(self, |c| sqlx::query(
                "INSERT INTO consent_scan_pages (consent_id, page, data) VALUES ($1, $2, $3)"
            )
            .bind(consent_id)
            .bind(i as i64 + 1)
            .bind(data.as_slice())
            .execute(c)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    /// R4.3: mark a consent withdrawn. The record stays.
    pub async fn withdraw_consent(&mut self, consent_id: &str, by: &str, note: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
            "UPDATE consents SET withdrawn_at = $2, withdrawn_by = $3, withdrawal_note = $4 WHERE id = $1 AND withdrawn_at IS NULL"
        )
        .bind(consent_id)
        .bind(now)
        .bind(by)
        .bind(note)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn insert_group(&mut self, id: &str, patient_id: &str, by: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO patient_groups (id, patient_id, created_by, created_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(id)
        .bind(patient_id)
        .bind(by)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Add a member (again, if they had been removed).
    pub async fn add_member(&mut self, group_id: &str, user_id: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO group_members (group_id, user_id, joined_at) VALUES ($1, $2, $3) \
             ON CONFLICT (group_id, user_id) DO UPDATE SET joined_at = excluded.joined_at, removed_at = NULL, removed_by = NULL"
        )
        .bind(group_id)
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// R5.2: end a membership. False when the user was not an active member.
    pub async fn remove_member(&mut self, group_id: &str, user_id: &str, by: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
            "UPDATE group_members SET removed_at = $3, removed_by = $4 WHERE group_id = $1 AND user_id = $2 AND removed_at IS NULL"
        )
        .bind(group_id)
        .bind(user_id)
        .bind(now)
        .bind(by)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn insert_invitation(
        &mut self,
        id: &str,
        group_id: &str,
        invitee: &str,
        inviter: &str,
        reason: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO invitations (id, group_id, invitee_id, inviter_id, reason, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6)"
        )
        .bind(id)
        .bind(group_id)
        .bind(invitee)
        .bind(inviter)
        .bind(reason)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Answer a pending invitation. False when it was no longer pending.
    pub async fn answer_invitation(&mut self, id: &str, state: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE invitations SET state = $2, responded_at = $3 WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(state)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// R10.1: mark this invitee's unanswered invitations to the group sent before `before` expired.
    pub async fn expire_invitations(
        &mut self,
        group_id: &str,
        invitee: &str,
        before: Micros,
        now: Micros,
    ) -> Result<u64> {
        Ok(on_tx!(self, |c| sqlx::query(
            "UPDATE invitations SET state = 'expired', responded_at = $4 \
             WHERE group_id = $1 AND invitee_id = $2 AND state = 'pending' AND created_at < $3"
        )
        .bind(group_id)
        .bind(invitee)
        .bind(before)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()))
    }

    pub async fn has_pending_invitation(&mut self, group_id: &str, invitee: &str) -> Result<bool> {
        let n: i64 = on_tx!(self, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM invitations WHERE group_id = $1 AND invitee_id = $2 AND state = 'pending'"
        )
        .bind(group_id)
        .bind(invitee)
        .fetch_one(c)
        .await?);
        Ok(n > 0)
    }

    pub async fn insert_family_proposal(
        &mut self,
        id: &str,
        group_id: &str,
        by: &str,
        reason: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO family_proposals (id, group_id, proposed_by, reason, created_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(id)
        .bind(group_id)
        .bind(by)
        .bind(reason)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// R5.3: a professional's answer; answering again replaces the earlier answer.
    pub async fn put_family_vote(
        &mut self,
        proposal_id: &str,
        user_id: &str,
        agree: bool,
        comment: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO family_votes (proposal_id, user_id, agree, comment, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (proposal_id, user_id) DO UPDATE SET agree = excluded.agree, comment = excluded.comment, created_at = excluded.created_at"
        )
        .bind(proposal_id)
        .bind(user_id)
        .bind(i64::from(agree))
        .bind(comment)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn insert_family_member(
        &mut self,
        user_id: &str,
        group_id: &str,
        relationship: &str,
        by: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO family_members (user_id, group_id, relationship, created_by, created_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(user_id)
        .bind(group_id)
        .bind(relationship)
        .bind(by)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn insert_removal_request(
        &mut self,
        id: &str,
        group_id: &str,
        user_id: &str,
        reason: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO removal_requests (id, group_id, user_id, reason, state, created_at) VALUES ($1, $2, $3, $4, 'pending', $5)"
        )
        .bind(id)
        .bind(group_id)
        .bind(user_id)
        .bind(reason)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Close the pending requests of a member (approved, or made moot by a removal).
    pub async fn close_removal_requests(
        &mut self,
        group_id: &str,
        user_id: &str,
        by: &str,
        now: Micros,
    ) -> Result<u64> {
        Ok(on_tx!(self, |c| sqlx::query(
            "UPDATE removal_requests SET state = 'approved', decided_by = $3, decided_at = $4 \
             WHERE group_id = $1 AND user_id = $2 AND state = 'pending'"
        )
        .bind(group_id)
        .bind(user_id)
        .bind(by)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()))
    }
}

impl Store {
    /// R10.4: every patient the user can see (as `visible_patients`, without a limit): id, name, kana.
    pub async fn visible_patient_names(
        &self,
        user_id: &str,
        facility_id: Option<&str>,
    ) -> Result<Vec<(String, String, String)>> {
        let sql = format!("SELECT p.id, p.name, p.kana FROM patients p WHERE {VISIBLE_TO}");
        on_read!(self, |c| Ok(sqlx::query_as(&sql).bind(user_id).bind(facility_id).fetch_all(c).await?))
    }
}
