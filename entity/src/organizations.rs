//! `organizations` table.

use sea_orm::entity::prelude::*;

/// A partner organization (or Microsoft itself) taking part in co-selling.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Normalized name (lowercased, accents stripped) for search.
    pub name_norm: String,
    /// Organization kind, e.g. partner or Microsoft (up to 16 chars).
    pub kind: String,
    /// External partner identifier, if any.
    pub partner_id: Option<String>,
    /// Whether the organization is ready to co-sell.
    pub co_sell_ready: bool,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
