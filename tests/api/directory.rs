//! The read model: viewer, node, organization, partners, solutions, customers.
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, error_code};

const ANNA: &str = "anna@contoso.example";

fn names(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn customers(app: &TestApp, args: Value) -> Value {
    app.gql_as(
        ANNA,
        "query($s: String, $country: String, $city: String, $first: Int, $after: String) {
           customers(search: $s, country: $country, city: $city, first: $first, after: $after) {
             totalCount pageInfo { hasNextPage endCursor }
             edges { cursor node { id name city country duns } } } }",
        args,
    )
    .await["customers"]
        .clone()
}

db_test!(viewer_shows_user_roles_and_organization, |app| async move {
    let v = app
        .gql_as(
            ANNA,
            "{ viewer { roles user { id name email roles notificationsEnabled organization { name } }
                        organization { id name kind partnerId coSellReady } tenant { name } } }",
            json!({}),
        )
        .await;
    let viewer = &v["viewer"];
    assert_eq!(viewer["user"]["email"], ANNA);
    assert_eq!(viewer["user"]["name"], "Anna Admin");
    assert_eq!(viewer["roles"], json!(["REFERRAL_ADMIN", "ACCOUNT_ADMIN"]));
    assert_eq!(viewer["organization"]["kind"], "PARTNER");
    assert_eq!(viewer["organization"]["partnerId"], "4711001");
    assert_eq!(viewer["user"]["organization"]["name"], "Contoso Consulting");
    let ms = app
        .gql_as(
            "maria@microsoft.example",
            "{ viewer { organization { kind } } }",
            json!({}),
        )
        .await;
    assert_eq!(ms["viewer"]["organization"]["kind"], "MICROSOFT");
});

db_test!(
    node_resolves_global_ids_and_hides_what_the_viewer_may_not_see,
    |app| async move {
        let me = app
            .gql_as(
                ANNA,
                "{ viewer { user { id } organization { id } tenant { id } } }",
                json!({}),
            )
            .await;
        let q = "query($id: ID!) { node(id: $id) { __typename id ... on User { email } ... on Organization { name } } }";
        for (id, ty) in [
            (&me["viewer"]["user"]["id"], "User"),
            (&me["viewer"]["organization"]["id"], "Organization"),
            (&me["viewer"]["tenant"]["id"], "Tenant"),
        ] {
            let v = app.gql_as(ANNA, q, json!({ "id": id })).await;
            assert_eq!(v["node"]["__typename"], ty);
            assert_eq!(&v["node"]["id"], id);
        }
        // Another organization's user and tenant are invisible: exactly like a missing id.
        let frank = app
            .gql_as(
                "frank@fabrikam.example",
                "{ viewer { user { id } tenant { id } } }",
                json!({}),
            )
            .await;
        for id in [
            &frank["viewer"]["user"]["id"],
            &frank["viewer"]["tenant"]["id"],
        ] {
            let v = app.gql_as(ANNA, q, json!({ "id": id })).await;
            assert!(v["node"].is_null(), "{v}");
        }
        for garbage in [
            "",
            "bm9wZQ",
            "VXNlcjpub3QtYS11dWlk",
            "Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw",
        ] {
            let v = app.gql_as(ANNA, q, json!({ "id": garbage })).await;
            assert!(v["node"].is_null(), "{garbage}: {v}");
        }
        // Customers found by search resolve through node(id:) too.
        let c = customers(&app, json!({ "s": "woodgrove" })).await;
        let id = &c["edges"][0]["node"]["id"];
        let v = app
            .gql_as(
                ANNA,
                "query($id: ID!) { node(id: $id) { ... on Customer { name } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(v["node"]["name"], "Woodgrove Bank");
    }
);

db_test!(
    organization_reads_a_public_profile_and_own_tenants_only,
    |app| async move {
        let fab = app
            .gql_as(
                "frank@fabrikam.example",
                "{ viewer { organization { id } } }",
                json!({}),
            )
            .await;
        let id = &fab["viewer"]["organization"]["id"];
        let q = "query($id: ID!) { organization(id: $id) { name kind coSellReady tenants { name } solutions { name coSellReady } } }";
        let seen_by_anna = app.gql_as(ANNA, q, json!({ "id": id })).await;
        assert_eq!(seen_by_anna["organization"]["name"], "Fabrikam Solutions");
        assert_eq!(seen_by_anna["organization"]["tenants"], json!([]));
        let own = app
            .gql_as("frank@fabrikam.example", q, json!({ "id": id }))
            .await;
        assert_eq!(
            own["organization"]["tenants"],
            json!([{ "name": "Fabrikam" }])
        );
        let missing = app
        .gql_as(ANNA, q, json!({ "id": "T3JnYW5pemF0aW9uOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA" }))
        .await;
        assert!(missing["organization"].is_null());
    }
);

db_test!(
    partners_lists_co_sell_ready_partners_but_never_the_callers_own,
    |app| async move {
        let v = app
            .gql_as(
                ANNA,
                "{ partners(first: 50) { totalCount edges { node { name kind coSellReady } } } }",
                json!({}),
            )
            .await;
        let mut got = names(&v["partners"]);
        got.sort();
        assert_eq!(
            got,
            vec![
                "Adventure Works Cloud",
                "Fabrikam Solutions",
                "Northwind Traders"
            ]
        );
        assert_eq!(v["partners"]["totalCount"], 3);
        assert!(
            !got.iter().any(|n| n.contains("Tailspin")),
            "not co-sell ready"
        );
        assert!(
            !got.iter().any(|n| n.contains("Contoso")),
            "own organization"
        );
        assert!(
            !got.iter().any(|n| n == "Microsoft"),
            "Microsoft is not a partner"
        );
        // Microsoft sees every co-sell-ready partner.
        let ms = app
            .gql_as(
                "maria@microsoft.example",
                "{ partners { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(ms["partners"]["totalCount"], 4);
    }
);

db_test!(partners_search_by_name_prefix_or_words, |app| async move {
    let q = "query($s: String) { partners(search: $s) { totalCount edges { node { name } } } }";
    for (search, expected) in [
        ("fabri", vec!["Fabrikam Solutions"]),
        ("SOLUTIONS", vec!["Fabrikam Solutions"]),
        ("works adv", vec!["Adventure Works Cloud"]),
        ("nörthwind", vec!["Northwind Traders"]),
        ("contoso", vec![]),
        ("zzz", vec![]),
    ] {
        let v = app.gql_as(ANNA, q, json!({ "s": search })).await;
        assert_eq!(names(&v["partners"]), expected, "{search}");
    }
});

db_test!(partners_pages_follow_their_cursors, |app| async move {
    let q = "query($after: String) { partners(first: 2, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { name } } } }";
    let p1 = app.gql_as("maria@microsoft.example", q, json!({})).await["partners"].clone();
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["pageInfo"]["hasPreviousPage"], false);
    let p2 = app
        .gql_as(
            "maria@microsoft.example",
            q,
            json!({ "after": p1["pageInfo"]["endCursor"] }),
        )
        .await["partners"]
        .clone();
    assert_eq!(p2["pageInfo"]["hasNextPage"], false);
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);
    let mut all = names(&p1);
    all.extend(names(&p2));
    assert_eq!(all.len(), 4);
    assert_eq!(p2["totalCount"], 4);
    // The pages follow the ranking of one query for all four, each partner once.
    let whole = app
        .gql_as(
            "maria@microsoft.example",
            "{ partners(first: 10) { edges { node { name } } } }",
            json!({}),
        )
        .await["partners"]
        .clone();
    assert_eq!(all, names(&whole));
});

db_test!(solutions_kind_is_relative_to_the_viewer, |app| async move {
    let q = "query($kind: SolutionKind) { solutions(kind: $kind, first: 50) { totalCount edges { node { name kind coSellReady publisher { name } } } } }";
    let own = app.gql_as(ANNA, q, json!({ "kind": "OWN" })).await;
    // Its own solutions, co-sell ready or not.
    assert_eq!(
        names(&own["solutions"]),
        vec![
            "Contoso Copilot Accelerator",
            "Contoso Data Platform",
            "Contoso Legacy Migrator"
        ]
    );
    let ms = app.gql_as(ANNA, q, json!({ "kind": "MICROSOFT" })).await;
    assert_eq!(ms["solutions"]["totalCount"], 3);
    for e in ms["solutions"]["edges"].as_array().expect("edges") {
        assert_eq!(e["node"]["kind"], "MICROSOFT");
        assert_eq!(e["node"]["publisher"]["name"], "Microsoft");
    }
    let third = app.gql_as(ANNA, q, json!({ "kind": "THIRD_PARTY" })).await;
    let third_names = names(&third["solutions"]);
    assert!(third_names.contains(&"Fabrikam Security Suite".to_owned()));
    // Other organizations' solutions that are not co-sell ready are not listed.
    assert!(!third_names.iter().any(|n| n.contains("Tailspin")));
    // For Microsoft its own solutions are OWN, and partners' are THIRD_PARTY.
    let for_ms = app
        .gql_as("maria@microsoft.example", q, json!({ "kind": "OWN" }))
        .await;
    assert_eq!(for_ms["solutions"]["totalCount"], 3);
    let none = app
        .gql_as("maria@microsoft.example", q, json!({ "kind": "MICROSOFT" }))
        .await;
    assert_eq!(none["solutions"]["totalCount"], 0);
    // Search by name, with the kind computed per viewer.
    let s = app
        .gql_as(
            ANNA,
            "{ solutions(search: \"security\") { edges { node { name kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(s["solutions"]["edges"][0]["node"]["kind"], "THIRD_PARTY");
    let ready = app
        .gql_as(
            ANNA,
            "{ solutions(kind: OWN, coSellReady: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(ready["solutions"]["totalCount"], 2);
});

db_test!(customer_search_ignores_case_and_accents, |app| async move {
    let mut results = Vec::new();
    for s in ["müller", "MULLER", "Muller", "MÜLLER", "mül"] {
        let c = customers(&app, json!({ "s": s, "country": "DE" })).await;
        results.push(names(&c));
    }
    assert!(results[0].len() >= 4, "{:?}", results[0]);
    for r in &results {
        assert_eq!(r, &results[0]);
    }
    let fr = customers(&app, json!({ "s": "societe generale" })).await;
    assert_eq!(names(&fr), vec!["Société Générale Services"]);
    let dk = customers(&app, json!({ "s": "akesson son" })).await;
    assert_eq!(names(&dk), vec!["Åkesson & Søn A/S"]);
});

db_test!(
    customer_search_ranks_whole_name_then_prefix_then_words,
    |app| async move {
        let c = customers(&app, json!({ "s": "Müller GmbH" })).await;
        let got = names(&c);
        // Both legal entities named exactly "Müller GmbH" (Berlin and Düsseldorf) come first,
        // then names containing both words.
        assert_eq!(&got[..2], &["Müller GmbH", "Müller GmbH"]);
        assert!(got[2..].contains(&"Müller Holding GmbH".to_owned()));
        assert!(got[2..].contains(&"Müller Logistik GmbH".to_owned()));
        let prefix = customers(&app, json!({ "s": "wood" })).await;
        assert_eq!(names(&prefix), vec!["Woodgrove Bank"]);
        // A name that starts with the search beats one that only contains its word.
        let import = customers(&app, json!({ "s": "world" })).await;
        assert_eq!(names(&import), vec!["Wide World Importers"]);
        let gmbh = customers(&app, json!({ "s": "muller holding" })).await;
        assert_eq!(names(&gmbh)[0], "Müller Holding GmbH");
        let words = customers(&app, json!({ "s": "holding muller" })).await;
        assert_eq!(names(&words), vec!["Müller Holding GmbH"]);
    }
);

db_test!(
    customer_search_is_narrowed_by_country_and_city,
    |app| async move {
        let berlin = customers(
            &app,
            json!({ "s": "müller", "country": "DE", "city": "berlin" }),
        )
        .await;
        let got = berlin["edges"].as_array().expect("edges");
        assert_eq!(got.len(), 3);
        for e in got {
            assert_eq!(e["node"]["city"], "Berlin");
        }
        // Look-alikes in one city tell apart by address and D-U-N-S.
        let duns: Vec<&Value> = got.iter().map(|e| &e["node"]["duns"]).collect();
        assert_eq!(duns.iter().filter(|d| !d.is_null()).count(), 2);
        let dus = customers(&app, json!({ "s": "müller", "city": "DÜSSELDORF" })).await;
        assert_eq!(dus["totalCount"], 1);
        let fr = customers(&app, json!({ "s": "müller", "country": "fr" })).await;
        assert_eq!(fr["totalCount"], 0);
        let bad = app
            .gql(
                Some(&app.token(ANNA).await),
                "{ customers(country: \"XX\") { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    }
);

db_test!(customer_pages_cover_every_match_once, |app| async move {
    let total = customers(&app, json!({ "first": 1 })).await["totalCount"]
        .as_i64()
        .expect("n");
    assert!(total >= 50, "{total}");
    let mut seen = std::collections::HashSet::new();
    let mut after = Value::Null;
    loop {
        let page = customers(&app, json!({ "first": 17, "after": after })).await;
        for e in page["edges"].as_array().expect("edges") {
            assert!(
                seen.insert(e["node"]["id"].as_str().expect("id").to_owned()),
                "duplicate"
            );
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len() as i64, total);
    // The same with a search, whose order is by rank first.
    let mut ranked = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = customers(&app, json!({ "s": "gmbh", "first": 2, "after": after })).await;
        ranked.extend(names(&page));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let all = names(&customers(&app, json!({ "s": "gmbh", "first": 100 })).await);
    assert_eq!(ranked, all);
});

db_test!(page_size_and_cursors_are_checked, |app| async move {
    let token = app.token(ANNA).await;
    for q in [
        "{ customers(first: 101) { totalCount } }",
        "{ customers(first: -1) { totalCount } }",
        "{ partners(after: \"garbage\") { totalCount } }",
    ] {
        let v = app.gql(Some(&token), q, json!({})).await;
        assert_eq!(error_code(&v), "BAD_USER_INPUT", "{q}: {v}");
    }
});
