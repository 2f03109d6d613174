//! One subscriber's resumable stream: every event after its cursor from the log first,
//! then live ones from the bus, with no gap and no duplicate at the seam; a subscriber
//! that falls behind the bus catches up from the log instead of losing events.
use std::collections::HashMap;

use futures_util::Stream;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::bus::{EventBus, PAGE};
use super::log::{LoggedEvent, head, read_after};
use crate::domain::Viewer;
use crate::domain::access::sees_event;
use crate::domain::event::EventKind;
use crate::error::AppError;
use crate::store::Sql;
use crate::store::opportunity_list::View;

/// What a subscriber narrows the feed to.
#[derive(Debug, Clone, Default)]
pub struct StreamFilter {
    /// Only this engagement's events.
    pub engagement: Option<Uuid>,
    /// Only these kinds (all when empty).
    pub kinds: Vec<EventKind>,
    /// Only events of engagements where the viewer's side is in this list tab now.
    pub view: Option<View>,
}

/// Decides, per event and per subscriber, whether it is delivered.
struct Gate {
    viewer: Viewer,
    filter: StreamFilter,
    /// Whether the viewer is on a team of its organization in an engagement (for
    /// referral users), refreshed when that engagement's teams change.
    on_team: HashMap<Uuid, bool>,
}

impl Gate {
    async fn admits(
        &mut self,
        db: &DatabaseConnection,
        ev: &LoggedEvent,
    ) -> Result<bool, AppError> {
        let Some(engagement) = ev.event.engagement_id else {
            return Ok(false);
        };
        let kind = EventKind::parse(&ev.event.kind);
        if matches!(
            kind,
            Some(EventKind::TeamChanged | EventKind::InvitationAccepted | EventKind::DealCreated)
        ) {
            self.on_team.remove(&engagement);
        }
        if self.filter.engagement.is_some_and(|e| e != engagement) {
            return Ok(false);
        }
        if !self.filter.kinds.is_empty() && !kind.is_some_and(|k| self.filter.kinds.contains(&k)) {
            return Ok(false);
        }
        let on_team = if self.viewer.sees_whole_organization()
            || !ev.visible_to.contains(&self.viewer.organization_id)
        {
            false
        } else {
            match self.on_team.get(&engagement) {
                Some(b) => *b,
                None => {
                    let b = on_team(db, &self.viewer, engagement).await?;
                    self.on_team.insert(engagement, b);
                    b
                }
            }
        };
        if !sees_event(&self.viewer, &ev.visible_to, on_team) {
            return Ok(false);
        }
        match self.filter.view {
            Some(view) => Ok(in_view(db, &self.viewer, engagement, view).await?),
            None => Ok(true),
        }
    }
}

async fn on_team(
    db: &DatabaseConnection,
    viewer: &Viewer,
    engagement: Uuid,
) -> Result<bool, AppError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS n FROM team_members t JOIN opportunities o ON o.id = t.opportunity_id WHERE o.engagement_id = ")
        .bind(engagement)
        .push(" AND o.organization_id = ")
        .bind(viewer.organization_id)
        .push(" AND t.email_norm = ")
        .bind(viewer.email.clone());
    let n: i64 = match db.query_one_raw(sql.build()).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n > 0)
}

async fn in_view(
    db: &DatabaseConnection,
    viewer: &Viewer,
    engagement: Uuid,
    view: View,
) -> Result<bool, AppError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS n FROM opportunities o WHERE o.engagement_id = ")
        .bind(engagement)
        .push(" AND o.organization_id = ")
        .bind(viewer.organization_id);
    match view.condition() {
        Some(c) => sql.push(c),
        None => sql
            .push(" AND EXISTS (SELECT 1 FROM favorites f WHERE f.opportunity_id = o.id AND f.user_id = ")
            .bind(viewer.user_id)
            .push(")"),
    };
    let n: i64 = match db.query_one_raw(sql.build()).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n > 0)
}

/// The events `viewer` may see after `after` (or from now on, without a cursor): the
/// log's first, then live ones.
pub fn events(
    db: DatabaseConnection,
    bus: EventBus,
    viewer: Viewer,
    after: Option<i64>,
    filter: StreamFilter,
) -> impl Stream<Item = Result<LoggedEvent, AppError>> {
    async_stream::try_stream! {
        // Subscribe first, then read the log: whatever commits in between is in one or
        // the other, and the number check drops what is in both.
        let mut rx = bus.subscribe();
        let mut last = match after {
            Some(a) => a,
            None => head(&db).await?,
        };
        let mut gate = Gate { viewer, filter, on_team: HashMap::new() };
        let mut from_log = true;
        loop {
            if from_log {
                let rows = read_after(&db, last, PAGE).await?;
                let n = rows.len();
                for ev in rows {
                    last = ev.seq();
                    if gate.admits(&db, &ev).await? {
                        yield ev;
                    }
                }
                from_log = n as u64 == PAGE;
                continue;
            }
            match rx.recv().await {
                Ok(ev) => {
                    if ev.seq() <= last {
                        continue;
                    }
                    if ev.seq() > last + 1 {
                        // Something between was not seen here: the log has it.
                        from_log = true;
                        continue;
                    }
                    last = ev.seq();
                    if gate.admits(&db, &ev).await? {
                        yield (*ev).clone();
                    }
                }
                Err(RecvError::Lagged(_)) => from_log = true,
                Err(RecvError::Closed) => break,
            }
        }
    }
}
