//! `idempotency_keys` table.

use sea_orm::entity::prelude::*;

/// A client-supplied idempotency key and the result of the request that used it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// The client-supplied idempotency key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Hash of the request, to detect a key reused for a different request.
    pub request_hash: String,
    /// Kind of the created result (up to 32 chars).
    pub result_kind: String,
    /// Id of the created result.
    pub result_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
