//! The one integration test binary: every test starts the real server on a random port
//! with a fresh database and speaks GraphQL over HTTP. Each test runs on SQLite and, when
//! PostgreSQL is reachable, on PostgreSQL too (see `helpers::Backend`).
mod helpers;

mod architecture;
mod authorization;
mod customers;
mod directory;
mod http;
mod lifecycle;
mod schema;
mod tokens;
mod views;
