//! `createCustomer`: every field is checked; a refusal is coded, names its field, and
//! writes nothing.
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

const CREATE: &str = "mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id name addressLine1 city country duns website }
    userErrors { code message field } } }";

fn valid() -> Value {
    json!({
        "name": "  Fabrikam Pharma Berlin GmbH ",
        "addressLine1": "Invalidenstraße 1",
        "city": "Berlin",
        "postalCode": "10115",
        "country": "de",
        "duns": "123456789",
        "website": "https://pharma.fabrikam.example"
    })
}

async fn tables(app: &TestApp) -> (i64, i64) {
    (
        app.count("customers").await,
        app.count("customer_words").await,
    )
}

/// Sends `input` and checks that exactly `field` was refused with `BAD_USER_INPUT`, and
/// that nothing was written.
async fn refused(app: &TestApp, input: Value, field: &str) {
    let before = tables(app).await;
    let v = app
        .gql_as("anna@contoso.example", CREATE, json!({ "input": input }))
        .await;
    let payload = &v["createCustomer"];
    assert!(payload["customer"].is_null(), "{payload}");
    let errors = payload["userErrors"].as_array().expect("userErrors");
    assert_eq!(errors.len(), 1, "{payload}");
    assert_eq!(errors[0]["code"], "BAD_USER_INPUT");
    assert_eq!(errors[0]["field"], json!(["input", field]));
    assert!(!errors[0]["message"].as_str().unwrap_or("").is_empty());
    assert_eq!(tables(app).await, before, "a refusal wrote rows");
}

fn with(field: &str, value: Value) -> Value {
    let mut input = valid();
    input[field] = value;
    input
}

db_test!(
    create_customer_returns_it_and_search_finds_it,
    |app| async move {
        let before = tables(&app).await;
        let v = app
            .gql_as("anna@contoso.example", CREATE, json!({ "input": valid() }))
            .await;
        let c = &v["createCustomer"]["customer"];
        assert_eq!(v["createCustomer"]["userErrors"], json!([]));
        assert_eq!(c["name"], "Fabrikam Pharma Berlin GmbH");
        assert_eq!(c["country"], "DE");
        assert_eq!(c["duns"], "123456789");
        assert_eq!(tables(&app).await.0, before.0 + 1);
        let found = app
        .gql_as(
            "frank@fabrikam.example",
            "{ customers(search: \"pharma berl\", city: \"Berlin\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
        assert_eq!(found["customers"]["edges"][0]["node"]["id"], c["id"]);
    }
);

db_test!(create_customer_refuses_an_empty_name, |app| async move {
    refused(&app, with("name", json!("   ")), "name").await;
});

db_test!(
    create_customer_refuses_a_name_over_200_characters,
    |app| async move {
        refused(&app, with("name", json!("N".repeat(201))), "name").await;
    }
);

db_test!(
    create_customer_refuses_duns_that_is_not_nine_digits,
    |app| async move {
        for bad in ["12345678", "1234567890", "12345678X", "12-345-678"] {
            refused(&app, with("duns", json!(bad)), "duns").await;
        }
    }
);

db_test!(
    create_customer_refuses_a_duns_already_on_file,
    |app| async move {
        // 313456789 is the seeded Müller GmbH in Berlin.
        refused(&app, with("duns", json!("313456789")), "duns").await;
    }
);

db_test!(
    create_customer_refuses_a_country_that_is_not_iso_alpha2,
    |app| async move {
        for bad in ["XX", "DEU", "Germany", ""] {
            refused(&app, with("country", json!(bad)), "country").await;
        }
    }
);

db_test!(
    create_customer_refuses_a_website_that_is_not_an_http_url,
    |app| async move {
        for bad in [
            "fabrikam.example",
            "ftp://fabrikam.example",
            "javascript:alert(1)",
            "https://",
        ] {
            refused(&app, with("website", json!(bad)), "website").await;
        }
    }
);

db_test!(
    create_customer_refuses_an_empty_address_or_city,
    |app| async move {
        refused(&app, with("addressLine1", json!("")), "addressLine1").await;
        refused(&app, with("city", json!(" ")), "city").await;
    }
);

db_test!(
    create_customer_reports_every_bad_field_at_once,
    |app| async move {
        let before = tables(&app).await;
        let mut input = valid();
        input["name"] = json!("");
        input["duns"] = json!("1");
        input["country"] = json!("ZZ");
        let v = app
            .gql_as("anna@contoso.example", CREATE, json!({ "input": input }))
            .await;
        let fields: Vec<Value> = v["createCustomer"]["userErrors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert_eq!(
            fields,
            vec![
                json!(["input", "name"]),
                json!(["input", "country"]),
                json!(["input", "duns"])
            ]
        );
        assert_eq!(tables(&app).await, before);
    }
);

db_test!(
    create_customer_accepts_missing_optional_fields,
    |app| async move {
        let input = json!({ "name": "Tiny Shop", "addressLine1": "1 Main St", "city": "Lyon", "country": "FR" });
        let v = app
            .gql_as("nadia@northwind.example", CREATE, json!({ "input": input }))
            .await;
        assert_eq!(v["createCustomer"]["userErrors"], json!([]));
        assert!(v["createCustomer"]["customer"]["duns"].is_null());
        assert!(v["createCustomer"]["customer"]["website"].is_null());
    }
);
