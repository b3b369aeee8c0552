//! One migration set for both backends, embedded in the binary and applied at start.
//! Migrations are append-only: never edit one that has shipped; add a new one. Each names
//! itself explicitly (the derived name is the file's, the same for all of them).

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_deals::Migration),
            Box::new(m0003_leads::Migration),
            Box::new(m0004_activities::Migration),
            Box::new(m0005_tasks::Migration),
            Box::new(m0006_purchases::Migration),
            Box::new(m0007_feedback::Migration),
            Box::new(m0008_custom_fields::Migration),
            Box::new(m0009_dashboard_indexes::Migration),
            Box::new(m0010_saved_views::Migration),
            Box::new(m0011_compact_index_tables::Migration),
            Box::new(m0012_second_factors::Migration),
            Box::new(m0013_auth_throttles::Migration),
            Box::new(m0014_user_attributes::Migration),
            Box::new(m0015_mfa_requirements::Migration),
            Box::new(m0016_token_scopes::Migration),
            Box::new(m0017_verified_channels::Migration),
            Box::new(m0018_passkeys::Migration),
            Box::new(m0019_security_events::Migration),
            Box::new(m0020_sso_logins::Migration),
            Box::new(m0021_security_event_networks::Migration),
            Box::new(m0022_authorization::Migration),
            Box::new(m0023_record_access::Migration),
            Box::new(m0024_policy_versions::Migration),
            Box::new(m0025_export_requests::Migration),
            Box::new(m0026_audit_log::Migration),
            Box::new(m0027_monitoring::Migration),
            Box::new(m0028_audit_retention::Migration),
        ]
    }
}

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}

fn id(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.uuid().not_null();
    c
}

fn millis(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().not_null();
    c
}

fn millis_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().null();
    c
}

fn blob(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.blob().not_null();
    c
}

fn blob_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.blob().null();
    c
}

fn text(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.text().not_null();
    c
}

fn text_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.text().null();
    c
}

fn t(name: &str) -> Alias {
    Alias::new(name)
}

fn pk(cols: &[&str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    for c in cols {
        idx.col(t(c));
    }
    idx
}

fn fk(
    from_table: &str,
    from_col: &str,
    to_table: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(t(from_table), t(from_col))
        .to(t(to_table), t("id"))
        .on_delete(on_delete)
        .to_owned()
}

fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(t(table));
    for c in cols {
        idx.col(t(c));
    }
    idx.to_owned()
}

mod m0001_initial;
mod m0002_deals;
mod m0003_leads;
mod m0004_activities;
mod m0005_tasks;
mod m0006_purchases;
mod m0007_feedback;
mod m0008_custom_fields;
mod m0009_dashboard_indexes;
mod m0010_saved_views;
mod m0011_compact_index_tables;
mod m0012_second_factors;
mod m0013_auth_throttles;
mod m0014_user_attributes;
mod m0015_mfa_requirements;
mod m0016_token_scopes;
mod m0017_verified_channels;
mod m0018_passkeys;
mod m0019_security_events;
mod m0020_sso_logins;
mod m0021_security_event_networks;
mod m0022_authorization;
mod m0023_record_access;
mod m0024_policy_versions;
mod m0025_export_requests;
mod m0026_audit_log;
mod m0027_monitoring;
mod m0028_audit_retention;
