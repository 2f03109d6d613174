//! Live events (SPEC §8, §11): subscriptions over graphql-transport-ws, resumable by
//! cursor, filtered by visibility per event and per subscriber, the protocol's close
//! codes, and delivery across server instances.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::registration;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the server sent.
#[derive(Debug)]
enum Got {
    Json(Value),
    Closed(u16),
    Nothing,
}

struct Ws {
    socket: Socket,
}

impl Ws {
    async fn open(base: &str, path: &str) -> Ws {
        let url = format!("{}{path}", base.replace("http://", "ws://"));
        let mut req = url.into_client_request().expect("request");
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (socket, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        assert_eq!(
            resp.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Ws { socket }
    }

    /// Opens a socket and signs in as `email`.
    async fn signed_in(app: &TestApp, email: &str) -> Ws {
        Self::signed_in_at(&app.base, &app.token(email).await).await
    }

    async fn signed_in_at(base: &str, token: &str) -> Ws {
        let mut ws = Ws::open(base, "/graphql").await;
        ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        match ws.recv(Duration::from_secs(10)).await {
            Got::Json(v) if v["type"] == "connection_ack" => ws,
            other => panic!("no ack: {other:?}"),
        }
    }

    async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    async fn recv(&mut self, wait: Duration) -> Got {
        loop {
            match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return Got::Nothing,
                Ok(None) => return Got::Closed(0),
                Ok(Some(Err(_))) => return Got::Closed(0),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Got::Json(serde_json::from_str(&t).expect("json"));
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return match frame {
                        Some(f) => Got::Closed(f.code.into()),
                        None => Got::Closed(0),
                    };
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next `next` payload for `id` (within 10 s), skipping other ids' messages.
    async fn next_event(&mut self, id: &str) -> Value {
        loop {
            match self.recv(Duration::from_secs(10)).await {
                Got::Json(v) if v["type"] == "next" && v["id"] == id => {
                    assert!(v["payload"].get("errors").is_none(), "{v}");
                    return v["payload"]["data"].clone();
                }
                Got::Json(v) if v["id"] != id => continue,
                other => panic!("expected an event for {id}, got {other:?}"),
            }
        }
    }

    /// Asserts that nothing arrives for a while.
    async fn quiet(&mut self, wait: Duration) {
        match self.recv(wait).await {
            Got::Nothing => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }
}

const EVENTS: &str = "subscription($after: String, $filter: EventFilter) {
  events(after: $after, filter: $filter) { cursor kind opportunityId actorOrganization { name } payload } }";

/// A fresh private deal of `email`'s organization, with `team` on it.
async fn deal(app: &TestApp, email: &str, name: &str, team: &[&str]) -> String {
    let sol = app.own_solution(email).await;
    let cust = app.customer_id(email, "woodgrove").await;
    let members: Vec<Value> = team
        .iter()
        .map(|e| json!({ "name": e.split('@').next(), "phone": "+49 30 1234567", "email": e }))
        .collect();
    let v = app
        .gql_as(
            email,
            "mutation($i: CreateDealInput!) { createDeal(input: $i) { opportunity { id } userErrors { code message } } }",
            json!({ "i": {
                "customerId": cust, "dealName": name, "team": members, "solutionIds": [sol],
                "contact": { "name": "Chris", "phone": "+49 30 7654321", "email": "chris@customer.example", "consent": true }
            } }),
        )
        .await;
    assert_eq!(v["createDeal"]["userErrors"], json!([]), "{v}");
    v["createDeal"]["opportunity"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn touch(app: &TestApp, email: &str, id: &str, notes: &str) {
    let v = app
        .gql_as(
            email,
            "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { userErrors { code } } }",
            json!({ "i": { "opportunityId": id, "notes": notes } }),
        )
        .await;
    assert_eq!(v["updateOpportunity"]["userErrors"], json!([]), "{v}");
}

async fn microsoft_invited(app: &TestApp, email: &str, id: &str) {
    let ms = app
        .gql_as(
            "maria@microsoft.example",
            "{ viewer { organization { id } } }",
            json!({}),
        )
        .await["viewer"]["organization"]["id"]
        .clone();
    let v = app
        .gql_as(
            email,
            "mutation($i: SendInvitationInput!) { sendInvitation(input: $i) { invitation { id } userErrors { code message } } }",
            json!({ "i": { "opportunityId": id, "organizationId": ms, "terms": { "helpWanted": "PROOF_OF_CONCEPT" } } }),
        )
        .await;
    assert_eq!(v["sendInvitation"]["userErrors"], json!([]), "{v}");
}

db_test!(
    a_subscriber_sees_the_events_it_may_see_and_none_it_may_not,
    |app| async move {
        let mut anna = Ws::signed_in(&app, "anna@contoso.example").await;
        let mut uwe = Ws::signed_in(&app, "uwe@contoso.example").await;
        let mut maria = Ws::signed_in(&app, "maria@microsoft.example").await;
        for ws in [&mut anna, &mut uwe, &mut maria] {
            ws.subscribe("e", EVENTS, json!({})).await;
        }
        // Give the subscriptions a moment to be in place before the first write.
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Another organization's private deal: nobody here sees it.
        deal(
            &app,
            "frank@fabrikam.example",
            "Fabrikam secret",
            &["frank@fabrikam.example"],
        )
        .await;
        // Contoso's deal without Uwe on the team: Anna sees it, Uwe and Microsoft do not.
        let private = deal(
            &app,
            "anna@contoso.example",
            "Contoso private",
            &["anna@contoso.example"],
        )
        .await;
        let first = anna.next_event("e").await;
        assert_eq!(first["events"]["kind"], "DEAL_CREATED");
        assert_eq!(first["events"]["opportunityId"], private);
        // A deal with Uwe on the team: now Uwe sees its events, Microsoft still nothing.
        let team_deal = deal(
            &app,
            "anna@contoso.example",
            "Contoso with Uwe",
            &["anna@contoso.example", "uwe@contoso.example"],
        )
        .await;
        assert_eq!(
            anna.next_event("e").await["events"]["opportunityId"],
            team_deal
        );
        let u = uwe.next_event("e").await;
        assert_eq!(
            u["events"]["opportunityId"], team_deal,
            "Uwe saw another deal first: {u}"
        );
        // Inviting Microsoft: Microsoft's first event is that invitation.
        microsoft_invited(&app, "anna@contoso.example", &private).await;
        let m = maria.next_event("e").await;
        assert_eq!(m["events"]["kind"], "INVITATION_SENT", "{m}");
        // As a participant now, Microsoft sees the deal-type upgrade too.
        assert_eq!(
            maria.next_event("e").await["events"]["kind"],
            "DEAL_UPGRADED"
        );
        // Uwe is not on the private deal's team: its invitation and upgrade stay hidden.
        touch(&app, "anna@contoso.example", &team_deal, "marker").await;
        let u = uwe.next_event("e").await;
        assert_eq!(u["events"]["kind"], "DEAL_UPDATED", "{u}");
        assert_eq!(u["events"]["opportunityId"], team_deal);
        maria.quiet(Duration::from_millis(500)).await;
    }
);

db_test!(
    reconnecting_with_the_cursor_gets_exactly_the_missed_events_in_order_then_live_ones,
    |app| async move {
        let id = deal(
            &app,
            "anna@contoso.example",
            "Resume me",
            &["anna@contoso.example"],
        )
        .await;
        let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
        ws.subscribe("e", EVENTS, json!({})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        touch(&app, "anna@contoso.example", &id, "one").await;
        let seen = ws.next_event("e").await;
        let cursor = seen["events"]["cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        drop(ws);

        // While disconnected: three changes.
        for n in ["two", "three", "four"] {
            touch(&app, "anna@contoso.example", &id, n).await;
        }
        let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
        ws.subscribe("e", EVENTS, json!({ "after": cursor })).await;
        let mut cursors = Vec::new();
        for _ in 0..3 {
            let e = ws.next_event("e").await;
            assert_eq!(e["events"]["kind"], "DEAL_UPDATED");
            cursors.push(
                e["events"]["cursor"]
                    .as_str()
                    .expect("c")
                    .parse::<i64>()
                    .expect("n"),
            );
        }
        assert!(
            cursors.windows(2).all(|w| w[0] < w[1]),
            "in order: {cursors:?}"
        );
        assert!(cursors[0] > cursor.parse::<i64>().expect("n"));
        ws.quiet(Duration::from_millis(400)).await;
        // Then live ones, none twice.
        touch(&app, "anna@contoso.example", &id, "five").await;
        let live = ws.next_event("e").await;
        let n: i64 = live["events"]["cursor"]
            .as_str()
            .expect("c")
            .parse()
            .expect("n");
        assert!(n > cursors[2]);
        ws.quiet(Duration::from_millis(400)).await;
    }
);

db_test!(
    filters_narrow_the_feed_to_an_opportunity_and_kinds,
    |app| async move {
        let a = deal(
            &app,
            "anna@contoso.example",
            "Filter A",
            &["anna@contoso.example"],
        )
        .await;
        let b = deal(
            &app,
            "anna@contoso.example",
            "Filter B",
            &["anna@contoso.example"],
        )
        .await;
        let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
        ws.subscribe(
            "only-b",
            EVENTS,
            json!({ "filter": { "opportunityId": b, "kinds": ["DEAL_UPDATED"] } }),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        touch(&app, "anna@contoso.example", &a, "not this").await;
        // An event of another kind on b: left out by the kinds filter.
        let v = app
            .gql_as(
                "anna@contoso.example",
                "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) { userErrors { code } } }",
                json!({ "i": { "opportunityId": b, "member": {
                    "name": "Kim Kinds", "phone": "+49 30 5550177", "email": "kim.kinds@contoso.example" } } }),
            )
            .await;
        assert_eq!(v["addTeamMember"]["userErrors"], json!([]), "{v}");
        touch(&app, "anna@contoso.example", &b, "this").await;
        let e = ws.next_event("only-b").await;
        assert_eq!(e["events"]["opportunityId"], b);
        assert_eq!(e["events"]["kind"], "DEAL_UPDATED", "{e}");
        ws.quiet(Duration::from_millis(400)).await;
        // Another organization's opportunity cannot be watched: an error for that id.
        let fab = deal(
            &app,
            "frank@fabrikam.example",
            "Not yours",
            &["frank@fabrikam.example"],
        )
        .await;
        ws.subscribe("x", EVENTS, json!({ "filter": { "opportunityId": fab } }))
            .await;
        match ws.recv(Duration::from_secs(5)).await {
            Got::Json(v) => assert!(
                v["type"] == "error" || v["payload"]["errors"].is_array(),
                "{v}"
            ),
            other => panic!("{other:?}"),
        }
    }
);

db_test!(
    the_view_filter_follows_the_tab_the_list_shows,
    |app| async move {
        // Anna (admin) bookmarks the deal, Uwe (referral user) is on its team: each gets
        // the deal's events for exactly the tabs their own lists show it in.
        let id = deal(
            &app,
            "anna@contoso.example",
            "Tabs",
            &["anna@contoso.example", "uwe@contoso.example"],
        )
        .await;
        let starred = app
            .gql_as(
                "anna@contoso.example",
                "mutation($i: SetFavoriteInput!) { setFavorite(input: $i) { userErrors { code } } }",
                json!({ "i": { "opportunityId": id, "favorite": true } }),
            )
            .await;
        assert_eq!(starred["setFavorite"]["userErrors"], json!([]), "{starred}");
        let mut sockets = Vec::new();
        for user in ["anna@contoso.example", "uwe@contoso.example"] {
            // Which tabs list the deal for this user: the feed's view filter must agree.
            let mut tabs = Vec::new();
            for view in ["INBOUND", "OUTBOUND", "FAVORITES", "ARCHIVED"] {
                let v = app
                    .gql_as(
                        user,
                        "query($v: OpportunityView!) { opportunities(view: $v, first: 100) { nodes { id } } }",
                        json!({ "v": view }),
                    )
                    .await;
                let listed = v["opportunities"]["nodes"]
                    .as_array()
                    .expect("nodes")
                    .iter()
                    .any(|n| n["id"] == id);
                tabs.push((view, listed));
            }
            let mut ws = Ws::signed_in(&app, user).await;
            for (view, _) in &tabs {
                ws.subscribe(
                    view,
                    EVENTS,
                    json!({ "filter": { "view": view, "kinds": ["DEAL_UPDATED"] } }),
                )
                .await;
            }
            sockets.push((user, tabs, ws));
        }
        // Anna's bookmark is hers: in her FAVORITES, not in Uwe's; both see it as OUTBOUND.
        assert!(
            sockets[0].1.contains(&("FAVORITES", true)),
            "{:?}",
            sockets[0].1
        );
        assert!(
            sockets[1].1.contains(&("FAVORITES", false)),
            "{:?}",
            sockets[1].1
        );
        assert!(
            sockets[1].1.contains(&("OUTBOUND", true)),
            "{:?}",
            sockets[1].1
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        touch(&app, "anna@contoso.example", &id, "tabs").await;
        for (user, tabs, ws) in &mut sockets {
            let mut got = Vec::new();
            loop {
                match ws.recv(Duration::from_millis(800)).await {
                    Got::Json(v) if v["type"] == "next" => {
                        assert_eq!(v["payload"]["data"]["events"]["opportunityId"], id);
                        got.push(v["id"].as_str().expect("id").to_owned());
                    }
                    Got::Nothing => break,
                    other => panic!("{user}: {other:?}"),
                }
            }
            got.sort();
            let mut want: Vec<String> = tabs
                .iter()
                .filter(|(_, listed)| *listed)
                .map(|(v, _)| v.to_string())
                .collect();
            want.sort();
            assert_eq!(got, want, "{user}: {tabs:?}");
        }
    }
);

db_test!(
    opportunity_changed_streams_the_deal_after_each_change,
    |app| async move {
        let id = deal(
            &app,
            "anna@contoso.example",
            "Watch me",
            &["anna@contoso.example"],
        )
        .await;
        let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
        ws.subscribe(
            "o",
            "subscription($id: ID!) { opportunityChanged(id: $id) { id version notes } }",
            json!({ "id": id }),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        touch(&app, "anna@contoso.example", &id, "changed").await;
        let o = ws.next_event("o").await;
        assert_eq!(o["opportunityChanged"]["notes"], "changed");
        assert_eq!(o["opportunityChanged"]["version"], 2);
    }
);

db_test!(the_protocol_closes_with_its_codes, |app| async move {
    let token = app.token("anna@contoso.example").await;
    // A second connection_init: 4429.
    let mut ws = Ws::signed_in_at(&app.base, &token).await;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
        .await;
    assert!(matches!(
        ws.recv(Duration::from_secs(5)).await,
        Got::Closed(4429)
    ));
    // A subscription id in use: 4409.
    let mut ws = Ws::signed_in_at(&app.base, &token).await;
    ws.subscribe("same", EVENTS, json!({})).await;
    ws.subscribe("same", EVENTS, json!({})).await;
    assert!(matches!(
        ws.recv(Duration::from_secs(5)).await,
        Got::Closed(4409)
    ));
    // Subscribing before connection_init: 4401; a bad token at init: 4403.
    let mut ws = Ws::open(&app.base, "/graphql/ws").await;
    ws.subscribe("1", EVENTS, json!({})).await;
    assert!(matches!(
        ws.recv(Duration::from_secs(5)).await,
        Got::Closed(4401)
    ));
    let mut ws = Ws::open(&app.base, "/graphql/ws").await;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nope" } }))
        .await;
    assert!(matches!(
        ws.recv(Duration::from_secs(5)).await,
        Got::Closed(4403)
    ));
    // Not JSON of the protocol: 4400.
    let mut ws = Ws::signed_in_at(&app.base, &token).await;
    ws.send(json!({ "type": "bogus" })).await;
    assert!(matches!(
        ws.recv(Duration::from_secs(5)).await,
        Got::Closed(4400)
    ));
});

db_test!(
    validation_errors_come_back_for_their_id_and_the_socket_stays_up,
    |app| async move {
        let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
        ws.subscribe("bad", "subscription { nope }", json!({}))
            .await;
        match ws.recv(Duration::from_secs(5)).await {
            Got::Json(v) => {
                assert_eq!(v["type"], "error");
                assert_eq!(v["id"], "bad");
                assert_eq!(
                    v["payload"][0]["extensions"]["code"],
                    "GRAPHQL_VALIDATION_FAILED"
                );
            }
            other => panic!("{other:?}"),
        }
        ws.send(json!({ "type": "ping", "payload": { "n": 1 } }))
            .await;
        match ws.recv(Duration::from_secs(5)).await {
            Got::Json(v) => {
                assert_eq!(v["type"], "pong");
                assert_eq!(v["payload"]["n"], 1);
            }
            other => panic!("{other:?}"),
        }
        // `complete` from the client ends the subscription: no more events for it.
        let id = deal(
            &app,
            "anna@contoso.example",
            "Complete me",
            &["anna@contoso.example"],
        )
        .await;
        ws.subscribe("c", EVENTS, json!({})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        ws.send(json!({ "type": "complete", "id": "c" })).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        touch(&app, "anna@contoso.example", &id, "after complete").await;
        ws.quiet(Duration::from_millis(500)).await;
    }
);

async fn with_limits(backend: Backend) {
    crate::helpers::run_with(
        backend,
        |c| {
            c.ws_init_timeout_ms = 300;
            c.ws_max_subscriptions = 2;
        },
        |app| async move {
            // No connection_init in time: 4408.
            let mut ws = Ws::open(&app.base, "/graphql/ws").await;
            assert!(matches!(
                ws.recv(Duration::from_secs(5)).await,
                Got::Closed(4408)
            ));
            // The third subscription on one socket is refused for its id; the others go on.
            let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
            ws.subscribe("1", EVENTS, json!({})).await;
            ws.subscribe("2", EVENTS, json!({})).await;
            ws.subscribe("3", EVENTS, json!({})).await;
            match ws.recv(Duration::from_secs(5)).await {
                Got::Json(v) => {
                    assert_eq!(v["type"], "error");
                    assert_eq!(v["id"], "3");
                }
                other => panic!("{other:?}"),
            }
            let id = deal(
                &app,
                "anna@contoso.example",
                "Capped",
                &["anna@contoso.example"],
            )
            .await;
            let _ = id;
            ws.next_event("1").await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_timeout_and_subscription_cap_sqlite() {
    with_limits(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_timeout_and_subscription_cap_postgres() {
    with_limits(Backend::Postgres).await;
}

db_test!(
    an_event_written_on_one_instance_reaches_subscribers_on_another,
    |app| async move {
        let second = app.second_instance(|_| {}).await;
        let base2 = format!("http://{}", second.addr);
        let token = app.token("anna@contoso.example").await;
        let mut ws = Ws::signed_in_at(&base2, &token).await;
        ws.subscribe("e", EVENTS, json!({})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Written through the first instance.
        let id = deal(
            &app,
            "anna@contoso.example",
            "Across instances",
            &["anna@contoso.example"],
        )
        .await;
        let e = ws.next_event("e").await;
        assert_eq!(e["events"]["opportunityId"], id);
        second.shutdown().await.expect("stop second");
    }
);

db_test!(
    two_instances_sweeping_at_once_expire_each_invitation_once,
    |app| async move {
        let second = app.second_instance(|_| {}).await;
        let fabrikam = app.partner_id("anna@contoso.example", "fabrikam").await;
        let sol = app.own_solution("anna@contoso.example").await;
        let cust = app.customer_id("anna@contoso.example", "woodgrove").await;
        for n in 0..6 {
            let v = app
            .gql_as(
                "anna@contoso.example",
                "mutation($i: CreateDealInput!) { createDeal(input: $i) { userErrors { code } } }",
                json!({ "i": {
                    "customerId": cust, "dealName": format!("Sweep {n}"), "solutionIds": [sol],
                    "team": [{ "name": "Anna", "phone": "+49 30 1234567", "email": "anna@contoso.example" }],
                    "invitations": [{ "organizationId": fabrikam }]
                } }),
            )
            .await;
            assert_eq!(v["createDeal"]["userErrors"], json!([]));
        }
        let expired_before = app.count("invitations WHERE status = 'EXPIRED'").await;
        let mails_before = app
            .count("email_outbox WHERE kind = 'INVITATION_EXPIRED'")
            .await;
        let events_before = app.count("events WHERE kind = 'INVITATION_EXPIRED'").await;
        let pending = app.count("invitations WHERE status = 'PENDING'").await;
        app.advance_clock(chrono::Duration::days(15));
        second.services.clock.advance(chrono::Duration::days(15));
        let d1 = app.server.services.deps();
        let d2 = second.services.deps();
        let (a, b) = tokio::join!(
            cosell::service::expiry::expire_due(&d1),
            cosell::service::expiry::expire_due(&d2)
        );
        let (a, b) = (a.expect("sweep 1"), b.expect("sweep 2"));
        assert_eq!(
            (a + b) as i64,
            pending,
            "each due invitation expired exactly once ({a} + {b})"
        );
        assert_eq!(
            app.count("invitations WHERE status = 'EXPIRED'").await - expired_before,
            pending
        );
        assert_eq!(
            app.count("events WHERE kind = 'INVITATION_EXPIRED'").await - events_before,
            pending
        );
        let mails = app
            .count("email_outbox WHERE kind = 'INVITATION_EXPIRED'")
            .await
            - mails_before;
        // Each expiry mails the inviter's team (Anna) and Fabrikam's admin (Frank): once each.
        assert!(
            mails >= pending && mails % pending == 0,
            "{mails} mails for {pending} expiries"
        );
        second.shutdown().await.expect("stop second");
    }
);

db_test!(
    a_lagging_subscriber_catches_up_from_the_log_without_losing_events,
    |app| async move {
        // A bus with room for 16 events, and a subscriber that reads nothing while 40 happen.
        let services = &app.server.services;
        let bus = cosell::events::EventBus::new(16);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let pump = bus.spawn(services.db.clone(), None, stop_rx);
        let viewer = cosell::service::session::authenticate(
            &services.db,
            &services.keys,
            &app.token("anna@contoso.example").await,
        )
        .await
        .expect("viewer");
        let id = deal(
            &app,
            "anna@contoso.example",
            "Lag",
            &["anna@contoso.example"],
        )
        .await;
        let head = cosell::events::log::head(&services.db).await.expect("head");
        let stream = cosell::events::stream::events(
            services.db.clone(),
            bus.clone(),
            viewer,
            Some(head),
            Default::default(),
        );
        tokio::pin!(stream);
        // The first poll subscribes to the bus (nothing to read yet); then it falls behind.
        let idle = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(idle.is_err(), "no event yet");
        for n in 0..40 {
            touch(&app, "anna@contoso.example", &id, &format!("n{n}")).await;
            bus.wake();
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut got = Vec::new();
        while got.len() < 40 {
            let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("in time")
                .expect("an event")
                .expect("no error");
            got.push(ev.seq());
        }
        assert!(
            got.windows(2).all(|w| w[1] == w[0] + 1),
            "consecutive, no gap, no repeat: {got:?}"
        );
        let _ = stop_tx.send(true);
        let _ = pump.await;
    }
);

db_test!(
    shutdown_completes_subscriptions_and_closes_sockets_cleanly,
    |app| async move {
        let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
        ws.subscribe("e", EVENTS, json!({})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let crate::helpers::TestApp { server, .. } = app;
        let stopping = tokio::spawn(server.shutdown());
        match ws.recv(Duration::from_secs(5)).await {
            Got::Json(v) => {
                assert_eq!(v["type"], "complete");
                assert_eq!(v["id"], "e");
            }
            other => panic!("expected complete, got {other:?}"),
        }
        assert!(matches!(
            ws.recv(Duration::from_secs(5)).await,
            Got::Closed(1001)
        ));
        stopping.await.expect("join").expect("clean shutdown");
    }
);

db_test!(
    events_appended_together_are_numbered_in_order_each_seen_by_its_organizations,
    |app| async move {
        // A mutation's few events go in one statement on SQLite, a sweep's many in bulk
        // statements: either way they take the next numbers from the counter, in the
        // order given, without a gap, each with its own visibility rows (duplicates
        // dropped).
        use cosell::domain::event::EventKind;
        use cosell::service::events::{EventDraft, append};
        use sea_orm::{ConnectionTrait, Statement};
        let services = &app.server.services;
        deal(
            &app,
            "anna@contoso.example",
            "Append",
            &["anna@contoso.example"],
        )
        .await;
        let backend = services.db.get_database_backend();
        let rows = |sql: &str| {
            services
                .db
                .query_all_raw(Statement::from_string(backend, sql.to_owned()))
        };
        let engagement: uuid::Uuid = rows("SELECT engagement_id AS id FROM opportunities")
            .await
            .expect("opportunities")[0]
            .try_get("", "id")
            .expect("id");
        let orgs: Vec<uuid::Uuid> = rows("SELECT id FROM organizations ORDER BY id")
            .await
            .expect("organizations")
            .iter()
            .map(|r| r.try_get("", "id").expect("id"))
            .collect();
        let last = || async {
            rows("SELECT last FROM event_counter WHERE id = 1")
                .await
                .expect("counter")[0]
                .try_get::<i64>("", "last")
                .expect("last")
        };
        for n in [4_usize, 40] {
            let before = last().await;
            let drafts = (0..n)
                .map(|i| EventDraft {
                    kind: EventKind::DealUpdated,
                    actor_user: None,
                    actor_organization: None,
                    engagement,
                    opportunity: None,
                    // Odd events: two organizations, one named twice.
                    visible_to: if i % 2 == 1 {
                        vec![orgs[1], orgs[0], orgs[1]]
                    } else {
                        vec![orgs[0]]
                    },
                    payload: json!({ "i": i }),
                })
                .collect();
            let txn = cosell::db::begin_write(&services.writer)
                .await
                .expect("begin");
            let seqs = append(&txn, services.clock.now(), drafts)
                .await
                .expect("append");
            txn.commit().await.expect("commit");
            let want: Vec<i64> = (before + 1..=before + n as i64).collect();
            assert_eq!(seqs, want, "{n} events");
            assert_eq!(last().await, before + n as i64, "the counter moved by {n}");
            let seen: Vec<(i64, i64)> = rows(&format!(
                "SELECT event_seq AS seq, COUNT(*) AS n FROM event_visibility \
                 WHERE event_seq > {before} GROUP BY event_seq ORDER BY event_seq"
            ))
            .await
            .expect("visibility")
            .iter()
            .map(|r| {
                (
                    r.try_get("", "seq").expect("seq"),
                    r.try_get("", "n").expect("n"),
                )
            })
            .collect();
            let expected: Vec<(i64, i64)> = want
                .iter()
                .enumerate()
                .map(|(i, s)| (*s, if i % 2 == 1 { 2 } else { 1 }))
                .collect();
            assert_eq!(seen, expected, "{n} events' visibility");
            let written = rows(&format!(
                "SELECT seq FROM events WHERE seq > {before} ORDER BY seq"
            ))
            .await
            .expect("events")
            .iter()
            .map(|r| r.try_get::<i64>("", "seq").expect("seq"))
            .collect::<Vec<_>>();
            assert_eq!(written, want, "{n} events written");
        }
    }
);

const RITA: &str = "rita@microsoft.example";
const MARIA: &str = "maria@microsoft.example";
const SAM: &str = "sam@microsoft.example";

/// Every step of a registration's review.
const REGISTRATION_KINDS: [&str; 6] = [
    "REGISTRATION_SUBMITTED",
    "REGISTRATION_INFO_REQUESTED",
    "REGISTRATION_ANSWERED",
    "REGISTRATION_APPROVED",
    "REGISTRATION_REJECTED",
    "REGISTRATION_WITHDRAWN",
];

/// A won deal of Contoso's (Anna on the team) with its registration-eligible solution,
/// Microsoft invited before the win when `with_microsoft`; returns its id.
async fn won_registrable(app: &TestApp, name: &str, with_microsoft: bool) -> String {
    let sol = registration::solution(app, "contoso data platform").await;
    let id = registration::contoso_deal(app, name, &sol, json!([registration::anna()])).await;
    if with_microsoft {
        microsoft_invited(app, "anna@contoso.example", &id).await;
    }
    registration::mark_won(app, &id).await;
    id
}

/// The next two events of `ws` are the registration's two steps on `id`, in order.
async fn expect_registration_steps(ws: &mut Ws, sub: &str, id: &str, who: &str) {
    for kind in ["REGISTRATION_SUBMITTED", "REGISTRATION_INFO_REQUESTED"] {
        let e = ws.next_event(sub).await;
        assert_eq!(e["events"]["kind"], kind, "{who}: {e}");
        assert_eq!(e["events"]["opportunityId"], id, "{who}: {e}");
    }
}

db_test!(
    registration_events_reach_reviewers_and_no_other_microsoft_user,
    |app| async move {
        // Microsoft has no side in a private deal: its reviewers get the registration's
        // steps (Rita, a referral user on no team), its admin (Maria) and sellers (Sam)
        // nothing at all; the partner side as ever.
        let mut sockets = Vec::new();
        for who in ["anna@contoso.example", RITA, MARIA, SAM] {
            let mut ws = Ws::signed_in(&app, who).await;
            ws.subscribe("e", EVENTS, json!({})).await;
            sockets.push(ws);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = won_registrable(&app, "Registered privately", false).await;
        let [anna, rita, maria, sam] = &mut sockets[..] else {
            unreachable!()
        };
        assert_eq!(anna.next_event("e").await["events"]["kind"], "DEAL_CREATED");
        let won = anna.next_event("e").await;
        assert_eq!(won["events"]["kind"], "DEAL_WON", "{won}");
        let cursor = won["events"]["cursor"].clone();
        registration::registered_and_questioned(&app, &id).await;
        expect_registration_steps(anna, "e", &id, "Anna").await;
        expect_registration_steps(rita, "e", &id, "Rita").await;
        rita.quiet(Duration::from_millis(400)).await;
        maria.quiet(Duration::from_millis(400)).await;
        sam.quiet(Duration::from_millis(100)).await;

        // Replayed from the log with a cursor from before the registration: the same.
        let mut rita = Ws::signed_in(&app, RITA).await;
        let mut maria = Ws::signed_in(&app, MARIA).await;
        for ws in [&mut rita, &mut maria] {
            ws.subscribe("r", EVENTS, json!({ "after": cursor })).await;
        }
        expect_registration_steps(&mut rita, "r", &id, "Rita, replayed").await;
        rita.quiet(Duration::from_millis(400)).await;
        maria.quiet(Duration::from_millis(100)).await;
    }
);

db_test!(
    registration_events_reach_microsofts_users_as_participants_when_microsoft_is_on_the_deal,
    |app| async move {
        // Microsoft invited: its admin sees the steps as it sees the deal's other events,
        // a seller not on Microsoft's team does not, and the reviewer still does.
        let filter = json!({ "filter": { "kinds": REGISTRATION_KINDS } });
        let mut sockets = Vec::new();
        for who in [RITA, MARIA, SAM] {
            let mut ws = Ws::signed_in(&app, who).await;
            ws.subscribe("e", EVENTS, filter.clone()).await;
            sockets.push(ws);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = won_registrable(&app, "Registered with Microsoft", true).await;
        registration::registered_and_questioned(&app, &id).await;
        let [rita, maria, sam] = &mut sockets[..] else {
            unreachable!()
        };
        expect_registration_steps(rita, "e", &id, "Rita").await;
        expect_registration_steps(maria, "e", &id, "Maria").await;
        sam.quiet(Duration::from_millis(400)).await;
        // Microsoft's own opportunity's timeline lists them too.
        let ms = app
            .gql_as(
                MARIA,
                "{ opportunities(view: INBOUND, first: 100) { nodes { id dealName } } }",
                json!({}),
            )
            .await;
        let mine = ms["opportunities"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|n| n["dealName"] == "Registered with Microsoft")
            .and_then(|n| n["id"].as_str())
            .unwrap_or_else(|| panic!("Microsoft's opportunity: {ms}"));
        let kinds = registration::timeline_kinds(&app, MARIA, mine, 20).await;
        for k in ["REGISTRATION_SUBMITTED", "REGISTRATION_INFO_REQUESTED"] {
            assert!(kinds.iter().any(|x| x == k), "{kinds:?}");
        }
    }
);

db_test!(
    a_websocket_message_over_the_size_limit_closes_the_connection,
    |app| async move {
        let limit = app.config.ws_max_message_bytes;
        // Under the limit: a subscription padded with a comment runs.
        let id = deal(
            &app,
            "anna@contoso.example",
            "Message size",
            &["anna@contoso.example"],
        )
        .await;
        let mut ws = Ws::signed_in(&app, "anna@contoso.example").await;
        let padded = format!("# {}\n{EVENTS}", "x".repeat(limit - 1024));
        ws.subscribe("e", &padded, json!({})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        touch(&app, "anna@contoso.example", &id, "under").await;
        assert_eq!(ws.next_event("e").await["events"]["opportunityId"], id);
        // Over it: the server closes the connection with 4413, and nothing of it runs.
        let oversized = format!("# {}\n{EVENTS}", "x".repeat(limit + 1));
        ws.subscribe("big", &oversized, json!({})).await;
        loop {
            match ws.recv(Duration::from_secs(10)).await {
                Got::Json(v) => assert_ne!(v["id"], "big", "{v}"),
                Got::Closed(code) => {
                    assert_eq!(code, 4413, "closed as too large");
                    break;
                }
                Got::Nothing => panic!("still open after an oversized message"),
            }
        }
    }
);
