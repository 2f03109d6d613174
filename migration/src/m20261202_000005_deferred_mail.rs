//! Two changes for the expiry sweep.
//!
//! - `email_outbox.invitation_id`: an email of a sweep's notices (expired, expiring
//!   soon) is queued as the recipient and the invitation it is about, with empty
//!   subject and bodies, and rendered by the outbox worker at delivery from that
//!   invitation's facts with the same templates (`email::deferred`). Rows rendered when
//!   queued leave it `NULL`.
//! - `opportunities_expiry` becomes a partial index on `expires_at` holding only the
//!   `RECEIVED` rows, the only ones both sweeps look for: an expiry then removes its row
//!   from the index instead of moving it (SQLite), and adds no entry for the new row
//!   version (PostgreSQL), and the index stays as small as the open invitations.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("email_outbox")
                .add_column(uuid_null("invitation_id"))
                .take(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("opportunities_expiry")
                .table("opportunities")
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX opportunities_received_expiry ON opportunities (expires_at) \
                 WHERE stage = 'RECEIVED'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX opportunities_received_expiry")
            .await?;
        m.create_index(
            Index::create()
                .name("opportunities_expiry")
                .table("opportunities")
                .col("stage")
                .col("expires_at")
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("email_outbox")
                .drop_column("invitation_id")
                .take(),
        )
        .await
    }
}
