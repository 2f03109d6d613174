//! Crashes: the real binary is killed with SIGKILL under a write load, again and again,
//! and restarted on the same database. No acknowledged write is lost, the outbox drains
//! afterwards, and no invitation is expired twice. And SIGTERM: the real signal
//! handler lets the requests it took finish, then exits cleanly.
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::db_test;
use crate::helpers::TestApp;

const ROUNDS: usize = 20;

/// The server binary as a separate process on the test's database; returns it with its
/// base URL once it listens.
async fn start(app: &TestApp) -> (Child, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_cosell"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&app.config.data_dir)
        .arg("--database-url")
        .arg(app.config.database_url())
        .arg("--jwt-secret")
        .arg(crate::helpers::TEST_SECRET)
        .arg("--seed-demo")
        .arg("false")
        .arg("--mail-poll-ms")
        .arg("50")
        .arg("--sweep-interval-secs")
        .arg("1")
        .arg("--log-filter")
        .arg("warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn server");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.starts_with("GraphiQL:") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(ready, "server did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://127.0.0.1:{port}"))
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    vars: Value,
) -> Option<Value> {
    let r = http
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    r.json::<Value>().await.ok()
}

db_test!(
    sigkill_under_write_load_loses_no_acknowledged_write,
    |app| async move {
        let anna = app.token("anna@contoso.example").await;
        let fabrikam = app.partner_id("anna@contoso.example", "fabrikam").await;
        let sol = app.own_solution("anna@contoso.example").await;
        let cust = app.customer_id("anna@contoso.example", "woodgrove").await;
        let http = reqwest::Client::new();
        let mut acknowledged: Vec<String> = Vec::new();
        for round in 0..ROUNDS {
            let (mut child, base) = start(&app).await;
            // A burst of writes, each reporting its answer as it comes. The process dies a
            // little after the first answer, so that every round has acknowledged writes
            // however slow the machine is, and the later ones are still in flight.
            let (done, mut answers) = tokio::sync::mpsc::unbounded_channel();
            for n in 0..8u64 {
                let (http, base, anna, done) =
                    (http.clone(), base.clone(), anna.clone(), done.clone());
                let vars = json!({ "i": {
                    "customerId": cust, "dealName": format!("Crash {round}-{n}"), "solutionIds": [sol],
                    "team": [{ "name": "Anna", "phone": "+49 30 1234567", "email": "anna@contoso.example" }],
                    "invitations": [{ "organizationId": fabrikam }]
                } });
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(n * 15)).await;
                    let v = call(
                        &http,
                        &base,
                        &anna,
                        "mutation($i: CreateDealInput!) { createDeal(input: $i) { opportunity { id } userErrors { code } } }",
                        vars,
                    )
                    .await;
                    let _ = done.send(v);
                });
            }
            drop(done);
            let first = tokio::time::timeout(Duration::from_secs(30), answers.recv())
                .await
                .expect("no write answered within 30 s")
                .flatten();
            tokio::time::sleep(Duration::from_millis((round as u64 * 7) % 40)).await;
            child.start_kill().expect("SIGKILL");
            let _ = child.wait().await;
            let mut all = vec![first];
            while let Some(v) = answers.recv().await {
                all.push(v);
            }
            for v in all.into_iter().flatten() {
                if let Some(id) = v["data"]["createDeal"]["opportunity"]["id"].as_str() {
                    acknowledged.push(id.to_owned());
                }
            }
        }
        assert!(!acknowledged.is_empty(), "some writes were acknowledged");
        // Every acknowledged deal is there after the crashes (read through the test's own
        // server on the same database).
        for id in &acknowledged {
            let v = app
                .gql_as(
                    "anna@contoso.example",
                    "query($id: ID!) { opportunity(id: $id) { id } }",
                    json!({ "id": id }),
                )
                .await;
            assert_eq!(v["opportunity"]["id"], *id, "acknowledged deal {id} lost");
        }
        // The invitations expire once each, and the outbox drains, with the sweeper and the
        // worker of a last restarted process.
        app.advance_clock(chrono::Duration::days(15));
        let (mut child, _) = start(&app).await;
        let _ = app.expire_now().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let pending = app.count("email_outbox WHERE status = 'PENDING'").await;
            if pending == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{pending} emails still pending"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        child.start_kill().expect("kill");
        let _ = child.wait().await;
        let twice = app
        .count("(SELECT opportunity_id FROM events WHERE kind = 'INVITATION_EXPIRED' GROUP BY opportunity_id HAVING COUNT(*) > 1) t")
        .await;
        assert_eq!(twice, 0, "an invitation expired twice");
        eprintln!(
            "{} acknowledged writes survived {ROUNDS} SIGKILLs",
            acknowledged.len()
        );
    }
);

db_test!(
    sigterm_lets_accepted_requests_finish_and_exits_cleanly,
    |app| async move {
        let (mut child, base) = start(&app).await;
        let token = app.token("anna@contoso.example").await;
        let http = reqwest::Client::new();
        let query = "{ opportunities(view: INBOUND, first: 50) { totalCount nodes { id dealName team { name } } } }";
        // A burst of requests, and SIGTERM while they run.
        let burst: Vec<_> = (0..40)
            .map(|_| {
                let (http, base, token) = (http.clone(), base.clone(), token.clone());
                tokio::spawn(async move {
                    http.post(format!("{base}/graphql"))
                        .bearer_auth(token)
                        .json(&json!({ "query": query }))
                        .timeout(Duration::from_secs(20))
                        .send()
                        .await?
                        .json::<Value>()
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let pid = child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        // Every request it took is answered in full; the rest find the door closed: the
        // listener gone (refused), or, for a connection still waiting in the kernel's
        // accept queue when the listener closed, reset before the server read a byte.
        let (mut answered, mut refused) = (0, 0);
        for r in burst {
            match r.await.expect("task") {
                Ok(v) => {
                    assert!(v["errors"].is_null(), "{v}");
                    assert!(v["data"]["opportunities"]["totalCount"].is_i64(), "{v}");
                    answered += 1;
                }
                Err(e) => {
                    assert!(never_taken(&e), "cut off mid-request: {e:?}");
                    refused += 1;
                }
            }
        }
        assert_eq!(answered + refused, 40);
        assert!(
            answered > 0,
            "none of the burst was taken before the signal"
        );
        let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("stopped within 20 s")
            .expect("exit status");
        assert!(status.success(), "exit status {status:?}");
    }
);

/// Whether a request failed before the server took it: the connection was refused, or
/// reset while the request was being sent (the kernel resets connections left in a
/// closed listener's accept queue). A server that took the request and then vanished
/// cuts the answer off instead (an incomplete message), which this does not excuse.
fn never_taken(e: &reqwest::Error) -> bool {
    if e.is_connect() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = s.source();
    }
    false
}
