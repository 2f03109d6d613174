//! Hostile input (SPEC §9, §11): ten thousand malformed or abusive requests, generated
//! from a fixed seed. None may crash the server or get a 5xx; every error carries a
//! code; the database is unchanged afterwards.
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

/// Codes a top-level error may carry (SPEC §9), plus the typed user-error codes a query
/// argument may be refused with.
const CODES: [&str; 10] = [
    "UNAUTHENTICATED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "QUERY_TOO_COMPLEX",
    "RATE_LIMITED",
    "INTERNAL_SERVER_ERROR",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "INVALID_TRANSITION",
];

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn junk(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_u32((self.below(0x2FF) + 1) as u32).unwrap_or('?'))
            .collect()
    }
}

/// One hostile request: method, path + query string, content type, body, token.
struct Shot {
    get: bool,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    token: Option<String>,
}

fn post(body: Value, token: Option<String>) -> Shot {
    Shot {
        get: false,
        path: "/graphql".into(),
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        token,
    }
}

fn generate(rng: &mut Rng, good: &str) -> Shot {
    let tok = |rng: &mut Rng| -> Option<String> {
        match rng.below(6) {
            0 => None,
            1 => Some("garbage".into()),
            2 => Some(format!("{good}x")),
            3 => Some(String::new()),
            _ => Some(good.to_owned()),
        }
    };
    let token = tok(rng);
    match rng.below(16) {
        // Broken JSON.
        0 => {
            let full = json!({ "query": "{ viewer { user { id } } }" }).to_string();
            let cut = rng.below(full.len() as u64) as usize;
            Shot {
                body: full.as_bytes()[..cut].to_vec(),
                ..post(Value::Null, token)
            }
        }
        // Valid JSON of the wrong shape.
        1 => post(
            [json!(42), json!("query"), json!(null), json!({ "query": 7 }), json!({ "query": ["x"] }), json!({ "variables": {} })]
                [rng.below(6) as usize]
                .clone(),
            token,
        ),
        // Wrong variable types.
        2 => post(
            json!({ "query": "query($n: Int, $s: String) { customers(first: $n, search: $s) { totalCount } }",
                    "variables": { "n": rng.pick(&["x", "1e99", "-5", "[]", "{}"]), "s": 5 } }),
            token,
        ),
        // Huge strings in inputs (under the body limit).
        3 => post(
            json!({ "query": "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } userErrors { code } } }",
                    "variables": { "i": { "name": "N".repeat(1000 + rng.below(50_000) as usize), "addressLine1": "1", "city": "x", "country": "ZZ" } } }),
            token,
        ),
        // Huge lists.
        4 => {
            let n = 100 + rng.below(5000) as usize;
            post(
                json!({ "query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": { "ids": vec!["abc"; n] } }),
                token,
            )
        }
        // Deep nesting.
        5 => {
            let d = 10 + rng.below(400) as usize;
            post(
                json!({ "query": format!("{{ viewer {{ user {}id{} }} }}", "organization { tenants { ".repeat(d), " } }".repeat(d)) }),
                token,
            )
        }
        // Alias floods.
        6 => {
            let n = 31 + rng.below(2000) as usize;
            let q: String = (0..n).map(|i| format!("a{i}: __typename ")).collect();
            post(json!({ "query": format!("{{ {q} }}") }), token)
        }
        // Batches.
        7 => {
            let n = 2 + rng.below(1000) as usize;
            post(json!(vec![json!({ "query": "{ __typename }" }); n]), token)
        }
        // Unknown fields, types and arguments.
        8 => post(
            json!({ "query": rng.pick(&["{ nope }", "{ viewer { nope } }", "{ customers(nope: 1) { totalCount } }", "query($x: Nope) { __typename }", "fragment f on Nope { id } { ...f }"]) }),
            token,
        ),
        // Bad ids everywhere.
        9 => {
            let id = match rng.below(4) {
                0 => rng.junk(20),
                1 => "T3Bwb3J0dW5pdHk6bm90LWEtdXVpZA".to_owned(),
                2 => "x".repeat(5000),
                _ => "Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw".to_owned(),
            };
            let q = rng.pick(&[
                "query($id: ID!) { node(id: $id) { id } }",
                "query($id: ID!) { opportunity(id: $id) { id } }",
                "mutation($id: ID!) { setFavorite(input: {opportunityId: $id, favorite: true}) { userErrors { code } } }",
                "mutation($id: ID!) { markWon(input: {opportunityId: $id}) { userErrors { code } } }",
                "mutation($id: ID!) { acceptInvitation(input: {opportunityId: $id}) { userErrors { code } } }",
                "mutation($id: ID!) { sendInvitation(input: {opportunityId: $id, organizationId: $id}) { userErrors { code } } }",
            ]);
            post(json!({ "query": q, "variables": { "id": id } }), token)
        }
        // Mutations over GET.
        10 => Shot {
            get: true,
            path: format!(
                "/graphql?query={}",
                url::form_urlencoded::byte_serialize(
                    b"mutation { createCustomer(input: {name: \"GET\", addressLine1: \"1\", city: \"x\", country: \"DE\"}) { customer { id } } }"
                )
                .collect::<String>()
            ),
            content_type: None,
            body: Vec::new(),
            token,
        },
        // Form posts and foreign content types.
        11 => Shot {
            content_type: Some(["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/xml"][rng.below(4) as usize]),
            ..post(json!({ "query": "mutation { createCustomer(input: {name: \"F\", addressLine1: \"1\", city: \"x\", country: \"DE\"}) { customer { id } } }" }), token)
        },
        // Garbage in every input of the deal wizard.
        12 => {
            let len = rng.below(400) as usize;
            post(
            json!({ "query": "mutation($i: CreateDealInput!) { createDeal(input: $i) { opportunity { id } userErrors { code field } } }",
                    "variables": { "i": {
                        "customerId": rng.junk(8), "dealName": rng.junk(len),
                        "value": rng.pick(&["-1", "1e9", "NaN", "10.12345", "", "abc"]), "currency": rng.pick(&["XXX", "", "EURO", "eur1"]),
                        "closeDate": rng.pick(&["2020-01-01", "1999-12-31"]),
                        "team": [], "solutionIds": [rng.junk(5)], "helpWanted": "NONE" } } }),
            token,
        )
        }
        // Random bytes.
        13 => {
            let n = rng.below(2000) as usize;
            Shot {
                body: (0..n).map(|_| rng.below(256) as u8).collect(),
                ..post(Value::Null, token)
            }
        }
        // Over the body limit.
        14 => Shot {
            body: format!("{{\"query\":\"{{ __typename }}\",\"variables\":{{\"pad\":\"{}\"}}}}", "p".repeat(1_100_000)).into_bytes(),
            ..post(Value::Null, token)
        },
        // Junk queries.
        _ => {
            let len = rng.below(300) as usize;
            post(json!({ "query": rng.junk(len) }), token)
        }
    }
}

async fn fire(app: &TestApp, http: &reqwest::Client, shot: Shot) -> Result<(), String> {
    let url = app.url(&shot.path);
    let shot_len = shot.body.len();
    let mut req = if shot.get {
        http.get(url)
    } else {
        http.post(url).body(shot.body)
    };
    if let Some(ct) = shot.content_type {
        req = req.header("content-type", ct);
    }
    if let Some(t) = shot.token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let oversized = shot_len > 1_048_576;
    let resp = match req.send().await {
        Ok(r) => r,
        // The server answers 413 and closes before the client finished sending.
        Err(_) if oversized => return Ok(()),
        Err(e) => return Err(format!("transport: {e:?}")),
    };
    let status = resp.status();
    if status.is_server_error() {
        return Err(format!("status {status}"));
    }
    let text = resp.text().await.map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|_| format!("{status}: not JSON: {}", &text[..text.len().min(200)]))?;
    if let Some(errors) = v.get("errors").and_then(Value::as_array) {
        for e in errors {
            let code = e["extensions"]["code"].as_str().unwrap_or("");
            if !CODES.contains(&code) {
                return Err(format!("{status}: error without a known code: {e}"));
            }
            if code == "INTERNAL_SERVER_ERROR" {
                return Err(format!("{status}: internal error: {e}"));
            }
        }
    }
    Ok(())
}

db_test!(
    ten_thousand_hostile_requests_crash_nothing_and_change_nothing,
    |app| async move {
        let good = app.token("anna@contoso.example").await;
        let before = app.snapshot().await;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let shots: Vec<Shot> = (0..10_000).map(|_| generate(&mut rng, &good)).collect();
        let app = Arc::new(app);
        // A connection per request: a refused body can leave the server closing a
        // kept-alive connection, which a pooled client would reuse and see as a broken pipe.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let failures: Vec<String> = futures_util::stream::iter(shots)
            .map(|s| {
                let (app, http) = (app.clone(), http.clone());
                async move { fire(&app, &http, s).await.err() }
            })
            .buffer_unordered(16)
            .filter_map(|r| async move { r })
            .collect()
            .await;
        assert!(
            failures.is_empty(),
            "{} bad answers, e.g. {:?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
        // Still up, still right, and nothing was written.
        let v = app
            .gql_as(
                "anna@contoso.example",
                "{ viewer { user { email } } }",
                json!({}),
            )
            .await;
        assert_eq!(v["viewer"]["user"]["email"], "anna@contoso.example");
        assert_eq!(
            app.snapshot().await,
            before,
            "hostile requests changed the database"
        );
    }
);
