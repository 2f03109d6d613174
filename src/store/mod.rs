//! Queries that several services share: ranked text search and keyset pages.
pub mod customers;
pub mod deals;
pub mod directory;
pub mod opportunity_list;
pub mod page;
pub mod rows;
pub mod search;
pub mod sql;

pub use page::{KeyCursor, Page, PageArgs};
pub use sql::Sql;
