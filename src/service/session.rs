//! Who a request acts for: a verified token whose user and tenant exist.
use sea_orm::DatabaseConnection;

use crate::auth::TokenKeys;
use crate::domain::{OrgKind, Role, Viewer};
use crate::error::AppError;
use crate::store::directory;

/// Verifies `token` and loads its viewer. Fails with `Unauthenticated` when the token is
/// malformed, badly signed or expired, or names a user or tenant that does not exist
/// (or no longer belongs to the user's organization), or an inactive user.
pub async fn authenticate(
    db: &DatabaseConnection,
    keys: &TokenKeys,
    token: &str,
) -> Result<Viewer, AppError> {
    let claims = keys.verify(token).map_err(AppError::Unauthenticated)?;
    let user = directory::user(db, claims.sub)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| AppError::Unauthenticated("unknown or inactive user".into()))?;
    let tenant = directory::tenant(db, claims.tid)
        .await?
        .filter(|t| t.linked && t.organization_id == user.organization_id)
        .ok_or_else(|| AppError::Unauthenticated("tenant not linked to the user".into()))?;
    let org = directory::organization(db, user.organization_id)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("organization gone".into()))?;
    let kind: OrgKind = org
        .kind
        .parse()
        .map_err(|e: String| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(Viewer {
        user_id: user.id,
        email: user.email.to_lowercase(),
        organization_id: org.id,
        organization_kind: kind,
        tenant_id: tenant.id,
        roles: Role::parse_list(&user.roles),
    })
}
