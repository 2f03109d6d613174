//! Rows of the read path decoded by position. sea-orm's derived `FromQueryResult` finds
//! every column by name (a hashed lookup per column per row, and for a joined model a
//! `format!` of the prefixed name), and reads an `Option` column by decoding it as the
//! plain type and building, then discarding, a `Null` error when it is NULL. A page of
//! 50 opportunities decodes ~300 rows of ~15 columns, so that was about a quarter of
//! the server's CPU for a page. Here a model is read column by column in the order of
//! [`ByPosition::NAMES`], and the statement selects exactly those columns in that order:
//! both come from one list, and the struct literal the macro writes names every field,
//! so a column cannot be left out, added or misplaced.
use entity::{
    customers, engagements, events, invitations, opportunities, organizations, solutions,
    team_members, users,
};
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::sqlx::{self, Row as _};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryResult, QueryTrait, RuntimeErr, Select};
use uuid::Uuid;

use super::sql::Sql;

/// One column's value, read by position with the same `sqlx` decoding sea-orm uses.
pub trait Field: Sized {
    /// The value of column `i`, named `name` in errors. `first` says that `row` is the
    /// first row of its result: see [`nullable`].
    fn at(row: &QueryResult, i: usize, name: &'static str, first: bool) -> Result<Self, DbErr>;
}

/// Column `i` decoded as `T`, after checking that its type can be read as `T`. A
/// PostgreSQL result's column types belong to the statement, the same for every row, so
/// they are checked on its `first` row (from the column's type, NULL or not: stricter
/// than sqlx's check of each value) and the later rows skip sqlx's per-value check,
/// which was ~4% of the server's CPU for a page. A SQLite value carries its own type,
/// so every SQLite value is checked.
fn nullable<T>(row: &QueryResult, i: usize, first: bool) -> Result<Option<T>, DbErr>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>,
{
    let got = if let Some(r) = row.try_as_pg_row() {
        if first {
            use sqlx::{Column as _, TypeInfo as _};
            let column = r.try_column(i).map_err(sqlx_err)?;
            let ty = column.type_info();
            if !<T as sqlx::Type<sqlx::Postgres>>::compatible(ty) {
                return Err(DbErr::Type(format!(
                    "column {i} ({}) is {}, not {}",
                    column.name(),
                    ty.name(),
                    <T as sqlx::Type<sqlx::Postgres>>::type_info().name(),
                )));
            }
        }
        r.try_get_unchecked::<Option<T>, _>(i)
    } else if let Some(r) = row.try_as_sqlite_row() {
        r.try_get::<Option<T>, _>(i)
    } else {
        return Err(DbErr::Type("a row of neither PostgreSQL nor SQLite".into()));
    };
    got.map_err(sqlx_err)
}

fn sqlx_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(e)))
}

macro_rules! fields {
    ($($t:ty),* $(,)?) => {$(
        impl Field for $t {
            fn at(
                row: &QueryResult,
                i: usize,
                name: &'static str,
                first: bool,
            ) -> Result<Self, DbErr> {
                nullable::<$t>(row, i, first)?
                    .ok_or_else(|| DbErr::Type(format!("column {i} ({name}) is NULL")))
            }
        }

        impl Field for Option<$t> {
            fn at(
                row: &QueryResult,
                i: usize,
                _name: &'static str,
                first: bool,
            ) -> Result<Self, DbErr> {
                nullable::<$t>(row, i, first)
            }
        }
    )*};
}

fields!(
    Uuid,
    String,
    bool,
    i32,
    i64,
    chrono::NaiveDate,
    chrono::DateTime<chrono::Utc>,
    serde_json::Value,
);

/// A model read from consecutive columns, starting at `at`, in the order of `NAMES`.
pub trait ByPosition: Sized {
    type Entity: EntityTrait + Default;
    /// Its columns, in the order they are read.
    const NAMES: &'static [&'static str];
    /// The model from the columns from `at` on; `first`: `row` is its result's first
    /// row (its column types are checked then, see [`nullable`]).
    fn decode_at(row: &QueryResult, at: usize, first: bool) -> Result<Self, DbErr>;
}

macro_rules! by_position {
    ($($module:ident { $($f:ident),* $(,)? })*) => {$(
        impl ByPosition for $module::Model {
            type Entity = $module::Entity;
            const NAMES: &'static [&'static str] = &[$(stringify!($f)),*];

            #[allow(unused_assignments)]
            fn decode_at(row: &QueryResult, at: usize, first: bool) -> Result<Self, DbErr> {
                let mut i = at;
                // A struct literal's fields are evaluated in the order written.
                Ok(Self {$($f: {
                    let v = Field::at(row, i, stringify!($f), first)?;
                    i += 1;
                    v
                },)*})
            }
        }
    )*};
}

by_position! {
    opportunities {
        id, engagement_id, organization_id, direction, stage, deal_name, deal_name_norm,
        search_norm, value_e4, currency, close_date, crm_id, campaign_id, notes,
        invitation_id, expires_at, reminded_at, closed_at, close_reason, close_notes,
        version, created_at, updated_at,
    }
    engagements {
        id, customer_id, originator_id, deal_type, help_wanted, contact_name, contact_phone,
        contact_email, contact_consent, microsoft_invited_at, created_at, updated_at,
    }
    customers {
        id, name, name_norm, address_line1, address_line2, city, city_norm, region,
        postal_code, country, duns, website, created_by_organization_id, created_at,
    }
    invitations {
        id, engagement_id, inviter_organization_id, inviter_user_id, inviter_opportunity_id,
        invitee_organization_id, invitee_opportunity_id, close_date, value_e4, currency,
        notes, help_wanted, team, solution_ids, status, sent_at, expires_at, answered_at,
        answered_by_user_id, decline_reason, decline_notes,
    }
    organizations {
        id, name, name_norm, kind, partner_id, co_sell_ready, country, created_at,
    }
    team_members {
        id, opportunity_id, name, phone, email, email_norm, notify, position, created_at,
    }
    solutions {
        id, name, name_norm, publisher_id, co_sell_ready, registration_eligible, created_at,
    }
    events {
        seq, id, kind, occurred_at, actor_user_id, actor_organization_id, engagement_id,
        opportunity_id, payload,
    }
    users {
        id, organization_id, tenant_id, name, email, phone, roles, locale,
        notifications_enabled, active, created_at,
    }
}

/// Adds `M`'s columns of `M`'s table to what `query` selects, in `M`'s order.
fn select_columns<M: ByPosition>(query: &mut SelectStatement) {
    for name in M::NAMES {
        query.expr(Expr::col((M::Entity::default(), *name)));
    }
}

/// Runs `select` with its own selection replaced by the columns `columns` adds.
async fn run<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    select: Select<E>,
    columns: impl FnOnce(&mut SelectStatement),
) -> Result<Vec<QueryResult>, DbErr> {
    let mut query = select.into_query();
    query.clear_selects();
    columns(&mut query);
    db.query_all_raw(db.get_database_backend().build(&query))
        .await
}

/// The rows `select` finds, decoded by position (its own selection is replaced).
pub async fn all<M: ByPosition, C: ConnectionTrait>(
    db: &C,
    select: Select<M::Entity>,
) -> Result<Vec<M>, DbErr> {
    let rows = run(db, select, select_columns::<M>).await?;
    rows.iter()
        .enumerate()
        .map(|(n, r)| M::decode_at(r, 0, n == 0))
        .collect()
}

/// As [`all`], for a select that joins `B`'s table: each row as `(A, B)`.
pub async fn all_pairs<A: ByPosition, B: ByPosition, C: ConnectionTrait>(
    db: &C,
    select: Select<A::Entity>,
) -> Result<Vec<(A, B)>, DbErr> {
    let rows = run(db, select, |q| {
        select_columns::<A>(q);
        select_columns::<B>(q);
    })
    .await?;
    rows.iter()
        .enumerate()
        .map(|(n, r)| {
            Ok((
                A::decode_at(r, 0, n == 0)?,
                B::decode_at(r, A::NAMES.len(), n == 0)?,
            ))
        })
        .collect()
}

/// Appends `M`'s columns as `alias."name", …`, for a statement written as text.
pub fn push_columns<M: ByPosition>(sql: &mut Sql, alias: &str) {
    for (n, name) in M::NAMES.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        sql.push(alias).push(".\"").push(name).push("\"");
    }
}
