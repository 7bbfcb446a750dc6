//! The rules of the region's operating policy (くまねっと運用ポリシー), written once.
//!
//! No HTTP, no SQL, no clock and no random numbers live here: time comes in as an argument
//! (microseconds since the Unix epoch, UTC) so every rule can be tested with any "now".
//! A newcomer finds a rule by its requirement id: `grep -rn R8.1 crates/kumanet-core`.

#[macro_use]
mod macros;

pub mod audit;
pub mod authz;
pub mod people;
pub mod policy;
pub mod problem;
pub mod secret;

/// Microseconds since the Unix epoch, UTC. Every timestamp in storage is one of these.
pub type Micros = i64;

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
pub const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
