//! `solutions` table.

use sea_orm::entity::prelude::*;

/// A solution (product or service) published by an organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "solutions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Normalized name (lowercased, accents stripped) for search.
    pub name_norm: String,
    /// Organization that publishes the solution.
    pub publisher_id: Uuid,
    /// Whether the solution is co-sell ready.
    pub co_sell_ready: bool,
    /// Whether deals with this solution may be registered.
    pub registration_eligible: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
