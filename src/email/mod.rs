//! Email: the templates, and the outbox worker that delivers what the services queued
//! in their transactions (lettre: SMTP, or `.eml` files when no SMTP is configured).
pub mod deferred;
pub mod templates;
pub mod worker;
