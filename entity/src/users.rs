//! `users` table.

use sea_orm::entity::prelude::*;

/// A user of an organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// Email address, unique across all users.
    #[sea_orm(unique)]
    pub email: String,
    /// Comma-separated role names.
    /// Phone in international form; used when the user joins a team by itself.
    pub phone: Option<String>,
    pub roles: String,
    /// Preferred BCP 47 language tag, if any.
    pub locale: Option<String>,
    /// Whether the user wants email notifications.
    pub notifications_enabled: bool,
    /// Whether the user may still sign in.
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
