//! The WebSocket benchmark's client: N graphql-transport-ws sockets against a running
//! cosell, each holding one `events` subscription; the server's resident memory before
//! connecting and once every subscription is idle; then K `updateOpportunity` mutations
//! one after another, and when each event reaches each subscriber.
//!
//! It checks that every subscriber receives every event, in order, with the same cursors
//! as every other subscriber, and prints one JSON object: RSS per idle connection,
//! delivery latency (from sending the mutation to the frame read here) over all
//! deliveries and per event, and its own CPU time, so that a reader can tell whether the
//! client was the bottleneck. Run it through bench/run-ws.
//!
//! ```text
//! ws-bench --base http://127.0.0.1:18190 --token T --pid PID [-n 10000] [--events 5]
//!          [--parallel 64] [--idle 2] [--gap-ms 300] [--timeout 30] [--query Q]
//! ```
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const DEFAULT_QUERY: &str =
    "subscription { events(filter: {kinds: [DEAL_UPDATED]}) { cursor kind } }";

struct Args {
    base: String,
    token: String,
    pid: Option<u32>,
    n: usize,
    events: usize,
    parallel: usize,
    idle: f64,
    gap_ms: u64,
    timeout: f64,
    query: String,
}

fn parse_args() -> Args {
    let mut a = Args {
        base: "http://127.0.0.1:8080".into(),
        token: String::new(),
        pid: None,
        n: 1000,
        events: 5,
        parallel: 64,
        idle: 2.0,
        gap_ms: 300,
        timeout: 30.0,
        query: DEFAULT_QUERY.into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || {
            it.next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--base" => a.base = val(),
            "--token" => a.token = val(),
            "--pid" => a.pid = Some(val().parse().unwrap_or_else(|_| die("--pid: a number"))),
            "-n" => a.n = val().parse().unwrap_or_else(|_| die("-n: a number")),
            "--events" => a.events = val().parse().unwrap_or_else(|_| die("--events: a number")),
            "--parallel" => {
                a.parallel = val()
                    .parse()
                    .unwrap_or_else(|_| die("--parallel: a number"))
            }
            "--idle" => a.idle = val().parse().unwrap_or_else(|_| die("--idle: seconds")),
            "--gap-ms" => a.gap_ms = val().parse().unwrap_or_else(|_| die("--gap-ms: a number")),
            "--timeout" => a.timeout = val().parse().unwrap_or_else(|_| die("--timeout: seconds")),
            "--query" => a.query = val(),
            _ => die(&format!("unknown argument {flag}")),
        }
    }
    if a.token.is_empty() {
        die("--token is required");
    }
    a.parallel = a.parallel.max(1);
    a.events = a.events.max(1);
    a
}

fn die(msg: &str) -> ! {
    eprintln!("ws-bench: {msg}");
    std::process::exit(2)
}

/// `VmRSS` of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_field(&format!("/proc/{pid}/status"), "VmRSS:")
}

fn status_field(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of a process in milliseconds (`/proc/<pid>/stat`).
fn cpu_ms(pid: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &s[s.rfind(')').map(|i| i + 2).unwrap_or(0)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0);
    // USER_HZ is 100 on Linux.
    ticks * 10
}

/// One HTTP/1.1 POST of a GraphQL request (`Connection: close`), the JSON answer.
async fn graphql(base: &str, token: &str, body: &Value) -> Result<Value, String> {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let mut s = TcpStream::connect(host).await.map_err(|e| e.to_string())?;
    let req = format!(
        "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let (head, rest) = text.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)?
    } else {
        rest.to_owned()
    };
    serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
}

fn dechunk(mut s: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (len, rest) = s.split_once("\r\n").ok_or("bad chunk")?;
        let len = usize::from_str_radix(len.trim(), 16).map_err(|e| e.to_string())?;
        if len == 0 {
            return Ok(out);
        }
        out.push_str(rest.get(..len).ok_or("short chunk")?);
        s = rest.get(len + 2..).ok_or("short chunk")?;
    }
}

/// Counters the subscribers share with the driver.
struct Shared {
    ready: AtomicUsize,
    failed: AtomicUsize,
    /// How many subscribers have received event k.
    received: Vec<AtomicUsize>,
}

/// What one subscriber saw: (cursor, when) per `next` message, in order.
type Seen = Vec<(String, Instant)>;

async fn subscriber(
    url: String,
    init: Arc<String>,
    subscribe: Arc<String>,
    shared: Arc<Shared>,
    handshakes: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> Result<Seen, String> {
    let permit = handshakes.acquire().await.map_err(|e| e.to_string())?;
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    // Small buffers: 10,000 of these live in one process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    ws.send(Message::Text(init.as_str().into()))
        .await
        .map_err(|e| e.to_string())?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("connection_ack") => {}
        other => return Err(format!("no connection_ack: {other:?}")),
    }
    ws.send(Message::Text(subscribe.as_str().into()))
        .await
        .map_err(|e| e.to_string())?;
    drop(permit);
    shared.ready.fetch_add(1, Ordering::SeqCst);
    let mut seen = Seen::with_capacity(shared.received.len());
    loop {
        tokio::select! {
            msg = ws.next() => {
                let at = Instant::now();
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(f))) => return Err(format!("closed by the server: {f:?}")),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.to_string()),
                    None => return Err("closed".into()),
                };
                // The common case without a JSON tree: a `next` with a cursor and no errors.
                if let Some(cursor) = fast_next(&text) {
                    if let Some(c) = shared.received.get(seen.len()) {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                    seen.push((cursor.to_owned(), at));
                    continue;
                }
                let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                match v["type"].as_str() {
                    Some("next") => {
                        if v["payload"].get("errors").is_some() {
                            return Err(format!("error in payload: {v}"));
                        }
                        let cursor = v["payload"]["data"]["events"]["cursor"]
                            .as_str()
                            .unwrap_or("?")
                            .to_owned();
                        if let Some(c) = shared.received.get(seen.len()) {
                            c.fetch_add(1, Ordering::SeqCst);
                        }
                        seen.push((cursor, at));
                    }
                    Some("ping") => {
                        let _ = ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await;
                    }
                    _ => return Err(format!("unexpected message: {v}")),
                }
            }
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return Ok(seen);
            }
        }
    }
}

/// The cursor of a `next` message for an `events` subscription, read without parsing
/// the whole message; `None` for anything else (parsed in full then).
fn fast_next(text: &str) -> Option<&str> {
    if !text.starts_with(r#"{"type":"next","#) || text.contains(r#""errors""#) {
        return None;
    }
    let from = text.find(r#""cursor":""#)? + r#""cursor":""#.len();
    let len = text[from..].find('"')?;
    Some(&text[from..from + len])
}

fn pct(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some((sorted[i] * 10.0).round() / 10.0)
}

/// The number of event subscribers the server's bus has (`/metrics`), if it says.
async fn bus_subscribers(base: &str) -> Option<u64> {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(host).await.ok()?;
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    if !text.contains("cosell_") {
        return None;
    }
    // The gauge appears with the first subscriber.
    Some(
        text.lines()
            .find(|l| l.starts_with("cosell_event_subscribers "))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map(|f| f as u64)
            .unwrap_or(0),
    )
}

fn main() {
    let a = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(a));
}

async fn run(a: Args) {
    let me = std::process::id().to_string();
    let server = a.pid.map(|p| p.to_string());
    let ws_url = format!("{}/graphql/ws", a.base.replace("http://", "ws://"));

    let page = graphql(
        &a.base,
        &a.token,
        &json!({ "query": "{ opportunities(view: OUTBOUND, first: 1) { nodes { id } } }" }),
    )
    .await
    .unwrap_or_else(|e| die(&format!("listing opportunities: {e}")));
    let opp = page["data"]["opportunities"]["nodes"][0]["id"]
        .as_str()
        .unwrap_or_else(|| die(&format!("no opportunity: {page}")))
        .to_owned();
    let mutation = "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { userErrors { code } } }";
    let mutate = |k: usize| {
        let body = json!({ "query": mutation, "variables": { "i": {
            "opportunityId": opp, "notes": format!("ws bench {k} {:?}", std::time::SystemTime::now()) } } });
        let (base, token) = (a.base.clone(), a.token.clone());
        async move {
            let r = graphql(&base, &token, &body).await?;
            if r.get("errors").is_some()
                || r["data"]["updateOpportunity"]["userErrors"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty())
            {
                return Err(format!("mutation failed: {r}"));
            }
            Ok(())
        }
    };
    // One mutation before anyone listens, so that the first measured one is not the
    // server's first.
    mutate(0).await.unwrap_or_else(|e| die(&e));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let rss_before = a.pid.map(rss_kib).unwrap_or(0);
    let subs_before = bus_subscribers(&a.base).await;
    let shared = Arc::new(Shared {
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        received: (0..a.events).map(|_| AtomicUsize::new(0)).collect(),
    });
    let init = Arc::new(
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", a.token) } })
            .to_string(),
    );
    let subscribe = Arc::new(
        json!({ "type": "subscribe", "id": "1", "payload": { "query": a.query } }).to_string(),
    );
    let handshakes = Arc::new(Semaphore::new(a.parallel));
    let (stop_tx, stop_rx) = watch::channel(false);

    let cpu0 = cpu_ms(&me);
    let t_connect = Instant::now();
    let mut tasks = Vec::with_capacity(a.n);
    for _ in 0..a.n {
        let shared2 = shared.clone();
        let fut = subscriber(
            ws_url.clone(),
            init.clone(),
            subscribe.clone(),
            shared.clone(),
            handshakes.clone(),
            stop_rx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = fut.await;
            if r.is_err() {
                shared2.failed.fetch_add(1, Ordering::SeqCst);
            }
            r
        }));
    }
    let connect_deadline = Instant::now() + Duration::from_secs(300);
    while shared.ready.load(Ordering::SeqCst) + shared.failed.load(Ordering::SeqCst) < a.n
        && Instant::now() < connect_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_ms = t_connect.elapsed().as_millis() as u64;
    let connected = shared.ready.load(Ordering::SeqCst);
    // Each subscription joins the server's bus when its stream first runs: wait for all.
    let target = subs_before.map(|b| b + connected as u64);
    let join_deadline = Instant::now() + Duration::from_secs(60);
    if let Some(target) = target {
        while Instant::now() < join_deadline {
            match bus_subscribers(&a.base).await {
                Some(n) if n >= target => break,
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    let bus_joined = match (bus_subscribers(&a.base).await, subs_before) {
        (Some(n), Some(b)) => Some(n.saturating_sub(b)),
        _ => None,
    };
    tokio::time::sleep(Duration::from_secs_f64(a.idle)).await;
    let cpu_connected = cpu_ms(&me);
    let rss_idle = a.pid.map(rss_kib).unwrap_or(0);

    // The events, one at a time: the next once every subscriber has the last (or its
    // time is up), after a short gap.
    let server_cpu0 = server.as_deref().map(cpu_ms).unwrap_or(0);
    let mut sent_at = Vec::with_capacity(a.events);
    let mut mutation_ms = Vec::with_capacity(a.events);
    let mut event_wall_ms = Vec::with_capacity(a.events);
    let t_events = Instant::now();
    for k in 0..a.events {
        let t0 = Instant::now();
        sent_at.push(t0);
        if let Err(e) = mutate(k + 1).await {
            die(&e);
        }
        mutation_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        let deadline = t0 + Duration::from_secs_f64(a.timeout);
        while shared.received[k].load(Ordering::SeqCst) < connected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        event_wall_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(a.gap_ms)).await;
    }
    let events_ms = t_events.elapsed().as_millis() as u64;
    let cpu_events = cpu_ms(&me);
    let server_cpu_events = server
        .as_deref()
        .map(cpu_ms)
        .unwrap_or(0)
        .saturating_sub(server_cpu0);
    let rss_after_events = a.pid.map(rss_kib).unwrap_or(0);
    let client_rss = rss_kib(std::process::id());

    let _ = stop_tx.send(true);
    let mut seen_all = Vec::with_capacity(a.n);
    let mut errors: Vec<String> = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(seen)) => seen_all.push(seen),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }

    // The cursor of event k: what most subscribers saw as their k-th.
    let mut cursors = Vec::with_capacity(a.events);
    for k in 0..a.events {
        let mut count: std::collections::HashMap<&str, usize> = Default::default();
        for s in &seen_all {
            if let Some((c, _)) = s.get(k) {
                *count.entry(c.as_str()).or_default() += 1;
            }
        }
        cursors.push(
            count
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(c, _)| c.to_owned()),
        );
    }
    let distinct = {
        let mut c: Vec<_> = cursors.iter().flatten().collect();
        c.sort();
        c.dedup();
        c.len() == a.events
    };
    let mut complete = 0;
    let mut all = Vec::new();
    let mut per_event: Vec<Vec<f64>> = vec![Vec::new(); a.events];
    for s in &seen_all {
        let ok = s.len() == a.events
            && s.iter()
                .zip(&cursors)
                .all(|((c, _), want)| want.as_deref() == Some(c.as_str()));
        if ok {
            complete += 1;
        }
        for (k, (_, at)) in s.iter().enumerate().take(a.events) {
            let ms = at.duration_since(sent_at[k]).as_secs_f64() * 1000.0;
            all.push(ms);
            per_event[k].push(ms);
        }
    }
    all.sort_by(f64::total_cmp);
    for v in &mut per_event {
        v.sort_by(f64::total_cmp);
    }
    errors.sort();
    errors.dedup();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let out = json!({
        "subscribers": a.n,
        "connected": connected,
        "bus_subscribers_joined": bus_joined,
        "events": a.events,
        "received": complete,
        "all_received_every_event": complete == a.n && distinct,
        "deliveries": all.len(),
        "deliveries_expected": a.n * a.events,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_idle,
        "kib_per_idle_subscription": round((rss_idle as f64 - rss_before as f64) / a.n as f64),
        "rss_after_events_kib": rss_after_events,
        "latency_ms_p50": pct(&all, 0.50),
        "latency_ms_p99": pct(&all, 0.99),
        "latency_ms_max": pct(&all, 1.0),
        "per_event_ms": per_event.iter().zip(&mutation_ms).zip(&cursors).map(|((v, m), c)| json!({
            "cursor": c, "received": v.len(), "min": v.first().map(|x| round(*x)), "p50": pct(v, 0.5), "p99": pct(v, 0.99),
            "max": pct(v, 1.0), "mutation_ms": round(*m) })).collect::<Vec<_>>(),
        "event_wall_ms": event_wall_ms.iter().map(|x| round(*x)).collect::<Vec<_>>(),
        "connect_ms": connect_ms,
        "client": {
            "cpu_ms_connecting": cpu_connected - cpu0,
            "cpu_ms_during_events": cpu_events - cpu_connected,
            "events_wall_ms": events_ms,
            "us_cpu_per_delivery": if all.is_empty() { 0.0 } else {
                round((cpu_events - cpu_connected) as f64 * 1000.0 / all.len() as f64) },
            "rss_kib": client_rss,
        },
        "server_cpu_ms_during_events": server_cpu_events,
        "errors": errors.iter().take(5).collect::<Vec<_>>(),
        "error_count": a.n - seen_all.len(),
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
    if !(complete == a.n && distinct) {
        eprintln!("ws-bench: not every subscriber received every event");
        std::process::exit(1);
    }
}
