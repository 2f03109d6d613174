//! The GraphQL schema: types, queries, mutations, loaders and the guards that find the
//! viewer. Never imports axum: the HTTP layer hands over the bearer token as data.
pub mod connection;
pub mod context;
pub mod extension;
pub mod ids;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod types;

use async_graphql::{EmptySubscription, Schema};

pub use context::{AppContext, Session};

/// The schema type served by the HTTP layer.
pub type AppSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// Limits applied before any resolver runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
}

/// Builds the schema with its limits, its error-code extension and the shared context.
pub fn build_schema(ctx: Option<AppContext>, limits: Limits) -> AppSchema {
    let mut builder = Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .extension(extension::ErrorCodes);
    if let Some(ctx) = ctx {
        builder = builder.data(ctx);
    }
    builder.finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema(
        None,
        Limits {
            max_depth: 1,
            max_complexity: 1,
        },
    )
    .sdl()
}

/// Attaches a request's session (its bearer token) and per-request loaders.
pub fn prepare_request(
    req: async_graphql::Request,
    ctx: &AppContext,
    token: Option<String>,
) -> async_graphql::Request {
    req.data(Session::new(token))
        .data(loaders::Loaders::new(&ctx.db))
}
