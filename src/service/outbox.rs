//! What admins see of the email outbox: the emails that could not be delivered.
use entity::email_outbox;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::domain::Viewer;
use crate::error::{AppError, UserError, UserErrorCode};

/// The organization's emails that failed for good, newest first. Admins only.
pub async fn failed(
    db: &DatabaseConnection,
    viewer: &Viewer,
    limit: u64,
) -> Result<Vec<email_outbox::Model>, AppError> {
    if !viewer.sees_whole_organization() {
        return Err(UserError::new(
            UserErrorCode::Forbidden,
            "only referral and account admins see failed emails",
            &[],
        )
        .into());
    }
    let mut rows = email_outbox::Entity::find()
        .filter(email_outbox::Column::OrganizationId.eq(viewer.organization_id))
        .filter(email_outbox::Column::Status.eq("FAILED"))
        .order_by_desc(email_outbox::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?;
    // Emails queued as facts get their subject (and bodies) as the worker rendered
    // them; only the subject is shown, so the link's base does not matter. One that
    // could not be rendered keeps its empty subject (its error says why).
    crate::email::deferred::render_rows(db, "", &mut rows).await?;
    Ok(rows)
}
