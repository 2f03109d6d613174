//! Pipeline insights: grouped queries over the opportunities in the caller's reach for a
//! date range (counts and per-currency sums come from the database), and the received
//! invitations' answers, folded by the pure arithmetic of `domain::pipeline`.
use chrono::{Days, NaiveDate, NaiveTime};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use crate::domain::Viewer;
use crate::domain::pipeline::{
    GroupRow, InvitationRow, Pipeline, buckets, responsiveness, win_rate,
};
use crate::error::{AppError, UserError, UserErrorCode};
use crate::store::Sql;

/// The figures of the opportunities created, and invitations received, from `from` to
/// `to` (inclusive dates, UTC). A referral user's reach is the deals whose team lists it.
pub async fn pipeline(
    db: &DatabaseConnection,
    viewer: &Viewer,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Pipeline, AppError> {
    if to < from || (to - from).num_days() > 3660 {
        return Err(UserError::new(
            UserErrorCode::BadUserInput,
            "the range must run forward and span at most ten years",
            &["to"],
        )
        .into());
    }
    let start = from.and_time(NaiveTime::MIN).and_utc();
    let end = to
        .checked_add_days(Days::new(1))
        .unwrap_or(to)
        .and_time(NaiveTime::MIN)
        .and_utc();
    let team = |sql: &mut Sql, opp: &str| {
        if !viewer.sees_whole_organization() {
            sql.push(" AND EXISTS (SELECT 1 FROM team_members t WHERE t.opportunity_id = ")
                .push(opp)
                .push(" AND t.email_norm = ")
                .bind(viewer.email.clone())
                .push(")");
        }
    };
    let month = match db.get_database_backend() {
        DbBackend::Postgres => "COALESCE(to_char(o.close_date, 'YYYY-MM'), 'NONE')",
        _ => "COALESCE(substr(o.close_date, 1, 7), 'NONE')",
    };
    let mut groups = Vec::new();
    for key in ["o.stage", "e.deal_type", "o.direction", month] {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT ")
            .push(key)
            .push(" AS k, o.currency AS cur, COUNT(*) AS n, CAST(SUM(o.value_e4) AS BIGINT) AS v FROM opportunities o");
        if key.starts_with("e.") {
            sql.push(" JOIN engagements e ON e.id = o.engagement_id");
        }
        sql.push(" WHERE o.organization_id = ")
            .bind(viewer.organization_id)
            .push(" AND o.created_at >= ")
            .bind(start)
            .push(" AND o.created_at < ")
            .bind(end);
        team(&mut sql, "o.id");
        sql.push(" GROUP BY ").push(key).push(", o.currency");
        let mut rows = Vec::new();
        for r in db.query_all_raw(sql.build()).await? {
            rows.push(GroupRow {
                key: r.try_get("", "k")?,
                currency: r.try_get("", "cur")?,
                count: r.try_get("", "n")?,
                value_e4: r.try_get("", "v")?,
            });
        }
        groups.push(buckets(&rows));
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT i.sent_at, i.expires_at, i.answered_at, i.status FROM invitations i WHERE i.invitee_organization_id = ")
        .bind(viewer.organization_id)
        .push(" AND i.sent_at >= ")
        .bind(start)
        .push(" AND i.sent_at < ")
        .bind(end);
    team(&mut sql, "i.invitee_opportunity_id");
    let mut invitations = Vec::new();
    for r in db.query_all_raw(sql.build()).await? {
        let status: String = r.try_get("", "status")?;
        invitations.push(InvitationRow {
            sent_at: r.try_get("", "sent_at")?,
            expires_at: r.try_get("", "expires_at")?,
            answered_at: r.try_get("", "answered_at")?,
            answered: status == "ACCEPTED" || status == "DECLINED",
        });
    }
    let (received, in_window, share, median) = responsiveness(&invitations);
    let by_close_month = groups.pop().unwrap_or_default();
    let by_direction = groups.pop().unwrap_or_default();
    let by_deal_type = groups.pop().unwrap_or_default();
    let by_stage = groups.pop().unwrap_or_default();
    Ok(Pipeline {
        win_rate: win_rate(&by_stage),
        by_stage,
        by_deal_type,
        by_direction,
        by_close_month,
        invitations_received: received,
        answered_within_window: in_window,
        share_answered_within_window: share,
        median_hours_to_answer: median,
    })
}
