//! Organizations, their tenants and users, and the solution catalog.
use entity::{organizations, solutions, tenants, users};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::page::{Page, PageArgs};
use super::search::{TextQuery, ranked_page};
use super::sql::Sql;

pub async fn organization<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find_by_id(id).one(db).await
}

pub async fn user<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find_by_id(id).one(db).await
}

/// What signing in needs in one statement: the user's email, roles and active flag, its
/// organization's kind, and whether `tenant` is a linked tenant of that organization.
#[derive(Debug, sea_orm::FromQueryResult)]
pub struct SignIn {
    pub email: String,
    pub roles: String,
    pub active: bool,
    pub organization_id: Uuid,
    pub organization_kind: String,
    pub tenant_linked: bool,
}

pub async fn sign_in<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    tenant: Uuid,
) -> Result<Option<SignIn>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT u.email, u.roles, u.active, g.id AS organization_id, g.kind AS organization_kind, \
         EXISTS (SELECT 1 FROM tenants t WHERE t.id = ",
    )
    .bind(tenant)
    .push(
        " AND t.organization_id = u.organization_id AND t.linked) AS tenant_linked \
         FROM users u JOIN organizations g ON g.id = u.organization_id WHERE u.id = ",
    )
    .bind(user);
    match db.query_one_raw(sql.build()).await? {
        Some(row) => Ok(Some(
            <SignIn as sea_orm::FromQueryResult>::from_query_result(&row, "")?,
        )),
        None => Ok(None),
    }
}

pub async fn user_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await
}

pub async fn tenant<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<tenants::Model>, DbErr> {
    tenants::Entity::find_by_id(id).one(db).await
}

pub async fn tenants_of<C: ConnectionTrait>(
    db: &C,
    organization: Uuid,
) -> Result<Vec<tenants::Model>, DbErr> {
    tenants::Entity::find()
        .filter(tenants::Column::OrganizationId.eq(organization))
        .order_by_asc(tenants::Column::CreatedAt)
        .order_by_asc(tenants::Column::Id)
        .all(db)
        .await
}

pub async fn solution<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<solutions::Model>, DbErr> {
    solutions::Entity::find_by_id(id).one(db).await
}

/// Which solutions, relative to the viewer's organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolutionScope {
    /// Published by the viewer's organization.
    Own,
    /// Published by Microsoft (when the viewer is not Microsoft).
    Microsoft,
    /// Published by another partner.
    ThirdParty,
}

/// The solution catalog as `viewer_org` sees it: its own solutions, and other
/// organizations' co-sell-ready ones.
pub async fn solutions_page<C: ConnectionTrait>(
    db: &C,
    viewer_org: Uuid,
    scope: Option<SolutionScope>,
    co_sell_ready: Option<bool>,
    text: Option<&TextQuery>,
    args: &PageArgs,
) -> Result<Page<solutions::Model>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT s.*, ");
    match text {
        Some(q) => q.push_rank(&mut sql, "s.name_norm"),
        None => {
            sql.push("0");
        }
    }
    sql.push(" AS search_rank FROM solutions s JOIN organizations p ON p.id = s.publisher_id");
    sql.push(" WHERE (s.publisher_id = ").bind(viewer_org);
    sql.push(" OR s.co_sell_ready = ").bind(true).push(")");
    match scope {
        Some(SolutionScope::Own) => {
            sql.push(" AND s.publisher_id = ").bind(viewer_org);
        }
        Some(SolutionScope::Microsoft) => {
            sql.push(" AND p.kind = 'MICROSOFT' AND s.publisher_id <> ")
                .bind(viewer_org);
        }
        Some(SolutionScope::ThirdParty) => {
            sql.push(" AND p.kind = 'PARTNER' AND s.publisher_id <> ")
                .bind(viewer_org);
        }
        None => {}
    }
    if let Some(ready) = co_sell_ready {
        sql.push(" AND s.co_sell_ready = ").bind(ready);
    }
    if let Some(q) = text {
        q.push_word_match(&mut sql, "s.name_norm");
    }
    ranked_page(db, &sql, args).await
}

/// The solutions `publisher` publishes, by name.
pub async fn solutions_of<C: ConnectionTrait>(
    db: &C,
    publisher: Uuid,
) -> Result<Vec<solutions::Model>, DbErr> {
    solutions::Entity::find()
        .filter(solutions::Column::PublisherId.eq(publisher))
        .order_by_asc(solutions::Column::NameNorm)
        .order_by_asc(solutions::Column::Id)
        .all(db)
        .await
}

/// The one Microsoft organization.
pub async fn microsoft<C: ConnectionTrait>(db: &C) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find()
        .filter(organizations::Column::Kind.eq("MICROSOFT"))
        .one(db)
        .await
}
