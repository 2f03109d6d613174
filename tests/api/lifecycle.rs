//! The co-sell life cycle (SPEC §4-6), one test per rule, through the real server.
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, error_code};

const ANNA: &str = "anna@contoso.example";
const UWE: &str = "uwe@contoso.example";
const FRANK: &str = "frank@fabrikam.example";
const NADIA: &str = "nadia@northwind.example";
const ALEX: &str = "alex@adventure-works.example";
const MARIA: &str = "maria@microsoft.example";
const TOM: &str = "tom@tailspin.example";

/// What every test reads back of an opportunity.
const OPP: &str = "id version stage dealType direction dealName value currency closeDate notes
  closeReason contactLocked isFavorite
  contact { name phone email consent }
  team { id name email }
  solutions { id }
  participants { organization { name } stage direction }
  invitations { id status inviterOrganization { name } inviteeOrganization { name } }";

/// What every test reads back of an invitation.
const INV: &str = "id status helpWanted declineReason
  inviterOrganization { name } inviteeOrganization { name }";

// ---------------------------------------------------------------------------------
// Fixtures: the demo organizations, solutions and a customer, by id.
// ---------------------------------------------------------------------------------

struct Fx {
    customer: String,
    contoso: String,
    microsoft: String,
    fabrikam: String,
    northwind: String,
    adventure: String,
    tailspin: String,
    /// Contoso's co-sell-ready solutions (two).
    contoso_solutions: Vec<String>,
    /// Contoso's own solution that is not co-sell ready.
    legacy: String,
    /// Tailspin's solution, not co-sell ready, invisible to others.
    tailspin_solution: String,
    fabrikam_solution: String,
    microsoft_solution: String,
}

async fn own_org(app: &TestApp, email: &str) -> String {
    let v = app
        .gql_as(email, "{ viewer { organization { id } } }", json!({}))
        .await;
    v["viewer"]["organization"]["id"]
        .as_str()
        .expect("organization id")
        .to_owned()
}

async fn partner(app: &TestApp, search: &str) -> String {
    let v = app
        .gql_as(
            ANNA,
            "query($s: String) { partners(search: $s) { nodes { id name } } }",
            json!({ "s": search }),
        )
        .await;
    v["partners"]["nodes"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no partner {search}: {v}"))
        .to_owned()
}

/// The (name, id, coSellReady) of the solutions `email`'s organization publishes.
async fn own_solutions(app: &TestApp, email: &str) -> Vec<(String, String, bool)> {
    let v = app
        .gql_as(
            email,
            "{ solutions(kind: OWN, first: 50) { nodes { id name coSellReady } } }",
            json!({}),
        )
        .await;
    v["solutions"]["nodes"]
        .as_array()
        .expect("solutions")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["id"].as_str().expect("id").to_owned(),
                s["coSellReady"].as_bool().expect("coSellReady"),
            )
        })
        .collect()
}

fn ready(list: &[(String, String, bool)]) -> Vec<String> {
    list.iter().filter(|s| s.2).map(|s| s.1.clone()).collect()
}

fn named(list: &[(String, String, bool)], name: &str) -> String {
    list.iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("no solution {name}"))
        .1
        .clone()
}

async fn fixtures(app: &TestApp) -> Fx {
    let v = app
        .gql_as(
            ANNA,
            "{ customers(search: \"woodgrove\") { nodes { id } } }",
            json!({}),
        )
        .await;
    let customer = v["customers"]["nodes"][0]["id"]
        .as_str()
        .expect("the Woodgrove customer")
        .to_owned();
    let contoso_all = own_solutions(app, ANNA).await;
    let tailspin_all = own_solutions(app, TOM).await;
    let contoso_solutions = ready(&contoso_all);
    assert_eq!(contoso_solutions.len(), 2, "{contoso_all:?}");
    Fx {
        customer,
        contoso: own_org(app, ANNA).await,
        microsoft: own_org(app, MARIA).await,
        fabrikam: partner(app, "fabrikam").await,
        northwind: partner(app, "northwind").await,
        adventure: partner(app, "adventure works").await,
        tailspin: own_org(app, TOM).await,
        contoso_solutions,
        legacy: named(&contoso_all, "Contoso Legacy Migrator"),
        tailspin_solution: named(&tailspin_all, "Tailspin Retail Analytics"),
        fabrikam_solution: ready(&own_solutions(app, FRANK).await)[0].clone(),
        microsoft_solution: ready(&own_solutions(app, MARIA).await)[0].clone(),
    }
}

// ---------------------------------------------------------------------------------
// Inputs.
// ---------------------------------------------------------------------------------

/// A date `n` days from today (UTC).
fn day(n: i64) -> String {
    (Utc::now().date_naive() + Duration::days(n)).to_string()
}

/// A deal name with a random word no seeded deal has, so the invitee's list finds
/// exactly this deal by searching for [`tag`].
fn unique(base: &str) -> String {
    let word: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(10)
        .map(|c| {
            let d = c.to_digit(16).expect("hex");
            char::from(b'j' + d as u8)
        })
        .collect();
    format!("{base} Zq{word}")
}

fn tag(name: &str) -> &str {
    name.rsplit(' ').next().expect("a word")
}

fn member(name: &str, email: &str) -> Value {
    json!({ "name": name, "phone": "+49 30 5550100", "email": email, "notify": true })
}

fn contact(consent: bool) -> Value {
    json!({
        "name": "Carla Customer",
        "phone": "+49 30 5550199",
        "email": "carla@woodgrove.example",
        "consent": consent
    })
}

fn ms_terms() -> Value {
    json!({ "helpWanted": "TECHNICAL_ARCHITECTURE" })
}

/// Contoso's private deal: contact with consent, Anna on the team, one solution.
fn deal(fx: &Fx, name: &str) -> Value {
    json!({
        "customerId": fx.customer,
        "contact": contact(true),
        "dealName": name,
        "value": "1000.00",
        "currency": "EUR",
        "closeDate": day(90),
        "team": [member("Anna Admin", ANNA)],
        "solutionIds": [fx.contoso_solutions[0]],
        "helpWanted": "NONE"
    })
}

/// Microsoft's own deal.
fn ms_deal(fx: &Fx, name: &str) -> Value {
    json!({
        "customerId": fx.customer,
        "contact": contact(true),
        "dealName": name,
        "value": "5000.00",
        "currency": "USD",
        "closeDate": day(90),
        "team": [member("Maria Seller", MARIA)],
        "solutionIds": [fx.microsoft_solution]
    })
}

// ---------------------------------------------------------------------------------
// Calls.
// ---------------------------------------------------------------------------------

fn input_type(mutation: &str) -> String {
    match mutation {
        "addSolution" | "removeSolution" => "SolutionChangeInput".into(),
        _ => {
            let mut chars = mutation.chars();
            let first = chars.next().expect("a name").to_ascii_uppercase();
            format!("{first}{}Input", chars.as_str())
        }
    }
}

fn result_key(mutation: &str) -> &'static str {
    if mutation == "sendInvitation" {
        "invitation"
    } else {
        "opportunity"
    }
}

fn mutation_text(mutation: &str) -> String {
    let selection = if mutation == "sendInvitation" {
        format!("invitation {{ {INV} }}")
    } else {
        format!("opportunity {{ {OPP} }}")
    };
    format!(
        "mutation($input: {}!) {{ {mutation}(input: $input) {{ {selection} userErrors {{ code message field }} }} }}",
        input_type(mutation)
    )
}

/// The payload of `mutation` run as `email`.
async fn call(app: &TestApp, email: &str, mutation: &str, input: Value) -> Value {
    app.gql_as(email, &mutation_text(mutation), json!({ "input": input }))
        .await[mutation]
        .clone()
}

/// Runs `mutation`, asserts it had no user errors, and returns what it produced.
async fn ok(app: &TestApp, email: &str, mutation: &str, input: Value) -> Value {
    let p = call(app, email, mutation, input).await;
    assert_eq!(p["userErrors"], json!([]), "{mutation} as {email}: {p}");
    let out = p[result_key(mutation)].clone();
    assert!(out.is_object(), "{mutation} as {email}: {p}");
    out
}

/// Panics with the differing lines when the database changed.
fn assert_unchanged(before: &[String], after: &[String], what: &str) {
    if before != after {
        let gone: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
        let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
        panic!("{what} changed the database:\n  before: {gone:#?}\n  after: {new:#?}");
    }
}

/// Runs `mutation`, asserts that its first user error has `code`, that it produced
/// nothing and that the database is unchanged; returns that user error.
async fn refused(app: &TestApp, email: &str, mutation: &str, input: Value, code: &str) -> Value {
    let before = app.snapshot().await;
    let p = call(app, email, mutation, input.clone()).await;
    let errors = p["userErrors"].as_array().expect("userErrors");
    assert!(
        !errors.is_empty(),
        "{mutation} {input} as {email} should fail with {code}: {p}"
    );
    assert_eq!(
        errors[0]["code"], code,
        "{mutation} {input} as {email}: {p}"
    );
    assert!(
        !errors[0]["message"].as_str().unwrap_or("").is_empty(),
        "{p}"
    );
    assert!(p[result_key(mutation)].is_null(), "{p}");
    let after = app.snapshot().await;
    assert_unchanged(&before, &after, &format!("refused {mutation} as {email}"));
    errors[0].clone()
}

async fn create(app: &TestApp, email: &str, input: Value) -> Value {
    ok(app, email, "createDeal", input).await
}

async fn invite(app: &TestApp, email: &str, opp: &Value, org: &str, terms: Value) -> Value {
    ok(
        app,
        email,
        "sendInvitation",
        json!({ "opportunityId": opp["id"], "organizationId": org, "terms": terms }),
    )
    .await
}

async fn accept(app: &TestApp, email: &str, opp: &Value) -> Value {
    ok(
        app,
        email,
        "acceptInvitation",
        json!({ "opportunityId": opp["id"] }),
    )
    .await
}

async fn decline(app: &TestApp, email: &str, opp: &Value) -> Value {
    ok(
        app,
        email,
        "declineInvitation",
        json!({ "opportunityId": opp["id"], "reason": "TIMELINE_TOO_SHORT", "notes": "not now" }),
    )
    .await
}

async fn opportunity(app: &TestApp, email: &str, id: &Value) -> Value {
    let v = app
        .gql_as(
            email,
            &format!("query($id: ID!) {{ opportunity(id: $id) {{ {OPP} }} }}"),
            json!({ "id": id }),
        )
        .await;
    v["opportunity"].clone()
}

/// `email`'s organization's opportunities of the deal `name` in `stages`.
async fn inbound(app: &TestApp, email: &str, name: &str, stages: &[&str]) -> Vec<Value> {
    let v = app
        .gql_as(
            email,
            &format!(
                "query($f: OpportunityFilter) {{ opportunities(view: INBOUND, filter: $f, first: 50) {{ nodes {{ {OPP} }} }} }}"
            ),
            json!({ "f": { "search": tag(name), "stages": stages } }),
        )
        .await;
    v["opportunities"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone()
}

/// The opportunity `email`'s organization received for the deal `name`.
async fn received(app: &TestApp, email: &str, name: &str) -> Value {
    let found = inbound(app, email, name, &["RECEIVED"]).await;
    assert_eq!(found.len(), 1, "{email} received {name}: {found:?}");
    found[0].clone()
}

/// A Contoso deal `name` with Fabrikam invited and accepted: (Contoso's, Fabrikam's).
async fn accepted_p2p(app: &TestApp, fx: &Fx, name: &str) -> (Value, Value) {
    let mine = create(app, ANNA, deal(fx, name)).await;
    invite(app, ANNA, &mine, &fx.fabrikam, json!({})).await;
    let theirs = received(app, FRANK, name).await;
    let theirs = accept(app, FRANK, &theirs).await;
    (opportunity(app, ANNA, &mine["id"]).await, theirs)
}

async fn timeline(app: &TestApp, email: &str, id: &Value) -> Vec<Value> {
    let v = app
        .gql_as(
            email,
            "query($id: ID!) { opportunity(id: $id) { timeline(first: 100) {
               edges { cursor node { cursor kind payload opportunityId } } } } }",
            json!({ "id": id }),
        )
        .await;
    v["opportunity"]["timeline"]["edges"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

fn invitation_status<'a>(opp: &'a Value, invitee: &str) -> Vec<&'a str> {
    opp["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .filter(|i| i["inviteeOrganization"]["name"] == invitee)
        .map(|i| i["status"].as_str().expect("status"))
        .collect()
}

fn participant_stage<'a>(opp: &'a Value, org: &str) -> Vec<&'a str> {
    opp["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter(|p| p["organization"]["name"] == org)
        .map(|p| p["stage"].as_str().expect("stage"))
        .collect()
}

// ---------------------------------------------------------------------------------
// §5: stages and transitions.
// ---------------------------------------------------------------------------------

/// Every mutation but `setFavorite` on `opp` (in terminal `stage`, owned by `who`) is
/// refused with `INVALID_TRANSITION` naming the stage, and writes nothing.
async fn all_refused_as_terminal(
    app: &TestApp,
    fx: &Fx,
    who: &str,
    opp: &Value,
    stage: &str,
    to_add: &str,
) {
    assert_eq!(opp["stage"], stage, "{opp}");
    let id = &opp["id"];
    let on = opp["solutions"][0]["id"].clone();
    let mut attempts = vec![
        (
            "updateOpportunity",
            json!({ "opportunityId": id, "notes": "late edit", "dealName": "Renamed" }),
        ),
        (
            "addTeamMember",
            json!({ "opportunityId": id, "member": member("Late Comer", "late@contoso.example") }),
        ),
        (
            "addSolution",
            json!({ "opportunityId": id, "solutionId": to_add }),
        ),
        (
            "removeSolution",
            json!({ "opportunityId": id, "solutionId": on }),
        ),
        ("markWon", json!({ "opportunityId": id, "notes": "again" })),
        (
            "markLost",
            json!({ "opportunityId": id, "reason": "OTHER" }),
        ),
        ("acceptInvitation", json!({ "opportunityId": id })),
        (
            "declineInvitation",
            json!({ "opportunityId": id, "reason": "OTHER" }),
        ),
        (
            "sendInvitation",
            json!({ "opportunityId": id, "organizationId": fx.adventure }),
        ),
    ];
    if let Some(m) = opp["team"].as_array().and_then(|t| t.first()) {
        attempts.push((
            "updateTeamMember",
            json!({ "opportunityId": id, "teamMemberId": m["id"], "name": "Renamed Member" }),
        ));
        attempts.push((
            "removeTeamMember",
            json!({ "opportunityId": id, "teamMemberId": m["id"] }),
        ));
    }
    for (mutation, input) in attempts {
        let e = refused(app, who, mutation, input, "INVALID_TRANSITION").await;
        let message = e["message"].as_str().expect("message");
        assert!(
            message.contains(stage),
            "{mutation} on {stage}: the message names the stage: {message}"
        );
    }
    let now = opportunity(app, who, id).await;
    assert_eq!(now["stage"], stage);
    assert_eq!(now["version"], opp["version"]);
}

db_test!(terminal_stages_are_immutable, |app| async move {
    let fx = fixtures(&app).await;
    let two = |name: &str| {
        let mut d = deal(&fx, name);
        d["team"] = json!([member("Anna Admin", ANNA), member("Uwe User", UWE)]);
        d["solutionIds"] = json!([fx.contoso_solutions[0], fx.microsoft_solution]);
        d
    };
    let won = create(&app, ANNA, two(&unique("Terminal won"))).await;
    let won = ok(&app, ANNA, "markWon", json!({ "opportunityId": won["id"] })).await;
    let lost = create(&app, ANNA, two(&unique("Terminal lost"))).await;
    let lost = ok(
        &app,
        ANNA,
        "markLost",
        json!({ "opportunityId": lost["id"], "reason": "BUDGET_NOT_ADEQUATE" }),
    )
    .await;
    let declined_name = unique("Terminal declined");
    let origin = create(&app, ANNA, two(&declined_name)).await;
    invite(&app, ANNA, &origin, &fx.fabrikam, json!({})).await;
    let declined = received(&app, FRANK, &declined_name).await;
    let declined = decline(&app, FRANK, &declined).await;
    let expired_name = unique("Terminal expired");
    let origin = create(&app, ANNA, two(&expired_name)).await;
    invite(&app, ANNA, &origin, &fx.northwind, json!({})).await;
    let expiring = received(&app, NADIA, &expired_name).await;

    all_refused_as_terminal(&app, &fx, ANNA, &won, "WON", &fx.contoso_solutions[1]).await;
    all_refused_as_terminal(&app, &fx, ANNA, &lost, "LOST", &fx.contoso_solutions[1]).await;
    all_refused_as_terminal(
        &app,
        &fx,
        FRANK,
        &declined,
        "DECLINED",
        &fx.fabrikam_solution,
    )
    .await;

    app.advance_clock(Duration::days(15));
    assert!(app.expire_now().await >= 1);
    let expired = opportunity(&app, NADIA, &expiring["id"]).await;
    all_refused_as_terminal(
        &app,
        &fx,
        NADIA,
        &expired,
        "EXPIRED",
        &fx.microsoft_solution,
    )
    .await;
});

db_test!(edits_only_in_accepted, |app| async move {
    let fx = fixtures(&app).await;
    let name = unique("Edits only accepted");
    let mine = create(&app, ANNA, deal(&fx, &name)).await;
    invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
    let theirs = received(&app, FRANK, &name).await;
    let id = &theirs["id"];
    for (mutation, input) in [
        (
            "updateOpportunity",
            json!({ "opportunityId": id, "notes": "before accepting" }),
        ),
        (
            "addTeamMember",
            json!({ "opportunityId": id, "member": member("Fiona User", "fiona@fabrikam.example") }),
        ),
        (
            "addSolution",
            json!({ "opportunityId": id, "solutionId": fx.fabrikam_solution }),
        ),
        ("markWon", json!({ "opportunityId": id })),
        (
            "markLost",
            json!({ "opportunityId": id, "reason": "OTHER" }),
        ),
        (
            "sendInvitation",
            json!({ "opportunityId": id, "organizationId": fx.microsoft, "terms": ms_terms() }),
        ),
    ] {
        let e = refused(&app, FRANK, mutation, input, "INVALID_TRANSITION").await;
        assert!(
            e["message"].as_str().unwrap_or("").contains("RECEIVED"),
            "{mutation}: {e}"
        );
    }
    let accepted = accept(&app, FRANK, &theirs).await;
    assert_eq!(accepted["stage"], "ACCEPTED");
    let updated = ok(
        &app,
        FRANK,
        "updateOpportunity",
        json!({ "opportunityId": id, "notes": "after accepting", "expectedVersion": accepted["version"] }),
    )
    .await;
    assert_eq!(updated["notes"], "after accepting");
    assert_eq!(
        updated["version"].as_i64(),
        accepted["version"].as_i64().map(|v| v + 1)
    );
});

// ---------------------------------------------------------------------------------
// §4: team and solutions.
// ---------------------------------------------------------------------------------

db_test!(at_least_one_team_member, |app| async move {
    let fx = fixtures(&app).await;
    let mut input = deal(&fx, &unique("No team"));
    input["team"] = json!([]);
    let e = refused(&app, ANNA, "createDeal", input, "BAD_USER_INPUT").await;
    assert_eq!(e["field"], json!(["input", "team"]));

    let mut input = deal(&fx, &unique("Two members"));
    input["team"] = json!([member("Anna Admin", ANNA), member("Uwe User", UWE)]);
    let opp = create(&app, ANNA, input).await;
    let team = opp["team"].as_array().expect("team").clone();
    assert_eq!(team.len(), 2);
    let one = ok(
        &app,
        ANNA,
        "removeTeamMember",
        json!({ "opportunityId": opp["id"], "teamMemberId": team[1]["id"] }),
    )
    .await;
    assert_eq!(one["team"].as_array().expect("team").len(), 1);
    refused(
        &app,
        ANNA,
        "removeTeamMember",
        json!({ "opportunityId": opp["id"], "teamMemberId": one["team"][0]["id"] }),
        "BAD_USER_INPUT",
    )
    .await;
    let still = opportunity(&app, ANNA, &opp["id"]).await;
    assert_eq!(still["team"].as_array().expect("team").len(), 1);
});

db_test!(
    recent_team_members_are_offered_for_reuse,
    |app| async move {
        let fx = fixtures(&app).await;
        let recent = async |email: &str, first: i64| -> Vec<Value> {
            let v = app
            .gql_as(
                email,
                "query($first: Int) { recentTeamMembers(first: $first) { name phone email notify lastAddedAt } }",
                json!({ "first": first }),
            )
            .await;
            v["recentTeamMembers"].as_array().expect("list").clone()
        };
        let emails = |list: &[Value]| -> Vec<String> {
            list.iter()
                .map(|m| m["email"].as_str().expect("email").to_lowercase())
                .collect()
        };

        // Rita is put on two of Contoso's teams; the second time with another phone, her
        // email in capitals and notifications on.
        let mut a = deal(&fx, &unique("Reuse one"));
        let mut rita = member("Rita Reuse", "rita.reuse@contoso.example");
        rita["phone"] = json!("+49 30 5550111");
        rita["notify"] = json!(false);
        a["team"] = json!([member("Anna Admin", ANNA), rita]);
        create(&app, ANNA, a).await;
        let mut b = deal(&fx, &unique("Reuse two"));
        let mut rita = member("Rita R. Reuse", "RITA.REUSE@contoso.example");
        rita["phone"] = json!("+49 30 5550222");
        b["team"] = json!([member("Anna Admin", ANNA), rita]);
        create(&app, ANNA, b).await;

        // The newest first, one entry per person, with the latest name, phone and choice.
        let list = recent(ANNA, 2).await;
        let mut first_two = emails(&list);
        first_two.sort();
        assert_eq!(
            first_two,
            vec![ANNA.to_owned(), "rita.reuse@contoso.example".to_owned()]
        );
        let all = recent(ANNA, 50).await;
        let ritas: Vec<&Value> = all
            .iter()
            .filter(|m| {
                m["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case("rita.reuse@contoso.example"))
            })
            .collect();
        assert_eq!(ritas.len(), 1, "{all:?}");
        assert_eq!(ritas[0]["name"], "Rita R. Reuse");
        assert_eq!(ritas[0]["phone"], "+49305550222");
        assert_eq!(ritas[0]["email"], "RITA.REUSE@contoso.example");
        assert_eq!(ritas[0]["notify"], true);
        let listed = emails(&all);
        let mut unique_emails = listed.clone();
        unique_emails.sort();
        unique_emails.dedup();
        assert_eq!(
            unique_emails.len(),
            listed.len(),
            "one entry per email: {listed:?}"
        );

        // A referral user is offered the people of its own deals only; another organization
        // none of Contoso's.
        let mut c = deal(&fx, &unique("Reuse three"));
        c["team"] = json!([
            member("Uwe User", UWE),
            member("Paul Private", "paul.private@contoso.example")
        ]);
        create(&app, ANNA, c).await;
        let uwe = emails(&recent(UWE, 50).await);
        assert!(
            uwe.contains(&"paul.private@contoso.example".to_owned()),
            "{uwe:?}"
        );
        assert!(
            !uwe.contains(&"rita.reuse@contoso.example".to_owned()),
            "{uwe:?}"
        );
        let anna = emails(&recent(ANNA, 50).await);
        assert!(
            anna.contains(&"paul.private@contoso.example".to_owned()),
            "{anna:?}"
        );
        let frank = emails(&recent(FRANK, 50).await);
        assert!(
            !frank.iter().any(|e| e.ends_with("@contoso.example")),
            "{frank:?}"
        );

        // The count is bounded.
        let token = app.token(ANNA).await;
        for first in [0, 51] {
            let v = app
                .gql(
                    Some(&token),
                    "query($first: Int) { recentTeamMembers(first: $first) { email } }",
                    json!({ "first": first }),
                )
                .await;
            assert!(v["data"].is_null(), "{v}");
            assert!(!v["errors"].as_array().expect("errors").is_empty(), "{v}");
        }
    }
);

db_test!(
    a_team_member_is_changed_in_place_with_an_event,
    |app| async move {
        let fx = fixtures(&app).await;
        let mut input = deal(&fx, &unique("Team change"));
        input["team"] = json!([member("Anna Admin", ANNA), member("Uwe User", UWE)]);
        let opp = create(&app, ANNA, input).await;
        let uwe_id = opp["team"][1]["id"].clone();
        let visible_to_uwe = async || {
            !app.gql_as(
                UWE,
                "query($id: ID!) { opportunity(id: $id) { id } }",
                json!({ "id": opp["id"] }),
            )
            .await["opportunity"]
                .is_null()
        };
        assert!(visible_to_uwe().await);

        // Changed in place: same member, new details, a TEAM_CHANGED event, a new version.
        let changed = ok(
            &app,
            ANNA,
            "updateTeamMember",
            json!({
                "opportunityId": opp["id"],
                "teamMemberId": uwe_id,
                "expectedVersion": opp["version"],
                "name": "Uwe Updated"
            }),
        )
        .await;
        assert_eq!(changed["team"][1]["id"], uwe_id);
        assert_eq!(changed["team"][1]["name"], "Uwe Updated");
        assert_eq!(changed["team"][1]["email"], UWE);
        assert!(
            changed["version"].as_i64() > opp["version"].as_i64(),
            "{changed}"
        );
        assert_eq!(
            kinds(&timeline(&app, ANNA, &opp["id"]).await)[0],
            "TEAM_CHANGED"
        );

        // An email already on the team, and a stale version, are refused; nothing changes.
        refused(
            &app,
            ANNA,
            "updateTeamMember",
            json!({ "opportunityId": opp["id"], "teamMemberId": uwe_id, "email": ANNA }),
            "BAD_USER_INPUT",
        )
        .await;
        refused(
        &app,
        ANNA,
        "removeTeamMember",
        json!({ "opportunityId": opp["id"], "teamMemberId": uwe_id, "expectedVersion": opp["version"] }),
        "CONFLICT",
    )
    .await;

        // A referral user whose email leaves the team loses the deal.
        ok(
        &app,
        ANNA,
        "updateTeamMember",
        json!({ "opportunityId": opp["id"], "teamMemberId": uwe_id, "email": "uwe.elsewhere@contoso.example" }),
    )
    .await;
        assert!(!visible_to_uwe().await);
    }
);

db_test!(deal_inputs_are_checked_field_by_field, |app| async move {
    let fx = fixtures(&app).await;
    let many: Vec<Value> = (0..51)
        .map(|i| member(&format!("Member {i}"), &format!("m{i}@contoso.example")))
        .collect();
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "dealName",
            json!("x".repeat(201)),
            json!(["input", "dealName"]),
        ),
        ("dealName", json!("   "), json!(["input", "dealName"])),
        (
            "notes",
            json!("n".repeat(10_001)),
            json!(["input", "notes"]),
        ),
        ("currency", json!("EURO"), json!(["input", "currency"])),
        ("value", json!("-1.00"), json!(["input", "value"])),
        (
            "team",
            json!([member("Anna Admin", "not-an-email")]),
            json!(["input", "team", "0", "email"]),
        ),
        (
            "team",
            json!([{ "name": "Anna Admin", "phone": "030 555", "email": ANNA }]),
            json!(["input", "team", "0", "phone"]),
        ),
        (
            "team",
            json!([{ "name": " ", "phone": "+49 30 5550100", "email": ANNA }]),
            json!(["input", "team", "0", "name"]),
        ),
    ];
    for (field, bad, path) in cases {
        let mut input = deal(&fx, &unique("Checked"));
        input[field] = bad;
        let e = refused(&app, ANNA, "createDeal", input, "BAD_USER_INPUT").await;
        assert_eq!(e["field"], path, "{field}: {e}");
    }
    // Lists over 50 are refused by the schema, before anything runs.
    let token = app.token(ANNA).await;
    for (field, bad) in [
        ("team", json!(many)),
        (
            "solutionIds",
            json!(vec![fx.contoso_solutions[0].clone(); 51]),
        ),
    ] {
        let mut input = deal(&fx, &unique("Checked"));
        input[field] = bad;
        let before = app.snapshot().await;
        let v = app
            .gql(
                Some(&token),
                &mutation_text("createDeal"),
                json!({ "input": input }),
            )
            .await;
        assert_eq!(
            v["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{field}: {v}"
        );
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("50")),
            "{v}"
        );
        assert_unchanged(&before, &app.snapshot().await, field);
    }
    // Every bad field is reported at once.
    let mut input = deal(&fx, &unique("Checked"));
    input["dealName"] = json!("");
    input["notes"] = json!("n".repeat(10_001));
    let p = call(&app, ANNA, "createDeal", input).await;
    let fields: Vec<Value> = p["userErrors"]
        .as_array()
        .expect("userErrors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert!(fields.contains(&json!(["input", "dealName"])), "{p}");
    assert!(fields.contains(&json!(["input", "notes"])), "{p}");
});

db_test!(at_least_one_solution, |app| async move {
    let fx = fixtures(&app).await;
    let mut input = deal(&fx, &unique("No solution"));
    input["solutionIds"] = json!([]);
    let e = refused(&app, ANNA, "createDeal", input, "BAD_USER_INPUT").await;
    assert_eq!(e["field"], json!(["input", "solutionIds"]));

    let opp = create(&app, ANNA, deal(&fx, &unique("One solution"))).await;
    assert_eq!(opp["solutions"].as_array().expect("solutions").len(), 1);
    refused(
        &app,
        ANNA,
        "removeSolution",
        json!({ "opportunityId": opp["id"], "solutionId": fx.contoso_solutions[0] }),
        "BAD_USER_INPUT",
    )
    .await;
    let two = ok(
        &app,
        ANNA,
        "addSolution",
        json!({ "opportunityId": opp["id"], "solutionId": fx.contoso_solutions[1] }),
    )
    .await;
    assert_eq!(two["solutions"].as_array().expect("solutions").len(), 2);
    let one = ok(
        &app,
        ANNA,
        "removeSolution",
        json!({ "opportunityId": opp["id"], "solutionId": fx.contoso_solutions[0] }),
    )
    .await;
    assert_eq!(one["solutions"], json!([{ "id": fx.contoso_solutions[1] }]));
    refused(
        &app,
        ANNA,
        "removeSolution",
        json!({ "opportunityId": opp["id"], "solutionId": fx.contoso_solutions[1] }),
        "BAD_USER_INPUT",
    )
    .await;
});

db_test!(co_sell_ready_solutions_only, |app| async move {
    let fx = fixtures(&app).await;
    // Absent from the catalog: a well-formed id that names nothing.
    let unknown = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("Solution:{}", uuid::Uuid::new_v4()))
    };
    for (solution, code) in [
        (&fx.legacy, "BAD_USER_INPUT"),
        (&fx.tailspin_solution, "NOT_FOUND"),
        (&unknown, "NOT_FOUND"),
    ] {
        let mut input = deal(&fx, &unique("Unready solution"));
        input["solutionIds"] = json!([solution]);
        let e = refused(&app, ANNA, "createDeal", input, code).await;
        assert_eq!(e["field"][0], "input", "{e}");
        assert_eq!(e["field"][1], "solutionIds", "{e}");
    }
    let opp = create(&app, ANNA, deal(&fx, &unique("Ready solutions"))).await;
    for (solution, code) in [
        (&fx.legacy, "BAD_USER_INPUT"),
        (&fx.tailspin_solution, "NOT_FOUND"),
        (&unknown, "NOT_FOUND"),
    ] {
        refused(
            &app,
            ANNA,
            "addSolution",
            json!({ "opportunityId": opp["id"], "solutionId": solution }),
            code,
        )
        .await;
    }
    // Another organization's co-sell-ready solution is fine.
    let added = ok(
        &app,
        ANNA,
        "addSolution",
        json!({ "opportunityId": opp["id"], "solutionId": fx.fabrikam_solution }),
    )
    .await;
    assert_eq!(added["solutions"].as_array().expect("solutions").len(), 2);
});

// ---------------------------------------------------------------------------------
// §4: deal type.
// ---------------------------------------------------------------------------------

db_test!(deal_type_only_moves_up, |app| async move {
    let fx = fixtures(&app).await;
    let name = unique("Upward");
    let mine = create(&app, ANNA, deal(&fx, &name)).await;
    assert_eq!(mine["dealType"], "PRIVATE");
    assert_eq!(mine["direction"], "OUTBOUND");
    assert_eq!(mine["stage"], "ACCEPTED");

    invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
    let now = opportunity(&app, ANNA, &mine["id"]).await;
    assert_eq!(now["dealType"], "PARTNER_TO_PARTNER");
    let frank = received(&app, FRANK, &name).await;
    assert_eq!(frank["dealType"], "PARTNER_TO_PARTNER");
    assert_eq!(frank["direction"], "INBOUND");

    invite(&app, ANNA, &mine, &fx.microsoft, ms_terms()).await;
    assert_eq!(
        opportunity(&app, ANNA, &mine["id"]).await["dealType"],
        "CO_SELL"
    );
    let maria = received(&app, MARIA, &name).await;
    assert_eq!(maria["dealType"], "CO_SELL");

    // Declines never move it down.
    decline(&app, MARIA, &maria).await;
    decline(&app, FRANK, &frank).await;
    assert_eq!(
        opportunity(&app, ANNA, &mine["id"]).await["dealType"],
        "CO_SELL"
    );
    assert_eq!(
        opportunity(&app, FRANK, &frank["id"]).await["dealType"],
        "CO_SELL"
    );
    // A partner invited into a co-sell deal leaves it co-sell.
    invite(&app, ANNA, &mine, &fx.northwind, json!({})).await;
    assert_eq!(
        opportunity(&app, ANNA, &mine["id"]).await["dealType"],
        "CO_SELL"
    );
    let upgrades: Vec<Value> = timeline(&app, ANNA, &mine["id"])
        .await
        .into_iter()
        .filter(|e| e["kind"] == "DEAL_UPGRADED")
        .collect();
    assert_eq!(upgrades.len(), 2, "{upgrades:?}");
    assert_eq!(upgrades[0]["payload"]["from"], "PARTNER_TO_PARTNER");
    assert_eq!(upgrades[0]["payload"]["to"], "CO_SELL");
    assert_eq!(upgrades[1]["payload"]["from"], "PRIVATE");
    assert_eq!(upgrades[1]["payload"]["to"], "PARTNER_TO_PARTNER");
});

// ---------------------------------------------------------------------------------
// §6: who may invite whom.
// ---------------------------------------------------------------------------------

db_test!(
    private_originator_may_invite_microsoft_and_partners,
    |app| async move {
        let fx = fixtures(&app).await;
        let to_partner = create(&app, ANNA, deal(&fx, &unique("Private to partner"))).await;
        let inv = invite(&app, ANNA, &to_partner, &fx.fabrikam, json!({})).await;
        assert_eq!(inv["status"], "PENDING");
        assert_eq!(inv["inviteeOrganization"]["name"], "Fabrikam Solutions");
        assert_eq!(inv["inviterOrganization"]["name"], "Contoso Consulting");
        assert_eq!(
            opportunity(&app, ANNA, &to_partner["id"]).await["dealType"],
            "PARTNER_TO_PARTNER"
        );

        let to_ms = create(&app, ANNA, deal(&fx, &unique("Private to Microsoft"))).await;
        let inv = invite(&app, ANNA, &to_ms, &fx.microsoft, ms_terms()).await;
        assert_eq!(inv["helpWanted"], "TECHNICAL_ARCHITECTURE");
        assert_eq!(
            opportunity(&app, ANNA, &to_ms["id"]).await["dealType"],
            "CO_SELL"
        );

        // The wizard does the same in one step.
        let mut input = deal(&fx, &unique("Wizard invites"));
        input["helpWanted"] = json!("PROOF_OF_CONCEPT");
        input["invitations"] = json!([{ "organizationId": fx.fabrikam }]);
        let wizard = create(&app, ANNA, input).await;
        assert_eq!(wizard["dealType"], "CO_SELL");
        let mut invitees: Vec<&str> = wizard["invitations"]
            .as_array()
            .expect("invitations")
            .iter()
            .map(|i| i["inviteeOrganization"]["name"].as_str().expect("name"))
            .collect();
        invitees.sort_unstable();
        assert_eq!(invitees, ["Fabrikam Solutions", "Microsoft"]);

        let mut input = deal(&fx, &unique("Wizard partners only"));
        input["invitations"] =
            json!([{ "organizationId": fx.fabrikam }, { "organizationId": fx.northwind }]);
        let p2p = create(&app, ANNA, input).await;
        assert_eq!(p2p["dealType"], "PARTNER_TO_PARTNER");
    }
);

db_test!(
    partner_to_partner_originator_may_invite_microsoft_and_partners,
    |app| async move {
        let fx = fixtures(&app).await;
        let mine = create(&app, ANNA, deal(&fx, &unique("P2P originator"))).await;
        invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        invite(&app, ANNA, &mine, &fx.northwind, json!({})).await;
        assert_eq!(
            opportunity(&app, ANNA, &mine["id"]).await["dealType"],
            "PARTNER_TO_PARTNER"
        );
        invite(&app, ANNA, &mine, &fx.microsoft, ms_terms()).await;
        assert_eq!(
            opportunity(&app, ANNA, &mine["id"]).await["dealType"],
            "CO_SELL"
        );
    }
);

db_test!(
    co_sell_originator_may_invite_partners_and_microsoft_again_only_after_its_place_closed,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Co-sell originator");
        let mut input = deal(&fx, &name);
        input["helpWanted"] = json!("WORKLOAD_VALUE_PROPOSITION");
        let mine = create(&app, ANNA, input).await;
        assert_eq!(mine["dealType"], "CO_SELL");
        invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        assert_eq!(
            opportunity(&app, ANNA, &mine["id"]).await["dealType"],
            "CO_SELL"
        );

        // Microsoft's invitation is pending: not again.
        let again = json!({ "opportunityId": mine["id"], "organizationId": fx.microsoft, "terms": ms_terms() });
        refused(
            &app,
            ANNA,
            "sendInvitation",
            again.clone(),
            "BAD_USER_INPUT",
        )
        .await;
        // Accepted: not again either.
        let first = received(&app, MARIA, &name).await;
        accept(&app, MARIA, &first).await;
        refused(&app, ANNA, "sendInvitation", again, "BAD_USER_INPUT").await;

        // Declined: Microsoft may be invited again.
        let name2 = unique("Co-sell reinvite");
        let mut input = deal(&fx, &name2);
        input["helpWanted"] = json!("OTHER");
        let second = create(&app, ANNA, input).await;
        let ms = received(&app, MARIA, &name2).await;
        decline(&app, MARIA, &ms).await;
        let inv = invite(&app, ANNA, &second, &fx.microsoft, ms_terms()).await;
        assert_eq!(inv["status"], "PENDING");
        let ms_again = received(&app, MARIA, &name2).await;
        assert_ne!(ms_again["id"], ms["id"]);

        // Expired: Microsoft may be invited again.
        let name3 = unique("Co-sell expired");
        let mut input = deal(&fx, &name3);
        input["helpWanted"] = json!("OTHER");
        let third = create(&app, ANNA, input).await;
        let ms = received(&app, MARIA, &name3).await;
        refused(
            &app,
            ANNA,
            "sendInvitation",
            json!({ "opportunityId": third["id"], "organizationId": fx.microsoft, "terms": ms_terms() }),
            "BAD_USER_INPUT",
        )
        .await;
        app.advance_clock(Duration::days(15));
        app.expire_now().await;
        assert_eq!(
            opportunity(&app, MARIA, &ms["id"]).await["stage"],
            "EXPIRED"
        );
        invite(&app, ANNA, &third, &fx.microsoft, ms_terms()).await;
        let ms_again = received(&app, MARIA, &name3).await;
        assert_ne!(ms_again["id"], ms["id"]);
    }
);

db_test!(
    inbound_participant_of_a_co_sell_deal_may_invite_nobody,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Inbound co-sell");
        let mut input = deal(&fx, &name);
        input["helpWanted"] = json!("PRICING_AND_LICENSING");
        input["invitations"] = json!([{ "organizationId": fx.fabrikam }]);
        create(&app, ANNA, input).await;
        let frank = received(&app, FRANK, &name).await;
        let frank = accept(&app, FRANK, &frank).await;
        let maria = received(&app, MARIA, &name).await;
        let maria = accept(&app, MARIA, &maria).await;
        for org in [&fx.northwind, &fx.adventure] {
            refused(
                &app,
                FRANK,
                "sendInvitation",
                json!({ "opportunityId": frank["id"], "organizationId": org }),
                "FORBIDDEN",
            )
            .await;
            refused(
                &app,
                MARIA,
                "sendInvitation",
                json!({ "opportunityId": maria["id"], "organizationId": org }),
                "FORBIDDEN",
            )
            .await;
        }
        refused(
            &app,
            FRANK,
            "sendInvitation",
            json!({ "opportunityId": frank["id"], "organizationId": fx.microsoft, "terms": ms_terms() }),
            "FORBIDDEN",
        )
        .await;

        // Even once Microsoft's place closed, an inbound partner may not bring it back.
        let name = unique("Inbound co-sell declined");
        let mut input = deal(&fx, &name);
        input["helpWanted"] = json!("PRICING_AND_LICENSING");
        input["invitations"] = json!([{ "organizationId": fx.fabrikam }]);
        create(&app, ANNA, input).await;
        let frank = received(&app, FRANK, &name).await;
        let frank = accept(&app, FRANK, &frank).await;
        let maria = received(&app, MARIA, &name).await;
        decline(&app, MARIA, &maria).await;
        refused(
            &app,
            FRANK,
            "sendInvitation",
            json!({ "opportunityId": frank["id"], "organizationId": fx.microsoft, "terms": ms_terms() }),
            "FORBIDDEN",
        )
        .await;
    }
);

db_test!(
    inbound_partner_of_a_p2p_deal_may_invite_microsoft_but_not_partners,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Inbound p2p");
        let (mine, frank) = accepted_p2p(&app, &fx, &name).await;
        assert_eq!(frank["dealType"], "PARTNER_TO_PARTNER");
        for org in [&fx.northwind, &fx.adventure] {
            refused(
                &app,
                FRANK,
                "sendInvitation",
                json!({ "opportunityId": frank["id"], "organizationId": org }),
                "FORBIDDEN",
            )
            .await;
        }
        let inv = invite(&app, FRANK, &frank, &fx.microsoft, ms_terms()).await;
        assert_eq!(inv["inviterOrganization"]["name"], "Fabrikam Solutions");
        assert_eq!(inv["inviteeOrganization"]["name"], "Microsoft");
        assert_eq!(
            opportunity(&app, FRANK, &frank["id"]).await["dealType"],
            "CO_SELL"
        );
        assert_eq!(
            opportunity(&app, ANNA, &mine["id"]).await["dealType"],
            "CO_SELL"
        );
        let maria = received(&app, MARIA, &name).await;
        assert_eq!(maria["dealType"], "CO_SELL");
        // Now co-sell: the inbound partner invites nobody more.
        refused(
            &app,
            FRANK,
            "sendInvitation",
            json!({ "opportunityId": frank["id"], "organizationId": fx.northwind }),
            "FORBIDDEN",
        )
        .await;
    }
);

db_test!(inviter_opportunity_must_be_accepted, |app| async move {
    let fx = fixtures(&app).await;
    let name = unique("Inviter accepted");
    let mine = create(&app, ANNA, deal(&fx, &name)).await;
    invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
    let frank = received(&app, FRANK, &name).await;
    let e = refused(
        &app,
        FRANK,
        "sendInvitation",
        json!({ "opportunityId": frank["id"], "organizationId": fx.microsoft, "terms": ms_terms() }),
        "INVALID_TRANSITION",
    )
    .await;
    assert!(
        e["message"].as_str().unwrap_or("").contains("RECEIVED"),
        "{e}"
    );
    ok(
        &app,
        ANNA,
        "markWon",
        json!({ "opportunityId": mine["id"] }),
    )
    .await;
    let e = refused(
        &app,
        ANNA,
        "sendInvitation",
        json!({ "opportunityId": mine["id"], "organizationId": fx.northwind }),
        "INVALID_TRANSITION",
    )
    .await;
    assert!(e["message"].as_str().unwrap_or("").contains("WON"), "{e}");
});

db_test!(
    microsoft_originated_deals_are_co_sell_from_creation,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Microsoft originated");
        let mine = create(&app, MARIA, ms_deal(&fx, &name)).await;
        assert_eq!(mine["dealType"], "CO_SELL");
        assert_eq!(mine["direction"], "OUTBOUND");
        invite(&app, MARIA, &mine, &fx.fabrikam, json!({})).await;
        assert_eq!(
            opportunity(&app, MARIA, &mine["id"]).await["dealType"],
            "CO_SELL"
        );
        let frank = received(&app, FRANK, &name).await;
        assert_eq!(frank["dealType"], "CO_SELL");
        let frank = accept(&app, FRANK, &frank).await;
        refused(
            &app,
            FRANK,
            "sendInvitation",
            json!({ "opportunityId": frank["id"], "organizationId": fx.northwind }),
            "FORBIDDEN",
        )
        .await;
        // Created with partners right away: still co-sell, never partner-to-partner.
        let mut input = ms_deal(&fx, &unique("Microsoft wizard"));
        input["invitations"] = json!([{ "organizationId": fx.northwind }]);
        let wizard = create(&app, MARIA, input).await;
        assert_eq!(wizard["dealType"], "CO_SELL");
        let upgrades: Vec<Value> = timeline(&app, MARIA, &wizard["id"])
            .await
            .into_iter()
            .filter(|e| e["kind"] == "DEAL_UPGRADED")
            .collect();
        assert_eq!(upgrades, Vec::<Value>::new());
    }
);

db_test!(
    one_open_place_per_organization_per_engagement,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("One place");
        let mine = create(&app, ANNA, deal(&fx, &name)).await;
        let to = |org: &str| json!({ "opportunityId": mine["id"], "organizationId": org });
        invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        invite(&app, ANNA, &mine, &fx.northwind, json!({})).await;
        invite(&app, ANNA, &mine, &fx.adventure, json!({})).await;
        // Pending: not again.
        refused(
            &app,
            ANNA,
            "sendInvitation",
            to(&fx.fabrikam),
            "BAD_USER_INPUT",
        )
        .await;
        // Accepted: not again.
        let frank = received(&app, FRANK, &name).await;
        accept(&app, FRANK, &frank).await;
        refused(
            &app,
            ANNA,
            "sendInvitation",
            to(&fx.fabrikam),
            "BAD_USER_INPUT",
        )
        .await;

        // Declined: a new invitation makes a new opportunity; the old one stays declined.
        let nadia = received(&app, NADIA, &name).await;
        decline(&app, NADIA, &nadia).await;
        invite(&app, ANNA, &mine, &fx.northwind, json!({})).await;
        let nadia2 = received(&app, NADIA, &name).await;
        assert_ne!(nadia2["id"], nadia["id"]);
        assert_eq!(
            opportunity(&app, NADIA, &nadia["id"]).await["stage"],
            "DECLINED"
        );
        refused(
            &app,
            ANNA,
            "sendInvitation",
            to(&fx.northwind),
            "BAD_USER_INPUT",
        )
        .await;

        // Expired: the same.
        let alex = received(&app, ALEX, &name).await;
        app.advance_clock(Duration::days(15));
        app.expire_now().await;
        assert_eq!(
            opportunity(&app, ALEX, &alex["id"]).await["stage"],
            "EXPIRED"
        );
        invite(&app, ANNA, &mine, &fx.adventure, json!({})).await;
        let alex2 = received(&app, ALEX, &name).await;
        assert_ne!(alex2["id"], alex["id"]);
        assert_eq!(
            opportunity(&app, ALEX, &alex["id"]).await["stage"],
            "EXPIRED"
        );
        let now = opportunity(&app, ANNA, &mine["id"]).await;
        let mut statuses = invitation_status(&now, "Adventure Works Cloud");
        statuses.sort_unstable();
        assert_eq!(statuses, ["EXPIRED", "PENDING"]);
    }
);

db_test!(
    consent_required_before_microsoft_is_invited,
    |app| async move {
        let fx = fixtures(&app).await;
        for without in [Value::Null, contact(false)] {
            let mut input = deal(&fx, &unique("No consent"));
            input["helpWanted"] = json!("TECHNICAL_ARCHITECTURE");
            input["contact"] = without.clone();
            refused(&app, ANNA, "createDeal", input, "BAD_USER_INPUT").await;

            let mut input = deal(&fx, &unique("No consent private"));
            input["contact"] = without;
            let private = create(&app, ANNA, input).await;
            assert_eq!(private["dealType"], "PRIVATE");
            refused(
                &app,
                ANNA,
                "sendInvitation",
                json!({ "opportunityId": private["id"], "organizationId": fx.microsoft, "terms": ms_terms() }),
                "BAD_USER_INPUT",
            )
            .await;
            // Partners need no consent.
            invite(&app, ANNA, &private, &fx.fabrikam, json!({})).await;
            // Once the contact has consent, Microsoft can come in.
            ok(
                &app,
                ANNA,
                "updateOpportunity",
                json!({ "opportunityId": private["id"], "contact": contact(true) }),
            )
            .await;
            invite(&app, ANNA, &private, &fx.microsoft, ms_terms()).await;
        }
    }
);

db_test!(inviting_microsoft_needs_the_help_wanted, |app| async move {
    let fx = fixtures(&app).await;
    let mine = create(&app, ANNA, deal(&fx, &unique("Help wanted"))).await;
    for terms in [Value::Null, json!({}), json!({ "helpWanted": "NONE" })] {
        refused(
            &app,
            ANNA,
            "sendInvitation",
            json!({ "opportunityId": mine["id"], "organizationId": fx.microsoft, "terms": terms }),
            "BAD_USER_INPUT",
        )
        .await;
    }
    invite(&app, ANNA, &mine, &fx.microsoft, ms_terms()).await;
});

db_test!(contact_locked_once_microsoft_is_invited, |app| async move {
    let fx = fixtures(&app).await;
    let name = unique("Contact lock");
    let mine = create(&app, ANNA, deal(&fx, &name)).await;
    assert_eq!(mine["contactLocked"], false);
    let with_name = |n: &str| {
        let mut c = contact(true);
        c["name"] = json!(n);
        c
    };
    let update_refused = async |email: &str, opp: &Value, name: &str, code: &str| {
        refused(
            &app,
            email,
            "updateOpportunity",
            json!({ "opportunityId": opp["id"], "contact": with_name(name) }),
            code,
        )
        .await;
        assert_eq!(
            opportunity(&app, ANNA, &mine["id"]).await["contact"]["name"],
            "Carl Changed"
        );
    };
    let updated = ok(
        &app,
        ANNA,
        "updateOpportunity",
        json!({ "opportunityId": mine["id"], "contact": with_name("Carl Changed") }),
    )
    .await;
    assert_eq!(updated["contact"]["name"], "Carl Changed");
    // Inviting a partner does not lock it.
    invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
    assert_eq!(
        opportunity(&app, ANNA, &mine["id"]).await["contactLocked"],
        false
    );
    // The invited partner, once it accepted, may not rewrite the shared contact: only the
    // originator changes it.
    let franks = received(&app, FRANK, &name).await;
    let franks = accept(&app, FRANK, &franks).await;
    update_refused(FRANK, &franks, "Frank's Friend", "FORBIDDEN").await;

    invite(&app, ANNA, &mine, &fx.microsoft, ms_terms()).await;
    let now = opportunity(&app, ANNA, &mine["id"]).await;
    assert_eq!(now["contactLocked"], true);
    update_refused(ANNA, &mine, "Too Late", "BAD_USER_INPUT").await;
    // Still locked after Microsoft declined.
    let maria = received(&app, MARIA, &name).await;
    decline(&app, MARIA, &maria).await;
    update_refused(ANNA, &mine, "Too Late", "BAD_USER_INPUT").await;
});

db_test!(
    an_invitation_is_seen_in_full_by_its_two_sides_only,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Three sides");
        let (mine, franks) = accepted_p2p(&app, &fx, &name).await;
        invite(
            &app,
            ANNA,
            &mine,
            &fx.northwind,
            json!({ "value": "777.00", "currency": "EUR", "notes": "Only for Northwind" }),
        )
        .await;
        const SEEN: &str = "id value currency notes inviteeOrganization { id }";
        let invitations = async |email: &str, opp: &Value| -> Vec<Value> {
            let v = app
                .gql_as(
                    email,
                    &format!(
                        "query($id: ID!) {{ opportunity(id: $id) {{ invitations {{ {SEEN} }} }} }}"
                    ),
                    json!({ "id": opp["id"] }),
                )
                .await;
            v["opportunity"]["invitations"]
                .as_array()
                .expect("invitations")
                .clone()
        };
        let to_northwind: Vec<Value> = invitations(ANNA, &mine)
            .await
            .into_iter()
            .filter(|i| i["inviteeOrganization"]["id"] == json!(fx.northwind))
            .collect();
        assert_eq!(to_northwind.len(), 1, "{to_northwind:?}");
        let inv = to_northwind[0].clone();
        assert_eq!(inv["value"], "777.00");
        assert_eq!(inv["notes"], "Only for Northwind");

        // The invitee sees it in full.
        let nadias = received(&app, NADIA, &name).await;
        let seen = invitations(NADIA, &nadias).await;
        assert!(
            seen.iter().any(|i| i["id"] == inv["id"]
                && i["value"] == "777.00"
                && i["notes"] == "Only for Northwind"),
            "{seen:?}"
        );

        // A third participant sees only its own invitation, and the other one by id is null.
        let franks_view = invitations(FRANK, &franks).await;
        assert!(!franks_view.is_empty());
        assert!(
            franks_view
                .iter()
                .all(|i| i["inviteeOrganization"]["id"] == json!(fx.fabrikam)),
            "{franks_view:?}"
        );
        let by_id = app
            .gql_as(
                FRANK,
                &format!(
                    "query($id: ID!) {{ invitation(id: $id) {{ {SEEN} }} node(id: $id) {{ id }} }}"
                ),
                json!({ "id": inv["id"] }),
            )
            .await;
        assert!(by_id["invitation"].is_null(), "{by_id}");
        assert!(by_id["node"].is_null(), "{by_id}");
    }
);

db_test!(
    a_deal_takes_an_existing_customer_or_a_new_one,
    |app| async move {
        let fx = fixtures(&app).await;
        let fresh = |name: &str| {
            json!({
                "name": name,
                "addressLine1": "Hauptstrasse 1",
                "city": "Berlin",
                "country": "DE"
            })
        };
        let customer_name = unique("Fresh Customer GmbH");
        let picker = async || {
            app.gql_as(
                ANNA,
                "query($s: String) { customers(search: $s) { nodes { id } } }",
                json!({ "s": tag(&customer_name) }),
            )
            .await
        };

        // Both, or neither: refused, nothing written.
        let mut both = deal(&fx, &unique("Both customers"));
        both["newCustomer"] = fresh(&customer_name);
        refused(&app, ANNA, "createDeal", both, "BAD_USER_INPUT").await;
        let mut neither = deal(&fx, &unique("No customer"));
        neither.as_object_mut().expect("input").remove("customerId");
        refused(&app, ANNA, "createDeal", neither, "BAD_USER_INPUT").await;

        // A new customer with a deal that fails a later check is not kept either.
        let mut bad = deal(&fx, &unique("New customer, bad solution"));
        bad.as_object_mut().expect("input").remove("customerId");
        bad["newCustomer"] = fresh(&customer_name);
        bad["solutionIds"] = json!([fx.legacy]);
        refused(&app, ANNA, "createDeal", bad, "BAD_USER_INPUT").await;
        let found = picker().await;
        assert_eq!(found["customers"]["nodes"], json!([]), "{found}");

        // A new customer: created with the deal, and the picker finds it afterwards.
        let mut good = deal(&fx, &unique("New customer"));
        good.as_object_mut().expect("input").remove("customerId");
        good["newCustomer"] = fresh(&customer_name);
        let opp = create(&app, ANNA, good).await;
        let v = app
            .gql_as(
                ANNA,
                "query($id: ID!) { opportunity(id: $id) { customer { id name city country } } }",
                json!({ "id": opp["id"] }),
            )
            .await;
        let customer = &v["opportunity"]["customer"];
        assert_eq!(customer["name"], json!(customer_name));
        assert_eq!(customer["city"], "Berlin");
        assert_eq!(customer["country"], "DE");
        let found = picker().await;
        assert_eq!(
            found["customers"]["nodes"],
            json!([{ "id": customer["id"] }]),
            "{found}"
        );
    }
);

db_test!(customer_is_fixed, |app| async move {
    let fields = app
        .gql_as(
            ANNA,
            "{ __type(name: \"UpdateOpportunityInput\") { inputFields { name } } }",
            json!({}),
        )
        .await;
    let names: Vec<&str> = fields["__type"]["inputFields"]
        .as_array()
        .expect("inputFields")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"opportunityId"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.to_lowercase().contains("customer")),
        "{names:?}"
    );
    // Sending one anyway is a validation error, and writes nothing.
    let fx = fixtures(&app).await;
    let mine = create(&app, ANNA, deal(&fx, &unique("Fixed customer"))).await;
    let before = app.snapshot().await;
    let token = app.token(ANNA).await;
    let v = app
        .gql(
            Some(&token),
            "mutation($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { userErrors { code } } }",
            json!({ "input": { "opportunityId": mine["id"], "customerId": fx.customer } }),
        )
        .await;
    assert_eq!(error_code(&v), "GRAPHQL_VALIDATION_FAILED", "{v}");
    assert_unchanged(
        &before,
        &app.snapshot().await,
        "updateOpportunity with a customer",
    );
});

db_test!(no_self_invites, |app| async move {
    let fx = fixtures(&app).await;
    let mine = create(&app, ANNA, deal(&fx, &unique("Self invite"))).await;
    refused(
        &app,
        ANNA,
        "sendInvitation",
        json!({ "opportunityId": mine["id"], "organizationId": fx.contoso }),
        "BAD_USER_INPUT",
    )
    .await;
    let mut input = deal(&fx, &unique("Self invite wizard"));
    input["invitations"] = json!([{ "organizationId": fx.contoso }]);
    refused(&app, ANNA, "createDeal", input, "BAD_USER_INPUT").await;

    let ms = create(&app, MARIA, ms_deal(&fx, &unique("Microsoft self"))).await;
    refused(
        &app,
        MARIA,
        "sendInvitation",
        json!({ "opportunityId": ms["id"], "organizationId": fx.microsoft, "terms": ms_terms() }),
        "BAD_USER_INPUT",
    )
    .await;
});

db_test!(
    a_partner_not_co_sell_ready_cannot_be_invited,
    |app| async move {
        let fx = fixtures(&app).await;
        let mine = create(&app, ANNA, deal(&fx, &unique("Unready partner"))).await;
        let unknown = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!("Organization:{}", uuid::Uuid::new_v4()))
        };
        for org in [&fx.tailspin, &unknown] {
            refused(
                &app,
                ANNA,
                "sendInvitation",
                json!({ "opportunityId": mine["id"], "organizationId": org }),
                "NOT_FOUND",
            )
            .await;
            let mut input = deal(&fx, &unique("Unready partner wizard"));
            input["invitations"] = json!([{ "organizationId": org }]);
            refused(&app, ANNA, "createDeal", input, "NOT_FOUND").await;
        }
    }
);

// ---------------------------------------------------------------------------------
// §9: input checks.
// ---------------------------------------------------------------------------------

db_test!(close_date_not_in_the_past, |app| async move {
    let fx = fixtures(&app).await;
    let yesterday = day(-1);
    let mut input = deal(&fx, &unique("Past close"));
    input["closeDate"] = json!(yesterday);
    let e = refused(&app, ANNA, "createDeal", input, "BAD_USER_INPUT").await;
    assert_eq!(e["field"], json!(["input", "closeDate"]));

    let mut input = deal(&fx, &unique("Today close"));
    input["closeDate"] = json!(day(0));
    let name = input["dealName"].as_str().expect("name").to_owned();
    let mine = create(&app, ANNA, input).await;
    assert_eq!(mine["closeDate"], day(0));
    let e = refused(
        &app,
        ANNA,
        "updateOpportunity",
        json!({ "opportunityId": mine["id"], "closeDate": yesterday }),
        "BAD_USER_INPUT",
    )
    .await;
    assert_eq!(e["field"], json!(["input", "closeDate"]));

    invite(
        &app,
        ANNA,
        &mine,
        &fx.fabrikam,
        json!({ "closeDate": day(30) }),
    )
    .await;
    let frank = received(&app, FRANK, &name).await;
    let e = refused(
        &app,
        FRANK,
        "acceptInvitation",
        json!({ "opportunityId": frank["id"], "closeDate": yesterday }),
        "BAD_USER_INPUT",
    )
    .await;
    assert_eq!(e["field"], json!(["input", "closeDate"]));
    let e = refused(
        &app,
        ANNA,
        "sendInvitation",
        json!({ "opportunityId": mine["id"], "organizationId": fx.northwind, "terms": { "closeDate": yesterday } }),
        "BAD_USER_INPUT",
    )
    .await;
    assert_eq!(e["field"], json!(["input", "terms", "closeDate"]));
});

db_test!(
    money_is_decimal_with_at_most_the_currency_minor_units,
    |app| async move {
        let fx = fixtures(&app).await;
        for (value, currency) in [
            ("10.505", "EUR"),
            ("10.5", "JPY"),
            ("-1.00", "EUR"),
            ("ten", "EUR"),
            ("1e3", "EUR"),
        ] {
            let mut input = deal(&fx, &unique("Money"));
            input["value"] = json!(value);
            input["currency"] = json!(currency);
            let e = refused(&app, ANNA, "createDeal", input, "BAD_USER_INPUT").await;
            assert_eq!(e["field"], json!(["input", "value"]), "{value} {currency}");
        }
        let mut input = deal(&fx, &unique("Money ok"));
        input["value"] = json!("10.5");
        let eur = create(&app, ANNA, input).await;
        assert_eq!(eur["value"], "10.50");
        assert_eq!(eur["currency"], "EUR");
        let mut input = deal(&fx, &unique("Money yen"));
        input["value"] = json!("1000");
        input["currency"] = json!("JPY");
        let jpy = create(&app, ANNA, input).await;
        assert_eq!(jpy["value"], "1000");

        let e = refused(
            &app,
            ANNA,
            "updateOpportunity",
            json!({ "opportunityId": eur["id"], "value": "10.505" }),
            "BAD_USER_INPUT",
        )
        .await;
        assert_eq!(e["field"], json!(["input", "value"]));
        let e = refused(
            &app,
            ANNA,
            "updateOpportunity",
            json!({ "opportunityId": jpy["id"], "value": "10.5" }),
            "BAD_USER_INPUT",
        )
        .await;
        assert_eq!(e["field"], json!(["input", "value"]));
        let updated = ok(
            &app,
            ANNA,
            "updateOpportunity",
            json!({ "opportunityId": eur["id"], "value": "123456789.1" }),
        )
        .await;
        assert_eq!(updated["value"], "123456789.10");
    }
);

// ---------------------------------------------------------------------------------
// §5: answering an invitation.
// ---------------------------------------------------------------------------------

db_test!(
    accept_after_the_window_is_expired_even_before_the_sweep,
    |app| async move {
        let fx = fixtures(&app).await;
        let late = unique("Late answer");
        let mine = create(&app, ANNA, deal(&fx, &late)).await;
        invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        let frank = received(&app, FRANK, &late).await;
        let in_time = unique("In time");
        let other = create(&app, ANNA, deal(&fx, &in_time)).await;

        // Just inside the window an answer works.
        app.advance_clock(Duration::days(1));
        invite(&app, ANNA, &other, &fx.fabrikam, json!({})).await;
        let frank_in_time = received(&app, FRANK, &in_time).await;
        app.advance_clock(Duration::days(13) + Duration::minutes(1));
        accept(&app, FRANK, &frank_in_time).await;

        // Past it, no expiry sweep yet: refused all the same.
        refused(
            &app,
            FRANK,
            "acceptInvitation",
            json!({ "opportunityId": frank["id"] }),
            "INVITATION_EXPIRED",
        )
        .await;
        refused(
            &app,
            FRANK,
            "declineInvitation",
            json!({ "opportunityId": frank["id"], "reason": "OTHER" }),
            "INVITATION_EXPIRED",
        )
        .await;
        app.expire_now().await;
        let now = opportunity(&app, FRANK, &frank["id"]).await;
        assert_eq!(now["stage"], "EXPIRED");
        assert_eq!(invitation_status(&now, "Fabrikam Solutions"), ["EXPIRED"]);
    }
);

db_test!(
    invitation_terms_default_to_the_inviting_deal_and_prefill_the_received_side,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Prefill");
        let mine = create(&app, ANNA, deal(&fx, &name)).await;
        // No terms given: the inviting deal's close date, value, team and solutions.
        invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        let v = app
            .gql_as(
                ANNA,
                "query($id: ID!) { opportunity(id: $id) { invitations {
                   closeDate value currency notes team { email } solutions { id } inviteeOrganization { id } } } }",
                json!({ "id": mine["id"] }),
            )
            .await;
        let inv = v["opportunity"]["invitations"]
            .as_array()
            .expect("invitations")
            .iter()
            .find(|i| i["inviteeOrganization"]["id"] == json!(fx.fabrikam))
            .expect("to Fabrikam")
            .clone();
        assert_eq!(inv["closeDate"], json!(day(90)), "{inv}");
        assert_eq!(inv["value"], "1000.00", "{inv}");
        assert_eq!(inv["currency"], "EUR", "{inv}");
        assert_eq!(inv["team"], json!([{ "email": ANNA }]), "{inv}");
        assert_eq!(
            inv["solutions"],
            json!([{ "id": fx.contoso_solutions[0] }]),
            "{inv}"
        );
        let franks = received(&app, FRANK, &name).await;
        assert_eq!(
            franks["dealName"],
            json!(name),
            "the inviter's deal name: {franks}"
        );
        assert_eq!(franks["closeDate"], json!(day(90)), "{franks}");
        assert_eq!(franks["value"], "1000.00", "{franks}");
        assert_eq!(franks["currency"], "EUR", "{franks}");
        assert!(franks["notes"].is_null(), "{franks}");
        assert_eq!(
            franks["solutions"],
            json!([{ "id": fx.contoso_solutions[0] }]),
            "{franks}"
        );

        // Given terms: the received side takes them.
        invite(
            &app,
            ANNA,
            &mine,
            &fx.northwind,
            json!({ "closeDate": day(120), "value": "10.00", "currency": "USD", "notes": "Bring the data team" }),
        )
        .await;
        let nadias = received(&app, NADIA, &name).await;
        assert_eq!(nadias["closeDate"], json!(day(120)), "{nadias}");
        assert_eq!(nadias["value"], "10.00", "{nadias}");
        assert_eq!(nadias["currency"], "USD", "{nadias}");
        assert_eq!(nadias["notes"], "Bring the data team", "{nadias}");
    }
);

db_test!(
    accepting_sets_stage_and_invitation_accepted,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Accepting");
        let mine = create(&app, ANNA, deal(&fx, &name)).await;
        invite(
            &app,
            ANNA,
            &mine,
            &fx.fabrikam,
            json!({ "value": "250.00", "currency": "USD", "notes": "bring security" }),
        )
        .await;
        // Sending moved the inviter's side to a new version.
        let mine = opportunity(&app, ANNA, &mine["id"]).await;
        let frank = received(&app, FRANK, &name).await;
        assert_eq!(frank["stage"], "RECEIVED");
        assert_eq!(frank["value"], "250.00");
        assert_eq!(frank["currency"], "USD");
        assert_eq!(invitation_status(&frank, "Fabrikam Solutions"), ["PENDING"]);

        let accepted = ok(
            &app,
            FRANK,
            "acceptInvitation",
            json!({
                "opportunityId": frank["id"],
                "expectedVersion": frank["version"],
                "dealName": "Fabrikam side",
                "value": "300.00",
                "team": [member("Frank Admin", FRANK), member("Fiona User", "fiona@fabrikam.example")]
            }),
        )
        .await;
        assert_eq!(accepted["stage"], "ACCEPTED");
        assert_eq!(accepted["direction"], "INBOUND");
        assert_eq!(accepted["dealName"], "Fabrikam side");
        assert_eq!(accepted["value"], "300.00");
        assert_eq!(accepted["team"].as_array().expect("team").len(), 2);
        assert_eq!(
            accepted["version"].as_i64(),
            frank["version"].as_i64().map(|v| v + 1)
        );
        assert_eq!(
            invitation_status(&accepted, "Fabrikam Solutions"),
            ["ACCEPTED"]
        );
        let origin = opportunity(&app, ANNA, &mine["id"]).await;
        assert_eq!(
            invitation_status(&origin, "Fabrikam Solutions"),
            ["ACCEPTED"]
        );
        assert_eq!(
            participant_stage(&origin, "Fabrikam Solutions"),
            ["ACCEPTED"]
        );
        // The originator's own side is untouched by the answer.
        assert_eq!(origin["version"], mine["version"]);
        assert_eq!(origin["dealName"], mine["dealName"]);

        // Without a team, the accepting user alone.
        let name = unique("Accepting alone");
        let mine = create(&app, ANNA, deal(&fx, &name)).await;
        invite(&app, ANNA, &mine, &fx.northwind, json!({})).await;
        let nadia = received(&app, NADIA, &name).await;
        let nadia = accept(&app, NADIA, &nadia).await;
        let team: Vec<&str> = nadia["team"]
            .as_array()
            .expect("team")
            .iter()
            .map(|m| m["email"].as_str().expect("email"))
            .collect();
        assert_eq!(team, [NADIA]);
    }
);

db_test!(decline_needs_a_reason_and_sets_declined, |app| async move {
    let fx = fixtures(&app).await;
    let name = unique("Declining");
    let mine = create(&app, ANNA, deal(&fx, &name)).await;
    invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
    let frank = received(&app, FRANK, &name).await;
    let before = app.snapshot().await;
    let token = app.token(FRANK).await;
    let v = app
        .gql(
            Some(&token),
            "mutation($input: DeclineInvitationInput!) { declineInvitation(input: $input) { userErrors { code } } }",
            json!({ "input": { "opportunityId": frank["id"] } }),
        )
        .await;
    assert_eq!(error_code(&v), "GRAPHQL_VALIDATION_FAILED", "{v}");
    assert_unchanged(&before, &app.snapshot().await, "decline without a reason");

    let declined = ok(
        &app,
        FRANK,
        "declineInvitation",
        json!({ "opportunityId": frank["id"], "reason": "CHOSE_ANOTHER_VENDOR", "notes": "went elsewhere" }),
    )
    .await;
    assert_eq!(declined["stage"], "DECLINED");
    assert_eq!(declined["closeReason"], "CHOSE_ANOTHER_VENDOR");
    assert_eq!(
        invitation_status(&declined, "Fabrikam Solutions"),
        ["DECLINED"]
    );
    let origin = opportunity(&app, ANNA, &mine["id"]).await;
    assert_eq!(
        participant_stage(&origin, "Fabrikam Solutions"),
        ["DECLINED"]
    );
    assert_eq!(
        invitation_status(&origin, "Fabrikam Solutions"),
        ["DECLINED"]
    );
    assert_eq!(origin["stage"], "ACCEPTED");
    let v = app
        .gql_as(
            ANNA,
            "query($id: ID!) { invitation(id: $id) { declineReason declineNotes status } }",
            json!({ "id": origin["invitations"][0]["id"] }),
        )
        .await;
    assert_eq!(v["invitation"]["declineReason"], "CHOSE_ANOTHER_VENDOR");
    assert_eq!(v["invitation"]["declineNotes"], "went elsewhere");
});

// ---------------------------------------------------------------------------------
// §5: closing.
// ---------------------------------------------------------------------------------

db_test!(
    closing_one_side_leaves_the_others_unchanged,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Close one side");
        let (mine, frank) = accepted_p2p(&app, &fx, &name).await;
        invite(&app, ANNA, &mine, &fx.microsoft, ms_terms()).await;
        let maria = received(&app, MARIA, &name).await;

        let won = ok(
            &app,
            ANNA,
            "markWon",
            json!({ "opportunityId": mine["id"], "notes": "signed" }),
        )
        .await;
        assert_eq!(won["stage"], "WON");
        let f = opportunity(&app, FRANK, &frank["id"]).await;
        assert_eq!(f["stage"], "ACCEPTED");
        assert_eq!(f["version"], frank["version"]);
        assert_eq!(participant_stage(&f, "Contoso Consulting"), ["WON"]);
        let m = opportunity(&app, MARIA, &maria["id"]).await;
        assert_eq!(m["stage"], "RECEIVED");
        assert_eq!(m["version"], maria["version"]);

        // The others still answer and close their own sides.
        accept(&app, MARIA, &m).await;
        let lost = ok(
            &app,
            FRANK,
            "markLost",
            json!({ "opportunityId": frank["id"], "reason": "TIMELINE_TOO_SHORT" }),
        )
        .await;
        assert_eq!(lost["stage"], "LOST");
        assert_eq!(opportunity(&app, ANNA, &mine["id"]).await["stage"], "WON");
        assert_eq!(
            opportunity(&app, MARIA, &maria["id"]).await["stage"],
            "ACCEPTED"
        );
    }
);

db_test!(mark_lost_needs_a_reason, |app| async move {
    let fx = fixtures(&app).await;
    let mine = create(&app, ANNA, deal(&fx, &unique("Lost reason"))).await;
    let before = app.snapshot().await;
    let token = app.token(ANNA).await;
    let v = app
        .gql(
            Some(&token),
            "mutation($input: MarkLostInput!) { markLost(input: $input) { userErrors { code } } }",
            json!({ "input": { "opportunityId": mine["id"] } }),
        )
        .await;
    assert_eq!(error_code(&v), "GRAPHQL_VALIDATION_FAILED", "{v}");
    assert_unchanged(&before, &app.snapshot().await, "markLost without a reason");
    let lost = ok(
        &app,
        ANNA,
        "markLost",
        json!({ "opportunityId": mine["id"], "reason": "NOT_A_CUSTOMER", "notes": "wrong entity" }),
    )
    .await;
    assert_eq!(lost["stage"], "LOST");
    assert_eq!(lost["closeReason"], "NOT_A_CUSTOMER");
    let ev = timeline(&app, ANNA, &mine["id"]).await;
    assert_eq!(ev[0]["kind"], "DEAL_LOST");
    assert!(
        ev[0]["payload"].to_string().contains("NOT_A_CUSTOMER"),
        "{}",
        ev[0]
    );
});

// ---------------------------------------------------------------------------------
// §5: favorites, versions, idempotency.
// ---------------------------------------------------------------------------------

db_test!(
    favorite_on_any_visible_opportunity_in_any_stage,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Favorites");
        let mine = create(&app, ANNA, deal(&fx, &name)).await;
        invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        let frank = received(&app, FRANK, &name).await;
        let won = ok(
            &app,
            ANNA,
            "markWon",
            json!({ "opportunityId": mine["id"] }),
        )
        .await;
        let declined = decline(&app, FRANK, &frank).await;
        for (who, opp) in [(ANNA, &won), (FRANK, &declined)] {
            let events = app.count("events").await;
            let fav = ok(
                &app,
                who,
                "setFavorite",
                json!({ "opportunityId": opp["id"], "favorite": true }),
            )
            .await;
            assert_eq!(fav["isFavorite"], true);
            assert_eq!(fav["version"], opp["version"]);
            assert_eq!(fav["stage"], opp["stage"]);
            assert_eq!(app.count("events").await, events);
            let v = app
                .gql_as(
                    who,
                    "{ opportunities(view: FAVORITES, first: 50) { nodes { id } } }",
                    json!({}),
                )
                .await;
            assert!(
                v["opportunities"]["nodes"]
                    .as_array()
                    .expect("nodes")
                    .iter()
                    .any(|n| n["id"] == opp["id"]),
                "{v}"
            );
            let off = ok(
                &app,
                who,
                "setFavorite",
                json!({ "opportunityId": opp["id"], "favorite": false }),
            )
            .await;
            assert_eq!(off["isFavorite"], false);
            assert_eq!(off["version"], opp["version"]);
        }
        // A received one, too.
        let name = unique("Favorite received");
        let other = create(&app, ANNA, deal(&fx, &name)).await;
        invite(&app, ANNA, &other, &fx.northwind, json!({})).await;
        let nadia = received(&app, NADIA, &name).await;
        let fav = ok(
            &app,
            NADIA,
            "setFavorite",
            json!({ "opportunityId": nadia["id"], "favorite": true }),
        )
        .await;
        assert_eq!(fav["stage"], "RECEIVED");
        assert_eq!(fav["version"], nadia["version"]);
        // One user's bookmark does not touch the other side's.
        let mine_fav = ok(
            &app,
            ANNA,
            "setFavorite",
            json!({ "opportunityId": other["id"], "favorite": true }),
        )
        .await;
        assert_eq!(mine_fav["isFavorite"], true);
        // Not visible: as if it did not exist.
        refused(
            &app,
            NADIA,
            "setFavorite",
            json!({ "opportunityId": other["id"], "favorite": true }),
            "NOT_FOUND",
        )
        .await;
    }
);

db_test!(
    stale_expected_version_is_a_conflict_and_writes_nothing,
    |app| async move {
        let fx = fixtures(&app).await;
        let name = unique("Versions");
        let mine = create(&app, ANNA, deal(&fx, &name)).await;
        let v0 = mine["version"].as_i64().expect("version");
        let updated = ok(
            &app,
            ANNA,
            "updateOpportunity",
            json!({ "opportunityId": mine["id"], "expectedVersion": v0, "notes": "first" }),
        )
        .await;
        assert_eq!(updated["version"].as_i64(), Some(v0 + 1));
        let id = &mine["id"];
        let team_id = updated["team"][0]["id"].clone();
        for (mutation, input) in [
            (
                "updateOpportunity",
                json!({ "opportunityId": id, "expectedVersion": v0, "notes": "stale" }),
            ),
            (
                "addTeamMember",
                json!({ "opportunityId": id, "expectedVersion": v0, "member": member("Uwe User", UWE) }),
            ),
            (
                "updateTeamMember",
                json!({ "opportunityId": id, "expectedVersion": v0, "teamMemberId": team_id, "name": "Stale" }),
            ),
            (
                "addSolution",
                json!({ "opportunityId": id, "expectedVersion": v0, "solutionId": fx.contoso_solutions[1] }),
            ),
            (
                "markWon",
                json!({ "opportunityId": id, "expectedVersion": v0 }),
            ),
            (
                "markLost",
                json!({ "opportunityId": id, "expectedVersion": v0, "reason": "OTHER" }),
            ),
            (
                "sendInvitation",
                json!({ "opportunityId": id, "expectedVersion": v0, "organizationId": fx.fabrikam }),
            ),
            (
                "updateOpportunity",
                json!({ "opportunityId": id, "expectedVersion": v0 + 5, "notes": "future" }),
            ),
        ] {
            let e = refused(&app, ANNA, mutation, input, "CONFLICT").await;
            assert_eq!(
                e["field"],
                json!(["input", "expectedVersion"]),
                "{mutation}"
            );
        }
        // The invitee's answers too.
        invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        let frank = received(&app, FRANK, &name).await;
        let stale = frank["version"].as_i64().expect("version") - 1;
        for (mutation, input) in [
            (
                "acceptInvitation",
                json!({ "opportunityId": frank["id"], "expectedVersion": stale }),
            ),
            (
                "declineInvitation",
                json!({ "opportunityId": frank["id"], "expectedVersion": stale, "reason": "OTHER" }),
            ),
        ] {
            let e = refused(&app, FRANK, mutation, input, "CONFLICT").await;
            assert_eq!(
                e["field"],
                json!(["input", "expectedVersion"]),
                "{mutation}"
            );
        }
        // Sending the invitation moved the inviter's version on: the current one works.
        let current = opportunity(&app, ANNA, id).await["version"]
            .as_i64()
            .expect("version");
        assert!(current > v0 + 1);
        refused(
            &app,
            ANNA,
            "markWon",
            json!({ "opportunityId": id, "expectedVersion": v0 + 1 }),
            "CONFLICT",
        )
        .await;
        let won = ok(
            &app,
            ANNA,
            "markWon",
            json!({ "opportunityId": id, "expectedVersion": current }),
        )
        .await;
        assert_eq!(won["version"].as_i64(), Some(current + 1));
    }
);

db_test!(idempotency_key_on_create_deal, |app| async move {
    let fx = fixtures(&app).await;
    let mut input = deal(&fx, &unique("Idempotent deal"));
    input["idempotencyKey"] = json!("lifecycle-create-1");
    input["invitations"] = json!([{ "organizationId": fx.fabrikam }]);
    let first = create(&app, ANNA, input.clone()).await;
    let before = app.snapshot().await;
    let again = create(&app, ANNA, input.clone()).await;
    assert_eq!(again["id"], first["id"]);
    assert_unchanged(&before, &app.snapshot().await, "a repeated createDeal");

    let mut other = input.clone();
    other["dealName"] = json!("Something else entirely");
    refused(&app, ANNA, "createDeal", other, "IDEMPOTENCY_KEY_REUSED").await;

    // Keys belong to their organization: Fabrikam's same key is a new deal of its own.
    let mut theirs = input.clone();
    theirs["team"] = json!([member("Frank Admin", FRANK)]);
    theirs["solutionIds"] = json!([fx.fabrikam_solution]);
    theirs["invitations"] = json!([]);
    let fabrikam = create(&app, FRANK, theirs).await;
    assert_ne!(fabrikam["id"], first["id"]);

    // A fresh key makes a new deal.
    let opportunities = app.count("opportunities").await;
    input["idempotencyKey"] = json!("lifecycle-create-2");
    input["invitations"] = json!([]);
    let fresh = create(&app, ANNA, input).await;
    assert_ne!(fresh["id"], first["id"]);
    assert_eq!(app.count("opportunities").await, opportunities + 1);
});

db_test!(idempotency_key_on_send_invitation, |app| async move {
    let fx = fixtures(&app).await;
    let name = unique("Idempotent invitation");
    let mine = create(&app, ANNA, deal(&fx, &name)).await;
    let input = json!({
        "opportunityId": mine["id"],
        "organizationId": fx.fabrikam,
        "terms": { "notes": "please help" },
        "idempotencyKey": "lifecycle-invite-1"
    });
    let first = ok(&app, ANNA, "sendInvitation", input.clone()).await;
    // The same key with another request is refused.
    let mut other = input.clone();
    other["organizationId"] = json!(fx.northwind);
    refused(
        &app,
        ANNA,
        "sendInvitation",
        other,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    let mut other = input.clone();
    other["terms"]["notes"] = json!("different terms");
    refused(
        &app,
        ANNA,
        "sendInvitation",
        other,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    // The same request again returns the first invitation and creates nothing.
    let before = app.snapshot().await;
    let again = ok(&app, ANNA, "sendInvitation", input).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["inviteeOrganization"]["name"], "Fabrikam Solutions");
    assert_unchanged(&before, &app.snapshot().await, "a repeated sendInvitation");
    assert_eq!(inbound(&app, FRANK, &name, &["RECEIVED"]).await.len(), 1);
});

// ---------------------------------------------------------------------------------
// §8: the timeline.
// ---------------------------------------------------------------------------------

db_test!(every_change_writes_a_timeline_event, |app| async move {
    let fx = fixtures(&app).await;
    let name = unique("Timeline");
    let mine = create(&app, ANNA, deal(&fx, &name)).await;
    assert_eq!(
        kinds(&timeline(&app, ANNA, &mine["id"]).await),
        ["DEAL_CREATED"]
    );
    invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
    let frank = received(&app, FRANK, &name).await;
    accept(&app, FRANK, &frank).await;
    ok(
        &app,
        ANNA,
        "updateOpportunity",
        json!({ "opportunityId": mine["id"], "dealName": format!("{name} renamed"), "notes": "more" }),
    )
    .await;
    ok(
        &app,
        ANNA,
        "addTeamMember",
        json!({ "opportunityId": mine["id"], "member": member("Uwe User", UWE) }),
    )
    .await;
    ok(
        &app,
        ANNA,
        "addSolution",
        json!({ "opportunityId": mine["id"], "solutionId": fx.contoso_solutions[1] }),
    )
    .await;
    ok(
        &app,
        FRANK,
        "updateOpportunity",
        json!({ "opportunityId": frank["id"], "notes": "fabrikam's own" }),
    )
    .await;
    ok(
        &app,
        ANNA,
        "markWon",
        json!({ "opportunityId": mine["id"] }),
    )
    .await;

    let events = timeline(&app, ANNA, &mine["id"]).await;
    let k = kinds(&events);
    assert_eq!(
        k[..5],
        [
            "DEAL_WON",
            "SOLUTIONS_CHANGED",
            "TEAM_CHANGED",
            "DEAL_UPDATED",
            "INVITATION_ACCEPTED"
        ],
        "{k:?}"
    );
    let mut sent_and_upgraded = k[5..7].to_vec();
    sent_and_upgraded.sort_unstable();
    assert_eq!(
        sent_and_upgraded,
        ["DEAL_UPGRADED", "INVITATION_SENT"],
        "{k:?}"
    );
    assert_eq!(k[7..], ["DEAL_CREATED"], "{k:?}");
    let mut changed: Vec<String> =
        serde_json::from_value(events[3]["payload"]["changedFields"].clone())
            .expect("changedFields");
    changed.sort_unstable();
    assert_eq!(changed, ["dealName", "notes"]);
    // Newest first: cursors go down.
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| {
            e["cursor"]
                .as_str()
                .expect("cursor")
                .parse()
                .expect("a number")
        })
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] > w[1]), "{cursors:?}");

    // Each party's edits stay its own.
    let theirs = timeline(&app, FRANK, &frank["id"]).await;
    let updates: Vec<&Value> = theirs
        .iter()
        .filter(|e| e["kind"] == "DEAL_UPDATED")
        .collect();
    assert_eq!(updates.len(), 1, "{theirs:?}");
    assert_eq!(updates[0]["opportunityId"], frank["id"]);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["kind"] == "DEAL_UPDATED")
            .count(),
        1
    );
    assert!(kinds(&theirs).contains(&"INVITATION_ACCEPTED".to_owned()));
});

// ---------------------------------------------------------------------------------
// §5: concurrent transitions.
// ---------------------------------------------------------------------------------

async fn post(
    http: reqwest::Client,
    url: String,
    token: String,
    query: String,
    input: Value,
) -> Value {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": { "input": input } }))
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_success(), "status {}", resp.status());
    resp.json().await.expect("json body")
}

/// Fires every (mutation, input) at once as `email`; returns each (mutation, payload).
async fn fire(
    app: &TestApp,
    email: &str,
    calls: Vec<(&'static str, Value)>,
) -> Vec<(&'static str, Value)> {
    let token = app.token(email).await;
    let url = app.url("/graphql");
    let handles: Vec<_> = calls
        .into_iter()
        .map(|(mutation, input)| {
            let query = format!(
                "mutation($input: {}!) {{ {mutation}(input: $input) {{ opportunity {{ id version stage notes }} userErrors {{ code message field }} }} }}",
                input_type(mutation)
            );
            let fut = post(app.http.clone(), url.clone(), token.clone(), query, input);
            (mutation, tokio::spawn(fut))
        })
        .collect();
    let mut out = Vec::new();
    for (mutation, h) in handles {
        let v = h.await.expect("task");
        assert!(v.get("errors").is_none(), "{mutation}: {v}");
        out.push((mutation, v["data"][mutation].clone()));
    }
    out
}

/// Exactly one call had no user errors; every other one a `CONFLICT` or
/// `INVALID_TRANSITION`. Returns the winner.
fn one_winner(results: &[(&'static str, Value)]) -> (&'static str, Value) {
    let winners: Vec<&(&str, Value)> = results
        .iter()
        .filter(|(_, p)| p["userErrors"] == json!([]))
        .collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    for (mutation, p) in results {
        if p["userErrors"] != json!([]) {
            let code = p["userErrors"][0]["code"].as_str().unwrap_or("");
            assert!(
                code == "CONFLICT" || code == "INVALID_TRANSITION",
                "{mutation}: {p}"
            );
            assert!(p["opportunity"].is_null(), "{p}");
        }
    }
    winners[0].clone()
}

db_test!(
    concurrent_transitions_on_one_opportunity_exactly_one_wins,
    |app| async move {
        let fx = fixtures(&app).await;
        for round in 0..5 {
            // With the version read: won, lost and edits race.
            let mine = create(&app, ANNA, deal(&fx, &unique("Race"))).await;
            let v0 = mine["version"].as_i64().expect("version");
            let calls = (0..12)
                .map(|i| match i % 3 {
                    0 => (
                        "markWon",
                        json!({ "opportunityId": mine["id"], "expectedVersion": v0 }),
                    ),
                    1 => (
                        "markLost",
                        json!({ "opportunityId": mine["id"], "expectedVersion": v0, "reason": "OTHER" }),
                    ),
                    _ => (
                        "updateOpportunity",
                        json!({ "opportunityId": mine["id"], "expectedVersion": v0, "notes": format!("race {round} {i}") }),
                    ),
                })
                .collect();
            let results = fire(&app, ANNA, calls).await;
            let (mutation, winner) = one_winner(&results);
            let now = opportunity(&app, ANNA, &mine["id"]).await;
            assert_eq!(now["version"].as_i64(), Some(v0 + 1), "round {round}");
            assert_eq!(now["version"], winner["opportunity"]["version"]);
            let expected = match mutation {
                "markWon" => "WON",
                "markLost" => "LOST",
                _ => "ACCEPTED",
            };
            assert_eq!(now["stage"], expected, "round {round}: {mutation} won");
            if mutation == "updateOpportunity" {
                assert_eq!(now["notes"], winner["opportunity"]["notes"]);
            }

            // Without a version: of won and lost, still exactly one.
            let mine = create(&app, ANNA, deal(&fx, &unique("Race unversioned"))).await;
            let v0 = mine["version"].as_i64().expect("version");
            let calls = (0..12)
                .map(|i| {
                    if i % 2 == 0 {
                        ("markWon", json!({ "opportunityId": mine["id"] }))
                    } else {
                        (
                            "markLost",
                            json!({ "opportunityId": mine["id"], "reason": "OTHER" }),
                        )
                    }
                })
                .collect();
            let results = fire(&app, ANNA, calls).await;
            let (mutation, _) = one_winner(&results);
            let now = opportunity(&app, ANNA, &mine["id"]).await;
            assert_eq!(now["version"].as_i64(), Some(v0 + 1), "round {round}");
            let expected = if mutation == "markWon" { "WON" } else { "LOST" };
            assert_eq!(now["stage"], expected);
            let closing: Vec<String> = kinds(&timeline(&app, ANNA, &mine["id"]).await)
                .into_iter()
                .filter(|k| k == "DEAL_WON" || k == "DEAL_LOST")
                .collect();
            assert_eq!(closing.len(), 1, "{closing:?}");
        }
    }
);

db_test!(
    concurrent_accept_and_decline_exactly_one_wins,
    |app| async move {
        let fx = fixtures(&app).await;
        for round in 0..5 {
            let name = unique("Answer race");
            let mine = create(&app, ANNA, deal(&fx, &name)).await;
            invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
            let frank = received(&app, FRANK, &name).await;
            let v0 = frank["version"].as_i64().expect("version");
            let calls = (0..12)
                .map(|i| {
                    let mut input = json!({ "opportunityId": frank["id"] });
                    if i % 4 < 2 {
                        input["expectedVersion"] = json!(v0);
                    }
                    if i % 2 == 0 {
                        ("acceptInvitation", input)
                    } else {
                        input["reason"] = json!("OTHER");
                        ("declineInvitation", input)
                    }
                })
                .collect();
            let results = fire(&app, FRANK, calls).await;
            let (mutation, _) = one_winner(&results);
            let now = opportunity(&app, FRANK, &frank["id"]).await;
            assert_eq!(now["version"].as_i64(), Some(v0 + 1), "round {round}");
            let (stage, status, event) = if mutation == "acceptInvitation" {
                ("ACCEPTED", "ACCEPTED", "INVITATION_ACCEPTED")
            } else {
                ("DECLINED", "DECLINED", "INVITATION_DECLINED")
            };
            assert_eq!(now["stage"], stage, "round {round}");
            assert_eq!(invitation_status(&now, "Fabrikam Solutions"), [status]);
            let answers: Vec<String> = kinds(&timeline(&app, FRANK, &frank["id"]).await)
                .into_iter()
                .filter(|k| k == "INVITATION_ACCEPTED" || k == "INVITATION_DECLINED")
                .collect();
            assert_eq!(answers, [event], "round {round}");
        }
    }
);

crate::configured_test!(
    the_response_window_and_the_reminder_follow_the_configuration,
    |c: &mut cosell::config::Config| {
        c.response_window_days = 3;
        c.reminder_hours = 24;
    },
    |app| async move {
        use sea_orm::EntityTrait;
        let fx = fixtures(&app).await;
        let name = unique("Window");
        let mine = create(&app, ANNA, deal(&fx, &name)).await;
        let inv = invite(&app, ANNA, &mine, &fx.fabrikam, json!({})).await;
        let v = app
            .gql_as(
                ANNA,
                "query($id: ID!) { invitation(id: $id) { sentAt expiresAt } }",
                json!({ "id": inv["id"] }),
            )
            .await;
        let at = |k: &str| {
            chrono::DateTime::parse_from_rfc3339(v["invitation"][k].as_str().expect(k))
                .expect("a time")
        };
        assert_eq!(at("expiresAt") - at("sentAt"), Duration::days(3), "{v}");

        let franks = received(&app, FRANK, &name).await;
        let (_, id) =
            cosell::graphql::ids::decode(franks["id"].as_str().expect("id")).expect("a global id");
        let reminded = async || {
            cosell::service::expiry::remind_due(&app.server.services.deps())
                .await
                .expect("reminders");
            entity::opportunities::Entity::find_by_id(id)
                .one(&app.db)
                .await
                .expect("read")
                .expect("the received side")
                .reminded_at
                .is_some()
        };
        // 25 hours before the end: not yet; 23 hours before: reminded.
        app.advance_clock(Duration::hours(47));
        assert!(
            !reminded().await,
            "reminded more than 24 hours before the end"
        );
        app.advance_clock(Duration::hours(2));
        assert!(reminded().await, "not reminded within 24 hours of the end");
        // Past the 3 days: expired.
        app.advance_clock(Duration::hours(24));
        assert!(app.expire_now().await >= 1);
        assert_eq!(
            opportunity(&app, FRANK, &franks["id"]).await["stage"],
            "EXPIRED"
        );
    }
);
