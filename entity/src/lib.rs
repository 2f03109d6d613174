//! SeaORM entities for the co-sell schema, one module per table, mirroring the
//! `m20261124_000001_init` migration.
//!
//! Relations are deliberately left empty: joins are written explicitly in queries.

pub mod customer_words;
pub mod customers;
pub mod deal_registrations;
pub mod email_outbox;
pub mod engagements;
pub mod event_counter;
pub mod event_visibility;
pub mod events;
pub mod favorites;
pub mod idempotency_keys;
pub mod invitations;
pub mod opportunities;
pub mod opportunity_solutions;
pub mod organizations;
pub mod solutions;
pub mod team_members;
pub mod tenants;
pub mod users;
