//! graphql-transport-ws on `/graphql` (upgrade) and `/graphql/ws`, written over axum's
//! WebSocket so that the protocol's rules hold: `connection_init` within a time limit
//! (else close `4408`), only once (`4429`), a subscription id used once at a time
//! (`4409`), a bounded number of subscriptions and bounded messages per socket, errors
//! of one operation as an `error` message for its id with the socket kept up, and small
//! buffers so an idle socket costs little.
use std::collections::HashMap;
use std::time::Duration;

use async_graphql::{Data, Request as GqlRequest};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::HttpState;
use crate::graphql::connection_data;

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

pub async fn upgrade(State(state): State<HttpState>, ws: WebSocketUpgrade) -> Response {
    let limits = state.ws;
    ws.protocols([PROTOCOL])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(limits.max_message_bytes * 4)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| serve(socket, state))
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

enum Out {
    Send(Message),
    Done(String),
}

async fn serve(socket: WebSocket, state: HttpState) {
    let (mut sink, mut stream) = socket.split();
    let limits = state.ws;
    let (out_tx, mut out_rx) = mpsc::channel::<Out>(64);
    let mut data: Option<std::sync::Arc<Data>> = None;
    let mut subs: HashMap<String, JoinHandle<()>> = HashMap::new();
    let deadline = tokio::time::sleep(limits.init_timeout);
    tokio::pin!(deadline);
    let mut stop = state.stop.clone();
    let closing: Option<Message> = loop {
        tokio::select! {
            _ = &mut deadline, if data.is_none() => {
                break Some(close(4408, "Connection initialisation timeout"));
            }
            _ = stop.changed() => {
                for (id, task) in subs.drain() {
                    task.abort();
                    let _ = sink.send(text(json!({ "type": "complete", "id": id }))).await;
                }
                break Some(close(1001, "Server shutting down"));
            }
            out = out_rx.recv() => match out {
                Some(Out::Send(m)) => {
                    if sink.send(m).await.is_err() {
                        break None;
                    }
                }
                Some(Out::Done(id)) => {
                    subs.remove(&id);
                }
                None => break None,
            },
            msg = stream.next() => {
                let msg = match msg {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        let too_big = e.to_string().to_lowercase().contains("too long")
                            || e.to_string().to_lowercase().contains("too big");
                        break if too_big { Some(close(4413, "Message too large")) } else { None };
                    }
                    None => break None,
                };
                let body = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(_) => break Some(close(4400, "Binary messages are not part of the protocol")),
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => break None,
                };
                let parsed: ClientMessage = match serde_json::from_str(&body) {
                    Ok(m) => m,
                    Err(e) => break Some(close(4400, &format!("Invalid message: {e}"))),
                };
                match parsed {
                    ClientMessage::ConnectionInit { payload } => {
                        if data.is_some() {
                            break Some(close(4429, "Too many initialisation requests"));
                        }
                        match connection_data(&state.ctx, token_of(&payload)).await {
                            Ok(d) => {
                                data = Some(std::sync::Arc::new(d));
                                if sink.send(text(json!({ "type": "connection_ack" }))).await.is_err() {
                                    break None;
                                }
                            }
                            Err(_) => break Some(close(4403, "Forbidden")),
                        }
                    }
                    ClientMessage::Ping { payload } => {
                        let mut pong = json!({ "type": "pong" });
                        if let Some(p) = payload {
                            pong["payload"] = p;
                        }
                        if sink.send(text(pong)).await.is_err() {
                            break None;
                        }
                    }
                    ClientMessage::Pong { .. } => {}
                    ClientMessage::Subscribe { id, payload } => {
                        let Some(d) = data.clone() else {
                            break Some(close(4401, "Unauthorized"));
                        };
                        if subs.contains_key(&id) {
                            break Some(close(4409, &format!("Subscriber for {id} already exists")));
                        }
                        if subs.len() >= limits.max_subscriptions {
                            let err = json!({ "type": "error", "id": id, "payload": [{
                                "message": format!("at most {} subscriptions per connection", limits.max_subscriptions),
                                "extensions": { "code": "RATE_LIMITED" }
                            }]});
                            if sink.send(text(err)).await.is_err() {
                                break None;
                            }
                            continue;
                        }
                        let task = tokio::spawn(run_operation(state.clone(), d, id.clone(), *payload, out_tx.clone()));
                        subs.insert(id, task);
                    }
                    ClientMessage::Complete { id } => {
                        if let Some(task) = subs.remove(&id) {
                            task.abort();
                        }
                    }
                }
            }
        }
    };
    for (_, task) in subs.drain() {
        task.abort();
    }
    if let Some(m) = closing {
        let _ = sink.send(m).await;
    }
    let _ = sink.close().await;
}

/// Counts a subscription as open for as long as it lives (also when aborted).
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

/// Runs one operation of a socket: `next` for each result, `complete` at the end; an
/// operation that fails before producing anything (validation, authentication) gets
/// one `error` message instead.
async fn run_operation(
    state: HttpState,
    data: std::sync::Arc<Data>,
    id: String,
    request: GqlRequest,
    out: mpsc::Sender<Out>,
) {
    let mut stream = state.schema.execute_stream_with_session_data(request, data);
    let _open = OpenGauge::new();
    let mut first = true;
    while let Some(resp) = stream.next().await {
        let failed_at_start =
            first && resp.data == async_graphql::Value::Null && !resp.errors.is_empty();
        first = false;
        let msg = if failed_at_start {
            json!({ "type": "error", "id": id, "payload": resp.errors })
        } else {
            json!({ "type": "next", "id": id, "payload": resp })
        };
        if out.send(Out::Send(text(msg))).await.is_err() {
            return;
        }
        if failed_at_start {
            let _ = out.send(Out::Done(id)).await;
            return;
        }
    }
    let _ = out
        .send(Out::Send(text(json!({ "type": "complete", "id": id }))))
        .await;
    let _ = out.send(Out::Done(id)).await;
}
