//! The region's settings that the center configures (R11.2), with their bounds.

use serde::{Deserialize, Serialize};

use super::login::LockoutRules;
use super::password::MAX_AGE_DAYS_LIMIT;
use super::patient::FamilyRule;
use super::session::SessionRules;
use crate::{MICROS_PER_HOUR, MICROS_PER_MINUTE};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    /// The region's name, shown on every page.
    pub region_name: String,
    /// R8.4: minutes without a request before a session ends (1–60, default 15).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 60))]
    pub idle_timeout_minutes: u32,
    /// R8.4: hours after login when a session ends anyway (1–24, default 12).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 24))]
    pub session_lifetime_hours: u32,
    /// R8.1: days before an 8–12 character password expires (1–60, default 60).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 60))]
    pub password_max_age_days: u32,
    /// R8.6: failures that lock an ID against the browsers its user has not logged in on, or lock
    /// one known device (3–100, default 10).
    #[cfg_attr(feature = "openapi", schema(minimum = 3, maximum = 100))]
    pub lockout_threshold: u32,
    /// R8.6: minutes a lock lasts (1–1440, default 15).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub lockout_minutes: u32,
    /// R5.3: the professionals' agreement a patient or family member needs to join (default: all).
    #[serde(default = "default_family_rule")]
    pub family_agreement: FamilyRule,
    /// R10.3: characters past which the composer advises brevity (100–5000, default 400).
    #[serde(default = "default_soft_limit")]
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 5000))]
    pub post_soft_limit: u32,
}

fn default_soft_limit() -> u32 {
    super::post::DEFAULT_SOFT_LIMIT
}

fn default_family_rule() -> FamilyRule {
    FamilyRule::All
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region_name: String::new(),
            idle_timeout_minutes: 15,
            session_lifetime_hours: 12,
            password_max_age_days: MAX_AGE_DAYS_LIMIT,
            lockout_threshold: 10,
            lockout_minutes: 15,
            family_agreement: FamilyRule::All,
            post_soft_limit: super::post::DEFAULT_SOFT_LIMIT,
        }
    }
}

/// A setting out of its bounds: the field and a Japanese reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub field: &'static str,
    pub problem: crate::problem::Problem,
}

impl Settings {
    /// R11.2: every setting within its bounds (R8.1: never longer than 60 days).
    pub fn validate(&self) -> Result<(), Vec<SettingError>> {
        let mut errors = Vec::new();
        let mut range = |field: &'static str, v: u32, lo: u32, hi: u32| {
            if !(lo..=hi).contains(&v) {
                errors.push(SettingError { field, problem: crate::problem::Problem::OutOfRange { lo, hi } });
            }
        };
        range("idle_timeout_minutes", self.idle_timeout_minutes, 1, 60);
        range("session_lifetime_hours", self.session_lifetime_hours, 1, 24);
        range("password_max_age_days", self.password_max_age_days, 1, MAX_AGE_DAYS_LIMIT);
        range("lockout_threshold", self.lockout_threshold, 3, 100);
        range("lockout_minutes", self.lockout_minutes, 1, 1440);
        range("post_soft_limit", self.post_soft_limit, 100, 5000);
        if let Err(problem) = crate::problem::check_text(&self.region_name, 64, false) {
            errors.push(SettingError { field: "region_name", problem });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn session_rules(&self) -> SessionRules {
        SessionRules {
            idle_us: i64::from(self.idle_timeout_minutes) * MICROS_PER_MINUTE,
            absolute_us: i64::from(self.session_lifetime_hours) * MICROS_PER_HOUR,
        }
    }

    pub fn lockout_rules(&self) -> LockoutRules {
        LockoutRules { threshold: self.lockout_threshold, lock_minutes: self.lockout_minutes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r11_2_r8_1_password_age_never_above_sixty_days() {
        let mut s = Settings { region_name: "熊谷市".into(), ..Settings::default() };
        assert!(s.validate().is_ok());
        s.password_max_age_days = 61;
        let errs = s.validate().unwrap_err();
        assert_eq!(errs[0].field, "password_max_age_days");
        s.password_max_age_days = 60;
        s.idle_timeout_minutes = 0;
        assert_eq!(s.validate().unwrap_err()[0].field, "idle_timeout_minutes");
    }

    #[test]
    fn r8_4_default_idle_is_fifteen_minutes() {
        assert_eq!(Settings::default().session_rules().idle_us, 15 * MICROS_PER_MINUTE);
    }
}
