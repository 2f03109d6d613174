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
    let row = directory::sign_in(db, claims.sub, claims.tid)
        .await?
        .filter(|r| r.active)
        .ok_or_else(|| AppError::Unauthenticated("unknown or inactive user".into()))?;
    if !row.tenant_linked {
        return Err(AppError::Unauthenticated(
            "tenant not linked to the user".into(),
        ));
    }
    let kind: OrgKind = row
        .organization_kind
        .parse()
        .map_err(|e: String| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(Viewer {
        user_id: claims.sub,
        email: row.email.to_lowercase(),
        organization_id: row.organization_id,
        organization_kind: kind,
        tenant_id: claims.tid,
        roles: Role::parse_list(&row.roles),
    })
}
