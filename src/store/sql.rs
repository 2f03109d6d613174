//! A small SQL builder that writes the placeholders each database expects (`?` for
//! SQLite, `$n` for PostgreSQL), so one query text serves both.
use sea_orm::{DbBackend, Statement, Value};

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
}
