//! `team_members` table.

use sea_orm::entity::prelude::*;

/// A member of an opportunity's deal team.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "team_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub name: String,
    pub phone: String,
    pub email: String,
    /// Normalized (lowercased) email for matching.
    pub email_norm: String,
    /// Whether the member receives notifications about the opportunity.
    pub notify: bool,
    /// Display order within the team, starting at 0.
    pub position: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
