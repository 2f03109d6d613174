//! Rows of deals: opportunities, engagements, teams, solutions, invitations, favorites.
use chrono::{DateTime, Utc};
use entity::{
    customers, engagements, favorites, invitations, opportunities, organizations, solutions,
    team_members, users,
};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::rows;
use super::sql::{Sql, id_in};
use uuid::Uuid;

use crate::domain::deal::Stage;

pub async fn opportunity<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<opportunities::Model>, DbErr> {
    opportunities::Entity::find_by_id(id).one(db).await
}

/// The opportunity's version alone (a cheap check that a row read earlier is current).
pub async fn opportunity_version<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<i32>, DbErr> {
    opportunities::Entity::find_by_id(id)
        .select_only()
        .column(opportunities::Column::Version)
        .into_tuple::<i32>()
        .one(db)
        .await
}

pub async fn opportunities_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<opportunities::Model>, DbErr> {
    rows::all(
        db,
        opportunities::Entity::find().filter(id_in(
            db.get_database_backend(),
            opportunities::Column::Id,
            ids,
        )),
    )
    .await
}

/// Every opportunity of the given engagements.
pub async fn opportunities_of_engagements<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<opportunities::Model>, DbErr> {
    rows::all(
        db,
        opportunities::Entity::find()
            .filter(id_in(
                db.get_database_backend(),
                opportunities::Column::EngagementId,
                engagements,
            ))
            .order_by_asc(opportunities::Column::CreatedAt)
            .order_by_asc(opportunities::Column::Id),
    )
    .await
}

pub async fn engagement<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<engagements::Model>, DbErr> {
    engagements::Entity::find_by_id(id).one(db).await
}

pub async fn engagements_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<engagements::Model>, DbErr> {
    rows::all(
        db,
        engagements::Entity::find().filter(id_in(
            db.get_database_backend(),
            engagements::Column::Id,
            ids,
        )),
    )
    .await
}

/// The given engagements each with its customer, in one statement (a page that shows
/// customers needs both: the engagement names the customer).
pub async fn engagements_with_customers<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<(engagements::Model, customers::Model)>, DbErr> {
    let customer = engagements::Entity::belongs_to(customers::Entity)
        .from(engagements::Column::CustomerId)
        .to(customers::Column::Id)
        .into();
    rows::all_pairs(
        db,
        engagements::Entity::find()
            .join(JoinType::InnerJoin, customer)
            .filter(id_in(
                db.get_database_backend(),
                engagements::Column::Id,
                ids,
            )),
    )
    .await
}

/// Takes the engagement's row lock (PostgreSQL) for the rest of the transaction, so
/// writers that change who participates go one at a time.
pub async fn lock_engagement<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    engagements::Entity::update_many()
        .col_expr(engagements::Column::UpdatedAt, Expr::value(now))
        .filter(engagements::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The team members of the given opportunities, in team order.
pub async fn teams<C: ConnectionTrait>(
    db: &C,
    opportunities: &[Uuid],
) -> Result<Vec<team_members::Model>, DbErr> {
    rows::all(
        db,
        team_members::Entity::find()
            .filter(id_in(
                db.get_database_backend(),
                team_members::Column::OpportunityId,
                opportunities,
            ))
            .order_by_asc(team_members::Column::Position)
            .order_by_asc(team_members::Column::Id),
    )
    .await
}

/// The lower-case emails of one opportunity's team.
pub async fn team_emails<C: ConnectionTrait>(
    db: &C,
    opportunity: Uuid,
) -> Result<Vec<String>, DbErr> {
    Ok(teams(db, &[opportunity])
        .await?
        .into_iter()
        .map(|m| m.email_norm)
        .collect())
}

/// The solutions attached to the given opportunities, as (opportunity, solution), in
/// the order they were attached; one statement.
pub async fn solutions_of<C: ConnectionTrait>(
    db: &C,
    opportunities: &[Uuid],
) -> Result<Vec<(Uuid, solutions::Model)>, DbErr> {
    if opportunities.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT l.opportunity_id, ");
    rows::push_columns::<solutions::Model>(&mut sql, "s");
    sql.push(
        " FROM opportunity_solutions l JOIN solutions s ON s.id = l.solution_id \
         WHERE l.opportunity_id",
    );
    sql.push_id_in(opportunities);
    sql.push(" ORDER BY l.created_at, l.solution_id");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .enumerate()
        .map(|(n, r)| {
            Ok((
                rows::Field::at(r, 0, "opportunity_id", n == 0)?,
                <solutions::Model as rows::ByPosition>::decode_at(r, 1, n == 0)?,
            ))
        })
        .collect()
}

/// `SELECT column FROM entity WHERE key IN (keys)`, as a subquery.
fn select_where_in<E: EntityTrait>(
    backend: sea_orm::DbBackend,
    entity: E,
    column: impl ColumnTrait,
    key: impl ColumnTrait,
    keys: &[Uuid],
) -> SelectStatement {
    Query::select()
        .column(column)
        .from(entity)
        .and_where(id_in(backend, key, keys))
        .take()
}

/// The customers of the given engagements.
pub async fn customers_of_engagements<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<customers::Model>, DbErr> {
    rows::all(
        db,
        customers::Entity::find().filter(customers::Column::Id.in_subquery(select_where_in(
            db.get_database_backend(),
            engagements::Entity,
            engagements::Column::CustomerId,
            engagements::Column::Id,
            engagements,
        ))),
    )
    .await
}

/// Every organization with a side in the given engagements (which includes every
/// inviter and invitee of their invitations).
pub async fn organizations_of_engagements<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<organizations::Model>, DbErr> {
    rows::all(
        db,
        organizations::Entity::find().filter(organizations::Column::Id.in_subquery(
            select_where_in(
                db.get_database_backend(),
                opportunities::Entity,
                opportunities::Column::OrganizationId,
                opportunities::Column::EngagementId,
                engagements,
            ),
        )),
    )
    .await
}

/// The team members of every side of the given engagements, in team order.
pub async fn teams_of_engagements<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<team_members::Model>, DbErr> {
    rows::all(
        db,
        team_members::Entity::find()
            .filter(
                team_members::Column::OpportunityId.in_subquery(select_where_in(
                    db.get_database_backend(),
                    opportunities::Entity,
                    opportunities::Column::Id,
                    opportunities::Column::EngagementId,
                    engagements,
                )),
            )
            .order_by_asc(team_members::Column::Position)
            .order_by_asc(team_members::Column::Id),
    )
    .await
}

/// The users who sent the given engagements' invitations.
pub async fn inviters_of_engagements<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<users::Model>, DbErr> {
    rows::all(
        db,
        users::Entity::find().filter(users::Column::Id.in_subquery(select_where_in(
            db.get_database_backend(),
            invitations::Entity,
            invitations::Column::InviterUserId,
            invitations::Column::EngagementId,
            engagements,
        ))),
    )
    .await
}

pub async fn solutions_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<solutions::Model>, DbErr> {
    rows::all(
        db,
        solutions::Entity::find().filter(id_in(
            db.get_database_backend(),
            solutions::Column::Id,
            ids,
        )),
    )
    .await
}

/// The invitations of the given engagements, oldest first.
pub async fn invitations_of<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<invitations::Model>, DbErr> {
    rows::all(
        db,
        invitations::Entity::find()
            .filter(id_in(
                db.get_database_backend(),
                invitations::Column::EngagementId,
                engagements,
            ))
            .order_by_asc(invitations::Column::SentAt)
            .order_by_asc(invitations::Column::Id),
    )
    .await
}

pub async fn invitation<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<invitations::Model>, DbErr> {
    invitations::Entity::find_by_id(id).one(db).await
}

/// Whether `organization` holds an open place (received or accepted) in the engagement.
pub async fn holds_open_place<C: ConnectionTrait>(
    db: &C,
    engagement: Uuid,
    organization: Uuid,
) -> Result<bool, DbErr> {
    let open = [Stage::Received.as_str(), Stage::Accepted.as_str()];
    Ok(opportunities::Entity::find()
        .select_only()
        .column(opportunities::Column::Id)
        .filter(opportunities::Column::EngagementId.eq(engagement))
        .filter(opportunities::Column::OrganizationId.eq(organization))
        .filter(opportunities::Column::Stage.is_in(open))
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some())
}

/// Which of `opportunities` the user has marked as favorites.
pub async fn favorites_of<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    opportunities: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    favorites::Entity::find()
        .select_only()
        .column(favorites::Column::OpportunityId)
        .filter(favorites::Column::UserId.eq(user))
        .filter(id_in(
            db.get_database_backend(),
            favorites::Column::OpportunityId,
            opportunities,
        ))
        .into_tuple::<Uuid>()
        .all(db)
        .await
}

/// A person recently put on a team of the organization: the latest entry of each email.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct RecentTeamMember {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub notify: bool,
    pub created_at: DateTime<Utc>,
}

/// The people most recently put on the teams of the viewer's organization's
/// opportunities (for a referral user, of the opportunities whose team lists it), one
/// entry per email (its latest name, phone and notification choice), newest first.
pub async fn recent_team_members<C: ConnectionTrait>(
    db: &C,
    viewer: &crate::domain::Viewer,
    limit: u64,
) -> Result<Vec<RecentTeamMember>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT name, phone, email, notify, created_at FROM (\
         SELECT t.name, t.phone, t.email, t.notify, t.created_at, t.id, \
         ROW_NUMBER() OVER (PARTITION BY t.email_norm ORDER BY t.created_at DESC, t.id DESC) AS n \
         FROM opportunities o JOIN team_members t ON t.opportunity_id = o.id \
         WHERE o.organization_id = ",
    )
    .bind(viewer.organization_id);
    if !viewer.sees_whole_organization() {
        sql.push(
            " AND EXISTS (SELECT 1 FROM team_members m WHERE m.opportunity_id = o.id \
             AND m.email_norm = ",
        )
        .bind(viewer.email.clone())
        .push(")");
    }
    sql.push(&format!(
        ") latest WHERE n = 1 ORDER BY created_at DESC, id DESC LIMIT {limit}"
    ));
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|r| <RecentTeamMember as sea_orm::FromQueryResult>::from_query_result(r, ""))
        .collect()
}
