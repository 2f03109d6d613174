//! The list tabs, filters, sorts and pages (SPEC §7), and batch loading (no N+1).
//!
//! The demo data holds deals of every organization, so every test names its own deals
//! with a fresh word and lists them with `search` on that word, except where a test
//! checks a filter or a page against the whole list.
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_test;
use crate::helpers::{TestApp, error_code};

const ANNA: &str = "anna@contoso.example";
const UWE: &str = "uwe@contoso.example";
const LISA: &str = "lisa@contoso.example";
const FRANK: &str = "frank@fabrikam.example";
const FIONA: &str = "fiona@fabrikam.example";

/// The ids the deals need, looked up once per test.
struct Kit {
    woodgrove: Value,
    fabrikam: Value,
    contoso: Value,
    contoso_solution: Value,
    fabrikam_solution: Value,
    word: String,
}

/// A fresh word for this test's deal names: `search` on it finds exactly them.
fn word() -> String {
    format!("v{}", &Uuid::new_v4().simple().to_string()[..12])
}

fn days(n: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(n)).to_string()
}

async fn customer(app: &TestApp, search: &str) -> Value {
    let v = app
        .gql_as(
            ANNA,
            "query($s: String) { customers(search: $s, first: 1) { nodes { id name } } }",
            json!({ "s": search }),
        )
        .await;
    let id = v["customers"]["nodes"][0]["id"].clone();
    assert!(id.is_string(), "no customer {search}: {v}");
    id
}

async fn kit(app: &TestApp) -> Kit {
    let own = "{ solutions(kind: OWN, coSellReady: true) { nodes { id } } }";
    let c = app.gql_as(ANNA, own, json!({})).await;
    let f = app.gql_as(FRANK, own, json!({})).await;
    let orgs = app
        .gql_as(
            FRANK,
            "{ c: partners(search: \"contoso\") { nodes { id } } viewer { organization { id } } }",
            json!({}),
        )
        .await;
    Kit {
        woodgrove: customer(app, "woodgrove").await,
        fabrikam: orgs["viewer"]["organization"]["id"].clone(),
        contoso: orgs["c"]["nodes"][0]["id"].clone(),
        contoso_solution: c["solutions"]["nodes"][0]["id"].clone(),
        fabrikam_solution: f["solutions"]["nodes"][0]["id"].clone(),
        word: word(),
    }
}

fn member(email: &str) -> Value {
    json!({ "name": "Team Member", "phone": "+49 30 1234567", "email": email })
}

const PAYLOAD: &str = "{ opportunity { id stage } userErrors { code field message } }";

/// Runs a mutation that must succeed; returns its payload (the first root field).
async fn must(app: &TestApp, email: &str, q: &str, vars: Value) -> Value {
    let v = app.gql_as(email, q, vars).await;
    let payload = v
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .expect("a payload");
    assert_eq!(payload["userErrors"], json!([]), "{v}");
    payload
}

/// Creates a deal named "Views <word> <label>" as `email` (Contoso or Fabrikam), with the
/// creator on the team; `extra` overrides or adds input fields. Returns its id.
async fn deal(app: &TestApp, k: &Kit, email: &str, label: &str, extra: Value) -> Value {
    let solution = if email.ends_with("@fabrikam.example") {
        &k.fabrikam_solution
    } else {
        &k.contoso_solution
    };
    let mut input = json!({
        "customerId": k.woodgrove,
        "dealName": format!("Views {} {label}", k.word),
        "value": "1000",
        "currency": "EUR",
        "closeDate": days(400),
        "team": [member(email)],
        "solutionIds": [solution],
        "helpWanted": "NONE",
    });
    for (key, v) in extra.as_object().expect("object") {
        input[key] = v.clone();
    }
    let p = must(
        app,
        email,
        &format!("mutation($input: CreateDealInput!) {{ createDeal(input: $input) {PAYLOAD} }}"),
        json!({ "input": input }),
    )
    .await;
    p["opportunity"]["id"].clone()
}

fn invite(org: &Value, solution: &Value) -> Value {
    json!({ "invitations": [{ "organizationId": org, "terms": { "solutionIds": [solution] } }] })
}

fn invite_fabrikam(k: &Kit) -> Value {
    invite(&k.fabrikam, &k.fabrikam_solution)
}

async fn accept(app: &TestApp, email: &str, id: &Value, team: &[&str]) {
    let team: Vec<Value> = team.iter().map(|e| member(e)).collect();
    must(
        app,
        email,
        &format!(
            "mutation($id: ID!, $team: [TeamMemberInput!]) {{
               acceptInvitation(input: {{opportunityId: $id, team: $team, value: \"7500\", currency: \"EUR\"}}) {PAYLOAD} }}"
        ),
        json!({ "id": id, "team": team }),
    )
    .await;
}

async fn decline(app: &TestApp, email: &str, id: &Value) {
    must(
        app,
        email,
        &format!("mutation($id: ID!) {{ declineInvitation(input: {{opportunityId: $id, reason: OTHER}}) {PAYLOAD} }}"),
        json!({ "id": id }),
    )
    .await;
}

async fn won(app: &TestApp, email: &str, id: &Value) {
    must(
        app,
        email,
        &format!("mutation($id: ID!) {{ markWon(input: {{opportunityId: $id}}) {PAYLOAD} }}"),
        json!({ "id": id }),
    )
    .await;
}

async fn lost(app: &TestApp, email: &str, id: &Value) {
    must(
        app,
        email,
        &format!("mutation($id: ID!) {{ markLost(input: {{opportunityId: $id, reason: BUDGET_NOT_ADEQUATE}}) {PAYLOAD} }}"),
        json!({ "id": id }),
    )
    .await;
}

async fn favorite(app: &TestApp, email: &str, id: &Value, on: bool) {
    must(
        app,
        email,
        &format!("mutation($id: ID!, $on: Boolean!) {{ setFavorite(input: {{opportunityId: $id, favorite: $on}}) {PAYLOAD} }}"),
        json!({ "id": id, "on": on }),
    )
    .await;
}

async fn touch(app: &TestApp, email: &str, id: &Value) {
    must(
        app,
        email,
        &format!("mutation($id: ID!) {{ updateOpportunity(input: {{opportunityId: $id, notes: \"touched\"}}) {PAYLOAD} }}"),
        json!({ "id": id }),
    )
    .await;
}

const LIST: &str =
    "query($view: OpportunityView!, $filter: OpportunityFilter, $orderBy: OpportunityOrder,
                          $first: Int, $after: String, $last: Int, $before: String) {
  opportunities(view: $view, filter: $filter, orderBy: $orderBy, first: $first, after: $after,
                last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id dealName stage direction dealType value closeDate isFavorite
                          createdAt updatedAt customer { name country } } } } }";

/// One page of a list; `args` holds `filter`, `orderBy`, `first`, ... as wanted.
async fn list(app: &TestApp, email: &str, view: &str, args: Value) -> Value {
    let mut vars = args;
    vars["view"] = json!(view);
    app.gql_as(email, LIST, vars).await["opportunities"].clone()
}

/// The list `view` of `email` restricted to this test's deals (search on the word).
async fn mine(app: &TestApp, k: &Kit, email: &str, view: &str) -> Value {
    list(
        app,
        email,
        view,
        json!({ "filter": { "search": k.word }, "first": 100 }),
    )
    .await
}

/// The labels (last word of the deal name) of a page, in order.
fn labels(conn: &Value) -> Vec<String> {
    nodes(conn)
        .iter()
        .map(|n| {
            let name = n["dealName"].as_str().expect("dealName");
            name.rsplit(' ').next().expect("label").to_owned()
        })
        .collect()
}

fn nodes(conn: &Value) -> Vec<Value> {
    conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("a connection: {conn}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn ids(conn: &Value) -> Vec<Value> {
    nodes(conn).iter().map(|n| n["id"].clone()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Labels as owned strings, sorted: lists compared as sets.
fn set(v: &[&str]) -> Vec<String> {
    sorted(v.iter().map(|s| (*s).to_owned()).collect())
}

/// Checks that a single-page list holds exactly `expected` (in any order) and that its
/// `totalCount` agrees.
fn assert_holds(conn: &Value, expected: &[&str], what: &str) {
    assert_eq!(sorted(labels(conn)), set(expected), "{what}: {conn}");
    assert_eq!(
        conn["totalCount"].as_u64(),
        Some(expected.len() as u64),
        "{what}: totalCount"
    );
}

/// The id of `email`'s opportunity labelled `label` (found in its lists by the word).
async fn find(app: &TestApp, k: &Kit, email: &str, label: &str) -> Value {
    for view in ["INBOUND", "OUTBOUND", "ARCHIVED"] {
        let conn = mine(app, k, email, view).await;
        for n in nodes(&conn) {
            if n["dealName"]
                .as_str()
                .is_some_and(|d| d.ends_with(&format!(" {label}")))
            {
                return n["id"].clone();
            }
        }
    }
    panic!("{email} has no opportunity {label}");
}

db_test!(
    inbound_holds_received_and_accepted_invitations_only,
    |app| async move {
        let k = kit(&app).await;
        // Left unanswered past the window: expired.
        deal(&app, &k, ANNA, "expired", invite_fabrikam(&k)).await;
        app.advance_clock(chrono::Duration::days(15));
        assert!(app.expire_now().await >= 1);
        for label in ["received", "accepted", "declined", "won", "lost"] {
            deal(&app, &k, ANNA, label, invite_fabrikam(&k)).await;
        }
        for label in ["accepted", "won", "lost"] {
            let id = find(&app, &k, FRANK, label).await;
            accept(&app, FRANK, &id, &[FRANK]).await;
        }
        decline(&app, FRANK, &find(&app, &k, FRANK, "declined").await).await;
        won(&app, FRANK, &find(&app, &k, FRANK, "won").await).await;
        lost(&app, FRANK, &find(&app, &k, FRANK, "lost").await).await;
        // Fabrikam's own deal is outbound, never inbound.
        deal(&app, &k, FRANK, "own", json!({})).await;

        let inbound = mine(&app, &k, FRANK, "INBOUND").await;
        assert_holds(&inbound, &["received", "accepted"], "Fabrikam's inbound");
        for n in nodes(&inbound) {
            assert_eq!(n["direction"], "INBOUND", "{n}");
            let label = n["dealName"].as_str().unwrap_or("");
            let stage = if label.ends_with("received") {
                "RECEIVED"
            } else {
                "ACCEPTED"
            };
            assert_eq!(n["stage"], stage, "{n}");
        }
        // The originator's sides are outbound: nothing of this in its inbound tab.
        assert_holds(
            &mine(&app, &k, ANNA, "INBOUND").await,
            &[],
            "Contoso's inbound",
        );
    }
);

db_test!(
    outbound_holds_accepted_deals_the_organization_originated,
    |app| async move {
        let k = kit(&app).await;
        deal(&app, &k, ANNA, "open", json!({})).await;
        deal(&app, &k, ANNA, "invited", invite_fabrikam(&k)).await;
        let w = deal(&app, &k, ANNA, "won", json!({})).await;
        won(&app, ANNA, &w).await;
        let l = deal(&app, &k, ANNA, "lost", json!({})).await;
        lost(&app, ANNA, &l).await;
        // Contoso accepts an invitation: accepted, but inbound.
        deal(
            &app,
            &k,
            FRANK,
            "fromfabrikam",
            invite(&k.contoso, &k.contoso_solution),
        )
        .await;
        accept(
            &app,
            ANNA,
            &find(&app, &k, ANNA, "fromfabrikam").await,
            &[ANNA],
        )
        .await;

        let outbound = mine(&app, &k, ANNA, "OUTBOUND").await;
        assert_holds(&outbound, &["open", "invited"], "Contoso's outbound");
        for n in nodes(&outbound) {
            assert_eq!(
                (&n["direction"], &n["stage"]),
                (&json!("OUTBOUND"), &json!("ACCEPTED"))
            );
        }
        assert_holds(
            &mine(&app, &k, ANNA, "INBOUND").await,
            &["fromfabrikam"],
            "Contoso's inbound",
        );
        assert_holds(
            &mine(&app, &k, FRANK, "OUTBOUND").await,
            &["fromfabrikam"],
            "Fabrikam's outbound",
        );
    }
);

db_test!(
    favorites_hold_the_users_own_bookmarks_in_any_stage,
    |app| async move {
        let k = kit(&app).await;
        let team = json!({ "team": [member(ANNA), member(UWE)] });
        let open = deal(&app, &k, ANNA, "open", team.clone()).await;
        let later_won = deal(&app, &k, ANNA, "wonlater", team.clone()).await;
        let lost_first = deal(&app, &k, ANNA, "lostfirst", team.clone()).await;
        let dropped = deal(&app, &k, ANNA, "dropped", team.clone()).await;
        let uwes = deal(&app, &k, ANNA, "uwes", team).await;
        deal(&app, &k, ANNA, "plain", json!({})).await;
        deal(
            &app,
            &k,
            FRANK,
            "received",
            invite(&k.contoso, &k.contoso_solution),
        )
        .await;
        let received = find(&app, &k, ANNA, "received").await;

        favorite(&app, ANNA, &open, true).await;
        favorite(&app, ANNA, &later_won, true).await;
        won(&app, ANNA, &later_won).await; // bookmarked, then closed
        lost(&app, ANNA, &lost_first).await;
        favorite(&app, ANNA, &lost_first, true).await; // closed, then bookmarked
        favorite(&app, ANNA, &received, true).await;
        favorite(&app, ANNA, &dropped, true).await;
        favorite(&app, ANNA, &dropped, false).await;
        favorite(&app, UWE, &uwes, true).await;

        let favs = mine(&app, &k, ANNA, "FAVORITES").await;
        assert_holds(
            &favs,
            &["open", "wonlater", "lostfirst", "received"],
            "Anna's favorites",
        );
        let mut stages: Vec<String> = nodes(&favs)
            .iter()
            .map(|n| n["stage"].as_str().unwrap_or("").to_owned())
            .collect();
        stages.sort();
        assert_eq!(stages, ["ACCEPTED", "LOST", "RECEIVED", "WON"]);
        assert!(
            nodes(&favs).iter().all(|n| n["isFavorite"] == true),
            "{favs}"
        );
        // Uwe's bookmark is his own: not in Anna's list, and hers are not in his.
        assert_holds(
            &mine(&app, &k, UWE, "FAVORITES").await,
            &["uwes"],
            "Uwe's favorites",
        );
        // isFavorite is the viewer's: Anna did not bookmark Uwe's one.
        let outbound = mine(&app, &k, ANNA, "OUTBOUND").await;
        for n in nodes(&outbound) {
            let label = n["dealName"]
                .as_str()
                .unwrap_or("")
                .rsplit(' ')
                .next()
                .unwrap_or("");
            assert_eq!(n["isFavorite"], json!(label == "open"), "{n}");
        }
    }
);

db_test!(
    archived_holds_terminal_stages_of_either_direction,
    |app| async move {
        let k = kit(&app).await;
        deal(&app, &k, ANNA, "expired", invite_fabrikam(&k)).await;
        app.advance_clock(chrono::Duration::days(15));
        assert!(app.expire_now().await >= 1);
        for label in ["declined", "won", "lost", "received", "accepted"] {
            deal(&app, &k, ANNA, label, invite_fabrikam(&k)).await;
        }
        decline(&app, FRANK, &find(&app, &k, FRANK, "declined").await).await;
        for label in ["won", "lost", "accepted"] {
            accept(&app, FRANK, &find(&app, &k, FRANK, label).await, &[FRANK]).await;
        }
        won(&app, FRANK, &find(&app, &k, FRANK, "won").await).await;
        lost(&app, FRANK, &find(&app, &k, FRANK, "lost").await).await;
        let own_won = deal(&app, &k, FRANK, "ownwon", json!({})).await;
        won(&app, FRANK, &own_won).await;
        let own_lost = deal(&app, &k, FRANK, "ownlost", json!({})).await;
        lost(&app, FRANK, &own_lost).await;
        deal(&app, &k, FRANK, "ownopen", json!({})).await;

        let archived = mine(&app, &k, FRANK, "ARCHIVED").await;
        assert_holds(
            &archived,
            &["expired", "declined", "won", "lost", "ownwon", "ownlost"],
            "Fabrikam's archive",
        );
        for n in nodes(&archived) {
            let label = n["dealName"]
                .as_str()
                .unwrap_or("")
                .rsplit(' ')
                .next()
                .unwrap_or("");
            let (stage, direction) = match label {
                "expired" => ("EXPIRED", "INBOUND"),
                "declined" => ("DECLINED", "INBOUND"),
                "won" => ("WON", "INBOUND"),
                "lost" => ("LOST", "INBOUND"),
                "ownwon" => ("WON", "OUTBOUND"),
                _ => ("LOST", "OUTBOUND"),
            };
            assert_eq!(
                (n["stage"].as_str(), n["direction"].as_str()),
                (Some(stage), Some(direction)),
                "{n}"
            );
        }
        // Contoso's sides stay open: its archive holds none of them.
        assert_holds(
            &mine(&app, &k, ANNA, "ARCHIVED").await,
            &[],
            "Contoso's archive",
        );
    }
);

db_test!(
    a_referral_user_lists_only_deals_whose_team_lists_it,
    |app| async move {
        let k = kit(&app).await;
        let with_uwe = json!({ "team": [member(ANNA), member("UWE@Contoso.EXAMPLE")] });
        let mine_id = deal(&app, &k, ANNA, "withuwe", with_uwe.clone()).await;
        deal(&app, &k, ANNA, "annaonly", json!({})).await;
        deal(
            &app,
            &k,
            ANNA,
            "withlisa",
            json!({ "team": [member(LISA)] }),
        )
        .await;
        let closed = deal(&app, &k, ANNA, "closedwithuwe", with_uwe.clone()).await;
        won(&app, ANNA, &closed).await;
        let removed = deal(&app, &k, ANNA, "removed", with_uwe).await;
        favorite(&app, UWE, &mine_id, true).await;
        favorite(&app, UWE, &removed, true).await;

        assert_holds(
            &mine(&app, &k, UWE, "OUTBOUND").await,
            &["withuwe", "removed"],
            "Uwe's outbound",
        );
        assert_holds(
            &mine(&app, &k, UWE, "ARCHIVED").await,
            &["closedwithuwe"],
            "Uwe's archive",
        );
        assert_holds(
            &mine(&app, &k, LISA, "OUTBOUND").await,
            &["withlisa"],
            "Lisa's outbound",
        );
        assert_holds(
            &mine(&app, &k, ANNA, "OUTBOUND").await,
            &["withuwe", "annaonly", "withlisa", "removed"],
            "Anna's outbound",
        );

        // Taken off the team, Uwe loses the deal from every list, his bookmark too.
        let team = app
            .gql_as(
                ANNA,
                "query($id: ID!) { opportunity(id: $id) { team { id email } } }",
                json!({ "id": removed }),
            )
            .await;
        let uwe_member = team["opportunity"]["team"]
            .as_array()
            .expect("team")
            .iter()
            .find(|m| {
                m["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(UWE))
            })
            .expect("Uwe on the team")["id"]
            .clone();
        must(
            &app,
            ANNA,
            &format!("mutation($id: ID!, $m: ID!) {{ removeTeamMember(input: {{opportunityId: $id, teamMemberId: $m}}) {PAYLOAD} }}"),
            json!({ "id": removed, "m": uwe_member }),
        )
        .await;
        assert_holds(
            &mine(&app, &k, UWE, "OUTBOUND").await,
            &["withuwe"],
            "Uwe's outbound after",
        );
        assert_holds(
            &mine(&app, &k, UWE, "FAVORITES").await,
            &["withuwe"],
            "Uwe's favorites after",
        );

        // The invitee's user: not before its admin puts it on the team when accepting.
        deal(&app, &k, ANNA, "tofabrikam", invite_fabrikam(&k)).await;
        assert_holds(&mine(&app, &k, FIONA, "INBOUND").await, &[], "Fiona before");
        assert_holds(
            &mine(&app, &k, FRANK, "INBOUND").await,
            &["tofabrikam"],
            "Frank",
        );
        let id = find(&app, &k, FRANK, "tofabrikam").await;
        accept(&app, FRANK, &id, &[FIONA]).await;
        assert_holds(
            &mine(&app, &k, FIONA, "INBOUND").await,
            &["tofabrikam"],
            "Fiona after",
        );
    }
);

/// The filter test's deals: label, customer search, deal type, value, close date, and
/// what else is set. All end up bookmarked by Anna, so FAVORITES holds every stage and
/// both directions.
async fn filter_fixture(app: &TestApp, k: &Kit) {
    let mueller = customer(app, "müller logistik").await;
    let societe = customer(app, "société générale").await;
    let credit = customer(app, "crédit agricole").await;
    let a = deal(
        app,
        k,
        ANNA,
        "alpha",
        json!({ "value": "1000.00", "closeDate": days(30), "notes": "Zebra rollout for the treasury",
                "crmId": "QX-7781" }),
    )
    .await;
    let b = deal(
        app,
        k,
        ANNA,
        "Ærøskøbing",
        json!({ "customerId": mueller, "value": "50000", "closeDate": days(90),
                "invitations": invite_fabrikam(k)["invitations"] }),
    )
    .await;
    let c = deal(
        app,
        k,
        ANNA,
        "gamma",
        json!({ "customerId": societe, "value": null, "currency": null, "closeDate": days(200),
                "helpWanted": "PROOF_OF_CONCEPT",
                "contact": { "name": "Claire Client", "phone": "+33 1 23 45 67 89",
                             "email": "claire@societe.example", "consent": true } }),
    )
    .await;
    let d = deal(
        app,
        k,
        ANNA,
        "delta",
        json!({ "value": "250000.5", "closeDate": days(60) }),
    )
    .await;
    won(app, ANNA, &d).await;
    deal(
        app,
        k,
        FRANK,
        "epsilon",
        json!({ "customerId": credit, "closeDate": days(120),
                "invitations": invite(&k.contoso, &k.contoso_solution)["invitations"] }),
    )
    .await;
    let e = find(app, k, ANNA, "epsilon").await;
    accept(app, ANNA, &e, &[ANNA]).await; // value 7500 EUR
    for id in [&a, &b, &c, &d, &e] {
        favorite(app, ANNA, id, true).await;
    }
}

db_test!(every_filter_narrows_the_list, |app| async move {
    let k = kit(&app).await;
    filter_fixture(&app, &k).await;
    let w = k.word.clone();
    let all = ["alpha", "Ærøskøbing", "gamma", "delta", "epsilon"];
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({ "stages": ["WON"] }), vec!["delta"]),
        (
            json!({ "stages": ["ACCEPTED"] }),
            vec!["alpha", "Ærøskøbing", "gamma", "epsilon"],
        ),
        (json!({ "stages": ["WON", "ACCEPTED"] }), all.to_vec()),
        (json!({ "stages": ["LOST", "RECEIVED"] }), vec![]),
        (json!({ "dealTypes": ["PRIVATE"] }), vec!["alpha", "delta"]),
        (
            json!({ "dealTypes": ["PARTNER_TO_PARTNER"] }),
            vec!["Ærøskøbing", "epsilon"],
        ),
        (json!({ "dealTypes": ["CO_SELL"] }), vec!["gamma"]),
        (
            json!({ "dealTypes": ["CO_SELL", "PRIVATE"] }),
            vec!["alpha", "gamma", "delta"],
        ),
        (json!({ "direction": "INBOUND" }), vec!["epsilon"]),
        (
            json!({ "direction": "OUTBOUND" }),
            vec!["alpha", "Ærøskøbing", "gamma", "delta"],
        ),
        (json!({ "customerCountry": "GB" }), vec!["alpha", "delta"]),
        (json!({ "customerCountry": "de" }), vec!["Ærøskøbing"]),
        (json!({ "customerCountry": "FR" }), vec!["gamma", "epsilon"]),
        (json!({ "customerCountry": "US" }), vec![]),
        (
            json!({ "closeDateFrom": days(60) }),
            vec!["Ærøskøbing", "gamma", "delta", "epsilon"],
        ),
        (json!({ "closeDateTo": days(60) }), vec!["alpha", "delta"]),
        (
            json!({ "closeDateFrom": days(61), "closeDateTo": days(120) }),
            vec!["Ærøskøbing", "epsilon"],
        ),
        (
            json!({ "closeDateFrom": days(90), "closeDateTo": days(90) }),
            vec!["Ærøskøbing"],
        ),
        // No value: outside every value range.
        (
            json!({ "valueMin": "7500" }),
            vec!["Ærøskøbing", "delta", "epsilon"],
        ),
        (json!({ "valueMin": "250000.5" }), vec!["delta"]),
        (json!({ "valueMin": "250000.51" }), vec![]),
        (json!({ "valueMax": "7500.00" }), vec!["alpha", "epsilon"]),
        (
            json!({ "valueMin": "1000", "valueMax": "50000" }),
            vec!["alpha", "Ærøskøbing", "epsilon"],
        ),
        (
            json!({ "valueMin": "0" }),
            vec!["alpha", "Ærøskøbing", "delta", "epsilon"],
        ),
        // Several filters at once: all must hold.
        (
            json!({ "direction": "OUTBOUND", "customerCountry": "GB", "stages": ["ACCEPTED"] }),
            vec!["alpha"],
        ),
    ];
    let mut failures = Vec::new();
    for (filter, expected) in cases {
        let mut f = filter.clone();
        f["search"] = json!(w);
        let conn = list(
            &app,
            ANNA,
            "FAVORITES",
            json!({ "filter": f, "first": 100 }),
        )
        .await;
        let want = set(&expected);
        let total = conn["totalCount"].as_u64();
        if sorted(labels(&conn)) != want || total != Some(want.len() as u64) {
            failures.push(format!(
                "{filter}: expected {want:?}, got {:?} (totalCount {total:?})",
                labels(&conn)
            ));
        }
    }

    // Search: deal name, customer name, notes and CRM ID; words in any order, prefixes,
    // case and accents ignored. Always with the test's word, which keeps the demo out.
    let searches: Vec<(&str, Vec<&str>)> = vec![
        ("ZEBRA", vec!["alpha"]),   // notes, upper case
        ("treas", vec!["alpha"]),   // a word's prefix
        ("qx-7781", vec!["alpha"]), // CRM ID
        ("7781", vec!["alpha"]),
        ("SOCIÉTÉ générale", vec!["gamma"]), // customer name, accents
        ("societe", vec!["gamma"]),
        ("müller", vec!["Ærøskøbing"]), // customer name with an umlaut
        ("aeroskobing", vec!["Ærøskøbing"]), // Æ and ø fold
        ("ÆRØ", vec!["Ærøskøbing"]),
        ("Crédit", vec!["epsilon"]),
        ("woodgrove", vec!["alpha", "delta"]),
        ("delta", vec!["delta"]),
        ("zebra gamma", vec![]), // every word must match
    ];
    for (text, expected) in searches {
        let conn = list(
            &app,
            ANNA,
            "FAVORITES",
            json!({ "filter": { "search": format!("{w} {text}") }, "first": 100 }),
        )
        .await;
        let want = set(&expected);
        if sorted(labels(&conn)) != want || conn["totalCount"].as_u64() != Some(want.len() as u64) {
            failures.push(format!(
                "search {text:?}: expected {want:?}, got {:?} (totalCount {})",
                labels(&conn),
                conn["totalCount"]
            ));
        }
    }
    // The same search in another tab narrows that tab only.
    let conn = list(
        &app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": { "search": format!("{w} woodgrove") }, "first": 100 }),
    )
    .await;
    if labels(&conn) != ["alpha"] {
        failures.push(format!("outbound woodgrove: {:?}", labels(&conn)));
    }
    assert!(
        failures.is_empty(),
        "filters differ:\n{}",
        failures.join("\n")
    );

    // Without a search, the filters narrow the whole list (demo deals included) exactly
    // as the rows' own fields say.
    let whole = list(&app, ANNA, "ARCHIVED", json!({ "first": 100 })).await;
    let rows = nodes(&whole);
    assert!(rows.len() > 1, "{whole}");
    let from = days(60);
    let expected: Vec<Value> = rows
        .iter()
        .filter(|n| {
            n["stage"] == "WON"
                && n["customer"]["country"] == "GB"
                && n["closeDate"].as_str().is_some_and(|d| d >= from.as_str())
        })
        .map(|n| n["id"].clone())
        .collect();
    let narrowed = list(
        &app,
        ANNA,
        "ARCHIVED",
        json!({ "filter": { "stages": ["WON"], "customerCountry": "GB", "closeDateFrom": from }, "first": 100 }),
    )
    .await;
    assert_eq!(ids(&narrowed), expected, "{narrowed}");
    assert!(!expected.is_empty());
});

db_test!(bad_filter_values_are_refused, |app| async move {
    let token = app.token(ANNA).await;
    for filter in [
        json!({ "customerCountry": "Germany" }),
        json!({ "valueMin": "-1" }),
        json!({ "valueMax": "ten" }),
    ] {
        let v = app
            .gql(
                Some(&token),
                LIST,
                json!({ "view": "OUTBOUND", "filter": filter }),
            )
            .await;
        assert_eq!(error_code(&v), "BAD_USER_INPUT", "{filter}: {v}");
    }
});

/// The sort test's deals, created in this order. Keys are distinct per field.
/// (label, customer search, close date in days, value)
const SORT_DEALS: [(&str, &str, Option<i64>, Option<&str>); 4] = [
    ("Delta", "woodgrove", Some(100), Some("300")),
    ("alpha", "société générale", None, Some("5000")),
    ("Émile", "åkesson", Some(10), None),
    ("bravo", "müller logistik", Some(50), Some("20.5")),
];

db_test!(every_sort_field_orders_both_ways, |app| async move {
    let k = kit(&app).await;
    let mut created = Vec::new();
    for (label, cust, close, value) in SORT_DEALS {
        let id = deal(
            &app,
            &k,
            ANNA,
            label,
            json!({ "customerId": customer(&app, cust).await,
                    "closeDate": close.map(days), "value": value,
                    "currency": value.map(|_| "EUR") }),
        )
        .await;
        created.push(id);
    }
    // Updated later, in another order: Émile and bravo keep their creation time.
    touch(&app, ANNA, &created[1]).await; // alpha
    touch(&app, ANNA, &created[0]).await; // Delta

    let ascending: [(&str, [&str; 4]); 6] = [
        ("CREATED_AT", ["Delta", "alpha", "Émile", "bravo"]),
        ("UPDATED_AT", ["Émile", "bravo", "alpha", "Delta"]),
        // Case and accents folded: alpha, bravo, delta, emile.
        ("DEAL_NAME", ["alpha", "bravo", "Delta", "Émile"]),
        // Åkesson, Müller, Société, Woodgrove.
        ("CUSTOMER_NAME", ["Émile", "bravo", "alpha", "Delta"]),
        // No close date: last when ascending.
        ("CLOSE_DATE", ["Émile", "bravo", "Delta", "alpha"]),
        // No value: first when ascending.
        ("VALUE", ["Émile", "bravo", "Delta", "alpha"]),
    ];
    let mut failures = Vec::new();
    for (field, asc) in ascending {
        for dir in ["ASC", "DESC"] {
            let mut want: Vec<String> = asc.iter().map(|s| (*s).to_owned()).collect();
            if dir == "DESC" {
                want.reverse();
            }
            let order = json!({ "field": field, "direction": dir });
            let filter = json!({ "search": k.word });
            let whole = list(
                &app,
                ANNA,
                "OUTBOUND",
                json!({ "filter": filter, "orderBy": order, "first": 100 }),
            )
            .await;
            if labels(&whole) != want {
                failures.push(format!(
                    "{field} {dir}: expected {want:?}, got {:?}",
                    labels(&whole)
                ));
                continue;
            }
            // One row per page, both ways: each field's cursor carries its own key.
            let mut forward = Vec::new();
            let mut after = Value::Null;
            for _ in 0..10 {
                let page = list(
                    &app,
                    ANNA,
                    "OUTBOUND",
                    json!({ "filter": filter, "orderBy": order, "first": 1, "after": after }),
                )
                .await;
                forward.extend(labels(&page));
                if page["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
            if forward != want {
                failures.push(format!("{field} {dir} paged forward: {forward:?}"));
            }
            let mut backward = Vec::new();
            let mut before = Value::Null;
            for _ in 0..10 {
                let page = list(
                    &app,
                    ANNA,
                    "OUTBOUND",
                    json!({ "filter": filter, "orderBy": order, "last": 1, "before": before }),
                )
                .await;
                let mut l = labels(&page);
                l.extend(backward);
                backward = l;
                if page["pageInfo"]["hasPreviousPage"] != true {
                    break;
                }
                before = page["pageInfo"]["startCursor"].clone();
            }
            if backward != want {
                failures.push(format!("{field} {dir} paged backward: {backward:?}"));
            }
        }
    }
    // Without orderBy: newest first.
    let default = mine(&app, &k, ANNA, "OUTBOUND").await;
    if labels(&default) != ["bravo", "Émile", "alpha", "Delta"] {
        failures.push(format!("default order: {:?}", labels(&default)));
    }
    assert!(
        failures.is_empty(),
        "sorts differ:\n{}",
        failures.join("\n")
    );
});

/// Seven deals, three with the same value, so keyset pages must break ties by id.
async fn paging_fixture(app: &TestApp, k: &Kit) {
    for (i, value) in ["10", "20", "20", "20", "30", "5", "15"].iter().enumerate() {
        deal(app, k, ANNA, &format!("p{i}"), json!({ "value": value })).await;
    }
}

/// Walks the list forward `size` rows at a time, checking every page's `pageInfo` and
/// `totalCount`; returns the ids in order.
async fn walk_forward(app: &TestApp, k: &Kit, order: &Value, size: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    for page_no in 0.. {
        assert!(page_no < 20, "paging does not end");
        let page = list(
            app,
            ANNA,
            "OUTBOUND",
            json!({ "filter": { "search": k.word }, "orderBy": order, "first": size, "after": after }),
        )
        .await;
        let info = &page["pageInfo"];
        assert_eq!(page["totalCount"], 7, "{page}");
        // Relay lets a later forward page answer `false` too; the first one must.
        if page_no == 0 {
            assert_eq!(info["hasPreviousPage"], false, "{page}");
        }
        let edges = page["edges"].as_array().expect("edges");
        assert!(edges.len() as i64 <= size, "{page}");
        if let Some(last) = edges.last() {
            assert_eq!(info["endCursor"], last["cursor"], "{page}");
            assert_eq!(info["startCursor"], edges[0]["cursor"], "{page}");
        }
        out.extend(ids(&page));
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].clone();
    }
    out
}

async fn walk_backward(app: &TestApp, k: &Kit, order: &Value, size: i64) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut before = Value::Null;
    for page_no in 0.. {
        assert!(page_no < 20, "paging does not end");
        let page = list(
            app,
            ANNA,
            "OUTBOUND",
            json!({ "filter": { "search": k.word }, "orderBy": order, "last": size, "before": before }),
        )
        .await;
        let info = &page["pageInfo"];
        assert_eq!(page["totalCount"], 7, "{page}");
        if page_no == 0 {
            assert_eq!(info["hasNextPage"], false, "{page}");
        }
        let edges = page["edges"].as_array().expect("edges");
        assert!(edges.len() as i64 <= size, "{page}");
        if let Some(first) = edges.first() {
            assert_eq!(info["startCursor"], first["cursor"], "{page}");
        }
        let mut ids = ids(&page);
        ids.append(&mut out);
        out = ids;
        if info["hasPreviousPage"] != true {
            break;
        }
        before = info["startCursor"].clone();
    }
    out
}

fn orders() -> Vec<Value> {
    vec![
        Value::Null,
        json!({ "field": "VALUE", "direction": "ASC" }),
        json!({ "field": "VALUE", "direction": "DESC" }),
        json!({ "field": "DEAL_NAME", "direction": "DESC" }),
        json!({ "field": "CLOSE_DATE", "direction": "ASC" }),
    ]
}

async fn whole(app: &TestApp, k: &Kit, order: &Value) -> Vec<Value> {
    ids(&list(
        app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": { "search": k.word }, "orderBy": order, "first": 100 }),
    )
    .await)
}

db_test!(forward_pages_cover_every_row_once, |app| async move {
    let k = kit(&app).await;
    paging_fixture(&app, &k).await;
    for order in orders() {
        let all = whole(&app, &k, &order).await;
        assert_eq!(all.len(), 7);
        for size in [1, 2, 3, 7, 10] {
            let walked = walk_forward(&app, &k, &order, size).await;
            assert_eq!(walked, all, "order {order}, pages of {size}");
        }
    }
    // first: 0 gives no rows but the count.
    let empty = list(
        &app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": { "search": k.word }, "first": 0 }),
    )
    .await;
    assert_eq!(empty["edges"], json!([]));
    assert_eq!(empty["totalCount"], 7);
    // After the last row: no rows to carry the total, which is still the whole list's.
    let full = list(
        &app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": { "search": k.word }, "first": 7 }),
    )
    .await;
    let past = list(
        &app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": { "search": k.word }, "first": 3, "after": full["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(past["edges"], json!([]), "{past}");
    assert_eq!(past["totalCount"], 7, "{past}");
    assert_eq!(past["pageInfo"]["hasNextPage"], false, "{past}");
});

db_test!(
    backward_pages_give_the_same_rows_in_the_same_order,
    |app| async move {
        let k = kit(&app).await;
        paging_fixture(&app, &k).await;
        for order in orders() {
            let all = whole(&app, &k, &order).await;
            for size in [1, 2, 3, 7, 10] {
                let walked = walk_backward(&app, &k, &order, size).await;
                assert_eq!(walked, all, "order {order}, pages of {size}");
            }
        }
        // A backward page from a forward cursor: the rows before it.
        let all = whole(&app, &k, &Value::Null).await;
        let first3 = list(
            &app,
            ANNA,
            "OUTBOUND",
            json!({ "filter": { "search": k.word }, "first": 3 }),
        )
        .await;
        let cursor = first3["edges"][2]["cursor"].clone();
        let back = list(
            &app,
            ANNA,
            "OUTBOUND",
            json!({ "filter": { "search": k.word }, "last": 10, "before": cursor }),
        )
        .await;
        assert_eq!(ids(&back), all[..2].to_vec());
        assert_eq!(back["pageInfo"]["hasPreviousPage"], false);
    }
);

db_test!(cursors_stay_stable_while_rows_are_added, |app| async move {
    let k = kit(&app).await;
    for i in 1..=5 {
        deal(&app, &k, ANNA, &format!("d{i}"), json!({})).await;
    }
    let filter = json!({ "search": k.word });
    // Newest first (the default).
    let p1 = list(
        &app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": filter, "first": 2 }),
    )
    .await;
    assert_eq!(labels(&p1), ["d5", "d4"]);
    let asc = json!({ "field": "CREATED_AT", "direction": "ASC" });
    let a1 = list(
        &app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": filter, "orderBy": asc, "first": 2 }),
    )
    .await;
    assert_eq!(labels(&a1), ["d1", "d2"]);
    for i in 6..=8 {
        deal(&app, &k, ANNA, &format!("d{i}"), json!({})).await;
    }
    // Edited rows keep their place in the created order.
    let d3 = find(&app, &k, ANNA, "d3").await;
    touch(&app, ANNA, &d3).await;

    let mut rest = Vec::new();
    let mut after = p1["pageInfo"]["endCursor"].clone();
    loop {
        let p = list(
            &app,
            ANNA,
            "OUTBOUND",
            json!({ "filter": filter, "first": 2, "after": after }),
        )
        .await;
        assert_eq!(p["totalCount"], 8, "{p}");
        rest.extend(labels(&p));
        if p["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        rest,
        ["d3", "d2", "d1"],
        "no duplicates, no gaps after page 1"
    );

    // Oldest first: the new rows come at the end, after the rows not yet seen.
    let mut rest = Vec::new();
    let mut after = a1["pageInfo"]["endCursor"].clone();
    loop {
        let p = list(
            &app,
            ANNA,
            "OUTBOUND",
            json!({ "filter": filter, "orderBy": asc, "first": 2, "after": after }),
        )
        .await;
        rest.extend(labels(&p));
        if p["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(rest, ["d3", "d4", "d5", "d6", "d7", "d8"]);

    // Newest first again from the top: the new rows lead.
    let top = list(
        &app,
        ANNA,
        "OUTBOUND",
        json!({ "filter": filter, "first": 3 }),
    )
    .await;
    assert_eq!(labels(&top), ["d8", "d7", "d6"]);
});

db_test!(
    a_cursor_of_another_order_or_garbage_is_refused,
    |app| async move {
        let k = kit(&app).await;
        for i in 1..=3 {
            deal(&app, &k, ANNA, &format!("c{i}"), json!({})).await;
        }
        let filter = json!({ "search": k.word });
        let page = list(
            &app,
            ANNA,
            "OUTBOUND",
            json!({ "filter": filter, "first": 1 }),
        )
        .await;
        let cursor = page["pageInfo"]["endCursor"].clone();
        assert!(cursor.is_string());
        let token = app.token(ANNA).await;
        for (order, arg) in [
            (
                json!({ "field": "DEAL_NAME", "direction": "DESC" }),
                "after",
            ),
            (json!({ "field": "VALUE", "direction": "ASC" }), "after"),
            (
                json!({ "field": "CLOSE_DATE", "direction": "DESC" }),
                "before",
            ),
        ] {
            let mut vars = json!({ "view": "OUTBOUND", "filter": filter, "orderBy": order });
            vars[arg] = cursor.clone();
            vars[if arg == "after" { "first" } else { "last" }] = json!(1);
            let v = app.gql(Some(&token), LIST, vars).await;
            assert_eq!(error_code(&v), "BAD_USER_INPUT", "{order} {arg}: {v}");
            assert!(
                v["data"].is_null() || v["data"]["opportunities"].is_null(),
                "{v}"
            );
        }
        // The same order (CREATED_AT DESC, spelled out) accepts it.
        let v = app
            .gql(
                Some(&token),
                LIST,
                json!({ "view": "OUTBOUND", "filter": filter, "first": 1, "after": cursor,
                        "orderBy": { "field": "CREATED_AT", "direction": "DESC" } }),
            )
            .await;
        assert!(v.get("errors").is_none(), "{v}");
        assert_eq!(labels(&v["data"]["opportunities"]), ["c2"]);
        for garbage in ["", "bm9wZQ", "not a cursor", "eyJmIjoiVmFsdWUiLCJrIjoieCJ9"] {
            let v = app
                .gql(
                    Some(&token),
                    LIST,
                    json!({ "view": "OUTBOUND", "first": 1, "after": garbage }),
                )
                .await;
            assert_eq!(error_code(&v), "BAD_USER_INPUT", "{garbage:?}: {v}");
        }
    }
);

db_test!(pages_larger_than_100_are_refused, |app| async move {
    let token = app.token(ANNA).await;
    for (arg, n, ok) in [
        ("first", 100, true),
        ("first", 101, false),
        ("first", 1000, false),
        ("first", -1, false),
        ("last", 100, true),
        ("last", 101, false),
    ] {
        let mut vars = json!({ "view": "ARCHIVED" });
        vars[arg] = json!(n);
        let v = app.gql(Some(&token), LIST, vars).await;
        if ok {
            assert!(v.get("errors").is_none(), "{arg}: {n}: {v}");
        } else {
            assert_eq!(error_code(&v), "BAD_USER_INPUT", "{arg}: {n}: {v}");
        }
    }
});

const DEEP: &str = "query($first: Int, $s: String) {
  opportunities(view: OUTBOUND, first: $first, filter: {search: $s}) {
    totalCount
    edges { cursor node {
      id dealName dealType helpWanted stage direction value currency closeDate isFavorite availableActions
      contact { name consent } contactLocked
      customer { name country }
      team { name email }
      solutions { name publisher { name } }
      participants { organization { name } stage direction team { email } }
      invitations { inviterOrganization { name } inviteeOrganization { name } status
                    team { email } solutions { name } }
    } } } }";

/// The fields of one deal, as a list page and the `opportunity` query both select them.
const DEAL_FIELDS: &str = "id dealName dealType helpWanted stage direction value currency closeDate
  isFavorite availableActions contact { name consent } contactLocked
  customer { name country } team { name email } solutions { name publisher { name } }
  participants { organization { name } stage direction team { email } }
  invitations { inviterOrganization { name } inviteeOrganization { name } status
                inviterUser { email } team { email } solutions { name } }";

// A list page loads its nested fields in one round chosen by the selection and hands
// them to the loaders; the `opportunity` query loads each on its own. Both must show
// every deal alike, participants' teams and invitations included.
db_test!(
    a_list_page_shows_each_deal_as_the_opportunity_query_does,
    |app| async move {
        let k = kit(&app).await;
        for i in 0..9 {
            let mut extra = json!({ "team": [member(ANNA), member(UWE)] });
            if i % 2 == 0 {
                extra["invitations"] = invite_fabrikam(&k)["invitations"].clone();
            }
            deal(&app, &k, ANNA, &format!("p{i:02}"), extra).await;
        }
        let inbound = mine(&app, &k, FRANK, "INBOUND").await;
        for (i, id) in ids(&inbound).iter().enumerate() {
            match i % 3 {
                0 => accept(&app, FRANK, id, &[FRANK, FIONA]).await,
                1 => decline(&app, FRANK, id).await,
                _ => {}
            }
        }
        for (user, view) in [(ANNA, "OUTBOUND"), (FRANK, "INBOUND"), (FRANK, "ARCHIVED")] {
            let token = app.token(user).await;
            let page = app
                .gql(
                    Some(&token),
                    &format!(
                        "{{ opportunities(view: {view}, first: 50) {{ edges {{ node {{ {DEAL_FIELDS} }} }} }} }}"
                    ),
                    json!({}),
                )
                .await;
            assert!(page.get("errors").is_none(), "{page}");
            let edges = page["data"]["opportunities"]["edges"]
                .as_array()
                .expect("edges")
                .clone();
            assert!(!edges.is_empty(), "{user} {view}: {page}");
            for e in edges {
                let node = &e["node"];
                let one = app
                    .gql(
                        Some(&token),
                        &format!("query($id: ID!) {{ opportunity(id: $id) {{ {DEAL_FIELDS} }} }}"),
                        json!({ "id": node["id"] }),
                    )
                    .await;
                assert_eq!(&one["data"]["opportunity"], node, "{user} {view}");
            }
        }
    }
);

db_test!(
    a_page_costs_the_same_statements_whatever_its_size,
    |app| async move {
        let k = kit(&app).await;
        let consent = json!({ "name": "Carla Customer", "phone": "+44 20 7946 0000",
                              "email": "carla@woodgrove.example", "consent": true });
        for i in 0..50 {
            let mut extra = json!({ "team": [member(ANNA), member(UWE)] });
            if i % 3 == 0 {
                extra["invitations"] = invite_fabrikam(&k)["invitations"].clone();
            }
            if i % 5 == 0 {
                extra["helpWanted"] = json!("TECHNICAL_ARCHITECTURE");
                extra["contact"] = consent.clone();
            }
            deal(&app, &k, ANNA, &format!("n{i:02}"), extra).await;
        }
        // Fabrikam answers some: participants with teams, invitations in every status.
        let inbound = mine(&app, &k, FRANK, "INBOUND").await;
        for (i, id) in ids(&inbound).iter().enumerate() {
            match i % 3 {
                0 => accept(&app, FRANK, id, &[FRANK, FIONA]).await,
                1 => decline(&app, FRANK, id).await,
                _ => {}
            }
        }
        let token = app.token(ANNA).await;
        // Exactly: the sign-in, the page (its rows and total in one statement), one round
        // of seven beside each other (engagements with customers, participants,
        // invitations, organizations, every side's team, solutions, favorites), then the
        // solutions the invitations propose. Every nested field answers from what was fed
        // to the request's loaders: a loader that did not keep it, or a field left to a
        // loader's own batch (which a slow moment splits in two), would cost more here.
        const EXACT: u64 = 1 + 1 + 7 + 1;
        let mut measured = Vec::new();
        for n in [5, 20, 50] {
            // Each time alike: a request's loaders start empty, and the background
            // tasks' statements (event pump, outbox, checkpoints) are counted apart.
            let mut runs = Vec::new();
            for _ in 0..3 {
                let before = app.statements();
                let v = app
                    .gql(Some(&token), DEEP, json!({ "first": n, "s": k.word }))
                    .await;
                runs.push(app.statements() - before);
                assert!(v.get("errors").is_none(), "{v}");
                let edges = v["data"]["opportunities"]["edges"]
                    .as_array()
                    .expect("edges");
                assert_eq!(edges.len(), n as usize);
            }
            measured.push((n, runs));
        }
        println!("statements per OUTBOUND page (first N -> statements): {measured:?}");
        for (n, runs) in &measured {
            assert_eq!(
                runs, &[EXACT; 3],
                "pages of {n} cost {runs:?} statements ({measured:?})"
            );
        }
    }
);

// A mutation's fields run one after another, and each payload shows what the writes so
// far left: never a row an earlier field of the same request read before a later write
// changed it (the loaders of a mutation do not keep rows).
db_test!(
    a_mutations_payload_reads_what_the_writes_before_it_left,
    |app| async move {
        let k = kit(&app).await;
        let id = deal(&app, &k, ANNA, "serial", json!({})).await;
        let v = app
            .gql_as(
                ANNA,
                "mutation($id: ID!, $uwe: TeamMemberInput!) {
                   a: setFavorite(input: {opportunityId: $id, favorite: true}) {
                        opportunity { isFavorite team { email } } }
                   b: setFavorite(input: {opportunityId: $id, favorite: false}) {
                        opportunity { isFavorite } }
                   c: addTeamMember(input: {opportunityId: $id, member: $uwe}) {
                        opportunity { team { email } } userErrors { code } } }",
                json!({ "id": id, "uwe": member(UWE) }),
            )
            .await;
        assert_eq!(v["a"]["opportunity"]["isFavorite"], json!(true), "{v}");
        assert_eq!(
            v["a"]["opportunity"]["team"],
            json!([{ "email": ANNA }]),
            "{v}"
        );
        assert_eq!(v["b"]["opportunity"]["isFavorite"], json!(false), "{v}");
        assert_eq!(v["c"]["userErrors"], json!([]), "{v}");
        let team = json!([{ "email": ANNA }, { "email": UWE }]);
        assert_eq!(v["c"]["opportunity"]["team"], team, "{v}");
        // And a later request reads the same.
        let after = app
            .gql_as(
                ANNA,
                "query($id: ID!) { opportunity(id: $id) { isFavorite team { email } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            after["opportunity"],
            json!({ "isFavorite": false, "team": team })
        );
    }
);

/// The three tabs' whole totals for `email` through the server at `base`, each checked
/// against the same list behind a filter that keeps every row of the tab (a filtered
/// list is always counted afresh): `[inbound, outbound, archived]`.
async fn whole_totals(app: &TestApp, base: &str, email: &str) -> [i64; 3] {
    let q = "query($f1: OpportunityFilter, $f2: OpportunityFilter, $f3: OpportunityFilter) {
      i: opportunities(view: INBOUND, first: 1) { totalCount }
      o: opportunities(view: OUTBOUND, first: 1) { totalCount }
      a: opportunities(view: ARCHIVED, first: 1) { totalCount }
      fi: opportunities(view: INBOUND, first: 1, filter: $f1) { totalCount }
      fo: opportunities(view: OUTBOUND, first: 1, filter: $f2) { totalCount }
      fa: opportunities(view: ARCHIVED, first: 1, filter: $f3) { totalCount } }";
    let vars = json!({
        "f1": { "direction": "INBOUND" },
        "f2": { "direction": "OUTBOUND" },
        "f3": { "stages": ["WON", "LOST", "DECLINED", "EXPIRED"] },
    });
    let v = app.gql_as_at(base, email, q, vars).await;
    let total = |k: &str| v[k]["totalCount"].as_i64().expect("totalCount");
    let whole = [total("i"), total("o"), total("a")];
    assert_eq!(
        whole,
        [total("fi"), total("fo"), total("fa")],
        "{email} at {base}"
    );
    whole
}

db_test!(
    whole_tab_totals_follow_every_change_at_once_on_every_instance,
    |app| async move {
        let k = kit(&app).await;
        let second = app.second_instance(|_| {}).await;
        let bases = [app.url(""), format!("http://{}", second.addr)];
        // Every user's totals through both instances, twice: the second read is served
        // by what the first kept. Returns them as the first instance gave them.
        let read = |email: &'static str| {
            let (app, bases) = (&app, &bases);
            async move {
                let first = whole_totals(app, &bases[0], email).await;
                for base in bases {
                    for _ in 0..2 {
                        assert_eq!(whole_totals(app, base, email).await, first, "{email}");
                    }
                }
                first
            }
        };
        let (anna, uwe, frank) = (read(ANNA).await, read(UWE).await, read(FRANK).await);

        // A new deal: outbound for its organization, not for a referral user off its team.
        let d = deal(&app, &k, ANNA, "own", json!({})).await;
        assert_eq!(read(ANNA).await, [anna[0], anna[1] + 1, anna[2]]);
        assert_eq!(read(UWE).await, uwe);

        // A referral user added to the team reaches it, and loses it when removed.
        let added = must(
            &app,
            ANNA,
            "mutation($id: ID!, $m: TeamMemberInput!) { addTeamMember(input: {opportunityId: $id, member: $m}) {
               opportunity { team { id email } } userErrors { code } } }",
            json!({ "id": d, "m": member(UWE) }),
        )
        .await;
        // The organization's totals, kept and trusted again once its events settle, are
        // not the user's.
        assert_eq!(read(ANNA).await, [anna[0], anna[1] + 1, anna[2]]);
        tokio::time::sleep(cosell::store::opportunity_list::SETTLED).await;
        assert_eq!(read(ANNA).await, [anna[0], anna[1] + 1, anna[2]]);
        assert_eq!(read(UWE).await, [uwe[0], uwe[1] + 1, uwe[2]]);
        let uwe_row = added["opportunity"]["team"]
            .as_array()
            .and_then(|t| t.iter().find(|m| m["email"] == UWE))
            .map(|m| m["id"].clone())
            .expect("Uwe on the team");
        must(
            &app,
            ANNA,
            "mutation($id: ID!, $m: ID!) { removeTeamMember(input: {opportunityId: $id, teamMemberId: $m}) {
               opportunity { id } userErrors { code } } }",
            json!({ "id": d, "m": uwe_row }),
        )
        .await;
        assert_eq!(read(UWE).await, uwe);

        // Closed: from outbound to the archive.
        lost(&app, ANNA, &d).await;
        assert_eq!(read(ANNA).await, [anna[0], anna[1], anna[2] + 1]);

        // An invitation reaches the invitee's inbound tab; declining archives it.
        deal(&app, &k, ANNA, "declined", invite_fabrikam(&k)).await;
        assert_eq!(read(FRANK).await, [frank[0] + 1, frank[1], frank[2]]);
        decline(&app, FRANK, &find(&app, &k, FRANK, "declined").await).await;
        assert_eq!(read(FRANK).await, [frank[0], frank[1], frank[2] + 1]);

        // Accepted, it stays inbound; won, it is archived.
        deal(&app, &k, ANNA, "won", invite_fabrikam(&k)).await;
        let id = find(&app, &k, FRANK, "won").await;
        accept(&app, FRANK, &id, &[FRANK]).await;
        assert_eq!(read(FRANK).await, [frank[0] + 1, frank[1], frank[2] + 1]);
        won(&app, FRANK, &id).await;
        assert_eq!(read(FRANK).await, [frank[0], frank[1], frank[2] + 2]);

        // The sweep: an unanswered invitation expires into the archive, and every
        // invitation of the demo data left waiting expires with it.
        deal(&app, &k, ANNA, "expired", invite_fabrikam(&k)).await;
        let waiting = read(FRANK).await;
        app.advance_clock(chrono::Duration::days(15));
        let expired = app.expire_now().await as i64;
        assert!(expired >= 1);
        let after = read(FRANK).await;
        assert!(after[0] < waiting[0], "{waiting:?} → {after:?}");
        assert_eq!(after[0] + after[2], waiting[0] + waiting[2]);

        // A change written through the other instance is seen through this one too.
        let anna = read(ANNA).await;
        let p = app
            .gql_as_at(
                &bases[1],
                ANNA,
                &format!(
                    "mutation($input: CreateDealInput!) {{ createDeal(input: $input) {PAYLOAD} }}"
                ),
                json!({ "input": {
                "customerId": k.woodgrove, "dealName": format!("Views {} there", k.word),
                "value": "1", "currency": "EUR", "closeDate": days(400),
                "team": [member(ANNA)], "solutionIds": [k.contoso_solution],
                "helpWanted": "NONE" } }),
            )
            .await;
        assert_eq!(p["createDeal"]["userErrors"], json!([]), "{p}");
        assert_eq!(read(ANNA).await, [anna[0], anna[1] + 1, anna[2]]);
        second.shutdown().await.expect("second instance stops");
    }
);
