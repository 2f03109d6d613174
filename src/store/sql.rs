//! A small SQL builder that writes the placeholders each database expects (`?` for
//! SQLite, `$n` for PostgreSQL), so one query text serves both.
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbBackend, Statement, Value};
use uuid::Uuid;

/// `column IN (ids)`; on PostgreSQL `column = ANY($1)` with the ids bound as one array.
/// PostgreSQL re-plans a statement with a 50-parameter `IN` list on every execution (its
/// generic plan never looks cheaper than the custom ones: ~0.12 ms of planning each
/// time); with one array parameter it keeps the connection's generic plan after five
/// executions, and the text is the same whatever the count (bench/README.md).
pub fn id_in(backend: DbBackend, column: impl ColumnTrait, ids: &[Uuid]) -> Expr {
    match backend {
        DbBackend::Postgres if !ids.is_empty() => column.eq_any(ids.iter().copied()),
        _ => column.is_in(ids.iter().copied()),
    }
}

#[derive(Debug, Clone)]
pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// As [`id_in`]: ` = ANY($n)` with one array on PostgreSQL, ` IN (...)` otherwise.
    pub fn push_id_in(&mut self, ids: &[Uuid]) -> &mut Self {
        if self.backend == DbBackend::Postgres && !ids.is_empty() {
            self.text.push_str(" = ANY(");
            self.bind(ids.to_vec());
            self.text.push(')');
            self
        } else {
            self.push_in(ids.iter().copied())
        }
    }

    /// Appends SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// ` IN (?, ?, ...)` bound to `values`; ` IN (NULL)` (true of no row) when empty.
    pub fn push_in<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.text.push_str(" IN (");
        let mut any = false;
        for v in values {
            if any {
                self.text.push_str(", ");
            }
            any = true;
            self.bind(v);
        }
        if !any {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }

    /// `prefix`, then this query, then `suffix`; the binds keep their numbers.
    pub fn wrapped(&self, prefix: &str, suffix: &str) -> Self {
        let mut out = self.clone();
        out.text = format!("{prefix}{}{suffix}", self.text);
        out
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let mut pg = Sql::new(DbBackend::Postgres);
        pg.push("a = ").bind(1).push(" AND b = ").bind("x");
        assert_eq!(
            pg.wrapped("SELECT (", ")").build().sql,
            "SELECT (a = $1 AND b = $2)"
        );
        let mut lite = Sql::new(DbBackend::Sqlite);
        lite.push("a = ").bind(1);
        assert_eq!(lite.build().sql, "a = ?");
    }

    #[test]
    fn id_lists_are_one_array_parameter_on_postgres() {
        use sea_orm::{EntityTrait, QueryFilter, QueryTrait};
        let ids = [Uuid::nil(), Uuid::max(), Uuid::from_u128(7)];
        let mut pg = Sql::new(DbBackend::Postgres);
        pg.push("k").push_id_in(&ids);
        let pg = pg.build();
        assert_eq!(pg.sql, "k = ANY($1)");
        assert_eq!(pg.values.map(|v| v.0.len()), Some(1));
        let mut lite = Sql::new(DbBackend::Sqlite);
        lite.push("k").push_id_in(&ids);
        assert_eq!(lite.build().sql, "k IN (?, ?, ?)");
        // The same through sea-orm's builder, as the loaders use it.
        let select = |backend| {
            entity::team_members::Entity::find()
                .filter(id_in(
                    backend,
                    entity::team_members::Column::OpportunityId,
                    &ids,
                ))
                .build(backend)
        };
        let pg = select(DbBackend::Postgres);
        assert!(
            pg.sql.ends_with("\"opportunity_id\" = ANY($1)"),
            "{}",
            pg.sql
        );
        assert_eq!(pg.values.map(|v| v.0.len()), Some(1));
        let lite = select(DbBackend::Sqlite);
        assert!(
            lite.sql.ends_with("\"opportunity_id\" IN (?, ?, ?)"),
            "{}",
            lite.sql
        );
        // No ids: true of no row on both.
        let mut none = Sql::new(DbBackend::Postgres);
        none.push("k").push_id_in(&[]);
        assert_eq!(none.build().sql, "k IN (NULL)");
    }
}
