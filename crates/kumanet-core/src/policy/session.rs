//! Sessions end by themselves (第8条(4)(5), R8.4): an idle limit and an absolute lifetime.

use crate::Micros;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRules {
    pub idle_us: Micros,
    pub absolute_us: Micros,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Active,
    /// R8.4: no request for longer than the idle limit.
    IdleExpired,
    /// The absolute lifetime since login has passed.
    LifetimeExpired,
}

/// R8.4: decide whether a session is still alive at `now`.
/// A request exactly at the limit still counts as activity; one microsecond later does not.
pub fn state(created_at: Micros, last_seen_at: Micros, now: Micros, rules: SessionRules) -> SessionState {
    if now - created_at > rules.absolute_us {
        SessionState::LifetimeExpired
    } else if now - last_seen_at > rules.idle_us {
        SessionState::IdleExpired
    } else {
        SessionState::Active
    }
}

/// Bytes of randomness in a session token (R9.2: at least 128 bits).
pub const TOKEN_BYTES: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MICROS_PER_HOUR, MICROS_PER_MINUTE};

    const RULES: SessionRules = SessionRules { idle_us: 15 * MICROS_PER_MINUTE, absolute_us: 12 * MICROS_PER_HOUR };

    #[test]
    fn r8_4_idle_timeout_after_fifteen_minutes() {
        let t0 = 1_000_000_000;
        assert_eq!(state(t0, t0, t0 + 14 * MICROS_PER_MINUTE + 59_000_000, RULES), SessionState::Active);
        assert_eq!(state(t0, t0, t0 + 15 * MICROS_PER_MINUTE, RULES), SessionState::Active);
        assert_eq!(state(t0, t0, t0 + 15 * MICROS_PER_MINUTE + 1, RULES), SessionState::IdleExpired);
    }

    #[test]
    fn r8_4_activity_keeps_session_but_not_past_lifetime() {
        let t0 = 0;
        let last = 12 * MICROS_PER_HOUR;
        assert_eq!(state(t0, last - MICROS_PER_MINUTE, last, RULES), SessionState::Active);
        assert_eq!(state(t0, last, last + 1, RULES), SessionState::LifetimeExpired);
    }
}
