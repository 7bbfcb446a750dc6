//! Failed logins lock the account for a while and are reported to the admin (R8.6);
//! issued passwords are single use and short lived (R6.1, ASVS 6.4.1).

use crate::{Micros, MICROS_PER_HOUR, MICROS_PER_MINUTE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRules {
    pub threshold: u32,
    pub lock_minutes: u32,
}

/// R8.6: is the account locked at `now`?
pub fn is_locked(locked_until: Option<Micros>, now: Micros) -> bool {
    locked_until.is_some_and(|until| now < until)
}

/// What a failed attempt leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    pub failed_count: u32,
    /// Set when this failure reaches the threshold: the account is locked until then.
    pub locked_until: Option<Micros>,
}

/// R8.6: count a failure; the threshold-th consecutive failure locks the account.
pub fn after_failure(failed_count: u32, now: Micros, rules: LockoutRules) -> AfterFailure {
    let n = failed_count.saturating_add(1);
    if n >= rules.threshold {
        AfterFailure { failed_count: 0, locked_until: Some(now + i64::from(rules.lock_minutes) * MICROS_PER_MINUTE) }
    } else {
        AfterFailure { failed_count: n, locked_until: None }
    }
}

/// R6.1: an issued (one-time) password is valid for 72 hours.
pub const ISSUED_PASSWORD_VALID_US: Micros = 72 * MICROS_PER_HOUR;

/// R6.1: has an issued password expired unused?
pub fn issued_password_expired(issued_at: Micros, now: Micros) -> bool {
    now - issued_at > ISSUED_PASSWORD_VALID_US
}

/// R8.1: must the user choose a new password before doing anything else?
pub fn must_change_password(is_issued: bool, expires_at: Option<Micros>, now: Micros) -> bool {
    is_issued || expires_at.is_some_and(|t| now >= t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r8_6_tenth_failure_locks_for_fifteen_minutes() {
        let rules = LockoutRules { threshold: 10, lock_minutes: 15 };
        let mut count = 0;
        for _ in 0..9 {
            let a = after_failure(count, 0, rules);
            assert_eq!(a.locked_until, None);
            count = a.failed_count;
        }
        assert_eq!(count, 9);
        let a = after_failure(count, 100, rules);
        assert_eq!(a.locked_until, Some(100 + 15 * MICROS_PER_MINUTE));
        assert!(is_locked(a.locked_until, 100 + 15 * MICROS_PER_MINUTE - 1));
        assert!(!is_locked(a.locked_until, 100 + 15 * MICROS_PER_MINUTE));
    }

    #[test]
    fn r6_1_issued_password_valid_72_hours_and_must_be_changed() {
        assert!(!issued_password_expired(0, 72 * MICROS_PER_HOUR));
        assert!(issued_password_expired(0, 72 * MICROS_PER_HOUR + 1));
        assert!(must_change_password(true, None, 0));
        assert!(!must_change_password(false, None, i64::MAX));
        assert!(must_change_password(false, Some(10), 10));
        assert!(!must_change_password(false, Some(10), 9));
    }
}
