//! The HTTP surface: GraphiQL offline, health and readiness, GET and POST rules, and
//! error codes for what fails before any resolver runs.
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};
use crate::{configured_test, db_test};

db_test!(graphiql_is_served_with_no_external_url, |app| async move {
    let resp = app
        .http
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("page");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    let page = resp.text().await.expect("text");
    assert!(page.contains("GraphiQL"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "external URL in the page"
    );
    // Every asset the page loads is served by the server itself, with its type.
    let assets: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.starts_with("/graphql/assets/"))
        .collect();
    assert!(assets.len() >= 5, "{assets:?}");
    for path in assets {
        let r = app.http.get(app.url(path)).send().await.expect("asset");
        assert_eq!(r.status(), 200, "{path}");
        let ty = r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            ty.starts_with("text/css") || ty.starts_with("text/javascript"),
            "{path}: {ty}"
        );
        assert!(r.bytes().await.expect("body").len() > 1000, "{path}");
    }
    let missing = app
        .http
        .get(app.url("/graphql/assets/nope.js"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
});

db_test!(health_and_readiness_answer, |app| async move {
    for path in ["/healthz", "/readyz"] {
        let r = app.http.get(app.url(path)).send().await.expect("probe");
        assert_eq!(r.status(), 200, "{path}");
    }
});

db_test!(get_runs_queries_but_never_mutations, |app| async move {
    let token = app.token("anna@contoso.example").await;
    let r = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", "{ viewer { user { email } } }")])
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["data"]["viewer"]["user"]["email"], "anna@contoso.example");

    let before = app.count("customers").await;
    let r = app
        .http
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            "mutation { createCustomer(input: {name: \"Via GET\", addressLine1: \"1\", city: \"Paris\", country: \"FR\"}) { customer { id } } }",
        )])
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    assert_eq!(app.count("customers").await, before);
});

db_test!(form_posts_are_refused, |app| async move {
    let before = app.count("customers").await;
    let token = app.token("anna@contoso.example").await;
    for ty in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", ty)
            .bearer_auth(&token)
            .body(r#"{"query":"mutation { createCustomer(input: {name: \"CSRF\", addressLine1: \"1\", city: \"Paris\", country: \"FR\"}) { customer { id } } }"}"#)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 415, "{ty}");
    }
    assert_eq!(app.count("customers").await, before);
});

db_test!(every_error_carries_a_code, |app| async move {
    let token = app.token("anna@contoso.example").await;
    // Twenty levels of organization -> tenants: deeper than the depth limit.
    let too_deep = format!(
        "{{ viewer {{ user {}name{} }} }}",
        "organization { tenants { ".repeat(10),
        " } }".repeat(10)
    );
    let cases: [(&str, &str); 5] = [
        ("{ viewer { ", "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ customers(first: \"ten\") { totalCount } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (&too_deep, "QUERY_TOO_COMPLEX"),
        ("{ viewer { user { id } } }", ""),
    ];
    for (q, code) in cases {
        let v = app.gql(Some(&token), q, json!({})).await;
        if code.is_empty() {
            assert!(v.get("errors").is_none(), "{v}");
        } else {
            assert_eq!(error_code(&v), code, "{q}: {v}");
        }
    }
    // A variable of the wrong type is a validation failure, coded too.
    let v = app
        .gql(
            Some(&token),
            "query($n: Int) { customers(first: $n) { totalCount } }",
            json!({ "n": "x" }),
        )
        .await;
    assert_eq!(error_code(&v), "GRAPHQL_VALIDATION_FAILED", "{v}");
});

db_test!(
    the_standard_introspection_query_passes_the_limits,
    |app| async move {
        let v = app.gql(None, INTROSPECTION, json!({})).await;
        assert!(v.get("errors").is_none(), "{v}");
        assert!(
            v["data"]["__schema"]["types"]
                .as_array()
                .is_some_and(|t| t.len() > 20)
        );
    }
);

db_test!(
    oversized_bodies_are_refused_before_parsing,
    |app| async move {
        let huge = "x".repeat(app.config.max_body_bytes + 1);
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"query":"{{ __typename }}","variables":{{"pad":"{huge}"}}}}"#
            ))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 413);
    }
);

/// The introspection query GraphiQL sends.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

db_test!(
    graphql_response_json_gets_400_for_requests_that_never_ran,
    |app| async move {
        for (query, expected) in [
            ("{ viewer { ", 400),
            ("{ nope }", 400),
            ("{ __typename }", 200),
        ] {
            let r = app
                .http
                .post(app.url("/graphql"))
                .header("accept", "application/graphql-response+json")
                .json(&json!({ "query": query }))
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), expected, "{query}");
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap_or("")
                    .starts_with("application/graphql-response+json")
            );
            // The legacy media type keeps 200 and says so.
            let r = app
                .http
                .post(app.url("/graphql"))
                .header("accept", "application/json")
                .json(&json!({ "query": query }))
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), 200);
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap_or("")
                    .starts_with("application/json")
            );
        }
    }
);

db_test!(
    alias_floods_and_wide_roots_are_refused_before_work,
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        let flood: String = (0..200)
            .map(|i| format!("a{i}: viewer {{ user {{ id }} }} "))
            .collect();
        let v = app
            .gql(Some(&token), &format!("{{ {flood} }}"), json!({}))
            .await;
        assert_eq!(error_code(&v), "QUERY_TOO_COMPLEX", "{v}");
        let nested: String = (0..40).map(|i| format!("n{i}: name ")).collect();
        let v = app
            .gql(
                Some(&token),
                &format!("{{ viewer {{ user {{ {nested} }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(error_code(&v), "QUERY_TOO_COMPLEX", "{v}");
        let wide: String = (0..25).map(|_| "__typename ".to_owned()).collect();
        let v = app
            .gql(Some(&token), &format!("{{ {wide} }}"), json!({}))
            .await;
        assert_eq!(error_code(&v), "QUERY_TOO_COMPLEX", "{v}");
        // Refused whole: no field ran.
        assert!(v["data"].is_null(), "{v}");
    }
);

db_test!(batched_requests_are_refused, |app| async move {
    let before = app.count("customers").await;
    let r = app
        .http
        .post(app.url("/graphql"))
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(error_code(&v), "GRAPHQL_PARSE_FAILED", "{v}");
    assert_eq!(app.count("customers").await, before);
});

/// A mutation that creates one customer named `name`.
fn create_customer(name: &str) -> Value {
    json!({ "query": format!("mutation {{ createCustomer(input: {{name: \"{name}\", addressLine1: \"1 St\", city: \"Berlin\", country: \"DE\"}}) {{ customer {{ name }} userErrors {{ code }} }} }}") })
}

/// POSTs `batch` with `token`; the status and the JSON answer.
async fn post_batch(app: &TestApp, token: Option<&str>, batch: &Value) -> (u16, Value) {
    let mut req = app.http.post(app.url("/graphql")).json(batch);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

fn batches_of_three(c: &mut cosell::config::Config) {
    c.max_batch = 3;
}

configured_test!(
    a_batch_answers_each_operation_in_order,
    batches_of_three,
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        let before = app.count("customers").await;
        let count = json!({ "query": "{ customers { totalCount } }" });
        let batch = json!([count.clone(), create_customer("Batch Customer GmbH"), count,]);
        let (status, v) = post_batch(&app, Some(&token), &batch).await;
        assert_eq!(status, 200, "{v}");
        let answers = v.as_array().expect("an array of responses");
        assert_eq!(answers.len(), 3, "{v}");
        assert!(answers.iter().all(|a| a.get("errors").is_none()), "{v}");
        // In order: the second query sees the customer the mutation before it created.
        assert_eq!(answers[0]["data"]["customers"]["totalCount"], before);
        assert_eq!(
            answers[1]["data"]["createCustomer"]["customer"]["name"],
            "Batch Customer GmbH"
        );
        assert_eq!(answers[2]["data"]["customers"]["totalCount"], before + 1);
        assert_eq!(app.count("customers").await, before + 1);
    }
);

configured_test!(
    a_batch_over_the_bound_is_refused_and_nothing_runs,
    batches_of_three,
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        let before = app.snapshot().await;
        let batch: Vec<Value> = (0..4)
            .map(|i| create_customer(&format!("Too Many {i}")))
            .collect();
        let (status, v) = post_batch(&app, Some(&token), &json!(batch)).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(error_code(&v), "QUERY_TOO_COMPLEX", "{v}");
        assert!(v["data"].is_null(), "{v}");
        // An empty array is read as one request with an empty document.
        let (_, v) = post_batch(&app, Some(&token), &json!([])).await;
        assert_eq!(error_code(&v), "GRAPHQL_PARSE_FAILED", "{v}");
        assert_eq!(app.snapshot().await, before);
    }
);

configured_test!(
    each_operation_of_a_batch_meets_the_limits_on_its_own,
    batches_of_three,
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        let flood: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
        let batch = json!([
            { "query": "{ viewer { user { email } } }" },
            { "query": format!("{{ {flood} }}") },
            { "query": "{ viewer { user { email } }" },
        ]);
        let (status, v) = post_batch(&app, Some(&token), &batch).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v[0]["data"]["viewer"]["user"]["email"],
            "anna@contoso.example"
        );
        assert_eq!(error_code(&v[1]), "QUERY_TOO_COMPLEX", "{v}");
        assert!(v[1].get("data").is_none(), "refused before it ran: {v}");
        assert_eq!(error_code(&v[2]), "GRAPHQL_PARSE_FAILED", "{v}");
        // Depth and complexity too, operation by operation.
        let nested = "organization { tenants { ".repeat(12) + "id" + &" } }".repeat(12);
        let batch = json!([
            { "query": format!("{{ viewer {{ user {{ {nested} }} }} }}") },
            { "query": "{ __typename }" },
        ]);
        let (_, v) = post_batch(&app, Some(&token), &batch).await;
        assert_eq!(error_code(&v[0]), "QUERY_TOO_COMPLEX", "{v}");
        assert_eq!(v[1]["data"]["__typename"], "Query", "{v}");
    }
);

configured_test!(
    each_operation_of_a_batch_signs_in_on_its_own,
    batches_of_three,
    |app| async move {
        let before = app.snapshot().await;
        let batch = json!([
            { "query": "{ __typename }" },
            { "query": "{ customers { totalCount } }" },
            create_customer("Anonymous Ltd"),
        ]);
        let (status, v) = post_batch(&app, None, &batch).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v[0]["data"]["__typename"], "Query", "{v}");
        assert_eq!(error_code(&v[1]), "UNAUTHENTICATED", "{v}");
        assert_eq!(error_code(&v[2]), "UNAUTHENTICATED", "{v}");
        let forged = format!("{}x", app.token("anna@contoso.example").await);
        let (_, v) = post_batch(&app, Some(&forged), &batch).await;
        assert_eq!(error_code(&v[1]), "UNAUTHENTICATED", "{v}");
        assert_eq!(app.snapshot().await, before);
    }
);

configured_test!(
    a_batch_counts_each_operation_against_the_rate_limit,
    |c: &mut cosell::config::Config| {
        c.max_batch = 3;
        c.rate_limit_per_minute = 1;
        c.rate_limit_burst = 4;
    },
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        let batch = json!([
            { "query": "{ __typename }" },
            { "query": "{ __typename }" },
            { "query": "{ __typename }" },
        ]);
        let (status, v) = post_batch(&app, Some(&token), &batch).await;
        assert_eq!(status, 200, "{v}");
        // One request is left in the bucket: the next batch of three runs none of it.
        let before = app.snapshot().await;
        let mutations: Vec<Value> = (0..3)
            .map(|i| create_customer(&format!("Over The Limit {i}")))
            .collect();
        let (status, v) = post_batch(&app, Some(&token), &json!(mutations)).await;
        assert_eq!(status, 429, "{v}");
        assert_eq!(error_code(&v), "RATE_LIMITED", "{v}");
        assert_eq!(app.snapshot().await, before);
        let v = app.gql(Some(&token), "{ __typename }", json!({})).await;
        assert_eq!(
            v["data"]["__typename"], "Query",
            "the last request passes: {v}"
        );
    }
);

async fn production(backend: crate::helpers::Backend) {
    crate::helpers::run_with(
        backend,
        |c| {
            c.production = true;
            c.cors_origins = vec!["https://app.example".into()];
        },
        |app| async move {
            let v = app
                .gql(None, "{ __schema { queryType { name } } }", json!({}))
                .await;
            assert!(v["data"]["__schema"].is_null(), "introspection is off: {v}");
            let token = app.token("anna@contoso.example").await;
            let v = app
                .gql(Some(&token), "{ viewr { user { id } } }", json!({}))
                .await;
            let msg = v["errors"][0]["message"].as_str().unwrap_or("").to_owned();
            assert!(!msg.contains("Did you mean"), "no suggestions: {msg}");
            // CORS for the configured origin only.
            let pre = app
                .http
                .request(reqwest::Method::OPTIONS, app.url("/graphql"))
                .header("origin", "https://app.example")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type",
                )
                .send()
                .await
                .expect("preflight");
            assert_eq!(
                pre.headers()["access-control-allow-origin"],
                "https://app.example"
            );
            let other = app
                .http
                .request(reqwest::Method::OPTIONS, app.url("/graphql"))
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "POST")
                .send()
                .await
                .expect("preflight");
            assert!(other.headers().get("access-control-allow-origin").is_none());
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_hides_the_schema_and_cors_follows_the_config_sqlite() {
    production(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_hides_the_schema_and_cors_follows_the_config_postgres() {
    production(crate::helpers::Backend::Postgres).await;
}

db_test!(metrics_are_exposed_for_prometheus, |app| async move {
    app.gql(None, "{ viewer { user { id } } }", json!({})).await;
    let r = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    let body = r.text().await.expect("text");
    assert!(body.contains("cosell_http_requests_total"), "{body}");
    assert!(body.contains("cosell_http_request_duration_seconds"));
    assert!(
        body.contains("cosell_graphql_errors_total{code=\"UNAUTHENTICATED\"}"),
        "{body}"
    );
});

async fn rate_limited(backend: crate::helpers::Backend) {
    crate::helpers::run_with(
        backend,
        |c| {
            c.rate_limit_per_minute = 60;
            c.rate_limit_burst = 5;
        },
        |app| async move {
            let token = app.token("anna@contoso.example").await;
            let mut codes = Vec::new();
            for _ in 0..8 {
                let r = app
                    .http
                    .post(app.url("/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({ "query": "{ viewer { user { id } } }" }))
                    .send()
                    .await
                    .expect("post");
                let status = r.status().as_u16();
                let v: Value = r.json().await.expect("json");
                codes.push((status, error_code(&v).to_owned()));
            }
            assert!(codes[..5].iter().all(|(s, _)| *s == 200), "{codes:?}");
            assert!(
                codes[5..]
                    .iter()
                    .all(|(s, c)| *s == 429 && c == "RATE_LIMITED"),
                "{codes:?}"
            );
            // Another token is not held back by this one.
            let other = app.token("frank@fabrikam.example").await;
            let v = app
                .gql(Some(&other), "{ viewer { user { id } } }", json!({}))
                .await;
            assert!(v.get("errors").is_none());
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_is_rate_limited_sqlite() {
    rate_limited(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_is_rate_limited_postgres() {
    rate_limited(crate::helpers::Backend::Postgres).await;
}

async fn queued_beyond_the_concurrency_limit(backend: crate::helpers::Backend) {
    crate::helpers::run_with(backend, |c| {
        c.max_concurrent_requests = 1;
    }, |app| async move {
        let token = app.token("anna@contoso.example").await;
        let query = "{ opportunities(view: INBOUND, first: 20) { totalCount edges { node { id dealName team { name } } } } }";
        let expected = app.gql(Some(&token), query, json!({})).await;
        assert!(expected.get("errors").is_none(), "{expected}");
        // Twelve at once through one execution slot: each waits its turn and gets the
        // same full answer; none is refused or cut short.
        let answers = futures_util::future::join_all((0..12).map(|_| async {
            let r = app
                .http
                .post(app.url("/graphql"))
                .bearer_auth(&token)
                .json(&json!({ "query": query }))
                .send()
                .await
                .expect("post");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        }))
        .await;
        for (status, body) in answers {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body, expected);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_concurrency_limit_wait_their_turn_sqlite() {
    queued_beyond_the_concurrency_limit(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_concurrency_limit_wait_their_turn_postgres() {
    queued_beyond_the_concurrency_limit(crate::helpers::Backend::Postgres).await;
}

db_test!(
    a_query_sent_again_is_checked_and_answered_afresh,
    |app| async move {
        let token = app.token("anna@contoso.example").await;
        // The same text with other variables: the kept document runs with the new ones.
        let q =
            "query($n: Int) { opportunities(view: INBOUND, first: $n) { edges { node { id } } } }";
        for n in [1, 2, 1] {
            let v = app.gql(Some(&token), q, json!({ "n": n })).await;
            assert!(v.get("errors").is_none(), "{v}");
            let edges = v["data"]["opportunities"]["edges"]
                .as_array()
                .expect("edges");
            assert_eq!(edges.len(), n as usize, "{v}");
        }
        // A document that parses but does not validate is refused every time.
        for _ in 0..2 {
            let v = app.gql(Some(&token), "{ noSuchField }", json!({})).await;
            assert_eq!(error_code(&v), "GRAPHQL_VALIDATION_FAILED", "{v}");
        }
        // Variables of the wrong type are refused every time too.
        for _ in 0..2 {
            let v = app.gql(Some(&token), q, json!({ "n": "many" })).await;
            assert!(v.get("errors").is_some(), "{v}");
            assert!(v["data"].is_null(), "{v}");
        }
        // An alias flood is refused every time: it is never kept.
        let flood: String = (0..200)
            .map(|i| format!("a{i}: viewer {{ user {{ id }} }} "))
            .collect();
        for _ in 0..2 {
            let v = app
                .gql(Some(&token), &format!("{{ {flood} }}"), json!({}))
                .await;
            assert_eq!(error_code(&v), "QUERY_TOO_COMPLEX", "{v}");
        }
    }
);
