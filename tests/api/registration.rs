//! Deal registration after a win (SPEC §5).
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

const ANNA: &str = "anna@contoso.example";
const RITA: &str = "rita@microsoft.example";

/// The id of the solution of Contoso's catalog that `name` finds.
pub(crate) async fn solution(app: &TestApp, name: &str) -> Value {
    app.gql_as(
        ANNA,
        "query($s: String) { solutions(search: $s) { nodes { id } } }",
        json!({ "s": name }),
    )
    .await["solutions"]["nodes"][0]["id"]
        .clone()
}

/// Anna on a team.
pub(crate) fn anna() -> Value {
    json!({ "name": "Anna", "phone": "+49 30 1234567", "email": ANNA })
}

/// A deal of Contoso's named `name` with `sol` and `team`, its customer contact shared
/// (so Microsoft may be invited); returns its id.
pub(crate) async fn contoso_deal(app: &TestApp, name: &str, sol: &Value, team: Value) -> String {
    let cust = app.customer_id(ANNA, "woodgrove").await;
    let v = app
        .gql_as(ANNA, "mutation($i: CreateDealInput!) { createDeal(input: $i) { opportunity { id } userErrors { code message } } }",
            json!({ "i": { "customerId": cust, "dealName": name, "solutionIds": [sol], "team": team,
                "contact": { "name": "Chris", "phone": "+49 30 7654321", "email": "chris@customer.example", "consent": true } } }))
        .await;
    assert_eq!(v["createDeal"]["userErrors"], json!([]), "{v}");
    v["createDeal"]["opportunity"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Anna marks the deal `id` won.
pub(crate) async fn mark_won(app: &TestApp, id: &str) {
    let v = app
        .gql_as(
            ANNA,
            "mutation($id: ID!) { markWon(input: {opportunityId: $id}) { userErrors { code message } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(v["markWon"]["userErrors"], json!([]), "{v}");
}

/// A deal of Contoso's with `sol` and Anna on the team, won when `win`; returns its id.
async fn won_deal(app: &TestApp, sol: &Value, win: bool) -> String {
    let id = contoso_deal(app, "Registered", sol, json!([anna()])).await;
    if win {
        mark_won(app, &id).await;
    }
    id
}

/// Anna registers the won deal `id` with `sol`, bought on `date`: the payload.
pub(crate) async fn register(app: &TestApp, id: &str, sol: &Value, date: &str) -> Value {
    app.gql_as(ANNA, "mutation($i: RegisterDealInput!) { registerDeal(input: $i) { registration { id status version value } userErrors { code field message } } }",
        json!({ "i": { "opportunityId": id, "solutionIds": [sol], "purchaseDate": date, "value": "12500.00", "currency": "EUR",
            "links": ["https://contoso.example/po/1"] } }))
        .await["registerDeal"]
        .clone()
}

/// `who` takes the step `mutation` on the registration `id`: the payload.
pub(crate) async fn step(
    app: &TestApp,
    who: &str,
    mutation: &str,
    id: &Value,
    text: Option<&str>,
) -> Value {
    app.gql_as(who, &format!("mutation($i: RegistrationStepInput!) {{ {mutation}(input: $i) {{ registration {{ status version question answer decisionReason }} userErrors {{ code message }} }} }}"),
        json!({ "i": { "registrationId": id, "text": text } }))
        .await[mutation]
        .clone()
}

/// The kinds of the newest `first` events of opportunity `id`'s timeline, as `email`
/// sees them.
pub(crate) async fn timeline_kinds(
    app: &TestApp,
    email: &str,
    id: &str,
    first: i32,
) -> Vec<String> {
    let t = app
        .gql_as(
            email,
            "query($id: ID!, $first: Int) { opportunity(id: $id) { timeline(first: $first) { edges { node { kind } } } } }",
            json!({ "id": id, "first": first }),
        )
        .await;
    t["opportunity"]["timeline"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["kind"].as_str().map(str::to_owned))
        .collect()
}

/// Anna registers the won deal `id` (with Contoso's data platform), and Rita asks which
/// purchase order: the registration's first two steps.
pub(crate) async fn registered_and_questioned(app: &TestApp, id: &str) {
    let sol = solution(app, "contoso data platform").await;
    let r = register(app, id, &sol, &today()).await;
    assert_eq!(r["userErrors"], json!([]), "{r}");
    let s = step(
        app,
        RITA,
        "requestRegistrationInfo",
        &r["registration"]["id"],
        Some("Which PO?"),
    )
    .await;
    assert_eq!(s["userErrors"], json!([]), "{s}");
}

pub(crate) fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

db_test!(
    a_won_deal_with_an_eligible_solution_is_registered_and_reviewed,
    |app| async move {
        let sol = solution(&app, "contoso data platform").await;
        let id = won_deal(&app, &sol, true).await;
        let q = "query($id: ID!) { opportunity(id: $id) { availableActions registrationEligibility { eligible reasons } registration { status } } }";
        let o = app.gql_as(ANNA, q, json!({ "id": id })).await["opportunity"].clone();
        assert_eq!(o["registrationEligibility"]["eligible"], true, "{o}");
        assert_eq!(o["availableActions"], json!(["REGISTER_DEAL"]));
        let r = register(&app, &id, &sol, &today()).await;
        assert_eq!(r["userErrors"], json!([]), "{r}");
        assert_eq!(r["registration"]["status"], "SUBMITTED");
        assert_eq!(r["registration"]["value"], "12500.00");
        let reg = r["registration"]["id"].clone();
        let o = app.gql_as(ANNA, q, json!({ "id": id })).await["opportunity"].clone();
        assert_eq!(o["registrationEligibility"]["eligible"], false);
        assert_eq!(o["availableActions"], json!([]));
        assert_eq!(o["registration"]["status"], "SUBMITTED");
        // The reviewer asks, the partner answers, the reviewer approves.
        let s = step(
            &app,
            RITA,
            "requestRegistrationInfo",
            &reg,
            Some("Which PO?"),
        )
        .await;
        assert_eq!(s["registration"]["status"], "INFO_REQUESTED", "{s}");
        let s = step(&app, ANNA, "answerRegistrationInfo", &reg, Some("PO 4711")).await;
        assert_eq!(s["registration"]["status"], "SUBMITTED", "{s}");
        assert_eq!(s["registration"]["answer"], "PO 4711");
        let s = step(&app, RITA, "approveRegistration", &reg, None).await;
        assert_eq!(s["registration"]["status"], "APPROVED", "{s}");
        // Decided registrations are immutable.
        let s = step(&app, ANNA, "withdrawRegistration", &reg, None).await;
        assert_eq!(s["userErrors"][0]["code"], "INVALID_TRANSITION", "{s}");
        let s = step(&app, RITA, "rejectRegistration", &reg, Some("late")).await;
        assert_eq!(s["userErrors"][0]["code"], "INVALID_TRANSITION", "{s}");
        // Every step is an event both sides see, and mail to the team and the reviewers.
        let kinds = timeline_kinds(&app, ANNA, &id, 10).await;
        for k in [
            "REGISTRATION_SUBMITTED",
            "REGISTRATION_INFO_REQUESTED",
            "REGISTRATION_ANSWERED",
            "REGISTRATION_APPROVED",
        ] {
            assert!(kinds.iter().any(|x| x == k), "{kinds:?}");
        }
        assert!(app.count("email_outbox WHERE kind = 'REGISTRATION_UPDATE' AND recipient_email = 'rita@microsoft.example'").await >= 4);
        assert!(app.count("email_outbox WHERE kind = 'REGISTRATION_UPDATE' AND recipient_email = 'anna@contoso.example'").await >= 4);
        let list = app
            .gql_as(
                RITA,
                "{ dealRegistrations(status: APPROVED) { id status } }",
                json!({}),
            )
            .await;
        assert!(
            list["dealRegistrations"]
                .as_array()
                .is_some_and(|l| l.iter().any(|r| r["id"] == reg))
        );
    }
);

db_test!(
    only_reviewers_decide_and_only_the_partner_answers_or_withdraws,
    |app| async move {
        let sol = solution(&app, "contoso data platform").await;
        let id = won_deal(&app, &sol, true).await;
        let reg = register(&app, &id, &sol, &today()).await["registration"]["id"].clone();
        let s = step(&app, ANNA, "approveRegistration", &reg, None).await;
        assert_eq!(s["userErrors"][0]["code"], "FORBIDDEN", "{s}");
        // Each step belongs to one side: the partner asks nothing, the reviewer neither
        // answers nor withdraws.
        for (who, mutation, text) in [
            (ANNA, "requestRegistrationInfo", Some("which entity?")),
            (RITA, "answerRegistrationInfo", Some("this one")),
            (RITA, "withdrawRegistration", None),
        ] {
            let s = step(&app, who, mutation, &reg, text).await;
            assert_eq!(
                s["userErrors"][0]["code"], "FORBIDDEN",
                "{who} {mutation}: {s}"
            );
        }
        // None of it changed the registration, and its purchasing entity is the deal's
        // customer, as none was given.
        let v = app
            .gql_as(
                RITA,
                "{ dealRegistrations { id status version purchasingCustomer { id } opportunity { id } } }",
                json!({}),
            )
            .await;
        let mine = v["dealRegistrations"]
            .as_array()
            .expect("registrations")
            .iter()
            .find(|r| r["id"] == reg)
            .expect("listed for the reviewer")
            .clone();
        assert_eq!(mine["status"], "SUBMITTED", "{mine}");
        assert_eq!(mine["version"], 1, "{mine}");
        let cust = app.customer_id(ANNA, "woodgrove").await;
        assert_eq!(mine["purchasingCustomer"]["id"], cust, "{mine}");
        // A Microsoft user who is no reviewer sees no registration at all.
        let s = step(
            &app,
            "maria@microsoft.example",
            "approveRegistration",
            &reg,
            None,
        )
        .await;
        assert_eq!(s["userErrors"][0]["code"], "NOT_FOUND", "{s}");
        let v = app
            .gql(
                Some(&app.token("maria@microsoft.example").await),
                "{ dealRegistrations { id } }",
                json!({}),
            )
            .await;
        assert_eq!(crate::helpers::error_code(&v), "FORBIDDEN");
        // Another partner neither.
        let s = step(
            &app,
            "frank@fabrikam.example",
            "withdrawRegistration",
            &reg,
            None,
        )
        .await;
        assert_eq!(s["userErrors"][0]["code"], "NOT_FOUND", "{s}");
        let s = step(&app, RITA, "rejectRegistration", &reg, None).await;
        assert_eq!(
            s["userErrors"][0]["code"], "BAD_USER_INPUT",
            "a rejection needs a reason: {s}"
        );
        // A stale version is a conflict.
        let v = app
            .gql_as(
                RITA,
                "mutation($i: RegistrationStepInput!) { approveRegistration(input: $i) { userErrors { code } } }",
                json!({ "i": { "registrationId": reg, "expectedVersion": 99 } }),
            )
            .await;
        assert_eq!(
            v["approveRegistration"]["userErrors"][0]["code"], "CONFLICT",
            "{v}"
        );
        // Withdrawn, it may be registered again.
        let s = step(&app, ANNA, "withdrawRegistration", &reg, None).await;
        assert_eq!(s["registration"]["status"], "WITHDRAWN");
        let again = register(&app, &id, &sol, &today()).await;
        assert_eq!(again["registration"]["status"], "SUBMITTED", "{again}");
        let s = step(
            &app,
            RITA,
            "rejectRegistration",
            &again["registration"]["id"],
            Some("no proof"),
        )
        .await;
        assert_eq!(s["registration"]["decisionReason"], "no proof");
    }
);

db_test!(
    only_won_deals_with_eligible_solutions_within_the_period_are_registered,
    |app| async move {
        let eligible = solution(&app, "contoso data platform").await;
        let other = solution(&app, "contoso copilot accelerator").await;
        // Not won.
        let open = won_deal(&app, &eligible, false).await;
        let before_open = app.snapshot().await;
        let r = register(&app, &open, &eligible, &today()).await;
        assert_eq!(r["userErrors"][0]["code"], "INVALID_TRANSITION", "{r}");
        assert_eq!(app.snapshot().await, before_open);
        // Won, but without an eligible solution.
        let plain = won_deal(&app, &other, true).await;
        let r = register(&app, &plain, &other, &today()).await;
        assert_eq!(r["userErrors"][0]["code"], "INVALID_TRANSITION", "{r}");
        // Eligible, but a solution that is not an eligible one of the deal, or a future date.
        let won = won_deal(&app, &eligible, true).await;
        let r = register(&app, &won, &other, &today()).await;
        assert_eq!(r["userErrors"][0]["code"], "BAD_USER_INPUT", "{r}");
        assert_eq!(
            r["userErrors"][0]["field"],
            json!(["input", "solutionIds", "0"])
        );
        let r = register(&app, &won, &eligible, "2999-01-01").await;
        assert_eq!(
            r["userErrors"][0]["field"],
            json!(["input", "purchaseDate"]),
            "{r}"
        );
        // After the period.
        app.advance_clock(chrono::Duration::days(91));
        let r = register(&app, &won, &eligible, &today()).await;
        assert_eq!(r["userErrors"][0]["code"], "INVALID_TRANSITION", "{r}");
    }
);

db_test!(
    registration_emails_skip_team_members_who_turned_notifications_off,
    |app| async move {
        // Uwe turned notifications off for himself; the team lists him in another case.
        // Lisa is on the team too, Quinn asked the team for none.
        let v = app
            .gql_as(
                "uwe@contoso.example",
                "mutation { updateMySettings(input: { notificationsEnabled: false }) { userErrors { code } } }",
                json!({}),
            )
            .await;
        assert_eq!(v["updateMySettings"]["userErrors"], json!([]), "{v}");
        let sol = solution(&app, "contoso data platform").await;
        let member = |name: &str, email: &str, notify: bool| json!({ "name": name, "phone": "+49 30 1234567", "email": email, "notify": notify });
        let team = json!([
            member("Anna", ANNA, true),
            member("Uwe", "Uwe@Contoso.example", true),
            member("Lisa", "lisa@contoso.example", true),
            member("Quinn", "quinn@contoso.example", false),
        ]);
        let id = contoso_deal(&app, "Muted Registration", &sol, team).await;
        mark_won(&app, &id).await;
        registered_and_questioned(&app, &id).await;
        let mails = |to: &str| {
            format!(
                "email_outbox WHERE kind = 'REGISTRATION_UPDATE' \
                 AND subject LIKE '%Muted Registration%' AND LOWER(recipient_email) = '{to}'"
            )
        };
        // Two steps, two emails each to whoever wants them.
        for to in [ANNA, "lisa@contoso.example", RITA] {
            assert_eq!(app.count(&mails(to)).await, 2, "{to}");
        }
        for to in ["uwe@contoso.example", "quinn@contoso.example"] {
            assert_eq!(app.count(&mails(to)).await, 0, "{to}");
        }
    }
);
