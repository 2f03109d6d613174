//! Reading the event log in number order.
use std::collections::HashMap;

use entity::{event_visibility, events};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// An event with the organizations allowed to see it.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub event: events::Model,
    pub visible_to: Vec<Uuid>,
}

impl LoggedEvent {
    pub fn seq(&self) -> i64 {
        self.event.seq
    }
}

/// The newest committed event number (0 for an empty log).
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(entity::event_counter::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|c| c.last)
        .unwrap_or(0))
}

/// Up to `limit` events after `after`, in order, with their audiences.
pub async fn read_after<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<LoggedEvent>, DbErr> {
    let rows = events::Entity::find()
        .filter(events::Column::Seq.gt(after))
        .order_by_asc(events::Column::Seq)
        .limit(limit)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let seqs: Vec<i64> = rows.iter().map(|e| e.seq).collect();
    let vis = event_visibility::Entity::find()
        .filter(event_visibility::Column::EventSeq.is_in(seqs))
        .all(db)
        .await?;
    let mut by_seq: HashMap<i64, Vec<Uuid>> = HashMap::new();
    for v in vis {
        by_seq
            .entry(v.event_seq)
            .or_default()
            .push(v.organization_id);
    }
    Ok(rows
        .into_iter()
        .map(|event| LoggedEvent {
            visible_to: by_seq.remove(&event.seq).unwrap_or_default(),
            event,
        })
        .collect())
}
