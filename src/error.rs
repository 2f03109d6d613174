//! The one error type of the server and its GraphQL codes.
//!
//! Expected failures of a mutation are [`UserError`]s in its payload; everything else is
//! a top-level GraphQL error whose `extensions.code` is an [`ErrorCode`]. In async-graphql
//! 7 a bare `?` on a foreign error drops `extensions.code`, so resolvers convert through
//! [`AppError::into_graphql`] (or [`GqlResult::gql`]) and nowhere else.
use async_graphql::{Enum, ErrorExtensions, SimpleObject};

use crate::domain::InvalidValue;

/// Codes of the expected failures a mutation reports in its `userErrors`.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserErrorCode {
    /// An input is malformed or breaks a rule of its own (length, format, range).
    BadUserInput,
    /// The object does not exist, or the caller may not see it.
    NotFound,
    /// The caller sees the object but may not do this to it.
    Forbidden,
    /// The object's stage does not allow this action; the message names both.
    InvalidTransition,
    /// The invitation's response window has passed.
    InvitationExpired,
    /// `expectedVersion` differs from the object's current version.
    Conflict,
    /// The idempotency key was used before with a different request.
    IdempotencyKeyReused,
}

/// An expected failure of a mutation. The mutation that returns one wrote nothing.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// What kind of failure this is, for programs.
    pub code: UserErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// The path of the input field at fault, e.g. `["input", "duns"]`; empty when the
    /// failure concerns the whole request.
    pub field: Vec<String>,
}

impl UserError {
    pub fn new(code: UserErrorCode, message: impl Into<String>, field: &[&str]) -> Self {
        UserError {
            code,
            message: message.into(),
            field: field.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// A `BAD_USER_INPUT` for `field`, from a value type's refusal.
    pub fn invalid(field: &[&str], why: InvalidValue) -> Self {
        let name = field.last().copied().unwrap_or("input");
        Self::new(UserErrorCode::BadUserInput, format!("{name} {why}"), field)
    }

    /// A `BAD_USER_INPUT` for a field path built at run time.
    pub fn invalid_at(field: Vec<String>, why: InvalidValue) -> Self {
        let name = field.last().cloned().unwrap_or_else(|| "input".into());
        UserError {
            code: UserErrorCode::BadUserInput,
            message: format!("{name} {why}"),
            field,
        }
    }

    /// Any code, for a field path built at run time.
    pub fn at(code: UserErrorCode, message: impl Into<String>, field: Vec<String>) -> Self {
        UserError {
            code,
            message: message.into(),
            field,
        }
    }

    pub fn not_found(what: &str, field: &[&str]) -> Self {
        Self::new(UserErrorCode::NotFound, format!("{what} not found"), field)
    }
}

impl From<crate::domain::deal::InvalidTransition> for UserError {
    fn from(e: crate::domain::deal::InvalidTransition) -> Self {
        UserError::new(UserErrorCode::InvalidTransition, e.to_string(), &[])
    }
}

impl From<crate::domain::deal::InvalidTransition> for AppError {
    fn from(e: crate::domain::deal::InvalidTransition) -> Self {
        AppError::User(vec![e.into()])
    }
}

/// The one place where the invitation table's refusals get their codes.
pub fn invite_refusal(e: crate::domain::invite::InviteRefusal, field: Vec<String>) -> UserError {
    use crate::domain::invite::InviteRefusal as R;
    let code = match e {
        R::NotFromInbound => UserErrorCode::Forbidden,
        R::SelfInvite | R::AlreadyParticipates | R::ConsentRequired => UserErrorCode::BadUserInput,
    };
    UserError::at(code, e.to_string(), field)
}

/// Codes of top-level errors (`extensions.code`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    QueryTooComplex,
    RateLimited,
    InternalServerError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

/// Everything a service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Expected failures, reported in a mutation's payload.
    #[error("user errors: {0:?}")]
    User(Vec<UserError>),
    /// No valid token, or its user or tenant is gone.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Anything unexpected: logged in full, shown as `INTERNAL_SERVER_ERROR`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<UserError> for AppError {
    fn from(e: UserError) -> Self {
        AppError::User(vec![e])
    }
}

/// A top-level GraphQL error with the given code.
pub fn coded(code: ErrorCode, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

impl AppError {
    /// The one conversion into a GraphQL error: every error leaves with a code, and
    /// internal details only reach the log.
    pub fn into_graphql(self) -> async_graphql::Error {
        match self {
            AppError::Unauthenticated(why) => {
                tracing::debug!(%why, "unauthenticated request");
                coded(
                    ErrorCode::Unauthenticated,
                    "a valid bearer token is required",
                )
            }
            AppError::User(errors) => {
                // A user error where no payload can carry it (a query): the first one
                // becomes the top-level error, with its own code.
                let first = errors.into_iter().next();
                let (code, message) = first
                    .map(|e| (e.code, e.message))
                    .unwrap_or((UserErrorCode::BadUserInput, "bad input".into()));
                let code_value = async_graphql::InputType::to_value(&code);
                async_graphql::Error::new(message)
                    .extend_with(move |_, e| e.set("code", code_value.clone()))
            }
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                coded(ErrorCode::InternalServerError, "internal server error")
            }
        }
    }
}

/// `.gql()` on a service result: the conversion resolvers use instead of `?`.
pub trait GqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<AppError>> GqlResult<T> for Result<T, E> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().into_graphql())
    }
}
