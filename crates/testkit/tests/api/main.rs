//! One integration-test binary: every test starts the real server (TLS, real database) with a
//! fresh database, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activities;
mod auth;
mod browser;
mod companies;
mod contacts;
mod dashboard;
mod deals;
mod encryption;
mod leads;
mod orders;
mod startup;
mod tasks;
mod transfer;
mod ui;
mod ui_activities;
mod ui_dashboard;
mod ui_deals;
mod ui_leads;
mod ui_orders;
mod ui_tasks;
mod ui_transfer;
