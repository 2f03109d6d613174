//! Appending to the event log inside a writing transaction. Event numbers come from a
//! one-row counter taken as the last step before commit, so number order is commit
//! order and a reader that saw number n never later finds a smaller one appear.
use chrono::{DateTime, Utc};
use entity::{event_visibility, events};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::event::EventKind;
use crate::store::Sql;

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
    pub payload: Value,
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
    let mut seqs = Vec::with_capacity(drafts.len());
    let mut rows = Vec::with_capacity(drafts.len());
    let mut vis = Vec::new();
    for (i, d) in drafts.into_iter().enumerate() {
        let seq = first + i as i64;
        seqs.push(seq);
        let mut orgs = d.visible_to;
        orgs.sort();
        orgs.dedup();
        vis.extend(orgs.into_iter().map(|organization_id| {
            event_visibility::ActiveModel::from(event_visibility::Model {
                organization_id,
                event_seq: seq,
            })
        }));
        rows.push(events::ActiveModel::from(events::Model {
            seq,
            id: Uuid::now_v7(),
            kind: d.kind.as_str().to_owned(),
            occurred_at: now,
            actor_user_id: d.actor_user,
            actor_organization_id: d.actor_organization,
            engagement_id: Some(d.engagement),
            opportunity_id: d.opportunity,
            payload: d.payload,
        }));
    }
    events::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    if !vis.is_empty() {
        event_visibility::Entity::insert_many(vis)
            .exec_without_returning(txn)
            .await?;
    }
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Delivered at commit: wakes the event pumps of the other instances.
        txn.execute_unprepared(&format!("NOTIFY {}", crate::events::bus::CHANNEL))
            .await?;
    }
    Ok(seqs)
}
