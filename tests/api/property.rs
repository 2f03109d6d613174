//! A property of the whole system (SPEC §2, §7): after any sequence of operations, no
//! party sees an opportunity it may not see. Random sequences (a fixed seed, so a failure
//! replays) of deal creation, invitations, answers, edits, team changes and closing,
//! by random principals, checked after every step against a model kept by the test.
use std::collections::HashMap;

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

/// (email, organization key, admin?)
const PEOPLE: [(&str, &str, bool); 8] = [
    ("anna@contoso.example", "contoso", true),
    ("uwe@contoso.example", "contoso", false),
    ("lisa@contoso.example", "contoso", false),
    ("frank@fabrikam.example", "fabrikam", true),
    ("fiona@fabrikam.example", "fabrikam", false),
    ("nadia@northwind.example", "northwind", true),
    ("maria@microsoft.example", "microsoft", true),
    ("sam@microsoft.example", "microsoft", false),
];

fn steps() -> usize {
    std::env::var("COSELL_PROPERTY_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// What the test knows of an opportunity.
#[derive(Debug, Clone)]
struct Known {
    org: &'static str,
    team: Vec<String>,
    stage: String,
    name: String,
}

struct World {
    tokens: HashMap<&'static str, String>,
    org_ids: HashMap<&'static str, Value>,
    solutions: HashMap<&'static str, Value>,
    customer: Value,
    opps: HashMap<String, Known>,
}

fn admin_of(org: &str) -> &'static str {
    PEOPLE
        .iter()
        .find(|p| p.1 == org && p.2)
        .map(|p| p.0)
        .unwrap_or("anna@contoso.example")
}

fn sees(person: &(&str, &str, bool), k: &Known) -> bool {
    person.1 == k.org && (person.2 || k.team.iter().any(|e| e == person.0))
}

async fn gql(app: &TestApp, w: &World, email: &str, q: &str, vars: Value) -> Value {
    let v = app.gql(Some(&w.tokens[email]), q, vars).await;
    assert!(v.get("errors").is_none(), "{email}: {q}: {v}");
    v["data"].clone()
}

/// Reads an opportunity as its organization's admin and refreshes the model.
async fn refresh(app: &TestApp, w: &mut World, id: &str, org: &'static str) {
    let v = gql(
        app,
        w,
        admin_of(org),
        "query($id: ID!) { opportunity(id: $id) { stage dealName team { email } } }",
        json!({ "id": id }),
    )
    .await;
    let o = &v["opportunity"];
    assert!(!o.is_null(), "the owner's admin lost sight of {id}");
    w.opps.insert(
        id.to_owned(),
        Known {
            org,
            team: o["team"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|m| m["email"].as_str())
                        .map(str::to_lowercase)
                        .collect()
                })
                .unwrap_or_default(),
            stage: o["stage"].as_str().unwrap_or("").to_owned(),
            name: o["dealName"].as_str().unwrap_or("").to_owned(),
        },
    );
}

/// Every person sees `id` exactly when the model says so, through `opportunity(id)` and
/// `node(id)`; and a person's lists hold nothing it may not see.
async fn check(app: &TestApp, w: &World, id: &str, step: usize) {
    let k = &w.opps[id];
    for p in &PEOPLE {
        let v = gql(
            app,
            w,
            p.0,
            "query($id: ID!) { opportunity(id: $id) { id } node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
        let expected = sees(p, k);
        assert_eq!(
            !v["opportunity"].is_null(),
            expected,
            "step {step}: {} and {id} ({k:?})",
            p.0
        );
        assert_eq!(
            !v["node"].is_null(),
            expected,
            "step {step}: node, {} and {id}",
            p.0
        );
    }
}

async fn check_lists(app: &TestApp, w: &World, step: usize) {
    for p in &PEOPLE {
        for view in ["INBOUND", "OUTBOUND", "FAVORITES", "ARCHIVED"] {
            let v = gql(
                app,
                w,
                p.0,
                &format!("{{ opportunities(view: {view}, first: 100) {{ nodes {{ id }} }} }}"),
                json!({}),
            )
            .await;
            for n in v["opportunities"]["nodes"].as_array().into_iter().flatten() {
                let id = n["id"].as_str().unwrap_or("");
                if let Some(k) = w.opps.get(id) {
                    assert!(sees(p, k), "step {step}: {} lists {id} ({k:?})", p.0);
                }
            }
        }
    }
}

db_test!(
    no_party_ever_sees_an_opportunity_it_may_not_see,
    |app| async move {
        let mut w = World {
            tokens: HashMap::new(),
            org_ids: HashMap::new(),
            solutions: HashMap::new(),
            customer: Value::Null,
            opps: HashMap::new(),
        };
        for p in &PEOPLE {
            w.tokens.insert(p.0, app.token(p.0).await);
        }
        for p in PEOPLE.iter().filter(|p| p.2) {
            let v = gql(&app, &w, p.0, "{ viewer { organization { id } } solutions(kind: OWN, coSellReady: true) { nodes { id } } }", json!({})).await;
            w.org_ids
                .insert(p.1, v["viewer"]["organization"]["id"].clone());
            w.solutions
                .insert(p.1, v["solutions"]["nodes"][0]["id"].clone());
        }
        w.customer = gql(
            &app,
            &w,
            "anna@contoso.example",
            "{ customers(search: \"woodgrove\") { nodes { id } } }",
            json!({}),
        )
        .await["customers"]["nodes"][0]["id"]
            .clone();
        let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
        let n = steps();
        for step in 0..n {
            let touched: Option<String> = match rng.below(7) {
                // Create a deal with a random team of the creator's organization.
                0 | 1 => {
                    let creator = PEOPLE[rng.below(PEOPLE.len())];
                    let mut team: Vec<&str> = PEOPLE
                        .iter()
                        .filter(|p| p.1 == creator.1 && rng.below(2) == 0)
                        .map(|p| p.0)
                        .collect();
                    if !team.contains(&creator.0) {
                        team.push(creator.0);
                    }
                    let members: Vec<Value> = team
                        .iter()
                        .map(|e| json!({ "name": "M", "phone": "+49 30 1234567", "email": e }))
                        .collect();
                    let name = format!("P{step}");
                    let v = gql(&app, &w, creator.0,
                    "mutation($i: CreateDealInput!) { createDeal(input: $i) { opportunity { id } userErrors { code } } }",
                    json!({ "i": { "customerId": w.customer, "dealName": name, "team": members,
                        "solutionIds": [w.solutions[creator.1]],
                        "contact": { "name": "C", "phone": "+49 30 7654321", "email": "c@customer.example", "consent": true } } })).await;
                    let id = v["createDeal"]["opportunity"]["id"]
                        .as_str()
                        .map(str::to_owned);
                    if let Some(id) = &id {
                        refresh(&app, &mut w, id, creator.1).await;
                    }
                    id
                }
                // Invite another organization from an accepted opportunity.
                2 => {
                    let ids: Vec<String> = w
                        .opps
                        .iter()
                        .filter(|(_, k)| k.stage == "ACCEPTED")
                        .map(|(i, _)| i.clone())
                        .collect();
                    if ids.is_empty() {
                        None
                    } else {
                        let id = ids[rng.below(ids.len())].clone();
                        let k = w.opps[&id].clone();
                        let orgs: Vec<&'static str> =
                            ["contoso", "fabrikam", "northwind", "microsoft"]
                                .into_iter()
                                .filter(|o| *o != k.org)
                                .collect();
                        let to = orgs[rng.below(orgs.len())];
                        let v = gql(&app, &w, admin_of(k.org),
                        "mutation($i: SendInvitationInput!) { sendInvitation(input: $i) { invitation { id } userErrors { code } } }",
                        json!({ "i": { "opportunityId": id, "organizationId": w.org_ids[to], "terms": { "helpWanted": "OTHER" } } })).await;
                        if v["sendInvitation"]["invitation"].is_null() {
                            None
                        } else {
                            // The invitee's new opportunity, found by its admin.
                            let l = gql(&app, &w, admin_of(to),
                            "query($s: String) { opportunities(view: INBOUND, filter: {search: $s, stages: [RECEIVED]}, first: 10) { nodes { id dealName } } }",
                            json!({ "s": k.name })).await;
                            let found = l["opportunities"]["nodes"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .find(|n| {
                                    n["dealName"] == k.name.as_str()
                                        && !w.opps.contains_key(n["id"].as_str().unwrap_or(""))
                                })
                                .and_then(|n| n["id"].as_str())
                                .map(str::to_owned);
                            if let Some(new) = &found {
                                refresh(&app, &mut w, new, to).await;
                            }
                            found
                        }
                    }
                }
                // Answer a received invitation: accept with a random team, or decline.
                3 => {
                    let ids: Vec<String> = w
                        .opps
                        .iter()
                        .filter(|(_, k)| k.stage == "RECEIVED")
                        .map(|(i, _)| i.clone())
                        .collect();
                    if ids.is_empty() {
                        None
                    } else {
                        let id = ids[rng.below(ids.len())].clone();
                        let org = w.opps[&id].org;
                        if rng.below(3) == 0 {
                            gql(&app, &w, admin_of(org), "mutation($id: ID!) { declineInvitation(input: {opportunityId: $id, reason: OTHER}) { userErrors { code } } }", json!({ "id": id })).await;
                        } else {
                            let team: Vec<Value> = PEOPLE.iter().filter(|p| p.1 == org && rng.below(2) == 0)
                            .map(|p| json!({ "name": "T", "phone": "+49 30 1234567", "email": p.0 })).collect();
                            let team = if team.is_empty() {
                                vec![
                                    json!({ "name": "A", "phone": "+49 30 1234567", "email": admin_of(org) }),
                                ]
                            } else {
                                team
                            };
                            gql(&app, &w, admin_of(org), "mutation($id: ID!, $t: [TeamMemberInput!]) { acceptInvitation(input: {opportunityId: $id, team: $t}) { userErrors { code } } }", json!({ "id": id, "t": team })).await;
                        }
                        refresh(&app, &mut w, &id, org).await;
                        Some(id)
                    }
                }
                // Change a team: add or remove a member of the owner's organization.
                4 => {
                    let ids: Vec<String> = w
                        .opps
                        .iter()
                        .filter(|(_, k)| k.stage == "ACCEPTED")
                        .map(|(i, _)| i.clone())
                        .collect();
                    if ids.is_empty() {
                        None
                    } else {
                        let id = ids[rng.below(ids.len())].clone();
                        let org = w.opps[&id].org;
                        let who = PEOPLE
                            .iter()
                            .filter(|p| p.1 == org)
                            .nth(rng.below(3))
                            .map(|p| p.0)
                            .unwrap_or(admin_of(org));
                        let members = gql(
                            &app,
                            &w,
                            admin_of(org),
                            "query($id: ID!) { opportunity(id: $id) { team { id email } } }",
                            json!({ "id": id }),
                        )
                        .await;
                        let team = members["opportunity"]["team"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        match team.iter().find(|m| m["email"] == who) {
                            Some(m) if team.len() > 1 => {
                                gql(&app, &w, admin_of(org), "mutation($id: ID!, $m: ID!) { removeTeamMember(input: {opportunityId: $id, teamMemberId: $m}) { userErrors { code } } }", json!({ "id": id, "m": m["id"] })).await;
                            }
                            Some(_) => {}
                            None => {
                                gql(&app, &w, admin_of(org), "mutation($id: ID!, $e: String!) { addTeamMember(input: {opportunityId: $id, member: {name: \"N\", phone: \"+49 30 1234567\", email: $e}}) { userErrors { code } } }", json!({ "id": id, "e": who })).await;
                            }
                        }
                        refresh(&app, &mut w, &id, org).await;
                        Some(id)
                    }
                }
                // Close a side.
                5 => {
                    let ids: Vec<String> = w
                        .opps
                        .iter()
                        .filter(|(_, k)| k.stage == "ACCEPTED")
                        .map(|(i, _)| i.clone())
                        .collect();
                    if ids.is_empty() {
                        None
                    } else {
                        let id = ids[rng.below(ids.len())].clone();
                        let org = w.opps[&id].org;
                        let q = if rng.below(2) == 0 {
                            "mutation($id: ID!) { markWon(input: {opportunityId: $id}) { userErrors { code } } }"
                        } else {
                            "mutation($id: ID!) { markLost(input: {opportunityId: $id, reason: OTHER}) { userErrors { code } } }"
                        };
                        gql(&app, &w, admin_of(org), q, json!({ "id": id })).await;
                        refresh(&app, &mut w, &id, org).await;
                        Some(id)
                    }
                }
                // Someone tries to touch an opportunity it may not see: refused, nothing leaks.
                _ => {
                    let ids: Vec<String> = w.opps.keys().cloned().collect();
                    if ids.is_empty() {
                        None
                    } else {
                        let id = ids[rng.below(ids.len())].clone();
                        let k = w.opps[&id].clone();
                        let p = PEOPLE[rng.below(PEOPLE.len())];
                        if !sees(&p, &k) {
                            let v = gql(&app, &w, p.0, "mutation($id: ID!) { updateOpportunity(input: {opportunityId: $id, notes: \"x\"}) { opportunity { id } userErrors { code } } }", json!({ "id": id })).await;
                            assert_eq!(
                                v["updateOpportunity"]["userErrors"][0]["code"], "NOT_FOUND",
                                "step {step}: {} on {id}",
                                p.0
                            );
                        }
                        Some(id)
                    }
                }
            };
            if let Some(id) = touched {
                check(&app, &w, &id, step).await;
            }
            if step % 50 == 49 {
                check_lists(&app, &w, step).await;
            }
        }
        check_lists(&app, &w, n).await;
        eprintln!(
            "{n} random steps over {} opportunities: nothing seen that may not be",
            w.opps.len()
        );
    }
);
