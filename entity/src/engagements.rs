//! `engagements` table.

use sea_orm::entity::prelude::*;

/// A co-sell engagement: one customer deal shared by the participants' opportunities.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "engagements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    /// Organization that created the engagement.
    pub originator_id: Uuid,
    /// Deal type name (up to 24 chars).
    pub deal_type: String,
    /// Kind of help wanted from partners (up to 32 chars).
    pub help_wanted: String,
    /// Customer contact's name.
    pub contact_name: Option<String>,
    /// Customer contact's phone.
    pub contact_phone: Option<String>,
    /// Customer contact's email.
    pub contact_email: Option<String>,
    /// Whether the customer consented to sharing the contact details.
    pub contact_consent: bool,
    /// When Microsoft was invited to the engagement, if it was.
    pub microsoft_invited_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
