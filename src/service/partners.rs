//! Partner search (SPEC §3): co-sell-ready partners other than the caller, narrowed by
//! name, published solution, solution kind and country, ranked by name match first,
//! then by responsiveness (answers within the window, time to answer) and fit (accepted
//! deals with the same solutions or customer country), so the ranking explains itself.
use std::collections::HashMap;

use entity::organizations;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use crate::domain::Viewer;
use crate::domain::pipeline::{InvitationRow, responsiveness as responsiveness_of};
use crate::error::AppError;
use crate::store::search::TextQuery;
use crate::store::{KeyCursor, Page, PageArgs, Sql};

/// How a partner answers invitations.
#[derive(Debug, Clone, Default)]
pub struct Responsiveness {
    pub invitations_received: i64,
    pub answered_within_window: i64,
    pub share_answered_within_window: Option<f64>,
    pub median_hours_to_answer: Option<f64>,
}

impl Responsiveness {
    fn of(rows: &[InvitationRow]) -> Self {
        let (received, in_window, share, median) = responsiveness_of(rows);
        Responsiveness {
            invitations_received: received,
            answered_within_window: in_window,
            share_answered_within_window: share,
            median_hours_to_answer: median,
        }
    }
}

/// What the picker narrows by, and the deal it looks for help with (for fit).
#[derive(Debug, Clone, Default)]
pub struct PartnerQuery {
    pub search: Option<String>,
    /// Partners that publish this solution.
    pub solution: Option<Uuid>,
    /// Partners publishing co-sell-ready solutions at all (`THIRD_PARTY`); `OWN` and
    /// `MICROSOFT` match no partner.
    pub publishes_third_party: Option<bool>,
    pub country: Option<String>,
    pub for_solutions: Vec<Uuid>,
    pub for_customer_country: Option<String>,
}

/// A partner with the figures behind its rank.
#[derive(Debug, Clone)]
pub struct PartnerHit {
    pub organization: organizations::Model,
    pub responsiveness: Responsiveness,
    pub similar_deals: i64,
    pub score: f64,
}

/// The responsiveness of each organization in `orgs`, from all invitations it received.
pub async fn responsiveness<C: ConnectionTrait>(
    db: &C,
    orgs: &[Uuid],
) -> Result<HashMap<Uuid, Responsiveness>, AppError> {
    let mut rows: HashMap<Uuid, Vec<InvitationRow>> =
        orgs.iter().map(|o| (*o, Vec::new())).collect();
    if orgs.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT invitee_organization_id, sent_at, expires_at, answered_at, status FROM invitations WHERE invitee_organization_id IN (");
    for (i, o) in orgs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*o);
    }
    sql.push(")");
    for r in db.query_all_raw(sql.build()).await? {
        let org: Uuid = r.try_get("", "invitee_organization_id")?;
        let status: String = r.try_get("", "status")?;
        rows.entry(org).or_default().push(InvitationRow {
            sent_at: r.try_get("", "sent_at")?,
            expires_at: r.try_get("", "expires_at")?,
            answered_at: r.try_get("", "answered_at")?,
            answered: status == "ACCEPTED" || status == "DECLINED",
        });
    }
    Ok(rows
        .into_iter()
        .map(|(o, r)| (o, Responsiveness::of(&r)))
        .collect())
}

/// Accepted (or won) deals of each organization like the one at hand: with one of
/// `solutions`, and for a customer in `country` (each condition only when given).
pub async fn similar_deals<C: ConnectionTrait>(
    db: &C,
    orgs: &[Uuid],
    solutions: &[Uuid],
    country: Option<&str>,
) -> Result<HashMap<Uuid, i64>, AppError> {
    if orgs.is_empty() || (solutions.is_empty() && country.is_none()) {
        return Ok(HashMap::new());
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT o.organization_id AS org, COUNT(*) AS n FROM opportunities o JOIN engagements e ON e.id = o.engagement_id JOIN customers c ON c.id = e.customer_id WHERE o.stage IN ('ACCEPTED', 'WON') AND o.organization_id IN (");
    for (i, o) in orgs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*o);
    }
    sql.push(")");
    if let Some(c) = country {
        sql.push(" AND c.country = ").bind(c.to_owned());
    }
    if !solutions.is_empty() {
        sql.push(" AND EXISTS (SELECT 1 FROM opportunity_solutions s WHERE s.opportunity_id = o.id AND s.solution_id IN (");
        for (i, s) in solutions.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*s);
        }
        sql.push("))");
    }
    sql.push(" GROUP BY o.organization_id");
    let mut out = HashMap::new();
    for r in db.query_all_raw(sql.build()).await? {
        out.insert(r.try_get::<Uuid>("", "org")?, r.try_get::<i64>("", "n")?);
    }
    Ok(out)
}

/// The score that orders partners of equal name match: answering within the window
/// (up to 100; 50 without history), answering fast (up to 100, halving per day of
/// median wait), and similar accepted deals (20 each, at most 5).
pub fn score(r: &Responsiveness, similar: i64) -> f64 {
    let share = r.share_answered_within_window.unwrap_or(0.5);
    let speed = r
        .median_hours_to_answer
        .map(|h| 100.0 / (1.0 + h.max(0.0) / 24.0))
        .unwrap_or(50.0);
    share * 100.0 + speed + 20.0 * similar.clamp(0, 5) as f64
}

pub async fn search(
    db: &DatabaseConnection,
    viewer: &Viewer,
    q: &PartnerQuery,
    args: &PageArgs,
) -> Result<Page<PartnerHit>, AppError> {
    let text = TextQuery::parse(q.search.as_deref());
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT o.*, ");
    match &text {
        Some(t) => t.push_rank(&mut sql, "o.name_norm"),
        None => {
            sql.push("0");
        }
    }
    sql.push(
        " AS search_rank FROM organizations o WHERE o.kind = 'PARTNER' AND o.co_sell_ready = ",
    )
    .bind(true)
    .push(" AND o.id <> ")
    .bind(viewer.organization_id);
    if let Some(t) = &text {
        t.push_word_match(&mut sql, "o.name_norm");
    }
    if let Some(c) = &q.country {
        sql.push(" AND o.country = ").bind(c.clone());
    }
    if let Some(s) = q.solution {
        sql.push(" AND EXISTS (SELECT 1 FROM solutions s WHERE s.publisher_id = o.id AND s.co_sell_ready = ")
            .bind(true)
            .push(" AND s.id = ")
            .bind(s)
            .push(")");
    }
    match q.publishes_third_party {
        Some(true) => {
            sql.push(" AND EXISTS (SELECT 1 FROM solutions s WHERE s.publisher_id = o.id AND s.co_sell_ready = ")
                .bind(true)
                .push(")");
        }
        Some(false) => {
            sql.push(" AND 1 = 0");
        }
        None => {}
    }
    let rows = db.query_all_raw(sql.build()).await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for r in &rows {
        let rank: i32 = r.try_get("", "search_rank")?;
        candidates.push((
            rank,
            <organizations::Model as sea_orm::FromQueryResult>::from_query_result(r, "")?,
        ));
    }
    let ids: Vec<Uuid> = candidates.iter().map(|(_, o)| o.id).collect();
    let resp = responsiveness(db, &ids).await?;
    let fit = similar_deals(
        db,
        &ids,
        &q.for_solutions,
        q.for_customer_country.as_deref(),
    )
    .await?;
    let mut hits: Vec<(i32, PartnerHit)> = candidates
        .into_iter()
        .map(|(rank, o)| {
            let r = resp.get(&o.id).cloned().unwrap_or_default();
            let similar = fit.get(&o.id).copied().unwrap_or(0);
            let s = score(&r, similar);
            (
                rank,
                PartnerHit {
                    organization: o,
                    responsiveness: r,
                    similar_deals: similar,
                    score: s,
                },
            )
        })
        .collect();
    hits.sort_by(|(ra, a), (rb, b)| {
        ra.cmp(rb)
            .then(b.score.total_cmp(&a.score))
            .then(a.organization.name_norm.cmp(&b.organization.name_norm))
            .then(a.organization.id.cmp(&b.organization.id))
    });
    // A computed order pages by position; the cursor keeps the position and the id.
    let start = match &args.after {
        Some(c) => hits
            .iter()
            .position(|(_, h)| h.organization.id == c.id)
            .map(|p| p + 1)
            .unwrap_or((c.rank.max(0) as usize) + 1),
        None => 0,
    };
    let total = hits.len() as i64;
    let has_next = hits.len() > start + args.first;
    let page: Vec<(KeyCursor, PartnerHit)> = hits
        .into_iter()
        .enumerate()
        .skip(start)
        .take(args.first)
        .map(|(i, (_, h))| {
            (
                KeyCursor {
                    rank: i as i32,
                    key: "partner".into(),
                    id: h.organization.id,
                },
                h,
            )
        })
        .collect();
    Ok(Page {
        rows: page,
        has_next,
        has_previous: start > 0,
        total,
    })
}
