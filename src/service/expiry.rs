//! Expiry of unanswered invitations, set-based and in bounded batches: one conditional
//! `UPDATE ... RETURNING` moves due `RECEIVED` opportunities to `EXPIRED`, and only the
//! rows it returned get events, so two sweeping instances never expire one invitation
//! twice, and a concurrent accept either wins or finds the stage moved.
use entity::invitations;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::Deps;
use super::events::{self, EventDraft};
use super::notify::{self, Notice};
use crate::db::begin_write;
use crate::domain::deal::InvitationStatus;
use crate::domain::event::EventKind;
use crate::error::AppError;
use crate::store::Sql;
use crate::store::deals as store;

/// The most invitations one batch expires.
pub const BATCH: i64 = 500;

/// Expires every due invitation, batch by batch. Returns how many expired.
pub async fn expire_due(deps: &Deps) -> Result<usize, AppError> {
    let mut total = 0;
    loop {
        let n = expire_batch(deps).await?;
        total += n;
        if n < BATCH as usize {
            return Ok(total);
        }
    }
}

async fn expire_batch(deps: &Deps) -> Result<usize, AppError> {
    let now = deps.clock.now();
    let txn = begin_write(&deps.writer).await?;
    let mut sql = Sql::new(sea_orm::ConnectionTrait::get_database_backend(&txn));
    sql.push("UPDATE opportunities SET stage = 'EXPIRED', closed_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(", version = version + 1 WHERE stage = 'RECEIVED' AND expires_at <= ")
        .bind(now)
        .push(
            " AND id IN (SELECT id FROM opportunities WHERE stage = 'RECEIVED' AND expires_at <= ",
        )
        .bind(now)
        .push(" ORDER BY expires_at LIMIT ")
        .bind(BATCH)
        .push(") RETURNING id, engagement_id, organization_id, invitation_id");
    let rows = sea_orm::ConnectionTrait::query_all_raw(&txn, sql.build()).await?;
    let drafts = announce(&txn, deps, &rows, Notice::Expired, now).await?;
    events::append(&txn, now, drafts).await?;
    txn.commit().await?;
    if !rows.is_empty() {
        deps.bus.wake();
    }
    Ok(rows.len())
}

/// For each opportunity a sweep returned: marks its invitation expired (for an
/// expiry), queues the emails, and drafts the event for both sides.
async fn announce(
    txn: &sea_orm::DatabaseTransaction,
    deps: &Deps,
    rows: &[sea_orm::QueryResult],
    notice: Notice,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<EventDraft>, AppError> {
    let (kind, expiring) = match notice {
        Notice::Expired => (EventKind::InvitationExpired, true),
        _ => (EventKind::InvitationExpiringSoon, false),
    };
    let mut drafts = Vec::new();
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let engagement: Uuid = row.try_get("", "engagement_id")?;
        let invitee: Uuid = row.try_get("", "organization_id")?;
        let invitation: Option<Uuid> = row.try_get("", "invitation_id")?;
        let mut sides = vec![invitee];
        if let Some(inv) = invitation {
            if expiring {
                invitations::Entity::update_many()
                    .set(invitations::ActiveModel {
                        status: Set(InvitationStatus::Expired.as_str().to_owned()),
                        answered_at: Set(Some(now)),
                        ..Default::default()
                    })
                    .filter(invitations::Column::Id.eq(inv))
                    .filter(invitations::Column::Status.eq(InvitationStatus::Pending.as_str()))
                    .exec(txn)
                    .await?;
            }
            if let Some(i) = store::invitation(txn, inv).await? {
                sides.push(i.inviter_organization_id);
                notify::invitation(txn, deps, &i, notice.clone(), None, now).await?;
            }
        }
        drafts.push(EventDraft {
            kind,
            actor_user: None,
            actor_organization: None,
            engagement,
            opportunity: Some(id),
            visible_to: sides,
            payload: json!({ "invitationId": invitation }),
        });
    }
    Ok(drafts)
}

/// Reminds the invitee's admins of every received invitation whose window ends within
/// `deps.reminder_before`, once: the conditional update on `reminded_at` picks each
/// opportunity for exactly one sweep, whichever instance runs it.
pub async fn remind_due(deps: &Deps) -> Result<usize, AppError> {
    let now = deps.clock.now();
    let horizon = now + deps.reminder_before;
    let txn = begin_write(&deps.writer).await?;
    let mut sql = Sql::new(sea_orm::ConnectionTrait::get_database_backend(&txn));
    sql.push("UPDATE opportunities SET reminded_at = ")
        .bind(now)
        .push(" WHERE stage = 'RECEIVED' AND reminded_at IS NULL AND expires_at > ")
        .bind(now)
        .push(" AND expires_at <= ")
        .bind(horizon)
        .push(" AND id IN (SELECT id FROM opportunities WHERE stage = 'RECEIVED' AND reminded_at IS NULL AND expires_at <= ")
        .bind(horizon)
        .push(" ORDER BY expires_at LIMIT ")
        .bind(BATCH)
        .push(") RETURNING id, engagement_id, organization_id, invitation_id");
    let rows = sea_orm::ConnectionTrait::query_all_raw(&txn, sql.build()).await?;
    let drafts = announce(&txn, deps, &rows, Notice::ExpiringSoon, now).await?;
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
