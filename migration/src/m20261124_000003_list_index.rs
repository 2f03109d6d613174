//! The list tabs filter an organization's opportunities by direction and stage in
//! creation order: one index serves the filter, the order and the count.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
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

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("opportunities_tab")
                .table("opportunities")
                .to_owned(),
        )
        .await
    }
}
