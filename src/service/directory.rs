//! Reading the directory: organizations, users, tenants, partners and solutions, each
//! as the viewer may see it.
use entity::{organizations, solutions, tenants, users};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::domain::Viewer;
use crate::error::AppError;
use crate::store::directory::{self, SolutionScope};
use crate::store::search::TextQuery;
use crate::store::{Page, PageArgs};

/// Organizations are public profiles: any signed-in user may read one.
pub async fn organization(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<organizations::Model>, AppError> {
    Ok(directory::organization(db, id).await?)
}

/// A user is visible to the users of its own organization.
pub async fn user(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<users::Model>, AppError> {
    Ok(directory::user(db, id)
        .await?
        .filter(|u| u.organization_id == viewer.organization_id))
}

/// The directory tenants linked to an organization: shown to its own users only.
pub async fn tenants(
    db: &DatabaseConnection,
    viewer: &Viewer,
    organization: Uuid,
) -> Result<Vec<tenants::Model>, AppError> {
    if organization != viewer.organization_id {
        return Ok(Vec::new());
    }
    Ok(directory::tenants_of(db, organization).await?)
}

pub async fn tenant(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<tenants::Model>, AppError> {
    Ok(directory::tenant(db, id)
        .await?
        .filter(|t| t.organization_id == viewer.organization_id))
}

/// The solution catalog.
pub async fn solutions(
    db: &DatabaseConnection,
    viewer: &Viewer,
    search: Option<&str>,
    scope: Option<SolutionScope>,
    co_sell_ready: Option<bool>,
    args: &PageArgs,
) -> Result<Page<solutions::Model>, AppError> {
    let q = TextQuery::parse(search);
    Ok(directory::solutions_page(
        db,
        viewer.organization_id,
        scope,
        co_sell_ready,
        q.as_ref(),
        args,
    )
    .await?)
}

/// One solution: the viewer's own, or another organization's co-sell-ready one.
pub async fn solution(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<solutions::Model>, AppError> {
    Ok(directory::solution(db, id)
        .await?
        .filter(|s| s.co_sell_ready || s.publisher_id == viewer.organization_id))
}

/// What an organization publishes, as the viewer may see it.
pub async fn published_solutions(
    db: &DatabaseConnection,
    viewer: &Viewer,
    publisher: Uuid,
) -> Result<Vec<solutions::Model>, AppError> {
    let rows = directory::solutions_of(db, publisher).await?;
    Ok(rows
        .into_iter()
        .filter(|s| s.co_sell_ready || s.publisher_id == viewer.organization_id)
        .collect())
}

/// The viewer's own user, tenant and organization rows.
pub async fn viewer_profile(
    db: &DatabaseConnection,
    viewer: &Viewer,
) -> Result<(users::Model, tenants::Model, organizations::Model), AppError> {
    let missing = |what: &str| AppError::Unauthenticated(format!("{what} no longer exists"));
    let user = directory::user(db, viewer.user_id)
        .await?
        .ok_or_else(|| missing("user"))?;
    let tenant = directory::tenant(db, viewer.tenant_id)
        .await?
        .ok_or_else(|| missing("tenant"))?;
    let org = directory::organization(db, viewer.organization_id)
        .await?
        .ok_or_else(|| missing("organization"))?;
    Ok((user, tenant, org))
}
