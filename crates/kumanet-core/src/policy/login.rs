//! Failed logins slow down, then lock, and are reported to the admin (R8.6) — without telling a
//! stranger whether an ID exists (ASVS 6.3.8) and without letting a stranger keep its user out.
//! Issued passwords are single use and short lived (R6.1, ASVS 6.4.1).
//!
//! Failures are remembered under three kinds of key (OWASP "device cookies"):
//! - the login ID, for every browser its user has not logged in on before (the lock of R8.6);
//! - the login ID from one address (a delay that doubles with each failure);
//! - one known device of the user: a browser where the user has logged in, which keeps its own
//!   count and is let through while the ID is locked against the others.
//!
//! The first two are kept for IDs that do not exist too, so every answer and its cost depend only
//! on what was tried, never on whether the ID is real. An attempt is charged before its password is
//! checked, so attempts sent in parallel cannot get past the limits.

use crate::{Micros, MICROS_PER_HOUR, MICROS_PER_SECOND};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRules {
    /// Failures that lock (the ID for unknown browsers, or one known device).
    pub threshold: u32,
    /// How long a lock lasts; also the longest delay between two attempts from one address.
    pub lock_minutes: u32,
}

impl LockoutRules {
    pub fn lock_us(&self) -> Micros {
        i64::from(self.lock_minutes) * crate::MICROS_PER_MINUTE
    }
}

/// R8.6: is the account (or device) locked at `now`?
pub fn is_locked(locked_until: Option<Micros>, now: Micros) -> bool {
    locked_until.is_some_and(|until| now < until)
}

/// Failures are forgotten a day after the last one (and rows about them may then be removed).
pub const FAILURE_MEMORY_US: Micros = 24 * MICROS_PER_HOUR;

/// Failures from one address with one ID that cost no wait (typing mistakes).
pub const FREE_FAILURES_PER_ADDRESS: u32 = 3;

/// What is remembered under one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    /// Failures, plus the attempts being checked at this moment.
    pub count: u32,
    /// The last attempt charged or failed.
    pub last_at: Micros,
    /// Locked until then. A lock that has run out stays here until its end is written down.
    pub locked_until: Option<Micros>,
}

impl Failures {
    pub fn locked(&self, now: Micros) -> bool {
        is_locked(self.locked_until, now)
    }

    /// A lock that has run out and whose end is still to be written down (R11.1).
    pub fn lock_ended(&self, now: Micros) -> bool {
        self.locked_until.is_some_and(|until| now >= until)
    }

    /// The count at `now`: forgotten a day after the last failure.
    pub fn count_at(&self, now: Micros) -> u32 {
        if now - self.last_at >= FAILURE_MEMORY_US {
            0
        } else {
            self.count
        }
    }

    /// Worth keeping at `now`? (A row that is not is the same as no row.)
    pub fn remembered(&self, now: Micros) -> bool {
        self.locked_until.is_some() || self.count_at(now) > 0
    }

    fn charged(self, now: Micros) -> Failures {
        Failures { count: self.count_at(now).saturating_add(1), last_at: now, locked_until: self.locked_until }
    }
}

/// R8.6: how long an address waits before trying an ID again after `failures` failures with it:
/// nothing for the first three, then 1 s, 2 s, 4 s … doubling, never longer than the lock.
pub fn address_delay(failures: u32, rules: LockoutRules) -> Micros {
    if failures <= FREE_FAILURES_PER_ADDRESS {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES_PER_ADDRESS - 1).min(40);
    MICROS_PER_SECOND.saturating_mul(1i64 << doublings).min(rules.lock_us())
}

/// How an attempt is let in, decided before any password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// From one of the user's known devices that is not locked itself: checked whatever the ID's
    /// state, so failures elsewhere cannot keep the user out.
    KnownDevice,
    /// From any other browser: checked when neither the ID nor this address with it is held back.
    Untrusted,
    /// Held back until then: answered at once, without checking the password. The same for an
    /// ID that exists and one that does not.
    Wait { until: Micros },
}

/// The decision and what to write before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    pub admission: Admission,
    pub id: Failures,
    pub address: Failures,
    pub device: Option<Failures>,
}

/// R8.6: let an attempt in, or not, and charge it. `device` is the user's record of the browser
/// the attempt comes from, when the user has logged in on it before (never for an unknown ID).
pub fn admit(id: Failures, address: Failures, device: Option<Failures>, now: Micros, rules: LockoutRules) -> Admitted {
    if let Some(d) = device {
        if !d.locked(now) && d.count_at(now) < rules.threshold {
            return Admitted { admission: Admission::KnownDevice, id, address, device: Some(d.charged(now)) };
        }
    }
    let id_wait = if id.locked(now) {
        id.locked_until
    } else if id.count_at(now) >= rules.threshold {
        // As many attempts as the threshold are being checked right now: one of them may lock.
        Some(now + MICROS_PER_SECOND)
    } else {
        None
    };
    let failures = address.count_at(now);
    let open_at = address.last_at + address_delay(failures, rules);
    let address_wait = (failures > 0 && open_at > now).then_some(open_at);
    match id_wait.max(address_wait) {
        Some(until) => Admitted { admission: Admission::Wait { until }, id, address, device },
        None => {
            Admitted { admission: Admission::Untrusted, id: id.charged(now), address: address.charged(now), device }
        }
    }
}

/// R8.6: a checked attempt failed. Its charge stays; reaching the threshold locks for the
/// configured time (and starts the count again). Returns the new state and whether it locked now.
pub fn after_failure(f: Failures, now: Micros, rules: LockoutRules) -> (Failures, bool) {
    if f.locked(now) {
        // An attempt checked at the same time has locked it already.
        return (f, false);
    }
    if f.count >= rules.threshold {
        return (Failures { count: 0, last_at: now, locked_until: Some(now + rules.lock_us()) }, true);
    }
    (Failures { last_at: now, ..f }, false)
}

/// A checked attempt from an unknown browser succeeded: the ID gives back its charge only.
/// Earlier failures are forgotten with time, not by a success, so that the lock a stranger's
/// failures lead to does not depend on whether the real user happens to log in meanwhile.
pub fn after_success(id: Failures) -> Failures {
    Failures { count: id.count.saturating_sub(1), ..id }
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
    use crate::MICROS_PER_MINUTE;

    const RULES: LockoutRules = LockoutRules { threshold: 10, lock_minutes: 15 };

    /// One attempt from an unknown browser that fails; returns the new (id, address) and the answer.
    fn fail_once(id: Failures, address: Failures, now: Micros) -> (Failures, Failures, Admission, bool) {
        let a = admit(id, address, None, now, RULES);
        if a.admission != Admission::Untrusted {
            return (a.id, a.address, a.admission, false);
        }
        // The address keeps its charge: that is its failure.
        let (id, locked) = after_failure(a.id, now, RULES);
        (id, a.address, a.admission, locked)
    }

    #[test]
    fn r8_6_tenth_failure_locks_the_id_for_fifteen_minutes() {
        let (mut id, mut addr) = (Failures::default(), Failures::default());
        let mut now = 1_000 * MICROS_PER_MINUTE;
        for i in 1..=9 {
            let (i2, a2, adm, locked) = fail_once(id, addr, now);
            assert_eq!(adm, Admission::Untrusted, "attempt {i}");
            assert!(!locked);
            (id, addr) = (i2, a2);
            now += MICROS_PER_MINUTE;
        }
        assert_eq!(id.count, 9);
        let (id, _, adm, locked) = fail_once(id, addr, now);
        assert_eq!(adm, Admission::Untrusted);
        assert!(locked, "the 10th failure locks");
        assert_eq!(id.locked_until, Some(now + 15 * MICROS_PER_MINUTE));
        // From another address the ID is held back too, until the lock ends.
        let fresh = Failures::default();
        let a = admit(id, fresh, None, now + 15 * MICROS_PER_MINUTE - 1, RULES);
        assert_eq!(a.admission, Admission::Wait { until: now + 15 * MICROS_PER_MINUTE });
        assert_eq!(a.id, id, "nothing charged while held back");
        assert!(id.lock_ended(now + 15 * MICROS_PER_MINUTE));
        let a = admit(Failures { locked_until: None, ..id }, fresh, None, now + 15 * MICROS_PER_MINUTE, RULES);
        assert_eq!(a.admission, Admission::Untrusted);
    }

    #[test]
    fn r8_6_a_known_device_gets_in_while_the_id_is_locked_and_has_its_own_count() {
        let now = 50 * MICROS_PER_HOUR;
        let id = Failures { count: 0, last_at: now, locked_until: Some(now + RULES.lock_us()) };
        let stranger = admit(id, Failures::default(), None, now, RULES);
        assert!(matches!(stranger.admission, Admission::Wait { .. }));
        let mut device = Failures::default();
        for i in 1..=RULES.threshold {
            let a = admit(id, Failures::default(), Some(device), now, RULES);
            assert_eq!(a.admission, Admission::KnownDevice, "attempt {i}");
            assert_eq!(a.id, id, "the ID is not charged for a known device");
            let (d, locked) = after_failure(a.device.unwrap_or_default(), now, RULES);
            assert_eq!(locked, i == RULES.threshold);
            device = d;
        }
        // Its own threshold reached, the device is a stranger like any other until its lock ends.
        let a = admit(id, Failures::default(), Some(device), now, RULES);
        assert!(matches!(a.admission, Admission::Wait { .. }));
        let later = now + RULES.lock_us();
        let a = admit(
            Failures::default(),
            Failures::default(),
            Some(Failures { locked_until: None, ..device }),
            later,
            RULES,
        );
        assert_eq!(a.admission, Admission::KnownDevice);
    }

    #[test]
    fn r8_6_the_delay_per_address_doubles_and_is_capped() {
        assert_eq!(address_delay(0, RULES), 0);
        assert_eq!(address_delay(3, RULES), 0);
        assert_eq!(address_delay(4, RULES), MICROS_PER_SECOND);
        assert_eq!(address_delay(5, RULES), 2 * MICROS_PER_SECOND);
        assert_eq!(address_delay(9, RULES), 32 * MICROS_PER_SECOND);
        assert_eq!(address_delay(30, RULES), 15 * MICROS_PER_MINUTE);
        assert_eq!(address_delay(u32::MAX, RULES), 15 * MICROS_PER_MINUTE);
        // Four failures in a row from one address: the fifth attempt waits a second.
        let (mut id, mut addr) = (Failures::default(), Failures::default());
        let now = 7 * MICROS_PER_HOUR;
        for _ in 0..4 {
            let (i2, a2, adm, _) = fail_once(id, addr, now);
            assert_eq!(adm, Admission::Untrusted);
            (id, addr) = (i2, a2);
        }
        assert_eq!(admit(id, addr, None, now, RULES).admission, Admission::Wait { until: now + MICROS_PER_SECOND });
        assert_eq!(admit(id, Failures::default(), None, now, RULES).admission, Admission::Untrusted, "another address");
        assert_eq!(admit(id, addr, None, now + MICROS_PER_SECOND, RULES).admission, Admission::Untrusted);
    }

    #[test]
    fn r8_6_parallel_attempts_cannot_pass_the_threshold() {
        // Attempts are charged before their check: the eleventh of a burst waits.
        let now = 3 * MICROS_PER_HOUR;
        let mut id = Failures::default();
        for _ in 0..RULES.threshold {
            // A new address each time, so only the ID's count holds them back.
            let a = admit(id, Failures::default(), None, now, RULES);
            assert_eq!(a.admission, Admission::Untrusted);
            id = a.id;
        }
        assert!(matches!(admit(id, Failures::default(), None, now, RULES).admission, Admission::Wait { .. }));
        // The checks fail: the first to finish locks, the others find it locked.
        let (locked_state, locked) = after_failure(id, now, RULES);
        assert!(locked);
        assert_eq!(after_failure(locked_state, now, RULES), (locked_state, false));
    }

    #[test]
    fn r8_6_a_success_gives_back_its_charge_and_failures_are_forgotten_after_a_day() {
        let now = 100 * MICROS_PER_HOUR;
        let id = Failures { count: 4, last_at: now, locked_until: None };
        let a = admit(id, Failures::default(), None, now, RULES);
        assert_eq!(a.id.count, 5);
        assert_eq!(after_success(a.id).count, 4, "a success does not wipe a stranger's failures");
        assert!(id.remembered(now + FAILURE_MEMORY_US - 1));
        assert!(!id.remembered(now + FAILURE_MEMORY_US));
        assert_eq!(admit(id, Failures::default(), None, now + FAILURE_MEMORY_US, RULES).id.count, 1);
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
