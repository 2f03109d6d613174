//! Reading deals as the viewer may: the list tabs, one invitation.
use std::str::FromStr;

use entity::invitations;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::deals::visible;
use crate::domain::Viewer;
use crate::domain::values::CountryCode;
use crate::error::{AppError, UserError, UserErrorCode};
use crate::store::deals as store;
use crate::store::opportunity_list::{self, ListFilter, ListPage, Sort, TabCounts, View, Window};

/// A value bound of a list filter: a non-negative decimal, as stored (ten-thousandths).
pub fn value_bound(s: &str, field: &str) -> Result<i64, AppError> {
    let bad = || {
        AppError::from(UserError::at(
            UserErrorCode::BadUserInput,
            format!("{field} must be a non-negative decimal with at most 4 decimals"),
            vec!["filter".into(), field.into()],
        ))
    };
    let d = Decimal::from_str(s.trim()).map_err(|_| bad())?.normalize();
    if d.is_sign_negative() || d.scale() > 4 {
        return Err(bad());
    }
    i64::try_from((d * Decimal::from(10_000)).trunc()).map_err(|_| bad())
}

/// A country filter, checked.
pub fn country(s: &str) -> Result<String, AppError> {
    CountryCode::parse(s)
        .map(|c| c.as_str().to_owned())
        .map_err(|why| {
            UserError::at(
                UserErrorCode::BadUserInput,
                format!("customerCountry {why}"),
                vec!["filter".into(), "customerCountry".into()],
            )
            .into()
        })
}

/// One page of a list tab.
pub async fn list(
    db: &DatabaseConnection,
    counts: &TabCounts,
    viewer: &Viewer,
    view: View,
    filter: &ListFilter,
    sort: Sort,
    window: &Window,
) -> Result<ListPage, AppError> {
    opportunity_list::list(db, counts, viewer, view, filter, sort, window)
        .await?
        .ok_or_else(|| {
            UserError::new(
                UserErrorCode::BadUserInput,
                "the cursor belongs to another order or is not valid",
                &["after"],
            )
            .into()
        })
}

/// An invitation, for either of its sides, when the viewer sees that side's
/// opportunity.
pub async fn invitation(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<invitations::Model>, AppError> {
    let Some(inv) = store::invitation(db, id).await? else {
        return Ok(None);
    };
    let side = if inv.inviter_organization_id == viewer.organization_id {
        inv.inviter_opportunity_id
    } else if inv.invitee_organization_id == viewer.organization_id {
        inv.invitee_opportunity_id
    } else {
        return Ok(None);
    };
    match store::opportunity(db, side).await? {
        Some(opp) if visible(db, viewer, &opp).await? => Ok(Some(inv)),
        _ => Ok(None),
    }
}
