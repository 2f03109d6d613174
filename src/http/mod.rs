//! The HTTP surface, and the only module that imports axum: `/graphql` (POST, GET, and
//! the GraphiQL page), its assets, `/healthz`, `/readyz`, and the layers around them
//! (body limit, one log line per request).
mod assets;
mod graphql;
mod ratelimit;
mod ws;

pub use ratelimit::RateLimiter;

pub use ws::WsLimits;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::ErrorCode;
use crate::graphql::{AppContext, AppSchema};

/// What the handlers share. Cloned for every request (axum hands each handler and
/// middleware its own copy), so everything in it is a handle: the context sits behind an
/// `Arc` (cloning it field by field, token keys included, was a tenth of a trivial
/// request's CPU).
#[derive(Clone)]
pub struct HttpState {
    pub schema: AppSchema,
    pub ctx: std::sync::Arc<AppContext>,
    pub ws: WsLimits,
    /// Turns `true` when the server shuts down.
    pub stop: tokio::sync::watch::Receiver<bool>,
    pub limiter: RateLimiter,
    /// Admission to execution (see [`admission`]).
    pub admission: std::sync::Arc<tokio::sync::Semaphore>,
    /// Most operations one batched `POST` may hold (0: batches are refused).
    pub max_batch: usize,
}

/// The semaphore that lets `limit` GraphQL executions run at once (0: no limit, the
/// default). The others queue first come, first served: a guard for an operator whose
/// clients burst past what the machine and the database pool serve well. It is off by
/// default because on the benchmark's page at 16 clients it bought nothing measurable
/// (bench/README.md).
pub fn admission(limit: usize) -> std::sync::Arc<tokio::sync::Semaphore> {
    let limit = if limit == 0 {
        tokio::sync::Semaphore::MAX_PERMITS
    } else {
        limit
    };
    std::sync::Arc::new(tokio::sync::Semaphore::new(limit))
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
        .route("/metrics", get(prometheus))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        // Outside the body limit, so that its 413 is coded too.
        .layer(axum::middleware::from_fn(observe));
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

/// Prometheus text exposition of the process's metrics.
async fn prometheus() -> (
    StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    String,
) {
    let body = crate::telemetry::metrics()
        .map(|h| h.render())
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
}

/// One GraphQL error with its code, as every refusal made outside GraphQL's execution
/// writes it (over HTTP in `{"errors": [...]}`, over WebSocket in an `error` message).
fn coded_error(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "message": message, "extensions": { "code": code.as_str() } })
}

/// Every refusal of `/graphql` that happens outside GraphQL (a body over the limit, a
/// foreign content type, JSON that does not parse, a mutation over GET) still answers
/// as GraphQL does: JSON errors with an `extensions.code`.
async fn coded_refusal(graphql: bool, resp: axum::response::Response) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !graphql || !status.is_client_error() || is_json {
        return resp;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::QueryTooComplex,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::GraphqlValidationFailed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        _ => ErrorCode::GraphqlParseFailed,
    };
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let message = String::from_utf8_lossy(&bytes).trim().to_owned();
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        message
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    let body = serde_json::json!({ "errors": [coded_error(code, &message)] });
    (parts, axum::Json(body)).into_response()
}

/// The routes, as the request metrics name them.
const ROUTES: [&str; 6] = [
    "/graphql",
    "/graphql/ws",
    "/graphql/assets/{file}",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// A status as a label value, without allocating for the common ones.
fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200 => "200",
        101 => "101",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        413 => "413",
        415 => "415",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

/// The one middleware around every route: one log line per request (method, path,
/// status, latency; at `info`), the request metrics by method, route and status (static
/// label values: nothing allocated per request), and the coded refusals of `/graphql`.
/// One layer instead of three (a trace layer, a metrics layer and a refusal layer): each
/// tower layer costs every request a boxed future and a clone of what it wraps, and the
/// three together took a third of a trivial query's time (bench/README.md).
async fn observe(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let method: &'static str = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    };
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str());
    let route: &'static str = ROUTES
        .iter()
        .find(|r| Some(**r) == matched)
        .copied()
        .unwrap_or("unmatched");
    let graphql = req.uri().path() == "/graphql";
    let uri = req.uri().clone();
    let start = std::time::Instant::now();
    let resp = coded_refusal(graphql, next.run(req).await).await;
    let elapsed = start.elapsed();
    let status = resp.status();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(
            method,
            path = uri.path(),
            status = status.as_u16(),
            latency_ms,
            "request failed"
        );
    } else {
        tracing::info!(
            method,
            path = uri.path(),
            status = status.as_u16(),
            latency_ms,
            "request"
        );
    }
    metrics::counter!("cosell_http_requests_total", "method" => method, "route" => route, "status" => status_label(status))
        .increment(1);
    metrics::histogram!("cosell_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    resp
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
