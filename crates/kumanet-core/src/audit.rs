//! R11.1: the audit log's rows and their chain. Each row's hash is an HMAC-SHA-256, under a key
//! kept outside the database, of the previous row's hash and the row's canonical form; changing,
//! removing or inserting a row breaks the chain at that row.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::Micros;

labelled_enum! {
    /// The result of an audited operation.
    AuditResult {
        Ok = "ok": "成功",
        Denied = "denied": "拒否",
        Failed = "failed": "失敗",
    }
}

labelled_enum! {
    /// What happened. Dotted codes, stable in storage; Japanese labels for the center's log view.
    AuditAction {
        SetupCompleted = "setup.completed": "初期設定",
        Login = "auth.login": "ログイン",
        LoginFailed = "auth.login_failed": "ログイン失敗",
        Locked = "auth.locked": "アカウントロック",
        Unlocked = "auth.unlocked": "アカウントロックの終了",
        RateLimited = "auth.rate_limited": "ログイン試行の制限",
        Logout = "auth.logout": "ログアウト",
        IdleExpired = "auth.idle_expired": "無操作によるログアウト",
        SessionExpired = "auth.session_expired": "有効時間切れによるログアウト",
        PasswordChanged = "auth.password_changed": "パスワード変更",
        PasswordReset = "auth.password_reset": "パスワード再発行",
        PolicyAccepted = "policy.accepted": "運用ポリシーへの同意・誓約",
        PolicyPublished = "policy.published": "運用ポリシーの改定",
        FacilityCreated = "facility.created": "施設の登録",
        FacilityUpdated = "facility.updated": "施設の変更",
        UserCreated = "user.created": "IDの作成",
        UserViewed = "user.viewed": "利用者情報の閲覧",
        StaffListed = "facility.staff_viewed": "職員一覧の閲覧",
        DirectoryViewed = "directory.viewed": "職員名簿の閲覧",
        UserSuspended = "user.suspended": "利用停止",
        UserResumed = "user.resumed": "利用再開",
        ApplicationFiled = "application.filed": "届出",
        ApplicationApproved = "application.approved": "届出の承認",
        ApplicationRejected = "application.rejected": "届出の差戻し",
        SettingsUpdated = "settings.updated": "設定の変更",
        AuditViewed = "audit.viewed": "監査ログの閲覧",
        AuditExported = "audit.exported": "監査ログの書き出し",
        AccessDenied = "access.denied": "権限のない操作",
        PatientsListed = "patient.listed": "患者一覧の閲覧",
        PatientRegistered = "patient.registered": "患者の登録",
        PatientViewed = "patient.viewed": "患者情報の閲覧",
        DelegationChanged = "patient.delegation": "グループ管理の委託",
        ConsentRecorded = "consent.recorded": "同意の記録",
        ConsentWithdrawn = "consent.withdrawn": "同意の撤回",
        ConsentViewed = "consent.viewed": "同意書の閲覧",
        GroupCreated = "group.created": "グループの作成",
        GroupViewed = "group.viewed": "グループの閲覧",
        MemberInvited = "group.invited": "グループへの招待",
        InvitationViewed = "invitation.viewed": "招待の閲覧",
        InvitationAccepted = "invitation.accepted": "招待の受諾",
        InvitationDeclined = "invitation.declined": "招待の辞退",
        MemberRemoved = "group.member_removed": "メンバーの解除",
        RemovalRequested = "group.removal_requested": "担当を外れる申し出",
        FamilyProposed = "family.proposed": "患者・家族の参加の提案",
        FamilyVoted = "family.voted": "患者・家族の参加への意見",
        FamilyJoined = "family.joined": "患者・家族のアカウント作成",
        SharedPartViewed = "group.shared_viewed": "共有部分の閲覧",
        PostConfirmed = "post.confirmed": "投稿の確定",
        PostEdited = "post.edited": "投稿の修正",
        PostDeleted = "post.deleted": "投稿の削除",
        PostViewed = "post.viewed": "投稿と履歴の閲覧",
        PostAcked = "post.acked": "了解",
        PostsSearched = "post.searched": "投稿の検索",
        NoticesChanged = "user.notices_changed": "メール通知の設定",
        LiveOpened = "live.opened": "新着表示の開始",
        AttachmentUploaded = "attachment.uploaded": "ファイルの添付",
        AttachmentViewed = "attachment.viewed": "添付ファイルの閲覧",
        BoardsListed = "board.listed": "掲示板一覧の閲覧",
        BoardCreated = "board.created": "掲示板の作成",
        BoardViewed = "board.viewed": "掲示板の閲覧",
        BoardInvited = "board.invited": "掲示板への招待",
        BoardInvitationAccepted = "board.invitation_accepted": "掲示板への招待の受諾",
        BoardInvitationDeclined = "board.invitation_declined": "掲示板への招待の辞退",
        BoardMemberRemoved = "board.member_removed": "掲示板メンバーの解除",
        BoardLeft = "board.left": "掲示板からの退出",
        ResourceCreated = "resource.created": "地域資源の登録",
        ResourceUpdated = "resource.updated": "地域資源の変更",
        ResourceConfirmed = "resource.confirmed": "地域資源の確認",
        ResourcesImported = "resource.imported": "地域資源のCSV取り込み",
        ResourceTermsUpdated = "resource.terms_updated": "地域資源の種別・地区の変更",
        DemoCreated = "demo.created": "デモデータの作成",
    }
}

/// One row of the audit log. `details` is JSON with ids and hashes only: never a password,
/// a session token or the content of patient information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    pub seq: i64,
    pub ts: Micros,
    pub actor_user_id: Option<String>,
    pub actor_role: Option<String>,
    pub actor_facility_id: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub result: String,
    pub reason: Option<String>,
    pub details: String,
}

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => {
            out.extend_from_slice(v.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
        }
        None => out.push(b'~'),
    }
    out.push(b';');
}

/// The canonical form: fixed field order, each field length-prefixed, so no two rows share one.
pub fn canonical(r: &AuditRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    field(&mut out, Some(&r.seq.to_string()));
    field(&mut out, Some(&r.ts.to_string()));
    field(&mut out, r.actor_user_id.as_deref());
    field(&mut out, r.actor_role.as_deref());
    field(&mut out, r.actor_facility_id.as_deref());
    field(&mut out, r.ip.as_deref());
    field(&mut out, Some(&r.action));
    field(&mut out, r.target_type.as_deref());
    field(&mut out, r.target_id.as_deref());
    field(&mut out, Some(&r.result));
    field(&mut out, r.reason.as_deref());
    field(&mut out, Some(&r.details));
    out
}

/// R11.1: `entry_hash = HMAC-SHA-256(key, prev_hash ‖ canonical(row))`, hex.
pub fn chain_hash(key: &[u8], prev_hash: &str, record: &AuditRecord) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(prev_hash.as_bytes());
    mac.update(&canonical(record));
    hex::encode(mac.finalize().into_bytes())
}

/// What a search asked, for the audit log without the words in the clear: an HMAC under the
/// audit key, so the center can tell whether two searches were the same (and, knowing a word,
/// check it) while the log itself does not disclose what was searched.
pub fn query_digest(key: &[u8], query: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(b"kumanet-search-query\0");
    mac.update(query.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Why a chain does not verify, naming the first bad row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("row seq={seq}: expected seq {expected} (a row is missing or was inserted)")]
    Gap { seq: i64, expected: i64 },
    #[error("row seq={seq}: prev_hash does not match the previous row's hash")]
    BrokenLink { seq: i64 },
    #[error("row seq={seq}: its hash does not match its content (the row was altered)")]
    Altered { seq: i64 },
    #[error("row seq={seq}: time goes backwards")]
    TimeBackwards { seq: i64 },
    /// The newest rows are gone: the head kept outside the database names a later row.
    #[error("rows after seq={last} are missing: the head kept outside the database names seq={seq}")]
    Truncated { seq: i64, last: i64 },
    /// The row the head names is not the row the head recorded (the log was rewritten from there).
    #[error("row seq={seq} is not the one the head kept outside the database recorded")]
    HeadMismatch { seq: i64 },
}

impl ChainError {
    pub fn seq(&self) -> i64 {
        match self {
            ChainError::Gap { seq, .. }
            | ChainError::BrokenLink { seq }
            | ChainError::Altered { seq }
            | ChainError::TimeBackwards { seq }
            | ChainError::HeadMismatch { seq } => *seq,
            ChainError::Truncated { last, .. } => *last + 1,
        }
    }
}

/// R11.1: the chain's newest row (its sequence number and hash), kept outside the database so
/// that deleting the newest rows — which leaves a shorter chain that still verifies — is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The one-line form kept in the head file: `seq hash`.
    pub fn to_line(&self) -> String {
        format!("{} {}\n", self.seq, self.hash)
    }

    /// The inverse of [`ChainHead::to_line`]; None for anything else.
    pub fn parse(text: &str) -> Option<ChainHead> {
        let mut words = text.split_whitespace();
        let seq: i64 = words.next()?.parse().ok()?;
        let hash = words.next()?;
        let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        (seq > 0 && hex && words.next().is_none()).then(|| ChainHead { seq, hash: hash.to_string() })
    }
}

/// Walks the chain row by row in `seq` order. Feed rows with `push`, then `finish`; the first
/// error is final.
pub struct ChainVerifier<'k> {
    key: &'k [u8],
    expected_seq: i64,
    prev_hash: String,
    last_ts: Micros,
    head: Option<ChainHead>,
}

impl<'k> ChainVerifier<'k> {
    pub fn new(key: &'k [u8]) -> Self {
        ChainVerifier { key, expected_seq: 1, prev_hash: GENESIS.to_string(), last_ts: i64::MIN, head: None }
    }

    /// Also check the rows against the head kept outside the database: the row it names must be
    /// there, with the hash it recorded.
    pub fn with_head(key: &'k [u8], head: Option<ChainHead>) -> Self {
        ChainVerifier { head, ..ChainVerifier::new(key) }
    }

    /// R11.1: check one row against everything before it.
    pub fn push(&mut self, record: &AuditRecord, prev_hash: &str, entry_hash: &str) -> Result<(), ChainError> {
        let seq = record.seq;
        if seq != self.expected_seq {
            return Err(ChainError::Gap { seq, expected: self.expected_seq });
        }
        if prev_hash != self.prev_hash {
            return Err(ChainError::BrokenLink { seq });
        }
        if chain_hash(self.key, prev_hash, record) != entry_hash {
            return Err(ChainError::Altered { seq });
        }
        if record.ts < self.last_ts {
            return Err(ChainError::TimeBackwards { seq });
        }
        if self.head.as_ref().is_some_and(|h| h.seq == seq && h.hash != entry_hash) {
            return Err(ChainError::HeadMismatch { seq });
        }
        self.expected_seq += 1;
        self.prev_hash = entry_hash.to_string();
        self.last_ts = record.ts;
        Ok(())
    }

    /// Rows verified so far.
    pub fn count(&self) -> i64 {
        self.expected_seq - 1
    }

    /// After the last row: the number of rows, or `Truncated` when the head names a row past
    /// the end.
    pub fn finish(&self) -> Result<i64, ChainError> {
        match &self.head {
            Some(h) if h.seq > self.count() => Err(ChainError::Truncated { seq: h.seq, last: self.count() }),
            _ => Ok(self.count()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64) -> AuditRecord {
        AuditRecord {
            seq,
            ts: 1_700_000_000_000_000 + seq,
            actor_user_id: Some("u1".into()),
            actor_role: Some("staff".into()),
            actor_facility_id: None,
            ip: Some("127.0.0.1".into()),
            action: AuditAction::Login.code().into(),
            target_type: None,
            target_id: None,
            result: AuditResult::Ok.code().into(),
            reason: None,
            details: "{}".into(),
        }
    }

    fn chain(key: &[u8], n: i64) -> Vec<(AuditRecord, String, String)> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|s| {
                let r = row(s);
                let h = chain_hash(key, &prev, &r);
                let out = (r, prev.clone(), h.clone());
                prev = h;
                out
            })
            .collect()
    }

    fn verify(key: &[u8], rows: &[(AuditRecord, String, String)]) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::new(key);
        for (r, p, h) in rows {
            v.push(r, p, h)?;
        }
        Ok(v.count())
    }

    #[test]
    fn r11_1_untouched_chain_verifies() {
        assert_eq!(verify(b"k", &chain(b"k", 20)), Ok(20));
    }

    #[test]
    fn r11_1_any_altered_field_names_that_row() {
        for seq in 1..=20usize {
            let mut rows = chain(b"k", 20);
            rows[seq - 1].0.reason = Some("x".into());
            assert_eq!(verify(b"k", &rows), Err(ChainError::Altered { seq: seq as i64 }));
        }
    }

    #[test]
    fn r11_1_removed_or_reordered_rows_are_found() {
        let mut rows = chain(b"k", 10);
        rows.remove(4);
        assert_eq!(verify(b"k", &rows).unwrap_err().seq(), 6);
        let mut rows = chain(b"k", 10);
        rows.swap(2, 3);
        assert_eq!(verify(b"k", &rows).unwrap_err().seq(), 4);
    }

    fn verify_with_head(rows: &[(AuditRecord, String, String)], head: ChainHead) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::with_head(b"k", Some(head));
        for (r, p, h) in rows {
            v.push(r, p, h)?;
        }
        v.finish()
    }

    #[test]
    fn r11_1_deleting_the_newest_rows_is_found_by_the_head() {
        let rows = chain(b"k", 10);
        let head = ChainHead { seq: 10, hash: rows[9].2.clone() };
        assert_eq!(verify_with_head(&rows, head.clone()), Ok(10));
        // The first eight rows still make a valid chain; only the head tells two are gone.
        assert_eq!(verify(b"k", &rows[..8]), Ok(8));
        let err = verify_with_head(&rows[..8], head.clone()).unwrap_err();
        assert_eq!(err, ChainError::Truncated { seq: 10, last: 8 });
        assert_eq!(err.seq(), 9);
        // Rows past the head (written after it was last saved) are fine.
        let older = ChainHead { seq: 7, hash: rows[6].2.clone() };
        assert_eq!(verify_with_head(&rows, older), Ok(10));
        // A head whose row has another hash: the log was rewritten from there.
        let wrong = ChainHead { seq: 5, hash: rows[6].2.clone() };
        assert_eq!(verify_with_head(&rows, wrong), Err(ChainError::HeadMismatch { seq: 5 }));
    }

    #[test]
    fn chain_head_line_round_trips_and_refuses_junk() {
        let h = ChainHead { seq: 42, hash: "ab".repeat(32) };
        assert_eq!(ChainHead::parse(&h.to_line()), Some(h));
        for junk in
            ["", "42", "x ab", "0 ab", &format!("42 {} extra", "ab".repeat(32)), &format!("42 {}", "zz".repeat(32))]
        {
            assert_eq!(ChainHead::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn r11_1_a_rewritten_chain_without_the_key_fails() {
        assert_eq!(verify(b"other key", &chain(b"k", 3)), Err(ChainError::Altered { seq: 1 }));
    }

    #[test]
    fn canonical_is_unambiguous() {
        let mut a = row(1);
        a.actor_user_id = Some("ab".into());
        a.actor_role = Some("c".into());
        let mut b = row(1);
        b.actor_user_id = Some("a".into());
        b.actor_role = Some("bc".into());
        assert_ne!(canonical(&a), canonical(&b));
        let mut c = row(1);
        c.reason = Some(String::new());
        assert_ne!(canonical(&c), canonical(&row(1)));
    }
}
