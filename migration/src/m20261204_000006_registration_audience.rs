//! Registration events written before Microsoft's side of their audience followed the
//! engagement: each was shown to Microsoft's organization whether or not Microsoft had an
//! opportunity in the engagement, so Microsoft's admins saw steps of private and
//! partner-to-partner deals. Microsoft's registration reviewers receive these events by
//! their role, not through this table; the rows this step deletes are the ones no
//! Microsoft user may see through it any longer. Data only: `down` restores nothing, as
//! the deleted rows were never right.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "DELETE FROM event_visibility \
                 WHERE organization_id IN (SELECT id FROM organizations WHERE kind = 'MICROSOFT') \
                 AND EXISTS (SELECT 1 FROM events e \
                   WHERE e.seq = event_visibility.event_seq \
                   AND e.kind IN ('REGISTRATION_SUBMITTED', 'REGISTRATION_INFO_REQUESTED', \
                     'REGISTRATION_ANSWERED', 'REGISTRATION_APPROVED', \
                     'REGISTRATION_REJECTED', 'REGISTRATION_WITHDRAWN') \
                   AND NOT EXISTS (SELECT 1 FROM opportunities o \
                     WHERE o.engagement_id = e.engagement_id \
                     AND o.organization_id = event_visibility.organization_id))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
