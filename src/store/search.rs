//! Ranked text search over a normalized name column, and the keyset page around it.
//!
//! Rank 0: the whole name equals the query; 1: the name starts with the query; 2: every
//! query word starts some word of the name. Ties go by name, then id.
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use super::page::{KeyCursor, Page, PageArgs};
use super::sql::Sql;
use crate::domain::text::{normalize, prefix_upper, words};

/// The most query words that count; further words are ignored.
pub const MAX_WORDS: usize = 8;

/// A search text, folded the way the stored names are.
#[derive(Debug, Clone)]
pub struct TextQuery {
    pub normalized: String,
    pub words: Vec<String>,
}

impl TextQuery {
    /// `None` when the text has no letter or digit: no text filter then.
    pub fn parse(text: Option<&str>) -> Option<TextQuery> {
        let normalized = normalize(text?);
        let mut w = words(&normalized);
        if w.is_empty() {
            return None;
        }
        w.truncate(MAX_WORDS);
        // The longest word is the most selective: it drives the index look-up.
        w.sort_by_key(|x| std::cmp::Reverse(x.len()));
        Some(TextQuery {
            normalized,
            words: w,
        })
    }

    /// The rank expression over `col` (a normalized name column).
    pub fn push_rank(&self, sql: &mut Sql, col: &str) {
        sql.push("CASE WHEN ")
            .push(col)
            .push(" = ")
            .bind(self.normalized.clone())
            .push(" THEN 0 WHEN ")
            .push(col)
            .push(" >= ")
            .bind(self.normalized.clone())
            .push(" AND ")
            .push(col)
            .push(" < ")
            .bind(prefix_upper(&self.normalized))
            .push(" THEN 1 ELSE 2 END");
    }

    /// ` AND` conditions that every query word starts a word of `col`, for tables
    /// without a word index (small ones: organizations, solutions).
    pub fn push_word_match(&self, sql: &mut Sql, col: &str) {
        for w in &self.words {
            sql.push(" AND (' ' || ")
                .push(col)
                .push(") LIKE ")
                .bind(format!("% {w}%"));
        }
    }

    /// ` AND` conditions through a word table `(word, <owner_col>)`, index-friendly.
    pub fn push_word_index(&self, sql: &mut Sql, table: &str, owner_col: &str, id_expr: &str) {
        for (i, w) in self.words.iter().enumerate() {
            if i == 0 {
                sql.push(" AND ").push(id_expr).push(" IN (SELECT ");
                sql.push(owner_col).push(" FROM ").push(table);
                sql.push(" WHERE word >= ").bind(w.clone());
                sql.push(" AND word < ").bind(prefix_upper(w)).push(")");
            } else {
                sql.push(" AND EXISTS (SELECT 1 FROM ")
                    .push(table)
                    .push(" w WHERE w.");
                sql.push(owner_col).push(" = ").push(id_expr);
                sql.push(" AND w.word >= ").bind(w.clone());
                sql.push(" AND w.word < ").bind(prefix_upper(w)).push(")");
            }
        }
    }
}

/// Runs `inner` (a `SELECT` whose rows have `id`, `name_norm` and `search_rank`) as one
/// page after `args.after`, ordered by rank, name and id, with the total count.
pub async fn ranked_page<M, C>(db: &C, inner: &Sql, args: &PageArgs) -> Result<Page<M>, DbErr>
where
    M: FromQueryResult,
    C: ConnectionTrait,
{
    let count_stmt = inner
        .wrapped("SELECT COUNT(*) AS total FROM (", ") s")
        .build();
    let total: i64 = match db.query_one_raw(count_stmt).await? {
        Some(row) => row.try_get("", "total")?,
        None => 0,
    };

    let mut page = inner.wrapped("SELECT * FROM (", ") s WHERE 1 = 1");
    if let Some(c) = &args.after {
        page.push(" AND (s.search_rank > ")
            .bind(c.rank)
            .push(" OR (s.search_rank = ")
            .bind(c.rank)
            .push(" AND (s.name_norm > ")
            .bind(c.key.clone())
            .push(" OR (s.name_norm = ")
            .bind(c.key.clone())
            .push(" AND s.id > ")
            .bind(c.id)
            .push("))))");
    }
    page.push(" ORDER BY s.search_rank, s.name_norm, s.id LIMIT ")
        .bind((args.first + 1) as i64);
    let rows = db.query_all_raw(page.build()).await?;
    let has_next = rows.len() > args.first;
    let mut out = Vec::with_capacity(rows.len().min(args.first));
    for row in rows.iter().take(args.first) {
        let cursor = KeyCursor {
            rank: row.try_get::<i32>("", "search_rank")?,
            key: row.try_get::<String>("", "name_norm")?,
            id: row.try_get::<Uuid>("", "id")?,
        };
        out.push((cursor, M::from_query_result(row, "")?));
    }
    Ok(Page {
        rows: out,
        has_next,
        has_previous: args.after.is_some(),
        total,
    })
}
