//! graphql-transport-ws on `/graphql` (upgrade) and `/graphql/ws`, written over axum's
//! WebSocket so that the protocol's rules hold: `connection_init` within a time limit
//! (else close `4408`), only once (`4429`), a subscription id used once at a time
//! (`4409`), a bounded number of subscriptions and bounded messages per socket, errors
//! of one operation as an `error` message for its id with the socket kept up, and small
//! buffers so an idle socket costs little.
//!
//! One task per socket: it reads the client's messages and polls the socket's
//! subscription streams itself (no task or channel per operation), and what waits only
//! at the start (the `connection_init` deadline, the token check) runs boxed, so an idle
//! socket keeps only its WebSocket state, its session and its streams.
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_graphql::{Data, Request as GqlRequest, Response as GqlResponse};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{HttpState, coded_error};
use crate::error::ErrorCode;
use crate::graphql::{AppContext, AppSchema, connection_data};

pub const PROTOCOL: &str = "graphql-transport-ws";

/// Limits of one socket.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    pub init_timeout: Duration,
    pub max_subscriptions: usize,
    pub max_message_bytes: usize,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<Value>,
    },
    Subscribe {
        id: String,
        payload: Box<GqlRequest>,
    },
    Complete {
        id: String,
    },
}

/// Bytes read from the socket at a time. Client messages are small (`subscribe` with its
/// query); the buffer grows for a larger frame, up to the message limit.
const READ_BUFFER: usize = 256;

/// What a socket keeps of the server's state.
struct Conn {
    schema: AppSchema,
    limits: WsLimits,
    stop: watch::Receiver<bool>,
}

pub async fn upgrade(State(state): State<HttpState>, ws: WebSocketUpgrade) -> Response {
    let limits = state.ws;
    let conn = Conn {
        schema: state.schema.clone(),
        limits,
        stop: state.stop.clone(),
    };
    drop(state);
    ws.protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(limits.max_message_bytes * 4)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| serve(socket, conn.schema, conn.limits, conn.stop))
}

/// A close frame; the reason is cut to fit the 123 bytes a close frame allows.
fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(120);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason[..end].to_owned()),
    }))
}

fn text(v: Value) -> Message {
    Message::Text(Utf8Bytes::from(v.to_string()))
}

/// `{"type":…,"id":…,"payload":…}` written straight from the response (no JSON tree).
fn with_payload(kind: &str, id: &str, payload: &impl serde::Serialize) -> Message {
    let mut out = String::with_capacity(128);
    out.push_str("{\"type\":\"");
    out.push_str(kind);
    out.push_str("\",\"id\":");
    out.push_str(&serde_json::to_string(id).unwrap_or_else(|_| "\"\"".into()));
    out.push_str(",\"payload\":");
    match serde_json::to_string(payload) {
        Ok(p) => out.push_str(&p),
        Err(_) => out.push_str("null"),
    }
    out.push('}');
    Message::Text(Utf8Bytes::from(out))
}

/// The bearer token of a `connection_init` payload (`Authorization: "Bearer …"`, in
/// any letter case, or `token`).
fn token_of(payload: &Option<Value>) -> Option<String> {
    let obj = payload.as_ref()?.as_object()?;
    let raw = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v)
        .or_else(|| obj.get("token"))?
        .as_str()?
        .trim();
    let token = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => raw,
    };
    Some(token.to_owned())
}

/// The next protocol message of the client; `Err(Some(close))` ends the socket with
/// that close frame, `Err(None)` without one (the client went away).
fn parse(
    msg: Option<Result<Message, axum::Error>>,
) -> Result<Option<ClientMessage>, Option<Message>> {
    let msg = match msg {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            let e = e.to_string().to_lowercase();
            let too_big = e.contains("too long") || e.contains("too big");
            return Err(too_big.then(|| close(4413, "Message too large")));
        }
        None => return Err(None),
    };
    match msg {
        Message::Text(t) => match serde_json::from_str(t.as_str()) {
            Ok(m) => Ok(Some(m)),
            Err(e) => Err(Some(close(4400, &format!("Invalid message: {e}")))),
        },
        Message::Binary(_) => Err(Some(close(
            4400,
            "Binary messages are not part of the protocol",
        ))),
        Message::Ping(_) | Message::Pong(_) => Ok(None),
        Message::Close(_) => Err(None),
    }
}

fn pong(payload: Option<Value>) -> Message {
    let mut pong = json!({ "type": "pong" });
    if let Some(p) = payload {
        pong["payload"] = p;
    }
    text(pong)
}

/// Until `connection_init` (or the deadline): the session's data, or how to close.
async fn initialise(
    socket: &mut WebSocket,
    ctx: &AppContext,
    limits: WsLimits,
    stop: &mut watch::Receiver<bool>,
) -> Result<Arc<Data>, Option<Message>> {
    let deadline = tokio::time::sleep(limits.init_timeout);
    tokio::pin!(deadline);
    loop {
        let msg = tokio::select! {
            _ = &mut deadline => return Err(Some(close(4408, "Connection initialisation timeout"))),
            _ = stop.changed() => return Err(Some(close(1001, "Server shutting down"))),
            m = socket.recv() => m,
        };
        match parse(msg)? {
            None | Some(ClientMessage::Pong { .. } | ClientMessage::Complete { .. }) => {}
            Some(ClientMessage::Ping { payload }) => {
                if socket.send(pong(payload)).await.is_err() {
                    return Err(None);
                }
            }
            Some(ClientMessage::Subscribe { .. }) => return Err(Some(close(4401, "Unauthorized"))),
            Some(ClientMessage::ConnectionInit { payload }) => {
                return match connection_data(ctx, token_of(&payload)).await {
                    Ok(d) => {
                        if socket
                            .send(text(json!({ "type": "connection_ack" })))
                            .await
                            .is_err()
                        {
                            return Err(None);
                        }
                        Ok(Arc::new(d))
                    }
                    Err(_) => Err(Some(close(4403, "Forbidden"))),
                };
            }
        }
    }
}

/// One running operation of a socket.
struct Op {
    id: String,
    stream: BoxStream<'static, GqlResponse>,
    /// Nothing sent for it yet.
    first: bool,
    _open: OpenGauge,
}

/// The next response of any of `ops` (taking turns, so that one busy operation does not
/// hold back the others): its index, and `None` when that operation ended.
fn next_response<'a>(
    ops: &'a mut [Op],
    turn: &'a mut usize,
) -> impl Future<Output = (usize, Option<GqlResponse>)> + 'a {
    std::future::poll_fn(move |cx| {
        let n = ops.len();
        for k in 0..n {
            let i = (*turn + k) % n;
            if let Poll::Ready(r) = ops[i].stream.poll_next_unpin(cx) {
                *turn = i + 1;
                return Poll::Ready((i, r));
            }
        }
        Poll::Pending
    })
}

/// What the socket does after a step.
enum Then {
    Wait,
    Send(Message),
    /// Ends the socket, with this close frame if any.
    Close(Option<Message>),
    /// The server stops: send these, then close with `1001`.
    Stop(Vec<Message>),
}

/// A signed-in socket's operations and what it needs to start more. Its steps are plain
/// functions: the socket's task awaits only the next step and the sending of its
/// answer, so the task keeps little room while it waits.
struct Live {
    schema: AppSchema,
    data: Arc<Data>,
    limits: WsLimits,
    ops: Vec<Op>,
    turn: usize,
}

impl Live {
    fn stop(&mut self) -> Then {
        Then::Stop(
            self.ops
                .drain(..)
                .map(|op| text(json!({ "type": "complete", "id": op.id })))
                .collect(),
        )
    }

    /// The next response of operation `i`, or its end.
    fn respond(&mut self, i: usize, resp: Option<GqlResponse>) -> Then {
        let Some(resp) = resp else {
            let op = self.ops.remove(i);
            return Then::Send(text(json!({ "type": "complete", "id": op.id })));
        };
        let op = &mut self.ops[i];
        let failed_at_start =
            op.first && resp.data == async_graphql::Value::Null && !resp.errors.is_empty();
        op.first = false;
        if failed_at_start {
            let m = with_payload("error", &op.id, &resp.errors);
            self.ops.remove(i);
            Then::Send(m)
        } else {
            Then::Send(with_payload("next", &op.id, &resp))
        }
    }

    /// A message of the client.
    fn receive(&mut self, msg: Option<Result<Message, axum::Error>>) -> Then {
        match parse(msg) {
            Err(closing) => Then::Close(closing),
            Ok(None) | Ok(Some(ClientMessage::Pong { .. })) => Then::Wait,
            Ok(Some(ClientMessage::ConnectionInit { .. })) => {
                Then::Close(Some(close(4429, "Too many initialisation requests")))
            }
            Ok(Some(ClientMessage::Ping { payload })) => Then::Send(pong(payload)),
            Ok(Some(ClientMessage::Subscribe { id, payload })) => {
                if self.ops.iter().any(|o| o.id == id) {
                    return Then::Close(Some(close(
                        4409,
                        &format!("Subscriber for {id} already exists"),
                    )));
                }
                let max = self.limits.max_subscriptions;
                if self.ops.len() >= max {
                    let error = coded_error(
                        ErrorCode::RateLimited,
                        &format!("at most {max} subscriptions per connection"),
                    );
                    return Then::Send(text(
                        json!({ "type": "error", "id": id, "payload": [error] }),
                    ));
                }
                let stream = self
                    .schema
                    .execute_stream_with_session_data(*payload, self.data.clone());
                // Room for one more only: most sockets hold one subscription.
                self.ops.reserve_exact(1);
                self.ops.push(Op {
                    id,
                    stream,
                    first: true,
                    _open: OpenGauge::new(),
                });
                Then::Wait
            }
            Ok(Some(ClientMessage::Complete { id })) => {
                self.ops.retain(|o| o.id != id);
                Then::Wait
            }
        }
    }
}

async fn serve(
    mut socket: WebSocket,
    schema: AppSchema,
    limits: WsLimits,
    mut stop: watch::Receiver<bool>,
) {
    let Some(ctx) = schema.data::<AppContext>() else {
        let _ = socket.send(close(1011, "Server misconfigured")).await;
        return;
    };
    // Boxed: its timer and token check are not kept for the socket's life.
    let data = match Box::pin(initialise(&mut socket, ctx, limits, &mut stop)).await {
        Ok(d) => d,
        Err(closing) => {
            if let Some(m) = closing {
                let _ = socket.send(m).await;
            }
            let _ = socket.close().await;
            return;
        }
    };
    let mut live = Live {
        schema,
        data,
        limits,
        ops: Vec::new(),
        turn: 0,
    };
    // One registration with the shutdown signal for the socket's life, not one per wake.
    let stopping = stop.changed();
    tokio::pin!(stopping);
    let closing: Option<Message> = loop {
        let then = tokio::select! {
            _ = &mut stopping => live.stop(),
            (i, r) = next_response(&mut live.ops, &mut live.turn), if !live.ops.is_empty() => {
                live.respond(i, r)
            }
            m = socket.recv() => live.receive(m),
        };
        match then {
            Then::Wait => {}
            Then::Send(m) => {
                if socket.send(m).await.is_err() {
                    break None;
                }
            }
            Then::Close(m) => break m,
            Then::Stop(messages) => {
                for m in messages {
                    if socket.send(m).await.is_err() {
                        break;
                    }
                }
                break Some(close(1001, "Server shutting down"));
            }
        }
    };
    drop(live);
    if let Some(m) = closing {
        let _ = socket.send(m).await;
    }
    let _ = socket.close().await;
}

/// Counts a subscription as open for as long as it lives.
struct OpenGauge;

impl OpenGauge {
    fn new() -> Self {
        metrics::gauge!("cosell_subscriptions_open").increment(1.0);
        OpenGauge
    }
}

impl Drop for OpenGauge {
    fn drop(&mut self) {
        metrics::gauge!("cosell_subscriptions_open").decrement(1.0);
    }
}
