//! The GraphQL schema: types, queries, mutations, loaders and the guards that find the
//! viewer. Never imports axum: the HTTP layer hands over the bearer token as data.
pub mod account_mutation;
pub mod connection;
pub mod context;
pub mod deal_mutation;
pub mod deal_query;
pub mod deal_types;
pub mod extension;
pub mod ids;
pub mod insights;
pub mod loaders;
pub mod mutation;
pub mod plain;
pub mod query;
pub mod registration;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{Data, MergedObject, Request, Response, Schema};
use futures_util::stream::{BoxStream, StreamExt};

pub use context::{AppContext, Session};

/// The query root.
#[derive(MergedObject, Default)]
pub struct Query(
    query::DirectoryQuery,
    deal_query::DealQuery,
    insights::InsightsQuery,
    registration::RegistrationQuery,
);

/// The mutation root. Each mutation takes one `input` and returns a payload with what it
/// produced and `userErrors`; a mutation that returns a user error wrote nothing.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::DirectoryMutation,
    deal_mutation::DealMutation,
    account_mutation::AccountMutation,
    registration::RegistrationMutation,
);

/// The schema, with the screen every request passes before it runs and the error codes
/// every response gets after; what the HTTP layer serves.
#[derive(Clone)]
pub struct AppSchema {
    schema: Schema<Query, Mutation, subscription::SubscriptionRoot>,
    screen: extension::Screen,
}

impl AppSchema {
    /// Runs a query or mutation.
    pub async fn execute(&self, req: impl Into<Request>) -> Response {
        let mut req = req.into();
        if let Some(resp) = self.screen.check(&mut req) {
            return resp;
        }
        if extension::runs_mutation(&mut req) {
            context::LazyLoaders::for_mutation(&mut req.data);
        }
        let mut resp = self.schema.execute(req).await;
        extension::code_errors(&mut resp);
        resp
    }

    /// Runs any operation as a stream of responses (a subscription's events).
    pub fn execute_stream_with_session_data(
        &self,
        req: impl Into<Request>,
        data: Arc<Data>,
    ) -> BoxStream<'static, Response> {
        let mut req = req.into();
        if let Some(resp) = self.screen.check(&mut req) {
            return futures_util::stream::once(async move { resp }).boxed();
        }
        self.schema
            .execute_stream_with_session_data(req, data)
            .map(|mut resp| {
                extension::code_errors(&mut resp);
                resp
            })
            .boxed()
    }

    /// Data the schema was built with.
    pub fn data<D: std::any::Any + Send + Sync>(&self) -> Option<&D> {
        self.schema.data::<D>()
    }

    /// The bare async-graphql schema, with no screen and no error codes (the benchmark
    /// serves it with no middleware either, as the baseline of the whole stack).
    pub fn inner(&self) -> &Schema<Query, Mutation, subscription::SubscriptionRoot> {
        &self.schema
    }

    /// The SDL.
    pub fn sdl(&self) -> String {
        self.schema.sdl()
    }
}

/// Limits applied before any resolver runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// Production: no introspection, no field suggestions in errors.
    pub production: bool,
}

/// Builds the schema with its limits, its error-code extension and the shared context.
pub fn build_schema(ctx: Option<AppContext>, limits: Limits) -> AppSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::SubscriptionRoot,
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(64);
    if limits.production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    if let Some(ctx) = ctx {
        builder = builder.data(ctx);
    }
    AppSchema {
        schema: builder.finish(),
        screen: extension::Screen {
            max_aliases: limits.max_aliases,
            max_root_fields: limits.max_root_fields,
            parsed: Default::default(),
        },
    }
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema(
        None,
        Limits {
            max_depth: 1,
            max_complexity: 1,
            max_aliases: 0,
            max_root_fields: 0,
            production: false,
        },
    )
    .sdl()
}

/// The data of a WebSocket connection, from its `connection_init` token; fails (and
/// the socket closes) when the token does not sign anyone in.
pub async fn connection_data(
    ctx: &AppContext,
    token: Option<String>,
) -> Result<Data, crate::error::AppError> {
    let token = token.ok_or_else(|| crate::error::AppError::Unauthenticated("no token".into()))?;
    let viewer = crate::service::session::authenticate(&ctx.db, &ctx.keys, &token).await?;
    let mut data = Data::default();
    data.insert(Session::signed_in(viewer));
    data.insert(context::LazyLoaders::uncached(&ctx.db));
    Ok(data)
}

/// Attaches a request's session (its bearer token) and per-request loaders.
pub fn prepare_request(
    req: async_graphql::Request,
    ctx: &AppContext,
    token: Option<String>,
) -> async_graphql::Request {
    req.data(Session::new(token, &ctx.sign_ins))
        .data(context::LazyLoaders::cached(&ctx.db))
}
