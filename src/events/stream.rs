//! One subscriber's resumable stream: every event after its cursor from the log first,
//! then live ones from the bus, with no gap and no duplicate at the seam; a subscriber
//! that falls behind the bus catches up from the log instead of losing events.
//!
//! Whether an event is delivered is decided from what the event carries: its audience
//! and kind ([`sees_event`]), and, where a referral user's team or a tab filter matters,
//! its engagement's sides, read once per event and shared by every subscriber
//! ([`LoggedEvent::sides`]). No subscriber queries the database for a live event of its
//! own.
use std::sync::Arc;

use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::bus::{EventBus, PAGE};
use super::log::{LoggedEvent, Sides, fill_sides, head, read_after};
use crate::domain::Viewer;
use crate::domain::access::sees_event;
use crate::domain::event::EventKind;
use crate::error::AppError;
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

/// What the gate can tell from the event alone.
enum Verdict {
    No,
    Yes,
    /// Depends on the engagement's sides (a referral user's team, a tab).
    AskSides,
}

/// Decides, per event and per subscriber, whether it is delivered.
struct Gate {
    viewer: Viewer,
    filter: StreamFilter,
}

impl Gate {
    fn first_look(&self, ev: &LoggedEvent) -> Verdict {
        let Some(engagement) = ev.event.engagement_id else {
            return Verdict::No;
        };
        if self.filter.engagement.is_some_and(|e| e != engagement) {
            return Verdict::No;
        }
        if !self.filter.kinds.is_empty() && !ev.kind.is_some_and(|k| self.filter.kinds.contains(&k))
        {
            return Verdict::No;
        }
        // Refused even on the team: no; admitted off the team: yes; else the sides tell.
        if !sees_event(&self.viewer, ev.kind, &ev.visible_to, true) {
            return Verdict::No;
        }
        if self.filter.view.is_none() && sees_event(&self.viewer, ev.kind, &ev.visible_to, false) {
            Verdict::Yes
        } else {
            Verdict::AskSides
        }
    }

    /// The rest of the decision, with the engagement's sides.
    fn with_sides(&self, ev: &LoggedEvent, sides: &Sides) -> bool {
        let side = sides.of(self.viewer.organization_id);
        let on_team = side.is_some_and(|s| s.team.contains(&self.viewer.email));
        if !sees_event(&self.viewer, ev.kind, &ev.visible_to, on_team) {
            return false;
        }
        match self.filter.view {
            Some(view) => side.is_some_and(|s| s.in_view(view, self.viewer.user_id)),
            None => true,
        }
    }

    fn needs_sides(&self, ev: &LoggedEvent) -> bool {
        matches!(self.first_look(ev), Verdict::AskSides)
    }

    /// Whether `ev` goes to this subscriber. Waits (for the one shared read of the
    /// engagement's sides) only when the event alone does not tell.
    async fn admits(&self, db: &DatabaseConnection, ev: &LoggedEvent) -> Result<bool, AppError> {
        match self.first_look(ev) {
            Verdict::No => Ok(false),
            Verdict::Yes => Ok(true),
            Verdict::AskSides => {
                // Boxed: the idle subscription does not carry this future's room.
                let sides = Box::pin(ev.sides(db)).await?;
                Ok(self.with_sides(ev, &sides))
            }
        }
    }
}

/// Counts the subscribers listening to the bus (`cosell_event_subscribers`), for as long
/// as each lives.
struct Listening;

impl Listening {
    fn new() -> Self {
        metrics::gauge!("cosell_event_subscribers").increment(1.0);
        Listening
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        metrics::gauge!("cosell_event_subscribers").decrement(1.0);
    }
}

/// The events `viewer` may see after `after` (or from now on, without a cursor), narrowed
/// by `filter`: the log's first, then live ones. Each comes shared, with its sides.
///
/// An idle stream holds little: its database handle, the gate, the bus receiver and its
/// position; every database read is boxed so that its future's room is not kept.
pub fn events(
    db: DatabaseConnection,
    bus: EventBus,
    viewer: Viewer,
    after: Option<i64>,
    filter: StreamFilter,
) -> impl Stream<Item = Result<Arc<LoggedEvent>, AppError>> {
    // Subscribe first, then read the log: whatever commits in between is in one or the
    // other, and the number check drops what is in both. (Made here, outside the stream,
    // so that the stream keeps one copy of each.)
    let mut rx = bus.subscribe();
    let listening = Listening::new();
    let gate = Gate { viewer, filter };
    async_stream::try_stream! {
        let _listening = listening;
        let mut last = match after {
            Some(a) => a,
            None => Box::pin(head(&db)).await?,
        };
        let mut from_log = true;
        loop {
            if from_log {
                let page = Box::pin(catch_up(&db, &gate, last)).await?;
                last = page.last.unwrap_or(last);
                from_log = page.full;
                for ev in page.admitted {
                    yield ev;
                }
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
                        yield ev;
                    }
                }
                Err(RecvError::Lagged(_)) => from_log = true,
                Err(RecvError::Closed) => break,
            }
        }
    }
}

/// A page of the log after `last`, filtered by the gate.
struct Page {
    admitted: Vec<Arc<LoggedEvent>>,
    /// The number of the page's last event (admitted or not).
    last: Option<i64>,
    /// Whether the page was full (more may follow).
    full: bool,
}

/// Reads a page of the log after `last` and keeps what the gate admits; the sides it
/// asks for are read in one round for the whole page.
async fn catch_up(db: &DatabaseConnection, gate: &Gate, last: i64) -> Result<Page, AppError> {
    let rows = read_after(db, last, PAGE).await?;
    fill_sides(db, &rows, |e| gate.needs_sides(e)).await?;
    let mut page = Page {
        admitted: Vec::new(),
        last: rows.last().map(LoggedEvent::seq),
        full: rows.len() as u64 == PAGE,
    };
    for ev in rows {
        if gate.admits(db, &ev).await? {
            page.admitted.push(Arc::new(ev));
        }
    }
    Ok(page)
}
