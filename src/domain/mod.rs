//! The rules of co-selling, as plain functions and value types: no database, GraphQL,
//! HTTP or async code lives here, so every rule can be unit-tested in microseconds.
pub mod access;
pub mod deal;
pub mod event;
pub mod global_id;
pub mod invite;
pub mod pipeline;
pub mod principal;
pub mod registration;
pub mod text;
pub mod values;

pub use principal::{OrgKind, Role, Viewer};
pub use values::InvalidValue;
