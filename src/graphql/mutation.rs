//! The mutation root. Each mutation takes one `input` and returns a payload with what it
//! produced and `userErrors`; a mutation that returns a user error wrote nothing.
use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::context::{app, viewer};
use super::types::Customer;
use crate::error::{AppError, UserError};
use crate::service::customers::{self, NewCustomer};

/// Mutations of the directory.
#[derive(Default)]
pub struct DirectoryMutation;

/// A customer the picker did not find.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// Legal name, 1-200 characters.
    pub name: String,
    /// First address line.
    pub address_line1: String,
    /// Second address line.
    pub address_line2: Option<String>,
    /// City.
    pub city: String,
    /// State or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country, ISO 3166-1 alpha-2 (e.g. `DE`).
    pub country: String,
    /// D-U-N-S number: exactly nine digits.
    pub duns: Option<String>,
    /// Website: an absolute http(s) URL.
    pub website: Option<String>,
}

impl From<CreateCustomerInput> for NewCustomer {
    fn from(input: CreateCustomerInput) -> Self {
        NewCustomer {
            name: input.name,
            address_line1: input.address_line1,
            address_line2: input.address_line2,
            city: input.city,
            region: input.region,
            postal_code: input.postal_code,
            country: input.country,
            duns: input.duns,
            website: input.website,
        }
    }
}

/// The result of `createCustomer`.
#[derive(SimpleObject)]
pub struct CreateCustomerPayload {
    /// The new customer; `null` when there are user errors.
    pub customer: Option<Customer>,
    /// Why the customer was not created.
    pub user_errors: Vec<UserError>,
}

/// Splits a service result into the payload's object and user errors; anything
/// unexpected becomes a top-level error.
pub(crate) fn payload<T>(
    r: Result<T, AppError>,
) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match r {
        Ok(v) => Ok((Some(v), Vec::new())),
        Err(AppError::User(errors)) => Ok((None, errors)),
        Err(other) => Err(other.into_graphql()),
    }
}

#[Object]
impl DirectoryMutation {
    /// Creates a customer, after checking every field (name length, nine-digit D-U-N-S,
    /// ISO country, website URL).
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomerInput,
    ) -> async_graphql::Result<CreateCustomerPayload> {
        let v = viewer(ctx).await?;
        let new = NewCustomer::from(input);
        let (customer, user_errors) =
            payload(customers::create(&app(ctx)?.deps.writer, v, new).await)?;
        Ok(CreateCustomerPayload {
            customer: customer.map(Customer::from),
            user_errors,
        })
    }
}
