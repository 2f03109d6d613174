//! Writing and matching many rows per statement, for the sweeps: on PostgreSQL one
//! `INSERT ... SELECT FROM unnest(arrays)` with one array bind per column, so the
//! statement text (prepared once) is the same whatever the row count; on SQLite
//! multi-row `VALUES` in chunks that stay under its bind limit.
use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};
use uuid::Uuid;

use crate::store::Sql;

/// SQLite's default limit on binds per statement is 32766; stay well below it.
const SQLITE_BINDS: usize = 30_000;

/// A column whose value differs per row.
pub struct Col {
    pub name: &'static str,
    /// The element type of its PostgreSQL array.
    pub ty: ArrayType,
    /// The PostgreSQL type of an element (`uuid`, `text`, …).
    pub pg: &'static str,
    /// Holds `Value::Uuid(None)` for some rows (only uuid columns may).
    pub nullable: bool,
}

impl Col {
    pub const fn new(name: &'static str, ty: ArrayType, pg: &'static str) -> Self {
        Col {
            name,
            ty,
            pg,
            nullable: false,
        }
    }

    pub const fn nullable_uuid(name: &'static str) -> Self {
        Col {
            name,
            ty: ArrayType::Uuid,
            pg: "uuid",
            nullable: true,
        }
    }
}

/// A column with one value for every row.
pub enum Fixed {
    /// SQL text (a literal such as `'PENDING'` or `NULL`; never user input).
    Sql(&'static str),
    Bind(Value),
}

/// Inserts the rows held column by column in `values` (`values[c][r]` is column `c` of
/// row `r`, columns as in `cols`), plus the `fixed` columns.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    table: &str,
    cols: &[Col],
    values: Vec<Vec<Value>>,
    fixed: &[(&str, Fixed)],
) -> Result<(), DbErr> {
    debug_assert_eq!(cols.len(), values.len());
    let rows = values.first().map_or(0, Vec::len);
    if rows == 0 {
        return Ok(());
    }
    let names: Vec<&str> = cols
        .iter()
        .map(|c| c.name)
        .chain(fixed.iter().map(|f| f.0))
        .collect();
    let head = format!("INSERT INTO {table} ({}) ", names.join(", "));
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let mut sql = Sql::new(DbBackend::Postgres);
            sql.push(&head).push("SELECT ");
            for (i, c) in cols.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                if c.nullable {
                    sql.push("NULLIF(u.c")
                        .push(&i.to_string())
                        .push(", '00000000-0000-0000-0000-000000000000'::uuid)");
                } else {
                    sql.push("u.c").push(&i.to_string());
                }
            }
            for (_, f) in fixed {
                sql.push(", ");
                match f {
                    Fixed::Sql(text) => sql.push(text),
                    Fixed::Bind(v) => sql.bind(v.clone()),
                };
            }
            sql.push(" FROM unnest(");
            for (i, (c, column)) in cols.iter().zip(values).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                let column = if c.nullable {
                    column
                        .into_iter()
                        .map(|v| match v {
                            Value::Uuid(None) => Value::Uuid(Some(Uuid::nil())),
                            v => v,
                        })
                        .collect()
                } else {
                    column
                };
                sql.bind(Value::Array(c.ty.clone(), Some(Box::new(column))))
                    .push("::")
                    .push(c.pg)
                    .push("[]");
            }
            sql.push(") AS u(");
            for i in 0..cols.len() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("c").push(&i.to_string());
            }
            sql.push(")");
            db.execute_raw(sql.build()).await?;
        }
        backend => {
            let per_row = cols.len()
                + fixed
                    .iter()
                    .filter(|f| matches!(f.1, Fixed::Bind(_)))
                    .count();
            let chunk = (SQLITE_BINDS / per_row.max(1)).max(1);
            let mut columns: Vec<std::vec::IntoIter<Value>> =
                values.into_iter().map(Vec::into_iter).collect();
            let mut done = 0;
            while done < rows {
                let n = chunk.min(rows - done);
                let mut sql = Sql::new(backend);
                sql.push(&head).push("VALUES ");
                for r in 0..n {
                    sql.push(if r == 0 { "(" } else { ", (" });
                    for (i, column) in columns.iter_mut().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        let v = column.next().ok_or_else(|| {
                            DbErr::Custom("bulk insert: columns of unequal length".into())
                        })?;
                        sql.bind(v);
                    }
                    for (_, f) in fixed {
                        sql.push(", ");
                        match f {
                            Fixed::Sql(text) => sql.push(text),
                            Fixed::Bind(v) => sql.bind(v.clone()),
                        };
                    }
                    sql.push(")");
                }
                db.execute_raw(sql.build()).await?;
                done += n;
            }
        }
    }
    Ok(())
}

/// Appends ` = ANY($n)` (PostgreSQL, one array bind) or ` IN (?, …)` (SQLite) matching
/// `ids`: at most [`MAX_IN`] of them.
pub fn push_in(sql: &mut Sql, ids: &[Uuid]) {
    debug_assert!(ids.len() <= MAX_IN);
    match sql.backend() {
        DbBackend::Postgres => {
            sql.push(" = ANY(").bind(ids.to_vec()).push(")");
        }
        _ if ids.is_empty() => {
            sql.push(" IN (NULL)");
        }
        _ => {
            sql.push(" IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*id);
            }
            sql.push(")");
        }
    }
}

/// The most ids one [`push_in`] may match.
pub const MAX_IN: usize = 10_000;
