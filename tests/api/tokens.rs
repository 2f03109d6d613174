//! Sign-in: only a valid token whose user and tenant exist gets past `UNAUTHENTICATED`;
//! the schema alone is readable without one. Tokens are checked with the HS256 secret by
//! default, or with an identity provider's RS256 keys: a PEM public key or a JWKS file
//! (test-only keys in `tests/fixtures/`).
use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TEST_SECRET, TestApp, error_code};
use crate::{configured_test, db_test};

const VIEWER: &str = "{ viewer { user { email } organization { name } } }";

fn claims(sub: Uuid, tid: Uuid, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": sub, "tid": tid, "iat": now, "exp": now + exp_offset })
}

fn sign(secret: &str, sub: Uuid, tid: Uuid, exp_offset: i64) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(sub, tid, exp_offset),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// An RS256 token signed with the private key `jwt-<key>-private.pem`, naming `kid`.
fn sign_rs256(key: &str, kid: Option<&str>, claims: &Value) -> String {
    let pem = std::fs::read(fixture(&format!("jwt-{key}-private.pem"))).expect("private key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(&pem).expect("RSA key"),
    )
    .expect("sign")
}

/// An HS256 token naming `kid`, with `secret` as its key.
fn sign_hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("sign")
}

async fn demo_user(app: &TestApp, email: &str) -> entity::users::Model {
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

/// The viewer's email when `token` signs in, else the error code it got.
async fn sign_in(app: &TestApp, token: &str) -> String {
    let v = app.gql(Some(token), VIEWER, json!({})).await;
    match v["data"]["viewer"]["user"]["email"].as_str() {
        Some(email) => email.to_owned(),
        None => error_code(&v).to_owned(),
    }
}

/// Every check besides the signature still applies: tokens signed with key `a` (naming
/// `kid`) that expired, or name an unknown user or tenant, are refused.
async fn other_checks_refuse(app: &TestApp, u: &entity::users::Model, kid: Option<&str>) {
    for (why, c) in [
        ("expired", claims(u.id, u.tenant_id, -3600)),
        ("unknown user", claims(Uuid::new_v4(), u.tenant_id, 3600)),
        ("unknown tenant", claims(u.id, Uuid::new_v4(), 3600)),
    ] {
        let token = sign_rs256("a", kid, &c);
        assert_eq!(sign_in(app, &token).await, "UNAUTHENTICATED", "{why}");
    }
}

fn public_key(c: &mut cosell::config::Config) {
    c.jwt_public_key_file = Some(fixture("jwt-a-public.pem"));
}

fn key_set(c: &mut cosell::config::Config) {
    c.jwt_jwks_file = Some(fixture("jwks.json"));
}

fn single_key_set(c: &mut cosell::config::Config) {
    c.jwt_jwks_file = Some(fixture("jwks-single.json"));
}

configured_test!(
    rs256_public_key_accepts_tokens_of_its_pair_and_keeps_every_other_check,
    public_key,
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let good = sign_rs256("a", None, &claims(u.id, u.tenant_id, 3600));
        assert_eq!(sign_in(&app, &good).await, "anna@contoso.example");
        // A kid means nothing with one PEM key.
        let named = sign_rs256("a", Some("whatever"), &claims(u.id, u.tenant_id, 3600));
        assert_eq!(sign_in(&app, &named).await, "anna@contoso.example");
        other_checks_refuse(&app, &u, None).await;
        // The server holds no secret to mint with.
        assert!(app.server.services.keys.mint(u.id, u.tenant_id, 1).is_err());
    }
);

configured_test!(
    rs256_public_key_refuses_a_token_signed_by_another_key,
    public_key,
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let forged = sign_rs256("outsider", None, &claims(u.id, u.tenant_id, 3600));
        assert_eq!(sign_in(&app, &forged).await, "UNAUTHENTICATED");
    }
);

configured_test!(
    rs256_public_key_refuses_hs256_tokens,
    public_key,
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let c = claims(u.id, u.tenant_id, 3600);
        // The default secret, and the public key itself as an HMAC secret (algorithm
        // confusion: anyone can read the public key).
        let public = std::fs::read(fixture("jwt-a-public.pem")).expect("public key");
        for secret in [TEST_SECRET.as_bytes(), public.as_slice()] {
            let token = sign_hs256(secret, None, &c);
            assert_eq!(sign_in(&app, &token).await, "UNAUTHENTICATED");
        }
    }
);

configured_test!(
    jwks_checks_each_token_with_the_key_its_kid_names,
    key_set,
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let c = claims(u.id, u.tenant_id, 3600);
        // Key a declares `alg: RS256`, key b leaves it out: both verify.
        let a = sign_rs256("a", Some("test-key-a"), &c);
        assert_eq!(sign_in(&app, &a).await, "anna@contoso.example");
        let b = sign_rs256("b", Some("test-key-b"), &c);
        assert_eq!(sign_in(&app, &b).await, "anna@contoso.example");
        // Signed by a set's key, but naming the other one.
        let crossed = sign_rs256("a", Some("test-key-b"), &c);
        assert_eq!(sign_in(&app, &crossed).await, "UNAUTHENTICATED");
        other_checks_refuse(&app, &u, Some("test-key-a")).await;
    }
);

configured_test!(
    jwks_refuses_a_token_signed_by_another_key,
    key_set,
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let forged = sign_rs256(
            "outsider",
            Some("test-key-a"),
            &claims(u.id, u.tenant_id, 3600),
        );
        assert_eq!(sign_in(&app, &forged).await, "UNAUTHENTICATED");
    }
);

configured_test!(jwks_refuses_an_unknown_kid, key_set, |app| async move {
    let u = demo_user(&app, "anna@contoso.example").await;
    let token = sign_rs256("a", Some("rotated-away"), &claims(u.id, u.tenant_id, 3600));
    assert_eq!(sign_in(&app, &token).await, "UNAUTHENTICATED");
});

configured_test!(
    jwks_of_several_keys_refuses_a_token_without_kid,
    key_set,
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let token = sign_rs256("a", None, &claims(u.id, u.tenant_id, 3600));
        assert_eq!(sign_in(&app, &token).await, "UNAUTHENTICATED");
    }
);

configured_test!(jwks_refuses_hs256_tokens, key_set, |app| async move {
    let u = demo_user(&app, "anna@contoso.example").await;
    let c = claims(u.id, u.tenant_id, 3600);
    let public = std::fs::read(fixture("jwt-a-public.pem")).expect("public key");
    for secret in [TEST_SECRET.as_bytes(), public.as_slice()] {
        for kid in [Some("test-key-a"), None] {
            let token = sign_hs256(secret, kid, &c);
            assert_eq!(sign_in(&app, &token).await, "UNAUTHENTICATED", "{kid:?}");
        }
    }
});

configured_test!(
    jwks_of_one_key_accepts_a_token_without_kid,
    single_key_set,
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let c = claims(u.id, u.tenant_id, 3600);
        let token = sign_rs256("a", None, &c);
        assert_eq!(sign_in(&app, &token).await, "anna@contoso.example");
        // A kid must still name a key of the set, and the signature must be the key's.
        let named = sign_rs256("a", Some("test-key-a"), &c);
        assert_eq!(sign_in(&app, &named).await, "UNAUTHENTICATED");
        let forged = sign_rs256("outsider", None, &c);
        assert_eq!(sign_in(&app, &forged).await, "UNAUTHENTICATED");
    }
);

configured_test!(
    jwks_checks_issuer_and_audience_when_configured,
    |c: &mut cosell::config::Config| {
        key_set(c);
        c.jwt_issuer = Some("https://idp.example".into());
        c.jwt_audience = Some("cosell".into());
    },
    |app| async move {
        let u = demo_user(&app, "anna@contoso.example").await;
        let with = |iss: &str, aud: &str| {
            let mut c = claims(u.id, u.tenant_id, 3600);
            c["iss"] = iss.into();
            c["aud"] = aud.into();
            sign_rs256("a", Some("test-key-a"), &c)
        };
        let good = with("https://idp.example", "cosell");
        assert_eq!(sign_in(&app, &good).await, "anna@contoso.example");
        let foreign_issuer = with("https://evil.example", "cosell");
        assert_eq!(sign_in(&app, &foreign_issuer).await, "UNAUTHENTICATED");
        let foreign_audience = with("https://idp.example", "another-app");
        assert_eq!(sign_in(&app, &foreign_audience).await, "UNAUTHENTICATED");
    }
);
