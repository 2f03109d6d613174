//! `/graphql` over HTTP: `POST` with a JSON body answers everything; `GET` with a `query`
//! parameter runs queries (never mutations: `405`); `GET` from a browser with no query
//! serves GraphiQL.
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_axum::GraphQLRequest;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::HttpState;
use super::assets;
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

async fn execute(state: &HttpState, headers: &HeaderMap, req: async_graphql::Request) -> Response {
    let token = bearer(headers);
    if let Some(t) = &token
        && !state.limiter.allow(t)
    {
        let body = serde_json::json!({ "errors": [{
            "message": "too many requests for this token; slow down",
            "extensions": { "code": ErrorCode::RateLimited.as_str() }
        }]});
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            axum::Json(body),
        )
            .into_response();
    }
    let req = prepare_request(req, &state.ctx, token);
    // The semaphore is never closed; were it, the request would run unqueued.
    let permit = state.admission.acquire().await.ok();
    let resp = state.schema.execute(req).await;
    drop(permit);
    // A request that never reached execution (it did not parse or validate) has no
    // `data` entry at all (GraphQL spec §7.1.1), and under the GraphQL-over-HTTP media
    // type it is a client error.
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
    // Serialized straight to text, with no tree of values in between.
    let body = if rejected {
        serde_json::to_string(&serde_json::json!({ "errors": resp.errors }))
    } else {
        serde_json::to_string(&resp)
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "serializing a response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
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
    match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(
        req, &state,
    )
    .await
    {
        Ok(r) => execute(&state, &headers, r.into_inner()).await,
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
