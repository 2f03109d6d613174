//! Lists answer their plain fields in place (`src/graphql/plain.rs`) and everything else
//! through the resolvers; both must give the answer async-graphql's own path gives.
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

const ORG: &str = "id name kind partnerId coSellReady country __typename";
const CUSTOMER: &str =
    "id name addressLine1 addressLine2 city region postalCode country duns website createdAt";
const TEAM: &str = "id name phone email notify";
const SOLUTION: &str = "id name coSellReady registrationEligible kind publisher { name }";

/// `body` as the selection set of a `ty`; inside an inline fragment when `fragments`,
/// which sends the object down async-graphql's own path.
fn set(ty: &str, body: &str, fragments: bool) -> String {
    if fragments {
        format!("{{ ... on {ty} {{ {body} }} }}")
    } else {
        format!("{{ {body} }}")
    }
}

/// A list tab selecting every plain field of every object on a page, with loads and
/// aliases among them.
fn page_query(fragments: bool) -> String {
    let org = set("Organization", ORG, fragments);
    let customer = set("Customer", CUSTOMER, fragments);
    let team = set("TeamMember", TEAM, fragments);
    let solution = set("Solution", SOLUTION, fragments);
    let invitation = set(
        "Invitation",
        &format!(
            "id closeDate value currency notes helpWanted status sentAt expiresAt answeredAt \
             declineReason declineNotes inviterOrganization {org} inviteeOrganization {org} \
             solutions {solution} team {{ name email }} __typename"
        ),
        fragments,
    );
    let opportunity = set(
        "Opportunity",
        &format!(
            "id direction stage label: dealName dealName value currency closeDate crmId \
             campaignId notes version createdAt updatedAt closedAt closeReason closeNotes \
             expiresAt dealType helpWanted __typename organization {org} customer {customer} \
             team {team} solutions {solution} invitations {invitation} \
             participants {{ stage direction organization {org} team {team} }} \
             availableActions isFavorite"
        ),
        fragments,
    );
    format!(
        "query($view: OpportunityView!) {{ opportunities(view: $view, first: 50) {{ \
         totalCount edges {{ cursor node {opportunity} }} }} }}"
    )
}

async fn page(app: &TestApp, email: &str, view: &str, fragments: bool) -> Value {
    app.gql_as(email, &page_query(fragments), json!({ "view": view }))
        .await
}

/// How many of the page's opportunities have a non-empty `field` list.
fn with(page: &Value, field: &str) -> usize {
    page["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| e["node"][field].as_array().is_some_and(|l| !l.is_empty()))
        .count()
}

db_test!(plain_fields_answer_as_their_resolvers, |app| async move {
    let mut seen = 0;
    for email in [
        "anna@contoso.example",
        "frank@fabrikam.example",
        "maria@microsoft.example",
    ] {
        for view in ["INBOUND", "OUTBOUND", "ARCHIVED"] {
            let fast = page(&app, email, view, false).await;
            let slow = page(&app, email, view, true).await;
            assert_eq!(
                fast, slow,
                "{email}'s {view} page differs between the paths"
            );
            seen += fast["opportunities"]["edges"]
                .as_array()
                .expect("edges")
                .len();
            if email == "anna@contoso.example" && view == "OUTBOUND" {
                // The demo data gives the comparison something to compare.
                for field in ["team", "solutions", "invitations", "participants"] {
                    assert!(with(&fast, field) > 0, "no {field} on the page");
                }
            }
        }
    }
    assert!(seen >= 10, "only {seen} opportunities compared");
});

db_test!(
    fields_are_answered_in_the_order_they_were_asked,
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        let text = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query":
                "{ opportunities(view: OUTBOUND, first: 1) { edges { node { \
                 stage team { email name } id customer { name } dealName } } } }" }))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        let at = |key: &str| {
            text.find(&format!("\"{key}\""))
                .unwrap_or_else(|| panic!("{key} missing from {text}"))
        };
        let order = [
            "stage", "team", "email", "name", "id", "customer", "dealName",
        ];
        for pair in order.windows(2) {
            assert!(
                at(pair[0]) < at(pair[1]),
                "{} after {} in {text}",
                pair[0],
                pair[1]
            );
        }
    }
);
