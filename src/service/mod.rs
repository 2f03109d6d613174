//! One function per use case. A writing use case opens one transaction, checks the rules
//! on rows read inside it, writes, and commits; a refusal returns user errors and rolls
//! back, so nothing is written.
pub mod accounts;
pub mod bulk;
pub mod customers;
pub mod deal_input;
pub mod deals;
pub mod directory;
pub mod events;
pub mod expiry;
pub mod idempotency;
pub mod insights;
pub mod notify;
pub mod opportunities;
pub mod outbox;
pub mod partners;
pub mod registrations;
pub mod session;
pub mod views;

use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::error::{AppError, UserError};

/// What the use cases need besides their input: the database, the clock, and the
/// configured rules.
#[derive(Clone)]
pub struct Deps {
    pub db: DatabaseConnection,
    /// Where write transactions run: on SQLite a pool of one connection, so writers
    /// queue in order inside the process instead of polling SQLite's busy lock; on
    /// PostgreSQL the same pool as `db`.
    pub writer: DatabaseConnection,
    /// The mutations' write transactions, on `writer`: on SQLite those that queue for it
    /// commit together (`db::Writes`).
    pub writes: crate::db::Writes,
    pub clock: Clock,
    /// How long an invitee has to answer.
    pub response_window: chrono::Duration,
    /// Told after every commit that wrote events.
    pub bus: crate::events::EventBus,
    /// The front end's base URL, for links in emails.
    pub frontend_url: String,
    /// How long before the window ends the invitee is reminded.
    pub reminder_before: chrono::Duration,
    /// How long after a win the deal may be registered.
    pub registration_period: chrono::Duration,
}

/// A field path such as `["input", "team", "0", "email"]`.
pub fn path(base: &[String], more: &[&str]) -> Vec<String> {
    base.iter()
        .cloned()
        .chain(more.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// Collects the user errors of an input's fields, so one reply names every bad field.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<UserError>,
}

impl Checks {
    /// Keeps the value when it parsed, records the error (for `field`) when not.
    pub fn take<T>(
        &mut self,
        field: &[&str],
        parsed: Result<T, crate::domain::InvalidValue>,
    ) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(why) => {
                self.errors.push(UserError::invalid(field, why));
                None
            }
        }
    }

    /// As [`Checks::take`], for a field path built at run time (list indices).
    pub fn take_at<T>(
        &mut self,
        field: Vec<String>,
        parsed: Result<T, crate::domain::InvalidValue>,
    ) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(why) => {
                self.errors.push(UserError::invalid_at(field, why));
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn push(&mut self, e: UserError) {
        self.errors.push(e);
    }

    /// `Err` with every recorded error, if there is any.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::User(self.errors))
        }
    }
}
