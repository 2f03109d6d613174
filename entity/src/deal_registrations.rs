//! `deal_registrations` table.

use sea_orm::entity::prelude::*;

/// A registration of a won deal by an organization, for review.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_registrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub opportunity_id: Uuid,
    /// Registering organization.
    pub organization_id: Uuid,
    /// Registration status name (up to 16 chars).
    pub status: String,
    /// Registered solution ids (JSON array of UUIDs).
    pub solution_ids: Json,
    pub purchase_date: Date,
    /// Money in ten-thousandths of the currency unit.
    pub value_e4: i64,
    /// ISO 4217 currency code of `value_e4`.
    pub currency: String,
    pub purchasing_customer_id: Uuid,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// Supporting links (JSON array of URL strings).
    pub links: Json,
    /// Reviewer's question to the registrant, if any.
    #[sea_orm(column_type = "Text", nullable)]
    pub question: Option<String>,
    /// Registrant's answer to the question, if any.
    #[sea_orm(column_type = "Text", nullable)]
    pub answer: Option<String>,
    /// Reviewer's reason for the decision.
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_reason: Option<String>,
    pub decided_by_user_id: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    /// Optimistic-concurrency version, bumped on every update.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
