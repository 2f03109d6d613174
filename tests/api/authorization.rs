//! The authorization matrix (SPEC §2, §7): principals x stages x operations, against an
//! oracle written here from the spec, independent of the server's rule code.
//!
//! Every cell (principal, opportunity, operation) runs on an opportunity that no earlier
//! success touched: each (operation, principal) pair gets its own fresh set of
//! opportunities, one in every stage and on both sides of an engagement.
use std::collections::HashMap;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_test;
use crate::helpers::TestApp;

const ANNA: &str = "anna@contoso.example";
const UWE: &str = "uwe@contoso.example";
const LISA: &str = "lisa@contoso.example";
const FRANK: &str = "frank@fabrikam.example";
const FIONA: &str = "fiona@fabrikam.example";
const MARIA: &str = "maria@microsoft.example";
const NADIA: &str = "nadia@northwind.example";

// ---------------------------------------------------------------------------------------
// The model and the oracle: from the spec only.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Org {
    Contoso,
    Fabrikam,
    Microsoft,
    Northwind,
}

#[derive(Debug, Clone, Copy)]
struct Principal {
    email: &'static str,
    org: Org,
    /// `REFERRAL_ADMIN` (or `ACCOUNT_ADMIN`): sees the whole organization's opportunities.
    admin: bool,
}

const PRINCIPALS: [Principal; 7] = [
    // The originator's admin, a user on every originated deal's team, a user on none.
    Principal {
        email: ANNA,
        org: Org::Contoso,
        admin: true,
    },
    Principal {
        email: UWE,
        org: Org::Contoso,
        admin: false,
    },
    Principal {
        email: LISA,
        org: Org::Contoso,
        admin: false,
    },
    // The invited partner's admin and a user it puts on its team when accepting.
    Principal {
        email: FRANK,
        org: Org::Fabrikam,
        admin: true,
    },
    Principal {
        email: FIONA,
        org: Org::Fabrikam,
        admin: false,
    },
    // Microsoft: invited into the co-sell deal only.
    Principal {
        email: MARIA,
        org: Org::Microsoft,
        admin: true,
    },
    // A partner nobody invited.
    Principal {
        email: NADIA,
        org: Org::Northwind,
        admin: true,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Received,
    Accepted,
    Won,
    Lost,
    Declined,
    Expired,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Received => "RECEIVED",
            Stage::Accepted => "ACCEPTED",
            Stage::Won => "WON",
            Stage::Lost => "LOST",
            Stage::Declined => "DECLINED",
            Stage::Expired => "EXPIRED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Outbound,
    Inbound,
}

/// One opportunity of the matrix, as the test built it.
#[derive(Debug, Clone, Copy)]
struct Case {
    /// The last word of its deal name, unique within a fixture set.
    label: &'static str,
    org: Org,
    stage: Stage,
    direction: Direction,
    /// The team's emails as the test wrote them (case preserved on purpose).
    team: &'static [&'static str],
}

/// Uwe's email as written on some teams: membership ignores case.
const UWE_MIXED: &str = "Uwe@Contoso.Example";

const CASES: [Case; 12] = [
    Case {
        label: "private",
        org: Org::Contoso,
        stage: Stage::Accepted,
        direction: Direction::Outbound,
        team: &[UWE_MIXED],
    },
    Case {
        label: "cosell",
        org: Org::Contoso,
        stage: Stage::Accepted,
        direction: Direction::Outbound,
        team: &[UWE],
    },
    Case {
        label: "cosell-fabrikam",
        org: Org::Fabrikam,
        stage: Stage::Received,
        direction: Direction::Inbound,
        team: &[],
    },
    Case {
        label: "cosell-microsoft",
        org: Org::Microsoft,
        stage: Stage::Received,
        direction: Direction::Inbound,
        team: &[],
    },
    Case {
        label: "ptwop",
        org: Org::Contoso,
        stage: Stage::Accepted,
        direction: Direction::Outbound,
        team: &[UWE],
    },
    Case {
        label: "ptwop-fabrikam",
        org: Org::Fabrikam,
        stage: Stage::Accepted,
        direction: Direction::Inbound,
        team: &[FIONA],
    },
    Case {
        label: "won",
        org: Org::Contoso,
        stage: Stage::Won,
        direction: Direction::Outbound,
        team: &[UWE_MIXED],
    },
    Case {
        label: "won-fabrikam",
        org: Org::Fabrikam,
        stage: Stage::Won,
        direction: Direction::Inbound,
        team: &[FIONA],
    },
    Case {
        label: "lost",
        org: Org::Contoso,
        stage: Stage::Lost,
        direction: Direction::Outbound,
        team: &[UWE],
    },
    Case {
        label: "lost-fabrikam",
        org: Org::Fabrikam,
        stage: Stage::Lost,
        direction: Direction::Inbound,
        team: &[FIONA],
    },
    Case {
        label: "declined-fabrikam",
        org: Org::Fabrikam,
        stage: Stage::Declined,
        direction: Direction::Inbound,
        team: &[],
    },
    Case {
        label: "expiring-fabrikam",
        org: Org::Fabrikam,
        stage: Stage::Expired,
        direction: Direction::Inbound,
        team: &[],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Accept,
    Decline,
    Update,
    AddTeamMember,
    AddSolution,
    MarkWon,
    MarkLost,
    SetFavorite,
    /// Invites a co-sell-ready partner that is not in the engagement yet.
    InvitePartner,
}

const OPS: [Op; 9] = [
    Op::Accept,
    Op::Decline,
    Op::Update,
    Op::AddTeamMember,
    Op::AddSolution,
    Op::MarkWon,
    Op::MarkLost,
    Op::SetFavorite,
    Op::InvitePartner,
];

impl Op {
    /// The `availableActions` value that offers this operation, if any.
    fn action(self) -> Option<&'static str> {
        Some(match self {
            Op::Accept => "ACCEPT",
            Op::Decline => "DECLINE",
            Op::Update => "UPDATE",
            Op::AddTeamMember => "ADD_TEAM_MEMBER",
            Op::AddSolution => "ADD_SOLUTION",
            Op::MarkWon => "MARK_WON",
            Op::MarkLost => "MARK_LOST",
            Op::InvitePartner => "INVITE_PARTNER",
            Op::SetFavorite => return None,
        })
    }
}

/// SPEC §2: an opportunity belongs to one organization; its referral admins see it, its
/// referral users when the team lists their email (case does not matter).
fn visible(p: &Principal, c: &Case) -> bool {
    p.org == c.org && (p.admin || c.team.iter().any(|e| e.eq_ignore_ascii_case(p.email)))
}

/// SPEC §2, §5, §6, §9: what the server must answer, `"OK"` or a user error code.
fn oracle(p: &Principal, c: &Case, op: Op) -> &'static str {
    if !visible(p, c) {
        return "NOT_FOUND";
    }
    let only_in = |stage: Stage| {
        if c.stage == stage {
            "OK"
        } else {
            "INVALID_TRANSITION"
        }
    };
    match op {
        Op::SetFavorite => "OK",
        Op::Accept | Op::Decline => only_in(Stage::Received),
        Op::Update | Op::AddTeamMember | Op::AddSolution | Op::MarkWon | Op::MarkLost => {
            only_in(Stage::Accepted)
        }
        Op::InvitePartner => {
            if c.stage != Stage::Accepted {
                "INVALID_TRANSITION"
            } else if c.direction == Direction::Inbound {
                // Partners are invited by the originator only (§6's table).
                "FORBIDDEN"
            } else {
                "OK"
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Talking to the server.

/// Tokens minted once, and the ids the fixtures need.
struct World<'a> {
    app: &'a TestApp,
    tokens: HashMap<&'static str, String>,
    customer: Value,
    /// Co-sell-ready solutions: the first and second of each organization.
    solutions: HashMap<Org, (Value, Value)>,
    fabrikam: Value,
    adventure_works: Value,
    close_date: String,
}

impl<'a> World<'a> {
    async fn new(app: &'a TestApp) -> World<'a> {
        let mut tokens = HashMap::new();
        for p in PRINCIPALS {
            tokens.insert(p.email, app.token(p.email).await);
        }
        let mut w = World {
            app,
            tokens,
            customer: Value::Null,
            solutions: HashMap::new(),
            fabrikam: Value::Null,
            adventure_works: Value::Null,
            close_date: (chrono::Utc::now().date_naive() + chrono::Duration::days(400)).to_string(),
        };
        for (org, admin) in [
            (Org::Contoso, ANNA),
            (Org::Fabrikam, FRANK),
            (Org::Microsoft, MARIA),
            (Org::Northwind, NADIA),
        ] {
            let v = w
                .data(
                    admin,
                    "{ solutions(kind: OWN, coSellReady: true) { nodes { id name } } }",
                    json!({}),
                )
                .await;
            let nodes = v["solutions"]["nodes"].as_array().expect("solutions");
            let first = nodes[0]["id"].clone();
            let second = nodes.get(1).map_or(first.clone(), |n| n["id"].clone());
            w.solutions.insert(org, (first, second));
        }
        let v = w
            .data(
                ANNA,
                "{ f: partners(search: \"fabrikam\") { nodes { id } }
                   a: partners(search: \"adventure\") { nodes { id } }
                   c: customers(search: \"woodgrove\") { nodes { id } } }",
                json!({}),
            )
            .await;
        w.fabrikam = v["f"]["nodes"][0]["id"].clone();
        w.adventure_works = v["a"]["nodes"][0]["id"].clone();
        w.customer = v["c"]["nodes"][0]["id"].clone();
        assert!(
            w.fabrikam.is_string() && w.adventure_works.is_string() && w.customer.is_string(),
            "{v}"
        );
        w
    }

    /// The whole response.
    async fn gql(&self, email: &str, q: &str, vars: Value) -> Value {
        self.app.gql(Some(&self.tokens[email]), q, vars).await
    }

    /// The data; panics on top-level errors.
    async fn data(&self, email: &str, q: &str, vars: Value) -> Value {
        let v = self.gql(email, q, vars).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v}");
        v["data"].clone()
    }

    /// Runs a fixture mutation that must succeed; returns its payload.
    async fn must(&self, email: &str, q: &str, vars: Value) -> Value {
        let v = self.data(email, q, vars).await;
        let payload = v.as_object().and_then(|o| o.values().next()).cloned();
        let payload = payload.expect("a payload");
        assert_eq!(payload["userErrors"], json!([]), "fixture step failed: {v}");
        payload
    }

    /// Anna's deal for Woodgrove, with Uwe (as `uwe`) on the team; returns its id.
    async fn create(&self, name: &str, uwe: &str, extra: Value) -> Value {
        let mut input = json!({
            "customerId": self.customer,
            "dealName": name,
            "value": "125000.50",
            "currency": "EUR",
            "closeDate": self.close_date,
            "team": [{ "name": "Uwe User", "phone": "+49 30 1234567", "email": uwe }],
            "solutionIds": [self.solutions[&Org::Contoso].0],
            "helpWanted": "NONE",
        });
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        let p = self
            .must(
                ANNA,
                "mutation($input: CreateDealInput!) { createDeal(input: $input) {
                   opportunity { id stage } userErrors { code field message } } }",
                json!({ "input": input }),
            )
            .await;
        p["opportunity"]["id"].clone()
    }

    fn invite_fabrikam(&self) -> Value {
        json!([{ "organizationId": self.fabrikam,
                 "terms": { "solutionIds": [self.solutions[&Org::Fabrikam].0] } }])
    }

    /// The opportunities of `email`'s lists whose deal name holds `word`, by label.
    async fn lookup(&self, email: &str, word: &str) -> HashMap<String, (Value, String)> {
        let v = self
            .data(
                email,
                "query($s: String) {
                   i: opportunities(view: INBOUND, filter: {search: $s}, first: 100) { nodes { id dealName stage } }
                   o: opportunities(view: OUTBOUND, filter: {search: $s}, first: 100) { nodes { id dealName stage } }
                   a: opportunities(view: ARCHIVED, filter: {search: $s}, first: 100) { nodes { id dealName stage } } }",
                json!({ "s": word }),
            )
            .await;
        let mut out = HashMap::new();
        for tab in ["i", "o", "a"] {
            for n in v[tab]["nodes"].as_array().expect("nodes") {
                let name = n["dealName"].as_str().expect("dealName");
                let label = name.rsplit(' ').next().expect("label").to_owned();
                out.insert(
                    label,
                    (
                        n["id"].clone(),
                        n["stage"].as_str().unwrap_or("").to_owned(),
                    ),
                );
            }
        }
        out
    }
}

const ACCEPT_AS_FIONA: &str = "mutation($id: ID!) { acceptInvitation(input: {opportunityId: $id,
    team: [{name: \"Fiona User\", phone: \"+1 425 555 0101\", email: \"fiona@fabrikam.example\"}]}) {
    opportunity { id } userErrors { code message } } }";
const DECLINE: &str =
    "mutation($id: ID!) { declineInvitation(input: {opportunityId: $id, reason: OTHER}) {
    opportunity { id } userErrors { code message } } }";
const WON: &str = "mutation($id: ID!) { markWon(input: {opportunityId: $id}) {
    opportunity { id } userErrors { code message } } }";
const LOST: &str =
    "mutation($id: ID!) { markLost(input: {opportunityId: $id, reason: BUDGET_NOT_ADEQUATE}) {
    opportunity { id } userErrors { code message } } }";

/// One fixture set: an opportunity for every [`CASES`] entry, by label.
struct Fixture {
    word: String,
    ids: HashMap<&'static str, Value>,
}

impl Fixture {
    fn name(&self, label: &str) -> String {
        format!("Authz {} {label}", self.word)
    }
}

/// The deal whose Fabrikam side is left to expire: built before the clock moves.
async fn start_expiring(w: &World<'_>) -> Fixture {
    let f = Fixture {
        word: format!("m{}", Uuid::new_v4().simple()),
        ids: HashMap::new(),
    };
    w.create(
        &f.name("expiring"),
        UWE,
        json!({ "invitations": w.invite_fabrikam() }),
    )
    .await;
    f
}

/// Builds the rest of the fixture set, after the expiry sweep.
async fn finish(w: &World<'_>, f: &mut Fixture) {
    let consent = json!({ "name": "Carla Customer", "phone": "+44 20 7946 0000",
                          "email": "carla@woodgrove.example", "consent": true });
    let private = w.create(&f.name("private"), UWE_MIXED, json!({})).await;
    let cosell = w
        .create(
            &f.name("cosell"),
            UWE,
            json!({ "contact": consent, "helpWanted": "TECHNICAL_ARCHITECTURE",
                    "invitations": w.invite_fabrikam() }),
        )
        .await;
    let invite = json!({ "invitations": w.invite_fabrikam() });
    let ptwop = w.create(&f.name("ptwop"), UWE, invite.clone()).await;
    let won = w.create(&f.name("won"), UWE_MIXED, invite.clone()).await;
    let lost = w.create(&f.name("lost"), UWE, invite.clone()).await;
    w.create(&f.name("declined"), UWE, invite).await;
    let fab = w.lookup(FRANK, &f.word).await;
    let fab_id = |label: &str| {
        fab.get(label)
            .unwrap_or_else(|| panic!("Fabrikam has no {label} opportunity: {fab:?}"))
            .0
            .clone()
    };
    for label in ["ptwop", "won", "lost"] {
        w.must(FRANK, ACCEPT_AS_FIONA, json!({ "id": fab_id(label) }))
            .await;
    }
    w.must(FRANK, DECLINE, json!({ "id": fab_id("declined") }))
        .await;
    w.must(ANNA, WON, json!({ "id": won })).await;
    w.must(FRANK, WON, json!({ "id": fab_id("won") })).await;
    w.must(ANNA, LOST, json!({ "id": lost })).await;
    w.must(FRANK, LOST, json!({ "id": fab_id("lost") })).await;

    let fab = w.lookup(FRANK, &f.word).await;
    let ms = w.lookup(MARIA, &f.word).await;
    let mut ids: HashMap<&'static str, Value> = HashMap::new();
    ids.insert("private", private);
    ids.insert("cosell", cosell);
    ids.insert("ptwop", ptwop);
    ids.insert("won", won);
    ids.insert("lost", lost);
    for case in CASES {
        if let Some(base) = case.label.strip_suffix("-fabrikam") {
            let (id, stage) = fab
                .get(base)
                .unwrap_or_else(|| panic!("Fabrikam has no {base} opportunity: {fab:?}"));
            assert_eq!(stage, case.stage.name(), "fixture {}", case.label);
            ids.insert(case.label, id.clone());
        } else if let Some(base) = case.label.strip_suffix("-microsoft") {
            let (id, stage) = ms
                .get(base)
                .unwrap_or_else(|| panic!("Microsoft has no {base} opportunity: {ms:?}"));
            assert_eq!(stage, case.stage.name(), "fixture {}", case.label);
            ids.insert(case.label, id.clone());
        }
    }
    assert_eq!(ids.len(), CASES.len(), "{ids:?}");
    f.ids = ids;
}

/// What the server answered to one mutation cell: `"OK"`, the first user error's code,
/// or the top-level error.
async fn run_cell(w: &World<'_>, p: &Principal, id: &Value, op: Op) -> String {
    let v = send(w, p, id, op).await;
    outcome(op, &v)
}

/// Sends `op` on the opportunity `id` as `p`; the whole response, the payload as `r`.
async fn send(w: &World<'_>, p: &Principal, id: &Value, op: Op) -> Value {
    let tail = "{ opportunity { id } userErrors { code field message } }";
    let (q, vars) = match op {
        Op::Accept => (
            format!("mutation($id: ID!) {{ r: acceptInvitation(input: {{opportunityId: $id}}) {tail} }}"),
            json!({ "id": id }),
        ),
        Op::Decline => (
            format!("mutation($id: ID!) {{ r: declineInvitation(input: {{opportunityId: $id, reason: TIMELINE_TOO_SHORT}}) {tail} }}"),
            json!({ "id": id }),
        ),
        Op::Update => (
            format!("mutation($id: ID!) {{ r: updateOpportunity(input: {{opportunityId: $id, notes: \"edited by the matrix\"}}) {tail} }}"),
            json!({ "id": id }),
        ),
        Op::AddTeamMember => (
            format!("mutation($id: ID!) {{ r: addTeamMember(input: {{opportunityId: $id,
                member: {{name: \"Matrix Member\", phone: \"+49 30 7654321\", email: \"matrix.member@example.com\"}}}}) {tail} }}"),
            json!({ "id": id }),
        ),
        Op::AddSolution => (
            format!("mutation($id: ID!, $s: ID!) {{ r: addSolution(input: {{opportunityId: $id, solutionId: $s}}) {tail} }}"),
            // A co-sell-ready solution of the principal's organization, not on the deal.
            json!({ "id": id, "s": w.solutions[&p.org].1 }),
        ),
        Op::MarkWon => (
            format!("mutation($id: ID!) {{ r: markWon(input: {{opportunityId: $id}}) {tail} }}"),
            json!({ "id": id }),
        ),
        Op::MarkLost => (
            format!("mutation($id: ID!) {{ r: markLost(input: {{opportunityId: $id, reason: OTHER}}) {tail} }}"),
            json!({ "id": id }),
        ),
        Op::SetFavorite => (
            format!("mutation($id: ID!) {{ r: setFavorite(input: {{opportunityId: $id, favorite: true}}) {tail} }}"),
            json!({ "id": id }),
        ),
        Op::InvitePartner => (
            "mutation($id: ID!, $org: ID!) { r: sendInvitation(input: {opportunityId: $id, organizationId: $org}) {
                invitation { id } userErrors { code field message } } }"
                .to_owned(),
            json!({ "id": id, "org": w.adventure_works }),
        ),
    };
    w.gql(p.email, &q, vars).await
}

/// `"OK"`, the first user error's code, or the top-level error.
fn outcome(op: Op, v: &Value) -> String {
    if let Some(errors) = v.get("errors") {
        return format!("top-level error {errors}");
    }
    let r = &v["data"]["r"];
    match r["userErrors"].as_array() {
        Some(errs) if errs.is_empty() => {
            let produced = if op == Op::InvitePartner {
                &r["invitation"]["id"]
            } else {
                &r["opportunity"]["id"]
            };
            if produced.is_string() {
                "OK".to_owned()
            } else {
                format!("no user error but no result: {r}")
            }
        }
        Some(errs) => errs[0]["code"].as_str().unwrap_or("<no code>").to_owned(),
        None => format!("malformed payload {v}"),
    }
}

/// Reads every opportunity of `f` as every principal: `opportunity(id)` and `node(id)`
/// are `null` exactly when the oracle hides it, and `availableActions` offers exactly
/// the operations the oracle allows.
async fn check_reads(w: &World<'_>, f: &Fixture, mismatches: &mut Vec<String>) {
    let q = "query($id: ID!) {
      o: opportunity(id: $id) { id stage direction availableActions }
      n: node(id: $id) { id ... on Opportunity { stage } } }";
    for p in &PRINCIPALS {
        for c in &CASES {
            let id = &f.ids[c.label];
            let v = w.data(p.email, q, json!({ "id": id })).await;
            let cell = format!("read by {} of {} ({:?})", p.email, c.label, c.stage);
            let expected = visible(p, c);
            for (alias, what) in [("o", "opportunity(id)"), ("n", "node(id)")] {
                let got = &v[alias];
                if expected && got["id"] != *id {
                    mismatches.push(format!(
                        "{cell}: {what} expected the opportunity, got {got}"
                    ));
                } else if !expected && !got.is_null() {
                    mismatches.push(format!("{cell}: {what} expected null, got {got}"));
                } else if expected && got["stage"] != c.stage.name() {
                    mismatches.push(format!("{cell}: {what} stage {}", got["stage"]));
                }
            }
            if !expected {
                continue;
            }
            let offered: Vec<&str> = v["o"]["availableActions"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for op in OPS {
                let Some(action) = op.action() else { continue };
                let allowed = oracle(p, c, op) == "OK";
                if allowed != offered.contains(&action) {
                    mismatches.push(format!(
                        "{cell}: availableActions {offered:?} should {}offer {action}",
                        if allowed { "" } else { "not " }
                    ));
                }
            }
        }
    }
}

db_test!(
    every_principal_stage_and_operation_matches_the_oracle,
    |app| async move {
        let started = std::time::Instant::now();
        let w = World::new(&app).await;
        // One fresh fixture set per (operation, principal), so that no success of one
        // cell changes the opportunity of another. The expiring deals come first: the
        // clock then moves past their window once for all of them.
        let slots: Vec<(Op, Principal)> = OPS
            .iter()
            .flat_map(|op| PRINCIPALS.iter().map(move |p| (*op, *p)))
            .collect();
        let mut fixtures = Vec::new();
        for _ in 0..slots.len() {
            fixtures.push(start_expiring(&w).await);
        }
        app.advance_clock(chrono::Duration::days(15));
        let expired = app.expire_now().await;
        assert!(expired >= slots.len(), "expired {expired}");
        for f in &mut fixtures {
            finish(&w, f).await;
        }
        let built = started.elapsed();

        let mut mismatches = Vec::new();
        check_reads(&w, &fixtures[0], &mut mismatches).await;

        let mut cells = 0;
        let mut tally: HashMap<&str, usize> = HashMap::new();
        let mut before = app.snapshot().await;
        for ((op, p), f) in slots.iter().zip(&fixtures) {
            for c in &CASES {
                cells += 1;
                let expected = oracle(p, c, *op);
                let got = run_cell(&w, p, &f.ids[c.label], *op).await;
                let cell = format!(
                    "{op:?} by {} on {} ({:?} {:?} {:?})",
                    p.email, c.label, c.org, c.direction, c.stage
                );
                if got != expected {
                    mismatches.push(format!("{cell}: expected {expected}, server said {got}"));
                }
                *tally.entry(expected).or_insert(0usize) += 1;
                let after = app.snapshot().await;
                if got != "OK" && after != before {
                    let diff: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
                    mismatches.push(format!("{cell}: refused ({got}) but wrote {diff:?}"));
                }
                if got == "OK" && after == before {
                    mismatches.push(format!("{cell}: succeeded but wrote nothing"));
                }
                before = after;
            }
        }
        println!(
            "authorization matrix: {} fixture sets built in {built:?}, {cells} mutation cells, \
             {} read cells, {} mismatches, {:?} in all",
            fixtures.len(),
            PRINCIPALS.len() * CASES.len(),
            mismatches.len(),
            started.elapsed()
        );
        println!("expected outcomes: {tally:?}");
        // The matrix exercises every kind of answer, not just refusals.
        for outcome in ["OK", "NOT_FOUND", "INVALID_TRANSITION", "FORBIDDEN"] {
            assert!(tally.get(outcome).copied().unwrap_or(0) > 0, "{tally:?}");
        }
        assert!(
            mismatches.is_empty(),
            "{} cells differ from the oracle:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
    }
);

/// The oracle itself, checked against a few rows written out by hand from the spec, so a
/// slip in it cannot hide a server bug.
#[test]
fn the_oracle_agrees_with_hand_written_rows() {
    let by_label = |l: &str| *CASES.iter().find(|c| c.label == l).expect("case");
    let by_email = |e: &str| *PRINCIPALS.iter().find(|p| p.email == e).expect("principal");
    let rows = [
        (UWE, "private", Op::MarkWon, "OK"), // team match ignores case
        (LISA, "private", Op::SetFavorite, "NOT_FOUND"),
        (MARIA, "private", Op::Update, "NOT_FOUND"),
        (MARIA, "cosell-microsoft", Op::Accept, "OK"),
        (FIONA, "cosell-fabrikam", Op::Accept, "NOT_FOUND"), // no team before accepting
        (FRANK, "cosell-fabrikam", Op::Update, "INVALID_TRANSITION"),
        (FRANK, "ptwop-fabrikam", Op::InvitePartner, "FORBIDDEN"),
        (ANNA, "cosell", Op::InvitePartner, "OK"),
        (ANNA, "won", Op::SetFavorite, "OK"),
        (UWE, "lost", Op::MarkWon, "INVALID_TRANSITION"),
        (FIONA, "won-fabrikam", Op::Decline, "INVALID_TRANSITION"),
        (FRANK, "expiring-fabrikam", Op::Accept, "INVALID_TRANSITION"),
        (NADIA, "ptwop", Op::SetFavorite, "NOT_FOUND"),
        (ANNA, "ptwop-fabrikam", Op::SetFavorite, "NOT_FOUND"),
    ];
    for (email, label, op, expected) in rows {
        assert_eq!(
            oracle(&by_email(email), &by_label(label), op),
            expected,
            "{op:?} by {email} on {label}"
        );
    }
}

/// The same global id with another UUID: well formed, but nothing has it.
fn missing_like(id: &Value) -> Value {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = URL_SAFE_NO_PAD
        .decode(id.as_str().expect("an id"))
        .expect("a base64 global id");
    let text = String::from_utf8(raw).expect("utf-8");
    let (kind, _) = text.split_once(':').expect("Kind:uuid");
    json!(URL_SAFE_NO_PAD.encode(format!("{kind}:{}", Uuid::new_v4())))
}

db_test!(
    an_invisible_opportunity_answers_exactly_like_a_missing_one,
    |app| async move {
        let w = World::new(&app).await;
        let mut f = start_expiring(&w).await;
        app.advance_clock(chrono::Duration::days(15));
        app.expire_now().await;
        finish(&w, &mut f).await;
        let customer_id = w.customer.clone();
        let nadia = PRINCIPALS[6];
        let lisa = PRINCIPALS[2];
        let mut differences = Vec::new();
        let before = app.snapshot().await;
        for (who, label) in [
            (nadia, "private"),
            (lisa, "cosell"),
            (nadia, "ptwop-fabrikam"),
        ] {
            let hidden = &f.ids[label];
            let missing = missing_like(hidden);
            for op in OPS {
                // The id is masked: a message may name the id it was given.
                let answer = |v: Value, id: &Value| {
                    v.to_string().replace(id.as_str().unwrap_or("-"), "<id>")
                };
                let a = answer(send(&w, &who, hidden, op).await, hidden);
                let b = answer(send(&w, &who, &missing, op).await, &missing);
                let c = answer(send(&w, &who, &customer_id, op).await, &customer_id);
                if !a.contains("NOT_FOUND") {
                    differences.push(format!("{op:?} by {} on {label}: {a}", who.email));
                }
                if a != b || a != c {
                    differences.push(format!(
                        "{op:?} by {} on {label}: hidden {a}\n  missing {b}\n  customer id {c}",
                        who.email
                    ));
                }
            }
            let q = "query($id: ID!) { opportunity(id: $id) { id } node(id: $id) { id } }";
            for id in [hidden, &missing] {
                let v = w.gql(who.email, q, json!({ "id": id })).await;
                if v != json!({ "data": { "opportunity": null, "node": null } }) {
                    differences.push(format!("read by {} of {label}: {v}", who.email));
                }
            }
        }
        assert_eq!(app.snapshot().await, before, "a refusal wrote something");
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }
);
