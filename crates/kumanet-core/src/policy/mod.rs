//! The policy's rules, one module per subject.

pub mod directory;
pub mod login;
pub mod naming;
pub mod notice;
pub mod password;
pub mod patient;
pub mod post;
pub mod session;
pub mod settings;
