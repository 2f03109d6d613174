//! Partner search (SPEC §3): name match first, then responsiveness and fit, with the
//! figures behind each rank; narrowed by solution, solution kind and country.
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

const Q: &str = "query($s: String, $sol: ID, $kind: SolutionKind, $c: String, $fs: [ID!], $fc: String) {
  partners(search: $s, solution: $sol, solutionKind: $kind, country: $c, forSolutions: $fs, forCustomerCountry: $fc, first: 20) {
    totalCount edges { score similarDeals responsiveness { invitationsReceived answeredWithinWindow shareAnsweredWithinWindow medianHoursToAnswer }
      node { name country } } } }";

fn names(v: &Value) -> Vec<String> {
    v["partners"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["node"]["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn invite_and_answer(
    app: &TestApp,
    org_search: &str,
    admin: &str,
    name: &str,
    answer_after_hours: Option<i64>,
) {
    let org = app
        .gql_as(
            "maria@microsoft.example",
            "query($s: String) { partners(search: $s) { edges { node { id } } } }",
            json!({ "s": org_search }),
        )
        .await["partners"]["edges"][0]["node"]["id"]
        .clone();
    let sol = app.own_solution("maria@microsoft.example").await;
    let cust = app
        .customer_id("maria@microsoft.example", "woodgrove")
        .await;
    let v = app
        .gql_as(
            "maria@microsoft.example",
            "mutation($i: CreateDealInput!) { createDeal(input: $i) { userErrors { code message } } }",
            json!({ "i": { "customerId": cust, "dealName": name, "solutionIds": [sol],
                "team": [{ "name": "Maria", "phone": "+1 425 5550100", "email": "maria@microsoft.example" }],
                "invitations": [{ "organizationId": org }] } }),
        )
        .await;
    assert_eq!(v["createDeal"]["userErrors"], json!([]), "{v}");
    if let Some(h) = answer_after_hours {
        app.advance_clock(chrono::Duration::hours(h));
        let id = app
            .gql_as(admin, "query($s: String) { opportunities(view: INBOUND, filter: {search: $s, stages: [RECEIVED]}) { nodes { id } } }", json!({ "s": name }))
            .await["opportunities"]["nodes"][0]["id"]
            .clone();
        let v = app
            .gql_as(admin, "mutation($id: ID!) { acceptInvitation(input: {opportunityId: $id}) { userErrors { code } } }", json!({ "id": id }))
            .await;
        assert_eq!(v["acceptInvitation"]["userErrors"], json!([]), "{v}");
    }
}

db_test!(
    partners_that_answer_promptly_rank_higher_among_equal_name_matches,
    |app| async move {
        // Northwind answers three invitations within two hours; Adventure Works lets three
        // lapse.
        for n in 0..3 {
            invite_and_answer(
                &app,
                "northwind",
                "nadia@northwind.example",
                &format!("Prompt {n}"),
                Some(2),
            )
            .await;
            invite_and_answer(
                &app,
                "adventure",
                "alex@adventure-works.example",
                &format!("Lapse {n}"),
                None,
            )
            .await;
        }
        app.advance_clock(chrono::Duration::days(15));
        app.expire_now().await;
        let v = app.gql_as("anna@contoso.example", Q, json!({})).await;
        let order = names(&v);
        let pos = |n: &str| order.iter().position(|x| x == n).expect("listed");
        assert!(
            pos("Northwind Traders") < pos("Adventure Works Cloud"),
            "{order:?}"
        );
        // The figures explain the rank.
        let edges = v["partners"]["edges"].as_array().expect("edges");
        let nw = edges
            .iter()
            .find(|e| e["node"]["name"] == "Northwind Traders")
            .expect("northwind");
        let aw = edges
            .iter()
            .find(|e| e["node"]["name"] == "Adventure Works Cloud")
            .expect("adventure");
        assert!(
            nw["responsiveness"]["answeredWithinWindow"].as_i64() >= Some(3),
            "{nw}"
        );
        assert!(nw["score"].as_f64() > aw["score"].as_f64());
        assert!(
            aw["responsiveness"]["shareAnsweredWithinWindow"].as_f64()
                < nw["responsiveness"]["shareAnsweredWithinWindow"].as_f64()
        );
        // A name match still comes first, whatever the figures.
        let named = app
            .gql_as("anna@contoso.example", Q, json!({ "s": "adventure" }))
            .await;
        assert_eq!(names(&named)[0], "Adventure Works Cloud");
    }
);

db_test!(
    partners_that_accepted_similar_deals_rank_higher,
    |app| async move {
        let sol = app.own_solution("maria@microsoft.example").await;
        // Fabrikam accepts two Microsoft deals for a British customer with that solution.
        for n in 0..2 {
            invite_and_answer(
                &app,
                "fabrikam",
                "frank@fabrikam.example",
                &format!("Fit {n}"),
                Some(1),
            )
            .await;
        }
        let v = app
            .gql_as(
                "anna@contoso.example",
                Q,
                json!({ "fs": [sol], "fc": "GB" }),
            )
            .await;
        let fab = v["partners"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["name"] == "Fabrikam Solutions")
            .expect("fabrikam")
            .clone();
        assert!(fab["similarDeals"].as_i64() >= Some(2), "{fab}");
        assert_eq!(names(&v)[0], "Fabrikam Solutions", "{v}");
    }
);

db_test!(
    partners_are_narrowed_by_solution_kind_and_country,
    |app| async move {
        let fr = app
            .gql_as("anna@contoso.example", Q, json!({ "c": "fr" }))
            .await;
        assert_eq!(names(&fr), vec!["Northwind Traders"]);
        let sec = app
            .gql_as(
                "anna@contoso.example",
                "{ solutions(search: \"security suite\") { nodes { id } } }",
                json!({}),
            )
            .await["solutions"]["nodes"][0]["id"]
            .clone();
        let by_solution = app
            .gql_as("anna@contoso.example", Q, json!({ "sol": sec }))
            .await;
        assert_eq!(names(&by_solution), vec!["Fabrikam Solutions"]);
        let own = app
            .gql_as("anna@contoso.example", Q, json!({ "kind": "OWN" }))
            .await;
        assert_eq!(own["partners"]["totalCount"], 0);
        let third = app
            .gql_as("anna@contoso.example", Q, json!({ "kind": "THIRD_PARTY" }))
            .await;
        assert_eq!(third["partners"]["totalCount"], 3);
        let bad = app
            .gql(
                Some(&app.token("anna@contoso.example").await),
                Q,
                json!({ "c": "XX" }),
            )
            .await;
        assert_eq!(crate::helpers::error_code(&bad), "BAD_USER_INPUT");
    }
);
