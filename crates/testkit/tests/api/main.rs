//! One integration-test binary: every test starts the real server (TLS, real database) with a
//! fresh database, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activities;
mod audit_feeds;
mod audit_log;
mod audit_report;
mod audit_retention;
mod auth;
mod authorization;
mod authorization_matrix;
mod browser;
mod companies;
mod complaints;
mod contacts;
mod custom_fields;
mod dashboard;
mod deals;
mod encryption;
mod export_approvals;
mod feedback;
mod identity;
mod leads;
mod metrics;
mod mfa_policy;
mod monitoring;
mod orders;
mod passkeys;
mod passwords;
mod policies;
mod record_authorization;
mod search;
mod second_factors;
mod security_activity;
mod sso;
mod startup;
mod tasks;
mod throttling;
mod tokens;
mod transfer;
mod ui;
mod ui_account;
mod ui_activities;
mod ui_custom_fields;
mod ui_dashboard;
mod ui_deals;
mod ui_feedback;
mod ui_identity;
mod ui_leads;
mod ui_orders;
mod ui_policies;
mod ui_tasks;
mod ui_transfer;
mod users;
