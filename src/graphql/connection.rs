//! Relay connections with `totalCount`, built from store pages.
use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};

use crate::error::{UserError, UserErrorCode};
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};
use crate::store::{KeyCursor, Page, PageArgs};

/// Fields every connection has besides edges and page info.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionFields {
    /// How many items match, over all pages.
    pub total_count: i64,
}

pub type Conn<T> = Connection<String, T, ConnectionFields>;

/// Reads `first` and `after`: at most [`MAX_PAGE`] items, after a cursor of ours.
pub fn page_args(first: Option<i32>, after: Option<String>) -> Result<PageArgs, UserError> {
    let first = match first {
        None => DEFAULT_PAGE,
        Some(n) if (0..=MAX_PAGE as i32).contains(&n) => n as usize,
        Some(n) => {
            return Err(UserError::new(
                UserErrorCode::BadUserInput,
                format!("first must be between 0 and {MAX_PAGE} (got {n})"),
                &["first"],
            ));
        }
    };
    let after = match after {
        None => None,
        Some(s) => Some(KeyCursor::decode(&s).ok_or_else(|| {
            UserError::new(
                UserErrorCode::BadUserInput,
                "after is not a valid cursor",
                &["after"],
            )
        })?),
    };
    Ok(PageArgs { first, after })
}

/// A connection over `page`, each row turned into a node by `node`.
pub fn connection<M, T: OutputType>(page: Page<M>, node: impl Fn(M) -> T) -> Conn<T> {
    let mut conn = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ConnectionFields {
            total_count: page.total,
        },
    );
    conn.edges.extend(
        page.rows
            .into_iter()
            .map(|(cursor, m)| Edge::new(cursor.encode(), node(m))),
    );
    conn
}
