//! One partial index per list tab, on `(organization_id, created_at, id)` and holding only
//! the rows of that tab: a tab's newest-first page is a short walk down its index, and
//! its count an index-only scan, on both databases. They replace `opportunities_tab`,
//! whose two stages per tab forced a sort of the whole tab.
//!
//! The predicates are the tabs' conditions as the list query writes them (without its
//! `o.` alias); a test in `store::opportunity_list` keeps the two the same, as both
//! databases use a partial index only when the query repeats its condition.
use sea_orm_migration::prelude::*;

/// `(index name, predicate)` for the INBOUND, OUTBOUND and ARCHIVED tabs.
pub const TAB_INDEXES: [(&str, &str); 3] = [
    (
        "opportunities_inbound_tab",
        "direction = 'INBOUND' AND stage IN ('RECEIVED', 'ACCEPTED')",
    ),
    (
        "opportunities_outbound_tab",
        "direction = 'OUTBOUND' AND stage = 'ACCEPTED'",
    ),
    (
        "opportunities_archived_tab",
        "stage IN ('WON', 'LOST', 'DECLINED', 'EXPIRED')",
    ),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, predicate) in TAB_INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON opportunities (organization_id, created_at, id) WHERE {predicate}"
            ))
            .await?;
        }
        m.drop_index(
            Index::drop()
                .name("opportunities_tab")
                .table("opportunities")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, _) in TAB_INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        m.create_index(
            Index::create()
                .name("opportunities_tab")
                .table("opportunities")
                .col("organization_id")
                .col("direction")
                .col("stage")
                .col("created_at")
                .col("id")
                .take(),
        )
        .await
    }
}
