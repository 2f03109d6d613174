//! One function per use case. A writing use case opens one transaction, checks the rules
//! on rows read inside it, writes, and commits; a refusal returns user errors and rolls
//! back, so nothing is written.
pub mod customers;
pub mod directory;
pub mod session;

use crate::error::{AppError, UserError};

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
