//! Account administration (SPEC §2): an `ACCOUNT_ADMIN` adds and deactivates its
//! organization's users, sets their roles, links and unlinks directory tenants; every
//! user sets its own notifications and locale. The organization always keeps an active
//! account admin who can sign in.
use chrono::Utc;
use entity::{organizations, tenants, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use uuid::Uuid;

use super::Checks;
use crate::db::begin_write;
use crate::domain::values::{Email, Name, Phone};
use crate::domain::{Role, Viewer};
use crate::error::{AppError, UserError, UserErrorCode};

fn require_account_admin(viewer: &Viewer) -> Result<(), AppError> {
    if viewer.roles.contains(&Role::AccountAdmin) {
        Ok(())
    } else {
        Err(UserError::new(
            UserErrorCode::Forbidden,
            "only an account admin manages the organization's users and tenants",
            &[],
        )
        .into())
    }
}

/// Serializes account changes of one organization (PostgreSQL row lock; SQLite has one
/// writer), so two admins cannot each remove "the other" last admin.
async fn lock_organization<C: ConnectionTrait>(db: &C, organization: Uuid) -> Result<(), AppError> {
    organizations::Entity::update_many()
        .col_expr(
            organizations::Column::Name,
            Expr::col(organizations::Column::Name),
        )
        .filter(organizations::Column::Id.eq(organization))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether, with `change` applied to the organization's users and tenants, an active
/// account admin could still sign in.
async fn keeps_an_admin<C: ConnectionTrait>(
    db: &C,
    organization: Uuid,
    change: impl Fn(&mut users::Model, &mut Vec<tenants::Model>),
) -> Result<bool, AppError> {
    let mut tenants = tenants::Entity::find()
        .filter(tenants::Column::OrganizationId.eq(organization))
        .all(db)
        .await?;
    let people = users::Entity::find()
        .filter(users::Column::OrganizationId.eq(organization))
        .all(db)
        .await?;
    let mut ok = false;
    for mut u in people {
        change(&mut u, &mut tenants);
        let can_sign_in = tenants.iter().any(|t| t.id == u.tenant_id && t.linked);
        if u.active && can_sign_in && Role::parse_list(&u.roles).contains(&Role::AccountAdmin) {
            ok = true;
        }
    }
    Ok(ok)
}

fn last_admin(field: &[&str]) -> AppError {
    UserError::new(
        UserErrorCode::BadUserInput,
        "the organization must keep an active account admin who can sign in",
        field,
    )
    .into()
}

fn roles_checked(c: &mut Checks, viewer: &Viewer, roles: &[Role]) {
    if roles.is_empty() {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "give at least one role",
            &["input", "roles"],
        ));
    }
    if roles.contains(&Role::RegistrationReviewer) && !viewer.is_microsoft() {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "only Microsoft users review deal registrations",
            &["input", "roles"],
        ));
    }
}

/// A user to add.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub roles: Vec<Role>,
    pub tenant: Uuid,
}

pub async fn add_user(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewUser,
) -> Result<users::Model, AppError> {
    require_account_admin(viewer)?;
    let mut c = Checks::default();
    let name = c.take(&["input", "name"], Name::parse(&input.name));
    let email = c.take(&["input", "email"], Email::parse(&input.email));
    let phone = match input
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => c
            .take(&["input", "phone"], Phone::parse(p))
            .map(|p| Some(p.as_str().to_owned())),
        None => Some(None),
    };
    roles_checked(&mut c, viewer, &input.roles);
    c.finish()?;
    let (Some(name), Some(email), Some(phone)) = (name, email, phone) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "checks passed without values"
        )));
    };
    let txn = begin_write(db).await?;
    let tenant = tenants::Entity::find_by_id(input.tenant).one(&txn).await?;
    if !tenant.is_some_and(|t| t.organization_id == viewer.organization_id && t.linked) {
        return Err(UserError::not_found("tenant", &["input", "tenantId"]).into());
    }
    if crate::store::directory::user_by_email(&txn, email.as_str())
        .await?
        .is_some()
    {
        return Err(UserError::new(
            UserErrorCode::BadUserInput,
            format!("{} already has an account", email.as_str()),
            &["input", "email"],
        )
        .into());
    }
    let row = users::Model {
        id: Uuid::now_v7(),
        organization_id: viewer.organization_id,
        tenant_id: input.tenant,
        name: name.into_inner(),
        email: email.normalized(),
        phone,
        roles: Role::join(&input.roles),
        locale: None,
        notifications_enabled: true,
        active: true,
        created_at: Utc::now(),
    };
    let row = row.into_active_model().insert(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

async fn own_user<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<users::Model, AppError> {
    users::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|u| u.organization_id == viewer.organization_id)
        .ok_or_else(|| UserError::not_found("user", &["input", "userId"]).into())
}

/// Sets a user's roles; the organization keeps an active account admin.
pub async fn set_roles(
    db: &DatabaseConnection,
    viewer: &Viewer,
    user: Uuid,
    roles: Vec<Role>,
) -> Result<users::Model, AppError> {
    require_account_admin(viewer)?;
    let mut c = Checks::default();
    roles_checked(&mut c, viewer, &roles);
    c.finish()?;
    let txn = begin_write(db).await?;
    lock_organization(&txn, viewer.organization_id).await?;
    let target = own_user(&txn, viewer, user).await?;
    let joined = Role::join(&roles);
    let keeps = keeps_an_admin(&txn, viewer.organization_id, |u, _| {
        if u.id == user {
            u.roles = joined.clone();
        }
    })
    .await?;
    if !keeps {
        return Err(last_admin(&["input", "roles"]));
    }
    let mut m = target.into_active_model();
    m.roles = Set(joined);
    let row = m.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// Deactivates (its tokens stop working at once) or reactivates a user.
pub async fn set_active(
    db: &DatabaseConnection,
    viewer: &Viewer,
    user: Uuid,
    active: bool,
) -> Result<users::Model, AppError> {
    require_account_admin(viewer)?;
    let txn = begin_write(db).await?;
    lock_organization(&txn, viewer.organization_id).await?;
    let target = own_user(&txn, viewer, user).await?;
    if !active {
        let keeps = keeps_an_admin(&txn, viewer.organization_id, |u, _| {
            if u.id == user {
                u.active = false;
            }
        })
        .await?;
        if !keeps {
            return Err(last_admin(&["input", "userId"]));
        }
    }
    let mut m = target.into_active_model();
    m.active = Set(active);
    let row = m.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// Links a directory tenant (a self-service step). A tenant belongs to at most one
/// organization: one linked elsewhere is refused.
pub async fn link_tenant(
    db: &DatabaseConnection,
    viewer: &Viewer,
    tenant: Uuid,
    name: String,
) -> Result<tenants::Model, AppError> {
    require_account_admin(viewer)?;
    let mut c = Checks::default();
    let name = c.take(&["input", "name"], Name::parse(&name));
    c.finish()?;
    let name = name.map(Name::into_inner).unwrap_or_default();
    if tenant.is_nil() {
        return Err(UserError::new(
            UserErrorCode::BadUserInput,
            "tenantId must be a directory tenant id (a UUID)",
            &["input", "tenantId"],
        )
        .into());
    }
    let txn = begin_write(db).await?;
    let row = match tenants::Entity::find_by_id(tenant).one(&txn).await? {
        Some(t) if t.linked && t.organization_id == viewer.organization_id => {
            return Err(UserError::new(
                UserErrorCode::BadUserInput,
                "the tenant is already linked",
                &["input", "tenantId"],
            )
            .into());
        }
        Some(t) if t.linked => {
            return Err(UserError::new(
                UserErrorCode::BadUserInput,
                "the tenant is linked to another organization",
                &["input", "tenantId"],
            )
            .into());
        }
        Some(t) => {
            let mut m = t.into_active_model();
            m.organization_id = Set(viewer.organization_id);
            m.linked = Set(true);
            m.name = Set(name);
            m.update(&txn).await?
        }
        None => {
            tenants::Model {
                id: tenant,
                organization_id: viewer.organization_id,
                name,
                linked: true,
                created_at: Utc::now(),
            }
            .into_active_model()
            .insert(&txn)
            .await?
        }
    };
    txn.commit().await?;
    Ok(row)
}

/// Unlinks a tenant of the organization; its users can no longer sign in through it.
/// Refused while it would leave no active account admin who can sign in.
pub async fn unlink_tenant(
    db: &DatabaseConnection,
    viewer: &Viewer,
    tenant: Uuid,
) -> Result<tenants::Model, AppError> {
    require_account_admin(viewer)?;
    let txn = begin_write(db).await?;
    lock_organization(&txn, viewer.organization_id).await?;
    let t = tenants::Entity::find_by_id(tenant)
        .one(&txn)
        .await?
        .filter(|t| t.organization_id == viewer.organization_id && t.linked)
        .ok_or_else(|| AppError::from(UserError::not_found("tenant", &["input", "tenantId"])))?;
    let keeps = keeps_an_admin(&txn, viewer.organization_id, |_, ts| {
        for x in ts.iter_mut().filter(|x| x.id == tenant) {
            x.linked = false;
        }
    })
    .await?;
    if !keeps {
        return Err(last_admin(&["input", "tenantId"]));
    }
    let mut m = t.into_active_model();
    m.linked = Set(false);
    let row = m.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// The viewer's own notification switch and locale.
pub async fn update_my_settings(
    db: &DatabaseConnection,
    viewer: &Viewer,
    notifications: Option<bool>,
    locale: Option<String>,
) -> Result<users::Model, AppError> {
    let locale = match locale.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(l) => {
            let ok = l.len() <= 35
                && l.split('-').all(|p| {
                    !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric())
                })
                && l.split('-').next().is_some_and(|p| {
                    (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic())
                });
            if !ok {
                return Err(UserError::new(
                    UserErrorCode::BadUserInput,
                    "locale must be a BCP 47 tag such as de-DE",
                    &["input", "locale"],
                )
                .into());
            }
            Some(Some(l.to_owned()))
        }
    };
    let txn = begin_write(db).await?;
    let me = users::Entity::find_by_id(viewer.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("user gone".into()))?;
    let mut m = me.into_active_model();
    if let Some(n) = notifications {
        m.notifications_enabled = Set(n);
    }
    if let Some(l) = locale {
        m.locale = Set(l);
    }
    let row = if m.is_changed() {
        m.update(&txn).await?
    } else {
        users::Entity::find_by_id(viewer.user_id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("user gone".into()))?
    };
    txn.commit().await?;
    Ok(row)
}

/// The organization's users, for its admins.
pub async fn users_of(
    db: &DatabaseConnection,
    viewer: &Viewer,
    organization: Uuid,
) -> Result<Vec<users::Model>, AppError> {
    if organization != viewer.organization_id || !viewer.sees_whole_organization() {
        return Ok(Vec::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::OrganizationId.eq(organization))
        .all(db)
        .await?)
}
