//! cosell: a GraphQL API server for co-selling between partner companies and Microsoft.
//!
//! The arrows go one way: `http -> graphql -> service -> domain`, and
//! `service -> store -> entity`. `domain` holds the pure rules.
pub mod app;
pub mod auth;
pub mod bounded;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod seed;
pub mod seed_deals;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::{RunningServer, run};
