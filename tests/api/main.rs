//! The one integration test binary: every test starts the real server on a random port
//! with a fresh database and speaks GraphQL over HTTP. Each test runs on SQLite and, when
//! PostgreSQL is reachable, on PostgreSQL too (see `helpers::Backend`).
mod helpers;
mod smtp_sink;

mod accounts;
mod architecture;
mod authorization;
mod chaos;
mod customers;
mod directory;
mod email;
mod hostile;
mod http;
mod insights;
mod lifecycle;
mod live;
mod partners;
mod property;
mod queries;
mod race;
mod registration;
mod rows;
mod schema;
mod storage;
mod tokens;
mod views;
