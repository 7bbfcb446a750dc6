//! Kumanet's integration suite: one binary, each test with its own server on 127.0.0.1 and its own
//! database, on SQLite and on PostgreSQL (when KUMANET_TEST_POSTGRES_URL is set; CI requires it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod helpers;

mod accounts;
mod api_patients;
mod audit;
mod authz_matrix;
mod boards;
mod browser;
mod browser_boards;
mod browser_directory;
mod browser_patients;
mod browser_posts;
mod cli;
mod directory;
mod durability;
mod facilities;
mod limits;
mod mail;
mod media;
mod openapi_check;
mod patients;
mod patients_matrix;
mod posts;
mod schema;
mod system;
