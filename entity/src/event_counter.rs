//! `event_counter` table.

use sea_orm::entity::prelude::*;

/// The one-row counter handing out event numbers in commit order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_counter")]
pub struct Model {
    /// Always 1: the table holds a single row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// Last event sequence number handed out.
    pub last: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
