//! Races (SPEC §5): rounds of four actors changing one opportunity at the same version;
//! in each round exactly one wins and the version moves by exactly one. The CI runs 200
//! rounds; `COSELL_RACE_ROUNDS=1000 cargo test race` runs the long version.
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

fn rounds() -> usize {
    std::env::var("COSELL_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

const UPDATE: &str = "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { version } userErrors { code } } }";
const ADD: &str = "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) { opportunity { version } userErrors { code } } }";

async fn post(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let r = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .expect("post");
    assert!(r.status().is_success());
    r.json().await.expect("json")
}

db_test!(
    four_actors_racing_on_one_opportunity_exactly_one_wins_each_round,
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        let uwe = app.token("uwe@contoso.example").await;
        let sol = app.own_solution("anna@contoso.example").await;
        let cust = app.customer_id("anna@contoso.example", "woodgrove").await;
        let created = app
        .gql_as(
            "anna@contoso.example",
            "mutation($i: CreateDealInput!) { createDeal(input: $i) { opportunity { id version } userErrors { code } } }",
            json!({ "i": { "customerId": cust, "dealName": "Race track", "solutionIds": [sol],
                "team": [{ "name": "Anna", "phone": "+49 30 1234567", "email": "anna@contoso.example" },
                         { "name": "Uwe", "phone": "+49 30 7654321", "email": "uwe@contoso.example" }] } }),
        )
        .await;
        let id = created["createDeal"]["opportunity"]["id"].clone();
        let mut version = created["createDeal"]["opportunity"]["version"]
            .as_i64()
            .expect("version");
        let n = rounds();
        for round in 0..n {
            let actors = [
                (
                    token.clone(),
                    UPDATE,
                    json!({ "i": { "opportunityId": id, "expectedVersion": version, "notes": format!("a{round}") } }),
                ),
                (
                    uwe.clone(),
                    UPDATE,
                    json!({ "i": { "opportunityId": id, "expectedVersion": version, "dealName": format!("Race {round}") } }),
                ),
                (
                    token.clone(),
                    UPDATE,
                    json!({ "i": { "opportunityId": id, "expectedVersion": version, "crmId": format!("R-{round}") } }),
                ),
                (
                    uwe.clone(),
                    ADD,
                    json!({ "i": { "opportunityId": id, "expectedVersion": version,
                "member": { "name": format!("M{round}"), "phone": "+49 30 1111111", "email": format!("m{round}@contoso.example") } } }),
                ),
            ];
            let results = futures_util::future::join_all(
                actors.iter().map(|(t, q, v)| post(&app, t, q, v.clone())),
            )
            .await;
            let mut wins = 0;
            for r in &results {
                let payload = r["data"]
                    .as_object()
                    .and_then(|d| d.values().next())
                    .cloned()
                    .unwrap_or(Value::Null);
                let errors = payload["userErrors"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if errors.is_empty() {
                    wins += 1;
                    assert_eq!(
                        payload["opportunity"]["version"].as_i64(),
                        Some(version + 1),
                        "{r}"
                    );
                } else {
                    assert_eq!(errors[0]["code"], "CONFLICT", "round {round}: {r}");
                }
            }
            assert_eq!(wins, 1, "round {round}: {results:?}");
            version += 1;
        }
        let now = app
            .gql_as(
                "anna@contoso.example",
                "query($id: ID!) { opportunity(id: $id) { version } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(now["opportunity"]["version"].as_i64(), Some(version));
        eprintln!("{n} rounds of 4 racing actors: one winner each");
    }
);
