//! Expiry of unanswered invitations, set-based and in bounded batches: one conditional
//! `UPDATE ... RETURNING` moves due `RECEIVED` opportunities to `EXPIRED`, and only the
//! rows it returned get events, so two sweeping instances never expire one invitation
//! twice, and a concurrent accept either wins or finds the stage moved.
use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult};
use serde_json::json;
use uuid::Uuid;

use super::Deps;
use super::bulk;
use super::events::{self, EventDraft};
use super::notify::{self, Notice, Swept};
use crate::db::begin_write;
use crate::domain::deal::InvitationStatus;
use crate::domain::event::EventKind;
use crate::error::AppError;
use crate::store::Sql;

/// The most invitations one batch expires or reminds: one transaction each.
pub const BATCH: i64 = 5000;

const _: () = assert!(BATCH as usize <= bulk::MAX_IN);

/// Batches run at once on PostgreSQL, one connection each (`SKIP LOCKED` keeps their
/// rows apart, the event counter keeps their numbers in commit order); SQLite has one
/// writer, so one.
const PG_WORKERS: usize = 2;

#[derive(Clone, Copy)]
enum Sweep {
    Expire,
    Remind,
}

/// Expires every due invitation, batch by batch. Returns how many expired.
pub async fn expire_due(deps: &Deps) -> Result<usize, AppError> {
    run(deps, Sweep::Expire).await
}

/// Runs batches until one comes back short, in [`PG_WORKERS`] tasks on PostgreSQL.
async fn run(deps: &Deps, sweep: Sweep) -> Result<usize, AppError> {
    let workers = match deps.writer.get_database_backend() {
        DbBackend::Postgres => PG_WORKERS,
        _ => 1,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let deps = deps.clone();
        tasks.spawn(async move {
            let mut total = 0;
            loop {
                let n = match sweep {
                    Sweep::Expire => expire_batch(&deps).await?,
                    Sweep::Remind => remind_batch(&deps).await?,
                };
                total += n;
                if n < BATCH as usize {
                    return Ok::<_, AppError>(total);
                }
            }
        });
    }
    let mut total = 0;
    let mut failed = None;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => failed = failed.or(Some(e)),
            Err(e) => failed = failed.or(Some(AppError::Internal(e.into()))),
        }
    }
    failed.map_or(Ok(total), Err)
}

/// `SELECT id FROM opportunities WHERE <cond> ORDER BY expires_at LIMIT BATCH`, the rows
/// locked on PostgreSQL and those another sweep holds skipped, so two sweeping
/// instances work on different rows instead of queueing behind each other. The outer
/// `UPDATE` repeats `cond`, so a row that moved meanwhile is left alone either way.
fn pick(sql: &mut Sql, cond: impl Fn(&mut Sql)) {
    let pg = sql.backend() == DbBackend::Postgres;
    // On PostgreSQL `= ANY(ARRAY(…))` makes the update look its rows up by key; with
    // `IN (…)` the planner joins against every due row, once per batch.
    sql.push(if pg {
        " AND id = ANY(ARRAY(SELECT id FROM opportunities WHERE "
    } else {
        " AND id IN (SELECT id FROM opportunities WHERE "
    });
    cond(sql);
    sql.push(" ORDER BY expires_at LIMIT ").bind(BATCH);
    if pg {
        sql.push(" FOR UPDATE SKIP LOCKED)");
    }
    sql.push(") RETURNING id, engagement_id, organization_id, invitation_id");
}

async fn expire_batch(deps: &Deps) -> Result<usize, AppError> {
    let now = deps.clock.now();
    let txn = begin_write(&deps.writer).await?;
    let mut sql = Sql::new(txn.get_database_backend());
    let due = |sql: &mut Sql| {
        sql.push("stage = 'RECEIVED' AND expires_at <= ").bind(now);
    };
    sql.push("UPDATE opportunities SET stage = 'EXPIRED', closed_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(", version = version + 1 WHERE ");
    due(&mut sql);
    pick(&mut sql, due);
    let started = std::time::Instant::now();
    let rows = txn.query_all_raw(sql.build()).await?;
    let claimed = started.elapsed();
    let drafts = announce(&txn, &rows, Notice::Expired, now).await?;
    let announced = started.elapsed();
    events::append(&txn, now, drafts).await?;
    let appended = started.elapsed();
    txn.commit().await?;
    tracing::debug!(
        rows = rows.len(),
        claim_ms = claimed.as_millis() as u64,
        announce_ms = (announced - claimed).as_millis() as u64,
        events_ms = (appended - announced).as_millis() as u64,
        commit_ms = (started.elapsed() - appended).as_millis() as u64,
        "sweep: expired a batch"
    );
    if !rows.is_empty() {
        deps.bus.wake();
    }
    Ok(rows.len())
}

/// For the opportunities a sweep returned: marks their invitations expired (for an
/// expiry), queues the emails (rendered at delivery), and drafts the event of each for
/// both sides; a few statements for the whole batch.
async fn announce(
    txn: &DatabaseTransaction,
    rows: &[QueryResult],
    notice: Notice,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<EventDraft>, AppError> {
    let (kind, expiring) = match notice {
        Notice::Expired => (EventKind::InvitationExpired, true),
        _ => (EventKind::InvitationExpiringSoon, false),
    };
    let mut swept = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let engagement: Uuid = row.try_get("", "engagement_id")?;
        let invitee: Uuid = row.try_get("", "organization_id")?;
        let invitation: Option<Uuid> = row.try_get("", "invitation_id")?;
        swept.push((id, engagement, invitee, invitation));
    }
    let ids: Vec<Uuid> = swept.iter().filter_map(|s| s.3).collect();
    // The invitations come back from the update that expires them; any that it did not
    // change (not pending: never, while the data is consistent) are read.
    let mut invs: HashMap<Uuid, Swept> = HashMap::with_capacity(ids.len());
    if expiring && !ids.is_empty() {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("UPDATE invitations SET status = ")
            .bind(InvitationStatus::Expired.as_str())
            .push(", answered_at = ")
            .bind(now)
            .push(" WHERE status = ")
            .bind(InvitationStatus::Pending.as_str())
            .push(" AND id");
        bulk::push_in(&mut sql, &ids);
        sql.push(" RETURNING ").push(notify::SWEPT_COLUMNS);
        for row in txn.query_all_raw(sql.build()).await? {
            let f = Swept::from_row(&row)?;
            invs.insert(f.id, f);
        }
    }
    let rest: Vec<Uuid> = ids
        .iter()
        .filter(|i| !invs.contains_key(i))
        .copied()
        .collect();
    for f in Swept::load(txn, &rest).await? {
        invs.insert(f.id, f);
    }
    let ordered: Vec<Swept> = ids.iter().filter_map(|i| invs.remove(i)).collect();
    notify::invitations_deferred(txn, &ordered, &notice, now).await?;
    let inviters: HashMap<Uuid, Uuid> = ordered.iter().map(|i| (i.id, i.inviter)).collect();
    Ok(swept
        .into_iter()
        .map(|(id, engagement, invitee, invitation)| {
            let mut sides = vec![invitee];
            sides.extend(invitation.and_then(|i| inviters.get(&i).copied()));
            EventDraft {
                kind,
                actor_user: None,
                actor_organization: None,
                engagement,
                opportunity: Some(id),
                visible_to: sides,
                payload: json!({ "invitationId": invitation }),
            }
        })
        .collect())
}

/// Reminds the invitee's admins of every received invitation whose window ends within
/// `deps.reminder_before`, once: the conditional update on `reminded_at` picks each
/// opportunity for exactly one sweep, whichever instance runs it. Returns how many.
pub async fn remind_due(deps: &Deps) -> Result<usize, AppError> {
    run(deps, Sweep::Remind).await
}

async fn remind_batch(deps: &Deps) -> Result<usize, AppError> {
    let now = deps.clock.now();
    let horizon = now + deps.reminder_before;
    let txn = begin_write(&deps.writer).await?;
    let mut sql = Sql::new(txn.get_database_backend());
    let due = |sql: &mut Sql| {
        sql.push("stage = 'RECEIVED' AND reminded_at IS NULL AND expires_at > ")
            .bind(now)
            .push(" AND expires_at <= ")
            .bind(horizon);
    };
    sql.push("UPDATE opportunities SET reminded_at = ")
        .bind(now)
        .push(" WHERE ");
    due(&mut sql);
    pick(&mut sql, due);
    let rows = txn.query_all_raw(sql.build()).await?;
    let drafts = announce(&txn, &rows, Notice::ExpiringSoon, now).await?;
    events::append(&txn, now, drafts).await?;
    txn.commit().await?;
    if !rows.is_empty() {
        deps.bus.wake();
    }
    Ok(rows.len())
}

/// Sweeps every `interval`: expires due invitations, then sends due reminders. Stops
/// when `stop` turns true.
pub fn spawn_sweeper(
    deps: Deps,
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = tick.tick() => {},
                _ = stop.changed() => return,
            }
            metrics::counter!("cosell_sweeps_total").increment(1);
            match expire_due(&deps).await {
                Ok(n) => metrics::counter!("cosell_invitations_expired_total").increment(n as u64),
                Err(e) => tracing::warn!(error = ?e, "sweep: expiring"),
            }
            if let Err(e) = remind_due(&deps).await {
                tracing::warn!(error = ?e, "sweep: reminding");
            }
        }
    })
}
