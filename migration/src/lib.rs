//! The database schema of cosell, as SeaORM migrations: one file per step, never edited
//! after it has landed. Every step runs on SQLite and PostgreSQL alike.
pub use sea_orm_migration::prelude::*;

mod m20261124_000001_init;
mod m20261124_000002_tenant_links;
mod m20261124_000003_list_index;
mod m20261202_000004_tab_indexes;
mod m20261202_000005_deferred_mail;
mod m20261204_000006_registration_audience;

pub use m20261202_000004_tab_indexes::TAB_INDEXES;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_init::Migration),
            Box::new(m20261124_000002_tenant_links::Migration),
            Box::new(m20261124_000003_list_index::Migration),
            Box::new(m20261202_000004_tab_indexes::Migration),
            Box::new(m20261202_000005_deferred_mail::Migration),
            Box::new(m20261204_000006_registration_audience::Migration),
        ]
    }
}
