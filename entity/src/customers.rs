//! `customers` table.

use sea_orm::entity::prelude::*;

/// An end customer that deals are about.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Normalized name (lowercased, accents stripped) for search and matching.
    pub name_norm: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    /// Normalized city for matching.
    pub city_norm: String,
    /// State, province or other region.
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Nine-digit D-U-N-S number.
    pub duns: Option<String>,
    pub website: Option<String>,
    /// Organization that first entered this customer, if known.
    pub created_by_organization_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
