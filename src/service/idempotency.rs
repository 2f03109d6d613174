//! Idempotency keys: `(organization, key) -> (request hash, result)`, claimed inside the
//! creating transaction. A repeat with the same request returns the first result; a
//! different request under the same key is refused.
use chrono::{DateTime, Utc};
use entity::idempotency_keys;
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::error::{AppError, UserError, UserErrorCode};

/// The longest key accepted.
pub const MAX_KEY: usize = 200;

/// What a key lookup found.
pub enum Claim {
    /// The key is new: it is now claimed for `result_id` (inside the transaction).
    Fresh,
    /// The same request ran before and produced this.
    Replay(Uuid),
}

/// Checks the key's shape.
pub fn check_key(key: Option<&str>, field: &[&str]) -> Result<Option<String>, AppError> {
    match key.map(str::trim) {
        None => Ok(None),
        Some(k) if !k.is_empty() && k.len() <= MAX_KEY => Ok(Some(k.to_owned())),
        Some(_) => Err(UserError::new(
            UserErrorCode::BadUserInput,
            format!("idempotencyKey must be 1 to {MAX_KEY} characters"),
            field,
        )
        .into()),
    }
}

/// Looks `key` up for `organization`; claims it for `result_id` when it is new.
pub async fn claim<C: ConnectionTrait>(
    txn: &C,
    organization: Uuid,
    key: &str,
    kind: &str,
    hash: &str,
    result_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Claim, AppError> {
    let found = idempotency_keys::Entity::find_by_id((organization, key.to_owned()))
        .one(txn)
        .await?;
    match found {
        Some(row) if row.request_hash == hash && row.result_kind == kind => {
            Ok(Claim::Replay(row.result_id))
        }
        Some(_) => Err(UserError::new(
            UserErrorCode::IdempotencyKeyReused,
            "this idempotency key was used before with a different request",
            &["input", "idempotencyKey"],
        )
        .into()),
        None => {
            idempotency_keys::Entity::insert(idempotency_keys::ActiveModel::from(
                idempotency_keys::Model {
                    organization_id: organization,
                    key: key.to_owned(),
                    request_hash: hash.to_owned(),
                    result_kind: kind.to_owned(),
                    result_id,
                    created_at: now,
                },
            ))
            .exec_without_returning(txn)
            .await?;
            Ok(Claim::Fresh)
        }
    }
}
