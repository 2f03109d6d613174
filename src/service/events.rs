//! Appending to the event log inside a writing transaction. Event numbers come from a
//! one-row counter taken as the last step before commit, so number order is commit
//! order and a reader that saw number n never later finds a smaller one appear.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbErr, Value};
use uuid::Uuid;

use super::bulk::{self, Col, Fixed};
use crate::domain::event::EventKind;
use crate::store::Sql;

/// The columns of `events` written per row (`occurred_at` is the same for all).
const EVENT_COLS: [Col; 8] = [
    Col::new("seq", ArrayType::BigInt, "int8"),
    Col::new("id", ArrayType::Uuid, "uuid"),
    Col::new("kind", ArrayType::String, "text"),
    Col::nullable_uuid("actor_user_id"),
    Col::nullable_uuid("actor_organization_id"),
    Col::new("engagement_id", ArrayType::Uuid, "uuid"),
    Col::nullable_uuid("opportunity_id"),
    Col::new("payload", ArrayType::Json, "jsonb"),
];

const VISIBILITY_COLS: [Col; 2] = [
    Col::new("organization_id", ArrayType::Uuid, "uuid"),
    Col::new("event_seq", ArrayType::BigInt, "int8"),
];

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub kind: EventKind,
    pub actor_user: Option<Uuid>,
    pub actor_organization: Option<Uuid>,
    pub engagement: Uuid,
    pub opportunity: Option<Uuid>,
    /// The organizations allowed to see it.
    pub visible_to: Vec<Uuid>,
    pub payload: serde_json::Value,
}

/// Writes `drafts` with consecutive numbers; call it last, just before commit.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    drafts: Vec<EventDraft>,
) -> Result<Vec<i64>, DbErr> {
    if drafts.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("UPDATE event_counter SET last = last + ")
        .bind(drafts.len() as i64)
        .push(" WHERE id = 1 RETURNING last");
    let row = txn
        .query_one_raw(sql.build())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("event_counter".into()))?;
    let last: i64 = row.try_get("", "last")?;
    let first = last - drafts.len() as i64 + 1;
    let n = drafts.len();
    let mut seqs = Vec::with_capacity(n);
    let mut ev: Vec<Vec<Value>> = (0..EVENT_COLS.len())
        .map(|_| Vec::with_capacity(n))
        .collect();
    let (mut vis_org, mut vis_seq) = (Vec::with_capacity(2 * n), Vec::with_capacity(2 * n));
    for (i, d) in drafts.into_iter().enumerate() {
        let seq = first + i as i64;
        seqs.push(seq);
        let mut orgs = d.visible_to;
        orgs.sort();
        orgs.dedup();
        for organization_id in orgs {
            vis_org.push(Value::from(organization_id));
            vis_seq.push(Value::from(seq));
        }
        ev[0].push(seq.into());
        ev[1].push(Uuid::now_v7().into());
        ev[2].push(d.kind.as_str().into());
        ev[3].push(d.actor_user.into());
        ev[4].push(d.actor_organization.into());
        ev[5].push(d.engagement.into());
        ev[6].push(d.opportunity.into());
        ev[7].push(Value::Json(Some(Box::new(d.payload))));
    }
    bulk::insert(
        txn,
        "events",
        &EVENT_COLS,
        ev,
        &[("occurred_at", Fixed::Bind(now.into()))],
    )
    .await?;
    bulk::insert(
        txn,
        "event_visibility",
        &VISIBILITY_COLS,
        vec![vis_org, vis_seq],
        &[],
    )
    .await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Delivered at commit: wakes the event pumps of the other instances.
        txn.execute_unprepared(&format!("NOTIFY {}", crate::events::bus::CHANNEL))
            .await?;
    }
    Ok(seqs)
}
