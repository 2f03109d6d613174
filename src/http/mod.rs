//! The HTTP surface, and the only module that imports axum: `/graphql` (POST, GET, and
//! the GraphiQL page), its assets, `/healthz`, `/readyz`, and the layers around them
//! (body limit, one log line per request).
mod assets;
mod graphql;
mod ws;

pub use ws::WsLimits;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::graphql::{AppContext, AppSchema};

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub schema: AppSchema,
    pub ctx: AppContext,
    pub ws: WsLimits,
    /// Turns `true` when the server shuts down.
    pub stop: tokio::sync::watch::Receiver<bool>,
}

/// The router with every route and layer.
pub fn router(state: HttpState, max_body_bytes: usize, cors_origins: &[String]) -> Router {
    let router = Router::new()
        .route(
            "/graphql",
            get(graphql::get_graphql).post(graphql::post_graphql),
        )
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphql/assets/{file}", get(assets::serve))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        );
    match cors(cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// Cross-origin access for browser front ends on other origins, when configured.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<&String> = origins.iter().filter(|o| !o.trim().is_empty()).collect();
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o.trim() == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.trim().parse().ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
            ])
            .max_age(Duration::from_secs(3600)),
    )
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers (within two seconds).
async fn readyz(State(state): State<HttpState>) -> (StatusCode, &'static str) {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.ctx.database_ready()).await;
    match ping {
        Ok(true) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}
