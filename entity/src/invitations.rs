//! `invitations` table.

use sea_orm::entity::prelude::*;

/// An invitation from one organization to another to join an engagement.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub inviter_organization_id: Uuid,
    pub inviter_user_id: Uuid,
    /// The inviter's opportunity in the engagement.
    pub inviter_opportunity_id: Uuid,
    pub invitee_organization_id: Uuid,
    /// The invitee's (pending) opportunity created for this invitation.
    pub invitee_opportunity_id: Uuid,
    /// Proposed close date.
    pub close_date: Option<Date>,
    /// Money in ten-thousandths of the currency unit.
    pub value_e4: Option<i64>,
    /// ISO 4217 currency code of `value_e4`.
    pub currency: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// Kind of help wanted from the invitee (up to 32 chars).
    pub help_wanted: String,
    /// Frozen copy of the inviter's team at sending time (JSON array).
    pub team: Json,
    /// Frozen copy of the proposed solution ids (JSON array of UUIDs).
    pub solution_ids: Json,
    /// Invitation status name (up to 10 chars).
    pub status: String,
    pub sent_at: DateTimeUtc,
    /// When the invitation lapses if unanswered.
    pub expires_at: DateTimeUtc,
    pub answered_at: Option<DateTimeUtc>,
    pub answered_by_user_id: Option<Uuid>,
    /// Why the invitation was declined (up to 32 chars).
    pub decline_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decline_notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
