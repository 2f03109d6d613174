//! `opportunities` table.

use sea_orm::entity::prelude::*;

/// One organization's side of an engagement.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub engagement_id: Uuid,
    /// Organization that owns this opportunity.
    pub organization_id: Uuid,
    /// Whether the opportunity is inbound or outbound (up to 8 chars).
    pub direction: String,
    /// Pipeline stage name (up to 10 chars).
    pub stage: String,
    pub deal_name: String,
    /// Normalized deal name for search.
    pub deal_name_norm: String,
    /// Deal name, notes and CRM ID, normalized: what list search looks through.
    #[sea_orm(column_type = "Text")]
    pub search_norm: String,
    /// Money in ten-thousandths of the currency unit.
    pub value_e4: Option<i64>,
    /// ISO 4217 currency code of `value_e4`.
    pub currency: Option<String>,
    /// Expected close date.
    pub close_date: Option<Date>,
    /// Identifier in the organization's own CRM.
    pub crm_id: Option<String>,
    /// Marketing campaign identifier.
    pub campaign_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// Invitation this opportunity was created from, for invited opportunities.
    pub invitation_id: Option<Uuid>,
    /// When a pending opportunity expires unless acted on.
    pub expires_at: Option<DateTimeUtc>,
    /// When the expiry reminder was sent.
    pub reminded_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    /// Why the opportunity was closed (up to 32 chars).
    pub close_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub close_notes: Option<String>,
    /// Optimistic-concurrency version, bumped on every update.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
