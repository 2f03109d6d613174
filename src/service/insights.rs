//! Pipeline insights: the rows in the caller's reach for a date range, handed to the
//! pure arithmetic of `domain::pipeline`.
use chrono::{Days, NaiveDate, NaiveTime};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::domain::Viewer;
use crate::domain::pipeline::{DealRow, InvitationRow, Pipeline, compute};
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
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT o.stage, o.direction, o.close_date, o.value_e4, o.currency, e.deal_type FROM opportunities o JOIN engagements e ON e.id = o.engagement_id WHERE o.organization_id = ")
        .bind(viewer.organization_id)
        .push(" AND o.created_at >= ")
        .bind(start)
        .push(" AND o.created_at < ")
        .bind(end);
    team(&mut sql, "o.id");
    let mut deals = Vec::new();
    for r in db.query_all_raw(sql.build()).await? {
        deals.push(DealRow {
            stage: r.try_get("", "stage")?,
            deal_type: r.try_get("", "deal_type")?,
            direction: r.try_get("", "direction")?,
            close_date: r.try_get("", "close_date")?,
            value_e4: r.try_get("", "value_e4")?,
            currency: r.try_get("", "currency")?,
        });
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
    Ok(compute(&deals, &invitations))
}
