//! `/graphql` over HTTP: `POST` with a JSON body answers everything (a JSON array of
//! operations too, when batches are on); `GET` with a `query` parameter runs queries
//! (never mutations: `405`); `GET` from a browser with no query serves GraphiQL.
use async_graphql::BatchRequest;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLRequest};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::{HttpState, coded_error};
use crate::error::ErrorCode;
use crate::graphql::prepare_request;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The bearer token of `Authorization`, if any; any other scheme is passed on as given so
/// that it fails verification (`UNAUTHENTICATED`) instead of being ignored.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    Some(token.to_owned())
}

fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|part| part.trim().starts_with(mime)))
}

/// The answer to a request refused before any of it ran: `status` and one coded error.
fn refusal(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [coded_error(code, message)] });
    if status == StatusCode::TOO_MANY_REQUESTS {
        return (status, [(header::RETRY_AFTER, "1")], axum::Json(body)).into_response();
    }
    (status, axum::Json(body)).into_response()
}

fn rate_limited() -> Response {
    refusal(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        "too many requests for this token; slow down",
    )
}

/// Runs one operation with the request's session and loaders, in its turn (the
/// admission semaphore). `true` with it when it never reached execution: it did not
/// parse or validate, or a limit refused it.
async fn run(
    state: &HttpState,
    token: Option<String>,
    req: async_graphql::Request,
) -> (async_graphql::Response, bool) {
    let req = prepare_request(req, &state.ctx, token);
    // The semaphore is never closed; were it, the request would run unqueued.
    let permit = state.admission.acquire().await.ok();
    let resp = state.schema.execute(req).await;
    drop(permit);
    // A request that never reached execution has no `data` entry at all (GraphQL spec
    // §7.1.1), and under the GraphQL-over-HTTP media type it is a client error.
    let rejected = resp.data == async_graphql::Value::Null
        && resp.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| {
                    let c = c.to_string();
                    [
                        ErrorCode::GraphqlParseFailed,
                        ErrorCode::GraphqlValidationFailed,
                        ErrorCode::QueryTooComplex,
                    ]
                    .iter()
                    .any(|k| c.contains(k.as_str()))
                })
        });
    (resp, rejected)
}

/// One response as JSON text, serialized straight from the response (no tree of values
/// in between); a rejected one without its `data` entry.
fn render(resp: &async_graphql::Response, rejected: bool) -> Option<String> {
    let body = if rejected {
        serde_json::to_string(&serde_json::json!({ "errors": resp.errors }))
    } else {
        serde_json::to_string(resp)
    };
    body.map_err(|e| tracing::error!(error = %e, "serializing a response"))
        .ok()
}

async fn execute(state: &HttpState, headers: &HeaderMap, req: async_graphql::Request) -> Response {
    let token = bearer(headers);
    if let Some(t) = &token
        && !state.limiter.allow(t)
    {
        return rate_limited();
    }
    let (resp, rejected) = run(state, token, req).await;
    let Some(body) = render(&resp, rejected) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    respond(headers, rejected, body)
}

/// A rendered answer in the media type the client accepts: under the GraphQL-over-HTTP
/// type an answer that never reached execution (`rejected`) is `400`, under plain JSON
/// every answer is `200`.
fn respond(headers: &HeaderMap, rejected: bool, body: String) -> Response {
    let (mime, status) = if accepts(headers, GRAPHQL_RESPONSE) {
        let status = if rejected {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        (GRAPHQL_RESPONSE, status)
    } else {
        ("application/json", StatusCode::OK)
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(mime))],
        body,
    )
        .into_response()
}

/// A batch (a JSON array of operations): refused with `400` while batches are off
/// (`max_batch == 0`) or when it holds more operations than `max_batch`, before any of
/// it runs. Otherwise its operations run one after another, in order, each exactly as a
/// request of its own (rate limit, sign-in, screen, limits, loaders, its own mutation
/// rule), and the answer is the array of their responses in the same order, `200` as a
/// whole: an operation a limit refuses carries its own coded errors.
async fn execute_batch(
    state: &HttpState,
    headers: &HeaderMap,
    reqs: Vec<async_graphql::Request>,
) -> Response {
    if state.max_batch == 0 {
        return refusal(
            StatusCode::BAD_REQUEST,
            ErrorCode::GraphqlParseFailed,
            "batched requests (a JSON array of operations) are off on this server; \
             send one operation per request",
        );
    }
    if reqs.is_empty() {
        return refusal(
            StatusCode::BAD_REQUEST,
            ErrorCode::GraphqlParseFailed,
            "the batch holds no operation",
        );
    }
    if reqs.len() > state.max_batch {
        return refusal(
            StatusCode::BAD_REQUEST,
            ErrorCode::QueryTooComplex,
            &format!(
                "the batch holds {} operations; at most {} are allowed, and none of them ran",
                reqs.len(),
                state.max_batch
            ),
        );
    }
    let token = bearer(headers);
    // Every operation counts, taken at once: a batch the bucket cannot pay for runs none.
    if let Some(t) = &token
        && !state.limiter.allow_n(t, reqs.len())
    {
        return rate_limited();
    }
    let mut body = String::from("[");
    for (i, req) in reqs.into_iter().enumerate() {
        let (resp, rejected) = run(state, token.clone(), req).await;
        let Some(part) = render(&resp, rejected) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if i > 0 {
            body.push(',');
        }
        body.push_str(&part);
    }
    body.push(']');
    // A batch that ran is answered as a whole; its refused operations carry their errors.
    respond(headers, false, body)
}

pub async fn post_graphql(State(state): State<HttpState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime == "application/graphql+json"
        })
        .unwrap_or(false);
    if !json {
        // No form posts: a browser can send those cross-site without a preflight (CSRF).
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql needs Content-Type: application/json",
        )
            .into_response();
    }
    match GraphQLBatchRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(
        req, &state,
    )
    .await
    {
        Ok(r) => match r.into_inner() {
            BatchRequest::Single(r) => execute(&state, &headers, r).await,
            BatchRequest::Batch(reqs) => execute_batch(&state, &headers, reqs).await,
        },
        Err(rejection) => rejection.into_response(),
    }
}

pub async fn get_graphql(State(state): State<HttpState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        let (mut parts, _) = req.into_parts();
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &state)
            .await
        {
            Ok(ws) => super::ws::upgrade(State(state), ws).await,
            Err(rejection) => rejection.into_response(),
        };
    }
    let has_query = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("query=")));
    if !has_query && accepts(&headers, "text/html") {
        return assets::page();
    }
    let gql = match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(
        req, &state,
    )
    .await
    {
        Ok(r) => r.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
    if !is_query(&gql) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "only queries may be sent with GET; use POST for mutations",
        )
            .into_response();
    }
    execute(&state, &headers, gql).await
}

/// Whether the operation the request selects is a query. Unparsable documents count as
/// queries here, so the executor reports the parse error with its code.
fn is_query(req: &async_graphql::Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&req.query) else {
        return true;
    };
    let ty = match &doc.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match &req.operation_name {
            Some(name) => ops.get(name.as_str()).map(|op| op.node.ty),
            None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            None => None,
        },
    };
    ty.is_none_or(|t| t == OperationType::Query)
}
