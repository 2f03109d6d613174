//! Rows of deals: opportunities, engagements, teams, solutions, invitations, favorites.
use chrono::{DateTime, Utc};
use entity::{
    engagements, favorites, invitations, opportunities, opportunity_solutions, solutions,
    team_members,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::domain::deal::Stage;

pub async fn opportunity<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<opportunities::Model>, DbErr> {
    opportunities::Entity::find_by_id(id).one(db).await
}

pub async fn opportunities_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<opportunities::Model>, DbErr> {
    opportunities::Entity::find()
        .filter(opportunities::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Every opportunity of the given engagements.
pub async fn opportunities_of_engagements<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<opportunities::Model>, DbErr> {
    opportunities::Entity::find()
        .filter(opportunities::Column::EngagementId.is_in(engagements.iter().copied()))
        .order_by_asc(opportunities::Column::CreatedAt)
        .order_by_asc(opportunities::Column::Id)
        .all(db)
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
    engagements::Entity::find()
        .filter(engagements::Column::Id.is_in(ids.iter().copied()))
        .all(db)
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
    team_members::Entity::find()
        .filter(team_members::Column::OpportunityId.is_in(opportunities.iter().copied()))
        .order_by_asc(team_members::Column::Position)
        .order_by_asc(team_members::Column::Id)
        .all(db)
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

/// The solutions attached to the given opportunities, as (opportunity, solution).
pub async fn solutions_of<C: ConnectionTrait>(
    db: &C,
    opportunities: &[Uuid],
) -> Result<Vec<(Uuid, solutions::Model)>, DbErr> {
    let links = opportunity_solutions::Entity::find()
        .filter(opportunity_solutions::Column::OpportunityId.is_in(opportunities.iter().copied()))
        .order_by_asc(opportunity_solutions::Column::CreatedAt)
        .order_by_asc(opportunity_solutions::Column::SolutionId)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = links.iter().map(|l| l.solution_id).collect();
    let sols = solutions::Entity::find()
        .filter(solutions::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(links
        .into_iter()
        .filter_map(|l| {
            sols.iter()
                .find(|s| s.id == l.solution_id)
                .map(|s| (l.opportunity_id, s.clone()))
        })
        .collect())
}

pub async fn solutions_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<solutions::Model>, DbErr> {
    solutions::Entity::find()
        .filter(solutions::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// The invitations of the given engagements, oldest first.
pub async fn invitations_of<C: ConnectionTrait>(
    db: &C,
    engagements: &[Uuid],
) -> Result<Vec<invitations::Model>, DbErr> {
    invitations::Entity::find()
        .filter(invitations::Column::EngagementId.is_in(engagements.iter().copied()))
        .order_by_asc(invitations::Column::SentAt)
        .order_by_asc(invitations::Column::Id)
        .all(db)
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
        .filter(favorites::Column::OpportunityId.is_in(opportunities.iter().copied()))
        .into_tuple::<Uuid>()
        .all(db)
        .await
}
