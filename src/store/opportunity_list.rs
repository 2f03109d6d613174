//! The opportunity lists (SPEC §7): the tabs, every filter and sort, keyset pages in
//! both directions with stable cursors, and the total count.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use entity::opportunities;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rows::{self, ByPosition};
use super::search::TextQuery;
use super::sql::Sql;
use crate::bounded::BoundedMap;
use crate::domain::Viewer;

/// The list tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// This organization was invited; received or accepted.
    Inbound,
    /// It originated; accepted.
    Outbound,
    /// The user's bookmarks, any stage.
    Favorites,
    /// Terminal stages, either direction.
    Archived,
}

impl View {
    /// The tab's condition on the opportunity `o` (` AND ...`); favorites are the user's
    /// bookmarks instead, joined by the caller.
    pub fn condition(self) -> Option<&'static str> {
        match self {
            View::Inbound => {
                Some(" AND o.direction = 'INBOUND' AND o.stage IN ('RECEIVED', 'ACCEPTED')")
            }
            View::Outbound => Some(" AND o.direction = 'OUTBOUND' AND o.stage = 'ACCEPTED'"),
            View::Archived => Some(" AND o.stage IN ('WON', 'LOST', 'DECLINED', 'EXPIRED')"),
            View::Favorites => None,
        }
    }

    /// The tab's partial index (migration `m20261202_000004_tab_indexes`).
    pub fn index(self) -> Option<&'static str> {
        let i = match self {
            View::Inbound => 0,
            View::Outbound => 1,
            View::Archived => 2,
            View::Favorites => return None,
        };
        Some(migration::TAB_INDEXES[i].0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    DealName,
    CustomerName,
    CloseDate,
    Value,
}

#[derive(Debug, Clone, Copy)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            field: SortField::CreatedAt,
            descending: true,
        }
    }
}

/// Filters every list takes.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub stages: Vec<&'static str>,
    pub deal_types: Vec<&'static str>,
    pub direction: Option<&'static str>,
    pub customer_country: Option<String>,
    pub close_from: Option<NaiveDate>,
    pub close_to: Option<NaiveDate>,
    /// In ten-thousandths of the unit, as stored.
    pub value_min: Option<i64>,
    pub value_max: Option<i64>,
    pub text: Option<TextQuery>,
}

impl ListFilter {
    /// Whether no filter is set: the whole tab. Every field is named (no `..`), so a
    /// filter added later cannot be missed here, which would give a filtered list a
    /// whole tab's kept total.
    pub fn is_none(&self) -> bool {
        let ListFilter {
            stages,
            deal_types,
            direction,
            customer_country,
            close_from,
            close_to,
            value_min,
            value_max,
            text,
        } = self;
        stages.is_empty()
            && deal_types.is_empty()
            && direction.is_none()
            && customer_country.is_none()
            && close_from.is_none()
            && close_to.is_none()
            && value_min.is_none()
            && value_max.is_none()
            && text.is_none()
    }
}

/// The totals of whole tabs (no filter), each kept with the organization's stamp when it
/// was counted: the number of the newest event the organization may see, read in the
/// same statement as the count. Every change that moves an opportunity into or out of
/// a tab, or changes who is on its team, writes an event the owning organization sees,
/// in the same transaction, and event numbers follow commit order (`service::events`).
/// So a page whose statement reads the same stamp again sees the same total, and takes
/// it from here instead of counting the tab again (a third of PostgreSQL's work for a
/// page, bench/README.md); a newer stamp means the tab is counted again. The check is
/// against the database, so it holds across instances too. While the organization's
/// events keep coming (the stamp moved between two counts within [`SETTLED`]), pages
/// count inline as without a kept total, rather than paying a second statement for each
/// stale one.
pub struct TabCounts {
    totals: BoundedMap<TabKey, Counted>,
}

impl Default for TabCounts {
    fn default() -> Self {
        TabCounts {
            totals: BoundedMap::new(MAX_TAB_COUNTS),
        }
    }
}

/// A whole tab as one viewer reaches it: the organization's, or only the opportunities
/// whose team has the viewer's email (a referral user).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TabKey {
    organization: Uuid,
    member: Option<String>,
    view: View,
}

#[derive(Debug, Clone, Copy)]
struct Counted {
    stamp: i64,
    total: i64,
    /// When a count last found the stamp moved since the count before it.
    moved_at: Option<std::time::Instant>,
}

/// How long a tab's stamp must stay put before its kept total is used again.
pub const SETTLED: std::time::Duration = std::time::Duration::from_secs(1);

impl Counted {
    fn settled(&self) -> bool {
        self.moved_at.is_none_or(|t| t.elapsed() >= SETTLED)
    }
}

/// Tabs remembered at most; when full the map starts afresh (the next pages count
/// their tabs again).
const MAX_TAB_COUNTS: usize = 4096;

impl TabCounts {
    fn key(viewer: &Viewer, view: View, filter: &ListFilter) -> Option<TabKey> {
        (view != View::Favorites && filter.is_none()).then(|| TabKey {
            organization: viewer.organization_id,
            member: (!viewer.sees_whole_organization()).then(|| viewer.email.clone()),
            view,
        })
    }

    /// The total a statement counted, kept with its stamp when it is a whole tab's;
    /// `before` is what was kept until then.
    fn read(
        &self,
        tab: Option<TabKey>,
        before: Option<Counted>,
        row: &QueryResult,
    ) -> Result<i64, DbErr> {
        let total = row.try_get::<i64>("", "total")?;
        if let Some(tab) = tab {
            let stamp = read_stamp(row)?;
            let moved_at = match before {
                Some(b) if b.stamp != stamp => Some(std::time::Instant::now()),
                Some(b) => b.moved_at,
                None => None,
            };
            // A newer count kept meanwhile stays.
            self.totals.put(
                tab,
                |kept| kept.stamp > stamp,
                || Counted {
                    stamp,
                    total,
                    moved_at,
                },
            );
        }
        Ok(total)
    }
}

/// Where a row stands in one sort order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListCursor {
    #[serde(rename = "f")]
    pub field: SortField,
    #[serde(rename = "k")]
    pub key: serde_json::Value,
    pub id: Uuid,
}

impl ListCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }
    pub fn decode(s: &str) -> Option<Self> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
    }
}

/// A page request: forward (`first`/`after`) or backward (`last`/`before`).
#[derive(Debug, Clone)]
pub struct Window {
    pub limit: usize,
    pub cursor: Option<ListCursor>,
    pub backward: bool,
    /// Whether to count the whole list too (skipped when nobody asked for the total).
    pub count: bool,
}

pub struct ListPage {
    pub rows: Vec<(ListCursor, opportunities::Model)>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: i64,
}

const NO_DATE: &str = "9999-12-31";

fn sort_expr(field: SortField, backend: DbBackend) -> String {
    match field {
        SortField::CreatedAt => "o.created_at".into(),
        SortField::UpdatedAt => "o.updated_at".into(),
        SortField::DealName => "o.deal_name_norm".into(),
        SortField::CustomerName => "c.name_norm".into(),
        SortField::CloseDate => match backend {
            DbBackend::Postgres => format!("COALESCE(o.close_date, DATE '{NO_DATE}')"),
            _ => format!("COALESCE(o.close_date, '{NO_DATE}')"),
        },
        SortField::Value => "COALESCE(o.value_e4, -1)".into(),
    }
}

fn bind_key(sql: &mut Sql, field: SortField, key: &serde_json::Value) -> Option<()> {
    match field {
        SortField::CreatedAt | SortField::UpdatedAt => {
            let t: DateTime<Utc> = key.as_str()?.parse().ok()?;
            sql.bind(t);
        }
        SortField::DealName | SortField::CustomerName => {
            sql.bind(key.as_str()?.to_owned());
        }
        SortField::CloseDate => {
            let d: NaiveDate = key.as_str()?.parse().ok()?;
            sql.bind(d);
        }
        SortField::Value => {
            sql.bind(key.as_i64()?);
        }
    }
    Some(())
}

fn read_key(row: &QueryResult, field: SortField) -> Result<serde_json::Value, DbErr> {
    Ok(match field {
        SortField::CreatedAt | SortField::UpdatedAt => {
            let t: DateTime<Utc> = row.try_get("", "sort_key")?;
            serde_json::Value::String(t.to_rfc3339())
        }
        SortField::DealName | SortField::CustomerName => {
            serde_json::Value::String(row.try_get::<String>("", "sort_key")?)
        }
        SortField::CloseDate => {
            let d: NaiveDate = row.try_get("", "sort_key")?;
            serde_json::Value::String(d.to_string())
        }
        SortField::Value => serde_json::Value::from(row.try_get::<i64>("", "sort_key")?),
    })
}

/// `FROM ... WHERE ...` of the viewer's list `view` under `filter`, joining the
/// engagement and its customer only when a filter or the order needs them: most pages
/// are one organization's tab in creation order, served by that tab's partial index.
fn push_from_where(sql: &mut Sql, viewer: &Viewer, view: View, filter: &ListFilter, sort: Sort) {
    let needs_customer = filter.customer_country.is_some()
        || filter.text.is_some()
        || sort.field == SortField::CustomerName;
    let needs_engagement = needs_customer || !filter.deal_types.is_empty();
    sql.push(" FROM opportunities o");
    // SQLite's planner prefers `opportunities_org_stage_created` for a tab and then reads
    // every row of the tab's stages (4 ms to count 2,400 rows against 0.2 ms through the
    // partial index, bench/README.md); PostgreSQL picks the partial index by itself.
    if let (DbBackend::Sqlite, Some(index)) = (sql.backend(), view.index()) {
        sql.push(" INDEXED BY ").push(index);
    }
    if needs_engagement {
        sql.push(" JOIN engagements e ON e.id = o.engagement_id");
    }
    if needs_customer {
        sql.push(" JOIN customers c ON c.id = e.customer_id");
    }
    if view == View::Favorites {
        sql.push(" JOIN favorites f ON f.opportunity_id = o.id AND f.user_id = ")
            .bind(viewer.user_id);
    }
    sql.push(" WHERE o.organization_id = ")
        .bind(viewer.organization_id);
    if !viewer.sees_whole_organization() {
        sql.push(" AND EXISTS (SELECT 1 FROM team_members t WHERE t.opportunity_id = o.id AND t.email_norm = ")
            .bind(viewer.email.clone())
            .push(")");
    }
    if let Some(c) = view.condition() {
        sql.push(c);
    }
    push_in(sql, "o.stage", &filter.stages);
    push_in(sql, "e.deal_type", &filter.deal_types);
    if let Some(d) = filter.direction {
        sql.push(" AND o.direction = ").bind(d);
    }
    if let Some(c) = &filter.customer_country {
        sql.push(" AND c.country = ").bind(c.clone());
    }
    if let Some(d) = filter.close_from {
        sql.push(" AND o.close_date >= ").bind(d);
    }
    if let Some(d) = filter.close_to {
        sql.push(" AND o.close_date <= ").bind(d);
    }
    if let Some(v) = filter.value_min {
        sql.push(" AND o.value_e4 >= ").bind(v);
    }
    if let Some(v) = filter.value_max {
        sql.push(" AND o.value_e4 <= ").bind(v);
    }
    if let Some(q) = &filter.text {
        for w in &q.words {
            sql.push(" AND (' ' || o.search_norm || ' ' || c.name_norm) LIKE ")
                .bind(format!("% {w}%"));
        }
    }
}

/// `(SELECT COUNT(*) FROM … WHERE …) AS total`: how many rows the whole list has.
fn push_total(sql: &mut Sql, viewer: &Viewer, view: View, filter: &ListFilter, sort: Sort) {
    sql.push("(SELECT COUNT(*)");
    push_from_where(sql, viewer, view, filter, sort);
    sql.push(") AS total");
}

/// `(SELECT … LIMIT 1) AS stamp`: the newest event the organization may see (0: none).
fn push_stamp(sql: &mut Sql, organization: Uuid) {
    sql.push("(SELECT v.event_seq FROM event_visibility v WHERE v.organization_id = ")
        .bind(organization)
        .push(" ORDER BY v.event_seq DESC LIMIT 1) AS stamp");
}

fn read_stamp(row: &QueryResult) -> Result<i64, DbErr> {
    Ok(row.try_get::<Option<i64>>("", "stamp")?.unwrap_or(0))
}

/// One page of the viewer's list `view`. A cursor from another sort order is refused
/// (`None`), as is a key that does not parse. The total comes with the page's rows, in
/// the same statement (apart only when the page is empty, or when a whole tab's total
/// kept in `counts` turns out stale).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    counts: &TabCounts,
    viewer: &Viewer,
    view: View,
    filter: &ListFilter,
    sort: Sort,
    window: &Window,
) -> Result<Option<ListPage>, DbErr> {
    let backend = db.get_database_backend();
    let key = sort_expr(sort.field, backend);
    // Walking backward flips the order; the rows are put back in order afterwards.
    let descending = sort.descending != window.backward;
    let (cmp, dir) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let mut page = Sql::new(backend);
    page.push("SELECT ");
    rows::push_columns::<opportunities::Model>(&mut page, "o");
    page.push(", ").push(&key).push(" AS sort_key");
    let tab = TabCounts::key(viewer, view, filter).filter(|_| window.count);
    let kept = tab.as_ref().and_then(|k| counts.totals.get(k));
    // A kept total is used when the stamp still matches; only the stamp is read then.
    let trusted = kept.filter(Counted::settled);
    if window.count && trusted.is_none() {
        // The total rides along on every row: an uncorrelated subquery, which both
        // databases evaluate once per statement.
        page.push(", ");
        push_total(&mut page, viewer, view, filter, sort);
    }
    if tab.is_some() {
        page.push(", ");
        push_stamp(&mut page, viewer.organization_id);
    }
    push_from_where(&mut page, viewer, view, filter, sort);
    if let Some(cur) = &window.cursor {
        if cur.field != sort.field {
            return Ok(None);
        }
        // A row value comparison: both databases walk an index from the cursor on.
        page.push(" AND (")
            .push(&key)
            .push(", o.id) ")
            .push(cmp)
            .push(" (");
        if bind_key(&mut page, sort.field, &cur.key).is_none() {
            return Ok(None);
        }
        page.push(", ").bind(cur.id).push(")");
    }
    // The limit is written, not bound (a number of ours, at most `MAX_PAGE` + 1): with a
    // bound limit PostgreSQL's generic plan guesses 10% of the rows and never looks cheaper
    // than a custom plan, so every page was planned afresh (0.26-0.37 ms on the bench
    // data); written, the connection keeps one plan per page size (bench/README.md).
    page.push(&format!(
        " ORDER BY {key} {dir}, o.id {dir} LIMIT {}",
        window.limit + 1
    ));

    let rows = db.query_all_raw(page.build()).await?;
    let total = match (rows.first(), trusted) {
        _ if !window.count => 0,
        (Some(row), Some(trusted)) if read_stamp(row)? == trusted.stamp => trusted.total,
        (Some(row), None) => counts.read(tab, kept, row)?,
        // No row to carry it (an empty list, or a cursor past the end), or the kept
        // total is stale: counted apart, with the stamp it goes with.
        _ => {
            let mut sql = Sql::new(backend);
            sql.push("SELECT ");
            push_total(&mut sql, viewer, view, filter, sort);
            if tab.is_some() {
                sql.push(", ");
                push_stamp(&mut sql, viewer.organization_id);
            }
            match db.query_one_raw(sql.build()).await? {
                Some(row) => counts.read(tab, kept, &row)?,
                None => 0,
            }
        }
    };
    let more = rows.len() > window.limit;
    let mut out = Vec::with_capacity(rows.len().min(window.limit));
    for (n, row) in rows.iter().take(window.limit).enumerate() {
        let model = opportunities::Model::decode_at(row, 0, n == 0)?;
        let cursor = ListCursor {
            field: sort.field,
            key: read_key(row, sort.field)?,
            id: model.id,
        };
        out.push((cursor, model));
    }
    if window.backward {
        out.reverse();
    }
    let (has_next, has_previous) = if window.backward {
        (window.cursor.is_some(), more)
    } else {
        (more, window.cursor.is_some())
    };
    Ok(Some(ListPage {
        rows: out,
        has_next,
        has_previous,
        total,
    }))
}

fn push_in(sql: &mut Sql, col: &str, values: &[&'static str]) {
    if !values.is_empty() {
        sql.push(" AND ").push(col).push_in(values.iter().copied());
    }
}

/// The events of an engagement that `organization` may see, newest first, before
/// `before`; whether more follow; how many there are in all.
pub async fn timeline<C: ConnectionTrait>(
    db: &C,
    organization: Uuid,
    engagement: Uuid,
    before: Option<i64>,
    limit: usize,
) -> Result<(Vec<entity::events::Model>, bool, i64), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT ");
    rows::push_columns::<entity::events::Model>(&mut sql, "ev");
    sql.push(
        " FROM events ev JOIN event_visibility v ON v.event_seq = ev.seq AND v.organization_id = ",
    )
    .bind(organization)
    .push(" WHERE ev.engagement_id = ")
    .bind(engagement);
    let total: i64 = match db
        .query_one_raw(
            sql.wrapped("SELECT COUNT(*) AS total FROM (", ") s")
                .build(),
        )
        .await?
    {
        Some(row) => row.try_get("", "total")?,
        None => 0,
    };
    if let Some(b) = before {
        sql.push(" AND ev.seq < ").bind(b);
    }
    sql.push(" ORDER BY ev.seq DESC LIMIT ")
        .bind((limit + 1) as i64);
    let rows = db.query_all_raw(sql.build()).await?;
    let more = rows.len() > limit;
    let mut out = Vec::new();
    for (n, row) in rows.iter().take(limit).enumerate() {
        out.push(entity::events::Model::decode_at(row, 0, n == 0)?);
    }
    Ok((out, more, total))
}

#[cfg(test)]
mod tests {
    use super::View;

    /// Both databases use a partial index only when the query repeats its condition:
    /// each tab's condition is its index's predicate, on the alias `o`.
    #[test]
    fn tab_conditions_are_the_partial_index_predicates() {
        let tabs = [View::Inbound, View::Outbound, View::Archived];
        for (view, (name, predicate)) in tabs.into_iter().zip(migration::TAB_INDEXES) {
            assert_eq!(view.index(), Some(name));
            let condition = view.condition().expect("a tab has a condition");
            let expected = format!(
                " AND {}",
                predicate
                    .replace("direction", "o.direction")
                    .replace("stage", "o.stage")
            );
            assert_eq!(condition, expected, "{name}");
        }
    }
}
