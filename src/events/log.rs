//! Reading the event log in number order, and what an event's engagement looks like
//! (its sides: opportunities, teams, tabs, bookmarks), read once per event and shared by
//! every subscriber that needs it.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use entity::{event_visibility, events, favorites, opportunities};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::domain::event::EventKind;
use crate::store::Sql;
use crate::store::deals as store;
use crate::store::opportunity_list::View;
use crate::store::rows;

/// An event with the organizations allowed to see it.
#[derive(Debug)]
pub struct LoggedEvent {
    pub event: events::Model,
    /// The event's kind, parsed once for every subscriber's gate.
    pub kind: Option<EventKind>,
    pub visible_to: Vec<Uuid>,
    /// The engagement's sides, read when a subscriber first needs them (a referral
    /// user's team, a tab filter, `opportunityChanged`) and then shared by all.
    sides: OnceCell<Arc<Sides>>,
    /// The event resolved for selections that are the same for every viewer, by the
    /// selection's key (see `graphql::subscription`): resolved once, reused by every
    /// subscriber with that selection.
    resolved: Mutex<Vec<(Arc<str>, async_graphql::Value)>>,
}

/// At most this many distinct selections are kept per event.
const MAX_RESOLVED: usize = 8;

/// One organization's side of an engagement: its opportunity, the emails of its team,
/// the list tabs it is in, and who bookmarked it.
#[derive(Debug)]
pub struct Side {
    pub opportunity: opportunities::Model,
    pub team: Vec<String>,
    pub tabs: Vec<View>,
    pub favorited_by: Vec<Uuid>,
}

impl Side {
    /// Whether this side is in `view` for `user` (favorites are per user).
    pub fn in_view(&self, view: View, user: Uuid) -> bool {
        match view {
            View::Favorites => self.favorited_by.contains(&user),
            v => self.tabs.contains(&v),
        }
    }
}

/// Every side of one engagement.
#[derive(Debug, Default)]
pub struct Sides {
    pub sides: Vec<Side>,
}

impl Sides {
    /// The side of `organization`.
    pub fn of(&self, organization: Uuid) -> Option<&Side> {
        self.sides
            .iter()
            .find(|s| s.opportunity.organization_id == organization)
    }
}

impl LoggedEvent {
    pub fn new(event: events::Model, visible_to: Vec<Uuid>) -> Self {
        LoggedEvent {
            kind: EventKind::parse(&event.kind),
            event,
            visible_to,
            sides: OnceCell::new(),
            resolved: Mutex::new(Vec::new()),
        }
    }

    /// The value resolved for the selection `key`, if a subscriber resolved it already.
    pub fn resolved(&self, key: &str) -> Option<async_graphql::Value> {
        let kept = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.clone())
    }

    /// Keeps the value resolved for the selection `key` for the other subscribers.
    pub fn keep_resolved(&self, key: Arc<str>, value: async_graphql::Value) {
        let mut kept = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < MAX_RESOLVED && !kept.iter().any(|(k, _)| *k == key) {
            kept.push((key, value));
        }
    }

    pub fn seq(&self) -> i64 {
        self.event.seq
    }

    /// The engagement's sides, read on first use (one read per event however many
    /// subscribers ask; none for an event without an engagement).
    pub async fn sides<C: ConnectionTrait>(&self, db: &C) -> Result<Arc<Sides>, DbErr> {
        if let Some(s) = self.sides.get() {
            return Ok(s.clone());
        }
        let Some(engagement) = self.event.engagement_id else {
            return Ok(Arc::default());
        };
        self.sides
            .get_or_try_init(|| async {
                Ok(load_sides(db, &[engagement])
                    .await?
                    .remove(&engagement)
                    .unwrap_or_default())
            })
            .await
            .cloned()
    }

    /// Whether the sides are read already.
    pub fn has_sides(&self) -> bool {
        self.sides.initialized()
    }
}

/// Reads the sides of the engagements of `events` that `wanted` picks, in one round for
/// all of them (a page of the log being caught up with).
pub async fn fill_sides<C: ConnectionTrait>(
    db: &C,
    events: &[LoggedEvent],
    wanted: impl Fn(&LoggedEvent) -> bool,
) -> Result<(), DbErr> {
    let mut engagements: Vec<Uuid> = events
        .iter()
        .filter(|e| !e.has_sides() && wanted(e))
        .filter_map(|e| e.event.engagement_id)
        .collect();
    engagements.sort();
    engagements.dedup();
    if engagements.is_empty() {
        return Ok(());
    }
    let sides = load_sides(db, &engagements).await?;
    for e in events {
        if let Some(s) = e.event.engagement_id.and_then(|g| sides.get(&g)) {
            let _ = e.sides.set(s.clone());
        }
    }
    Ok(())
}

/// The tabs whose condition is a condition on the opportunity (favorites are bookmarks).
const TABS: [View; 3] = [View::Inbound, View::Outbound, View::Archived];

/// The sides of `engagements`, by engagement: four statements whatever their number.
/// The tabs are decided by the list's own conditions ([`View::condition`]).
pub async fn load_sides<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<HashMap<Uuid, Arc<Sides>>, DbErr> {
    let opps = store::opportunities_of_engagements(db, engagements).await?;
    if opps.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = opps.iter().map(|o| o.id).collect();
    let mut teams: HashMap<Uuid, Vec<String>> = HashMap::new();
    for m in store::teams(db, &ids).await? {
        teams
            .entry(m.opportunity_id)
            .or_default()
            .push(m.email_norm);
    }
    let mut favorited: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for f in favorites::Entity::find()
        .filter(favorites::Column::OpportunityId.is_in(ids.iter().copied()))
        .all(db)
        .await?
    {
        favorited
            .entry(f.opportunity_id)
            .or_default()
            .push(f.user_id);
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT o.id AS id");
    for (i, tab) in TABS.iter().enumerate() {
        let cond = tab.condition().unwrap_or(" AND 1 = 0");
        sql.push(&format!(
            ", CASE WHEN 1 = 1{cond} THEN 1 ELSE 0 END AS t{i}"
        ));
    }
    sql.push(" FROM opportunities o WHERE o.id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*id);
    }
    sql.push(")");
    let mut tabs: HashMap<Uuid, Vec<View>> = HashMap::new();
    for row in db.query_all_raw(sql.build()).await? {
        let id: Uuid = row.try_get("", "id")?;
        let entry = tabs.entry(id).or_default();
        for (i, tab) in TABS.iter().enumerate() {
            let on: i32 = row.try_get("", &format!("t{i}"))?;
            if on != 0 {
                entry.push(*tab);
            }
        }
    }
    let mut out: HashMap<Uuid, Sides> = HashMap::new();
    for o in opps {
        let side = Side {
            team: teams.remove(&o.id).unwrap_or_default(),
            tabs: tabs.remove(&o.id).unwrap_or_default(),
            favorited_by: favorited.remove(&o.id).unwrap_or_default(),
            opportunity: o,
        };
        out.entry(side.opportunity.engagement_id)
            .or_default()
            .sides
            .push(side);
    }
    Ok(out.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
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
    let rows: Vec<events::Model> = rows::all(
        db,
        events::Entity::find()
            .filter(events::Column::Seq.gt(after))
            .order_by_asc(events::Column::Seq)
            .limit(limit),
    )
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
        .map(|event| {
            let visible_to = by_seq.remove(&event.seq).unwrap_or_default();
            LoggedEvent::new(event, visible_to)
        })
        .collect())
}
