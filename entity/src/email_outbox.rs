//! `email_outbox` table.

use sea_orm::entity::prelude::*;

/// An email waiting to be sent (or already sent) by the outbox worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `events.seq` of the event that caused this email, if any.
    pub event_seq: Option<i64>,
    /// Email kind name (up to 40 chars).
    pub kind: String,
    /// Recipient's organization, if known.
    pub organization_id: Option<Uuid>,
    pub recipient_email: String,
    pub recipient_name: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    #[sea_orm(column_type = "Text")]
    pub body_html: String,
    /// Delivery status name (up to 10 chars).
    pub status: String,
    /// Number of delivery attempts made so far.
    pub attempts: i32,
    /// Earliest time of the next delivery attempt.
    pub next_attempt_at: DateTimeUtc,
    /// A worker's claim on this row lasts until this time.
    pub lease_until: Option<DateTimeUtc>,
    /// Error of the last failed attempt.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The invitation an email of a sweep (expired, expiring soon) is about: its
    /// subject and bodies are empty here and rendered at delivery from this
    /// invitation's facts. `None` for emails rendered when queued.
    pub invitation_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
