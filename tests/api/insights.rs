//! Pipeline insights (SPEC §7): counts and per-currency values by stage, deal type,
//! direction and close month, the win rate, and answers to received invitations, within
//! the caller's reach.
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

const Q: &str = "query($from: NaiveDate!, $to: NaiveDate!) { pipeline(from: $from, to: $to) {
  byStage { key count values { currency amount } } byDealType { key count } byDirection { key count }
  byCloseMonth { key count } winRate invitationsReceived answeredWithinWindow shareAnsweredWithinWindow medianHoursToAnswer } }";

async fn deal(
    app: &TestApp,
    name: &str,
    value: &str,
    currency: &str,
    invite: Option<&Value>,
) -> String {
    let sol = app.own_solution("anna@contoso.example").await;
    let cust = app.customer_id("anna@contoso.example", "woodgrove").await;
    let invitations: Vec<Value> = invite
        .map(|o| json!({ "organizationId": o }))
        .into_iter()
        .collect();
    let v = app
        .gql_as(
            "anna@contoso.example",
            "mutation($i: CreateDealInput!) { createDeal(input: $i) { opportunity { id } userErrors { code message } } }",
            json!({ "i": { "customerId": cust, "dealName": name, "value": value, "currency": currency,
                "solutionIds": [sol], "invitations": invitations,
                "team": [{ "name": "Anna", "phone": "+49 30 1234567", "email": "anna@contoso.example" }] } }),
        )
        .await;
    assert_eq!(v["createDeal"]["userErrors"], json!([]), "{v}");
    v["createDeal"]["opportunity"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

db_test!(
    pipeline_counts_and_sums_per_currency_within_reach,
    |app| async move {
        // A day of its own, far from the demo deals.
        app.advance_clock(chrono::Duration::days(400));
        let day = (chrono::Utc::now() + chrono::Duration::days(400))
            .date_naive()
            .to_string();
        let a = deal(&app, "Pipe A", "100.00", "EUR", None).await;
        deal(&app, "Pipe B", "50.50", "EUR", None).await;
        deal(&app, "Pipe C", "20", "USD", None).await;
        let d = deal(&app, "Pipe D", "7", "EUR", None).await;
        app.gql_as(
            "anna@contoso.example",
            "mutation($id: ID!) { markWon(input: {opportunityId: $id}) { userErrors { code } } }",
            json!({ "id": a }),
        )
        .await;
        app.gql_as("anna@contoso.example", "mutation($id: ID!) { markLost(input: {opportunityId: $id, reason: OTHER}) { userErrors { code } } }", json!({ "id": d })).await;
        let p = app
            .gql_as("anna@contoso.example", Q, json!({ "from": day, "to": day }))
            .await["pipeline"]
            .clone();
        let accepted = p["byStage"]
            .as_array()
            .expect("stages")
            .iter()
            .find(|b| b["key"] == "ACCEPTED")
            .expect("accepted")
            .clone();
        assert_eq!(accepted["count"], 2);
        let values = accepted["values"].as_array().expect("values");
        assert!(
            values.contains(&json!({ "currency": "EUR", "amount": "50.50" })),
            "{values:?}"
        );
        assert!(
            values.contains(&json!({ "currency": "USD", "amount": "20.00" })),
            "{values:?}"
        );
        assert_eq!(p["winRate"], 0.5);
        assert_eq!(p["byDirection"], json!([{ "key": "OUTBOUND", "count": 4 }]));
        assert_eq!(p["byDealType"], json!([{ "key": "PRIVATE", "count": 4 }]));
        // A referral user's reach is its own deals: none here.
        let f = app
            .gql_as("uwe@contoso.example", Q, json!({ "from": day, "to": day }))
            .await["pipeline"]
            .clone();
        assert_eq!(f["byStage"], json!([]));
        assert_eq!(f["winRate"], Value::Null);
        // A backwards range is refused.
        let bad = app
            .gql(
                Some(&app.token("anna@contoso.example").await),
                Q,
                json!({ "from": day, "to": "2000-01-01" }),
            )
            .await;
        assert_eq!(crate::helpers::error_code(&bad), "BAD_USER_INPUT");
    }
);

db_test!(
    pipeline_measures_how_promptly_invitations_are_answered,
    |app| async move {
        app.advance_clock(chrono::Duration::days(400));
        let day = (chrono::Utc::now() + chrono::Duration::days(400))
            .date_naive()
            .to_string();
        let fabrikam = app.partner_id("anna@contoso.example", "fabrikam").await;
        deal(&app, "Prompt one", "10", "EUR", Some(&fabrikam)).await;
        deal(&app, "Prompt two", "10", "EUR", Some(&fabrikam)).await;
        app.advance_clock(chrono::Duration::hours(2));
        let inbound = app
        .gql_as("frank@fabrikam.example", "{ opportunities(view: INBOUND, filter: {search: \"prompt one\"}) { nodes { id } } }", json!({}))
        .await;
        let id = inbound["opportunities"]["nodes"][0]["id"].clone();
        let v = app
        .gql_as("frank@fabrikam.example", "mutation($id: ID!) { acceptInvitation(input: {opportunityId: $id}) { userErrors { code } } }", json!({ "id": id }))
        .await;
        assert_eq!(v["acceptInvitation"]["userErrors"], json!([]));
        app.advance_clock(chrono::Duration::days(15));
        app.expire_now().await;
        let p = app
            .gql_as(
                "frank@fabrikam.example",
                Q,
                json!({ "from": day, "to": day }),
            )
            .await["pipeline"]
            .clone();
        assert_eq!(p["invitationsReceived"], 2);
        assert_eq!(p["answeredWithinWindow"], 1);
        assert_eq!(p["shareAnsweredWithinWindow"], 0.5);
        let median = p["medianHoursToAnswer"].as_f64().expect("median");
        assert!((median - 2.0).abs() < 0.1, "{median}");
    }
);

db_test!(
    pipeline_of_a_referral_user_counts_the_deals_it_is_on,
    |app| async move {
        app.advance_clock(chrono::Duration::days(400));
        let today = (chrono::Utc::now() + chrono::Duration::days(400)).date_naive();
        let day = today.to_string();
        let close = (today + chrono::Duration::days(40)).to_string();
        let sol = app.own_solution("anna@contoso.example").await;
        let cust = app.customer_id("anna@contoso.example", "woodgrove").await;
        let anna =
            json!({ "name": "Anna", "phone": "+49 30 1234567", "email": "anna@contoso.example" });
        let uwe =
            json!({ "name": "Uwe", "phone": "+49 30 1234568", "email": "uwe@contoso.example" });
        for (name, value, close, team) in [
            ("Reach A", "30.00", Some(close.clone()), json!([anna, uwe])),
            ("Reach B", "5.00", Some(close.clone()), json!([anna])),
            ("Reach C", "1.00", None, json!([anna])),
        ] {
            let v = app
                .gql_as(
                    "anna@contoso.example",
                    "mutation($i: CreateDealInput!) { createDeal(input: $i) { userErrors { code message } } }",
                    json!({ "i": { "customerId": cust, "dealName": name, "value": value, "currency": "EUR",
                        "closeDate": close, "solutionIds": [sol], "team": team } }),
                )
                .await;
            assert_eq!(v["createDeal"]["userErrors"], json!([]), "{v}");
        }
        let pipeline = async |email: &str| {
            app.gql_as(email, Q, json!({ "from": day, "to": day }))
                .await["pipeline"]
                .clone()
        };
        let month = close[..7].to_owned();
        // Uwe is on one of the three: he is given that one alone.
        let u = pipeline("uwe@contoso.example").await;
        assert_eq!(
            u["byStage"],
            json!([{ "key": "ACCEPTED", "count": 1, "values": [{ "currency": "EUR", "amount": "30.00" }] }]),
            "{u}"
        );
        assert_eq!(
            u["byCloseMonth"],
            json!([{ "key": month, "count": 1 }]),
            "{u}"
        );
        // The admin is given all three, by close month (none for the deal without a date).
        let a = pipeline("anna@contoso.example").await;
        let mut months = a["byCloseMonth"].as_array().expect("months").clone();
        months.sort_by_key(|b| b["key"].as_str().unwrap_or_default().to_owned());
        assert_eq!(
            months,
            vec![
                json!({ "key": month, "count": 2 }),
                json!({ "key": "NONE", "count": 1 })
            ],
            "{a}"
        );
    }
);
