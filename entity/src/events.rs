//! `events` table.

use sea_orm::entity::prelude::*;

/// An entry of the event log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Sequence number from `event_counter`; order is commit order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// Public, unique event id.
    #[sea_orm(unique)]
    pub id: Uuid,
    /// Event kind name (up to 40 chars).
    pub kind: String,
    pub occurred_at: DateTimeUtc,
    /// User who caused the event, if any.
    pub actor_user_id: Option<Uuid>,
    /// Organization of the acting user, if any.
    pub actor_organization_id: Option<Uuid>,
    pub engagement_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    /// Kind-specific event details (JSON object).
    pub payload: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
