//! The baseline of the middleware measurement (`bench/run`, scenario `trivial`): cosell's
//! schema served by async-graphql-axum's stock handler on a bare axum router, with none
//! of cosell's stack: no bearer-token session, rate limit, body limit, request log,
//! metrics, CORS, document screen or error codes. `{ __typename }` needs no database.
//!
//! `cargo run --release --example bare -- 127.0.0.1:18199`
use async_graphql_axum::GraphQL;
use axum::Router;
use axum::routing::post_service;

/// The same allocator as the server.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18199".to_owned());
    let schema = cosell::graphql::build_schema(
        None,
        cosell::graphql::Limits {
            max_depth: 32,
            max_complexity: 100_000,
            max_aliases: 1_000,
            max_root_fields: 1_000,
            production: false,
        },
    );
    let app = Router::new().route(
        "/graphql",
        post_service(GraphQL::new(schema.inner().clone())),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("bare schema on http://{listen}/graphql");
    axum::serve(listener, app).await
}
