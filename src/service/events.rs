//! Appending to the event log inside a writing transaction. Event numbers come from a
//! one-row counter taken as the last step before commit, so number order is commit
//! order and a reader that saw number n never later finds a smaller one appear.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};
use uuid::Uuid;

use super::bulk::{self, Col, Fixed};
use crate::domain::event::EventKind;
use crate::store::Sql;

/// How many columns of `events` [`EVENT_COLS`] names: `seq`, then a draft's values.
const EVENT_COLUMNS: usize = 8;

/// The columns of `events` written per row (`occurred_at` is the same for all).
const EVENT_COLS: [Col; EVENT_COLUMNS] = [
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
    if txn.get_database_backend() == DbBackend::Sqlite && drafts.len() <= FUSED_MAX {
        return append_fused(txn, now, drafts).await;
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
        let (values, orgs) = event_row(d);
        for organization_id in orgs {
            vis_org.push(Value::from(organization_id));
            vis_seq.push(Value::from(seq));
        }
        ev[0].push(seq.into());
        for (column, v) in ev[1..].iter_mut().zip(values) {
            column.push(v);
        }
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
    if txn.get_database_backend() == DbBackend::Postgres {
        // Delivered at commit: wakes the event pumps of the other instances.
        txn.execute_unprepared(&format!("NOTIFY {}", crate::events::bus::CHANNEL))
            .await?;
    }
    Ok(seqs)
}

/// A draft's values for [`EVENT_COLS`] after `seq`, in their order, and the
/// organizations that see it, each once: what both ways of appending write.
fn event_row(d: EventDraft) -> ([Value; EVENT_COLUMNS - 1], Vec<Uuid>) {
    let mut orgs = d.visible_to;
    orgs.sort();
    orgs.dedup();
    let values = [
        Uuid::now_v7().into(),
        d.kind.as_str().into(),
        d.actor_user.into(),
        d.actor_organization.into(),
        d.engagement.into(),
        d.opportunity.into(),
        Value::Json(Some(Box::new(d.payload))),
    ];
    (values, orgs)
}

/// The most events [`append_fused`] writes; a mutation writes one to three.
const FUSED_MAX: usize = 16;

/// [`append`] on SQLite as one call: the counter, the events and their visibility are
/// three statements of one text, each event numbered from the counter the first one
/// moved. The writer connection runs every call on its own thread, and mutations queue
/// for that one connection, so each call saved is a thread handoff less while the
/// others wait.
async fn append_fused<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    drafts: Vec<EventDraft>,
) -> Result<Vec<i64>, DbErr> {
    let n = drafts.len();
    let mut sql = Sql::new(DbBackend::Sqlite);
    sql.push("UPDATE event_counter SET last = last + ")
        .bind(n as i64)
        .push(" WHERE id = 1 RETURNING last; INSERT INTO events (")
        .push(
            &EVENT_COLS
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", "),
        )
        .push(", occurred_at) VALUES ");
    let mut visibility = Vec::with_capacity(2 * n);
    for (i, d) in drafts.into_iter().enumerate() {
        // Event i of n is number `last - (n - 1 - i)`, `last` as the counter now holds.
        let back = format!(
            "(SELECT last FROM event_counter WHERE id = 1) - {}",
            n - 1 - i
        );
        let (values, orgs) = event_row(d);
        sql.push(if i == 0 { "(" } else { ", (" }).push(&back);
        for v in values {
            sql.push(", ").bind(v);
        }
        sql.push(", ").bind(now).push(")");
        visibility.extend(orgs.into_iter().map(|o| (o, back.clone())));
    }
    for (i, (organization_id, back)) in visibility.into_iter().enumerate() {
        sql.push(if i == 0 {
            "; INSERT INTO event_visibility (organization_id, event_seq) VALUES ("
        } else {
            ", ("
        })
        .bind(organization_id)
        .push(", ")
        .push(&back)
        .push(")");
    }
    let rows = txn.query_all_raw(sql.build()).await?;
    let row = rows
        .first()
        .ok_or_else(|| DbErr::RecordNotFound("event_counter".into()))?;
    let last: i64 = row.try_get("", "last")?;
    Ok((last - n as i64 + 1..=last).collect())
}
