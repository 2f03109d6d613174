//! Sign-in: only a valid token whose user and tenant exist gets past `UNAUTHENTICATED`;
//! the schema alone is readable without one.
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;
use uuid::Uuid;

use crate::db_test;
use crate::helpers::{TEST_SECRET, error_code};

const VIEWER: &str = "{ viewer { user { email } organization { name } } }";

fn sign(secret: &str, sub: Uuid, tid: Uuid, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({ "sub": sub, "tid": tid, "iat": now, "exp": now + exp_offset }),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

async fn demo_user(app: &crate::helpers::TestApp, email: &str) -> entity::users::Model {
    cosell::store::directory::user_by_email(&app.db, email)
        .await
        .expect("db")
        .expect("user")
}

db_test!(missing_token_is_unauthenticated, |app| async move {
    let v = app.gql(None, VIEWER, json!({})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
    assert!(v["data"].is_null());
});

db_test!(bad_signature_is_unauthenticated, |app| async move {
    let u = demo_user(&app, "anna@contoso.example").await;
    let forged = sign("another-secret-entirely-0123456", u.id, u.tenant_id, 3600);
    let v = app.gql(Some(&forged), VIEWER, json!({})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
});

db_test!(expired_token_is_unauthenticated, |app| async move {
    let u = demo_user(&app, "anna@contoso.example").await;
    let expired = sign(TEST_SECRET, u.id, u.tenant_id, -3600);
    let v = app.gql(Some(&expired), VIEWER, json!({})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
    // The same claims, unexpired, are accepted: the expiry is what failed.
    let fresh = sign(TEST_SECRET, u.id, u.tenant_id, 3600);
    let v = app.gql(Some(&fresh), VIEWER, json!({})).await;
    assert_eq!(v["data"]["viewer"]["user"]["email"], "anna@contoso.example");
});

db_test!(unknown_user_is_unauthenticated, |app| async move {
    let u = demo_user(&app, "anna@contoso.example").await;
    let token = sign(TEST_SECRET, Uuid::new_v4(), u.tenant_id, 3600);
    let v = app.gql(Some(&token), VIEWER, json!({})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
});

db_test!(unknown_tenant_is_unauthenticated, |app| async move {
    let u = demo_user(&app, "anna@contoso.example").await;
    let token = sign(TEST_SECRET, u.id, Uuid::new_v4(), 3600);
    let v = app.gql(Some(&token), VIEWER, json!({})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
});

db_test!(
    tenant_of_another_organization_is_unauthenticated,
    |app| async move {
        let anna = demo_user(&app, "anna@contoso.example").await;
        let frank = demo_user(&app, "frank@fabrikam.example").await;
        let token = sign(TEST_SECRET, anna.id, frank.tenant_id, 3600);
        let v = app.gql(Some(&token), VIEWER, json!({})).await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED");
    }
);

db_test!(deactivated_user_is_unauthenticated, |app| async move {
    let token = app.token("uwe@contoso.example").await;
    let v = app.gql(Some(&token), VIEWER, json!({})).await;
    assert!(v.get("errors").is_none());
    let mut uwe = demo_user(&app, "uwe@contoso.example")
        .await
        .into_active_model();
    uwe.active = Set(false);
    uwe.update(&app.db).await.expect("deactivate");
    let v = app.gql(Some(&token), VIEWER, json!({})).await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
});

db_test!(
    non_bearer_authorization_is_unauthenticated,
    |app| async move {
        let resp = app
            .http
            .post(app.url("/graphql"))
            .header("authorization", "Basic YW5uYTpwYXNzd29yZA==")
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .expect("request");
        let v: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(error_code(&v), "UNAUTHENTICATED");
    }
);

db_test!(
    only_the_schema_is_readable_without_a_token,
    |app| async move {
        let v = app
            .gql(
                None,
                "{ __schema { queryType { name } } __typename }",
                json!({}),
            )
            .await;
        assert!(v.get("errors").is_none(), "{v}");
        assert_eq!(v["data"]["__schema"]["queryType"]["name"], "Query");
        for q in [
            "{ customers { totalCount } }",
            "{ partners { totalCount } }",
            "{ solutions { totalCount } }",
            "{ node(id: \"x\") { id } }",
        ] {
            let v = app.gql(None, q, json!({})).await;
            assert_eq!(error_code(&v), "UNAUTHENTICATED", "{q}: {v}");
        }
        let before = app.count("customers").await;
        let v = app
        .gql(
            None,
            "mutation { createCustomer(input: {name: \"X\", addressLine1: \"1 St\", city: \"Berlin\", country: \"DE\"}) { customer { id } } }",
            json!({}),
        )
        .await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED");
        assert_eq!(app.count("customers").await, before);
    }
);

db_test!(
    a_user_signs_in_through_any_linked_tenant_and_sees_one_organization,
    |app| async move {
        // Lisa signs in through Contoso's second tenant (the acquired company's directory).
        let lisa = app
            .gql_as(
                "lisa@contoso.example",
                "{ viewer { tenant { name } organization { name tenants { name } } } }",
                json!({}),
            )
            .await;
        let anna = app
            .gql_as(
                "anna@contoso.example",
                "{ viewer { tenant { name } organization { name tenants { name } } } }",
                json!({}),
            )
            .await;
        assert_eq!(lisa["viewer"]["organization"]["name"], "Contoso Consulting");
        assert_eq!(
            lisa["viewer"]["organization"],
            anna["viewer"]["organization"]
        );
        assert_ne!(lisa["viewer"]["tenant"], anna["viewer"]["tenant"]);
        assert_eq!(
            lisa["viewer"]["organization"]["tenants"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        // The same user through the other linked tenant is the same viewer.
        let u = demo_user(&app, "lisa@contoso.example").await;
        let other = entity::tenants::Entity::find()
            .all(&app.db)
            .await
            .expect("tenants")
            .into_iter()
            .find(|t| t.organization_id == u.organization_id && t.id != u.tenant_id)
            .expect("second tenant");
        let token = sign(TEST_SECRET, u.id, other.id, 3600);
        let v = app.gql(Some(&token), VIEWER, json!({})).await;
        assert_eq!(
            v["data"]["viewer"]["organization"]["name"],
            "Contoso Consulting"
        );
    }
);
